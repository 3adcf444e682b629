// The guard in the API, without sockets: a Handler with the real
// guard::Guard and the iam-backed AccountControl (as `cloison serve` wires
// them). Extraction by reads and by listings is refused, then the account is
// suspended and its credentials die at once; step-up; alerts for security
// officers; reinstatement under dual control clears the guard; account
// profiles reach the guard.
//
// The assertions are about outcomes (a refusal comes before the suspension,
// fewer than 50 people leave, nothing is refused in ordinary use), not about
// the exact calibration, which the simulator tunes.
//
//   structures: 1 FT-DG > 2 DR-GE > 3 ML-67-003, 4 ML-67-004; 1 > 5 DR-BR
//   people: the fixture's, plus 1001..1400 followed by ML-67-003 whose
//           referent counsellor is "counsellor" (its caseload)
#include <deque>

#include "api/guard_support.h"
#include "api_fixture.h"
#include "guard/guard.h"

namespace cloison::api {
namespace {

using nlohmann::json;

// Forwards to a real guard and records the profiles registered.
class RecordingGuard final : public guard::Guard {
 public:
  explicit RecordingGuard(std::unique_ptr<guard::Guard> inner) : inner_(std::move(inner)) {}
  std::vector<guard::AccountProfile> profiles;
  std::vector<AccountId> cleared;
  // Scripted verdicts for reads (consumed in order; empty: the real guard).
  std::deque<guard::Action> script;

  void RegisterAccount(const guard::AccountProfile& p) override {
    profiles.push_back(p);
    inner_->RegisterAccount(p);
  }
  void AddHoneytoken(PersonId p) override { inner_->AddHoneytoken(p); }
  bool IsHoneytoken(PersonId p) const override { return inner_->IsHoneytoken(p); }
  guard::Verdict Assess(const guard::Access& a) override {
    if (script.empty()) return inner_->Assess(a);
    guard::Verdict v;
    v.action = script.front();
    if (script.size() > 1) script.pop_front();  // the last one stays
    v.score = 7;
    v.explanation = "scripted";
    v.signals = {"volume"};
    return v;
  }
  void Observe(const guard::Access& a) override { inner_->Observe(a); }
  bool UnderAlert(AccountId a) const override { return inner_->UnderAlert(a); }
  std::vector<guard::Alert> Alerts(UnixMicros since) const override { return inner_->Alerts(since); }
  void Clear(AccountId a) override {
    cleared.push_back(a);
    inner_->Clear(a);
  }
  Status SaveState(std::string* out) const override { return inner_->SaveState(out); }
  Status LoadState(std::string_view in) override { return inner_->LoadState(in); }

  // The latest profile registered for `a`.
  std::optional<guard::AccountProfile> Profile(AccountId a) const {
    for (auto it = profiles.rbegin(); it != profiles.rend(); ++it)
      if (it->account == a) return *it;
    return std::nullopt;
  }

 private:
  std::unique_ptr<guard::Guard> inner_;
};

class GuardApiTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    Structure br;
    br.id = StructureId(5);
    br.kind = StructureKind::kRegionalDirection;
    br.parent = StructureId(1);
    br.code = br.name = "DR-BR";
    ASSERT_TRUE(store_->UpsertStructure(br).ok());
    // ML-67-003 works in Strasbourg's time zone with the default hours.
    const FieldCatalog& cat = FieldCatalog::Default();
    static const char* const kNoms[] = {"BERNARD", "PETIT", "DURAND", "LEROY", "MOREAU", "SIMON", "LAURENT", "MICHEL"};
    std::vector<Person> people;
    for (int64_t id = 1001; id <= 1400; ++id) {
      Person p;
      p.id = PersonId(id);
      p.referent_structure = StructureId(3);
      p.referent_counsellor = counsellor_;
      p.fields.assign(cat.size(), "");
      p.fields[*cat.IndexOf("nom")] = kNoms[id % 8];
      p.fields[*cat.IndexOf("prenom")] = "Alex";
      p.fields[*cat.IndexOf("sexe")] = "M";
      p.fields[*cat.IndexOf("date_naissance")] = "2001-06-15";
      p.fields[*cat.IndexOf("date_inscription")] = "2025-01-06";
      p.fields[*cat.IndexOf("statut")] = "en_accompagnement";
      p.fields[*cat.IndexOf("email")] = StrCat("x", id, "@example.org");
      people.push_back(p);
    }
    ASSERT_TRUE(store_->UpsertPersons(people).ok());
    auto index = policy::RelationIndex::Build(*store_);
    ASSERT_TRUE(index.ok()) << index.status();
    handler_.reset();
    index_ = std::move(*index);

    tech_ = *repo_->FindAccountByUsername("tech").value();
    manager_ = AddPrivileged("am.ml67", 3, {Role::kAccessManager});
    officer_ = AddPrivileged("so.grandest", 2, {Role::kSecurityOfficer});
    AddPrivileged("so.bretagne", 5, {Role::kSecurityOfficer});
    AddPrivileged("dpo.national", 1, {Role::kDpo});
    AddPrivileged("auditor.national", 1, {Role::kAuditor});
    stepper_ = AddPrivileged("stepper", 3, {Role::kCounsellor});  // a counsellor with TOTP

    guard_ = new RecordingGuard(guard::Guard::Create(guard::GuardConfig::Default(), clock_));
    owned_guard_.reset(guard_);
    control_ = std::make_unique<IamAccountControl>(*iam_, iam_mu_);
    HandlerDeps deps = BaseDeps();
    deps.guard = guard_;
    deps.accounts = control_.get();
    deps.iam_mutex = &iam_mu_;
    handler_ = std::make_unique<Handler>(deps);
    auto sync = handler_->SyncGuard();
    ASSERT_TRUE(sync.ok()) << sync.status();
    EXPECT_GE(sync->registered, 8);
  }

  Response Get(const std::string& token, const std::string& target) { return Call("GET", target, "", Bearer(token)); }
  Response Post(const std::string& token, const std::string& target, const json& body) {
    return Call("POST", target, body.dump(), Bearer(token));
  }
  Response Read(const std::string& token, int64_t person) {
    return Get(token, StrCat("/v1/people/", person, "?purpose=accompaniment"));
  }
  static std::string Code(const Response& r) {
    auto j = J(r);
    return j.is_object() && j.contains("error") ? j["error"]["code"].get<std::string>() : "";
  }
  static bool GuardRefusal(const Response& r) {
    const std::string c = Code(r);
    return c == "guard_throttled" || c == "step_up_required" || c == "account_suspended";
  }
  iam::AccountStatus Status(AccountId id) { return repo_->GetAccount(id)->status; }
  std::string Totp(const std::string& username) {
    return *crypto::TotpGenerate(totp_secrets_.at(username), clock_.NowSeconds());
  }

  // A counsellor reading people it was never shown, in id order, until the
  // guard suspends it (at most `max` attempts). Returns how many were released.
  struct Extraction {
    int released = 0;
    int attempts = 0;
    int first_refusal = -1;  // attempt number of the first guard refusal
    int suspended_at = -1;
    std::vector<int> statuses;
  };
  Extraction Extract(const std::string& token, int64_t first, int max) {
    Extraction e;
    for (int i = 0; i < max; ++i) {
      Response r = Read(token, first + i);
      ++e.attempts;
      e.statuses.push_back(r.status);
      if (r.status == 200) ++e.released;
      else if (GuardRefusal(r) && e.first_refusal < 0) e.first_refusal = i;
      if (Code(r) == "account_suspended") {
        e.suspended_at = i;
        break;
      }
      EXPECT_TRUE(r.status == 200 || GuardRefusal(r)) << i << ": " << r.body;
    }
    return e;
  }

  // What `cloison request approve` does: iam directly, not through the Handler.
  void ReinstateOutsideTheApi(AccountId who) {
    clock_.AdvanceSeconds(30);
    auto am = iam_->Login({"am.ml67", crypto::SecretBytes::FromString(kPassword),
                           crypto::SecretBytes::FromString(Totp("am.ml67")), "10.0.0.1"});
    ASSERT_TRUE(am.ok()) << am.status();
    auto rid = iam_->RequestReinstate(am->principal, who, std::nullopt, "reviewed with the CLI");
    ASSERT_TRUE(rid.ok()) << rid.status();
    clock_.AdvanceSeconds(30);
    auto so = iam_->Login({"so.grandest", crypto::SecretBytes::FromString(kPassword),
                           crypto::SecretBytes::FromString(Totp("so.grandest")), "10.0.0.1"});
    ASSERT_TRUE(so.ok()) << so.status();
    ASSERT_TRUE(iam_->Approve(so->principal, *rid, "ok").ok());
  }

  std::vector<audit::Event> GuardActions() {
    std::vector<audit::Event> out;
    for (const audit::Event& e : AuditEvents())
      if (e.kind == audit::EventKind::kGuardAction) out.push_back(e);
    return out;
  }

  std::mutex iam_mu_;
  std::unique_ptr<guard::Guard> owned_guard_;
  RecordingGuard* guard_ = nullptr;
  std::unique_ptr<IamAccountControl> control_;
  iam::Account tech_;
  AccountId manager_, officer_, stepper_;
};

// ------------------------------------------------------------ reads

TEST_F(GuardApiTest, OrdinaryUseIsNotRefused) {
  const std::string t = Login("counsellor");
  for (int64_t p : {101, 1017, 1230, 103, 1301}) EXPECT_EQ(Read(t, p).status, 200) << p;
  for (int page = 1; page <= 3; ++page)
    EXPECT_EQ(Get(t, StrCat("/v1/people/caseload?page=", page)).status, 200) << page;
  EXPECT_EQ(Get(t, "/v1/people/search?q=petit&purpose=accompaniment").status, 200);
  EXPECT_TRUE(guard_->Alerts(0).empty());
  EXPECT_EQ(Status(counsellor_), iam::AccountStatus::kActive);
}

TEST_F(GuardApiTest, ExtractionByACounsellorIsRefusedThenSuspendedAndItsTokenDiesAtOnce) {
  const std::string t = Login("counsellor");
  const Extraction e = Extract(t, 1001, 60);
  ASSERT_GE(e.suspended_at, 0) << "never suspended in " << e.attempts << " reads";
  ASSERT_GE(e.first_refusal, 0);
  EXPECT_LT(e.first_refusal, e.suspended_at) << "refused (throttle or step-up) before the suspension";
  EXPECT_LT(e.released, 50) << "the goal: an extraction stops while it is small";
  // iam suspended the account: the same token is refused at once, and a new
  // login too.
  EXPECT_EQ(Status(counsellor_), iam::AccountStatus::kSuspended);
  ExpectError(Read(t, 101), 401, "unauthenticated");
  ExpectError(Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kPassword}}.dump()), 401);
  // Audited with the guard's explanation; an alert for the security officer.
  bool suspend_entry = false;
  for (const audit::Event& g : GuardActions())
    if (g.account == counsellor_ && g.decision == "suspend") {
      suspend_entry = true;
      EXPECT_FALSE(g.reason.empty());
      EXPECT_TRUE(g.details.count("score"));
    }
  EXPECT_TRUE(suspend_entry);
  EXPECT_TRUE(guard_->UnderAlert(counsellor_));
  // The refusals are in the metrics.
  const std::string metrics = Call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("suspend"), std::string::npos);
}

TEST_F(GuardApiTest, ASuspendedTechnicalAccountsKeyIsRefused) {
  const std::vector<std::pair<std::string, std::string>> key = {{"x-api-key", kApiKey}};
  // Probing ids it may not read (denied), in order: a new integration at that.
  int denied = 0;
  bool refused = false;
  for (int64_t p = 1001; p < 1061 && !refused; ++p) {
    Response r = Call("GET", StrCat("/v1/people/", p, "?purpose=accompaniment"), "", key, "10.1.0.5");
    if (r.status == 401) refused = true;
    else {
      ExpectError(r, 403);
      ++denied;
    }
  }
  EXPECT_TRUE(refused) << "the key still works after " << denied << " denied probes";
  EXPECT_EQ(Status(tech_.id), iam::AccountStatus::kSuspended);
  // Every later use of the key is refused, whatever the request.
  ExpectError(Call("GET", "/v1/sessions", "", key, "10.1.0.5"), 401, "unauthenticated");
  EXPECT_TRUE(guard_->UnderAlert(tech_.id));
}

// ------------------------------------------------------------ listings

TEST_F(GuardApiTest, ExhaustivePagingOfTheCaseloadIsRefused) {
  const std::string t = Login("counsellor");
  int refused_at = -1;
  for (int page = 1; page <= 20 && refused_at < 0; ++page) {
    Response r = Get(t, StrCat("/v1/people/caseload?page_size=20&page=", page));
    if (r.status != 200) {
      EXPECT_TRUE(GuardRefusal(r)) << r.body;
      refused_at = page;
    }
  }
  ASSERT_GT(refused_at, 3) << "the first pages are ordinary work";
  EXPECT_LT(refused_at, 20) << "paging through the whole caseload (400 people) is enumeration";
  // The refused page was not audited as sent, its refusal was.
  bool listed_refusal = false;
  for (const audit::Event& g : GuardActions())
    listed_refusal = listed_refusal || (g.account == counsellor_ && g.details.count("context") &&
                                        g.details.at("context") == "list" && g.details.count("signals") &&
                                        g.details.at("signals").find("paging") != std::string::npos);
  EXPECT_TRUE(listed_refusal);
  for (const audit::Event& e : AuditEvents()) {
    if (e.kind == audit::EventKind::kRead && e.details.count("kind")) {
      EXPECT_LT(e.numbers.at("page"), refused_at);
    }
  }
}

TEST_F(GuardApiTest, SearchSweepsAreRefused) {
  const std::string t = Login("counsellor");
  int refused_at = -1;
  std::string prefix = "aa";
  for (int i = 0; i < 40 && refused_at < 0; ++i) {
    prefix = StrCat(std::string(1, static_cast<char>('a' + i / 26 % 26)), std::string(1, static_cast<char>('a' + i % 26)));
    Response r = Get(t, StrCat("/v1/people/search?purpose=accompaniment&q=nom:", prefix));
    if (r.status != 200) {
      EXPECT_TRUE(GuardRefusal(r)) << r.body;
      refused_at = i;
    }
  }
  EXPECT_GT(refused_at, 5);
  EXPECT_GE(refused_at, 0) << "40 different name prefixes in a row is a sweep";
}

// ------------------------------------------------------------ step-up

TEST_F(GuardApiTest, StepUpWithAFreshCodeLetsTheReadsThroughForItsSession) {
  guard_->script = {guard::Action::kStepUp};  // every access asks for a step-up
  const std::string t = LoginMfa("stepper");
  Response r = Read(t, 101);
  ExpectError(r, 401, "step_up_required");
  EXPECT_EQ(J(r)["error"]["step_up"]["path"], "/v1/sessions/step-up");
  EXPECT_NE(J(r)["error"]["message"].get<std::string>().find("/v1/sessions/step-up"), std::string::npos);
  bool challenge = false;
  for (const auto& [k, v] : r.headers) challenge = challenge || (k == "WWW-Authenticate" && v.find("insufficient_user_authentication") != std::string::npos);
  EXPECT_TRUE(challenge);
  // Listings ask too.
  ExpectError(Get(t, "/v1/people/caseload"), 401, "step_up_required");

  // A wrong code: 401, and the reads stay refused.
  clock_.AdvanceSeconds(30);
  const std::string code = Totp("stepper");
  ExpectError(Post(t, "/v1/sessions/step-up", json{{"totp", code == "000000" ? "111111" : "000000"}}), 401,
              "unauthenticated");
  ExpectError(Read(t, 101), 401, "step_up_required");
  ExpectError(Post(t, "/v1/sessions/step-up", json{{"code", code}}), 400, "unknown_field");
  ExpectError(Post(t, "/v1/sessions/step-up", json::object()), 400, "invalid_parameter");

  // The fresh code: the session is stepped up, the read goes through.
  r = Post(t, "/v1/sessions/step-up", json{{"totp", code}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["step_up_seconds"], 900);
  EXPECT_TRUE(J(r)["stepped_up_until"].is_string());
  r = Read(t, 101);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Get(t, "/v1/people/caseload").status, 200);
  // The same code again: replay refused.
  ExpectError(Post(t, "/v1/sessions/step-up", json{{"totp", code}}), 401, "unauthenticated");

  // Another session of the same account has not stepped up.
  const std::string other = LoginMfa("stepper");
  ExpectError(Read(other, 101), 401, "step_up_required");
  // The step-up lapses after its 15 minutes (30 s have passed since; the
  // session is kept alive meanwhile).
  for (int i = 0; i < 2; ++i) {
    clock_.AdvanceSeconds(5 * 60);
    EXPECT_EQ(Read(t, 101).status, 200) << i;
  }
  clock_.AdvanceSeconds(5 * 60);
  ExpectError(Read(t, 101), 401, "step_up_required");
  // The step-up verdicts were still audited.
  int step_ups = 0;
  for (const audit::Event& g : GuardActions()) step_ups += g.decision == "step_up" ? 1 : 0;
  EXPECT_GE(step_ups, 5);
}

TEST_F(GuardApiTest, TechnicalAccountsAndAccountsWithoutTotpCannotStepUp) {
  Response r = Call("POST", "/v1/sessions/step-up", json{{"totp", "123456"}}.dump(), {{"x-api-key", kApiKey}}, "10.1.0.5");
  ExpectError(r, 403, "step_up_unavailable");
  EXPECT_NE(J(r)["error"]["message"].get<std::string>().find("technical"), std::string::npos);
  ExpectError(Post(Login("counsellor"), "/v1/sessions/step-up", json{{"totp", "123456"}}), 403, "step_up_unavailable");
  ExpectError(Call("POST", "/v1/sessions/step-up", json{{"totp", "123456"}}.dump()), 401, "unauthenticated");
}

TEST_F(GuardApiTest, TechnicalAccountsAreThrottledInsteadOfAskedToStepUp) {
  // The guard itself turns a step-up into a throttle for them; the API
  // never answers step_up_required to an API key.
  const std::vector<std::pair<std::string, std::string>> key = {{"x-api-key", kApiKey}};
  for (int64_t p = 1001; p < 1061; ++p) {
    Response r = Call("GET", StrCat("/v1/people/", p, "?purpose=accompaniment"), "", key, "10.1.0.5");
    EXPECT_NE(Code(r), "step_up_required") << r.body;
    if (r.status == 401) break;
  }
}

// ------------------------------------------------------------ alerts

TEST_F(GuardApiTest, AlertsAreForSecurityOfficersAndDposAboveTheAccount) {
  const Extraction e = Extract(Login("counsellor"), 1001, 60);
  ASSERT_GE(e.suspended_at, 0);

  Response r = Get(LoginMfa("so.grandest"), "/v1/alerts");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = J(r);
  ASSERT_GE(j["total"].get<int64_t>(), 1) << r.body;
  bool suspend = false;
  for (const json& a : j["alerts"]) {
    EXPECT_EQ(a["account_id"], counsellor_.value());
    EXPECT_EQ(a["username"], "counsellor");
    EXPECT_EQ(a["structure"], "ML-67-003");
    for (const char* k : {"id", "time", "last_time", "action", "score", "explanation", "signals", "repeats"})
      EXPECT_TRUE(a.contains(k)) << k;
    EXPECT_FALSE(a["explanation"].get<std::string>().empty());
    EXPECT_FALSE(a["signals"].empty());
    suspend = suspend || a["action"] == "suspend";
  }
  EXPECT_TRUE(suspend) << r.body;
  // Newest first.
  for (size_t i = 1; i < j["alerts"].size(); ++i)
    EXPECT_GE(j["alerts"][i - 1]["last_time"].get<std::string>(), j["alerts"][i]["last_time"].get<std::string>());

  // A DPO at the national level sees them too; an officer of another region
  // does not; a counsellor or an auditor may not ask.
  EXPECT_EQ(J(Get(LoginMfa("dpo.national"), "/v1/alerts"))["total"], j["total"]);
  r = Get(LoginMfa("so.bretagne"), "/v1/alerts");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["total"], 0);
  ExpectError(Get(Login("quota3"), "/v1/alerts"), 403, "forbidden");
  ExpectError(Get(LoginMfa("auditor.national"), "/v1/alerts"), 403, "forbidden");
  ExpectError(Call("GET", "/v1/alerts", "", {{"x-api-key", kApiKey}}, "10.1.0.5"), 403, "forbidden");

  // Filters and pages.
  const std::string so = LoginMfa("so.grandest");
  EXPECT_EQ(J(Get(so, "/v1/alerts?account=counsellor"))["total"], j["total"]);
  EXPECT_EQ(J(Get(so, StrCat("/v1/alerts?account=", counsellor_.value())))["total"], j["total"]);
  EXPECT_EQ(J(Get(so, "/v1/alerts?account=quota3"))["total"], 0);
  ExpectError(Get(so, "/v1/alerts?account=nobody"), 404, "not_found");
  ExpectError(Get(LoginMfa("so.bretagne"), "/v1/alerts?account=counsellor"), 404, "not_found");
  EXPECT_EQ(J(Get(so, "/v1/alerts?since=2100-01-01"))["total"], 0);
  EXPECT_EQ(J(Get(so, "/v1/alerts?since=2025-10-09T00:00:00Z"))["total"], j["total"]);
  EXPECT_EQ(J(Get(so, "/v1/alerts?since=2025-10-09T02:00:00%2B02:00"))["total"], j["total"]);
  ExpectError(Get(so, "/v1/alerts?since=yesterday"), 400, "invalid_parameter");
  ExpectError(Get(so, "/v1/alerts?since=2025-10-09T12:00:00"), 400, "invalid_parameter");  // no zone
  ExpectError(Get(so, "/v1/alerts?page_size=0"), 400, "invalid_parameter");
  ExpectError(Get(so, "/v1/alerts?page_size=101"), 400, "invalid_parameter");
  ExpectError(Get(so, "/v1/alerts?sort=score"), 400, "invalid_parameter");
  r = Get(so, "/v1/alerts?page_size=1&page=1");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(J(r)["alerts"].size(), 1u);
  EXPECT_EQ(J(r)["alerts"][0]["id"], j["alerts"][0]["id"]);
  EXPECT_EQ(J(Get(so, "/v1/alerts?page=1000"))["alerts"].size(), 0u);
}

// ------------------------------------------------------------ reinstatement

TEST_F(GuardApiTest, ReinstatementUnderDualControlClearsTheGuard) {
  ASSERT_GE(Extract(Login("counsellor"), 1001, 60).suspended_at, 0);
  ASSERT_TRUE(guard_->UnderAlert(counsellor_));

  // The access manager asks; the account stays suspended until an
  // independent officer above approves.
  const std::string am = LoginMfa("am.ml67");
  Response r = Post(am, StrCat("/v1/accounts/", counsellor_.value(), "/reinstate"), json{{"reason", "reviewed: a training exercise"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const int64_t rid = J(r)["change_request"]["id"];
  ExpectError(Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kPassword}}.dump()), 401);
  ExpectError(Post(am, StrCat("/v1/change-requests/", rid, "/approve"), json::object()), 403);
  EXPECT_TRUE(guard_->UnderAlert(counsellor_));
  r = Post(LoginMfa("so.grandest"), StrCat("/v1/change-requests/", rid, "/approve"), json{{"note", "ok"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(guard_->UnderAlert(counsellor_)) << "scored afresh from now on";
  ASSERT_FALSE(guard_->cleared.empty());
  EXPECT_EQ(guard_->cleared.back(), counsellor_);

  // Back at work: an ordinary read goes through (without the Clear the guard
  // would still answer "suspended" and suspend it again).
  const std::string t = Login("counsellor");
  EXPECT_EQ(Read(t, 101).status, 200);
  EXPECT_EQ(Status(counsellor_), iam::AccountStatus::kActive);
  // The approval was looked at; a later sync clears nothing more.
  auto sync = handler_->SyncGuard();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->cleared, 0);
}

TEST_F(GuardApiTest, AReinstatementApprovedOutsideTheApiIsReconciled) {
  ASSERT_GE(Extract(Login("counsellor"), 1001, 60).suspended_at, 0);
  // Approved with the CLI (iam directly): the running guard does not know.
  ReinstateOutsideTheApi(counsellor_);
  EXPECT_TRUE(guard_->UnderAlert(counsellor_));
  // The account's first request finds the reinstatement and clears the guard,
  // so the guard does not suspend it again.
  const std::string t = Login("counsellor");
  EXPECT_EQ(Read(t, 101).status, 200);
  EXPECT_FALSE(guard_->UnderAlert(counsellor_));
  EXPECT_EQ(Status(counsellor_), iam::AccountStatus::kActive);

  // The same through SyncGuard (the server's start and periodic sync): a
  // second extraction, a second out-of-band reinstatement.
  clock_.AdvanceSeconds(3600);
  ASSERT_GE(Extract(Login("counsellor"), 1101, 60).suspended_at, 0);
  auto sync = handler_->SyncGuard();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->cleared, 0) << "the old reinstatement predates the new alert";
  EXPECT_TRUE(guard_->UnderAlert(counsellor_));
  ReinstateOutsideTheApi(counsellor_);
  sync = handler_->SyncGuard();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->cleared, 1);
  EXPECT_FALSE(guard_->UnderAlert(counsellor_));
}

// ------------------------------------------------------------ profiles

TEST_F(GuardApiTest, EveryAccountIsRegisteredWithWhatIamAndTheStoreKnow) {
  auto c = guard_->Profile(counsellor_);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->technical);
  EXPECT_EQ(c->structure, StructureId(3));
  EXPECT_EQ(c->structure_kind, StructureKind::kMissionLocale);
  EXPECT_EQ(c->roles, std::vector<Role>{Role::kCounsellor});
  EXPECT_GT(c->created_at, 0);
  EXPECT_FALSE(c->probation);
  auto t = guard_->Profile(tech_.id);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->technical);

  // A counsellor created through the API: registered at once, in probation,
  // with its creator.
  const std::string am = LoginMfa("am.ml67");
  Response r = Post(am, "/v1/accounts",
                    json{{"username", "new.counsellor"}, {"structure", "ML-67-003"}, {"reason", "new hire"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const AccountId created(J(r)["id"].get<int64_t>());
  auto p = guard_->Profile(created);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->probation);
  ASSERT_TRUE(p->created_by);
  EXPECT_EQ(*p->created_by, manager_);
  EXPECT_FALSE(p->approved_by);

  // A role grant: re-registered once approved, with its approver.
  r = Post(am, "/v1/change-requests",
           json{{"kind", "grant_role"}, {"account", stepper_.value()}, {"role", "partner_user"}, {"reason", "two hats"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const int64_t rid = J(r)["change_request"]["id"];
  EXPECT_EQ(guard_->Profile(stepper_)->roles.size(), 1u);
  r = Post(LoginMfa("so.grandest"), StrCat("/v1/change-requests/", rid, "/approve"), json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  p = guard_->Profile(stepper_);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->roles.size(), 2u);
  ASSERT_TRUE(p->approved_by);
  EXPECT_EQ(*p->approved_by, officer_);

  // Changes made elsewhere (the CLI) are picked up by the next sync, and only
  // those; the end of a probation too.
  auto sync = handler_->SyncGuard();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->registered, 0);
  iam::Account q = *repo_->GetAccount(AccountId(counsellor_));
  q.roles.push_back(Role::kPartnerUser);
  q.updated_at = clock_.NowMicros();
  ASSERT_TRUE(repo_->UpdateAccount(q).ok());
  sync = handler_->SyncGuard();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->registered, 1);
  EXPECT_EQ(guard_->Profile(counsellor_)->roles.size(), 2u);
  clock_.AdvanceSeconds(15 * 86400);
  sync = handler_->SyncGuard();
  ASSERT_TRUE(sync.ok());
  EXPECT_EQ(sync->registered, 1);  // new.counsellor's probation ended
  EXPECT_FALSE(guard_->Profile(created)->probation);
}

// ------------------------------------------------------------ replay mapping

TEST_F(GuardApiTest, AuditEntriesOfTheReadPathMapBackToTheGuardsAccesses) {
  const std::string t = Login("counsellor");
  ASSERT_EQ(Read(t, 101).status, 200);
  Response reveal = Post(t, "/v1/people/101/reveal", json{{"field", "nir"}, {"justification", "Dossier de retraite: vérification de l'identité demandée par la CARSAT"}});
  ASSERT_EQ(reveal.status, 200) << reveal.body;
  ASSERT_EQ(Read(t, 201).status, 403);  // another mission locale's
  ASSERT_EQ(Get(t, "/v1/people/caseload?page=2&page_size=10").status, 200);
  ASSERT_EQ(Get(t, "/v1/people/search?q=nom:petit&purpose=accompaniment").status, 200);
  std::vector<guard::AccessKind> kinds;
  for (const audit::Event& e : AuditEvents()) {
    auto a = GuardAccessOf(e);
    if (!a) continue;
    EXPECT_EQ(a->account, counsellor_);
    EXPECT_EQ(a->time, e.time);
    kinds.push_back(a->kind);
    if (a->kind == guard::AccessKind::kList) {
      EXPECT_EQ(a->query, "caseload");
      EXPECT_EQ(a->page, 1);  // 0-based for the guard, "2" in the log
      EXPECT_EQ(a->persons.size(), 10u);
    }
    if (a->kind == guard::AccessKind::kSearch) {
      // The digest form the guard scored live ("nom:#<16 hex>"), never the name.
      EXPECT_EQ(a->query.substr(0, 5), "nom:#");
      EXPECT_EQ(a->query.size(), 5u + 16u);
    }
    if (a->kind == guard::AccessKind::kDenied) {
      EXPECT_EQ(a->persons[0], PersonId(201));
    }
  }
  EXPECT_EQ(kinds, (std::vector<guard::AccessKind>{guard::AccessKind::kRead, guard::AccessKind::kReveal,
                                                   guard::AccessKind::kDenied, guard::AccessKind::kList,
                                                   guard::AccessKind::kSearch}));
}

TEST(GuardAccessOfTest, EntriesWrittenBeforeNumbersStillReplay) {
  // Before audit format 2 the API wrote the page as a details string.
  audit::Event e;
  e.kind = audit::EventKind::kRead;
  e.time = 1'760'000'000'000'000;
  e.account = AccountId(5);
  e.persons = {PersonId(1), PersonId(2)};
  e.decision = "allow";
  e.details = {{"kind", "list"}, {"query", "caseload"}, {"page", "3"}};
  auto a = GuardAccessOf(e);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->kind, guard::AccessKind::kList);
  EXPECT_EQ(a->page, 2);
  // Now: numbers.page wins.
  e.details.erase("page");
  e.numbers["page"] = 7;
  a = GuardAccessOf(e);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->page, 6);
}

TEST(ParseIsoTimeTest, DatesAndUtcOrOffsetTimes) {
  EXPECT_EQ(ParseIsoTime("1970-01-02"), 86'400'000'000LL);
  EXPECT_EQ(ParseIsoTime("2025-10-09T08:53:20Z"), 1'760'000'000'000'000LL);
  EXPECT_EQ(ParseIsoTime("2025-10-09T10:53:20+02:00"), 1'760'000'000'000'000LL);
  EXPECT_EQ(ParseIsoTime("2025-10-09T08:53Z"), 1'759'999'980'000'000LL);
  for (const char* bad : {"", "2025-10-9", "2025-02-30", "2025-10-09T24:00:00Z", "2025-10-09T08:53:20",
                          "2025-10-09T08:53:20+2", "2025-10-09T08:53:20Zjunk", "yesterday", "2025-10-09 08"})
    EXPECT_FALSE(ParseIsoTime(bad)) << bad;
}

}  // namespace
}  // namespace cloison::api

namespace cloison::api {
namespace {

TEST_F(GuardApiTest, OpenApiDescribesStepUpAndAlerts) {
  const nlohmann::json doc = J(Call("GET", "/openapi.json"));
  ASSERT_TRUE(doc.is_object());
  EXPECT_TRUE(doc["paths"]["/v1/sessions/step-up"].contains("post"));
  EXPECT_TRUE(doc["paths"]["/v1/alerts"].contains("get"));
  const std::string codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["description"];
  for (const char* c : {"guard_throttled", "step_up_required", "account_suspended", "step_up_unavailable"})
    EXPECT_NE(codes.find(c), std::string::npos) << c;
}

}  // namespace
}  // namespace cloison::api
