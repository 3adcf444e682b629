// The building blocks: Argon2id, tokens, TOTP, CIDR, password policy,
// throttle arithmetic, repository migrations.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "crypto/password.h"
#include "crypto/token.h"
#include "iam_fixture.h"
#include "iam/cidr.h"
#include "iam/lockout.h"
#include "iam/password_policy.h"

namespace cloison::iam {
namespace {

TEST(PasswordHash, RoundTripAndDummy) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  auto cost = crypto::PasswordHashCost::Test();
  auto h = crypto::HashPassword(S("a good passphrase"), cost);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(h->find("a good passphrase"), std::string::npos);
  EXPECT_TRUE(crypto::VerifyPassword(*h, S("a good passphrase")));
  EXPECT_FALSE(crypto::VerifyPassword(*h, S("a good passphrasf")));
  EXPECT_FALSE(crypto::VerifyPassword("garbage", S("a good passphrase")));
  EXPECT_FALSE(crypto::PasswordNeedsRehash(*h, cost));
  EXPECT_TRUE(crypto::PasswordNeedsRehash(*h, crypto::PasswordHashCost::Interactive()));
  const std::string& dummy = crypto::DummyPasswordHash(cost);
  EXPECT_EQ(dummy.rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(&dummy, &crypto::DummyPasswordHash(cost));  // computed once
  EXPECT_FALSE(crypto::VerifyPassword(dummy, S("")));
}

TEST(Tokens, FormatAndKeyedHash) {
  DeterministicRandom rnd(1);
  auto t1 = crypto::NewToken(rnd, "clk_");
  auto t2 = crypto::NewToken(rnd, "clk_");
  EXPECT_EQ(Str(t1).rfind("clk_", 0), 0u);
  EXPECT_EQ(t1.size(), 4u + 43u);
  EXPECT_FALSE(t1 == t2);
  crypto::TokenHasher h(crypto::SecretBytes(std::vector<uint8_t>(32, 9)));
  crypto::TokenHasher other(crypto::SecretBytes(std::vector<uint8_t>(32, 8)));
  EXPECT_TRUE(crypto::DigestEquals(h.Hash("api_key", t1), h.Hash("api_key", t1)));
  EXPECT_FALSE(crypto::DigestEquals(h.Hash("api_key", t1), h.Hash("session", t1)));
  EXPECT_FALSE(crypto::DigestEquals(h.Hash("api_key", t1), other.Hash("api_key", t1)));
  auto code = crypto::NewRecoveryCode(rnd);
  EXPECT_EQ(code.size(), 11u);
  EXPECT_EQ(Str(code)[5], '-');
  EXPECT_EQ(crypto::NormalizeRecoveryCode(code).size(), 10u);
  EXPECT_EQ(crypto::NewRandomPassword(rnd).size(), 20u);
}

TEST(Totp, Rfc6238Vector) {
  // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 -> 94287082 (8 digits); 6 digits: 287082.
  auto secret = S("12345678901234567890");
  EXPECT_EQ(*crypto::TotpGenerate(secret, 59), "287082");
  EXPECT_EQ(*crypto::TotpGenerate(secret, 1111111109), "081804");
  EXPECT_EQ(crypto::TotpMatchStep(secret, 59, 0, "287082"), 1);
  EXPECT_EQ(crypto::TotpMatchStep(secret, 89, 1, "287082"), 1);   // one step later, window 1
  EXPECT_EQ(crypto::TotpMatchStep(secret, 119, 1, "287082"), std::nullopt);  // two steps later
  EXPECT_EQ(crypto::TotpMatchStep(secret, 59, 1, "28708"), std::nullopt);
  EXPECT_EQ(crypto::TotpMatchStep(secret, 59, 1, "28708a"), std::nullopt);
  auto b32 = crypto::TotpSecretBase32(secret);
  EXPECT_EQ(Str(b32), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_TRUE(*crypto::TotpSecretFromBase32(b32) == secret);
  auto uri = Str(crypto::TotpProvisioningUri(secret, "Cloison", "camille.martin"));
  EXPECT_EQ(uri.rfind("otpauth://totp/Cloison:camille.martin?secret=GEZDG", 0), 0u);
}

TEST(CidrTest, ParseAndContain) {
  auto c = Cidr::Parse("10.1.2.3/16");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ToString(), "10.1.0.0/16");
  EXPECT_TRUE(c->Contains("10.1.255.255"));
  EXPECT_FALSE(c->Contains("10.2.0.0"));
  EXPECT_FALSE(c->Contains("::1"));
  auto host = Cidr::Parse("192.0.2.7");
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE(host->Contains("192.0.2.7"));
  EXPECT_FALSE(host->Contains("192.0.2.8"));
  auto v6 = Cidr::Parse("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains("2001:db8:ffff::1"));
  EXPECT_FALSE(v6->Contains("2001:db9::1"));
  EXPECT_TRUE(c->Covers(*Cidr::Parse("10.1.7.0/24")));
  EXPECT_FALSE(c->Covers(*Cidr::Parse("10.0.0.0/8")));
  auto odd = Cidr::Parse("10.0.0.0/13");
  EXPECT_TRUE(odd->Contains("10.7.255.1"));
  EXPECT_FALSE(odd->Contains("10.8.0.1"));
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "foo", "10.0.0.0/", "::/129", ""})
    EXPECT_FALSE(Cidr::Parse(bad).ok()) << bad;
}

TEST(PasswordPolicyTest, Rules) {
  PasswordPolicy p;
  EXPECT_TRUE(p.Check(S("correct horse battery"), "camille").ok());
  EXPECT_FALSE(p.Check(S("short"), "camille").ok());
  EXPECT_FALSE(p.Check(S(std::string(129, 'a') + "bcdef"), "camille").ok());
  EXPECT_FALSE(p.Check(S("aaaaaaaaaaaaaaaa"), "camille").ok());
  EXPECT_FALSE(p.Check(S("my name is CAMILLE!"), "camille").ok());
  EXPECT_FALSE(p.Check(S("MotDePasse123"), "camille").ok());
  auto s = p.Check(S("MotDePasse123"), "camille");
  EXPECT_EQ(MessageOf(s).find("MotDePasse"), std::string_view::npos);
}

TEST(Throttle, ExponentialThenLock) {
  LockoutPolicy lp;
  const auto& rule = lp.per_account;
  AttemptRecord r;
  UnixMicros now = 1'000'000'000;
  bool locked = false;
  for (int i = 0; i < 3; ++i) r = rule.AfterFailure(r, now, locked);
  EXPECT_LE(rule.BlockedUntil(r, now), now);  // 3 free failures
  r = rule.AfterFailure(r, now, locked);
  EXPECT_EQ(rule.BlockedUntil(r, now), now + 1'000'000);
  r = rule.AfterFailure(r, now, locked);
  EXPECT_EQ(rule.BlockedUntil(r, now), now + 2'000'000);
  for (int i = 0; i < 4; ++i) r = rule.AfterFailure(r, now, locked);
  EXPECT_FALSE(locked);
  r = rule.AfterFailure(r, now, locked);  // 10th
  EXPECT_TRUE(locked);
  EXPECT_EQ(rule.BlockedUntil(r, now), now + 15 * 60 * 1'000'000LL);
  // Forgotten a day after the last failure.
  EXPECT_EQ(rule.BlockedUntil(r, now + 25LL * 3600 * 1'000'000), 0);
}

TEST(Repository, MigratesOnceAndReopens) {
  auto dir = std::filesystem::temp_directory_path() / ("cloison_iam_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "iam.db").string();
  {
    auto repo = OpenSqliteAccountRepository(path);
    ASSERT_TRUE(repo.ok()) << repo.status();
    Account a;
    a.username = "someone";
    a.structure = StructureId(3);
    a.roles = {Role::kCounsellor, Role::kDpo};
    a.status = AccountStatus::kActive;
    a.created_by = AccountId(7);
    auto id = (*repo)->InsertAccount(a, 1000);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->value(), 1000);
    EXPECT_EQ((*repo)->InsertAccount(a).status().code(), absl::StatusCode::kAlreadyExists);
  }
  {
    auto repo = OpenSqliteAccountRepository(path);
    ASSERT_TRUE(repo.ok()) << repo.status();
    auto a = (*repo)->FindAccountByUsername("someone");
    ASSERT_TRUE(a.ok() && a->has_value());
    EXPECT_EQ((*a)->roles, (std::vector<Role>{Role::kCounsellor, Role::kDpo}));
    EXPECT_EQ((*a)->created_by, AccountId(7));
    EXPECT_FALSE((*a)->approved_by.has_value());
  }
  std::filesystem::remove_all(dir);
}

// Statements are reused from call to call (the repository's statement
// cache): each call sees its own bindings, never the previous call's, and a
// query left half-read (a lookup of one row) does not hold the next back.
TEST(Repository, ReusedStatementsCarryNoBindingOrRowFromTheLastCall) {
  auto repo = OpenSqliteAccountRepository(":memory:");
  ASSERT_TRUE(repo.ok()) << repo.status();
  std::vector<AccountId> ids;
  for (int i = 0; i < 3; ++i) {
    Account a;
    a.username = "user" + std::to_string(i);
    a.structure = StructureId(10 + i);
    a.roles = {Role::kCounsellor};
    a.status = AccountStatus::kActive;
    auto id = (*repo)->InsertAccount(a);
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  for (int round = 0; round < 50; ++round) {
    const int i = round % 3;
    auto a = (*repo)->GetAccount(ids[static_cast<size_t>(i)]);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->username, "user" + std::to_string(i));
    EXPECT_EQ(a->structure, StructureId(10 + i));
    auto by_name = (*repo)->FindAccountByUsername(round % 2 ? "nobody" : "user1");
    ASSERT_TRUE(by_name.ok());
    EXPECT_EQ(by_name->has_value(), round % 2 == 0);
  }
  EXPECT_EQ((*repo)->GetAccount(AccountId(999)).status().code(), absl::StatusCode::kNotFound);
  auto all = (*repo)->ListAccounts();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST(ChangeSpecTest, JsonRoundTrip) {
  ChangeSpec s;
  s.kind = ChangeKind::kCreateTechnicalAccount;
  s.target = AccountId(5);
  s.structure = StructureId(3);
  s.username = "bot";
  s.scopes = {"a:b", "c"};
  s.networks = {"10.0.0.0/8"};
  s.expires_at = 123;
  s.quota = 10;
  auto back = ChangeSpec::FromJson(s.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson(), s.ToJson());
  EXPECT_NE(s.Describe().find("bot"), std::string::npos);
  EXPECT_FALSE(ChangeSpec::FromJson("{").ok());
}

TEST_F(IamFixture, BootstrapOnlyOnce) {
  auto b = svc_->Bootstrap({kNational, "root.so", "Root SO", {Role::kSecurityOfficer}});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->secret.size(), 20u);
  EXPECT_EQ(svc_->Bootstrap({kNational, "root.so2", "Root SO", {Role::kSecurityOfficer}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  Agent g{AccountId(50), kMlA1, "agent.fifty", "Fifty", "Agent", {Role::kCounsellor}};
  auto n = svc_->ImportAgents({g});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*svc_->ImportAgents({g}), 0);
  EXPECT_EQ(Get(AccountId(50)).username, "agent.fifty");
}

}  // namespace
}  // namespace cloison::iam
