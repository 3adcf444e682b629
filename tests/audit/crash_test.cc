// Crash test: a child process appends under load (8 writers) and is killed
// with SIGKILL at random moments; after each kill the log must reopen (a torn
// tail is cut), verify, and hold every entry the child acknowledged, with the
// content the child wrote. Power loss (unsynced bytes lost) is covered in
// log_test.cc with the fault-injecting file system.
//
// Nothing here depends on the machine's speed: each round waits (without a
// timeout) for the child's first acknowledgement before the random delay to
// the kill starts, so every round checks at least one acknowledged entry
// however slow the disk; how many more depends on the disk and is only
// printed. The time budget bounds the number of rounds, not what passes.
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
    char buf[65536];
    // The first acknowledgement (or end of file if the child died early,
    // which the WIFSIGNALED check below reports).
    while (data.find('\n') == std::string::npos) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    const size_t acks_before = all_acks.size();
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(rnd.Uniform(400));
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
    ASSERT_GT(all_acks.size(), acks_before) << "round " << rounds << ": the child acknowledged nothing";

    LogOptions o;
    o.checkpoint_on_close = true;
    auto log = AuditLog::Open(dir, o);
    ASSERT_TRUE(log.ok()) << "round " << rounds << ": " << log.status();
    torn += (*log)->recovery().torn_bytes_cut > 0;
    // Recovery is recorded in the log whenever it cut or signed anything.
    auto rec = (*log)->AppendRecoveryEvent();
    ASSERT_TRUE(rec.ok()) << rec.status();
    EXPECT_EQ(rec->has_value(), (*log)->recovery().Eventful());
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
  // At least one acknowledged entry per round (asserted above), whatever
  // the disk's speed.
  EXPECT_GE(all_acks.size(), static_cast<size_t>(rounds));
  std::cerr << "[crash test] " << rounds << " kills, " << all_acks.size() << " acknowledged entries checked, " << torn
            << " torn tails cut\n";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cloison::audit
