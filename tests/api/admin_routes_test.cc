// Administration routes without sockets: accounts, change requests under
// dual control, suspension and reinstatement, the exposure report, and their
// bad input. The decisions are iam's; these tests check that the API carries
// them faithfully (statuses, stable codes, iam's messages) and never 500s.
#include "api_fixture.h"

namespace cloison::api {
namespace {

using nlohmann::json;

class AdminTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    // FT-DG (1) > DR-GE (2) > ML-67-003 (3), ML-67-004 (4)
    am_ = AddPrivileged("am.ml67", 3, {Role::kAccessManager});
    so_region_ = AddPrivileged("so.grandest", 2, {Role::kSecurityOfficer});
    so_national_ = AddPrivileged("so.national", 1, {Role::kSecurityOfficer});
    so_peer_ = AddPrivileged("so.ml67", 3, {Role::kSecurityOfficer});
    // A security officer above whom the access manager created: not independent of it.
    so_creature_ = AddPrivileged("so.creature", 2, {Role::kSecurityOfficer}, am_);
    AddPrivileged("dpo.national", 1, {Role::kDpo});
  }

  Response Post(const std::string& target, const json& body, const std::string& token) {
    return Call("POST", target, body.dump(), Bearer(token));
  }
  Response Get(const std::string& target, const std::string& token) { return Call("GET", target, "", Bearer(token)); }

  json TechnicalBody() const {
    return {{"kind", "technical"},        {"username", "ouiform2"},
            {"structure", "ML-67-003"},   {"purpose", "ouiform-sync"},
            {"scopes", {"orientations:write"}}, {"networks", {"10.1.0.0/16"}},
            {"expires_in_days", 30},      {"daily_quota", 100},
            {"reason", "sync of the training organisation"}};
  }

  AccountId am_, so_region_, so_national_, so_peer_, so_creature_;
};

TEST_F(AdminTest, TechnicalAccountStaysPendingUntilAnIndependentApproverApproves) {
  const std::string am = LoginMfa("am.ml67");
  Response r = Post("/v1/accounts", TechnicalBody(), am);
  ASSERT_EQ(r.status, 201) << r.body;
  json j = J(r);
  EXPECT_EQ(j["status"], "pending");
  ASSERT_TRUE(j["change_request_id"].is_number_integer()) << r.body;
  const int64_t rid = j["change_request_id"];
  const int64_t id = j["id"];
  const std::string key = j["api_key"];
  EXPECT_EQ(key.rfind("clk_", 0), 0u);
  EXPECT_EQ(j["account"]["status"], "pending");
  EXPECT_EQ(j["account"]["technical"]["scopes"][0], "orientations:write");

  // The key is useless while pending.
  ExpectError(Call("GET", "/v1/sessions", "", {{"x-api-key", key}}, "10.1.2.3"), 401, "unauthenticated");

  // Refused approvers, each with iam's rule as a stable code.
  ExpectError(Post(StrCat("/v1/change-requests/", rid, "/approve"), json::object(), am), 403, "self_approval");
  const std::string peer = LoginMfa("so.ml67");
  r = Post(StrCat("/v1/change-requests/", rid, "/approve"), json{{"note", "ok"}}, peer);
  ExpectError(r, 403, "approver_not_above");
  EXPECT_NE(J(r)["error"]["message"].get<std::string>().find("parent level"), std::string::npos) << r.body;
  ExpectError(Post(StrCat("/v1/change-requests/", rid, "/approve"), json::object(), LoginMfa("so.creature")), 403,
              "approver_not_independent");
  const std::string counsellor = Login("counsellor");
  ExpectError(Post(StrCat("/v1/change-requests/", rid, "/approve"), json::object(), counsellor), 403);

  // Still pending, and the refusals are in its history.
  const std::string region = LoginMfa("so.grandest");
  r = Get(StrCat("/v1/change-requests/", rid), region);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["status"], "pending");
  EXPECT_EQ(J(r)["kind"], "create_technical_account");
  int refusals = 0;
  const json shown = J(r);
  for (const auto& e : shown["history"]) refusals += e["event"] == "approval_refused" ? 1 : 0;
  EXPECT_EQ(refusals, 4) << r.body;

  // The regional security officer approves (no body: no note).
  r = Call("POST", StrCat("/v1/change-requests/", rid, "/approve"), "", Bearer(region));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["change_request"]["status"], "approved");
  r = Get(StrCat("/v1/accounts/", id), am);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["status"], "active");
  EXPECT_EQ(J(r)["approved_by"], so_region_.value());
  // Now the key authenticates (whatever the policy then decides, not a 401).
  EXPECT_NE(Call("GET", "/v1/people/101?purpose=ouiform_sync", "", {{"x-api-key", key}}, "10.1.2.3").status, 401);
  // Deciding twice: 409.
  ExpectError(Post(StrCat("/v1/change-requests/", rid, "/approve"), json::object(), region), 409, "failed_precondition");
}

TEST_F(AdminTest, PlainCounsellorIsActiveAtOncePrivilegedIsPending) {
  const std::string am = LoginMfa("am.ml67");
  Response r = Post("/v1/accounts",
                    json{{"username", "camille.martin"}, {"structure", "ML-67-003"}, {"reason", "new hire"}}, am);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(J(r)["status"], "active");
  EXPECT_TRUE(J(r)["change_request_id"].is_null());
  EXPECT_TRUE(J(r)["account"]["probation"].get<bool>());
  EXPECT_FALSE(J(r)["initial_password"].get<std::string>().empty());
  EXPECT_EQ(J(r)["account"]["created_by"], am_.value());

  r = Post("/v1/accounts",
           json{{"username", "new.auditor"}, {"structure", "ML-67-003"}, {"roles", {"auditor"}}, {"reason", "audit"}}, am);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(J(r)["status"], "pending");
  EXPECT_TRUE(J(r)["change_request_id"].is_number_integer());

  // Separation of duties, a duplicate name, another structure: iam's answers.
  ExpectError(Post("/v1/accounts",
                   json{{"username", "both.roles"}, {"structure", "ML-67-003"},
                        {"roles", {"access_manager", "counsellor"}}, {"reason", "x"}},
                   am),
              400, "separation_of_duties");
  ExpectError(Post("/v1/accounts", json{{"username", "camille.martin"}, {"structure", "ML-67-003"}, {"reason", "again"}},
                   am),
              409, "already_exists");
  ExpectError(Post("/v1/accounts", json{{"username", "elsewhere"}, {"structure", "ML-67-004"}, {"reason", "x"}}, am),
              403, "not_account_manager");
  ExpectError(Post("/v1/accounts", json{{"username", "x"}, {"structure", "ML-67-003"}, {"reason", "x"}}, am), 400,
              "invalid_parameter");  // iam: username 3..64 characters
  ExpectError(Post("/v1/accounts", json{{"username", "c2"}, {"structure", "NOPE"}, {"reason", "x"}}, am), 400,
              "invalid_parameter");
  // A counsellor administers nothing.
  ExpectError(Post("/v1/accounts", json{{"username", "c3.x"}, {"structure", "ML-67-003"}, {"reason", "x"}},
                   Login("counsellor")),
              403);
}

TEST_F(AdminTest, SuspensionTakesEffectOnTheNextRequest) {
  const std::string counsellor = Login("counsellor");
  ASSERT_EQ(Get("/v1/sessions", counsellor).status, 200);
  const std::string am = LoginMfa("am.ml67");
  // A reason is required.
  ExpectError(Post(StrCat("/v1/accounts/", counsellor_.value(), "/suspend"), json::object(), am), 400,
              "invalid_parameter");
  ExpectError(Post(StrCat("/v1/accounts/", counsellor_.value(), "/suspend"), json{{"reason", "   "}}, am), 400,
              "invalid_parameter");
  // Another counsellor cannot suspend it.
  ExpectError(Post(StrCat("/v1/accounts/", counsellor_.value(), "/suspend"), json{{"reason", "x"}}, Login("quota3")),
              403, "not_account_manager");
  Response r = Post(StrCat("/v1/accounts/", counsellor_.value(), "/suspend"), json{{"reason", "phishing suspected"}}, am);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["account"]["status"], "suspended");
  // The very next request of the suspended account is refused.
  ExpectError(Get("/v1/sessions", counsellor), 401, "unauthenticated");
  ExpectError(Get("/v1/people/101?purpose=accompaniment", counsellor), 401, "unauthenticated");
  ExpectError(Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kPassword}}.dump()), 401);

  // A technical account's key, likewise.
  EXPECT_NE(Call("GET", "/v1/people/101?purpose=ouiform_sync", "", {{"x-api-key", kApiKey}}, "10.1.2.3").status, 401);
  const int64_t tech = J(Get("/v1/accounts?kind=technical", am))["accounts"][0]["id"];
  ASSERT_EQ(Post(StrCat("/v1/accounts/", tech, "/suspend"), json{{"reason", "leaked key"}}, am).status, 200);
  ExpectError(Call("GET", "/v1/people/101?purpose=ouiform_sync", "", {{"x-api-key", kApiKey}}, "10.1.2.3"), 401);

  // Listing by status.
  r = Get("/v1/accounts?status=suspended", am);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["count"], 2);  // counsellor and tech
}

TEST_F(AdminTest, ReinstatementNeedsASecondIndependentApprover) {
  const std::string am = LoginMfa("am.ml67");
  ASSERT_EQ(Post(StrCat("/v1/accounts/", counsellor_.value(), "/suspend"), json{{"reason", "investigation"}}, am).status,
            200);
  // Reinstating an active account: 409.
  ExpectError(Post(StrCat("/v1/accounts/", am_.value(), "/reinstate"), json{{"reason", "x"}}, am), 409,
              "failed_precondition");
  Response r = Post(StrCat("/v1/accounts/", counsellor_.value(), "/reinstate"), json{{"reason", "cleared"}}, am);
  ASSERT_EQ(r.status, 202) << r.body;
  const int64_t rid = J(r)["change_request"]["id"];
  EXPECT_EQ(J(r)["change_request"]["kind"], "reenable_account");
  EXPECT_EQ(J(r)["change_request"]["status"], "pending");
  // Not effective yet.
  EXPECT_EQ(J(Get(StrCat("/v1/accounts/", counsellor_.value()), am))["status"], "suspended");
  ExpectError(Call("POST", "/v1/sessions", json{{"username", "counsellor"}, {"password", kPassword}}.dump()), 401);
  // The requester cannot approve it; the regional security officer can.
  ExpectError(Post(StrCat("/v1/change-requests/", rid, "/approve"), json::object(), am), 403, "self_approval");
  r = Post(StrCat("/v1/change-requests/", rid, "/approve"), json{{"note", "checked"}}, LoginMfa("so.grandest"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(Get(StrCat("/v1/accounts/", counsellor_.value()), am))["status"], "active");
  EXPECT_FALSE(Login("counsellor").empty());
}

TEST_F(AdminTest, ChangeRequestsFileListRejectAndVisibility) {
  const std::string am = LoginMfa("am.ml67");
  // A role grant is a request; a quota lowering applies at once; raising is a request.
  Response r = Post("/v1/change-requests",
                    json{{"kind", "grant_role"}, {"account", counsellor_.value()}, {"role", "partner_user"},
                         {"reason", "works with a training organisation"}},
                    am);
  ASSERT_EQ(r.status, 202) << r.body;
  const int64_t grant = J(r)["change_request"]["id"];
  EXPECT_EQ(J(r)["change_request"]["spec"]["roles"][0], "partner_user");
  r = Post("/v1/change-requests",
           json{{"kind", "raise_quota"}, {"account", counsellor_.value()}, {"quota", 50}, {"reason", "less"}}, am);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(J(r)["applied"].get<bool>());
  r = Post("/v1/change-requests",
           json{{"kind", "raise_quota"}, {"account", counsellor_.value()}, {"quota", 300}, {"reason", "more"}}, am);
  ASSERT_EQ(r.status, 202) << r.body;
  r = Post("/v1/change-requests",
           json{{"kind", "bulk_export"}, {"structure", "ML-67-003"}, {"subject", "caseload for the regional report"},
                {"reason", "annual report"}},
           am);
  ASSERT_EQ(r.status, 202) << r.body;
  // iam's own answers.
  ExpectError(Post("/v1/change-requests",
                   json{{"kind", "grant_role"}, {"account", am_.value()}, {"role", "access_manager"}, {"reason", "x"}},
                   am),
              409, "already_exists");
  ExpectError(Post("/v1/change-requests",
                   json{{"kind", "grant_role"}, {"account", 999999}, {"role", "auditor"}, {"reason", "x"}}, am),
              404, "not_found");

  // Who sees what: the requester and the security officers above see them;
  // a counsellor sees only those about itself; a peer structure's officer none.
  const std::string region = LoginMfa("so.grandest");
  EXPECT_EQ(J(Get("/v1/change-requests", am))["count"], 3);
  EXPECT_EQ(J(Get("/v1/change-requests?status=pending", region))["count"], 3);
  EXPECT_EQ(J(Get("/v1/change-requests?status=approved", region))["count"], 0);
  const std::string counsellor = Login("counsellor");
  EXPECT_EQ(J(Get("/v1/change-requests", counsellor))["count"], 2);  // grant + raise about itself
  AddPrivileged("so.ml674", 4, {Role::kSecurityOfficer});
  const std::string other = LoginMfa("so.ml674");
  EXPECT_EQ(J(Get("/v1/change-requests", other))["count"], 0);
  ExpectError(Get(StrCat("/v1/change-requests/", grant), other), 404, "not_found");
  ExpectError(Get("/v1/change-requests/999999", region), 404, "not_found");

  // Reject: a reason is required; then it is rejected for good.
  ExpectError(Post(StrCat("/v1/change-requests/", grant, "/reject"), json::object(), region), 400, "invalid_parameter");
  ExpectError(Post(StrCat("/v1/change-requests/", grant, "/reject"), json{{"reason", "no"}}, counsellor), 403);
  r = Post(StrCat("/v1/change-requests/", grant, "/reject"), json{{"reason", "not justified"}}, region);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["change_request"]["status"], "rejected");
  EXPECT_EQ(J(r)["change_request"]["decision_note"], "not justified");
  ExpectError(Post(StrCat("/v1/change-requests/", grant, "/approve"), json::object(), region), 409);
  // Technical accounts administer nothing.
  ExpectError(Call("GET", "/v1/change-requests", "", {{"x-api-key", kApiKey}}, "10.1.2.3"), 403, "technical_account");
  ExpectError(Call("GET", "/v1/accounts", "", {{"x-api-key", kApiKey}}, "10.1.2.3"), 403, "technical_account");
}

TEST_F(AdminTest, AccountsVisibleAsInTheCli) {
  // A counsellor sees itself only; the regional officer its region.
  Response r = Get("/v1/accounts", Login("counsellor"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["count"], 1);
  EXPECT_EQ(J(r)["accounts"][0]["username"], "counsellor");
  ExpectError(Get(StrCat("/v1/accounts/", am_.value()), Login("counsellor")), 403);
  const std::string region = LoginMfa("so.grandest");
  r = Get("/v1/accounts", region);
  ASSERT_EQ(r.status, 200) << r.body;
  {
    const json listed = J(r);  // not a range-for over a temporary's member
    for (const auto& a : listed["accounts"]) EXPECT_NE(a["username"], "so.national");
  }
  r = Get(StrCat("/v1/accounts?created_by=", am_.value()), region);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["count"], 1);
  EXPECT_EQ(J(r)["accounts"][0]["username"], "so.creature");
  ExpectError(Get("/v1/accounts/999999", region), 404, "not_found");
}

TEST_F(AdminTest, ExposureForSecurityOfficersAndDpoOnly) {
  ExpectError(Get("/v1/exposure", Login("counsellor")), 403, "forbidden");
  ExpectError(Get("/v1/exposure", LoginMfa("am.ml67")), 403, "forbidden");
  ExpectError(Call("GET", "/v1/exposure", "", {{"x-api-key", kApiKey}}, "10.1.2.3"), 403, "forbidden");
  const std::string so = LoginMfa("so.national");
  Response r = Get("/v1/exposure", so);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = J(r);
  for (const char* k : {"as_of", "people_total", "accounts_analysed", "accounts_in_view", "accounts"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["as_of"], "2025-10-09");
  EXPECT_EQ(j["people_total"], 5);
  ASSERT_FALSE(j["accounts"].empty());
  // The documented keys of `cloison exposure --json` (docs/exposure.md).
  for (const char* k : {"rank", "account", "account_id", "kind", "status", "can_authenticate", "probation", "source",
                        "structure", "roles", "purpose", "direct_people", "categories", "second_approver_people",
                        "indirect_alone_people", "indirect_alone_after_probation_people", "with_one_approver_people",
                        "with_one_approver", "used_people", "narrowing_people", "narrowing", "blast_radius", "rules",
                        "paths"})
    EXPECT_TRUE(j["accounts"][0].contains(k)) << k;
  // The counsellor of ML-67-003 reaches the 4 people followed there.
  r = Get(StrCat("/v1/exposure?account=", counsellor_.value()), so);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["accounts"].size(), 1u);
  EXPECT_EQ(J(r)["accounts"][0]["direct_people"], 4);
  r = Get("/v1/exposure?account=counsellor&top=5", so);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["accounts"][0]["account"], "counsellor");
  r = Get("/v1/exposure?top=2", so);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["accounts"].size(), 2u);
  EXPECT_EQ(J(r)["accounts"][0]["rank"], 1);
  // A DPO too; a regional officer sees its region only (not so.national).
  EXPECT_EQ(Get("/v1/exposure", LoginMfa("dpo.national")).status, 200);
  r = Get("/v1/exposure", LoginMfa("so.grandest"));
  ASSERT_EQ(r.status, 200) << r.body;
  {
    const json listed = J(r);
    for (const auto& a : listed["accounts"]) EXPECT_NE(a["account"], "so.national");
  }
  ExpectError(Get("/v1/exposure?account=so.national", LoginMfa("so.grandest")), 404, "not_found");
  for (const char* bad : {"/v1/exposure?top=-1", "/v1/exposure?top=abc", "/v1/exposure?date=2025-13-45",
                          "/v1/exposure?account=%27%20OR%201=1%20--", "/v1/exposure?unknown=1",
                          "/v1/exposure?date=%3Cscript%3E"}) {
    SCOPED_TRACE(bad);
    ExpectError(Get(bad, so), 400, "invalid_parameter");
  }
}

TEST_F(AdminTest, ExposureShowsWhatEachAccountUsedOverAWindowFromTheAuditLog) {
  const std::string so = LoginMfa("so.national");
  // Before any read: the counsellor's usage is known (the log covers it) and 0.
  Response r = Get("/v1/exposure?account=counsellor", so);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["accounts"][0]["used_people"], 0);
  EXPECT_EQ(J(r)["window_days"], 30);
  ASSERT_TRUE(J(r)["usage_window"].is_string()) << r.body;
  EXPECT_EQ(J(r)["usage_window"].get<std::string>().substr(0, 22), "2025-09-10..2025-10-09");

  // Two people opened (one twice), one read denied, a caseload listed: used 2.
  const std::string t = Login("counsellor");
  for (int id : {101, 102, 101}) ASSERT_EQ(Get(StrCat("/v1/people/", id, "?purpose=accompaniment"), t).status, 200);
  ASSERT_EQ(Get("/v1/people/201?purpose=accompaniment", t).status, 403);
  ASSERT_EQ(Get("/v1/people/search?q=mar&purpose=accompaniment", t).status, 200);
  r = Get("/v1/exposure?account=counsellor", so);
  ASSERT_EQ(r.status, 200) << r.body;
  const json row = J(r)["accounts"][0];
  EXPECT_EQ(row["used_people"], 2);
  EXPECT_EQ(row["listed_people"], 2);  // 103 and 104: shown in the search page, never opened
  EXPECT_EQ(row["usage_window"], J(r)["usage_window"]);
  EXPECT_NE(row["narrowing"].get<std::string>().find("read 2"), std::string::npos) << row["narrowing"];
  // Later reads are picked up (the index catches up with the log).
  ASSERT_EQ(Get("/v1/people/103?purpose=accompaniment", t).status, 200);
  EXPECT_EQ(J(Get("/v1/exposure?account=counsellor", so))["accounts"][0]["used_people"], 3);

  // window=0: the log is not read, used is unknown.
  r = Get("/v1/exposure?account=counsellor&window=0", so);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(J(r)["accounts"][0]["used_people"].is_null());
  EXPECT_TRUE(J(r)["usage_window"].is_null());
  // A window that ends before the reads: 0 again.
  r = Get("/v1/exposure?account=counsellor&window=1&date=2025-10-01", so);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["accounts"][0]["used_people"], 0);
  for (const char* bad : {"/v1/exposure?window=-1", "/v1/exposure?window=abc", "/v1/exposure?window=3661",
                          "/v1/exposure?window=1e3"}) {
    SCOPED_TRACE(bad);
    ExpectError(Get(bad, so), 400, "invalid_parameter");
  }
}

TEST_F(AdminTest, BadBodiesAreNamed4xxNever500) {
  const std::string am = LoginMfa("am.ml67");
  struct Case {
    std::string target;
    std::string body;
    int status;
    std::string code;
    std::string mentions;  // the message names the member / type
  };
  const std::string suspend = StrCat("/v1/accounts/", counsellor_.value(), "/suspend");
  json tech = TechnicalBody();
  std::vector<Case> cases = {
      {"/v1/accounts", "[1,2]", 400, "invalid_json", "object"},
      {"/v1/accounts", "\"text\"", 400, "invalid_json", "object"},
      {"/v1/accounts", "{\"username\":", 400, "invalid_json", "JSON"},
      {"/v1/accounts", "{\"username\":\"a\",\"admin\":true}", 400, "unknown_field", "'admin'"},
      {"/v1/accounts", json{{"username", 12}, {"structure", "ML-67-003"}, {"reason", "x"}}.dump(), 400,
       "invalid_parameter", "'username' must be a string"},
      {"/v1/accounts", json{{"username", "ab.cd"}, {"structure", "ML-67-003"}, {"roles", "auditor"}, {"reason", "x"}}.dump(),
       400, "invalid_parameter", "'roles' must be an array of strings"},
      {"/v1/accounts", json{{"username", "ab.cd"}, {"structure", "ML-67-003"}, {"roles", {"root"}}, {"reason", "x"}}.dump(),
       400, "invalid_parameter", "unknown role 'root'"},
      {"/v1/accounts", json{{"username", "ab.cd"}, {"structure", "ML-67-003"}, {"purpose", "p"}, {"reason", "x"}}.dump(),
       400, "invalid_parameter", "'purpose'"},
      {"/v1/accounts", json{{"username", "ab.cd"}, {"structure", "ML-67-003"}}.dump(), 400, "invalid_parameter",
       "'reason'"},
      {"/v1/accounts", json{{"kind", "robot"}, {"username", "ab.cd"}}.dump(), 400, "invalid_parameter", "'kind'"},
      {"/v1/accounts", [&] { json t = tech; t["expires_in_days"] = "90"; return t.dump(); }(), 400, "invalid_parameter",
       "'expires_in_days' must be an integer"},
      {"/v1/accounts", [&] { json t = tech; t["expires_in_days"] = 365; return t.dump(); }(), 400, "invalid_parameter",
       "between 1 and 90"},
      {"/v1/accounts", [&] { json t = tech; t["daily_quota"] = 1.5; return t.dump(); }(), 400, "invalid_parameter",
       "'daily_quota' must be an integer"},
      {"/v1/accounts", [&] { json t = tech; t["networks"] = {"not-a-cidr"}; return t.dump(); }(), 400,
       "invalid_parameter", ""},
      {"/v1/accounts", [&] { json t = tech; t["scopes"] = json::array(); return t.dump(); }(), 400, "invalid_parameter",
       "scopes"},
      {suspend, json{{"reason", 5}}.dump(), 400, "invalid_parameter", "'reason' must be a string"},
      {suspend, json{{"reason", std::string(3000, 'x')}}.dump(), 400, "invalid_parameter", "longer than"},
      {suspend, "{\"reason\":\"a\\u0000b\"}", 400, "invalid_parameter", "NUL"},
      {"/v1/accounts/abc/suspend", json{{"reason", "x"}}.dump(), 400, "invalid_parameter", "positive integer"},
      {"/v1/accounts/0/suspend", json{{"reason", "x"}}.dump(), 400, "invalid_parameter", "positive integer"},
      {"/v1/accounts/999999/suspend", json{{"reason", "x"}}.dump(), 404, "not_found", ""},
      {"/v1/change-requests", json{{"kind", "grant_role"}, {"account", "12"}, {"role", "auditor"}, {"reason", "x"}}.dump(),
       400, "invalid_parameter", "'account' must be an integer"},
      {"/v1/change-requests", json{{"kind", "grant_role"}, {"account", 12}, {"quota", 3}, {"role", "auditor"},
                                   {"reason", "x"}}.dump(),
       400, "invalid_parameter", "'quota' does not apply"},
      {"/v1/change-requests", json{{"kind", "create_technical_account"}, {"reason", "x"}}.dump(), 400,
       "invalid_parameter", "POST /v1/accounts"},
      {"/v1/change-requests", json{{"kind", "'; DROP TABLE iam_accounts; --"}, {"reason", "x"}}.dump(), 400,
       "invalid_parameter", "'kind'"},
      {"/v1/change-requests", json{{"kind", "bulk_export"}, {"structure", "../../etc/passwd"}, {"subject", "s"},
                                   {"reason", "x"}}.dump(),
       400, "invalid_parameter", "unknown structure"},
      {"/v1/change-requests/1/approve", "not json", 400, "invalid_json", ""},
      {"/v1/change-requests/1/approve", json{{"note", true}}.dump(), 400, "invalid_parameter", "'note' must be a string"},
      {"/v1/change-requests/x/reject", json{{"reason", "x"}}.dump(), 400, "invalid_parameter", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target + " " + c.body.substr(0, 80));
    Response r = Call("POST", c.target, c.body, Bearer(am));
    ExpectError(r, c.status, c.code);
    if (!c.mentions.empty()) {
      EXPECT_NE(J(r)["error"]["message"].get<std::string>().find(c.mentions), std::string::npos) << r.body;
    }
  }
  // Without Content-Type: 415; invalid UTF-8: 400.
  ExpectError(Call("POST", suspend, "{\"reason\":\"x\"}", {{"authorization", "Bearer " + am}, {"content-type", "text/plain"}}),
              415, "unsupported_media_type");
  ExpectError(Call("POST", suspend, "{\"reason\":\"\xff\xfe\"}", Bearer(am)), 400, "invalid_utf8");
  // Query parameters.
  for (const char* bad : {"/v1/accounts?status=gone", "/v1/accounts?kind=robot", "/v1/accounts?created_by=-3",
                          "/v1/accounts?x=1", "/v1/change-requests?status=%3Cscript%3E", "/v1/accounts/1?x=1"}) {
    SCOPED_TRACE(bad);
    ExpectError(Get(bad, am), 400, "invalid_parameter");
  }
  ExpectError(Call("DELETE", "/v1/accounts"), 405, "method_not_allowed");
  ExpectError(Call("GET", "/v1/accounts"), 401, "unauthenticated");
}

TEST_F(AdminTest, OpenApiDescribesTheAdministrationPaths) {
  Response r = Call("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  const json doc = J(r);
  ASSERT_TRUE(doc.is_object());
  for (const char* p : {"/v1/accounts", "/v1/accounts/{id}", "/v1/accounts/{id}/suspend", "/v1/accounts/{id}/reinstate",
                        "/v1/change-requests", "/v1/change-requests/{id}", "/v1/change-requests/{id}/approve",
                        "/v1/change-requests/{id}/reject", "/v1/exposure"})
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
  EXPECT_TRUE(doc["paths"]["/v1/accounts"].contains("post"));
  EXPECT_TRUE(doc["paths"]["/v1/change-requests"].contains("get"));
}

}  // namespace
}  // namespace cloison::api
