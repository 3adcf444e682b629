// A small network built directly into a RelationIndex (no store), shared by
// the engine tests.
#pragma once

#include <gtest/gtest.h>

#include "policy/engine.h"
#include "policy/policy.h"
#include "policy/relation_index.h"

namespace cloison::policy::testing {

inline Date D(const char* s) { return *Date::Parse(s); }

// Structures.
constexpr int64_t kNat = 1, kDr = 2, kFt1 = 3, kFt2 = 4, kMl3 = 5, kMl4 = 6, kOf12 = 7, kOf99 = 8, kRegion = 9,
                  kOf12Site = 10;
// Accounts.
constexpr int64_t kCounsellorMl3 = 1001, kCounsellorMl4 = 1002, kCounsellorDr = 1003, kPartnerOf12 = 2001,
                  kPartnerOf99 = 2002, kAccessManagerMl3 = 3001, kSecurityOfficer = 4001, kSecurityOfficer2 = 4002,
                  kDpo = 4003, kAuditor = 4004, kTechOf12 = 5001;
// People.
//  101 followed by ML-67-003, referent counsellor 1001; refused orientation 56 to OF-67-0012-S3
//  102 followed by ML-67-004; accepted orientation 55 to OF-67-0012-S3 (2025-09-01..2025-12-31)
//  103 followed by FT-67-001 and also by ML-67-003
//  104 followed by ML-67-004, referent counsellor 1001 (moved); enrolled orientation 57 to OF-67-0099-S1
//  105 followed by ML-67-004; proposed orientation 58 to OF-67-0012-S3
//  106 followed by FT-67-002; enrolled orientation 59 to a session of OF-67-0012's site (child structure)
inline Structure S(int64_t id, StructureKind k, std::optional<int64_t> parent, const char* code) {
  Structure s;
  s.id = StructureId(id);
  s.kind = k;
  if (parent) s.parent = StructureId(*parent);
  s.code = code;
  s.name = code;
  return s;
}

inline Orientation O(int64_t id, int64_t person, int64_t session, OrientationStatus st, const char* proposed) {
  Orientation o;
  o.id = OrientationId(id);
  o.person = PersonId(person);
  o.session = TrainingSessionId(session);
  o.counsellor = AccountId(kCounsellorMl4);
  o.status = st;
  o.proposed_on = D(proposed);
  return o;
}

inline void BuildNetwork(RelationIndex& index) {
  using K = StructureKind;
  // Deliberately children before parents: AddStructures resolves the batch.
  std::vector<Structure> structures = {
      S(kMl3, K::kMissionLocale, kDr, "ML-67-003"),     S(kMl4, K::kMissionLocale, kDr, "ML-67-004"),
      S(kFt1, K::kAgency, kDr, "FT-67-001"),            S(kFt2, K::kAgency, kDr, "FT-67-002"),
      S(kDr, K::kRegionalDirection, kNat, "DR-GE"),     S(kNat, K::kNationalOperator, std::nullopt, "FT-DG"),
      S(kOf12, K::kTrainingOrganisation, std::nullopt, "OF-67-0012"),
      S(kOf99, K::kTrainingOrganisation, std::nullopt, "OF-67-0099"),
      S(kRegion, K::kFinancer, std::nullopt, "REGION-GE"),
      S(kOf12Site, K::kTrainingOrganisation, kOf12, "OF-67-0012-COLMAR"),
  };
  ASSERT_TRUE(index.AddStructures(structures).ok());
  ASSERT_TRUE(index.AddFormation(Formation{FormationId(1), StructureId(kOf12), "F-0012-1", "Développeur web", "numérique"}).ok());
  ASSERT_TRUE(index.AddFormation(Formation{FormationId(2), StructureId(kOf99), "F-0099-1", "Maçon", "BTP"}).ok());
  ASSERT_TRUE(index.AddFormation(Formation{FormationId(3), StructureId(kOf12Site), "F-0012-2", "Soudeur", "industrie"}).ok());
  ASSERT_TRUE(index.AddSession(TrainingSession{TrainingSessionId(1), FormationId(1), "OF-67-0012-S3", D("2025-09-15"),
                                               D("2025-12-31"), "Strasbourg"}).ok());
  ASSERT_TRUE(index.AddSession(TrainingSession{TrainingSessionId(2), FormationId(2), "OF-67-0099-S1", D("2025-09-15"),
                                               D("2025-12-31"), "Haguenau"}).ok());
  ASSERT_TRUE(index.AddSession(TrainingSession{TrainingSessionId(3), FormationId(3), "OF-67-0012-COLMAR-S1",
                                               D("2025-09-15"), D("2025-12-31"), "Colmar"}).ok());
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(101), StructureId(kMl3), AccountId(kCounsellorMl3)).ok());
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(102), StructureId(kMl4), std::nullopt).ok());
  const StructureId also[] = {StructureId(kMl3)};
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(103), StructureId(kFt1), std::nullopt, also).ok());
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(104), StructureId(kMl4), AccountId(kCounsellorMl3)).ok());
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(105), StructureId(kMl4), std::nullopt).ok());
  ASSERT_TRUE(index.OnPersonFollowed(PersonId(106), StructureId(kFt2), std::nullopt).ok());
  using OS = OrientationStatus;
  for (const Orientation& o : {O(55, 102, 1, OS::kAccepted, "2025-09-01"), O(56, 101, 1, OS::kRefused, "2025-09-01"),
                               O(57, 104, 2, OS::kEnrolled, "2025-09-01"), O(58, 105, 1, OS::kProposed, "2025-09-05"),
                               O(59, 106, 3, OS::kEnrolled, "2025-09-01")})
    ASSERT_TRUE(index.OnOrientationChanged(o).ok());
}

inline Principal Human(int64_t account, int64_t structure, std::vector<Role> roles) {
  Principal p;
  p.account = AccountId(account);
  p.structure = StructureId(structure);
  p.roles = std::move(roles);
  return p;
}

inline Principal Technical(int64_t account, int64_t structure, std::vector<std::string> purposes) {
  Principal p;
  p.account = AccountId(account);
  p.kind = AccountKind::kTechnical;
  p.structure = StructureId(structure);
  p.integration_purposes = std::move(purposes);
  return p;
}

}  // namespace cloison::policy::testing
