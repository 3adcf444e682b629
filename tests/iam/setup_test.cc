// IamService::ResetCredentialsForSetup: the trusted path `cloison demo` uses
// to hand its demo accounts known credentials.
#include "iam_fixture.h"

namespace cloison::iam {
namespace {

class SetupTest : public IamFixture {};

TEST_F(SetupTest, HumanGetsAFreshPasswordLosesTotpAndSessions) {
  const AccountId id = AddOfficer("so.region.a", kRegionA, {Role::kSecurityOfficer});
  auto session = LoginAs("so.region.a");
  ASSERT_TRUE(session.ok()) << session.status();
  auto pw = svc_->ResetCredentialsForSetup(id);
  ASSERT_TRUE(pw.ok()) << pw.status();
  EXPECT_EQ(pw->size(), 20u);
  // Sessions closed, old password refused.
  EXPECT_FALSE(svc_->Authenticate(session->session_token).ok());
  EXPECT_EQ(svc_->Login({"so.region.a", S(kPassword), S(Code("so.region.a", 60)), "10.0.0.1"}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // TOTP removed: a privileged account must enrol again before any session.
  auto totp = repo_->GetTotp(id);
  ASSERT_TRUE(totp.ok());
  EXPECT_FALSE(totp->has_value());
  EXPECT_EQ(svc_->Login({"so.region.a", *pw, {}, "10.0.0.2"}).status().code(), absl::StatusCode::kFailedPrecondition);
  // Enrolment with the new password works, and no password change is required.
  LoginRequest req{"so.region.a", *pw, {}, "10.0.0.2"};
  auto e = svc_->BeginTotpEnrollment(req);
  ASSERT_TRUE(e.ok()) << e.status();
  auto secret = crypto::TotpSecretFromBase32(e->secret_base32);
  ASSERT_TRUE(secret.ok());
  req.second_factor = S(*crypto::TotpGenerate(*secret, clock_.NowSeconds() - 30));
  ASSERT_TRUE(svc_->ConfirmTotpEnrollment(req).ok());
  // The previous step confirmed the enrolment: the current one still logs in.
  req.second_factor = S(*crypto::TotpGenerate(*secret, clock_.NowSeconds()));
  auto r = svc_->Login(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->password_change_required);
  bool seen = false;
  for (const auto& ev : events_)
    if (ev.type == IamEventType::kPasswordChanged && ev.subject == id && !ev.actor) seen = true;
  EXPECT_TRUE(seen);
}

TEST_F(SetupTest, TechnicalGetsANewKeyAndTheOldOneStops) {
  AddOfficer("am.ml.a1", kMlA1, {Role::kAccessManager});
  AddOfficer("so.region.a", kRegionA, {Role::kSecurityOfficer});
  auto t = svc_->RequestTechnicalAccount(Actor("am.ml.a1"), Tech("ouiform"), "sync");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *t->request, "ok").ok());
  ASSERT_TRUE(svc_->AuthenticateApiKey(t->secret, "10.1.0.1").ok());
  auto key = svc_->ResetCredentialsForSetup(t->id);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(Str(*key).rfind("clk_", 0), 0u);
  EXPECT_FALSE(svc_->AuthenticateApiKey(t->secret, "10.1.0.1").ok());
  EXPECT_TRUE(svc_->AuthenticateApiKey(*key, "10.1.0.1").ok());
}

TEST_F(SetupTest, InactiveAccountRefused) {
  AddOfficer("am.ml.a1", kMlA1, {Role::kAccessManager});
  auto t = svc_->RequestTechnicalAccount(Actor("am.ml.a1"), Tech("ouiform"), "sync");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(svc_->ResetCredentialsForSetup(t->id).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(svc_->ResetCredentialsForSetup(AccountId(999)).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cloison::iam
