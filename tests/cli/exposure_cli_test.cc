// The seed scenario end to end, and the shape of `cloison exposure --json`.
//
// A generated network (2,000 people) in a temporary data directory; iam's
// accounts in the same database file (every store agent imported, as after
// `cloison demo`). The access manager of a mission locale is compromised: it
// requests two technical accounts and creates a counsellor. Without an
// independent approver at the parent level the technical accounts never
// become active, and `cloison exposure` shows that the access manager reaches
// 0 people directly and 0 alone, while naming the approver whose collusion
// would open more.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "audit/event.h"
#include "audit/log.h"
#include "cli_test_util.h"
#include "core/clock.h"
#include "core/field_catalog.h"
#include "core/random.h"
#include "crypto/keys.h"
#include "crypto/password.h"
#include "crypto/secure_random.h"
#include "crypto/totp.h"
#include "iam/repository.h"
#include "iam/service.h"
#include "core/date.h"
#include "store/store.h"

namespace cloison {
namespace {

using testing::RunCloison;
using testing::TempDir;
using Json = nlohmann::json;

constexpr const char* kPassword = "correct horse battery staple";
constexpr int64_t kDayUs = 86400LL * 1'000'000;

crypto::SecretBytes S(std::string_view s) { return crypto::SecretBytes::FromString(s); }

const Json* Find(const Json& arr, const std::string& account) {
  for (const Json& e : arr)
    if (e.at("account") == account) return &e;
  return nullptr;
}

StatusOr<Json> ExposureJson(const std::string& data, const std::string& extra = "") {
  auto r = RunCloison("--data " + data + " exposure --json --date 2025-06-01" + extra);
  if (r.exit_code != 0) return Internal(r.output);
  Json j = Json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Internal("not JSON: " + r.output.substr(0, 200));
  return j;
}

class ExposureCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("exposure-cli");
    data_ = *dir_ / "data";
    ASSERT_EQ(RunCloison("--data " + data_ + " init").exit_code, 0);
    auto r = RunCloison("--data " + data_ + " generate --persons 2000 --seed 11 --today 2025-06-01 --no-files");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  static std::string data_;
};
TempDir* ExposureCliTest::dir_ = nullptr;
std::string ExposureCliTest::data_;

TEST_F(ExposureCliTest, SeedScenarioCompromisedAccessManagerReachesNobody) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto master = crypto::LoadMasterKey(data_ + "/master.key");
  ASSERT_TRUE(master.ok()) << master.status();
  FakeClock clock(SystemClock::Instance().NowMicros());

  // The network, from the store.
  std::map<StructureId, Structure> structures;
  std::vector<Agent> agents;
  {
    store::SqliteOptions so;
    so.path = data_ + "/cloison.db";
    auto store = store::OpenSqliteStore(so, FieldCatalog::Default(), *master, clock);
    ASSERT_TRUE(store.ok()) << store.status();
    auto list = (*store)->ListStructures();
    ASSERT_TRUE(list.ok());
    for (auto& s : *list) structures[s.id] = s;
    auto ag = (*store)->ListAgents();
    ASSERT_TRUE(ag.ok());
    agents = *ag;
  }
  // A mission locale whose parent (a regional direction) has a security officer.
  const Agent* am = nullptr;
  const Agent* so = nullptr;
  for (const Agent& a : agents) {
    if (am) break;
    const Structure& s = structures.at(a.structure);
    if (s.kind != StructureKind::kMissionLocale || a.roles != std::vector<Role>{Role::kAccessManager} || !s.parent)
      continue;
    for (const Agent& b : agents)
      if (b.structure == *s.parent && b.roles == std::vector<Role>{Role::kSecurityOfficer}) {
        am = &a;
        so = &b;
        break;
      }
  }
  ASSERT_TRUE(am && so) << "no mission locale with an access manager under a direction with a security officer";
  const std::string ml_code = structures.at(am->structure).code;
  const std::string dr_code = structures.at(so->structure).code;
  ASSERT_EQ(structures.at(so->structure).kind, StructureKind::kRegionalDirection);

  std::vector<crypto::SecretBytes> tech_keys;
  {
    auto repo = iam::OpenSqliteAccountRepository(data_ + "/cloison.db");
    ASSERT_TRUE(repo.ok()) << repo.status();
    DeterministicRandom random(7);
    iam::IamOptions opts;
    opts.password_cost = crypto::PasswordHashCost::Test();
    auto svc = iam::IamService::Create(
        **repo, *master, clock, random,
        [&](StructureId id) -> std::optional<StructureId> {
          auto it = structures.find(id);
          return it == structures.end() ? std::nullopt : it->second.parent;
        },
        opts);
    ASSERT_TRUE(svc.ok()) << svc.status();
    auto imported = (*svc)->ImportAgents(agents);
    ASSERT_TRUE(imported.ok()) << imported.status();
    EXPECT_EQ(*imported, static_cast<int64_t>(agents.size()));

    // The intruder holds the access manager's password and second factor.
    auto hash = crypto::HashPassword(S(kPassword), crypto::PasswordHashCost::Test());
    ASSERT_TRUE(hash.ok());
    ASSERT_TRUE((*repo)->SetPasswordHash(am->id, *hash, clock.NowMicros()).ok());
    iam::LoginRequest req{am->username, S(kPassword), {}, "10.0.0.1"};
    auto enrol = (*svc)->BeginTotpEnrollment(req);
    ASSERT_TRUE(enrol.ok()) << enrol.status();
    auto secret = crypto::TotpSecretFromBase32(enrol->secret_base32);
    ASSERT_TRUE(secret.ok());
    req.second_factor = S(*crypto::TotpGenerate(*secret, clock.NowSeconds()));
    ASSERT_TRUE((*svc)->ConfirmTotpEnrollment(req).ok());
    clock.AdvanceSeconds(30);
    req.second_factor = S(*crypto::TotpGenerate(*secret, clock.NowSeconds()));
    auto login = (*svc)->Login(req);
    ASSERT_TRUE(login.ok()) << login.status();
    const iam::Principal intruder = login->principal;

    // Two technical accounts, alone.
    for (const char* name : {"export-bot-1", "export-bot-2"}) {
      iam::NewTechnicalAccount t;
      t.structure = am->structure;
      t.username = name;
      t.purpose = "enrolment_sync";
      t.scopes = {"orientations:read"};
      t.networks = {"10.1.0.0/16"};
      t.expires_at = clock.NowMicros() + 30 * kDayUs;
      t.daily_quota = 10000;
      auto c = (*svc)->RequestTechnicalAccount(intruder, t, "integration");
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_EQ(c->status, iam::AccountStatus::kPending);
      ASSERT_TRUE(c->request.has_value());
      EXPECT_FALSE((*svc)->Approve(intruder, *c->request, "ok").ok());
      tech_keys.push_back(std::move(c->secret));
    }
    // And a counsellor, which needs no approval: active, in probation.
    auto helper = (*svc)->CreateHumanAccount(intruder, {am->structure, "helper.one", "Helper", {Role::kCounsellor}},
                                             "new hire");
    ASSERT_TRUE(helper.ok()) << helper.status();
    EXPECT_EQ(helper->status, iam::AccountStatus::kActive);

    // The keys do not work, from inside the allowed network.
    for (const auto& key : tech_keys) {
      auto p = (*svc)->AuthenticateApiKey(key, "10.1.2.3");
      EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << p.status();
    }
    auto listed = (**repo).ListAccounts();
    ASSERT_TRUE(listed.ok());
    int technical = 0;
    for (const auto& a : *listed)
      if (a.kind == iam::AccountKind::kTechnical) {
        ++technical;
        EXPECT_EQ(a.status, iam::AccountStatus::kPending) << a.username;
      }
    EXPECT_EQ(technical, 2);
  }

  // What the report says.
  auto j = ExposureJson(data_);
  ASSERT_TRUE(j.ok()) << j.status();
  const Json* e = Find(*j, am->username);
  ASSERT_TRUE(e) << am->username;
  EXPECT_EQ(e->at("source"), "iam");
  EXPECT_EQ(e->at("structure"), ml_code);
  EXPECT_EQ(e->at("direct_people"), 0);
  EXPECT_EQ(e->at("indirect_alone_people"), 0);
  EXPECT_GT(e->at("with_one_approver_people").get<int64_t>(), 0);
  const std::string approver = e->at("with_one_approver").get<std::string>();
  EXPECT_NE(approver.find(dr_code), std::string::npos) << approver;
  EXPECT_NE(approver.find(so->username), std::string::npos) << approver;
  bool tech_path = false;
  for (const Json& p : e->at("paths")) {
    if (p.at("kind") == "create_technical_account") {
      tech_path = true;
      EXPECT_FALSE(p.at("alone").get<bool>());
      EXPECT_NE(p.at("needs").get<std::string>().find(dr_code), std::string::npos);
    }
    if (p.at("alone").get<bool>()) {
      EXPECT_EQ(p.at("people"), 0) << p.dump();
    }
  }
  EXPECT_TRUE(tech_path);
  for (const char* name : {"export-bot-1", "export-bot-2"}) {
    const Json* t = Find(*j, name);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(t->at("kind"), "technical");
    EXPECT_EQ(t->at("status"), "pending");
    EXPECT_FALSE(t->at("can_authenticate").get<bool>());
    EXPECT_EQ(t->at("direct_people"), 0);
    EXPECT_EQ(t->at("purpose"), "enrolment_sync");
  }
  const Json* h = Find(*j, "helper.one");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->at("probation").get<bool>());
  EXPECT_EQ(h->at("direct_people"), 0);

  // --account keeps the rank among all accounts.
  auto one = ExposureJson(data_, " --account " + am->username);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].at("rank"), e->at("rank"));
}

TEST_F(ExposureCliTest, JsonShapeTableAndErrors) {
  auto j = ExposureJson(data_);
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE(j->is_array());
  ASSERT_GT(j->size(), 10u);
  int64_t rank = 0, last_blast = INT64_MAX;
  for (const Json& e : *j) {
    EXPECT_EQ(e.at("rank").get<int64_t>(), ++rank);
    for (const char* k : {"account", "kind", "status", "structure", "source", "narrowing"})
      EXPECT_TRUE(e.at(k).is_string()) << k;
    for (const char* k : {"account_id", "direct_people", "second_approver_people", "indirect_alone_people",
                          "indirect_alone_after_probation_people", "with_one_approver_people", "narrowing_people",
                          "blast_radius"})
      EXPECT_TRUE(e.at(k).is_number_integer()) << k;
    EXPECT_TRUE(e.at("roles").is_array());
    EXPECT_TRUE(e.at("categories").is_array());
    EXPECT_TRUE(e.at("rules").is_array());
    EXPECT_TRUE(e.at("paths").is_array());
    EXPECT_TRUE(e.at("used_people").is_null());  // no audit data yet
    EXPECT_TRUE(e.at("with_one_approver").is_null() || e.at("with_one_approver").is_string());
    EXPECT_LE(e.at("blast_radius").get<int64_t>(), last_blast);
    last_blast = e.at("blast_radius").get<int64_t>();
  }
  // The first is a counsellor reading structure-wide, with the NIR behind a reveal.
  const Json& top = (*j)[0];
  EXPECT_GT(top.at("direct_people").get<int64_t>(), 0);
  EXPECT_NE(std::find(top.at("categories").begin(), top.at("categories").end(), "nir (reveal-only)"),
            top.at("categories").end());
  EXPECT_GT(top.at("narrowing_people").get<int64_t>(), 0);

  auto top3 = ExposureJson(data_, " --top 3");
  ASSERT_TRUE(top3.ok());
  EXPECT_EQ(top3->size(), 3u);

  auto table = RunCloison("--data " + data_ + " exposure --date 2025-06-01 --top 5");
  EXPECT_EQ(table.exit_code, 0) << table.output;
  const std::vector<std::string> expected = {"rank", "account", "kind", "structure", "roles", "direct people",
                                             "categories", "indirect alone", "with one approver", "used", "narrowing",
                                             // No audit log in this data directory: the header says so.
                                             "no audit log in " + data_ + "/audit: used unknown"};
  for (const std::string& col : expected)
    EXPECT_NE(table.output.find(col), std::string::npos) << col;

  EXPECT_EQ(RunCloison("--data " + data_ + " exposure --account nobody.at.all").exit_code, 2);
  EXPECT_EQ(RunCloison("--data " + data_ + " exposure --date 2025-13-45").exit_code, 2);
  EXPECT_EQ(RunCloison("--data " + (*dir_ / "missing") + " exposure").exit_code, 3);
}

// "What it actually used over a window": a real audit log in the data
// directory, written the way the API's read path writes it.
TEST(ExposureUsageCliTest, UsedComesFromTheAuditLogOverTheWindow) {
  TempDir dir("exposure-usage");
  const std::string data = dir / "data";
  ASSERT_EQ(RunCloison("--data " + data + " init").exit_code, 0);
  auto g = RunCloison("--data " + data + " generate --persons 400 --seed 5 --today 2025-06-01 --no-files");
  ASSERT_EQ(g.exit_code, 0) << g.output;
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto master = crypto::LoadMasterKey(data + "/master.key");
  ASSERT_TRUE(master.ok()) << master.status();
  FakeClock clock(SystemClock::Instance().NowMicros());

  // Two counsellors of one agency, the people it follows, and one it does not.
  std::vector<Agent> agents;
  std::map<StructureId, std::vector<PersonId>> followed;
  std::map<StructureId, Structure> structures;
  {
    store::SqliteOptions so;
    so.path = data + "/cloison.db";
    auto store = store::OpenSqliteStore(so, FieldCatalog::Default(), *master, clock);
    ASSERT_TRUE(store.ok()) << store.status();
    auto ag = (*store)->ListAgents();
    auto list = (*store)->ListStructures();
    ASSERT_TRUE(ag.ok() && list.ok());
    agents = *ag;
    for (auto& s : *list) structures[s.id] = s;
    ASSERT_TRUE((*store)
                    ->ForEachPersonRelation([&](PersonId p, StructureId s, std::optional<AccountId>) {
                      followed[s].push_back(p);
                    })
                    .ok());
  }
  std::map<StructureId, std::vector<const Agent*>> counsellors;
  for (const Agent& a : agents)
    if (a.roles == std::vector<Role>{Role::kCounsellor} && structures.at(a.structure).kind == StructureKind::kAgency)
      counsellors[a.structure].push_back(&a);
  const Agent* c1 = nullptr;
  const Agent* c2 = nullptr;
  const Agent* store_only = nullptr;
  for (const auto& [s, here] : counsellors)
    if (!c1 && here.size() >= 2 && followed[s].size() >= 4) {
      c1 = here[0];
      c2 = here[1];
    }
  ASSERT_TRUE(c1 && c2) << "no agency with two counsellors and four people";
  for (const Agent& a : agents)
    if (!store_only && a.id != c1->id && a.id != c2->id) store_only = &a;
  ASSERT_TRUE(store_only);
  const std::vector<PersonId>& mine = followed[c1->structure];
  PersonId outside;
  for (const auto& [s, people] : followed)
    if (s != c1->structure && !people.empty()) outside = people[0];
  ASSERT_TRUE(outside.valid());

  // c1 and c2 are iam accounts (imported agents keep their ids);
  // store_only is not, so its usage is not knowable.
  {
    auto repo = iam::OpenSqliteAccountRepository(data + "/cloison.db");
    ASSERT_TRUE(repo.ok()) << repo.status();
    for (const Agent* a : {c1, c2}) {
      iam::Account acc;
      acc.id = a->id;
      acc.kind = iam::AccountKind::kHuman;
      acc.structure = a->structure;
      acc.username = a->username;
      acc.display_name = a->username;
      acc.roles = a->roles;
      acc.status = iam::AccountStatus::kActive;
      acc.created_at = clock.NowMicros() - 400 * kDayUs;
      ASSERT_TRUE((*repo)->InsertAccount(acc).ok());
    }
  }

  // The window is the 30 days ending with --date 2025-06-01 (UTC).
  const int64_t june1 = Date{2025, 6, 1}.ToDays();
  auto at = [&](int64_t day, int hour) { return (day * 86400 + hour * 3600) * 1'000'000LL; };
  {
    audit::LogOptions lo;
    lo.clock = &clock;
    auto log = audit::AuditLog::Open(data + "/audit", lo);
    ASSERT_TRUE(log.ok()) << log.status();
    auto append = [&](audit::EventKind kind, UnixMicros t, AccountId who, std::vector<PersonId> persons,
                      std::string page_kind = "") {
      audit::Event e;
      e.kind = kind;
      e.time = t;
      e.account = who;
      e.persons = std::move(persons);
      e.purpose = "accompaniment";
      e.decision = kind == audit::EventKind::kDenial ? "deny" : "allow";
      if (!page_kind.empty()) {
        e.details["kind"] = page_kind;
        e.details["page"] = "1";
      }
      ASSERT_TRUE((*log)->Append(e).ok());
    };
    using K = audit::EventKind;
    append(K::kRead, at(june1 - 60, 10), c1->id, {mine[3]});             // before the window
    append(K::kRead, at(june1 - 10, 9), c1->id, {mine[0]});              // opened
    append(K::kRead, at(june1 - 9, 9), c1->id, {mine[0]});               // again: once
    append(K::kRead, at(june1 - 29, 0), c1->id, {mine[1]});              // first hour of the window
    append(K::kRead, at(june1 - 5, 14), c1->id, {mine[0], mine[2], outside}, "list");  // a listing page
    append(K::kDenial, at(june1 - 4, 11), c1->id, {outside});            // refused: not a use
    append(K::kLogin, at(june1 - 4, 8), c1->id, {});
    append(K::kRead, at(june1 + 3, 10), c1->id, {mine[3]});              // after --date
    ASSERT_TRUE((*log)->Close().ok());
  }

  auto one = [&](const std::string& user, const std::string& extra = "") -> Json {
    auto r = RunCloison("--data " + data + " exposure --json --date 2025-06-01 --account " + user + extra);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const size_t open = r.output.find('[');
    Json j = Json::parse(open == std::string::npos ? std::string() : r.output.substr(open), nullptr, false);
    EXPECT_TRUE(j.is_array() && j.size() == 1) << r.output;
    return j.is_array() && j.size() == 1 ? j[0] : Json();
  };
  Json e = one(c1->username);
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e.at("used_people"), 2);        // mine[0], mine[1]
  EXPECT_EQ(e.at("listed_people"), 2);      // mine[2], outside
  EXPECT_EQ(e.at("used_outside_reach_people"), 0);
  EXPECT_EQ(e.at("usage_window"), "2025-05-03..2025-06-01");
  const int64_t direct = e.at("direct_people").get<int64_t>();
  ASSERT_GE(direct, static_cast<int64_t>(mine.size()));
  EXPECT_EQ(e.at("narrowing_people").get<int64_t>(), direct - 2);
  EXPECT_NE(e.at("narrowing").get<std::string>().find("read 2 of " + std::to_string(direct)), std::string::npos)
      << e.at("narrowing");

  Json e2 = one(c2->username);
  EXPECT_EQ(e2.at("used_people"), 0);  // in iam, read nobody
  EXPECT_EQ(e2.at("narrowing_people"), e2.at("direct_people"));
  Json e3 = one(store_only->username);
  EXPECT_TRUE(e3.at("used_people").is_null());
  EXPECT_EQ(e3.at("source"), "store");

  // A shorter window: only the reads of the last 10 days (mine[0], listing).
  Json w10 = one(c1->username, " --window 10");
  EXPECT_EQ(w10.at("used_people"), 1);
  EXPECT_EQ(w10.at("usage_window"), "2025-05-23..2025-06-01");
  // --window 0: the log is not read.
  auto r0 = RunCloison("--data " + data + " exposure --json --date 2025-06-01 --window 0 --account " + c1->username);
  EXPECT_EQ(r0.exit_code, 0) << r0.output;
  EXPECT_NE(r0.output.find("\"used_people\": null"), std::string::npos) << r0.output;
  EXPECT_EQ(RunCloison("--data " + data + " exposure --window -3").exit_code, 2);

  // The table: used with the listed people apart, and where it comes from.
  auto t = RunCloison("--data " + data + " exposure --date 2025-06-01 --account " + c1->username);
  EXPECT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("used: distinct people opened over 2025-05-03..2025-06-01 (30 days"), std::string::npos)
      << t.output;
  EXPECT_NE(t.output.find("2 (+2 listed)"), std::string::npos) << t.output;

  // While another process holds the log (a running server), the report still
  // comes out, on reachability, and says why `used` is unknown.
  {
    audit::LogOptions lo;
    lo.clock = &clock;
    lo.checkpoint_on_open = lo.checkpoint_on_close = false;
    auto held = audit::AuditLog::Open(data + "/audit", lo);
    ASSERT_TRUE(held.ok()) << held.status();
    auto busy = RunCloison("--data " + data + " exposure --date 2025-06-01 --account " + c1->username);
    EXPECT_EQ(busy.exit_code, 0) << busy.output;
    EXPECT_NE(busy.output.find("audit log busy"), std::string::npos) << busy.output;
    EXPECT_NE(busy.output.find("unknown (no audit data)"), std::string::npos) << busy.output;
  }
}

}  // namespace
}  // namespace cloison
