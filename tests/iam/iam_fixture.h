// Shared fixture: a small structure tree, an in-memory repository, a fake
// clock and cheap Argon2 parameters.
//
//   1 national (root)
//   ├─ 2 region A ── 3 mission locale A1, 4 mission locale A2
//   └─ 5 region B ── 6 mission locale B1
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "crypto/secure_random.h"
#include "crypto/totp.h"
#include "iam/repository.h"
#include "iam/service.h"

namespace cloison::iam {

inline crypto::SecretBytes S(std::string_view s) { return crypto::SecretBytes::FromString(s); }
inline std::string Str(const crypto::SecretBytes& s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); }

constexpr StructureId kNational{1}, kRegionA{2}, kMlA1{3}, kMlA2{4}, kRegionB{5}, kMlB1{6};
constexpr const char* kPassword = "correct horse battery staple";

class IamFixture : public ::testing::Test {
 protected:
  // Where the repository lives: in memory unless a test needs a second
  // connection to the same database.
  virtual std::string RepoPath() { return ":memory:"; }
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    parents_ = {{kRegionA, kNational}, {kRegionB, kNational}, {kMlA1, kRegionA}, {kMlA2, kRegionA}, {kMlB1, kRegionB}};
    auto repo = OpenSqliteAccountRepository(RepoPath());
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = std::move(*repo);
    master_ = crypto::SecretBytes(32);
    for (size_t i = 0; i < 32; ++i) master_.mutable_data()[i] = static_cast<uint8_t>(i * 7 + 1);
    IamOptions opts;
    opts.password_cost = crypto::PasswordHashCost::Test();
    auto svc = IamService::Create(
        *repo_, master_, clock_, random_,
        [this](StructureId s) -> std::optional<StructureId> {
          auto it = parents_.find(s);
          if (it == parents_.end()) return std::nullopt;
          return it->second;
        },
        opts, [this](const IamEvent& e) { events_.push_back(e); });
    ASSERT_TRUE(svc.ok()) << svc.status();
    svc_ = std::move(*svc);
  }

  // Inserts an active human account with kPassword (setup shortcut that
  // bypasses dual control, like an account that has existed for years).
  AccountId AddHuman(const std::string& username, StructureId structure, std::vector<Role> roles,
                     std::optional<AccountId> created_by = std::nullopt) {
    Account a;
    a.kind = AccountKind::kHuman;
    a.structure = structure;
    a.username = username;
    a.display_name = username;
    a.roles = std::move(roles);
    a.status = AccountStatus::kActive;
    a.created_at = a.updated_at = clock_.NowMicros() - 365LL * 86400 * 1'000'000;
    a.created_by = created_by;
    a.daily_read_quota = 200;
    auto id = repo_->InsertAccount(a);
    EXPECT_TRUE(id.ok()) << id.status();
    auto hash = crypto::HashPassword(S(kPassword), crypto::PasswordHashCost::Test());
    EXPECT_TRUE(repo_->SetPasswordHash(*id, *hash, clock_.NowMicros()).ok());
    return *id;
  }

  // Enrols TOTP through the service and remembers the secret.
  void Enrol(const std::string& username) {
    LoginRequest req{username, S(kPassword), {}, "10.0.0.1"};
    auto e = svc_->BeginTotpEnrollment(req);
    ASSERT_TRUE(e.ok()) << e.status();
    auto secret = crypto::TotpSecretFromBase32(e->secret_base32);
    ASSERT_TRUE(secret.ok());
    secrets_[username] = *secret;
    req.second_factor = S(Code(username));
    auto codes = svc_->ConfirmTotpEnrollment(req);
    ASSERT_TRUE(codes.ok()) << codes.status();
    recovery_[username] = *codes;
  }

  std::string Code(const std::string& username, int64_t offset_s = 0) {
    auto c = crypto::TotpGenerate(secrets_.at(username), clock_.NowSeconds() + offset_s);
    EXPECT_TRUE(c.ok());
    return *c;
  }

  // Logs in with password + current TOTP (advancing 30 s first so a fresh
  // step is used and replay refusal does not interfere).
  StatusOr<LoginResult> LoginAs(const std::string& username, const std::string& source = "10.0.0.1") {
    clock_.AdvanceSeconds(30);
    LoginRequest req{username, S(kPassword), {}, source};
    if (secrets_.count(username)) req.second_factor = S(Code(username));
    return svc_->Login(req);
  }

  Principal Actor(const std::string& username) {
    auto r = LoginAs(username);
    EXPECT_TRUE(r.ok()) << username << ": " << r.status();
    return r.ok() ? r->principal : Principal{};
  }

  // A privileged human with TOTP enrolled.
  AccountId AddOfficer(const std::string& username, StructureId s, std::vector<Role> roles,
                       std::optional<AccountId> created_by = std::nullopt) {
    AccountId id = AddHuman(username, s, std::move(roles), created_by);
    Enrol(username);
    return id;
  }

  NewTechnicalAccount Tech(const std::string& name, StructureId s = kMlA1) {
    NewTechnicalAccount t;
    t.structure = s;
    t.username = name;
    t.purpose = "ouiform-sync";
    t.scopes = {"orientations:write"};
    t.networks = {"10.1.0.0/16"};
    t.expires_at = clock_.NowMicros() + 30LL * 86400 * 1'000'000;
    t.daily_quota = 1000;
    return t;
  }

  Account Get(AccountId id) {
    auto a = repo_->GetAccount(id);
    EXPECT_TRUE(a.ok());
    return *a;
  }

  std::map<StructureId, StructureId> parents_;
  std::unique_ptr<AccountRepository> repo_;
  crypto::SecretBytes master_;
  FakeClock clock_;
  DeterministicRandom random_{42};
  std::unique_ptr<IamService> svc_;
  std::vector<IamEvent> events_;
  std::map<std::string, crypto::SecretBytes> secrets_;
  std::map<std::string, std::vector<crypto::SecretBytes>> recovery_;
};

}  // namespace cloison::iam
