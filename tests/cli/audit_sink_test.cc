// The iam -> audit mapping (src/cli/audit_sink.h), driven by the real
// IamService: every iam event becomes one audit entry of the right kind,
// role grants become role_change (iam reports them as account changes: this
// pins the wording the mapping relies on), ids go to `numbers`, and a log
// held by another process is refused with a message that says by whom.
#include <gtest/gtest.h>

#include <filesystem>

#include "audit/log.h"
#include "cli/audit_sink.h"
#include "iam_fixture.h"

namespace cloison::iam {
namespace {

namespace fs = std::filesystem;

class AuditSinkTest : public IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    dir_ = (fs::temp_directory_path() / ("cloison-audit-sink-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    audit::LogOptions o;
    o.clock = &clock_;
    auto log = audit::AuditLog::Open(dir_, o);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(dir_);
  }
  // Every event iam emitted so far, through the sink, as decoded entries.
  std::vector<audit::Event> Logged() {
    auto errors = std::make_shared<cli::SinkErrors>();
    auto sink = cli::IamAuditSink(log_.get(), errors);
    const uint64_t from = log_->size();
    for (const IamEvent& e : events_) sink(e);
    EXPECT_TRUE(errors->first().ok()) << errors->first();
    std::vector<audit::Event> out;
    for (uint64_t i = from; i < log_->size(); ++i) {
      auto e = audit::DecodeEvent(*log_->ReadEntry(i));
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok()) out.push_back(*e);
    }
    events_.clear();
    return out;
  }
  std::string dir_;
  std::unique_ptr<audit::AuditLog> log_;
};

TEST_F(AuditSinkTest, ApprovedRoleGrantIsARoleChange) {
  AddOfficer("so.region.a", kRegionA, {Role::kSecurityOfficer});
  AddOfficer("so.national", kNational, {Role::kSecurityOfficer});
  const AccountId target = AddHuman("auditor.a1", kMlA1, {Role::kAuditor});
  events_.clear();
  Principal requester = Actor("so.region.a");
  auto req = svc_->RequestRoleGrant(requester, target, Role::kDpo, "DPO deputy for the region");
  ASSERT_TRUE(req.ok()) << req.status();
  ASSERT_TRUE(svc_->Approve(Actor("so.national"), *req, "checked").ok());
  ASSERT_TRUE(Get(target).HasRole(Role::kDpo));

  const size_t emitted = events_.size();
  const auto logged = Logged();
  ASSERT_EQ(logged.size(), emitted);  // one entry per iam event
  int role_changes = 0, requests = 0, approvals = 0, logins = 0;
  for (const auto& e : logged) {
    switch (e.kind) {
      case audit::EventKind::kRoleChange:
        ++role_changes;
        EXPECT_EQ(e.decision, "account_changed");
        EXPECT_NE(e.reason.find("grant role dpo"), std::string::npos) << e.reason;
        EXPECT_EQ(e.numbers.at("subject"), target.value());
        EXPECT_EQ(e.numbers.at("request"), *req);
        EXPECT_TRUE(e.account.valid());  // the approver
        break;
      case audit::EventKind::kChangeRequest:
        ++requests;
        EXPECT_EQ(e.numbers.at("request"), *req);
        break;
      case audit::EventKind::kApproval: ++approvals; break;
      case audit::EventKind::kLogin: ++logins; break;
      default: break;
    }
    EXPECT_TRUE(e.details.empty());  // ids are numbers now, never redactable strings
  }
  EXPECT_EQ(role_changes, 1);
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(approvals, 1);
  EXPECT_EQ(logins, 2);
}

TEST_F(AuditSinkTest, LoginsFailuresAndSuspensionsKeepTheirKinds) {
  AddOfficer("so.ml.a1", kMlA1, {Role::kSecurityOfficer});
  const AccountId target = AddHuman("counsellor.a1", kMlA1, {Role::kCounsellor});
  events_.clear();
  LoginRequest bad{"counsellor.a1", S("wrong password"), {}, "10.0.0.9"};
  EXPECT_FALSE(svc_->Login(bad).ok());
  Principal so = Actor("so.ml.a1");
  ASSERT_TRUE(svc_->Suspend(so, target, "rappel au 06 12 34 56 78 sans suite").ok());
  const auto logged = Logged();
  std::map<audit::EventKind, int> kinds;
  for (const auto& e : logged) ++kinds[e.kind];
  EXPECT_EQ(kinds[audit::EventKind::kLoginFailed], 1);
  EXPECT_EQ(kinds[audit::EventKind::kLogin], 1);
  EXPECT_EQ(kinds[audit::EventKind::kAccountChange], 1);
  EXPECT_EQ(kinds[audit::EventKind::kRoleChange], 0);
  for (const auto& e : logged) {
    if (e.kind == audit::EventKind::kLoginFailed) {
      EXPECT_EQ(e.source, "10.0.0.9");
    }
    if (e.kind != audit::EventKind::kAccountChange) continue;
    EXPECT_EQ(e.decision, "account_suspended");
    EXPECT_EQ(e.numbers.at("subject"), target.value());
    // The reason is the officer's free text: the phone number is redacted.
    EXPECT_EQ(e.reason.find("06 12"), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find("[redacted]"), std::string::npos) << e.reason;
  }
}

TEST(AuditSinkMapping, EveryIamEventTypeHasAKind) {
  using T = IamEventType;
  const std::map<T, audit::EventKind> want = {
      {T::kLoginSucceeded, audit::EventKind::kLogin},       {T::kApiKeyAccepted, audit::EventKind::kLogin},
      {T::kLoginFailed, audit::EventKind::kLoginFailed},    {T::kLoginThrottled, audit::EventKind::kLoginFailed},
      {T::kApiKeyRefused, audit::EventKind::kLoginFailed},  {T::kLockout, audit::EventKind::kLockout},
      {T::kMfaEnrolled, audit::EventKind::kMfa},            {T::kMfaReset, audit::EventKind::kMfa},
      {T::kSessionRevoked, audit::EventKind::kLogout},      {T::kRequestCreated, audit::EventKind::kChangeRequest},
      {T::kRequestExpired, audit::EventKind::kApproval},    {T::kApprovalRefused, audit::EventKind::kApproval},
      {T::kAccountSuspended, audit::EventKind::kAccountChange},
      {T::kPasswordChanged, audit::EventKind::kAccountChange},
  };
  for (const auto& [type, kind] : want) {
    IamEvent e{type, 5, AccountId(3), AccountId(4), 7, "192.0.2.1", "x"};
    EXPECT_EQ(cli::AuditKindOf(e), kind) << IamEventTypeName(type);
  }
  IamEvent grant{T::kAccountChanged, 5, AccountId(3), AccountId(4), 7, "", "grant role dpo to account 4"};
  EXPECT_EQ(cli::AuditKindOf(grant), audit::EventKind::kRoleChange);
  grant.detail = "revoke role dpo from account 4";
  EXPECT_EQ(cli::AuditKindOf(grant), audit::EventKind::kRoleChange);
  grant.detail = "quota lowered to 10";
  EXPECT_EQ(cli::AuditKindOf(grant), audit::EventKind::kAccountChange);
  const audit::Event ev = cli::AuditEventOf(grant);
  EXPECT_EQ(ev.time, 5);
  EXPECT_EQ(ev.account, AccountId(3));
  EXPECT_EQ(ev.numbers.at("subject"), 4);
  EXPECT_EQ(ev.numbers.at("request"), 7);
}

TEST(AuditSinkMapping, HeldLogMessages) {
  auto held = [](std::string_view holder) {
    return cli::ExplainHeldLog(audit::LockRefused("/d/audit/LOCK", holder));
  };
  Status s = held("4242 cloison serve\n");
  EXPECT_TRUE(IsIOError(s)) << s;
  EXPECT_EQ(MessageOf(s), "the audit log is held by a running server (pid 4242): use the HTTP API or stop the server");
  s = held("77 cloison account suspend\n");
  EXPECT_EQ(MessageOf(s), "the audit log is held by another process (pid 77, cloison account suspend): try again once "
                          "it has finished");
  s = held("");
  EXPECT_NE(std::string(MessageOf(s)).find("pid unknown"), std::string::npos) << s;
  // Anything else passes through unchanged.
  EXPECT_EQ(cli::ExplainHeldLog(Corruption("x")), Corruption("x"));
}

}  // namespace
}  // namespace cloison::iam
