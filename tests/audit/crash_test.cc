// Crash test: a child process appends under load (8 writers) and is killed
// with SIGKILL at random moments; after each kill the log must reopen (a torn
// tail is cut), verify, and hold every entry the child acknowledged, with the
// content the child wrote. Power loss (unsynced bytes lost) is covered in
// log_test.cc with the fault-injecting file system.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include "audit/log.h"
#include "audit/verify.h"
#include "core/random.h"

namespace cloison::audit {
namespace {

struct Ack {
  uint64_t index, writer, seq;
};

TEST(CrashTest, SigkillUnderLoadLosesNoAcknowledgedEntry) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("cloison-crash-" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);
  DeterministicRandom rnd(static_cast<uint64_t>(::getpid()));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::vector<Ack> all_acks;
  int rounds = 0, torn = 0;
  while (rounds < 25 && std::chrono::steady_clock::now() < deadline) {
    ++rounds;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execl(AUDIT_CRASH_HELPER, AUDIT_CRASH_HELPER, dir.c_str(), "8", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string data;
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(30 + rnd.Uniform(400));
    char buf[65536];
    while (std::chrono::steady_clock::now() < kill_at) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, 5) > 0) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
      }
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "helper exited early with " << WEXITSTATUS(status);
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);

    std::istringstream in(data);
    Ack a;
    while (in >> a.index >> a.writer >> a.seq) all_acks.push_back(a);

    LogOptions o;
    o.checkpoint_on_close = true;
    auto log = AuditLog::Open(dir, o);
    ASSERT_TRUE(log.ok()) << "round " << rounds << ": " << log.status();
    torn += (*log)->recovery().torn_bytes_cut > 0;
    for (const Ack& ack : all_acks) {
      ASSERT_LT(ack.index, (*log)->size()) << "acknowledged entry lost, round " << rounds;
      auto leaf = (*log)->ReadEntry(ack.index);
      ASSERT_TRUE(leaf.ok()) << leaf.status();
      auto e = DecodeEvent(*leaf);
      ASSERT_TRUE(e.ok());
      // The writer ids restart each round, so check the pair matches some
      // round's child: account and seq recorded together.
      ASSERT_EQ(e->account.value(), int64_t(ack.writer));
      ASSERT_EQ(e->details.at("seq"), std::to_string(ack.seq));
    }
    ASSERT_TRUE((*log)->Close().ok());
    log->reset();
    auto rep = VerifyLog(dir);
    ASSERT_TRUE(rep.ok()) << rep.status();
    ASSERT_TRUE(rep->ok()) << rep->problems[0];
    EXPECT_EQ(rep->uncovered_entries, 0u);
  }
  EXPECT_GT(all_acks.size(), 1000u);
  std::cerr << "[crash test] " << rounds << " kills, " << all_acks.size() << " acknowledged entries checked, " << torn
            << " torn tails cut\n";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cloison::audit
