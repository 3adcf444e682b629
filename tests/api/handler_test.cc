// api::Handler without sockets: every route, the read path's order
// (decide -> quota -> durable audit -> store), and bad input of every kind.
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <set>

#include "access/quota.h"
#include "audit/merkle.h"
#include "crypto/totp.h"
#include "api/handler_internal.h"
#include "api_fixture.h"

namespace cloison::api {
namespace {

using nlohmann::json;

// The answer writer's strings against nlohmann's own dump: quotes,
// backslashes, every control character, multi-byte UTF-8, and invalid UTF-8
// (replaced), in fixed cases and in random byte strings.
TEST(AppendJsonStringTest, SameBytesAsNlohmannsDump) {
  std::vector<std::string> cases = {"", "plain", "quote \" and \\ backslash", "tab\tnew\nline\r\b\f",
                                    std::string("nul\0inside", 10), "\x01\x1f\x7f", "Émile Zola, Jérémy", "日本語 🙂",
                                    "\xff\xfe", "trunc\xc3", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 too big",
                                    "\xc0\xaf overlong"};
  std::mt19937 rng(20261203);
  const std::string alphabet = std::string("aZ09 \"\\\n\t\x01\x1f\x7f") + "é🙂" + "\x80\xc3\xff";
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    const int len = static_cast<int>(rng() % 24);
    for (int k = 0; k < len; ++k) s.push_back(alphabet[rng() % alphabet.size()]);
    cases.push_back(s);
  }
  for (const std::string& c : cases) {
    std::string out = "prefix:";
    internal::AppendJsonString(out, c);
    EXPECT_EQ(out, "prefix:" + internal::Dump(json(c))) << json(c).dump(-1, ' ', true, json::error_handler_t::replace);
  }
}

TEST_F(ApiFixture, HealthzMetricsOpenApiNeedNoAuth) {
  Response r = Call("GET", "/v1/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(J(r)["status"], "ok");
  r = Call("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  json doc = J(r);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  EXPECT_TRUE(doc["paths"].contains("/v1/people/{id}"));
  r = Call("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
  EXPECT_NE(r.body.find("cloison_http_requests_total{route=\"/v1/healthz\",status=\"200\"} 1"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("# TYPE cloison_http_request_duration_seconds histogram"), std::string::npos);
}

// HandleAsync (the server's I/O thread): the answer waits for the audit
// entry without the calling thread; the rest runs in the task it posts.
class PostedTasks {
 public:
  Handler::Post Post() {
    return [this](std::function<void()> task) {
      std::lock_guard<std::mutex> l(m_);
      tasks_.push_back(std::move(task));
      cv_.notify_all();
    };
  }
  // Waits for one posted task (from the audit log's syncer) and returns it.
  std::function<void()> Next() {
    std::unique_lock<std::mutex> l(m_);
    EXPECT_TRUE(cv_.wait_for(l, std::chrono::seconds(20), [&] { return !tasks_.empty(); }));
    if (tasks_.empty()) return [] {};
    auto t = std::move(tasks_.front());
    tasks_.erase(tasks_.begin());
    return t;
  }
  size_t pending() {
    std::lock_guard<std::mutex> l(m_);
    return tasks_.size();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> tasks_;
};

TEST_F(ApiFixture, HandleAsyncAnswersAReadLikeHandleOnlyOnceItsEntryIsDurable) {
  const std::string token = Login("counsellor");
  Request req;
  req.method = "GET";
  req.target = "/v1/people/101?purpose=accompaniment";
  req.headers = Bearer(token);
  req.peer = "10.0.0.1";
  ASSERT_TRUE(Handler::AnswersLater(req));
  const Response expected = handler_->Handle(req);
  ASSERT_EQ(expected.status, 200) << expected.body;

  const uint64_t before = audit_->size();
  PostedTasks tasks;
  std::optional<Response> got;
  handler_->HandleAsync(req, tasks.Post(), [&](Response r) { got = std::move(r); });
  std::function<void()> finish = tasks.Next();  // posted by the syncer, once the entry is durable
  EXPECT_FALSE(got.has_value()) << "nothing is answered before the posted task runs";
  EXPECT_EQ(audit_->size(), before + 1) << "the read's entry is durable before the store is read";
  finish();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(J(*got)["fields"], J(expected)["fields"]);
  EXPECT_EQ(AuditEvents().back().kind, audit::EventKind::kRead);

  // A denial waits for its entry too; a bad request is answered at once.
  got.reset();
  req.target = "/v1/people/201?purpose=accompaniment";
  handler_->HandleAsync(req, tasks.Post(), [&](Response r) { got = std::move(r); });
  tasks.Next()();
  ASSERT_TRUE(got.has_value());
  ExpectError(*got, 403, "forbidden");
  got.reset();
  req.target = "/v1/people/101";
  handler_->HandleAsync(req, tasks.Post(), [&](Response r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value());
  ExpectError(*got, 400, "invalid_parameter");
  EXPECT_EQ(tasks.pending(), 0u);
  const std::string m = Call("GET", "/metrics").body;
  EXPECT_NE(m.find(R"(cloison_http_request_duration_seconds_count{route="/v1/people/{id}",status_class="2xx"} 2)"),
            std::string::npos)
      << m;

  // Only people reads are taken.
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/v1/people/101"}, {"GET", "/v1/people/search?q=x"}, {"GET", "/v1/people/101/orientations"},
           {"GET", "/v1/people/"}, {"GET", "/v1/people/1x"}, {"GET", "/v1/sessions"}}) {
    Request other;
    other.method = method;
    other.target = target;
    EXPECT_FALSE(Handler::AnswersLater(other)) << method << " " << target;
  }
}

TEST_F(ApiFixture, MetricsLatencyByRouteAndStatusClassAndTheAuditLogsCounters) {
  const std::string token = Login("counsellor");
  ASSERT_EQ(Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token)).status, 200);
  ASSERT_EQ(Call("GET", "/v1/people/201?purpose=accompaniment", "", Bearer(token)).status, 403);
  ASSERT_EQ(Call("GET", "/v1/people/202?purpose=accompaniment", "", Bearer(token)).status, 403);
  ASSERT_EQ(Call("GET", "/v1/nowhere").status, 404);
  const audit::LogStats stats = audit_->stats();
  const std::string m = Call("GET", "/metrics").body;
  auto has = [&m](const std::string& line) {
    EXPECT_NE(m.find(line + "\n"), std::string::npos) << line << "\n" << m;
  };
  // One histogram per (route pattern, status class); never the raw target.
  has(R"(cloison_http_request_duration_seconds_count{route="/v1/people/{id}",status_class="2xx"} 1)");
  has(R"(cloison_http_request_duration_seconds_count{route="/v1/people/{id}",status_class="4xx"} 2)");
  has(R"(cloison_http_request_duration_seconds_bucket{route="/v1/people/{id}",status_class="4xx",le="+Inf"} 2)");
  has(R"(cloison_http_request_duration_seconds_count{route="/v1/sessions",status_class="2xx"} 1)");
  has(R"(cloison_http_request_duration_seconds_count{route="unmatched",status_class="4xx"} 1)");
  EXPECT_EQ(m.find("/v1/people/101"), std::string::npos);
  // Every histogram's buckets are cumulative and end with +Inf = count.
  EXPECT_NE(m.find(R"(cloison_http_request_duration_seconds_bucket{route="/v1/sessions",status_class="2xx",le="0.0005"})"),
            std::string::npos);
  // The audit log's own counters (audit::LogStats).
  for (const char* t : {"# TYPE cloison_audit_backlog_entries gauge", "# TYPE cloison_audit_backlog_bytes gauge",
                        "# TYPE cloison_audit_entries gauge", "# TYPE cloison_audit_appends_total counter",
                        "# TYPE cloison_audit_syncs_total counter",
                        "# TYPE cloison_audit_checkpoints_signed_total counter"})
    has(t);
  has(StrCat("cloison_audit_entries ", stats.size));
  has(StrCat("cloison_audit_appends_total ", stats.appends));
  has(StrCat("cloison_audit_syncs_total ", stats.syncs));
  has("cloison_audit_backlog_entries 0");  // nothing in flight between requests
  has("cloison_audit_backlog_bytes 0");
  EXPECT_GE(stats.appends, 3u);  // the read and the two denials
  EXPECT_GE(stats.syncs, 1u);
  has(StrCat("cloison_audit_checkpoints_signed_total ", stats.checkpoints_signed));
}

TEST_F(ApiFixture, UnknownRouteAndWrongMethod) {
  ExpectError(Call("GET", "/v1/nothing"), 404, "not_found");
  ExpectError(Call("GET", "/"), 404, "not_found");
  Response r = Call("PUT", "/v1/sessions");
  ExpectError(r, 405, "method_not_allowed");
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].first, "Allow");
}

TEST_F(ApiFixture, LoginListLogout) {
  const std::string token = Login("counsellor");
  ASSERT_EQ(token.rfind("cls_", 0), 0u);
  Response r = Call("GET", "/v1/sessions", "", Bearer(token));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["sessions"].size(), 1u);
  EXPECT_TRUE(J(r)["sessions"][0]["current"].get<bool>());
  EXPECT_EQ(r.body.find(token), std::string::npos);  // never echoed
  r = Call("DELETE", "/v1/sessions/current", "", Bearer(token));
  EXPECT_EQ(r.status, 204) << r.body;
  ExpectError(Call("GET", "/v1/sessions", "", Bearer(token)), 401, "unauthenticated");
}

TEST_F(ApiFixture, LoginFailuresAreUniform) {
  Response bad_pw = Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", "wrong"}}.dump());
  Response no_user = Call("POST", "/v1/sessions", json{{"username", "nobody"}, {"password", "wrong"}}.dump());
  ExpectError(bad_pw, 401, "unauthenticated");
  ExpectError(no_user, 401, "unauthenticated");
  EXPECT_EQ(bad_pw.body, no_user.body);
  EXPECT_EQ(bad_pw.body.find("wrong"), std::string::npos);
}

// An account whose password someone else set (created, bootstrapped,
// reset) is confined to its own sessions until its holder changes it
// through POST /v1/sessions/password; the change closes every session.
TEST_F(ApiFixture, APasswordSetBySomeoneElseMustBeChangedBeforeAnythingElse) {
  {
    auto a = repo_->GetAccount(counsellor_);
    ASSERT_TRUE(a.ok());
    a->must_change_password = true;
    ASSERT_TRUE(repo_->UpdateAccount(*a).ok());
  }
  Response r = Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kPassword}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(J(r)["password_change_required"].get<bool>());
  const std::string token = J(r)["token"].get<std::string>();
  const uint64_t entries = audit_->size();
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token)), 403, "password_change_required");
  ExpectError(Call("GET", "/v1/people/caseload", "", Bearer(token)), 403, "password_change_required");
  ExpectError(Call("POST", "/v1/people", json{{"nom", "X"}}.dump(), Bearer(token)), 403, "password_change_required");
  EXPECT_EQ(audit_->size(), entries);  // refused before the policy: nothing was read
  ASSERT_EQ(Call("GET", "/v1/sessions", "", Bearer(token)).status, 200);

  const std::string kNew = "Plume-de-ma-tante-42";
  auto change = [&](json body) { return Call("POST", "/v1/sessions/password", body.dump()); };
  // Wrong current password: the login's uniform answer; nothing changes.
  r = change({{"username", "counsellor"}, {"password", "wrong"}, {"new_password", kNew}});
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(r.body.find(kNew), std::string::npos);
  // The password policy, and no reuse; neither echoes a password.
  r = change({{"username", "counsellor"}, {"password", kPassword}, {"new_password", "short"}});
  ExpectError(r, 400, "bad_request");
  EXPECT_EQ(r.body.find("short\""), std::string::npos);
  r = change({{"username", "counsellor"}, {"password", kPassword}, {"new_password", kPassword}});
  ExpectError(r, 400, "bad_request");
  EXPECT_EQ(r.body.find(kPassword), std::string::npos);
  ExpectError(change({{"username", "counsellor"}, {"password", kPassword}}), 400);
  ExpectError(change({{"username", "counsellor"}, {"password", kPassword}, {"new_password", 42}}), 400);
  ExpectError(change({{"username", "counsellor"}, {"password", kPassword}, {"new_password", kNew}, {"admin", true}}),
              400, "unknown_field");
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token)), 403, "password_change_required");

  r = change({{"username", "counsellor"}, {"password", kPassword}, {"new_password", kNew}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(J(r)["password_changed"].get<bool>());
  EXPECT_EQ(r.body.find(kNew), std::string::npos);
  // The session opened with the given password is closed; so is the old password.
  ExpectError(Call("GET", "/v1/sessions", "", Bearer(token)), 401, "unauthenticated");
  ExpectError(Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kPassword}}.dump()), 401);
  r = Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kNew}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(J(r)["password_change_required"].get<bool>());
  r = Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(J(r)["token"].get<std::string>()));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(J(Call("GET", "/openapi.json"))["paths"].contains("/v1/sessions/password"));
}

TEST_F(ApiFixture, NoOrBadCredentials) {
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment"), 401, "unauthenticated");
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer("cls_forged")), 401, "unauthenticated");
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "", {{"authorization", "Basic abc"}}), 401);
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "", {{"x-api-key", "clk_wrong"}}), 401);
  ExpectError(Call("GET", "/v1/sessions", "", {{"authorization", "Bearer x"}, {"x-api-key", "y"}}), 400);
}

TEST_F(ApiFixture, AllowedReadReleasesExactlyThePolicysFieldsAfterADurableAuditEntry) {
  const std::string token = Login("counsellor");
  const uint64_t before = audit_->size();
  Response r = Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token));
  ASSERT_EQ(r.status, 200) << r.body;
  json j = J(r);
  EXPECT_EQ(j["id"], 101);
  EXPECT_EQ(j["rule"], "counsellor-accompaniment");
  // Written directly: the very bytes a json tree would give (sorted members).
  EXPECT_EQ(r.body, internal::Dump(j));

  // Exactly the rule's fields, and not the reveal-only NIR.
  const policy::Policy& pol = policy::Policy::Default();
  const policy::Rule* rule = nullptr;
  for (const auto& ru : pol.rules())
    if (ru.id == "counsellor-accompaniment") rule = &ru;
  ASSERT_NE(rule, nullptr);
  std::set<std::string> expected, got;
  for (size_t i = 0; i < pol.catalog().size(); ++i)
    if (rule->fields.has(i)) expected.insert(pol.catalog().at(i).name);
  for (auto& [k, v] : j["fields"].items()) got.insert(k);
  EXPECT_EQ(got, expected);
  EXPECT_FALSE(j["fields"].contains("nir"));
  EXPECT_EQ(j["fields"]["nom"], "MARTIN");
  EXPECT_EQ(j["fields"]["email"], kEmail101);

  // One read entry, durable, naming ids and field names only.
  ASSERT_EQ(audit_->size(), before + 1);
  auto events = AuditEvents();
  const audit::Event& e = events.back();
  EXPECT_EQ(e.kind, audit::EventKind::kRead);
  EXPECT_EQ(e.account, counsellor_);
  EXPECT_EQ(e.decision, "allow");
  EXPECT_EQ(e.reason, "counsellor-accompaniment");
  EXPECT_EQ(e.purpose, "accompaniment");
  EXPECT_EQ(e.source, "10.0.0.1");
  ASSERT_EQ(e.persons.size(), 1u);
  EXPECT_EQ(e.persons[0].value(), 101);
  EXPECT_EQ(std::set<std::string>(e.fields.begin(), e.fields.end()), expected);
  for (uint64_t i = 0; i < audit_->size(); ++i) {
    const std::string bytes = *audit_->ReadEntry(i);
    EXPECT_EQ(bytes.find(kEmail101), std::string::npos);
    EXPECT_EQ(bytes.find(kNir101), std::string::npos);
    EXPECT_EQ(bytes.find(token), std::string::npos);
  }
  // ... and no personal value in the metrics.
  r = Call("GET", "/metrics");
  EXPECT_EQ(r.body.find("MARTIN"), std::string::npos);
  EXPECT_NE(r.body.find("cloison_policy_decisions_total{result=\"allow\"} 1"), std::string::npos);
}

TEST_F(ApiFixture, DeniedReadIs403WithReasonAndAnAuditDenial) {
  const std::string token = Login("counsellor");
  const uint64_t before = audit_->size();
  Response r = Call("GET", "/v1/people/201?purpose=accompaniment", "", Bearer(token));
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_relation");
  EXPECT_EQ(r.body.find("MARTIN"), std::string::npos);
  ASSERT_EQ(audit_->size(), before + 1);
  const audit::Event e = AuditEvents().back();
  EXPECT_EQ(e.kind, audit::EventKind::kDenial);
  EXPECT_EQ(e.decision, "deny");
  EXPECT_EQ(e.reason, "no_relation");
  EXPECT_EQ(e.persons[0].value(), 201);

  // An unknown person answers exactly like an existing one without relation.
  Response unknown = Call("GET", "/v1/people/999999?purpose=accompaniment", "", Bearer(token));
  ExpectError(unknown, 403, "forbidden");
  EXPECT_EQ(J(unknown)["error"]["reason"], "no_relation");
  EXPECT_EQ(AuditEvents().back().reason, "unknown_person");  // the audit keeps the truth
}

TEST_F(ApiFixture, AStoreFailureAfterTheAuditEntryIs503NotA404) {
  // 999 is in the relation index (so the policy allows the read) but has no
  // row in the store: the read entry is durable, the store read fails. That
  // is the service's fault, never "no such person".
  ASSERT_TRUE(index_->OnPersonFollowed(PersonId(999), StructureId(3), std::nullopt).ok());
  const std::string token = Login("counsellor");
  Response r = Call("GET", "/v1/people/999?purpose=accompaniment", "", Bearer(token));
  ExpectError(r, 503, "unavailable");
  EXPECT_EQ(r.body.find("sqlite"), std::string::npos) << r.body;
  const audit::Event e = AuditEvents().back();
  EXPECT_EQ(e.kind, audit::EventKind::kSystem);
  EXPECT_EQ(e.decision, "read_failed");
  EXPECT_EQ(e.reason, "record_missing");
  // The service goes on.
  EXPECT_EQ(Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token)).status, 200);
}

TEST_F(ApiFixture, PurposeChecks) {
  const std::string token = Login("counsellor");
  ExpectError(Call("GET", "/v1/people/101", "", Bearer(token)), 400, "invalid_parameter");
  ExpectError(Call("GET", "/v1/people/101?purpose=nonsense", "", Bearer(token)), 400, "unknown_purpose");
  ExpectError(Call("GET", "/v1/people/101?purpose=statistics", "", Bearer(token)), 400, "invalid_parameter");
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment&x=1", "", Bearer(token)), 400, "invalid_parameter");
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment&purpose=accompaniment", "", Bearer(token)), 400);
}

TEST_F(ApiFixture, RevealNeedsAJustification) {
  const std::string token = Login("counsellor");
  ExpectError(Call("POST", "/v1/people/101/reveal", json{{"field", "nir"}}.dump(), Bearer(token)), 400,
              "justification_required");
  ExpectError(Call("POST", "/v1/people/101/reveal", json{{"field", "nir"}, {"justification", "   "}}.dump(), Bearer(token)),
              400, "justification_required");
  // Too short for the policy: a denial, recorded.
  Response r = Call("POST", "/v1/people/101/reveal", json{{"field", "nir"}, {"justification", "because"}}.dump(), Bearer(token));
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "justification_required");
  EXPECT_EQ(AuditEvents().back().kind, audit::EventKind::kDenial);
  // A real justification reveals the NIR, and the audit names the field, not its value.
  const std::string why = "Dossier de retraite: vérification de l'identité demandée par la CARSAT";
  r = Call("POST", "/v1/people/101/reveal", json{{"field", "nir"}, {"justification", why}}.dump(), Bearer(token));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["fields"]["nir"], kNir101);
  EXPECT_EQ(J(r)["revealed"], json::array({"nir"}));
  EXPECT_EQ(r.body, internal::Dump(J(r)));
  const audit::Event e = AuditEvents().back();
  EXPECT_EQ(e.kind, audit::EventKind::kRead);
  EXPECT_EQ(e.justification, why);
  EXPECT_NE(std::find(e.fields.begin(), e.fields.end(), "nir"), e.fields.end());
  ExpectError(Call("POST", "/v1/people/101/reveal", json{{"field", "nope"}, {"justification", why}}.dump(), Bearer(token)),
              400, "invalid_parameter");
}

TEST_F(ApiFixture, QuotaAnswers429WithResetTimeAndIsRecorded) {
  const std::string token = Login("quota3");  // iam daily quota 3 tightens the policy's 250
  for (int id : {101, 102, 103}) ASSERT_EQ(Call("GET", StrCat("/v1/people/", id, "?purpose=accompaniment"), "", Bearer(token)).status, 200);
  // Re-reading a person already counted is free.
  ASSERT_EQ(Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token)).status, 200);
  const uint64_t before = audit_->size();
  Response r = Call("GET", "/v1/people/104?purpose=accompaniment", "", Bearer(token));
  ExpectError(r, 429, "quota_exceeded");
  EXPECT_EQ(J(r)["error"]["window"], "day");
  EXPECT_TRUE(J(r)["error"]["reset_at"].is_string());
  bool retry_after = false;
  for (auto& [k, v] : r.headers) retry_after = retry_after || (k == "Retry-After" && std::stoll(v) > 0);
  EXPECT_TRUE(retry_after);
  ASSERT_EQ(audit_->size(), before + 1);
  const audit::Event e = AuditEvents().back();
  EXPECT_EQ(e.kind, audit::EventKind::kGuardAction);
  EXPECT_EQ(e.reason, "quota_per_day");
  EXPECT_NE(Call("GET", "/metrics").body.find("cloison_quota_refusals_total 1"), std::string::npos);
}

TEST(QuotaTrackerTest, SlidingHourAndDay) {
  QuotaTracker q;
  const QuotaLimits lim{2, 3};
  UnixMicros t = 1'000'000'000'000'000;
  const AccountId a(1);
  EXPECT_TRUE(q.Acquire(a, PersonId(1), lim, t).allowed);
  EXPECT_TRUE(q.Acquire(a, PersonId(2), lim, t + 1).allowed);
  EXPECT_TRUE(q.Acquire(a, PersonId(1), lim, t + 2).allowed);  // already counted
  QuotaVerdict v = q.Acquire(a, PersonId(3), lim, t + 3);
  EXPECT_FALSE(v.allowed);
  EXPECT_STREQ(v.window, "hour");
  EXPECT_EQ(v.reset_at, t + 1 + 3600LL * 1'000'000);  // person 1 was re-read at t+2
  EXPECT_TRUE(q.Acquire(AccountId(2), PersonId(3), lim, t + 3).allowed);  // per account
  t += 3601LL * 1'000'000;
  EXPECT_TRUE(q.Acquire(a, PersonId(3), lim, t).allowed);
  v = q.Acquire(a, PersonId(4), lim, t + 1);
  EXPECT_FALSE(v.allowed);
  EXPECT_STREQ(v.window, "day");
  t += 24LL * 3600 * 1'000'000;
  EXPECT_TRUE(q.Acquire(a, PersonId(4), lim, t).allowed);
}

TEST_F(ApiFixture, SuspendedAccountIsRefusedAtOnce) {
  const std::string token = Login("suspended");
  ASSERT_EQ(Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token)).status, 200);
  auto a = repo_->GetAccount(suspended_);
  ASSERT_TRUE(a.ok());
  a->status = iam::AccountStatus::kSuspended;
  ASSERT_TRUE(repo_->UpdateAccount(*a).ok());
  const uint64_t before = audit_->size();
  Response r = Call("GET", "/v1/people/101?purpose=accompaniment", "", Bearer(token));
  ExpectError(r, 401, "unauthenticated");
  EXPECT_EQ(audit_->size(), before);  // nothing decided, nothing released
  ExpectError(Call("POST", "/v1/sessions", json{{"username", "suspended"}, {"password", kPassword}}.dump()), 401);
}

TEST_F(ApiFixture, TechnicalAccountByApiKeyAndNetwork) {
  // Outside its networks: refused like a wrong key.
  ExpectError(Call("GET", "/v1/people/101?purpose=accompaniment", "", {{"x-api-key", kApiKey}}, "192.0.2.1"), 401);
  // Inside: authenticated; no integration rule for this purpose, so a recorded denial.
  Response r = Call("GET", "/v1/people/101?purpose=accompaniment", "", {{"x-api-key", kApiKey}}, "10.1.2.3");
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(AuditEvents().back().session, "api_key");
  ExpectError(Call("DELETE", "/v1/sessions/current", "", {{"x-api-key", kApiKey}}, "10.1.2.3"), 400);
}

TEST_F(ApiFixture, MalformedBodiesAre4xxWithAClearMessage) {
  const std::string token = Login("counsellor");
  const auto h = Bearer(token);
  struct Case {
    std::string body;
    int status;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"{", 400, "invalid_json"},
      {"not json", 400, "invalid_json"},
      {"[1,2]", 400, "invalid_json"},
      {"\"nir\"", 400, "invalid_json"},
      {"{\"field\":42,\"justification\":\"long enough justification text\"}", 400, "invalid_parameter"},
      {"{\"field\":[\"nir\"],\"justification\":\"x\"}", 400, "invalid_parameter"},
      {"{\"field\":null}", 400, "invalid_parameter"},
      {"{\"field\":\"nir\",\"justification\":{\"a\":1}}", 400, "invalid_parameter"},
      {"{\"field\":\"nir\",\"justification\":\"long enough justification\",\"extra\":1}", 400, "unknown_field"},
      {std::string("{\"field\":\"nir\",\"justification\":\"\xff\xfe bad utf8 here padding\"}"), 400, "invalid_utf8"},
      {std::string("{\"field\":\"n\xc0\xafir\"}"), 400, "invalid_utf8"},
      {"{\"field\":\"nir\\u0000\",\"justification\":\"long enough justification text\"}", 400, "invalid_parameter"},
      {std::string(70 * 1024, ' '), 413, "payload_too_large"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body.substr(0, 60));
    ExpectError(Call("POST", "/v1/people/101/reveal", c.body, h), c.status, c.code);
  }
  // Wrong content type.
  ExpectError(Call("POST", "/v1/people/101/reveal", "{}", {{"authorization", "Bearer " + token}, {"content-type", "text/plain"}}),
              415, "unsupported_media_type");
  // Login with wrong types / unknown fields.
  ExpectError(Call("POST", "/v1/sessions", "{\"username\":1,\"password\":\"x\"}"), 400, "invalid_parameter");
  ExpectError(Call("POST", "/v1/sessions", "{\"username\":\"a\",\"password\":\"x\",\"admin\":true}"), 400, "unknown_field");
  ExpectError(Call("POST", "/v1/sessions", "{\"username\":\"a\"}"), 400, "invalid_parameter");
  ExpectError(Call("POST", "/v1/sessions", ""), 415);
  // Deeply nested JSON does not crash.
  ExpectError(Call("POST", "/v1/sessions", std::string(20000, '[') + std::string(20000, ']')), 400, "invalid_json");
}

TEST_F(ApiFixture, InjectionStringsInEveryParameterAre4xx) {
  const std::string token = Login("counsellor");
  const auto h = Bearer(token);
  const std::vector<std::string> evil = {"' OR 1=1 --", "../../etc/passwd", "%00", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                                         "1%00", "101%27%20OR%201%3D1%20--", "%ff%fe", "%", "%zz", "-1", "0",
                                         "99999999999999999999", "1e3", "0x10", "*", "101;DROP TABLE persons"};
  for (const std::string& v : evil) {
    SCOPED_TRACE(v);
    // As the person id (raw in the path).
    Response r = Call("GET", StrCat("/v1/people/", v, "?purpose=accompaniment"), "", h);
    EXPECT_GE(r.status, 400);
    EXPECT_LT(r.status, 500);
    ExpectError(r, r.status);
    // As the purpose.
    r = Call("GET", StrCat("/v1/people/101?purpose=", v), "", h);
    EXPECT_GE(r.status, 400);
    EXPECT_LT(r.status, 500);
    ExpectError(r, r.status);
    // As a query parameter name.
    r = Call("GET", StrCat("/v1/people/101?purpose=accompaniment&", v, "=1"), "", h);
    EXPECT_GE(r.status, 400);
    EXPECT_LT(r.status, 500);
    // In JSON fields.
    for (const char* key : {"field", "justification", "purpose"}) {
      json body = {{"field", "nir"}, {"justification", "a long enough justification for this"}};
      body[key] = v;
      r = Call("POST", "/v1/people/101/reveal", body.dump(), h);
      if (std::string(key) == "justification") continue;  // free text: any value is a valid justification
      EXPECT_GE(r.status, 400) << key;
      EXPECT_LT(r.status, 500) << key;
    }
    r = Call("POST", "/v1/sessions", json{{"username", v}, {"password", v}, {"totp", v}}.dump());
    EXPECT_GE(r.status, 400);
    EXPECT_LT(r.status, 500);
    // As the bearer token and API key.
    ExpectError(Call("GET", "/v1/sessions", "", {{"authorization", "Bearer " + v}}), 401);
    ExpectError(Call("GET", "/v1/sessions", "", {{"x-api-key", v}}), 401);
  }
  // Nothing crashed, and the server still answers.
  EXPECT_EQ(Call("GET", "/v1/people/101?purpose=accompaniment", "", h).status, 200);
  EXPECT_EQ(Call("GET", "/metrics").body.find("status=\"500\""), std::string::npos);
}

TEST_F(ApiFixture, LimitsOnUrlAndHeaders) {
  ExpectError(Call("GET", "/v1/healthz?" + std::string(3000, 'a')), 414, "uri_too_long");
  ExpectError(Call("GET", "/v1/healthz", "", {{"x-big", std::string(9000, 'a')}}), 431, "headers_too_large");
  ExpectError(Call("GET", "*"), 400);
  ExpectError(Call("GET", std::string("/v1/\xff")), 400, "invalid_utf8");
}

}  // namespace
}  // namespace cloison::api

namespace cloison::api {
namespace {

audit::Hash FromHex(const std::string& hex) {
  audit::Hash h{};
  for (size_t i = 0; i < h.size() && 2 * i + 1 < hex.size(); ++i) h[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return h;
}
std::vector<audit::Hash> Hashes(const nlohmann::json& arr) {
  std::vector<audit::Hash> out;
  for (const auto& x : arr) out.push_back(FromHex(x.get<std::string>()));
  return out;
}

TEST_F(ApiFixture, AuditProofsForAuditorsOnly) {
  AddHuman("auditor1", 1, 0, {Role::kAuditor});
  // Privileged: TOTP enrolment, then login with a code.
  iam::LoginRequest lr{"auditor1", crypto::SecretBytes::FromString(kPassword), {}, "10.0.0.1"};
  auto en = iam_->BeginTotpEnrollment(lr);
  ASSERT_TRUE(en.ok()) << en.status();
  auto secret = crypto::TotpSecretFromBase32(en->secret_base32);
  ASSERT_TRUE(secret.ok());
  lr.second_factor = crypto::SecretBytes::FromString(*crypto::TotpGenerate(*secret, clock_.NowSeconds()));
  ASSERT_TRUE(iam_->ConfirmTotpEnrollment(lr).ok());
  clock_.AdvanceSeconds(30);
  Response r = Call("POST", "/v1/sessions",
                    nlohmann::json{{"username", "auditor1"}, {"password", kPassword},
                                   {"totp", *crypto::TotpGenerate(*secret, clock_.NowSeconds())}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string auditor = J(r)["token"];
  const std::string counsellor = Login("counsellor");
  for (int id : {101, 102, 201}) Call("GET", StrCat("/v1/people/", id, "?purpose=accompaniment"), "", Bearer(counsellor));

  ExpectError(Call("GET", "/v1/audit/checkpoint", "", Bearer(counsellor)), 403, "forbidden");
  r = Call("GET", "/v1/audit/checkpoint", "", Bearer(auditor));
  ASSERT_EQ(r.status, 200) << r.body;
  const uint64_t size = J(r)["size"];
  EXPECT_EQ(size, audit_->size());
  const audit::Hash root = FromHex(J(r)["root"]);

  r = Call("GET", StrCat("/v1/audit/proofs/inclusion?index=1&size=", size), "", Bearer(auditor));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(audit::VerifyInclusion(1, size, FromHex(J(r)["leaf_hash"]), Hashes(J(r)["proof"]), root).ok());
  r = Call("GET", StrCat("/v1/audit/proofs/consistency?from=1&to=", size), "", Bearer(auditor));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(audit::VerifyConsistency(1, size, FromHex(J(r)["from_root"]), root, Hashes(J(r)["proof"])).ok());

  for (const char* bad : {"/v1/audit/proofs/inclusion", "/v1/audit/proofs/inclusion?index=-1",
                          "/v1/audit/proofs/inclusion?index=99999", "/v1/audit/proofs/inclusion?index=0&size=999999",
                          "/v1/audit/proofs/inclusion?index=1%20OR%201=1", "/v1/audit/proofs/consistency?from=0",
                          "/v1/audit/proofs/consistency?from=5&to=2", "/v1/audit/proofs/consistency?from=1&x=2",
                          "/v1/audit/checkpoint?size=1"}) {
    SCOPED_TRACE(bad);
    ExpectError(Call("GET", bad, "", Bearer(auditor)), 400, "invalid_parameter");
  }
}

}  // namespace
}  // namespace cloison::api
