// Authentication: uniform answers, lockout, TOTP drift and replay, recovery
// codes, sessions, technical accounts' networks and expiry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "iam_fixture.h"

namespace cloison::iam {
namespace {

class AuthTest : public IamFixture {
 protected:
  void SetUp() override {
    IamFixture::SetUp();
    counsellor_ = AddHuman("camille.martin", kMlA1, {Role::kCounsellor});
    officer_ = AddOfficer("so.region.a", kRegionA, {Role::kSecurityOfficer});
    am_ = AddOfficer("am.ml.a1", kMlA1, {Role::kAccessManager});
  }
  StatusOr<LoginResult> Try(const std::string& user, const std::string& password, const std::string& source = "10.0.0.9",
                            const std::string& code = "") {
    return svc_->Login({user, S(password), S(code), source});
  }
  AccountId counsellor_, officer_, am_;
};

TEST_F(AuthTest, UnknownUserAndWrongPasswordLookAlike) {
  auto unknown = Try("nobody.here", "whatever password");
  auto wrong = Try("camille.martin", "whatever password");
  auto technical = Try("so.region.a", "whatever password");
  ASSERT_FALSE(unknown.ok());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(unknown.status(), wrong.status());  // same code, same message
  EXPECT_EQ(technical.status(), wrong.status());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  // Both paths recorded a failure; the unknown one names no username.
  int failures = 0;
  for (const auto& e : events_)
    if (e.type == IamEventType::kLoginFailed) {
      ++failures;
      EXPECT_EQ(e.detail.find("nobody"), std::string::npos);
    }
  EXPECT_EQ(failures, 3);
  // A right password works.
  auto ok = Try("camille.martin", kPassword);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_FALSE(ok->principal.mfa);
  // Usernames are case-insensitive.
  clock_.AdvanceSeconds(1);
  EXPECT_TRUE(Try("Camille.Martin", kPassword).ok());
}

TEST_F(AuthTest, PerAccountThrottleThenLockoutThenRecovery) {
  Status last;
  for (int i = 0; i < 10; ++i) {
    auto r = Try("camille.martin", "wrong password!!");
    EXPECT_EQ(MessageOf(r.status()), "invalid credentials") << i;
    clock_.AdvanceSeconds(301);  // past any throttle delay, never past the lock
  }
  // Locked: even the right password is refused, with the throttle answer.
  auto locked = Try("camille.martin", kPassword);
  EXPECT_EQ(locked.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(MessageOf(locked.status()).find("too many"), std::string_view::npos);
  bool saw_lockout = false;
  for (const auto& e : events_) saw_lockout |= e.type == IamEventType::kLockout;
  EXPECT_TRUE(saw_lockout);
  // An unknown username locks the same way (no account enumeration through lockout).
  for (int i = 0; i < 10; ++i) {
    (void)Try("ghost.user", "wrong password!!");
    clock_.AdvanceSeconds(301);
  }
  EXPECT_EQ(Try("ghost.user", kPassword).status(), locked.status());
  // The lock is temporary.
  clock_.AdvanceSeconds(15 * 60);
  EXPECT_TRUE(Try("camille.martin", kPassword).ok());
}

TEST_F(AuthTest, ExponentialThrottleRefusesFastRetries) {
  for (int i = 0; i < 4; ++i) (void)Try("camille.martin", "wrong password!!");
  // 4 failures > 3 free: the next attempt within the delay is refused unchecked.
  auto r = Try("camille.martin", kPassword);
  EXPECT_NE(MessageOf(r.status()).find("too many"), std::string_view::npos);
  clock_.AdvanceSeconds(3);
  EXPECT_TRUE(Try("camille.martin", kPassword).ok());
}

TEST_F(AuthTest, PerAddressLockout) {
  for (int i = 0; i < 50; ++i) {
    (void)Try("user" + std::to_string(i), "wrong password!!", "203.0.113.7");
    clock_.AdvanceSeconds(301);
  }
  auto r = Try("camille.martin", kPassword, "203.0.113.7");
  EXPECT_NE(MessageOf(r.status()).find("too many"), std::string_view::npos);
  EXPECT_TRUE(Try("camille.martin", kPassword, "10.0.0.8").ok());
}

TEST_F(AuthTest, PrivilegedRoleNeedsTotp) {
  clock_.AdvanceSeconds(30);
  auto no_code = Try("am.ml.a1", kPassword);
  EXPECT_EQ(no_code.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(MessageOf(no_code.status()), "second factor required");
  auto bad_code = Try("am.ml.a1", kPassword, "10.0.0.9", "000000" == Code("am.ml.a1") ? "111111" : "000000");
  EXPECT_EQ(MessageOf(bad_code.status()), "invalid credentials");
  clock_.AdvanceSeconds(30);
  auto ok = Try("am.ml.a1", kPassword, "10.0.0.9", Code("am.ml.a1"));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->principal.mfa);
  // A privileged account without TOTP cannot get a session at all.
  AddHuman("dpo.new", kMlA1, {Role::kDpo});
  EXPECT_EQ(Try("dpo.new", kPassword).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(AuthTest, TotpDriftWindowAndReplay) {
  // Align to the start of a step so offsets are exact.
  clock_.Set((clock_.NowSeconds() / 30 + 10) * 30 * 1'000'000);
  const std::string user = "am.ml.a1";
  // One step behind (clock drift of the phone): accepted.
  auto behind = Try(user, kPassword, "10.0.0.9", Code(user, -30));
  EXPECT_TRUE(behind.ok()) << behind.status();
  // Same code again: replay refused.
  auto replay = Try(user, kPassword, "10.0.0.9", Code(user, -30));
  EXPECT_EQ(MessageOf(replay.status()), "invalid credentials");
  // One step ahead: accepted (later step than the last one used).
  auto ahead = Try(user, kPassword, "10.0.0.9", Code(user, +30));
  EXPECT_TRUE(ahead.ok()) << ahead.status();
  // The current step's code is now older than the last accepted: refused.
  EXPECT_FALSE(Try(user, kPassword, "10.0.0.9", Code(user)).ok());
  // Two steps away: outside the window.
  clock_.AdvanceSeconds(120);
  EXPECT_FALSE(Try(user, kPassword, "10.0.0.9", Code(user, -60)).ok());
  EXPECT_FALSE(Try(user, kPassword, "10.0.0.9", Code(user, +60)).ok());
  clock_.AdvanceSeconds(30);
  EXPECT_TRUE(Try(user, kPassword, "10.0.0.9", Code(user)).ok());
}

TEST_F(AuthTest, RecoveryCodesAreOneTime) {
  const auto& codes = recovery_.at("am.ml.a1");
  ASSERT_EQ(codes.size(), 10u);
  const std::string code = Str(codes[0]);
  auto r = Try("am.ml.a1", kPassword, "10.0.0.9", code);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->used_recovery_code);
  EXPECT_EQ(r->recovery_codes_left, 9);
  EXPECT_FALSE(Try("am.ml.a1", kPassword, "10.0.0.9", code).ok());
  // Case and separators do not matter.
  std::string upper = Str(codes[1]);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(Try("am.ml.a1", kPassword, "10.0.0.9", upper).ok());
}

TEST_F(AuthTest, TotpSecretIsStoredEncrypted) {
  auto t = repo_->GetTotp(am_);
  ASSERT_TRUE(t.ok() && t->has_value());
  const auto& secret = secrets_.at("am.ml.a1");
  const auto& enc = (*t)->encrypted_secret;
  EXPECT_EQ(enc.size(), secret.size() + crypto::XChaCha20Poly1305::kOverhead);
  std::string blob(enc.begin(), enc.end());
  EXPECT_EQ(blob.find(Str(secret)), std::string::npos);
  // A second enrolment is refused (reset goes through a request).
  EXPECT_EQ(svc_->BeginTotpEnrollment({"am.ml.a1", S(kPassword), {}, "10.0.0.1"}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(AuthTest, SessionIdleTimeout) {
  auto l = Try("camille.martin", kPassword);
  ASSERT_TRUE(l.ok());
  clock_.AdvanceSeconds(14 * 60);
  EXPECT_TRUE(svc_->Authenticate(l->session_token).ok());  // refreshes
  clock_.AdvanceSeconds(14 * 60);
  EXPECT_TRUE(svc_->Authenticate(l->session_token).ok());
  clock_.AdvanceSeconds(15 * 60 + 1);
  EXPECT_EQ(svc_->Authenticate(l->session_token).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, IdleTimerIsWrittenAtMostEvery30Seconds) {
  // Requests within 30 s of the last refresh do not move the stored idle
  // timer (no database write per request); one 30 s or more later does.
  auto l = Try("camille.martin", kPassword);
  ASSERT_TRUE(l.ok());
  clock_.AdvanceSeconds(20);
  ASSERT_TRUE(svc_->Authenticate(l->session_token).ok());  // 20 s: not written
  clock_.AdvanceSeconds(15 * 60 - 20);  // 15 min after login, 14 min 40 s after that request
  EXPECT_EQ(svc_->Authenticate(l->session_token).status().code(), absl::StatusCode::kUnauthenticated)
      << "the refresh 20 s after login was not supposed to be stored";

  auto m = Try("camille.martin", kPassword);
  ASSERT_TRUE(m.ok());
  clock_.AdvanceSeconds(40);
  ASSERT_TRUE(svc_->Authenticate(m->session_token).ok());  // 40 s: written
  clock_.AdvanceSeconds(15 * 60 - 20);  // 15 min 20 s after login, 14 min 40 s after the refresh
  EXPECT_TRUE(svc_->Authenticate(m->session_token).ok());
}

TEST_F(AuthTest, OneLookupFindsTheSessionAndItsAccountAsTwoWould) {
  auto l = Try("camille.martin", kPassword, "10.0.0.9");
  ASSERT_TRUE(l.ok());
  const crypto::TokenDigest digest = crypto::TokenHasher::FromMaster(master_).Hash("session", l->session_token);
  auto both = repo_->FindSessionAndAccountByToken(digest);
  ASSERT_TRUE(both.ok()) << both.status();
  ASSERT_TRUE(both->has_value());
  auto session = repo_->FindSessionByToken(digest);
  ASSERT_TRUE(session.ok() && session->has_value());
  auto account = repo_->GetAccount((*session)->account);
  ASSERT_TRUE(account.ok());
  const auto& [s, a] = **both;
  EXPECT_EQ(s.id, (*session)->id);
  EXPECT_EQ(s.account, (*session)->account);
  EXPECT_EQ(s.token_digest, (*session)->token_digest);
  EXPECT_EQ(s.last_seen_at, (*session)->last_seen_at);
  EXPECT_EQ(s.source_address, "10.0.0.9");
  EXPECT_EQ(s.mfa, (*session)->mfa);
  EXPECT_EQ(a.id, account->id);
  EXPECT_EQ(a.username, "camille.martin");
  EXPECT_EQ(a.roles, account->roles);
  EXPECT_EQ(a.status, account->status);
  EXPECT_EQ(a.structure, account->structure);
  EXPECT_EQ(a.daily_read_quota, account->daily_read_quota);
  EXPECT_EQ(a.technical.expires_at, account->technical.expires_at);
  // An unknown digest finds nothing.
  crypto::TokenDigest other = digest;
  other[0] ^= 1;
  auto none = repo_->FindSessionAndAccountByToken(other);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// Sessions are answered from memory, checked against the repository's
// change stamp: what another connection (the CLI, another server process)
// writes must take effect on the very next request.
class SessionCacheTest : public AuthTest {
 protected:
  std::string RepoPath() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cloison_session_cache_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    return (dir_ / "iam.db").string();
  }
  void SetUp() override {
    AuthTest::SetUp();
    auto other = OpenSqliteAccountRepository((dir_ / "iam.db").string());
    ASSERT_TRUE(other.ok()) << other.status();
    other_ = std::move(*other);
  }
  void TearDown() override {
    other_.reset();
    svc_.reset();
    repo_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<AccountRepository> other_;  // a second connection, as the CLI's
};

TEST_F(SessionCacheTest, ChangeStampMovesWithOwnWritesAndOtherConnectionsCommits) {
  auto a = repo_->CurrentChangeStamp();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(repo_->GetAccount(counsellor_).ok());
  EXPECT_EQ(*repo_->CurrentChangeStamp(), *a) << "a read is not a change";
  ASSERT_TRUE(repo_->PutAttempts(AttemptKey::kAddress, "x", AttemptRecord{}).ok());
  auto b = repo_->CurrentChangeStamp();
  EXPECT_NE(*b, *a) << "a write through this connection";
  ASSERT_TRUE(other_->PutAttempts(AttemptKey::kAddress, "y", AttemptRecord{}).ok());
  auto c = repo_->CurrentChangeStamp();
  EXPECT_NE(*c, *b) << "a commit by another connection";
  EXPECT_EQ(*repo_->CurrentChangeStamp(), *c);
}

TEST_F(SessionCacheTest, SuspensionByAnotherConnectionRefusesTheNextRequest) {
  auto l = Try("camille.martin", kPassword);
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE(svc_->Authenticate(l->session_token).ok());
  ASSERT_TRUE(svc_->Authenticate(l->session_token).ok());  // from memory
  auto acc = other_->GetAccount(counsellor_);
  ASSERT_TRUE(acc.ok());
  acc->status = AccountStatus::kSuspended;
  ASSERT_TRUE(other_->UpdateAccount(*acc).ok());
  EXPECT_EQ(svc_->Authenticate(l->session_token).status().code(), absl::StatusCode::kUnauthenticated);
  // Reinstated elsewhere: accepted again at once.
  acc->status = AccountStatus::kActive;
  ASSERT_TRUE(other_->UpdateAccount(*acc).ok());
  EXPECT_TRUE(svc_->Authenticate(l->session_token).ok());
}

// A read batch (the server's one event-loop round): the authentications in
// it share one snapshot, so another connection's suspension is refused from
// the next batch on, not inside this one; a write through this connection
// (a session refresh, a suspension here) ends the batch's transaction at
// once, and the reads after it see everything committed so far.
TEST_F(SessionCacheTest, ReadBatchSeesOtherConnectionsFromTheNextBatchAndOwnWritesAtOnce) {
  auto l = Try("camille.martin", kPassword);
  ASSERT_TRUE(l.ok());
  auto acc = other_->GetAccount(counsellor_);
  ASSERT_TRUE(acc.ok());

  svc_->BeginReadBatch();
  ASSERT_TRUE(svc_->Authenticate(l->session_token).ok());
  acc->status = AccountStatus::kSuspended;
  ASSERT_TRUE(other_->UpdateAccount(*acc).ok()) << "a reader's batch never blocks another connection's write";
  EXPECT_TRUE(svc_->Authenticate(l->session_token).ok()) << "same batch, same snapshot";
  svc_->EndReadBatch();
  EXPECT_EQ(svc_->Authenticate(l->session_token).status().code(), absl::StatusCode::kUnauthenticated);

  acc->status = AccountStatus::kActive;
  ASSERT_TRUE(other_->UpdateAccount(*acc).ok());
  svc_->BeginReadBatch();
  ASSERT_TRUE(svc_->Authenticate(l->session_token).ok()) << "a new batch takes a new snapshot";
  acc->status = AccountStatus::kSuspended;
  ASSERT_TRUE(other_->UpdateAccount(*acc).ok());
  // A write through this repository (the idle timer refreshed after 30 s)
  // ends the batch's transaction: it is not written on the old snapshot, and
  // the next read sees the other connection's commit.
  clock_.AdvanceSeconds(31);
  auto touched = svc_->Authenticate(l->session_token);
  ASSERT_TRUE(touched.ok()) << touched.status();
  EXPECT_EQ(svc_->Authenticate(l->session_token).status().code(), absl::StatusCode::kUnauthenticated)
      << "after a write the batch's snapshot is gone";
  svc_->EndReadBatch();

  // Writes made inside a batch are atomic and visible to others.
  svc_->BeginReadBatch();
  ASSERT_TRUE(repo_->CurrentChangeStamp().ok());
  AttemptRecord three;
  three.failures = 3;
  ASSERT_TRUE(repo_->InTransaction([&] {
    CLOISON_RETURN_IF_ERROR(repo_->PutAttempts(AttemptKey::kAddress, "a", three));
    return repo_->PutAttempts(AttemptKey::kAddress, "b", three);
  }).ok());
  // A failing transaction inside a batch still rolls back as a whole.
  EXPECT_FALSE(repo_->InTransaction([&] {
    CLOISON_RETURN_IF_ERROR(repo_->PutAttempts(AttemptKey::kAddress, "c", three));
    return absl::InternalError("stop");
  }).ok());
  svc_->EndReadBatch();
  for (const char* key : {"a", "b"}) {
    auto seen = other_->GetAttempts(AttemptKey::kAddress, key);
    ASSERT_TRUE(seen.ok()) << seen.status();
    EXPECT_EQ(seen->failures, 3) << key;
  }
  EXPECT_EQ(other_->GetAttempts(AttemptKey::kAddress, "c")->failures, 0);
}

TEST_F(SessionCacheTest, RevocationByAnotherConnectionOrThisServiceRefusesTheNextRequest) {
  auto l = Try("camille.martin", kPassword);
  auto m = Try("camille.martin", kPassword);
  ASSERT_TRUE(l.ok() && m.ok());
  ASSERT_TRUE(svc_->Authenticate(l->session_token).ok());
  ASSERT_TRUE(svc_->Authenticate(m->session_token).ok());
  ASSERT_TRUE(other_->RevokeSession(l->principal.session_id, clock_.NowMicros()).ok());
  EXPECT_FALSE(svc_->Authenticate(l->session_token).ok());
  EXPECT_TRUE(svc_->Authenticate(m->session_token).ok());
  ASSERT_TRUE(svc_->Logout(m->session_token).ok());
  EXPECT_FALSE(svc_->Authenticate(m->session_token).ok());
  // The idle timeout still counts from the last stored refresh.
  auto n = Try("camille.martin", kPassword);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(svc_->Authenticate(n->session_token).ok());
  clock_.AdvanceSeconds(15 * 60 + 1);
  EXPECT_FALSE(svc_->Authenticate(n->session_token).ok());
}

TEST_F(AuthTest, SessionAbsoluteTimeout) {
  auto l = Try("camille.martin", kPassword);
  ASSERT_TRUE(l.ok());
  for (int i = 0; i < 59; ++i) {
    clock_.AdvanceSeconds(10 * 60);
    ASSERT_TRUE(svc_->Authenticate(l->session_token).ok()) << i;
  }
  clock_.AdvanceSeconds(10 * 60);  // 10 h after login
  EXPECT_EQ(svc_->Authenticate(l->session_token).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, SessionsListedAndRevocable) {
  auto a = Try("camille.martin", kPassword, "10.0.0.1");
  auto b = Try("camille.martin", kPassword, "10.0.0.2");
  ASSERT_TRUE(a.ok() && b.ok());
  auto mine = svc_->ListSessions(a->principal, counsellor_);
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(mine->size(), 2u);
  // The access manager of the structure sees and revokes them.
  Principal am = Actor("am.ml.a1");
  auto seen = svc_->ListSessions(am, counsellor_);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->size(), 2u);
  ASSERT_TRUE(svc_->RevokeSession(am, b->principal.session_id).ok());
  EXPECT_FALSE(svc_->Authenticate(b->session_token).ok());
  EXPECT_TRUE(svc_->Authenticate(a->session_token).ok());
  ASSERT_TRUE(svc_->Logout(a->session_token).ok());
  EXPECT_FALSE(svc_->Authenticate(a->session_token).ok());
  // A counsellor cannot list someone else's sessions.
  auto c = Try("camille.martin", kPassword);
  EXPECT_EQ(svc_->ListSessions(c->principal, am_).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthTest, PasswordChangeAppliesPolicyAndRevokesSessions) {
  auto l = Try("camille.martin", kPassword);
  ASSERT_TRUE(l.ok());
  LoginRequest req{"camille.martin", S(kPassword), {}, "10.0.0.9"};
  EXPECT_EQ(svc_->ChangePassword(req, S("short")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_->ChangePassword(req, S("xxcamille.martinxx")).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(svc_->ChangePassword(req, S("a much better passphrase")).ok());
  EXPECT_FALSE(svc_->Authenticate(l->session_token).ok());
  EXPECT_FALSE(Try("camille.martin", kPassword).ok());
  EXPECT_TRUE(Try("camille.martin", "a much better passphrase").ok());
}

class TechnicalAuthTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    Principal am = Actor("am.ml.a1");
    auto spec = Tech("ouiform");
    spec.networks = {"10.1.0.0/16", "2001:db8::/32"};
    auto t = svc_->RequestTechnicalAccount(am, spec, "sync");
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *t->request, "ok").ok());
    key_ = t->secret;
    id_ = t->id;
  }
  crypto::SecretBytes key_;
  AccountId id_;
};

TEST_F(TechnicalAuthTest, OutsideItsNetworksRefused) {
  EXPECT_TRUE(svc_->AuthenticateApiKey(key_, "10.1.3.4").ok());
  EXPECT_TRUE(svc_->AuthenticateApiKey(key_, "2001:db8:1::5").ok());
  auto out = svc_->AuthenticateApiKey(key_, "192.168.1.10");
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(svc_->AuthenticateApiKey(key_, "10.2.0.1").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(svc_->AuthenticateApiKey(key_, "not an address").status().code(), absl::StatusCode::kPermissionDenied);
  // A wrong key is refused.
  EXPECT_EQ(svc_->AuthenticateApiKey(S("clk_wrong"), "10.1.3.4").status().code(), absl::StatusCode::kUnauthenticated);
  // No interactive login for technical accounts.
  EXPECT_EQ(Try("ouiform", kPassword).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TechnicalAuthTest, ExpiryAndReenable) {
  EXPECT_TRUE(svc_->AuthenticateApiKey(key_, "10.1.3.4").ok());
  clock_.AdvanceSeconds(31LL * 86400);
  auto r = svc_->AuthenticateApiKey(key_, "10.1.3.4");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(MessageOf(r.status()), "account expired");
  // Re-enabling needs a new expiry within 90 days and an approval.
  Principal am = Actor("am.ml.a1");
  EXPECT_EQ(svc_->RequestReinstate(am, id_, std::nullopt, "renew").status().code(), absl::StatusCode::kInvalidArgument);
  auto req = svc_->RequestReinstate(am, id_, clock_.NowMicros() + 60LL * 86400 * 1'000'000, "renew");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_FALSE(svc_->AuthenticateApiKey(key_, "10.1.3.4").ok());
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *req, "ok").ok());
  EXPECT_TRUE(svc_->AuthenticateApiKey(key_, "10.1.3.4").ok());
}

TEST_F(TechnicalAuthTest, SuspendedKeyRefused) {
  ASSERT_TRUE(svc_->Suspend(Actor("am.ml.a1"), id_, "key leaked in a ticket").ok());
  EXPECT_EQ(svc_->AuthenticateApiKey(key_, "10.1.3.4").status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace cloison::iam

namespace cloison::iam {
namespace {

TEST_F(TechnicalAuthTest, GuardSuspensionRefusesTheKeyAndNeedsAnApprovedReinstatement) {
  ASSERT_TRUE(svc_->AuthenticateApiKey(key_, "10.1.3.4").ok());
  ASSERT_TRUE(svc_->SuspendByGuard(id_, "read 60 distinct people in 10 minutes").ok());
  EXPECT_TRUE(svc_->SuspendByGuard(id_, "again").ok());  // idempotent
  EXPECT_EQ(svc_->AuthenticateApiKey(key_, "10.1.3.4").status().code(), absl::StatusCode::kUnauthenticated);
  auto req = svc_->RequestReinstate(Actor("am.ml.a1"), id_, clock_.NowMicros() + 30LL * 86400 * 1'000'000,
                                    "false positive after review");
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_FALSE(svc_->AuthenticateApiKey(key_, "10.1.3.4").ok());  // not before approval
  ASSERT_TRUE(svc_->Approve(Actor("so.region.a"), *req, "reviewed").ok());
  EXPECT_TRUE(svc_->AuthenticateApiKey(key_, "10.1.3.4").ok());
  EXPECT_EQ(svc_->SuspendByGuard(AccountId(987654), "x").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cloison::iam
