// The server's guard across restarts (cli/guard_state.h: the state file, its
// damage, the replay of the audit log) in-process with a real guard and a
// real audit log; `cloison guard alerts` end to end over an audit log with
// guard_action entries; `cloison serve` saving and reloading its state.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>  // before Boost.Asio (std::exchange in awaitable.hpp)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/log.h"
#include "cli/guard_state.h"
#include "cli_test_util.h"
#include "core/clock.h"
#include "core/strings.h"
#include "crypto/secure_random.h"
#include "guard/guard.h"
#include "iam/repository.h"

namespace cloison::testing {
namespace {

using nlohmann::json;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void Write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
int Mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

constexpr int64_t kMin = 60'000'000;
constexpr int64_t kDay = 86'400'000'000LL;
// Monday 2025-09-22 09:00 UTC (11:00 in Paris): opening hours.
constexpr UnixMicros kMonday = 1'758'531'600'000'000LL;

guard::AccountProfile Counsellor(int64_t id) {
  guard::AccountProfile p;
  p.account = AccountId(id);
  p.structure = StructureId(3);
  p.structure_kind = StructureKind::kAgency;
  p.roles = {Role::kCounsellor};
  p.created_at = kMonday - 400 * kDay;
  return p;
}

// An audit entry as the API's read path writes it.
audit::Event ReadEntry(int64_t account, int64_t person, UnixMicros t) {
  audit::Event e;
  e.kind = audit::EventKind::kRead;
  e.time = t;
  e.account = AccountId(account);
  e.session = "1";
  e.source = "10.0.0.1";
  e.persons = {PersonId(person)};
  e.purpose = "accompaniment";
  e.decision = "allow";
  e.reason = "counsellor-accompaniment";
  e.details["rule"] = "counsellor-accompaniment";
  return e;
}

class GuardStateTest : public ::testing::Test {
 protected:
  GuardStateTest() : dir_("guard-state"), clock_(kMonday) {}
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    log_ = OpenLog("audit");
    path_ = dir_ / "data/guard/state";
  }
  std::unique_ptr<audit::AuditLog> OpenLog(const std::string& name) {
    audit::LogOptions lo;
    lo.clock = &clock_;
    auto log = audit::AuditLog::Open(dir_ / name, lo);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<guard::Guard> NewGuard() {
    auto g = guard::Guard::Create(guard::GuardConfig::Default(), clock_);
    for (int64_t id : {7, 8, 9}) g->RegisterAccount(Counsellor(id));
    return g;
  }
  // Ten weekdays of ordinary work for account 7: three windows a day, 40
  // people of a pool of 60 each, observed (like a replayed log).
  void History(guard::Guard& g) {
    for (int day = -14; day < 0; ++day) {
      const UnixMicros d = kMonday + day * kDay;
      const int dow = ((day % 7) + 7) % 7;  // 0 = Monday
      if (dow >= 5) continue;
      for (int w = 0; w < 3; ++w)
        for (int i = 0; i < 40; ++i) {
          const PersonId p[1] = {PersonId(1 + (i * 7 + day + w) % 60)};
          guard::Access a;
          a.time = d + w * 60 * kMin + i * 10'000'000;
          a.account = AccountId(7);
          a.persons = p;
          g.Observe(a);
        }
    }
  }
  // Account 7 reads 40 of its pool in a few minutes, now.
  guard::Action Burst(guard::Guard& g, UnixMicros at) {
    guard::Action worst = guard::Action::kAllow;
    for (int i = 0; i < 40; ++i) {
      const PersonId p[1] = {PersonId(1 + (i * 7) % 60)};  // 40 distinct, never adjacent ids
      guard::Access a;
      a.time = at + i * 5'000'000;
      a.account = AccountId(7);
      a.persons = p;
      worst = std::max(worst, g.Assess(a).action);
    }
    return worst;
  }
  // Account 9 touches a honeytoken: suspended by the guard.
  void SuspendNine(guard::Guard& g) {
    g.AddHoneytoken(PersonId(999));
    const PersonId p[1] = {PersonId(999)};
    guard::Access a;
    a.time = clock_.NowMicros();
    a.account = AccountId(9);
    a.persons = p;
    ASSERT_EQ(g.Assess(a).action, guard::Action::kSuspend);
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<audit::AuditLog> log_;
  std::string path_;
};

TEST_F(GuardStateTest, NoStateMeansReplayTheWholeLog) {
  auto g = NewGuard();
  auto load = cli::LoadGuardState(*g, *log_, path_);
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_FALSE(load->found);
  EXPECT_FALSE(load->loaded);
  EXPECT_EQ(load->covered, 0u);
}

TEST_F(GuardStateTest, SavedStateReloadsBaselinesAndSuspensionsAndIsPrivate) {
  auto g = NewGuard();
  History(*g);
  SuspendNine(*g);
  ASSERT_TRUE(log_->Append(ReadEntry(8, 5, clock_.NowMicros())).ok());
  ASSERT_TRUE(cli::SaveGuardState(*g, *log_, path_).ok());
  EXPECT_EQ(Mode(path_), 0600);
  EXPECT_EQ(Mode(dir_ / "data/guard"), 0700);
  EXPECT_EQ(Slurp(path_).rfind("CLOISON-SERVER-GUARD 1 1 ", 0), 0u) << Slurp(path_).substr(0, 100);

  auto restored = NewGuard();
  auto load = cli::LoadGuardState(*restored, *log_, path_);
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_TRUE(load->loaded) << load->problem;
  EXPECT_EQ(load->covered, 1u);
  // The suspension survives: still refused, still alerted.
  EXPECT_TRUE(restored->UnderAlert(AccountId(9)));
  EXPECT_EQ(restored->Alerts(0).size(), g->Alerts(0).size());
  // The baseline survives: 40 people in a window is this account's ordinary
  // work; for a guard without its history it is not.
  auto fresh = NewGuard();
  const guard::Action with_baseline = Burst(*restored, kMonday + 60 * kMin);
  const guard::Action without = Burst(*fresh, kMonday + 60 * kMin);
  EXPECT_LT(with_baseline, without);
  EXPECT_LT(with_baseline, guard::Action::kAlert);
}

TEST_F(GuardStateTest, EntriesAfterTheSnapshotAreReplayed) {
  auto g = NewGuard();
  ASSERT_TRUE(log_->Append(ReadEntry(8, 5, kMonday)).ok());
  ASSERT_TRUE(cli::SaveGuardState(*g, *log_, path_).ok());
  // After the save: account 8 reads 60 distinct people, then a non-access entry.
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(log_->Append(ReadEntry(8, 100 + i, kMonday + i * 1'000'000)).ok());
  audit::Event login;
  login.kind = audit::EventKind::kLogin;
  login.time = kMonday;
  login.account = AccountId(8);
  ASSERT_TRUE(log_->Append(login).ok());

  auto restored = NewGuard();
  auto load = cli::LoadGuardState(*restored, *log_, path_);
  ASSERT_TRUE(load.ok() && load->loaded);
  auto replay = cli::ReplayAuditLog(*restored, *log_, load->covered);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->entries, 61u);
  EXPECT_EQ(replay->accesses, 60u);
  // Waiting for the restart did not reset the window: the next person is
  // the 61st in 10 minutes.
  const PersonId next[1] = {PersonId(500)};
  guard::Access a;
  a.time = kMonday + 61'000'000;
  a.account = AccountId(8);
  a.persons = next;
  EXPECT_GE(restored->Assess(a).action, guard::Action::kAlert);
  EXPECT_EQ(NewGuard()->Assess(a).action, guard::Action::kAllow);
}

TEST_F(GuardStateTest, ADamagedStateIsSetAsideAndNotLoaded) {
  auto g = NewGuard();
  SuspendNine(*g);
  ASSERT_TRUE(log_->Append(ReadEntry(8, 5, kMonday)).ok());
  ASSERT_TRUE(cli::SaveGuardState(*g, *log_, path_).ok());
  const std::string good = Slurp(path_);

  auto expect_damaged = [&](const std::string& contents, const std::string& why) {
    Write(path_, contents);
    auto fresh = NewGuard();
    auto load = cli::LoadGuardState(*fresh, *log_, path_);
    ASSERT_TRUE(load.ok()) << load.status();
    EXPECT_TRUE(load->found) << why;
    EXPECT_FALSE(load->loaded) << why;
    EXPECT_EQ(load->covered, 0u) << why;
    EXPECT_NE(load->problem.find(why), std::string::npos) << load->problem;
    EXPECT_FALSE(fresh->UnderAlert(AccountId(9))) << "left as it was";
    EXPECT_FALSE(std::filesystem::exists(path_)) << "set aside";
    EXPECT_EQ(Slurp(path_ + ".damaged"), contents);
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  expect_damaged(flipped, "damaged");
  expect_damaged(good.substr(0, good.size() - 10), "damaged");
  expect_damaged(good.substr(0, 30), "header");
  expect_damaged("", "header");
  expect_damaged("CLOISON-SERVER-GUARD 1 1 00\n" + good.substr(good.find('\n') + 1), "header");
  expect_damaged("CLOISON-SERVER-GUARD 1 5 " + std::string(64, '0') + "\n" + good.substr(good.find('\n') + 1),
                 "only 1");
  // Saved against another log of the same size.
  {
    auto other = OpenLog("other-audit");
    ASSERT_TRUE(other->Append(ReadEntry(8, 6, kMonday)).ok());
    ASSERT_TRUE(cli::SaveGuardState(*g, *other, path_).ok());
    const std::string foreign = Slurp(path_);
    expect_damaged(foreign, "another audit log");
    ASSERT_TRUE(other->Close().ok());
  }
  // The good one still loads.
  Write(path_, good);
  auto fresh = NewGuard();
  auto load = cli::LoadGuardState(*fresh, *log_, path_);
  ASSERT_TRUE(load.ok() && load->loaded) << load->problem;
  EXPECT_TRUE(fresh->UnderAlert(AccountId(9)));
}

// ------------------------------------------------------------ cloison guard alerts

class GuardAlertsCliTest : public ::testing::Test {
 protected:
  GuardAlertsCliTest() : dir_("guard-alerts"), data_(dir_ / "data") {}
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    std::filesystem::create_directories(data_);
    // iam's tables (usernames) in the data directory's database.
    auto repo = iam::OpenSqliteAccountRepository(data_ + "/cloison.db");
    ASSERT_TRUE(repo.ok()) << repo.status();
    for (const char* name : {"jean.dupont", "sync.of67"}) {
      iam::Account a;
      a.username = name;
      a.display_name = name;
      a.structure = StructureId(3);
      a.roles = {Role::kCounsellor};
      a.status = iam::AccountStatus::kActive;
      auto id = (*repo)->InsertAccount(a, 100);
      ASSERT_TRUE(id.ok()) << id.status();
      ids_.push_back(*id);
    }
    audit::LogOptions lo;
    auto log = audit::AuditLog::Open(data_ + "/audit", lo);
    ASSERT_TRUE(log.ok()) << log.status();
    const UnixMicros t0 = 1'760'000'000'000'000;  // 2025-10-09T08:53:20Z
    auto action = [&](AccountId who, const char* decision, double score, UnixMicros t, const char* why) {
      audit::Event e;
      e.kind = audit::EventKind::kGuardAction;
      e.time = t;
      e.account = who;
      e.session = "12";
      e.source = "10.0.0.1";
      e.decision = decision;
      e.reason = why;
      e.details["score"] = StrCat(score);
      e.details["context"] = "read";
      e.details["signals"] = "volume,sequential_ids";
      ASSERT_TRUE((*log)->Append(e).ok());
    };
    ASSERT_TRUE((*log)->Append(ReadEntry(ids_[0].value(), 5, t0)).ok());
    action(ids_[0], "record", 2, t0, "a little unusual");
    action(ids_[0], "throttle", 8.25, t0 + kMin, "read 40 distinct people in 10 minutes");
    action(ids_[0], "throttle", 9.5, t0 + 2 * kMin, "read 52 distinct people in 10 minutes");
    action(ids_[0], "throttle", 8.5, t0 + 3 * kMin, "read 53 distinct people in 10 minutes");
    action(ids_[0], "suspend", 10.5, t0 + 4 * kMin, "read 60 distinct people in 10 minutes");
    action(ids_[1], "alert", 4.5, t0 + 2 * kDay, "new network at night");
    audit::Event quota;  // a quota refusal is not a guard alert
    quota.kind = audit::EventKind::kGuardAction;
    quota.time = t0;
    quota.account = ids_[1];
    quota.decision = "deny";
    quota.reason = "quota_per_hour";
    ASSERT_TRUE((*log)->Append(quota).ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  RunResult Alerts(const std::string& args) { return RunCloison("--data " + data_ + " guard alerts " + args); }
  TempDir dir_;
  std::string data_;
  std::vector<AccountId> ids_;
};

TEST_F(GuardAlertsCliTest, PrintsAlertsFoldedInLogOrder) {
  auto r = Alerts("");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::vector<std::string> v;
  for (std::string l; std::getline(lines, l);) v.push_back(l);
  ASSERT_EQ(v.size(), 3u) << r.output;
  EXPECT_EQ(v[0].rfind("2025-10-09T08:54:20Z  jean.dupont (100)  throttle  score 9.50  read 52 distinct people", 0), 0u)
      << v[0];
  EXPECT_NE(v[0].find("[+2 until 2025-10-09T08:56:20Z]"), std::string::npos) << v[0];
  EXPECT_NE(v[1].find("suspend  score 10.50  read 60"), std::string::npos) << v[1];
  EXPECT_NE(v[2].find("sync.of67 (101)  alert  score 4.50  new network at night"), std::string::npos) << v[2];
  EXPECT_EQ(r.output.find("a little unusual"), std::string::npos) << "record is not an alert";
  EXPECT_EQ(r.output.find("quota"), std::string::npos);
}

TEST_F(GuardAlertsCliTest, JsonLinesAndFilters) {
  auto r = Alerts("--json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::vector<json> v;
  for (std::string l; std::getline(lines, l);) v.push_back(json::parse(l));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0]["username"], "jean.dupont");
  EXPECT_EQ(v[0]["account_id"], 100);
  EXPECT_EQ(v[0]["action"], "throttle");
  EXPECT_EQ(v[0]["score"], 9.5);
  EXPECT_EQ(v[0]["repeats"], 2);
  EXPECT_EQ(v[0]["time"], "2025-10-09T08:54:20Z");
  EXPECT_EQ(v[0]["last_time"], "2025-10-09T08:56:20Z");
  EXPECT_EQ(v[0]["signals"], (json{"volume", "sequential_ids"}));
  EXPECT_EQ(v[0]["context"], "read");
  EXPECT_TRUE(v[0]["audit_index"].is_number_unsigned());

  r = Alerts("--json --account sync.of67");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  r = Alerts("--account JEAN.DUPONT --since 2025-10-09T08:57:00Z");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("suspend"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("throttle"), std::string::npos) << r.output;
  r = Alerts("--since 2025-10-12");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no guard alerts matching"), std::string::npos) << r.output;
}

TEST_F(GuardAlertsCliTest, ExitCodes) {
  auto r = Alerts("--since yesterday");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--since"), std::string::npos) << r.output;
  r = Alerts("--account nobody");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no account named 'nobody'"), std::string::npos) << r.output;
  r = RunCloison("--data " + (dir_ / "nowhere") + " guard alerts");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "nowhere/cloison.db")) << "never creates a database";
  std::filesystem::remove_all(data_ + "/audit");
  r = Alerts("");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("no audit log"), std::string::npos) << r.output;
  EXPECT_EQ(RunCloison("guard").exit_code, 2);
}

// ------------------------------------------------------------ cloison serve

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

int Status(uint16_t port, const std::string& target) {
  try {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.expires_after(std::chrono::seconds(5));
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http::request<http::string_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    return res.result_int();
  } catch (const std::exception&) {
    return -1;
  }
}

// `cloison serve --insecure-http` until SIGTERM; returns its output and exit code.
RunResult ServeOnce(const std::string& data, const std::string& log) {
  uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string listen = StrCat("127.0.0.1:", port);
    ::execl(CLOISON_BINARY, CLOISON_BINARY, "--data", data.c_str(), "serve", "--insecure-http", "--listen",
            listen.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  RunResult out;
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    up = Status(port, "/v1/healthz") == 200;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.exit_code = up && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  out.output = Slurp(log);
  return out;
}

TEST(ServeGuardTest, SavesItsStateAtStopAndReloadsOrRebuildsItAtStart) {
  TempDir dir("serve-guard");
  const std::string data = dir / "data";
  ASSERT_EQ(RunCloison("--data " + data + " init").exit_code, 0);
  ASSERT_EQ(RunCloison("--data " + data + " generate --persons 200 --seed 3 --no-files").exit_code, 0);
  const std::string state = data + "/guard/state";

  RunResult r = ServeOnce(data, dir / "serve1.log");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex("guard: no saved state: replayed the whole audit log \\(\\d+ entries\\)")))
      << r.output;
  EXPECT_NE(r.output.find("accounts registered"), std::string::npos) << r.output;
  // The decoys `generate` planted are the guard's honeytokens.
  EXPECT_TRUE(std::regex_search(r.output, std::regex("accounts registered, [1-9][0-9]* honeytokens"))) << r.output;
  EXPECT_NE(r.output.find("cloison: guard state saved to " + state), std::string::npos) << r.output;
  EXPECT_EQ(Mode(state), 0600);
  EXPECT_EQ(Slurp(state).rfind("CLOISON-SERVER-GUARD 1 ", 0), 0u);

  r = ServeOnce(data, dir / "serve2.log");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex("guard: loaded " + state + " \\(\\d+ audit entries\\), replayed the 0 newer entries")))
      << r.output;

  // A damaged state: said on stderr, set aside, rebuilt from the log; never
  // silently empty.
  std::string text = Slurp(state);
  text[text.size() - 20] ^= 0x01;
  Write(state, text);
  r = ServeOnce(data, dir / "serve3.log");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cloison: guard: the saved state " + state + " was not loaded"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rebuilt from the whole audit log"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(state + ".damaged"));
  EXPECT_TRUE(std::filesystem::exists(state)) << "a fresh state was saved at the stop";
  r = ServeOnce(data, dir / "serve4.log");
  EXPECT_NE(r.output.find("guard: loaded"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cloison::testing
