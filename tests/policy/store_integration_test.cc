// The relation index built from a real SQLite store, then decisions on it.
#include <filesystem>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "fixture.h"
#include "store/store.h"

namespace cloison::policy {
namespace {

using namespace testing;
namespace fs = std::filesystem;

TEST(StoreIntegrationTest, IndexBuiltFromTheStoreDecidesLikeTheInMemoryOne) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  const fs::path dir = fs::temp_directory_path() / StrCat("policy_store_test_", static_cast<int64_t>(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  crypto::SecretBytes key(crypto::kMasterKeySize);
  crypto::SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  FakeClock clock;
  store::SqliteOptions opts;
  opts.path = (dir / "cloison.db").string();
  auto opened = store::OpenSqliteStore(opts, FieldCatalog::Default(), key, clock);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store::Store& st = **opened;

  using K = StructureKind;
  for (const Structure& s : {S(kNat, K::kNationalOperator, std::nullopt, "FT-DG"), S(kDr, K::kRegionalDirection, kNat, "DR-GE"),
                             S(kMl3, K::kMissionLocale, kDr, "ML-67-003"), S(kMl4, K::kMissionLocale, kDr, "ML-67-004"),
                             S(kOf12, K::kTrainingOrganisation, std::nullopt, "OF-67-0012")}) {
    auto id = st.UpsertStructure(s);
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_EQ(id->value(), s.id.value());
  }
  auto f = st.UpsertFormation(Formation{FormationId(1), StructureId(kOf12), "F-0012-1", "Développeur web", "numérique"});
  ASSERT_TRUE(f.ok()) << f.status();
  auto sess = st.UpsertTrainingSession(
      TrainingSession{TrainingSessionId(1), *f, "OF-67-0012-S3", D("2025-09-15"), D("2025-12-31"), "Strasbourg"});
  ASSERT_TRUE(sess.ok()) << sess.status();

  const FieldCatalog& cat = FieldCatalog::Default();
  auto person = [&](int64_t id, int64_t structure, const char* ft_id) {
    Person p;
    p.id = PersonId(id);
    p.referent_structure = StructureId(structure);
    p.fields.assign(cat.size(), "");
    p.fields[*cat.IndexOf("nom")] = "MARTIN";
    p.fields[*cat.IndexOf("prenom")] = "Léa";
    p.fields[*cat.IndexOf("sexe")] = "F";
    p.fields[*cat.IndexOf("date_naissance")] = "2004-03-02";
    p.fields[*cat.IndexOf("ft_id")] = ft_id;
    p.fields[*cat.IndexOf("date_inscription")] = "2025-01-06";
    p.fields[*cat.IndexOf("statut")] = "en_accompagnement";
    return p;
  };
  const std::vector<Person> people = {person(101, kMl3, "12345678901"), person(102, kMl4, "12345678902")};
  auto up = st.UpsertPersons(people);
  ASSERT_TRUE(up.ok()) << up.status();
  ASSERT_EQ(up->ids[0].value(), 101);
  Orientation o = O(55, 102, sess->value(), OrientationStatus::kAccepted, "2025-09-01");
  ASSERT_TRUE(st.PutOrientations(std::span<const Orientation>(&o, 1)).ok());

  auto index = RelationIndex::Build(st);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->person_count(), 2u);
  EXPECT_EQ((*index)->orientation_count(), 1u);
  const Policy& policy = Policy::Default();
  const Engine engine(policy, **index);
  const PurposeId acc = *policy.FindPurpose("accompaniment"), enrol = *policy.FindPurpose("training_enrolment");
  const Principal c3 = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  Decision d = engine.Decide(c3, PersonId(101), acc, D("2025-10-15"));
  ASSERT_TRUE(d.allowed) << engine.Reason(d);
  EXPECT_FALSE(engine.Decide(c3, PersonId(102), acc, D("2025-10-15")).allowed);
  d = engine.Decide(of12, PersonId(102), enrol, D("2025-10-15"));
  ASSERT_TRUE(d.allowed) << engine.Reason(d);
  EXPECT_FALSE(engine.Decide(of12, PersonId(102), enrol, D("2026-02-01")).allowed);

  // The released fields are what the store reads: nothing else comes out decrypted.
  auto read = st.GetPerson(PersonId(102), d.fields.ToFieldMask(cat.size()));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->fields[*cat.IndexOf("ft_id")], "12345678902");
  EXPECT_EQ(read->fields[*cat.IndexOf("statut")], "");  // not an enrolment field
  opened->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cloison::policy
