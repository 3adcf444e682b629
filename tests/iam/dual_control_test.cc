// Dual control: who may approve what, and the seed scenario.
#include <gtest/gtest.h>

#include "iam_fixture.h"

namespace cloison::iam {
namespace {

constexpr int64_t kDayUs = 86400LL * 1'000'000;

class DualControlTest : public IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    so_national_ = AddOfficer("so.national", kNational, {Role::kSecurityOfficer});
    so_region_a_ = AddOfficer("so.region.a", kRegionA, {Role::kSecurityOfficer});
    so_region_b_ = AddOfficer("so.region.b", kRegionB, {Role::kSecurityOfficer});
    so_ml_a1_ = AddOfficer("so.ml.a1", kMlA1, {Role::kSecurityOfficer});
    am_ml_a1_ = AddOfficer("am.ml.a1", kMlA1, {Role::kAccessManager});
  }

  ChangeRequestId RequestTech(const Principal& p, const std::string& name) {
    auto c = svc_->RequestTechnicalAccount(p, Tech(name), "nightly Ouiform synchronisation");
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->request.value_or(0) : 0;
  }

  bool HasEvent(ChangeRequestId id, std::string_view event) {
    auto h = svc_->RequestHistory(id);
    EXPECT_TRUE(h.ok());
    for (const auto& e : *h)
      if (e.event == event) return true;
    return false;
  }

  AccountId so_national_, so_region_a_, so_region_b_, so_ml_a1_, am_ml_a1_;
};

// An access manager cannot give itself (or be given) a caseload: managing
// accounts and reading people never sit on one account.
TEST_F(DualControlTest, AccessManagerCannotRequestAReadingRole) {
  Principal am = Actor("am.ml.a1");
  auto grant = svc_->RequestRoleGrant(am, am_ml_a1_, Role::kCounsellor, "I will help with the caseload");
  EXPECT_EQ(grant.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(grant.status())).find("separation of duties"), std::string::npos);
  auto both = svc_->CreateHumanAccount(am, {kMlA1, "both.roles", "Both", {Role::kCounsellor, Role::kAccessManager}},
                                       "one person, two hats");
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);
}

// The 2025 incident: a compromised access manager creates two technical
// accounts alone. Without an independent approver at the parent level they
// never become active.
TEST_F(DualControlTest, SeedScenarioCompromisedAccessManagerCannotActivateTechnicalAccounts) {
  Principal intruder = Actor("am.ml.a1");
  auto t1 = svc_->RequestTechnicalAccount(intruder, Tech("export-bot-1"), "integration");
  auto t2 = svc_->RequestTechnicalAccount(intruder, Tech("export-bot-2"), "integration");
  ASSERT_TRUE(t1.ok()) << t1.status();
  ASSERT_TRUE(t2.ok()) << t2.status();
  EXPECT_EQ(t1->status, AccountStatus::kPending);
  EXPECT_EQ(t2->status, AccountStatus::kPending);
  ASSERT_TRUE(t1->request && t2->request);

  // The keys the intruder holds do not work, from inside the allowed network.
  for (const auto* c : {&*t1, &*t2}) {
    auto p = svc_->AuthenticateApiKey(c->secret, "10.1.2.3");
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
  }

  // Self-approval refused.
  EXPECT_EQ(svc_->Approve(intruder, *t1->request, "ok").code(), absl::StatusCode::kPermissionDenied);
  // A counsellor the intruder creates (allowed, in probation) cannot approve.
  auto helper = svc_->CreateHumanAccount(intruder, {kMlA1, "helper.one", "Helper", {Role::kCounsellor}}, "new hire");
  ASSERT_TRUE(helper.ok()) << helper.status();
  EXPECT_EQ(helper->status, AccountStatus::kActive);
  EXPECT_TRUE(Get(helper->id).InProbation(clock_.NowMicros()));
  {
    clock_.AdvanceSeconds(30);
    auto l = svc_->Login({"helper.one", helper->secret, {}, "10.0.0.1"});
    ASSERT_TRUE(l.ok()) << l.status();
    EXPECT_TRUE(l->password_change_required);
    EXPECT_EQ(svc_->Approve(l->principal, *t1->request, "ok").code(), absl::StatusCode::kPermissionDenied);
  }
  // Making the helper a security officer is itself a request the intruder cannot approve.
  auto grant = svc_->RequestRoleGrant(intruder, helper->id, Role::kSecurityOfficer, "backup approver");
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(svc_->Approve(intruder, *grant, "ok").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(Get(helper->id).HasRole(Role::kSecurityOfficer));
  // The security officer of the same mission locale is a peer: refused.
  Principal peer = Actor("so.ml.a1");
  EXPECT_EQ(svc_->Approve(peer, *t1->request, "ok").code(), absl::StatusCode::kPermissionDenied);
  // The security officer of another region is not at the parent level: refused.
  Principal other = Actor("so.region.b");
  EXPECT_EQ(svc_->Approve(other, *t2->request, "ok").code(), absl::StatusCode::kPermissionDenied);

  // Nobody independent approves: the requests expire, the accounts are rejected.
  clock_.AdvanceSeconds(3 * 86400 + 1);
  auto expired = svc_->ExpireRequests();
  ASSERT_TRUE(expired.ok());
  EXPECT_GE(*expired, 3);
  for (const auto* c : {&*t1, &*t2}) {
    EXPECT_EQ(Get(c->id).status, AccountStatus::kRejected);
    auto r = svc_->GetRequest(*c->request);
    EXPECT_EQ(r->status, RequestStatus::kExpired);
    EXPECT_TRUE(HasEvent(*c->request, "created"));
    EXPECT_TRUE(HasEvent(*c->request, "approval_refused"));
    EXPECT_TRUE(HasEvent(*c->request, "expired"));
    EXPECT_EQ(svc_->AuthenticateApiKey(c->secret, "10.1.2.3").status().code(), absl::StatusCode::kUnauthenticated);
  }
  // Too late even for the legitimate approver.
  Principal parent = Actor("so.region.a");
  EXPECT_EQ(svc_->Approve(parent, *t1->request, "late").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Get(t1->id).status, AccountStatus::kRejected);

  // Later investigation: "accounts created by X".
  auto created = svc_->AccountsCreatedBy(parent, am_ml_a1_);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->size(), 3u);
}

TEST_F(DualControlTest, ParentLevelSecurityOfficerApprovesAndKeyWorks) {
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("ouiform"), "nightly sync");
  ASSERT_TRUE(t.ok());
  Principal parent = Actor("so.region.a");
  ASSERT_TRUE(svc_->Approve(parent, *t->request, "checked with the DSI").ok());
  Account a = Get(t->id);
  EXPECT_EQ(a.status, AccountStatus::kActive);
  EXPECT_EQ(a.approved_by, so_region_a_);
  EXPECT_EQ(a.created_by, am_ml_a1_);
  auto p = svc_->AuthenticateApiKey(t->secret, "10.1.200.7");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, AccountKind::kTechnical);
  EXPECT_EQ(p->purpose, "ouiform-sync");
  // Approving twice is refused: the request is decided.
  EXPECT_EQ(svc_->Approve(parent, *t->request, "again").code(), absl::StatusCode::kFailedPrecondition);
  // A grand-parent (national) officer also counts as "above".
  auto t2 = svc_->RequestTechnicalAccount(am, Tech("ouiform-2"), "second sync");
  ASSERT_TRUE(t2.ok());
  Principal national = Actor("so.national");
  EXPECT_TRUE(svc_->Approve(national, *t2->request, "ok").ok());
}

TEST_F(DualControlTest, SelfApprovalRefused) {
  // A security officer at the region requests for its own mission locale and cannot approve itself.
  Principal so = Actor("so.region.a");
  auto t = svc_->RequestTechnicalAccount(so, Tech("self"), "test");
  ASSERT_TRUE(t.ok()) << t.status();
  Status s = svc_->Approve(so, *t->request, "mine");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(MessageOf(s).find("own request"), std::string_view::npos);
  EXPECT_EQ(Get(t->id).status, AccountStatus::kPending);
}

TEST_F(DualControlTest, ApprovalByAccountCreatedByRequesterRefused) {
  // A regional security officer that the access manager created (long ago).
  AddOfficer("so.region.a.bis", kRegionA, {Role::kSecurityOfficer}, am_ml_a1_);
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("sync"), "sync");
  ASSERT_TRUE(t.ok());
  Status s = svc_->Approve(Actor("so.region.a.bis"), *t->request, "ok");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(MessageOf(s).find("created by the requester"), std::string_view::npos);
  EXPECT_EQ(Get(t->id).status, AccountStatus::kPending);
}

TEST_F(DualControlTest, ApprovalByAccountApprovedOrModifiedByRequesterRefused) {
  AccountId bis = AddOfficer("so.region.a.bis", kRegionA, {Role::kSecurityOfficer});
  Account a = Get(bis);
  a.approved_by = am_ml_a1_;
  ASSERT_TRUE(repo_->UpdateAccount(a).ok());
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("sync"), "sync");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(svc_->Approve(Actor("so.region.a.bis"), *t->request, "ok").code(), absl::StatusCode::kPermissionDenied);
  a.approved_by.reset();
  a.last_modified_by = am_ml_a1_;
  ASSERT_TRUE(repo_->UpdateAccount(a).ok());
  Status s = svc_->Approve(Actor("so.region.a.bis"), *t->request, "ok");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(MessageOf(s).find("last modified"), std::string_view::npos);
}

TEST_F(DualControlTest, ApprovalByPeerRefused) {
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("sync"), "sync");
  ASSERT_TRUE(t.ok());
  Status s = svc_->Approve(Actor("so.ml.a1"), *t->request, "ok");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(MessageOf(s).find("parent level"), std::string_view::npos);
  EXPECT_EQ(svc_->Approve(Actor("so.region.b"), *t->request, "ok").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Get(t->id).status, AccountStatus::kPending);
}

TEST_F(DualControlTest, ApproverInProbationRefusedAndNonOfficerRefused) {
  AccountId fresh = AddOfficer("so.region.a.new", kRegionA, {Role::kSecurityOfficer});
  Account a = Get(fresh);
  a.probation_until = clock_.NowMicros() + 14 * kDayUs;
  ASSERT_TRUE(repo_->UpdateAccount(a).ok());
  AddOfficer("dpo.region.a", kRegionA, {Role::kDpo});
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("sync"), "sync");
  ASSERT_TRUE(t.ok());
  Status s = svc_->Approve(Actor("so.region.a.new"), *t->request, "ok");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(MessageOf(s).find("probation"), std::string_view::npos);
  EXPECT_EQ(svc_->Approve(Actor("dpo.region.a"), *t->request, "ok").code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(DualControlTest, PrivilegedAccountWaitsAndStartsInProbation) {
  Principal am = Actor("am.ml.a1");
  auto c = svc_->CreateHumanAccount(am, {kMlA1, "new.am", "New AM", {Role::kAccessManager}}, "replacement");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, AccountStatus::kPending);
  ASSERT_TRUE(c->request);
  // Pending: cannot log in even with the right password.
  auto l = svc_->Login({"new.am", c->secret, {}, "10.0.0.1"});
  EXPECT_FALSE(l.ok());
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *c->request, "ok").ok());
  Account a = Get(c->id);
  EXPECT_EQ(a.status, AccountStatus::kActive);
  EXPECT_TRUE(a.InProbation(clock_.NowMicros()));
  // Privileged: must enrol TOTP before any session.
  auto l2 = svc_->Login({"new.am", c->secret, {}, "10.0.0.1"});
  EXPECT_EQ(l2.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DualControlTest, AccessManagerLimits) {
  Principal am = Actor("am.ml.a1");
  // Not its structure.
  EXPECT_EQ(svc_->CreateHumanAccount(am, {kMlA2, "x.y", "X", {Role::kCounsellor}}, "r").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(svc_->RequestTechnicalAccount(am, Tech("t", kMlA2), "r").status().code(),
            absl::StatusCode::kPermissionDenied);
  // A reason is mandatory.
  EXPECT_EQ(svc_->CreateHumanAccount(am, {kMlA1, "x.y", "X", {Role::kCounsellor}}, " ").status().code(),
            absl::StatusCode::kInvalidArgument);
  // Expiry beyond 90 days refused; no networks refused.
  auto t = Tech("long");
  t.expires_at = clock_.NowMicros() + 91 * kDayUs;
  EXPECT_EQ(svc_->RequestTechnicalAccount(am, t, "r").status().code(), absl::StatusCode::kInvalidArgument);
  t = Tech("nonet");
  t.networks.clear();
  EXPECT_EQ(svc_->RequestTechnicalAccount(am, t, "r").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DualControlTest, WideningIsARequestNarrowingIsNot) {
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("sync"), "sync");
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *t->request, "ok").ok());
  am = Actor("am.ml.a1");
  auto narrow = svc_->ChangeTechnicalAccess(am, t->id, {"orientations:write"}, {"10.1.2.0/24"}, "tighten");
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  EXPECT_FALSE(narrow->has_value());
  EXPECT_EQ(Get(t->id).technical.networks, std::vector<std::string>{"10.1.2.0/24"});
  auto wide = svc_->ChangeTechnicalAccess(am, t->id, {"orientations:write", "persons:read"}, {"0.0.0.0/0"}, "more");
  ASSERT_TRUE(wide.ok());
  ASSERT_TRUE(wide->has_value());
  EXPECT_EQ(Get(t->id).technical.networks, std::vector<std::string>{"10.1.2.0/24"});
  auto quota = svc_->ChangeQuota(am, t->id, 5000, "more volume");
  ASSERT_TRUE(quota.ok() && quota->has_value());
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), **quota, "ok").ok());
  EXPECT_EQ(Get(t->id).daily_read_quota, 5000);
  // The approved change is recorded: approver and requester.
  EXPECT_EQ(Get(t->id).approved_by, so_region_a_);
  EXPECT_EQ(Get(t->id).last_modified_by, am_ml_a1_);
}

TEST_F(DualControlTest, SuspendIsImmediateReinstateNeedsApproval) {
  Principal am = Actor("am.ml.a1");
  auto c = svc_->CreateHumanAccount(am, {kMlA1, "camille.m", "Camille M", {Role::kCounsellor}}, "new hire");
  ASSERT_TRUE(c.ok());
  clock_.AdvanceSeconds(30);
  auto l = svc_->Login({"camille.m", c->secret, {}, "10.0.0.2"});
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(svc_->Suspend(am, c->id, "left the structure").ok());
  EXPECT_EQ(svc_->Authenticate(l->session_token).status().code(), absl::StatusCode::kUnauthenticated);
  auto rr = svc_->RequestReinstate(am, c->id, std::nullopt, "came back");
  ASSERT_TRUE(rr.ok()) << rr.status();
  EXPECT_EQ(Get(c->id).status, AccountStatus::kSuspended);
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *rr, "ok").ok());
  EXPECT_EQ(Get(c->id).status, AccountStatus::kActive);
}

TEST_F(DualControlTest, RejectAndCancel) {
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("bot-a"), "r");
  auto t2 = svc_->RequestTechnicalAccount(am, Tech("bot-b"), "r");
  ASSERT_TRUE(svc_->Reject(Actor("so.region.a"), *t->request, "no business need").ok());
  EXPECT_EQ(Get(t->id).status, AccountStatus::kRejected);
  ASSERT_TRUE(svc_->Cancel(am, *t2->request).ok());
  EXPECT_EQ(Get(t2->id).status, AccountStatus::kRejected);
  EXPECT_EQ(svc_->Approve(Actor("so.region.a"), *t2->request, "ok").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DualControlTest, MfaResetThroughRequest) {
  AccountId dpo = AddOfficer("dpo.ml.a1", kMlA1, {Role::kDpo});
  Principal am = Actor("am.ml.a1");
  auto r = svc_->RequestMfaReset(am, dpo, "lost phone");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *r, "identity checked in person").ok());
  clock_.AdvanceSeconds(30);
  auto l = svc_->Login({"dpo.ml.a1", S(kPassword), {}, "10.0.0.1"});
  EXPECT_EQ(l.status().code(), absl::StatusCode::kFailedPrecondition);  // must enrol again
}

TEST_F(DualControlTest, BreakGlassApprovalIsTheGrant) {
  Principal so = Actor("so.ml.a1");
  auto r = svc_->RequestBreakGlass(so, kMlA1, "person 1234: suspected fraud on file", "judicial requisition");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*svc_->IsApproved(*r, ChangeKind::kBreakGlass));
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *r, "ok").ok());
  EXPECT_TRUE(*svc_->IsApproved(*r, ChangeKind::kBreakGlass));
  EXPECT_FALSE(*svc_->IsApproved(*r, ChangeKind::kBulkExport));
}

TEST_F(DualControlTest, EventsCarryNoSecrets) {
  Principal am = Actor("am.ml.a1");
  auto t = svc_->RequestTechnicalAccount(am, Tech("sync"), "sync");
  ASSERT_TRUE(t.ok());
  const std::string key = Str(t->secret);
  bool saw_request = false;
  for (const auto& e : events_) {
    EXPECT_EQ(e.detail.find(key), std::string::npos);
    EXPECT_EQ(e.detail.find(kPassword), std::string::npos);
    if (e.type == IamEventType::kRequestCreated) saw_request = true;
  }
  EXPECT_TRUE(saw_request);
}

}  // namespace
}  // namespace cloison::iam

namespace cloison::iam {
namespace {

TEST(SeparationOfDutiesTest, ManagingAndReadingRolesNeverOnOneAccount) {
  const auto& pol = policy::Policy::Default();
  EXPECT_TRUE(CheckSeparationOfDuties({Role::kCounsellor}, pol).ok());
  EXPECT_TRUE(CheckSeparationOfDuties({Role::kAccessManager, Role::kAuditor}, pol).ok());
  Status s = CheckSeparationOfDuties({Role::kAccessManager, Role::kCounsellor}, pol);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(s)).find("separation of duties"), std::string::npos);
  EXPECT_FALSE(CheckSeparationOfDuties({Role::kPartnerUser, Role::kAccessManager}, pol).ok());
}

}  // namespace
}  // namespace cloison::iam
