// The API end to end over HTTPS: the real api::Server on 127.0.0.1 (port 0,
// a self-signed certificate from crypto/x509.h) in front of the shared
// fixture's Handler, driven by a verifying TLS client (https_client.h).
// Every fixture helper (Login, LoginMfa, Call) goes over the network, so
// the same statements the Handler tests make are checked here through TLS,
// Beast's parsing and the socket's peer address: each role's allowed and
// denied reads, field release per purpose, reveal with and without a
// justification, quotas reaching 429, suspension refused at once, a
// technical account outside its network, and every endpoint group once.
// Every answer is also checked on the way (see SetUp): never a transport
// failure or a 5xx, `X-Content-Type-Options: nosniff`, and every error in
// the JSON error shape.
//
// The bad-input corpus over HTTPS is bad_input_test.cc.
#include <set>
#include <string>
#include <vector>

#include "api/server.h"
#include "api_fixture.h"
#include "audit/merkle.h"
#include "crypto/totp.h"
#include "crypto/x509.h"
#include "https_client.h"

namespace cloison::api {
namespace {

using nlohmann::json;

constexpr const char* kWhy = "Dossier de retraite: vérification de l'identité demandée par la CARSAT";
constexpr const char* kNewNir = "204056712304560";  // valid key

// The field names `rule_id` of the default policy releases without a reveal.
std::set<std::string> RuleFields(const std::string& rule_id) {
  const policy::Policy& pol = policy::Policy::Default();
  std::set<std::string> out;
  for (const policy::Rule& ru : pol.rules())
    if (ru.id == rule_id)
      for (size_t i = 0; i < pol.catalog().size(); ++i)
        if (ru.fields.has(i)) out.insert(pol.catalog().at(i).name);
  EXPECT_FALSE(out.empty()) << "no rule " << rule_id;
  return out;
}

std::set<std::string> Keys(const json& object) {
  std::set<std::string> out;
  if (object.is_object())
    for (const auto& [k, v] : object.items()) out.insert(k);
  return out;
}

std::set<int64_t> Ids(const json& arr) {
  std::set<int64_t> out;
  if (arr.is_array())
    for (const auto& e : arr) out.insert(e["id"].get<int64_t>());
  return out;
}

// The value of header `name` (lower case, as HttpsClient gives them), or "".
std::string HeaderOf(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

audit::Hash FromHex(const std::string& hex) {
  audit::Hash h{};
  for (size_t i = 0; i < h.size() && 2 * i + 1 < hex.size(); ++i)
    h[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return h;
}
std::vector<audit::Hash> Hashes(const json& arr) {
  std::vector<audit::Hash> out;
  for (const auto& x : arr) out.push_back(FromHex(x.get<std::string>()));
  return out;
}

// The shared fixture plus a partner side and privileged accounts, served
// over HTTPS:
//   structure 5 OF-67-001 (training organisation), formation 1, session 1
//   (2025-11-03..2026-03-31, running); person 105 (DURAND, ML-67-003) whose
//   referent is `counsellor`; orientation 1: 101 -> session 1, proposed.
//   accounts: partner (partner_user, OF-67-001), am.ml67 (access manager,
//   ML-67-003), so.grandest (security officer, DR-GE), so.national
//   (security officer, FT-DG), auditor (auditor, FT-DG); the last four TOTP.
class HttpsIntegrationTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    if (HasFatalFailure()) return;
    AddPartnerSide();
    if (HasFatalFailure()) return;
    am_ = AddPrivileged("am.ml67", 3, {Role::kAccessManager});
    so_region_ = AddPrivileged("so.grandest", 2, {Role::kSecurityOfficer});
    AddPrivileged("so.national", 1, {Role::kSecurityOfficer});
    AddPrivileged("auditor", 1, {Role::kAuditor});
    RebuildIndexAndHandler();
    if (HasFatalFailure()) return;

    auto pair = crypto::GenerateSelfSigned();
    ASSERT_TRUE(pair.ok()) << pair.status();
    cert_ = pair->cert_pem;
    key_ = std::move(pair->key_pem);
    StartServer(0);
    if (HasFatalFailure()) return;
    auto client = HttpsClient::Connect(server_->port(), cert_);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
    transport_ = [this](const Request& r) { return SendChecked(r); };
  }

  void TearDown() override {
    transport_ = nullptr;
    client_.reset();
    if (server_) server_->Stop();
    server_.reset();
    ApiFixture::TearDown();
  }

  void StartServer(uint16_t port) {
    ServerOptions o;
    o.port = port;
    o.cert_pem = cert_;
    o.key_pem = key_;
    o.threads = 2;
    auto s = Server::Create(*handler_, std::move(o));
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    server_->Start();
  }

  // Every answer, whatever the test: a real HTTP answer (status 0 is the
  // client's transport failure), never a 5xx, nosniff, and errors in the
  // stable JSON shape.
  Response SendChecked(const Request& r) {
    Response res = client_->Send(r);
    SCOPED_TRACE(r.method + " " + r.target.substr(0, 80));
    EXPECT_NE(res.status, 0) << res.body;
    EXPECT_LT(res.status, 500) << res.body;
    EXPECT_EQ(HeaderOf(res, "x-content-type-options"), "nosniff");
    if (res.status >= 400) {
      ++errors_seen_;
      EXPECT_EQ(res.content_type, "application/json");
      ExpectError(res, res.status);
    }
    return res;
  }

  void AddPartnerSide() {
    Structure of;
    of.id = StructureId(5);
    of.kind = StructureKind::kTrainingOrganisation;
    of.code = "OF-67-001";
    of.name = of.code;
    ASSERT_TRUE(store_->UpsertStructure(of).ok());
    Formation f;
    f.id = FormationId(1);
    f.organisation = StructureId(5);
    f.code = "F-1";
    f.title = "Développeur web";
    f.domain = "numérique";
    ASSERT_TRUE(store_->UpsertFormation(f).ok());
    TrainingSession s;
    s.id = TrainingSessionId(1);
    s.formation = FormationId(1);
    s.code = "S-1";
    s.start = *Date::Parse("2025-11-03");
    s.end = *Date::Parse("2026-03-31");
    s.place = "Strasbourg";
    ASSERT_TRUE(store_->UpsertTrainingSession(s).ok());

    const FieldCatalog& cat = FieldCatalog::Default();
    Person p;
    p.id = PersonId(105);
    p.referent_structure = StructureId(3);
    p.referent_counsellor = counsellor_;
    p.fields.assign(cat.size(), "");
    p.fields[*cat.IndexOf("nom")] = "DURAND";
    p.fields[*cat.IndexOf("prenom")] = "Jean";
    p.fields[*cat.IndexOf("sexe")] = "M";
    p.fields[*cat.IndexOf("date_naissance")] = "2003-01-15";
    p.fields[*cat.IndexOf("ft_id")] = "20000001050";
    p.fields[*cat.IndexOf("date_inscription")] = "2025-01-06";
    p.fields[*cat.IndexOf("statut")] = "en_accompagnement";
    auto up = store_->UpsertPersons(std::vector<Person>{p});
    ASSERT_TRUE(up.ok()) << up.status();

    Orientation o;
    o.id = OrientationId(1);
    o.person = PersonId(101);
    o.session = TrainingSessionId(1);
    o.counsellor = counsellor_;
    o.proposed_on = *Date::Parse("2025-10-01");
    ASSERT_TRUE(store_->PutOrientations(std::vector<Orientation>{o}).ok());
    partner_ = AddHuman("partner", 5, 200, {Role::kPartnerUser});
  }

  // A relation index that knows the partner side, and a Handler over it
  // wired like the fixture's (before the server takes it).

  Response Get(const std::string& target, const std::string& token) { return Call("GET", target, "", Bearer(token)); }
  Response Post(const std::string& target, const json& body, const std::string& token) {
    return Call("POST", target, body.dump(), Bearer(token));
  }

  // The latest audit entry of `kind`.
  std::optional<audit::Event> LastEvent(audit::EventKind kind) {
    std::optional<audit::Event> out;
    for (audit::Event& e : AuditEvents())
      if (e.kind == kind) out = std::move(e);
    return out;
  }

  std::string cert_;
  crypto::SecretBytes key_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<HttpsClient> client_;
  AccountId partner_, am_, so_region_;
  int errors_seen_ = 0;
};

// ------------------------------------------------------------ role matrix

TEST_F(HttpsIntegrationTest, CounsellorReadsItsStructuresPeopleAndNobodyElse) {
  const std::string t = Login("counsellor");
  ASSERT_EQ(t.rfind("cls_", 0), 0u);
  // 101 is followed by ML-67-003, the counsellor's structure.
  Response r = Get("/v1/people/101?purpose=accompaniment", t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  json j = J(r);
  EXPECT_EQ(j["id"], 101);
  EXPECT_EQ(j["purpose"], "accompaniment");
  EXPECT_EQ(j["rule"], "counsellor-accompaniment");
  EXPECT_EQ(Keys(j["fields"]), RuleFields("counsellor-accompaniment"));
  EXPECT_EQ(j["fields"]["nom"], "MARTIN");
  EXPECT_EQ(j["fields"]["email"], kEmail101);
  // The NIR is under `reveal` for this rule: never released by a plain read.
  EXPECT_FALSE(j["fields"].contains("nir"));
  EXPECT_EQ(r.body.find(kNir101), std::string::npos);
  // Audited with the socket's address: this went over the network.
  std::optional<audit::Event> e = LastEvent(audit::EventKind::kRead);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->account, counsellor_);
  EXPECT_EQ(e->source, "127.0.0.1");
  EXPECT_EQ(e->persons, std::vector<PersonId>{PersonId(101)});
  EXPECT_EQ(std::set<std::string>(e->fields.begin(), e->fields.end()), RuleFields("counsellor-accompaniment"));

  // 201 is followed by ML-67-004: 403 with the policy's reason, no data,
  // recorded as a denial.
  r = Get("/v1/people/201?purpose=accompaniment", t);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_relation");
  EXPECT_EQ(r.body.find("MARTIN"), std::string::npos);
  e = LastEvent(audit::EventKind::kDenial);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->reason, "no_relation");
  EXPECT_EQ(e->persons, std::vector<PersonId>{PersonId(201)});
  // An unknown id answers exactly like 201 (no existence oracle).
  r = Get("/v1/people/999999?purpose=accompaniment", t);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_relation");

  // Purposes.
  ExpectError(Get("/v1/people/101?purpose=nonsense", t), 400, "unknown_purpose");
  ExpectError(Get("/v1/people/101", t), 400, "invalid_parameter");
  ExpectError(Get("/v1/people/101?purpose=statistics", t), 400, "invalid_parameter");

  // Credentials.
  r = Call("GET", "/v1/people/101?purpose=accompaniment");
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(HeaderOf(r, "www-authenticate"), "Bearer");
  ExpectError(Get("/v1/people/101?purpose=accompaniment", "cls_forged"), 401, "unauthenticated");
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "", {{"authorization", "Basic abc"}}), 401,
              "unauthenticated");
}

TEST_F(HttpsIntegrationTest, PartnerReadsOnlyItsCandidatesForTrainingPurposes) {
  const std::string t = Login("partner");
  // 101 is oriented (proposed) to a session of its organisation.
  Response r = Get("/v1/people/101?purpose=training_orientation", t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["rule"], "partner-orientation");
  EXPECT_EQ(Keys(J(r)["fields"]), (std::set<std::string>{"nom", "prenom", "commune"}));
  EXPECT_EQ(Keys(J(r)["fields"]), RuleFields("partner-orientation"));
  // Not for the counsellors' purpose; not the enrolment fields while only
  // proposed; nobody it has no candidate relation with; no reveal.
  r = Get("/v1/people/101?purpose=accompaniment", t);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_rule_for_role");
  r = Get("/v1/people/101?purpose=training_enrolment", t);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "orientation_status");
  r = Get("/v1/people/102?purpose=training_orientation", t);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_relation");
  r = Post("/v1/people/101/reveal", json{{"field", "nir"}, {"justification", kWhy}, {"purpose", "training_orientation"}},
           t);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "reveal_not_allowed");
  EXPECT_EQ(r.body.find(kNir101), std::string::npos);
  // Its caseload: its one candidate, with the orientation.
  r = Get("/v1/people/caseload", t);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["total"], 1) << r.body;
  EXPECT_EQ(J(r)["people"][0]["id"], 101);
  EXPECT_EQ(J(r)["people"][0]["purpose"], "training_orientation");
  EXPECT_EQ(J(r)["people"][0]["orientation"]["status"], "proposed");
  // It administers nothing and sees no alerts, exposure or audit proofs.
  ExpectError(Get("/v1/exposure", t), 403, "forbidden");
  ExpectError(Get("/v1/alerts", t), 403, "forbidden");
  ExpectError(Get("/v1/audit/checkpoint", t), 403, "forbidden");
}

TEST_F(HttpsIntegrationTest, ManagingAndAuditingRolesReadNoFile) {
  // Access managers and auditors read no file (separation of duties); a
  // security officer reads only under break-glass, never for accompaniment.
  for (const char* who : {"am.ml67", "auditor"}) {
    SCOPED_TRACE(who);
    const std::string t = LoginMfa(who);
    Response r = Get("/v1/people/101?purpose=accompaniment", t);
    ExpectError(r, 403, "forbidden");
    EXPECT_EQ(J(r)["error"]["reason"], "role_cannot_read");
    EXPECT_EQ(r.body.find("MARTIN"), std::string::npos);
    ExpectError(Get("/v1/people/caseload", t), 403, "forbidden");
    ExpectError(Get("/v1/people/search?q=ma&purpose=accompaniment", t), 403, "forbidden");
  }
  const std::string so = LoginMfa("so.grandest");
  Response r = Get("/v1/people/101?purpose=accompaniment", so);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_rule_for_role");

  // What an access manager may do instead: see and manage its structure's accounts.
  const std::string am = LoginMfa("am.ml67");
  r = Get("/v1/accounts", am);
  ASSERT_EQ(r.status, 200) << r.body;
  std::set<std::string> names;
  const json listed = J(r);  // a range-for over a temporary's member would dangle
  for (const auto& a : listed["accounts"]) names.insert(a["username"].get<std::string>());
  EXPECT_TRUE(names.count("counsellor")) << r.body;
  EXPECT_FALSE(names.count("so.national")) << r.body;  // above it
  // ... which a counsellor may not: itself only.
  const std::string c = Login("counsellor");
  r = Get("/v1/accounts", c);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["count"], 1);
  EXPECT_EQ(J(r)["accounts"][0]["username"], "counsellor");
  ExpectError(Get(StrCat("/v1/accounts/", am_.value()), c), 403);
}

// ------------------------------------------------- field release per purpose

TEST_F(HttpsIntegrationTest, TheSamePersonReadForTwoPurposesReleasesDifferentFields) {
  const std::string t = Login("counsellor");
  Response acc = Get("/v1/people/101?purpose=accompaniment", t);
  Response orient = Get("/v1/people/101?purpose=training_orientation", t);
  ASSERT_EQ(acc.status, 200) << acc.body;
  ASSERT_EQ(orient.status, 200) << orient.body;
  EXPECT_EQ(J(orient)["rule"], "counsellor-training-orientation");
  const std::set<std::string> a = Keys(J(acc)["fields"]), o = Keys(J(orient)["fields"]);
  EXPECT_EQ(a, RuleFields("counsellor-accompaniment"));
  // config/policy.toml, rule counsellor-training-orientation.
  EXPECT_EQ(o, (std::set<std::string>{"nom", "prenom", "sexe", "date_naissance", "ft_id", "commune", "statut"}));
  EXPECT_NE(a, o);
  // Contact details serve the accompaniment, not an orientation.
  EXPECT_TRUE(a.count("email"));
  EXPECT_FALSE(o.count("email"));
  EXPECT_EQ(orient.body.find(kEmail101), std::string::npos);
  EXPECT_FALSE(o.count("nir"));
  // Each read audited with its purpose and its own field names.
  std::vector<audit::Event> reads;
  for (const audit::Event& e : AuditEvents())
    if (e.kind == audit::EventKind::kRead && e.account == counsellor_) reads.push_back(e);
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].purpose, "accompaniment");
  EXPECT_EQ(std::set<std::string>(reads[0].fields.begin(), reads[0].fields.end()), a);
  EXPECT_EQ(reads[1].purpose, "training_orientation");
  EXPECT_EQ(std::set<std::string>(reads[1].fields.begin(), reads[1].fields.end()), o);
}

// ----------------------------------------------------------------- reveal

TEST_F(HttpsIntegrationTest, RevealNeedsAJustificationAndIsAudited) {
  const std::string t = Login("counsellor");
  const uint64_t before = audit_->size();
  ExpectError(Post("/v1/people/101/reveal", json{{"field", "nir"}}, t), 400, "justification_required");
  ExpectError(Post("/v1/people/101/reveal", json{{"field", "nir"}, {"justification", "   "}}, t), 400,
              "justification_required");
  EXPECT_EQ(audit_->size(), before);  // refused before any decision
  // Shorter than the policy's min_justification_chars (20): a recorded denial.
  Response r = Post("/v1/people/101/reveal", json{{"field", "nir"}, {"justification", "because"}}, t);
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "justification_required");
  EXPECT_EQ(AuditEvents().back().kind, audit::EventKind::kDenial);
  EXPECT_EQ(r.body.find(kNir101), std::string::npos);

  r = Post("/v1/people/101/reveal", json{{"field", "nir"}, {"justification", kWhy}}, t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  EXPECT_EQ(J(r)["fields"]["nir"], kNir101);
  EXPECT_EQ(J(r)["revealed"], json::array({"nir"}));
  const audit::Event e = AuditEvents().back();
  EXPECT_EQ(e.kind, audit::EventKind::kRead);
  EXPECT_EQ(e.account, counsellor_);
  EXPECT_EQ(e.source, "127.0.0.1");
  EXPECT_EQ(e.justification, kWhy);
  EXPECT_EQ(e.persons, std::vector<PersonId>{PersonId(101)});
  EXPECT_NE(std::find(e.fields.begin(), e.fields.end(), "nir"), e.fields.end());
  // The log names the field, never its value.
  for (uint64_t i = 0; i < audit_->size(); ++i) EXPECT_EQ(audit_->ReadEntry(i)->find(kNir101), std::string::npos);
  // A field that is not in the catalog.
  ExpectError(Post("/v1/people/101/reveal", json{{"field", "nope"}, {"justification", kWhy}}, t), 400,
              "invalid_parameter");
}

// ------------------------------------------------------------------ quota

TEST_F(HttpsIntegrationTest, QuotaReaches429WithRetryAfter) {
  const std::string t = Login("quota3");  // iam daily quota 3 tightens the policy's 250
  for (int id : {101, 102, 103})
    ASSERT_EQ(Get(StrCat("/v1/people/", id, "?purpose=accompaniment"), t).status, 200) << id;
  ASSERT_EQ(Get("/v1/people/101?purpose=accompaniment", t).status, 200);  // already counted: free
  const uint64_t before = audit_->size();
  Response r = Get("/v1/people/104?purpose=accompaniment", t);
  ExpectError(r, 429, "quota_exceeded");
  const json err = J(r)["error"];
  EXPECT_EQ(err["window"], "day");
  EXPECT_EQ(err["limit"], 3);
  EXPECT_TRUE(err["reset_at"].is_string());
  EXPECT_EQ(r.body.find("MARTIN"), std::string::npos);
  const std::string retry = HeaderOf(r, "retry-after");
  ASSERT_FALSE(retry.empty()) << "no Retry-After";
  EXPECT_GT(std::stoll(retry), 0);
  EXPECT_EQ(std::stoll(retry), err["retry_after_seconds"].get<int64_t>());
  ASSERT_EQ(audit_->size(), before + 1);
  const audit::Event e = AuditEvents().back();
  EXPECT_EQ(e.kind, audit::EventKind::kGuardAction);
  EXPECT_EQ(e.reason, "quota_per_day");
  // Still refused on the next distinct person; the metric counts both.
  ExpectError(Get("/v1/people/105?purpose=accompaniment", t), 429, "quota_exceeded");
  EXPECT_NE(Call("GET", "/metrics").body.find("cloison_quota_refusals_total 2\n"), std::string::npos);
}

// ------------------------------------------------------------- suspension

TEST_F(HttpsIntegrationTest, SuspendedAccountIsRefusedAtOnceUntilReinstated) {
  const std::string t = Login("suspended");
  ASSERT_EQ(Get("/v1/people/101?purpose=accompaniment", t).status, 200);
  const std::string am = LoginMfa("am.ml67");
  Response r = Post(StrCat("/v1/accounts/", suspended_.value(), "/suspend"), json{{"reason", "phishing suspected"}}, am);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["account"]["status"], "suspended");
  // The very next request with its token: 401, nothing decided or released.
  const uint64_t before = audit_->size();
  r = Get("/v1/people/101?purpose=accompaniment", t);
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(r.body.find("MARTIN"), std::string::npos);
  EXPECT_EQ(audit_->size(), before);
  ExpectError(Get("/v1/sessions", t), 401, "unauthenticated");
  // A new login is refused, like a wrong password.
  Response login = Call("POST", "/v1/sessions", json{{"username", "suspended"}, {"password", kPassword}}.dump());
  ExpectError(login, 401, "unauthenticated");
  EXPECT_EQ(login.body.find("token"), std::string::npos);

  // Reinstating is a change request; nothing changes until an independent
  // security officer above approves it.
  r = Post(StrCat("/v1/accounts/", suspended_.value(), "/reinstate"), json{{"reason", "cleared"}}, am);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(J(r)["applied"], false);
  const int64_t rid = J(r)["change_request"]["id"];
  ExpectError(Call("POST", "/v1/sessions", json{{"username", "suspended"}, {"password", kPassword}}.dump()), 401);
  ExpectError(Post(StrCat("/v1/change-requests/", rid, "/approve"), json::object(), am), 403, "self_approval");
  r = Post(StrCat("/v1/change-requests/", rid, "/approve"), json{{"note", "checked"}}, LoginMfa("so.grandest"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["change_request"]["status"], "approved");
  // The old session stays revoked; a new login works.
  ExpectError(Get("/v1/sessions", t), 401, "unauthenticated");
  const std::string again = Login("suspended");
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(Get("/v1/people/101?purpose=accompaniment", again).status, 200);
}

// ------------------------------------------------------ technical account

TEST_F(HttpsIntegrationTest, TechnicalAccountFromOutsideItsNetworkIsRefused) {
  // `tech` may call from 10.1.0.0/16 only; over loopback the server sees
  // 127.0.0.1, whatever the caller claims.
  Response r = Call("GET", "/v1/people/101?purpose=accompaniment", "", {{"x-api-key", kApiKey}}, "10.1.2.3");
  ExpectError(r, 401, "unauthenticated");
  const Response wrong_key = Call("GET", "/v1/people/101?purpose=accompaniment", "", {{"x-api-key", "clk_wrong"}});
  EXPECT_EQ(r.body, wrong_key.body);  // no oracle: like a wrong key
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "",
                   {{"x-api-key", kApiKey}, {"x-forwarded-for", "10.1.2.3"}, {"x-real-ip", "10.1.2.3"}}),
              401, "unauthenticated");
  ExpectError(Call("GET", "/v1/sessions", "", {{"x-api-key", kApiKey}}), 401, "unauthenticated");
  // Both credentials at once: 400.
  ExpectError(Call("GET", "/v1/sessions", "", {{"authorization", "Bearer x"}, {"x-api-key", kApiKey}}), 400,
              "bad_request");
}

// ------------------------------------------------ every endpoint group once

TEST_F(HttpsIntegrationTest, HealthMetricsAndOpenApiNeedNoCredentials) {
  for (const char* path : {"/v1/healthz", "/healthz"}) {
    Response r = Call("GET", path);
    ASSERT_EQ(r.status, 200) << path << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(J(r)["status"], "ok");
    EXPECT_EQ(J(r)["audit_entries"], audit_->size());
  }
  Response r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u) << r.content_type;
  EXPECT_NE(r.body.find("cloison_http_requests_total{route=\"/v1/healthz\",status=\"200\"} 1\n"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("cloison_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"), std::string::npos);
  r = Call("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  const json doc = J(r);
  ASSERT_TRUE(doc.is_object()) << r.body.substr(0, 200);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  // Every route of docs/api.md's table is described.
  for (const char* p :
       {"/v1/healthz", "/healthz", "/metrics", "/openapi.json", "/v1/sessions", "/v1/sessions/current", "/v1/sessions/step-up",
        "/v1/alerts", "/v1/people/{id}", "/v1/people/{id}/reveal", "/v1/people/caseload", "/v1/people/search",
        "/v1/people", "/v1/orientations", "/v1/orientations/{id}/status", "/v1/orientations/{id}/confirm-enrolment",
        "/v1/accounts", "/v1/accounts/{id}", "/v1/accounts/{id}/suspend", "/v1/accounts/{id}/reinstate",
        "/v1/change-requests", "/v1/change-requests/{id}", "/v1/change-requests/{id}/approve",
        "/v1/change-requests/{id}/reject", "/v1/exposure", "/v1/audit/checkpoint", "/v1/audit/proofs/inclusion",
        "/v1/audit/proofs/consistency"})
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
}

TEST_F(HttpsIntegrationTest, SessionsLoginListStepUpLogout) {
  Response r = Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kPassword}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  EXPECT_EQ(J(r)["token_type"], "Bearer");
  EXPECT_EQ(J(r)["account_id"], counsellor_.value());
  const std::string t = J(r)["token"];
  // Failures are uniform.
  Response bad_pw = Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", "wrong"}}.dump());
  Response no_user = Call("POST", "/v1/sessions", json{{"username", "nobody"}, {"password", "wrong"}}.dump());
  ExpectError(bad_pw, 401, "unauthenticated");
  EXPECT_EQ(bad_pw.body, no_user.body);

  r = Get("/v1/sessions", t);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["sessions"].size(), 1u);
  EXPECT_TRUE(J(r)["sessions"][0]["current"].get<bool>());
  EXPECT_EQ(J(r)["sessions"][0]["source_address"], "127.0.0.1");
  EXPECT_FALSE(J(r)["sessions"][0]["mfa"].get<bool>());
  EXPECT_EQ(r.body.find(t), std::string::npos);  // never echoed

  // Step-up: a counsellor without TOTP cannot; a TOTP account can, once per code.
  ExpectError(Post("/v1/sessions/step-up", json{{"totp", "123456"}}, t), 403, "step_up_unavailable");
  const std::string so = LoginMfa("so.grandest");
  clock_.AdvanceSeconds(30);
  const std::string code = *crypto::TotpGenerate(totp_secrets_.at("so.grandest"), clock_.NowSeconds());
  r = Post("/v1/sessions/step-up", json{{"totp", code}}, so);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["step_up_seconds"], 900);
  EXPECT_TRUE(J(r)["stepped_up_until"].is_string());
  r = Post("/v1/sessions/step-up", json{{"totp", code}}, so);  // replayed
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(HeaderOf(r, "www-authenticate"), "Bearer error=\"insufficient_user_authentication\"");
  ExpectError(Post("/v1/sessions/step-up", json::object(), so), 400, "invalid_parameter");

  // Logout: 204 without a body, then the token is dead.
  r = Call("DELETE", "/v1/sessions/current", "", Bearer(t));
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(r.body.empty());
  ExpectError(Get("/v1/sessions", t), 401, "unauthenticated");
  ExpectError(Call("DELETE", "/v1/sessions/current", "", {{"x-api-key", kApiKey}}), 401, "unauthenticated");
}

TEST_F(HttpsIntegrationTest, PeopleCaseloadSearchCreateAndUpdate) {
  const std::string t = Login("counsellor");
  // Caseload: the people whose referent counsellor it is (105), minimal fields.
  Response r = Get("/v1/people/caseload", t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["total"], 1);
  EXPECT_EQ(Ids(J(r)["people"]), std::set<int64_t>{105});
  EXPECT_EQ(Keys(J(r)["people"][0]), (std::set<std::string>{"id", "nom", "prenom", "purpose"}));
  ExpectError(Get("/v1/people/caseload?page_size=51", t), 400, "invalid_parameter");  // counsellor cap: 50
  // Search: scoped to its structure (201, also MARTIN, is not there).
  r = Get("/v1/people/search?q=ma&purpose=accompaniment", t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["query"], "nom:ma");
  EXPECT_EQ(Ids(J(r)["results"]), (std::set<int64_t>{101, 102, 103, 104}));
  EXPECT_EQ(J(r)["truncated"], false);
  // An exact France Travail id goes through the blind index.
  r = Get("/v1/people/search?purpose=accompaniment&q=20000001050", t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["query"], "ft_id");  // never the value
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{105});
  EXPECT_EQ(r.body.find("20000001050"), std::string::npos);
  ExpectError(Get("/v1/people/search?q=m%2A&purpose=accompaniment", t), 400, "invalid_parameter");
  // Register a person: followed at once, the caller its referent.
  const json person = {{"nom", "Nouvel"},       {"prenom", "Inès"},          {"sexe", "F"},
                       {"date_naissance", "2004-05-01"}, {"ft_id", "30000000001"}, {"date_inscription", "2025-10-09"},
                       {"statut", "inscrit"},   {"nir", kNewNir}};
  r = Post("/v1/people", person, t);
  ASSERT_EQ(r.status, 201) << r.body;
  const int64_t id = J(r)["id"];
  EXPECT_EQ(J(r)["referent_counsellor"], counsellor_.value());
  EXPECT_EQ(HeaderOf(r, "location"), StrCat("/v1/people/", id));
  ExpectError(Post("/v1/people", person, t), 409, "already_exists");
  // Update it, then read it back.
  r = Call("PATCH", StrCat("/v1/people/", id), json{{"commune", "Illkirch"}}.dump(), Bearer(t));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["updated"], json::array({"commune"}));
  r = Get(StrCat("/v1/people/", id, "?purpose=accompaniment"), t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["fields"]["prenom"], "Inès");
  EXPECT_EQ(J(r)["fields"]["commune"], "Illkirch");
  EXPECT_EQ(Ids(J(Get("/v1/people/caseload", t))["people"]), (std::set<int64_t>{105, id}));
  // Out of scope: like a read.
  r = Call("PATCH", "/v1/people/201", json{{"commune", "Sélestat"}}.dump(), Bearer(t));
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_relation");
}

TEST_F(HttpsIntegrationTest, OrientationLifecycleBetweenCounsellorAndPartner) {
  const std::string t = Login("counsellor");
  const std::string pt = Login("partner");
  Response r = Get("/v1/orientations?person=101", t);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["orientations"].size(), 1u);
  EXPECT_EQ(J(r)["orientations"][0]["status"], "proposed");
  // 102 is not the partner's candidate yet.
  ExpectError(Get("/v1/people/102?purpose=training_orientation", pt), 403, "forbidden");
  r = Post("/v1/orientations", json{{"person", 102}, {"session", 1}}, t);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(J(r)["status"], "proposed");
  EXPECT_EQ(J(r)["session_code"], "S-1");
  const int64_t oid = J(r)["id"];
  // The relation index knows it at once.
  EXPECT_EQ(Get("/v1/people/102?purpose=training_orientation", pt).status, 200);
  EXPECT_EQ(Ids(J(Get("/v1/people/caseload", pt))["people"]), (std::set<int64_t>{101, 102}));
  ExpectError(Post("/v1/orientations", json{{"person", 102}, {"session", 1}}, t), 409, "already_exists");
  ExpectError(Post("/v1/orientations", json{{"person", 201}, {"session", 1}}, t), 403, "forbidden");
  ExpectError(Post("/v1/orientations", json{{"person", 103}, {"session", 99}}, t), 404, "not_found");
  // proposed -> accepted (counsellor) -> enrolled (the organisation).
  const std::string status = StrCat("/v1/orientations/", oid, "/status");
  r = Post(status, json{{"status", "finished"}}, t);
  ExpectError(r, 409, "failed_precondition");
  EXPECT_NE(J(r)["error"]["message"].get<std::string>().find("accepted or refused"), std::string::npos) << r.body;
  r = Post(status, json{{"status", "accepted"}}, t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["decided_on"], "2025-10-09");
  ExpectError(Call("POST", StrCat("/v1/orientations/", oid, "/confirm-enrolment"), "", Bearer(t)), 403, "forbidden");
  r = Call("POST", StrCat("/v1/orientations/", oid, "/confirm-enrolment"), "", Bearer(pt));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["status"], "enrolled");
  // Enrolled: the partner now reads the enrolment fields, not the orientation's.
  r = Get("/v1/people/102?purpose=training_enrolment", pt);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Keys(J(r)["fields"]), RuleFields("partner-enrolment"));
  EXPECT_TRUE(J(r)["fields"].contains("email"));
  r = Get("/v1/orientations", pt);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["total"], 2);
}

TEST_F(HttpsIntegrationTest, AccountsAndChangeRequestsUnderDualControl) {
  const std::string am = LoginMfa("am.ml67");
  // A plain counsellor account: active at once, its password shown once.
  Response r = Post("/v1/accounts", json{{"username", "camille.martin"}, {"structure", "ML-67-003"}, {"reason", "new hire"}},
                    am);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(HeaderOf(r, "cache-control"), "no-store");
  EXPECT_EQ(J(r)["status"], "active");
  const int64_t id = J(r)["id"];
  EXPECT_EQ(HeaderOf(r, "location"), StrCat("/v1/accounts/", id));
  const std::string password = J(r)["initial_password"];
  ASSERT_FALSE(password.empty());
  r = Call("POST", "/v1/sessions", json{{"username", "camille.martin"}, {"password", password}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  r = Get(StrCat("/v1/accounts/", id), am);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["username"], "camille.martin");
  EXPECT_EQ(J(r)["structure"], "ML-67-003");
  EXPECT_EQ(J(r)["created_by"], am_.value());
  ExpectError(Post("/v1/accounts", json{{"username", "camille.martin"}, {"structure", "ML-67-003"}, {"reason", "again"}},
                   am),
              409, "already_exists");
  ExpectError(Post("/v1/accounts", json{{"username", "elsewhere"}, {"structure", "ML-67-004"}, {"reason", "x"}}, am), 403,
              "not_account_manager");

  // Raising a quota is a request; a regional security officer approves it.
  r = Post("/v1/change-requests",
           json{{"kind", "raise_quota"}, {"account", counsellor_.value()}, {"quota", 300}, {"reason", "more"}}, am);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(J(r)["applied"], false);
  const int64_t raise = J(r)["change_request"]["id"];
  EXPECT_EQ(HeaderOf(r, "location"), StrCat("/v1/change-requests/", raise));
  r = Post("/v1/change-requests",
           json{{"kind", "grant_role"}, {"account", counsellor_.value()}, {"role", "partner_user"}, {"reason", "x"}}, am);
  ASSERT_EQ(r.status, 202) << r.body;
  const int64_t grant = J(r)["change_request"]["id"];
  const std::string region = LoginMfa("so.grandest");
  r = Get("/v1/change-requests?status=pending", region);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["count"], 2);
  ExpectError(Post(StrCat("/v1/change-requests/", raise, "/approve"), json::object(), am), 403, "self_approval");
  r = Post(StrCat("/v1/change-requests/", raise, "/approve"), json{{"note", "ok"}}, region);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["change_request"]["status"], "approved");
  EXPECT_EQ(J(Get(StrCat("/v1/accounts/", counsellor_.value()), am))["daily_read_quota"], 300);
  ExpectError(Post(StrCat("/v1/change-requests/", raise, "/approve"), json::object(), region), 409,
              "failed_precondition");
  // The other one rejected, with a reason; its history shows both events.
  ExpectError(Post(StrCat("/v1/change-requests/", grant, "/reject"), json::object(), region), 400, "invalid_parameter");
  r = Post(StrCat("/v1/change-requests/", grant, "/reject"), json{{"reason", "not justified"}}, region);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["change_request"]["status"], "rejected");
  r = Get(StrCat("/v1/change-requests/", grant), am);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["status"], "rejected");
  EXPECT_EQ(J(r)["decision_note"], "not justified");
  EXPECT_GE(J(r)["history"].size(), 2u);
  ExpectError(Get("/v1/change-requests/999999", region), 404, "not_found");
  // API keys administer nothing (and here, from loopback, do not even authenticate).
  ExpectError(Call("GET", "/v1/accounts", "", {{"x-api-key", kApiKey}}), 401, "unauthenticated");
}

TEST_F(HttpsIntegrationTest, ExposureAndAlertsForSecurityOfficers) {
  const std::string so = LoginMfa("so.national");
  Response r = Get("/v1/exposure", so);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["as_of"], "2025-10-09");
  EXPECT_EQ(J(r)["people_total"], 6);  // 101-104, 105, 201
  ASSERT_FALSE(J(r)["accounts"].empty());
  r = Get("/v1/exposure?account=counsellor", so);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["accounts"].size(), 1u);
  EXPECT_EQ(J(r)["accounts"][0]["account"], "counsellor");
  EXPECT_EQ(J(r)["accounts"][0]["direct_people"], 5);  // 101-105, followed by ML-67-003
  ExpectError(Get("/v1/exposure?top=abc", so), 400, "invalid_parameter");
  ExpectError(Get("/v1/exposure", Login("counsellor")), 403, "forbidden");
  ExpectError(Get("/v1/exposure", LoginMfa("am.ml67")), 403, "forbidden");

  // Alerts: security officers and DPOs only; this server runs without the
  // guard, which docs/api.md answers with 404.
  r = Get("/v1/alerts", so);
  ExpectError(r, 404, "not_found");
  EXPECT_NE(J(r)["error"]["message"].get<std::string>().find("without the guard"), std::string::npos) << r.body;
  ExpectError(Get("/v1/alerts?since=yesterday", so), 400, "invalid_parameter");
  ExpectError(Get("/v1/alerts", LoginMfa("auditor")), 403, "forbidden");
  ExpectError(Get("/v1/alerts", Login("counsellor")), 403, "forbidden");
}

TEST_F(HttpsIntegrationTest, AuditCheckpointAndProofsVerifyForAnAuditor) {
  const std::string c = Login("counsellor");
  for (int id : {101, 102, 201})
    EXPECT_EQ(Get(StrCat("/v1/people/", id, "?purpose=accompaniment"), c).status, id == 201 ? 403 : 200);
  ExpectError(Get("/v1/audit/checkpoint", c), 403, "forbidden");
  const std::string auditor = LoginMfa("auditor");
  Response r = Get("/v1/audit/checkpoint", auditor);
  ASSERT_EQ(r.status, 200) << r.body;
  const uint64_t size = J(r)["size"];
  EXPECT_EQ(size, audit_->size());
  EXPECT_GE(size, 3u);
  EXPECT_TRUE(J(r)["note"].is_string());
  EXPECT_TRUE(J(r)["verifier_key"].is_string());
  const audit::Hash root = FromHex(J(r)["root"]);

  r = Get(StrCat("/v1/audit/proofs/inclusion?index=1&size=", size), auditor);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(audit::VerifyInclusion(1, size, FromHex(J(r)["leaf_hash"]), Hashes(J(r)["proof"]), root).ok());
  // A proof does not verify against another leaf.
  EXPECT_FALSE(audit::VerifyInclusion(2, size, FromHex(J(r)["leaf_hash"]), Hashes(J(r)["proof"]), root).ok());
  r = Get(StrCat("/v1/audit/proofs/consistency?from=1&to=", size), auditor);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(audit::VerifyConsistency(1, size, FromHex(J(r)["from_root"]), root, Hashes(J(r)["proof"])).ok());
  ExpectError(Get("/v1/audit/proofs/inclusion?index=99999", auditor), 400, "invalid_parameter");
  ExpectError(Get("/v1/audit/proofs/consistency?from=0", auditor), 400, "invalid_parameter");
  // A security officer has verify_audit too.
  EXPECT_EQ(Get("/v1/audit/checkpoint", LoginMfa("so.national")).status, 200);
}

// --------------------------------------------- errors and the connection

TEST_F(HttpsIntegrationTest, ErrorsOverTlsHaveTheJsonShape) {
  const std::string t = Login("counsellor");
  ExpectError(Call("GET", "/v1/nothing"), 404, "not_found");
  Response r = Call("PUT", "/v1/sessions");
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_NE(HeaderOf(r, "allow").find("POST"), std::string::npos) << HeaderOf(r, "allow");
  ExpectError(Call("POST", "/v1/people/101/reveal", "{}", {{"authorization", "Bearer " + t}, {"content-type", "text/plain"}}),
              415, "unsupported_media_type");
  ExpectError(Call("POST", "/v1/people/101/reveal", "{", Bearer(t)), 400, "invalid_json");
  ExpectError(Call("POST", "/v1/people/101/reveal", "[1]", Bearer(t)), 400, "invalid_json");
  ExpectError(Post("/v1/people/101/reveal", json{{"field", "nir"}, {"justification", kWhy}, {"x", 1}}, t), 400,
              "unknown_field");
  ExpectError(Call("POST", "/v1/people/101/reveal", "{\"field\":\"\xff\"}", Bearer(t)), 400, "invalid_utf8");
  ExpectError(Get("/v1/people/abc?purpose=accompaniment", t), 400, "invalid_parameter");
  ExpectError(Get("/v1/people/101?purpose=%zz", t), 400, "bad_request");
  ExpectError(Get("/v1/healthz?" + std::string(3000, 'a'), t), 414, "uri_too_long");
  EXPECT_EQ(client_->connections(), 1);  // all of it on one kept-alive connection
  // Headers over 8 KiB: the server answers 431 and closes; the client opens
  // a new connection for the next request.
  ExpectError(Call("GET", "/v1/healthz", "", {{"x-big", std::string(10000, 'a')}}), 431, "headers_too_large");
  EXPECT_EQ(Call("GET", "/v1/healthz").status, 200);
  EXPECT_EQ(client_->connections(), 2);
  EXPECT_EQ(errors_seen_, 11);  // each one went through SendChecked's shape checks
}

TEST_F(HttpsIntegrationTest, KeepAliveReusesOneConnectionAndReconnectsWhenClosed) {
  const std::string t = Login("counsellor");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Get("/v1/people/101?purpose=accompaniment", t).status, 200);
  EXPECT_EQ(client_->connections(), 1);
  // The client asks to close: the server answers, then closes.
  Response r = Call("GET", "/v1/healthz", "", {{"connection", "close"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(HeaderOf(r, "connection"), "close");
  ASSERT_EQ(Get("/v1/sessions", t).status, 200);
  EXPECT_EQ(client_->connections(), 2);
  // The server restarts on the same port while the client holds a kept-alive
  // connection: the stale connection is noticed and the request sent once more.
  const uint16_t port = server_->port();
  server_->Stop();
  server_.reset();
  StartServer(port);
  ASSERT_NE(server_, nullptr);
  r = Get("/v1/sessions", t);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["sessions"].size(), 1u);
  EXPECT_EQ(client_->connections(), 3);
}

TEST_F(HttpsIntegrationTest, TheClientTrustsOnlyTheGivenCertificate) {
  // Another self-signed certificate as the CA: the handshake fails, so
  // every answer above came from the server holding cert_'s key.
  auto other = crypto::GenerateSelfSigned();
  ASSERT_TRUE(other.ok()) << other.status();
  auto refused = HttpsClient::Connect(server_->port(), other->cert_pem);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  auto garbage = HttpsClient::Connect(server_->port(), "not a certificate");
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument) << garbage.status();
  // The trusted one still works.
  auto again = HttpsClient::Connect(server_->port(), cert_);
  ASSERT_TRUE(again.ok()) << again.status();
  Request r;
  r.method = "GET";
  r.target = "/v1/healthz";
  EXPECT_EQ((*again)->Send(r).status, 200);
}

}  // namespace
}  // namespace cloison::api
