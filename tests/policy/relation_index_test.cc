#include "policy/relation_index.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace cloison::policy {
namespace {

using namespace testing;

TEST(RelationIndexTest, BuildsTheNetworkInAnyOrder) {
  RelationIndex index;
  BuildNetwork(index);
  EXPECT_EQ(index.structure_count(), 10u);
  EXPECT_EQ(index.person_count(), 6u);
  EXPECT_EQ(index.orientation_count(), 5u);
  EXPECT_EQ(index.StructureCode(StructureId(kMl3)), "ML-67-003");
  EXPECT_EQ(index.StructureCode(StructureId(12345)), "#12345");
  EXPECT_EQ(index.SessionCode(TrainingSessionId(1)), "OF-67-0012-S3");
  EXPECT_GT(index.MemoryBytes(), 0u);
}

TEST(RelationIndexTest, ReferentCounsellorFollowsTheLatestFollowUp) {
  RelationIndex index;
  BuildNetwork(index);
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(300), StructureId(kMl3), AccountId(42)).ok());
  EXPECT_EQ(index.ReferentCounsellor(PersonId(300)), AccountId(42));
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(300), StructureId(kMl3), std::nullopt).ok());
  EXPECT_FALSE(index.ReferentCounsellor(PersonId(300)).valid());  // followed by the structure, nobody's caseload
  EXPECT_FALSE(index.ReferentCounsellor(PersonId(987654)).valid());  // unknown
  EXPECT_FALSE(index.ReferentCounsellor(PersonId(0)).valid());
}

TEST(RelationIndexTest, RejectsUnknownReferencesAndChangesNothing) {
  RelationIndex index;
  BuildNetwork(index);
  EXPECT_EQ(index.OnPersonFollowed(PersonId(300), StructureId(999), std::nullopt).code(),
            absl::StatusCode::kInvalidArgument);
  const StructureId bad[] = {StructureId(998)};
  EXPECT_FALSE(index.OnPersonFollowed(PersonId(300), StructureId(kMl3), std::nullopt, bad).ok());
  EXPECT_EQ(index.person_count(), 6u);
  EXPECT_FALSE(index.OnOrientationChanged(O(70, 101, 42, OrientationStatus::kAccepted, "2025-09-01")).ok());
  EXPECT_EQ(index.orientation_count(), 5u);
  EXPECT_FALSE(index.AddSession(TrainingSession{TrainingSessionId(9), FormationId(77), "X", D("2025-01-01"),
                                                D("2025-02-01"), ""}).ok());
  EXPECT_FALSE(index.AddFormation(Formation{FormationId(9), StructureId(4242), "X", "", ""}).ok());
  EXPECT_FALSE(index.AddStructure(S(20, StructureKind::kAgency, 4242, "FT-X")).ok());
  EXPECT_EQ(index.structure_count(), 10u);
}

TEST(RelationIndexTest, RejectsOutOfRangeIds) {
  RelationIndex index;
  BuildNetwork(index);
  EXPECT_FALSE(index.OnPersonFollowed(PersonId(0), StructureId(kMl3), std::nullopt).ok());
  EXPECT_FALSE(index.OnPersonFollowed(PersonId(RelationIndex::kMaxDenseId + 1), StructureId(kMl3), std::nullopt).ok());
  EXPECT_FALSE(index.OnPersonFollowed(PersonId(5), StructureId(kMl3), AccountId(int64_t{1} << 40)).ok());
  EXPECT_FALSE(index.AddStructure(S(-1, StructureKind::kAgency, std::nullopt, "NEG")).ok());
}

TEST(RelationIndexTest, StructureParentsAreFixedAndAcyclic) {
  RelationIndex index;
  BuildNetwork(index);
  // Same parent: an update of the code is fine.
  EXPECT_TRUE(index.AddStructure(S(kMl3, StructureKind::kMissionLocale, kDr, "ML-67-003B")).ok());
  EXPECT_EQ(index.StructureCode(StructureId(kMl3)), "ML-67-003B");
  EXPECT_EQ(index.AddStructure(S(kMl3, StructureKind::kMissionLocale, kNat, "ML-67-003")).code(),
            absl::StatusCode::kFailedPrecondition);
  RelationIndex fresh;
  std::vector<Structure> cycle = {S(1, StructureKind::kAgency, 2, "A"), S(2, StructureKind::kAgency, 1, "B")};
  EXPECT_FALSE(fresh.AddStructures(cycle).ok());
  EXPECT_EQ(fresh.structure_count(), 0u);
}

TEST(RelationIndexTest, OrientationCannotMoveToAnotherPerson) {
  RelationIndex index;
  BuildNetwork(index);
  EXPECT_EQ(index.OnOrientationChanged(O(55, 101, 1, OrientationStatus::kAccepted, "2025-09-01")).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RelationIndexTest, OrientationMayComeBeforeItsPerson) {
  RelationIndex index;
  BuildNetwork(index);
  ASSERT_TRUE(index.OnOrientationChanged(O(80, 400, 1, OrientationStatus::kAccepted, "2025-09-01")).ok());
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(400), StructureId(kMl3), std::nullopt).ok());
  EXPECT_EQ(index.person_count(), 7u);
  const Engine engine(Policy::Default(), index);
  const Decision d = engine.Decide(Human(kPartnerOf12, kOf12, {Role::kPartnerUser}), PersonId(400),
                                   *Policy::Default().FindPurpose("training_enrolment"), D("2025-10-01"));
  EXPECT_TRUE(d.allowed);
}

TEST(FieldBitsTest, ToFieldMaskReadsExactlyTheReleasedFields) {
  FieldBits b;
  b.set(0);
  b.set(4);
  const store::FieldMask m = b.ToFieldMask(14);
  ASSERT_EQ(m.include.size(), 14u);
  for (size_t i = 0; i < 14; ++i) EXPECT_EQ(m.has(i), i == 0 || i == 4) << i;
  // The empty set reads nothing (never the store's "all fields" mask).
  const store::FieldMask none = FieldBits().ToFieldMask(14);
  for (size_t i = 0; i < 14; ++i) EXPECT_FALSE(none.has(i));
  EXPECT_FALSE(FieldBits().ToFieldMask(0).has(0));
}

}  // namespace
}  // namespace cloison::policy
