// Security-relevant acts done from the command line reach the audit log
// like those done through the API: `cloison account suspend`, `account
// grant-role` + `request approve` (change request, approval, role_change),
// the logins and logouts of each invocation, `keys rotate` (key_rotation)
// and `audit export` (export). While another process (a server) holds the
// log, those commands refuse with exit 3 and change nothing.
//
// A generated network (300 people) in a temporary data directory; the
// officers are inserted through iam's repository with known passwords and
// TOTP secrets (enrolment confirmed with the previous 30-second step's code,
// so each officer's first CLI login with the current code is not a replay).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/log.h"
#include "cli_test_util.h"
#include "core/clock.h"
#include "core/field_catalog.h"
#include "core/random.h"
#include "crypto/keys.h"
#include "crypto/password.h"
#include "crypto/secure_random.h"
#include "crypto/totp.h"
#include "iam/repository.h"
#include "iam/service.h"
#include "store/store.h"

namespace cloison {
namespace {

using testing::RunCloison;
using testing::TempDir;

constexpr const char* kPassword = "correct horse battery staple";

crypto::SecretBytes S(std::string_view s) { return crypto::SecretBytes::FromString(s); }

struct Officer {
  AccountId id;
  std::vector<uint8_t> totp;  // raw secret
};

class AuditEventsCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    dir_ = new TempDir("audit-events-cli");
    data_ = *dir_ / "data";
    ASSERT_EQ(RunCloison("--data " + data_ + " init").exit_code, 0);
    auto r = RunCloison("--data " + data_ + " generate --persons 300 --seed 5 --no-files");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::ofstream(*dir_ / "pw") << kPassword << "\n";

    auto master = crypto::LoadMasterKey(data_ + "/master.key");
    ASSERT_TRUE(master.ok()) << master.status();
    std::map<StructureId, Structure> structures;
    {
      store::SqliteOptions so;
      so.path = data_ + "/cloison.db";
      auto store = store::OpenSqliteStore(so, FieldCatalog::Default(), *master, SystemClock::Instance());
      ASSERT_TRUE(store.ok()) << store.status();
      auto list = (*store)->ListStructures();
      ASSERT_TRUE(list.ok());
      for (auto& s : *list) structures[s.id] = s;
    }
    // A structure with a parent that itself has a parent: targets there,
    // requesters at the parent, the approver at the root.
    StructureId leaf, mid, root;
    for (const auto& [id, s] : structures) {
      if (!s.parent) continue;
      const auto& p = structures.at(*s.parent);
      if (p.parent && !structures.at(*p.parent).parent) {
        leaf = id, mid = p.id, root = *p.parent;
        break;
      }
    }
    ASSERT_TRUE(leaf.valid()) << "no three-level structure path";

    auto repo = iam::OpenSqliteAccountRepository(data_ + "/cloison.db");
    ASSERT_TRUE(repo.ok()) << repo.status();
    const UnixMicros now = SystemClock::Instance().NowMicros();
    auto add = [&](const std::string& name, StructureId s, Role role) -> AccountId {
      iam::Account a;
      a.kind = iam::AccountKind::kHuman;
      a.structure = s;
      a.username = name;
      a.display_name = name;
      a.roles = {role};
      a.status = iam::AccountStatus::kActive;
      a.created_at = a.updated_at = now - 365LL * 86400 * 1'000'000;
      a.daily_read_quota = 200;
      auto id = (*repo)->InsertAccount(a);
      EXPECT_TRUE(id.ok()) << id.status();
      auto hash = crypto::HashPassword(S(kPassword), crypto::PasswordHashCost::Test());
      EXPECT_TRUE((*repo)->SetPasswordHash(*id, *hash, now).ok());
      return *id;
    };
    officers_ = new std::map<std::string, Officer>();
    (*officers_)["so.a"].id = add("so.a", mid, Role::kSecurityOfficer);
    (*officers_)["so.b"].id = add("so.b", mid, Role::kSecurityOfficer);
    (*officers_)["so.nat"].id = add("so.nat", root, Role::kSecurityOfficer);
    target_one_ = add("target.one", leaf, Role::kCounsellor);
    target_two_ = add("target.two", leaf, Role::kAuditor);

    FakeClock clock(now - 30 * 1'000'000);  // the previous TOTP step
    iam::IamOptions opts;
    opts.password_cost = crypto::PasswordHashCost::Test();
    auto svc = iam::IamService::Create(
        **repo, *master, clock, crypto::SecureRandom::Instance(),
        [&](StructureId id) -> std::optional<StructureId> {
          auto it = structures.find(id);
          return it == structures.end() ? std::nullopt : it->second.parent;
        },
        opts);
    ASSERT_TRUE(svc.ok()) << svc.status();
    for (auto& [name, o] : *officers_) {
      iam::LoginRequest req{name, S(kPassword), {}, "127.0.0.1"};
      auto e = (*svc)->BeginTotpEnrollment(req);
      ASSERT_TRUE(e.ok()) << e.status();
      auto secret = crypto::TotpSecretFromBase32(e->secret_base32);
      ASSERT_TRUE(secret.ok());
      o.totp.assign(secret->data(), secret->data() + secret->size());
      req.second_factor = S(*crypto::TotpGenerate(*secret, clock.NowSeconds()));
      ASSERT_TRUE((*svc)->ConfirmTotpEnrollment(req).ok());
    }
  }
  static void TearDownTestSuite() {
    delete officers_;
    delete dir_;
  }

  // Runs an account/request command as `officer` with its current TOTP code.
  static testing::RunResult As(const std::string& officer, const std::string& args) {
    const auto& o = officers_->at(officer);
    auto code = crypto::TotpGenerate(crypto::SecretBytes(std::span<const uint8_t>(o.totp)),
                                     SystemClock::Instance().NowSeconds());
    return RunCloison("--data " + data_ + " " + args + " --as " + officer + " --password-file " + (*dir_ / "pw") +
                      " --totp " + *code);
  }

  // Every entry of the log, decoded (the log opened without side effects).
  static std::vector<audit::Event> Events() {
    audit::LogOptions o;
    o.checkpoint_on_open = o.checkpoint_on_close = false;
    o.checkpoint_every_entries = 0;
    o.checkpoint_every_micros = 0;
    auto log = audit::AuditLog::Open(data_ + "/audit", o);
    EXPECT_TRUE(log.ok()) << log.status();
    std::vector<audit::Event> out;
    if (!log.ok()) return out;
    for (uint64_t i = 0; i < (*log)->size(); ++i) {
      auto e = audit::DecodeEvent(*(*log)->ReadEntry(i));
      EXPECT_TRUE(e.ok()) << i << ": " << e.status();
      if (e.ok()) out.push_back(*e);
    }
    return out;
  }
  static std::string LogBytes() {
    std::ifstream in(data_ + "/audit/entries.log", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static iam::AccountStatus StatusOf(AccountId id) {
    auto repo = iam::OpenSqliteAccountRepository(data_ + "/cloison.db");
    auto a = (*repo)->GetAccount(id);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? a->status : iam::AccountStatus::kRejected;
  }

  static TempDir* dir_;
  static std::string data_;
  static std::map<std::string, Officer>* officers_;
  static AccountId target_one_, target_two_;
};
TempDir* AuditEventsCliTest::dir_ = nullptr;
std::string AuditEventsCliTest::data_;
std::map<std::string, Officer>* AuditEventsCliTest::officers_ = nullptr;
AccountId AuditEventsCliTest::target_one_, AuditEventsCliTest::target_two_;

// While a server holds the log, account and key commands and exports are
// refused before they do anything, with a message naming the holder.
// Runs first: it consumes no TOTP step (nobody logs in).
TEST_F(AuditEventsCliTest, A_LogHeldByAServerIsRefusedAndNothingHappens) {
  audit::LogOptions o;
  o.lock_owner = "cloison serve";
  auto server = audit::AuditLog::Open(data_ + "/audit", o);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string before = LogBytes();
  const std::string msg = "the audit log is held by a running server (pid " + std::to_string(::getpid()) +
                          "): use the HTTP API or stop the server";
  for (const std::string& cmd : {std::string("account suspend target.two --reason test"),
                                 std::string("request list")}) {
    auto r = As("so.b", cmd);
    EXPECT_EQ(r.exit_code, 3) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find(msg), std::string::npos) << r.output;
  }
  EXPECT_EQ(StatusOf(target_two_), iam::AccountStatus::kActive);
  auto r = RunCloison("--data " + data_ + " keys rotate");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find(msg), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("new data key"), std::string::npos) << r.output;  // nothing rotated
  r = RunCloison("--data " + data_ + " audit export");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find(msg), std::string::npos) << r.output;
  EXPECT_EQ(LogBytes(), before);
  server->reset();
}

TEST_F(AuditEventsCliTest, B_SuspensionRoleGrantAndApprovalAreRecorded) {
  const size_t from = Events().size();
  auto r = As("so.a", "account suspend target.one --reason \"rappel au 06 12 34 56 78: partage de compte\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(StatusOf(target_one_), iam::AccountStatus::kSuspended);
  r = As("so.b", "account grant-role target.two dpo --reason \"DPO deputy\"");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto pos = r.output.find("change request ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  const int64_t request = std::stoll(r.output.substr(pos + 15));
  r = As("so.nat", "request approve " + std::to_string(request) + " --note ok");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const auto all = Events();
  ASSERT_GT(all.size(), from);
  std::map<audit::EventKind, int> kinds;
  bool suspended = false, granted = false;
  for (size_t i = from; i < all.size(); ++i) {
    const audit::Event& e = all[i];
    ++kinds[e.kind];
    if (e.kind == audit::EventKind::kAccountChange && e.decision == "account_suspended") {
      suspended = true;
      EXPECT_EQ(e.account, officers_->at("so.a").id);
      EXPECT_EQ(e.numbers.at("subject"), target_one_.value());
      EXPECT_EQ(e.reason.find("06 12"), std::string::npos) << e.reason;  // redacted
      EXPECT_NE(e.reason.find("partage de compte"), std::string::npos) << e.reason;
    }
    if (e.kind == audit::EventKind::kRoleChange) {
      granted = true;
      EXPECT_EQ(e.account, officers_->at("so.nat").id);
      EXPECT_EQ(e.numbers.at("subject"), target_two_.value());
      EXPECT_EQ(e.numbers.at("request"), request);
    }
  }
  EXPECT_TRUE(suspended);
  EXPECT_TRUE(granted);
  EXPECT_EQ(kinds[audit::EventKind::kLogin], 3);
  EXPECT_EQ(kinds[audit::EventKind::kLogout], 3);  // each invocation closes its session
  EXPECT_EQ(kinds[audit::EventKind::kChangeRequest], 1);
  EXPECT_EQ(kinds[audit::EventKind::kApproval], 1);
  // The commands signed a checkpoint when they closed the log.
  r = RunCloison("--data " + data_ + " audit verify");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("uncovered entries: 0\n"), std::string::npos) << r.output;
}

TEST_F(AuditEventsCliTest, C_KeyRotationAndExportAreRecorded) {
  auto r = RunCloison("--data " + data_ + " keys rotate --batch 64");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto pos = r.output.find("new data key ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  const int64_t key_id = std::stoll(r.output.substr(pos + 13));
  const std::string out = *dir_ / "export-secret-name.jsonl";
  r = RunCloison("--data " + data_ + " audit export --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream exported(out);
  size_t lines = 0;
  for (std::string l; std::getline(exported, l);) ++lines;

  const auto all = Events();
  std::vector<const audit::Event*> rotation, exports;
  for (const auto& e : all) {
    if (e.kind == audit::EventKind::kKeyRotation) rotation.push_back(&e);
    if (e.kind == audit::EventKind::kExport) exports.push_back(&e);
  }
  ASSERT_EQ(rotation.size(), 2u);
  EXPECT_EQ(rotation[0]->decision, "started");
  EXPECT_EQ(rotation[1]->decision, "completed");
  for (const auto* e : rotation) EXPECT_EQ(e->numbers.at("key_id"), key_id);
  EXPECT_GT(rotation[0]->numbers.at("values_to_reencrypt"), 0);
  EXPECT_EQ(rotation[1]->numbers.at("values_reencrypted"), rotation[0]->numbers.at("values_to_reencrypt"));
  EXPECT_EQ(rotation[1]->numbers.at("values_remaining"), 0);
  EXPECT_GE(rotation[1]->numbers.at("batches"), 1);

  ASSERT_EQ(exports.size(), 2u);
  EXPECT_EQ(exports[0]->decision, "started");
  EXPECT_EQ(exports[1]->decision, "completed");
  for (const auto* e : exports) {
    EXPECT_EQ(e->details.at("format"), "jsonl");
    EXPECT_EQ(e->details.at("destination"), "file");
    EXPECT_EQ(e->numbers.at("from"), 0);
    EXPECT_EQ(e->numbers.at("entries"), static_cast<int64_t>(lines));
  }
  EXPECT_EQ(exports[1]->numbers.at("sent"), static_cast<int64_t>(lines));
  // The range is what the log held before the export recorded itself.
  EXPECT_EQ(exports[0]->numbers.at("to"), static_cast<int64_t>(lines));
  EXPECT_EQ(LogBytes().find("export-secret-name"), std::string::npos);  // no path in the log
}

}  // namespace
}  // namespace cloison
