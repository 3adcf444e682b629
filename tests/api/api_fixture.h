// Shared fixture for the API tests: a real SQLite store and iam repository in
// one temporary database file, a real audit log, the default policy, a fake
// clock, and a Handler over them (no sockets).
//
//   structures: 1 FT-DG (national) > 2 DR-GE > 3 ML-67-003, 4 ML-67-004
//   people: 101, 102, 103, 104 followed by ML-67-003; 201 by ML-67-004
//   accounts: counsellor (ML-67-003), quota3 (ML-67-003, daily quota 3),
//             suspended (ML-67-003), tech (technical, network 10.1.0.0/16)
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/handler.h"
#include "audit/log.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/password.h"
#include "crypto/secure_random.h"
#include "crypto/token.h"
#include "crypto/totp.h"
#include "iam/repository.h"
#include "iam/service.h"
#include "policy/policy.h"
#include "policy/relation_index.h"
#include "store/store.h"

namespace cloison::api {

inline constexpr const char* kPassword = "correct horse battery staple";
inline constexpr const char* kApiKey = "clk_test_api_key_0123456789abcdef";
inline constexpr const char* kEmail101 = "lea.martin@example.org";
inline constexpr const char* kNir101 = "299046700000142";

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void TearDown() override {
    handler_.reset();
    if (audit_) {
      EXPECT_TRUE(audit_->Close().ok());
    }
    audit_.reset();
    index_.reset();
    iam_.reset();
    repo_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    static std::atomic<int> counter{0};
    ASSERT_TRUE(crypto::InitCrypto().ok());
    dir_ = std::filesystem::temp_directory_path() /
           StrCat("cloison_api_test_", static_cast<int64_t>(::getpid()), "_", counter.fetch_add(1));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    master_ = crypto::SecretBytes(32);
    for (size_t i = 0; i < 32; ++i) master_.mutable_data()[i] = static_cast<uint8_t>(i * 5 + 3);
    store::SqliteOptions so;
    so.path = (dir_ / "cloison.db").string();
    auto st = store::OpenSqliteStore(so, FieldCatalog::Default(), master_, clock_);
    ASSERT_TRUE(st.ok()) << st.status();
    store_ = std::move(*st);
    auto structure = [](int64_t id, StructureKind k, std::optional<int64_t> parent, const char* code) {
      Structure s;
      s.id = StructureId(id);
      s.kind = k;
      if (parent) s.parent = StructureId(*parent);
      s.code = code;
      s.name = code;
      return s;
    };
    for (const Structure& s : {structure(1, StructureKind::kNationalOperator, std::nullopt, "FT-DG"),
                               structure(2, StructureKind::kRegionalDirection, 1, "DR-GE"),
                               structure(3, StructureKind::kMissionLocale, 2, "ML-67-003"),
                               structure(4, StructureKind::kMissionLocale, 2, "ML-67-004")}) {
      ASSERT_TRUE(store_->UpsertStructure(s).ok());
    }
    const FieldCatalog& cat = FieldCatalog::Default();
    std::vector<Person> people;
    for (int64_t id : {101, 102, 103, 104, 201}) {
      Person p;
      p.id = PersonId(id);
      p.referent_structure = StructureId(id == 201 ? 4 : 3);
      p.fields.assign(cat.size(), "");
      p.fields[*cat.IndexOf("nom")] = "MARTIN";
      p.fields[*cat.IndexOf("prenom")] = "Léa";
      p.fields[*cat.IndexOf("sexe")] = "F";
      p.fields[*cat.IndexOf("date_naissance")] = "2004-03-02";
      p.fields[*cat.IndexOf("ft_id")] = StrCat("1234567", id);
      p.fields[*cat.IndexOf("date_inscription")] = "2025-01-06";
      p.fields[*cat.IndexOf("statut")] = "en_accompagnement";
      p.fields[*cat.IndexOf("nir")] = StrCat("2990467000", id, "42").substr(0, 15);
      if (id == 101) p.fields[*cat.IndexOf("nir")] = kNir101;
      p.fields[*cat.IndexOf("email")] = id == 101 ? std::string(kEmail101) : StrCat("p", id, "@example.org");
      people.push_back(p);
    }
    auto up = store_->UpsertPersons(people);
    ASSERT_TRUE(up.ok()) << up.status();

    auto repo = iam::OpenSqliteAccountRepository(so.path);
    ASSERT_TRUE(repo.ok()) << repo.status();
    repo_ = std::move(*repo);
    iam::IamOptions opts;
    opts.password_cost = crypto::PasswordHashCost::Test();
    auto svc = iam::IamService::Create(
        *repo_, master_, clock_, random_,
        [](StructureId s) -> std::optional<StructureId> {
          if (s.value() == 3 || s.value() == 4) return StructureId(2);
          if (s.value() == 2) return StructureId(1);
          return std::nullopt;
        },
        opts);
    ASSERT_TRUE(svc.ok()) << svc.status();
    iam_ = std::move(*svc);
    counsellor_ = AddHuman("counsellor", 3, 200);
    AddHuman("quota3", 3, 3);
    suspended_ = AddHuman("suspended", 3, 200);
    AddTechnical("tech", 3);

    auto index = policy::RelationIndex::Build(*store_);
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    audit::LogOptions lo;
    lo.clock = &clock_;
    auto log = audit::AuditLog::Open((dir_ / "audit").string(), lo);
    ASSERT_TRUE(log.ok()) << log.status();
    audit_ = std::move(*log);
    handler_ = std::make_unique<Handler>(BaseDeps());
  }

  // The Handler's dependencies over the fixture's store, iam, index, audit
  // log and clock, with the default policy; no guard.
  HandlerDeps BaseDeps() {
    HandlerDeps deps;
    deps.store = store_.get();
    deps.iam = iam_.get();
    deps.policy = &policy::Policy::Default();
    deps.index = index_.get();
    deps.audit = audit_.get();
    deps.clock = &clock_;
    deps.account_repo = repo_.get();
    deps.query_digest_key = access::QueryDigester::KeyFromMaster(master_);
    return deps;
  }

  // A new relation index (it sees what the test added to the store) and a
  // Handler over it, the same store, log and iam.
  void RebuildIndexAndHandler(Limits limits = {}) {
    handler_.reset();
    auto index = policy::RelationIndex::Build(*store_);
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    handler_ = std::make_unique<Handler>(BaseDeps(), limits);
  }

  AccountId AddHuman(const std::string& username, int64_t structure, int64_t quota,
                     std::vector<Role> roles = {Role::kCounsellor}) {
    iam::Account a;
    a.kind = iam::AccountKind::kHuman;
    a.structure = StructureId(structure);
    a.username = username;
    a.display_name = username;
    a.roles = std::move(roles);
    a.status = iam::AccountStatus::kActive;
    a.created_at = a.updated_at = clock_.NowMicros() - 365LL * 86400 * 1'000'000;
    a.daily_read_quota = quota;
    auto id = repo_->InsertAccount(a, 1000);
    EXPECT_TRUE(id.ok()) << id.status();
    auto hash = crypto::HashPassword(crypto::SecretBytes::FromString(kPassword), crypto::PasswordHashCost::Test());
    EXPECT_TRUE(repo_->SetPasswordHash(*id, *hash, clock_.NowMicros()).ok());
    return *id;
  }

  AccountId AddTechnical(const std::string& username, int64_t structure) {
    iam::Account a;
    a.kind = iam::AccountKind::kTechnical;
    a.structure = StructureId(structure);
    a.username = username;
    a.display_name = username;
    a.status = iam::AccountStatus::kActive;
    a.created_at = a.updated_at = clock_.NowMicros() - 86400LL * 1'000'000;
    a.daily_read_quota = 1000;
    a.technical.purpose = "ouiform-sync";
    a.technical.scopes = {"people:read", "orientations:write"};
    a.technical.networks = {"10.1.0.0/16"};
    a.technical.expires_at = clock_.NowMicros() + 30LL * 86400 * 1'000'000;
    auto id = repo_->InsertAccount(a, 1000);
    EXPECT_TRUE(id.ok()) << id.status();
    auto hasher = crypto::TokenHasher::FromMaster(master_);
    EXPECT_TRUE(repo_->SetApiKey(*id, hasher.Hash("api_key", crypto::SecretBytes::FromString(kApiKey)), clock_.NowMicros()).ok());
    return *id;
  }

  // A privileged account (access manager, security officer, DPO, auditor)
  // with TOTP enrolled; log it in with LoginMfa. `created_by` sets its
  // provenance (dual-control independence tests).
  AccountId AddPrivileged(const std::string& username, int64_t structure, std::vector<Role> roles,
                          std::optional<AccountId> created_by = std::nullopt) {
    AccountId id = AddHuman(username, structure, 0, std::move(roles));
    if (created_by) {
      auto a = repo_->GetAccount(id);
      EXPECT_TRUE(a.ok());
      a->created_by = created_by;
      EXPECT_TRUE(repo_->UpdateAccount(*a).ok());
    }
    iam::LoginRequest lr{username, crypto::SecretBytes::FromString(kPassword), {}, "10.0.0.1"};
    auto en = iam_->BeginTotpEnrollment(lr);
    EXPECT_TRUE(en.ok()) << en.status();
    auto secret = crypto::TotpSecretFromBase32(en->secret_base32);
    EXPECT_TRUE(secret.ok());
    lr.second_factor = crypto::SecretBytes::FromString(*crypto::TotpGenerate(*secret, clock_.NowSeconds()));
    EXPECT_TRUE(iam_->ConfirmTotpEnrollment(lr).ok());
    totp_secrets_.emplace(username, std::move(*secret));
    return id;
  }

  // Logs a TOTP-enrolled account in with a fresh code (the clock moves on
  // 30 s first: a code's step is accepted once). Returns the bearer token.
  std::string LoginMfa(const std::string& username) {
    clock_.AdvanceSeconds(30);
    auto it = totp_secrets_.find(username);
    EXPECT_TRUE(it != totp_secrets_.end()) << username;
    if (it == totp_secrets_.end()) return "";
    Response r = Call("POST", "/v1/sessions",
                      nlohmann::json{{"username", username}, {"password", kPassword},
                                     {"totp", *crypto::TotpGenerate(it->second, clock_.NowSeconds())}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("token") ? j["token"].get<std::string>() : "";
  }

  Response Call(std::string method, std::string target, std::string body = "",
                std::vector<std::pair<std::string, std::string>> headers = {}, std::string peer = "10.0.0.1") {
    Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers = std::move(headers);
    if (!r.body.empty() && !r.Header("content-type")) r.headers.emplace_back("content-type", "application/json");
    r.peer = std::move(peer);
    return transport_ ? transport_(r) : handler_->Handle(r);
  }

  // Logs in; returns the bearer token ("" on failure).
  std::string Login(const std::string& username) {
    Response r = Call("POST", "/v1/sessions",
                      nlohmann::json{{"username", username}, {"password", kPassword}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("token") ? j["token"].get<std::string>() : "";
  }

  static std::vector<std::pair<std::string, std::string>> Bearer(const std::string& token) {
    return {{"authorization", "Bearer " + token}};
  }

  static nlohmann::json J(const Response& r) { return nlohmann::json::parse(r.body, nullptr, false); }

  // Every error answer has the stable shape.
  static void ExpectError(const Response& r, int status, std::string_view code = "") {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = J(r);
    ASSERT_TRUE(j.is_object()) << r.body;
    ASSERT_TRUE(j.contains("error")) << r.body;
    ASSERT_TRUE(j["error"]["code"].is_string()) << r.body;
    ASSERT_TRUE(j["error"]["message"].is_string()) << r.body;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    if (!code.empty()) {
      EXPECT_EQ(j["error"]["code"].get<std::string>(), std::string(code)) << r.body;
    }
  }

  std::vector<audit::Event> AuditEvents() {
    std::vector<audit::Event> out;
    for (uint64_t i = 0; i < audit_->size(); ++i) {
      auto bytes = audit_->ReadEntry(i);
      EXPECT_TRUE(bytes.ok());
      auto e = audit::DecodeEvent(*bytes);
      EXPECT_TRUE(e.ok());
      if (e.ok()) out.push_back(*e);
    }
    return out;
  }

  std::filesystem::path dir_;
  crypto::SecretBytes master_;
  FakeClock clock_{1'760'000'000'000'000};  // 2025-10-09
  DeterministicRandom random_{7};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<iam::AccountRepository> repo_;
  std::unique_ptr<iam::IamService> iam_;
  std::unique_ptr<policy::RelationIndex> index_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<Handler> handler_;
  AccountId counsellor_, suspended_;
  std::map<std::string, crypto::SecretBytes> totp_secrets_;  // AddPrivileged
  // How Call reaches the Handler: unset, directly; a test may route every
  // call over the network instead (https_integration_test.cc: the real TLS
  // server; there the peer address is the socket's, whatever Call's `peer`).
  std::function<Response(const Request&)> transport_;
};

}  // namespace cloison::api
