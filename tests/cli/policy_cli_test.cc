// `cloison policy explain` decides for the account iam knows: its roles as
// granted, its status and probation, technical accounts and their
// integration purpose. The accounts are written straight into iam's tables
// (the repository), in the states iam's own flows leave them in (grant and
// approval mechanics are tests/iam's business).
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/field_catalog.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "iam/repository.h"
#include "store/store.h"

namespace cloison {
namespace {

using testing::RunCloison;
using testing::TempDir;

constexpr int64_t kDayUs = 86400LL * 1'000'000;

class PolicyCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("policy-cli");
    data_ = *dir_ / "data";
    ASSERT_EQ(RunCloison("--data " + data_ + " init").exit_code, 0);
    auto r = RunCloison("--data " + data_ + " generate --persons 600 --seed 4 --today 2025-06-01 --no-files");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_TRUE(crypto::InitCrypto().ok());
    auto master = crypto::LoadMasterKey(data_ + "/master.key");
    ASSERT_TRUE(master.ok()) << master.status();
    store::SqliteOptions so;
    so.path = data_ + "/cloison.db";
    auto st = store::OpenSqliteStore(so, FieldCatalog::Default(), *master, SystemClock::Instance());
    ASSERT_TRUE(st.ok()) << st.status();
    store::Store& store = **st;

    std::map<StructureId, Structure> structures;
    auto list = store.ListStructures();
    ASSERT_TRUE(list.ok()) << list.status();
    for (auto& s : *list) structures[s.id] = s;
    std::map<StructureId, std::vector<std::pair<PersonId, std::optional<AccountId>>>> followed;
    ASSERT_TRUE(store
                    .ForEachPersonRelation([&](PersonId p, StructureId s, std::optional<AccountId> referent) {
                      followed[s].push_back({p, referent});
                    })
                    .ok());
    // An agency with two store counsellors, and one of its people.
    std::map<StructureId, std::vector<Agent>> counsellors;
    auto agent_list = store.ListAgents();
    ASSERT_TRUE(agent_list.ok()) << agent_list.status();
    for (const Agent& a : *agent_list)
      if (a.roles == std::vector<Role>{Role::kCounsellor} && structures.at(a.structure).kind == StructureKind::kAgency)
        counsellors[a.structure].push_back(a);
    // Its person is in neither counsellor's caseload, so that a referent-only
    // (probation) reading cannot reach it.
    for (const auto& [s, here] : counsellors) {
      if (here.size() < 2 || agency_.valid()) continue;
      for (const auto& [p, referent] : followed[s])
        if (referent != here[0].id && referent != here[1].id) {
          agency_ = s;
          agency_code_ = structures.at(s).code;
          imported_ = here[0];
          store_only_ = here[1];
          person_ = p;
          break;
        }
    }
    ASSERT_TRUE(agency_.valid());

    // A training organisation with an orientation live on 2025-06-01 for the
    // of-enrolment-sync rule (accepted or enrolled, until 30 days after the session).
    std::map<int64_t, TrainingSession> sessions;
    auto session_list = store.ListTrainingSessions();
    ASSERT_TRUE(session_list.ok()) << session_list.status();
    for (auto& s : *session_list) sessions[s.id.value()] = s;
    std::map<int64_t, StructureId> organisation_of;
    auto formation_list = store.ListFormations();
    ASSERT_TRUE(formation_list.ok()) << formation_list.status();
    for (auto& f : *formation_list) organisation_of[f.id.value()] = f.organisation;
    const int64_t day = Date{2025, 6, 1}.ToDays();
    ASSERT_TRUE(store
                    .ForEachOrientation([&](const Orientation& o) {
                      if (candidate_.valid()) return;
                      if (o.status != OrientationStatus::kAccepted && o.status != OrientationStatus::kEnrolled) return;
                      const TrainingSession& s = sessions.at(o.session.value());
                      if (o.proposed_on.ToDays() <= day && day <= s.end.ToDays() + 30) {
                        candidate_ = o.person;
                        organisation_ = organisation_of.at(s.formation.value());
                      }
                    })
                    .ok());
    ASSERT_TRUE(candidate_.valid());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static iam::Account Human(const std::string& username, StructureId s, std::vector<Role> roles) {
    iam::Account a;
    a.kind = iam::AccountKind::kHuman;
    a.structure = s;
    a.username = username;
    a.display_name = username;
    a.roles = std::move(roles);
    a.status = iam::AccountStatus::kActive;
    a.created_at = SystemClock::Instance().NowMicros() - 100 * kDayUs;
    return a;
  }
  static iam::Account Technical(const std::string& username, StructureId s, UnixMicros expires_at) {
    iam::Account a = Human(username, s, {});
    a.kind = iam::AccountKind::kTechnical;
    a.technical.purpose = "enrolment_sync";
    a.technical.scopes = {"orientations:read"};
    a.technical.networks = {"10.0.0.0/8"};
    a.technical.expires_at = expires_at;
    return a;
  }
  static AccountId Insert(const iam::Account& a) {
    auto repo = iam::OpenSqliteAccountRepository(data_ + "/cloison.db");
    EXPECT_TRUE(repo.ok()) << repo.status();
    auto id = (*repo)->InsertAccount(a, 1'000'000);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : AccountId();
  }
  static void Update(const iam::Account& a) {
    auto repo = iam::OpenSqliteAccountRepository(data_ + "/cloison.db");
    ASSERT_TRUE(repo.ok()) << repo.status();
    ASSERT_TRUE((*repo)->UpdateAccount(a).ok());
  }
  static iam::Account Get(AccountId id) {
    auto repo = iam::OpenSqliteAccountRepository(data_ + "/cloison.db");
    EXPECT_TRUE(repo.ok()) << repo.status();
    auto a = (*repo)->GetAccount(id);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : iam::Account();
  }
  static testing::RunResult Explain(const std::string& account, PersonId person, const std::string& purpose,
                                    const std::string& extra = "") {
    return RunCloison("--data " + data_ + " policy explain --account " + account + " --person " +
                      std::to_string(person.value()) + " --purpose " + purpose + " --date 2025-06-01" + extra);
  }

  static TempDir* dir_;
  static std::string data_;
  static StructureId agency_, organisation_;
  static std::string agency_code_;
  static Agent imported_, store_only_;
  static PersonId person_, candidate_;
};
TempDir* PolicyCliTest::dir_ = nullptr;
std::string PolicyCliTest::data_;
StructureId PolicyCliTest::agency_, PolicyCliTest::organisation_;
std::string PolicyCliTest::agency_code_;
Agent PolicyCliTest::imported_, PolicyCliTest::store_only_;
PersonId PolicyCliTest::person_, PolicyCliTest::candidate_;

TEST_F(PolicyCliTest, TechnicalAccountReadsThroughItsIntegrationPurpose) {
  const UnixMicros now = SystemClock::Instance().NowMicros();
  Insert(Technical("sync.of", organisation_, now + 30 * kDayUs));
  auto r = Explain("sync.of", candidate_, "enrolment_sync");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("iam, technical, active, integration purpose enrolment_sync"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ALLOWED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("of-enrolment-sync"), std::string::npos) << r.output;
  // Its purpose is its only way in: a human purpose finds no technical rule.
  r = Explain("sync.of", candidate_, "training_enrolment");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("[technical_no_integration]"), std::string::npos) << r.output;

  // Expired: it cannot authenticate, so it reads nobody.
  Insert(Technical("sync.of.old", organisation_, now - kDayUs));
  r = Explain("sync.of.old", candidate_, "enrolment_sync");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot authenticate (expired)"), std::string::npos) << r.output;
}

TEST_F(PolicyCliTest, RolesAreIamsIncludingAGrantedOne) {
  // An iam account with no store agent at all: an auditor, then granted the
  // counsellor role (the state an approved grant_role request leaves).
  iam::Account a = Human("renfort.agence", agency_, {Role::kAuditor});
  const AccountId id = Insert(a);
  auto r = Explain("renfort.agence", person_, "accompaniment");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("[role_cannot_read]"), std::string::npos) << r.output;

  a = Get(id);
  a.roles.push_back(Role::kCounsellor);
  a.approved_by = imported_.id;
  Update(a);
  r = Explain("renfort.agence", person_, "accompaniment");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("roles auditor,counsellor"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("counsellor-accompaniment"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(agency_code_), std::string::npos) << r.output;
}

TEST_F(PolicyCliTest, ProbationAndStatusAreIams) {
  // A counsellor created a few days ago: iam's probation applies, no flag needed.
  iam::Account fresh = Human("nouveau.agence", agency_, {Role::kCounsellor});
  fresh.probation_until = SystemClock::Instance().NowMicros() + 10 * kDayUs;
  Insert(fresh);
  // On probation only `referent` rules apply, and it is nobody's referent.
  auto r = Explain("nouveau.agence", person_, "accompaniment");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("probation until"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("closest rule: counsellor-referent-accompaniment"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[no_relation]"), std::string::npos) << r.output;
  // A purpose not allowed on probation at all.
  r = Explain("nouveau.agence", person_, "investigation");
  EXPECT_EQ(r.exit_code, 1) << r.output;

  // A store agent not yet imported: treated as import-agents would make it,
  // so it reads its structure's people.
  r = Explain(store_only_.username, person_, "accompaniment");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("store agent, no iam account yet"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rule:     counsellor-accompaniment"), std::string::npos) << r.output;
  // --probation is a what-if on top of iam: referent-only again.
  r = Explain(store_only_.username, person_, "accompaniment", " --probation");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("probation forced by --probation"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[no_relation]"), std::string::npos) << r.output;

  // The same agent once imported and then suspended: iam's status wins over
  // the store's directory entry.
  iam::Account suspended = Human(imported_.username, imported_.structure, imported_.roles);
  suspended.id = imported_.id;
  suspended.status = iam::AccountStatus::kSuspended;
  Insert(suspended);
  r = Explain(imported_.username, person_, "accompaniment");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot authenticate (suspended)"), std::string::npos) << r.output;

  r = Explain("nobody.anywhere", person_, "accompaniment");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no account 'nobody.anywhere'"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cloison
