// Step-up (IamService::StepUp: a fresh TOTP code for a live session when the
// guard asks for one) and the guard's suspension of a human account
// (SuspendByGuard: sessions revoked at once, back only through dual control).
#include <gtest/gtest.h>

#include "iam_fixture.h"

namespace cloison::iam {
namespace {

class StepUpTest : public IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    counsellor_ = AddHuman("camille.martin", kMlA1, {Role::kCounsellor});
    Enrol("camille.martin");
    AddHuman("no.totp", kMlA1, {Role::kCounsellor});
    AddOfficer("so.region.a", kRegionA, {Role::kSecurityOfficer});
    AddOfficer("am.ml.a1", kMlA1, {Role::kAccessManager});
    auto login = LoginAs("camille.martin");
    ASSERT_TRUE(login.ok()) << login.status();
    token_ = std::move(login->session_token);
    session_ = login->principal.session_id;
  }
  int Count(IamEventType t) const {
    int n = 0;
    for (const auto& e : events_) n += e.type == t ? 1 : 0;
    return n;
  }
  AccountId counsellor_;
  crypto::SecretBytes token_;
  int64_t session_ = 0;
};

TEST_F(StepUpTest, AFreshCodeStepsUpOnceAndItsReplayIsRefused) {
  clock_.AdvanceSeconds(30);  // the login used the previous step
  const std::string code = Code("camille.martin");
  auto ok = svc_->StepUp(token_, S(code), "10.0.0.1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->id, counsellor_);
  EXPECT_EQ(ok->session_id, session_);
  EXPECT_TRUE(ok->mfa);
  EXPECT_EQ(Count(IamEventType::kStepUp), 1);
  for (const auto& e : events_) {
    if (e.type == IamEventType::kStepUp) {
      EXPECT_EQ(e.detail.find(code), std::string::npos) << "no code in events";
    }
  }

  const int failed_before = Count(IamEventType::kMfaFailed);
  auto replay = svc_->StepUp(token_, S(code), "10.0.0.1");
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(MessageOf(replay.status()), "invalid code");
  EXPECT_EQ(Count(IamEventType::kMfaFailed), failed_before + 1);
  // The next step's code works.
  clock_.AdvanceSeconds(30);
  EXPECT_TRUE(svc_->StepUp(token_, S(Code("camille.martin")), "10.0.0.1").ok());
}

TEST_F(StepUpTest, WrongCodesCountAsSecondFactorFailuresAndAreThrottled) {
  clock_.AdvanceSeconds(30);
  const std::string right = Code("camille.martin");
  const std::string wrong = right == "000000" ? "111111" : "000000";
  for (int i = 0; i < 4; ++i) {
    auto r = svc_->StepUp(token_, S(wrong), "10.0.0.1");
    EXPECT_EQ(MessageOf(r.status()), "invalid code") << i;
  }
  EXPECT_EQ(Count(IamEventType::kMfaFailed), 4);
  EXPECT_GE(Count(IamEventType::kLoginFailed), 4);  // the account's throttling counters
  // 4 failures > 3 free: even the right code is refused within the delay.
  auto throttled = svc_->StepUp(token_, S(right), "10.0.0.1");
  EXPECT_NE(MessageOf(throttled.status()).find("too many"), std::string_view::npos) << throttled.status();
  // Not a six-digit code (a recovery code is not a step-up): refused too.
  clock_.AdvanceSeconds(60);
  EXPECT_FALSE(svc_->StepUp(token_, recovery_.at("camille.martin")[0], "10.0.0.1").ok());
  clock_.AdvanceSeconds(60);
  EXPECT_TRUE(svc_->StepUp(token_, S(Code("camille.martin")), "10.0.0.1").ok());
}

TEST_F(StepUpTest, NeedsALiveSessionAndAnEnrolledSecondFactor) {
  auto other = LoginAs("no.totp");
  ASSERT_TRUE(other.ok()) << other.status();
  auto r = svc_->StepUp(other->session_token, S("123456"), "10.0.0.1");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_EQ(svc_->StepUp(S("cls_not_a_session"), S("123456"), "10.0.0.1").status().code(),
            absl::StatusCode::kUnauthenticated);
  ASSERT_TRUE(svc_->Logout(token_).ok());
  clock_.AdvanceSeconds(30);
  EXPECT_EQ(svc_->StepUp(token_, S(Code("camille.martin")), "10.0.0.1").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(StepUpTest, GuardSuspensionRevokesSessionsAndOnlyDualControlBringsTheAccountBack) {
  ASSERT_TRUE(svc_->Authenticate(token_).ok());
  ASSERT_TRUE(svc_->SuspendByGuard(counsellor_, "read 45 distinct people in 10 minutes").ok());
  // At once: the live session is refused, no new one can be opened.
  EXPECT_EQ(svc_->Authenticate(token_).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(LoginAs("camille.martin").ok());
  bool suspended_event = false;
  for (const auto& e : events_)
    if (e.type == IamEventType::kAccountSuspended && e.subject == counsellor_) {
      suspended_event = true;
      EXPECT_FALSE(e.actor.has_value()) << "the guard, not a person";
      EXPECT_NE(e.detail.find("1 sessions revoked"), std::string::npos) << e.detail;
    }
  EXPECT_TRUE(suspended_event);
  // The requester cannot approve its own reinstatement; an independent
  // officer above can.
  const Principal am = Actor("am.ml.a1");
  auto req = svc_->RequestReinstate(am, counsellor_, std::nullopt, "false positive after review");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_FALSE(LoginAs("camille.martin").ok()) << "not before approval";
  EXPECT_EQ(svc_->Approve(Actor("am.ml.a1"), *req, "me").code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *req, "reviewed").ok());
  EXPECT_TRUE(LoginAs("camille.martin").ok());
}

}  // namespace
}  // namespace cloison::iam
