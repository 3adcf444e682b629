// The durable log: appends, proofs against signed checkpoints, reopen,
// group commit under concurrency, torn tails, damage, injected faults,
// query indexes and export.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <functional>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <condition_variable>

#include "audit/entry_tag.h"
#include "audit/export.h"
#include "audit/log.h"
#include "audit/record.h"
#include "audit/query_index.h"
#include "audit/verify.h"
#include "crypto/aead.h"
#include "crypto/base64.h"
#include "fault_fs.h"

namespace cloison::audit {
namespace {

namespace fs = std::filesystem;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("cloison-audit-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  LogOptions Opts() {
    LogOptions o;
    o.clock = &clock_;
    o.origin = "cloison.test/audit/t";
    return o;
  }
  // Through `ffs`, and no automatic checkpoint (no checkpoint syncs between
  // the ones a test holds).
  LogOptions FaultOpts(testing::FaultFs& ffs, bool checkpoint_on_close = true) {
    LogOptions o = Opts();
    o.fs = &ffs;
    o.checkpoint_every_entries = 0;
    o.checkpoint_every_micros = 0;
    o.checkpoint_on_close = checkpoint_on_close;
    return o;
  }
  Event Ev(int64_t account, int64_t person, int i) {
    Event e;
    e.kind = EventKind::kRead;
    e.time = clock_.NowMicros() + i;
    e.account = AccountId(account);
    e.persons = {PersonId(person)};
    e.fields = {"nom"};
    e.details["i"] = std::to_string(i);
    return e;
  }
  // Raw frame payloads of entries.log (leaf || tag in format 2).
  std::vector<std::string> RawFrames() {
    auto f = FileSystem::Default().Open(dir_ + "/entries.log", false);
    FrameReader r(**f, kFileHeaderSize);
    std::vector<std::string> out;
    std::string_view p;
    uint64_t off;
    while (*r.Next(&p, &off)) out.emplace_back(p);
    return out;
  }
  void AppendRawFrame(const std::string& payload) {
    std::string frame;
    AppendFrame(frame, payload);
    std::ofstream(dir_ + "/entries.log", std::ios::app | std::ios::binary) << frame;
  }
  std::string ReadText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
  FakeClock clock_;
};

TEST_F(LogTest, AppendProveReopen) {
  {
    auto log = AuditLog::Open(dir_, Opts());
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 100; ++i) {
      auto idx = (*log)->Append(Ev(1 + i % 3, 100 + i % 7, i));
      ASSERT_TRUE(idx.ok()) << idx.status();
      EXPECT_EQ(*idx, uint64_t(i));
    }
    auto cp = (*log)->IssueCheckpoint();
    ASSERT_TRUE(cp.ok()) << cp.status();
    EXPECT_EQ(cp->checkpoint.size, 100u);
    auto v = NoteVerifier::FromVerifierKey((*log)->VerifierKey());
    EXPECT_TRUE(v->Verify(cp->note).ok());
    for (uint64_t i = 0; i < 100; i += 7) {
      auto leaf = (*log)->ReadEntry(i);
      ASSERT_TRUE(leaf.ok());
      auto proof = (*log)->InclusionProof(i, 100);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyInclusion(i, 100, HashLeaf(crypto::AsBytes(*leaf)), *proof, cp->checkpoint.root).ok());
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 100u);
  EXPECT_EQ((*log)->recovery().rehashed, 0u);  // caches were synced at close
  const auto first = (*log)->Checkpoints().at(1);  // #0 is the empty log's, size 0
  ASSERT_EQ(first.checkpoint.size, 100u);
  ASSERT_EQ(*(*log)->Append(Ev(1, 1, 1000)), 100u);
  auto cp2 = (*log)->IssueCheckpoint();
  ASSERT_TRUE(cp2.ok());
  auto c = (*log)->ConsistencyProof(first.checkpoint.size, 101);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(VerifyConsistency(first.checkpoint.size, 101, first.checkpoint.root, cp2->checkpoint.root, *c).ok());
  auto rep = VerifyLog(dir_);
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok()) << rep->problems[0];
  EXPECT_EQ(rep->entries, 101u);
}

// entries.idx and the tree files are written behind (a chunk at a time,
// and whole at checkpoints and Close): every entry reads back and proves the
// same whether its offset and hashes are still in memory or on disk, and a
// crash before they are written loses nothing (Open re-reads entries.log).
TEST_F(LogTest, CachesWrittenBehindReadTheSameBeforeAndAfterTheyAreWritten) {
  constexpr int kEntries = 1300;  // past two chunks of entries.idx (512 offsets each)
  testing::FaultFs ffs;
  std::vector<std::string> written;
  {
    auto log = AuditLog::Open(dir_, FaultOpts(ffs, /*checkpoint_on_close=*/false));
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < kEntries; ++i) {
      const std::string e = EncodeEvent(Ev(1, 100 + i % 7, i));
      auto idx = (*log)->AppendEncoded(e);
      ASSERT_TRUE(idx.ok()) << idx.status();
      ASSERT_EQ(*idx, uint64_t(i));
      written.push_back(e);
    }
    const uint64_t idx_bytes = std::filesystem::file_size(dir_ + "/entries.idx");
    EXPECT_EQ(idx_bytes % 4096, 0u) << "entries.idx is written a chunk at a time";
    EXPECT_LT(idx_bytes, kEntries * 8u) << "the latest offsets are still in memory";
    EXPECT_GT(idx_bytes, 0u);
    auto root = (*log)->RootAt(kEntries);
    ASSERT_TRUE(root.ok());
    for (int i = 0; i < kEntries; i += 37) {
      auto got = (*log)->ReadEntry(i);
      ASSERT_TRUE(got.ok()) << i << ": " << got.status();
      EXPECT_EQ(*got, written[i]) << "entry " << i;
      auto proof = (*log)->InclusionProof(i, kEntries);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(VerifyInclusion(i, kEntries, HashLeaf(crypto::AsBytes(*got)), *proof, *root).ok()) << i;
    }
    EXPECT_EQ(*(*log)->ReadEntry(kEntries - 1), written.back()) << "the last entry, from memory";
    // Power loss: what was never synced is gone (the caches wholly, here).
    ffs.crashed = true;
  }
  ffs.DropUnsynced();
  ffs.crashed = false;
  auto log = AuditLog::Open(dir_, FaultOpts(ffs));
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ((*log)->size(), uint64_t(kEntries));
  EXPECT_EQ((*log)->recovery().rehashed, uint64_t(kEntries)) << "rebuilt from entries.log";
  for (int i = 0; i < kEntries; i += 101) EXPECT_EQ(*(*log)->ReadEntry(i), written[i]);
  ASSERT_TRUE((*log)->Close().ok());
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/entries.idx"), kEntries * 8u) << "Close writes every offset";
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/tree.00"), kEntries * 32u) << "and every leaf hash";
}

TEST_F(LogTest, ConcurrentAppendsGetDistinctIndexes) {
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  constexpr int kThreads = 16, kEach = 200;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto idx = (*log)->Append(Ev(t + 1, i, i));
        ASSERT_TRUE(idx.ok());
        got[t].push_back(*idx);
      }
    });
  }
  for (auto& t : ts) t.join();
  std::set<uint64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    for (uint64_t i : got[t]) {
      all.insert(i);
      // The entry at the index is the one this thread wrote.
      auto e = DecodeEvent(*(*log)->ReadEntry(i));
      ASSERT_TRUE(e.ok());
      EXPECT_EQ(e->account.value(), t + 1);
    }
    EXPECT_TRUE(std::is_sorted(got[t].begin(), got[t].end()));
  }
  EXPECT_EQ(all.size(), size_t(kThreads * kEach));
  EXPECT_EQ((*log)->size(), uint64_t(kThreads * kEach));
  const LogStats st = (*log)->stats();
  EXPECT_EQ(st.appends, uint64_t(kThreads * kEach));
  EXPECT_GE(st.syncs, 1u);
  EXPECT_LE(st.syncs, st.appends);  // how much fewer depends on timing: see the next test
  EXPECT_EQ(st.backlog_entries, 0u);
  EXPECT_EQ(st.backlog_bytes, 0u);
}

// Holds the next fdatasync of entries.log (through the injected file system)
// until Release(): lets a test queue writers behind a sync in progress.
class SyncHold {
 public:
  explicit SyncHold(testing::FaultFs& ffs) {
    ffs.on_sync = [this](const std::string& path) {
      if (!path.ends_with("/entries.log")) return;
      std::unique_lock<std::mutex> l(m_);
      if (!hold_) return;
      hold_ = false;
      holding_ = true;
      cv_.notify_all();
      cv_.wait(l, [&] { return release_; });
    };
  }
  void HoldNext() {
    std::lock_guard<std::mutex> l(m_);
    hold_ = true;
  }
  void WaitHolding() {
    std::unique_lock<std::mutex> l(m_);
    cv_.wait(l, [&] { return holding_; });
  }
  // `before` runs under the hook's lock, so the syncer sees what it does.
  void Release(const std::function<void()>& before = [] {}) {
    {
      std::lock_guard<std::mutex> l(m_);
      before();
      release_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool hold_ = false, holding_ = false, release_ = false;
};

// Starts writer 0, waits until its sync is held, then starts writers 1..n-1
// and waits (no sleep) until the log says all n are queued. Writer t appends
// event(t); its result goes to got[t].
void QueueBehindAHeldSync(AuditLog& log, SyncHold& sync, int n, const std::function<Event(int)>& event,
                          std::vector<std::thread>& ts, std::vector<StatusOr<uint64_t>>& got) {
  sync.HoldNext();
  ts.emplace_back([&] { got[0] = log.Append(event(0)); });
  sync.WaitHolding();  // the first batch is being synced
  for (int t = 1; t < n; ++t) ts.emplace_back([&, t] { got[t] = log.Append(event(t)); });
  while (log.stats().backlog_entries < uint64_t(n)) std::this_thread::yield();
}

// Group commit, deterministically: the first appender's fdatasync is held
// (through the injected file system) until every other appender has queued
// behind it; then all of those are made durable by one more write and one
// more fdatasync. While the sync is held, the backlog counts them all.
TEST_F(LogTest, QueuedAppendersShareOneSync) {
  testing::FaultFs ffs;
  SyncHold sync(ffs);
  auto log = AuditLog::Open(dir_, FaultOpts(ffs));
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->stats().syncs, 0u);
  constexpr int kWriters = 16;
  std::vector<std::thread> ts;
  std::vector<StatusOr<uint64_t>> got(kWriters, StatusOr<uint64_t>(Internal("not run")));
  QueueBehindAHeldSync(**log, sync, kWriters, [&](int t) { return Ev(t + 1, 1, t); }, ts, got);
  const LogStats held = (*log)->stats();
  EXPECT_EQ(held.backlog_entries, uint64_t(kWriters));
  EXPECT_GT(held.backlog_bytes, uint64_t(kWriters) * kFrameHeaderSize);
  EXPECT_EQ(held.appends, 0u);
  EXPECT_EQ(held.syncs, 0u);
  sync.Release();
  for (auto& t : ts) t.join();
  std::set<uint64_t> indexes;
  for (const auto& r : got) {
    ASSERT_TRUE(r.ok()) << r.status();
    indexes.insert(*r);
  }
  EXPECT_EQ(indexes.size(), size_t(kWriters));
  const LogStats st = (*log)->stats();
  EXPECT_EQ(st.appends, uint64_t(kWriters));
  EXPECT_EQ(st.syncs, 2u);  // 1 entry, then 15 entries: fewer syncs than appends
  EXPECT_EQ(st.backlog_entries, 0u);
  EXPECT_EQ(st.backlog_bytes, 0u);
  EXPECT_EQ(st.size, uint64_t(kWriters));
}

// AppendAsync: answered from the syncer once durable, never before.
class AsyncResults {
 public:
  AuditLog::AppendCallback Callback() {
    return [this](StatusOr<uint64_t> r) {
      std::lock_guard<std::mutex> l(m_);
      got_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  size_t count() {
    std::lock_guard<std::mutex> l(m_);
    return got_.size();
  }
  std::vector<StatusOr<uint64_t>> WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(m_);
    EXPECT_TRUE(cv_.wait_for(l, std::chrono::seconds(20), [&] { return got_.size() >= n; }));
    return got_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<StatusOr<uint64_t>> got_;
};

TEST_F(LogTest, AsyncAppendsAreAnsweredOnlyOnceDurableInIndexOrder) {
  testing::FaultFs ffs;
  SyncHold sync(ffs);
  auto log = AuditLog::Open(dir_, FaultOpts(ffs));
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<std::thread> ts;
  std::vector<StatusOr<uint64_t>> first(1, StatusOr<uint64_t>(Internal("not run")));
  QueueBehindAHeldSync(**log, sync, 1, [&](int t) { return Ev(1, 1, t); }, ts, first);
  AsyncResults results;
  for (int i = 1; i <= 5; ++i) (*log)->AppendAsync(Ev(2, 1, i), results.Callback());
  // Queued behind the held sync: not durable, so not answered.
  EXPECT_EQ(results.count(), 0u);
  EXPECT_EQ((*log)->stats().backlog_entries, 6u);
  sync.Release();
  for (auto& t : ts) t.join();
  ASSERT_TRUE(first[0].ok());
  const auto got = results.WaitFor(5);
  ASSERT_EQ(got.size(), 5u);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].ok()) << got[i].status();
    EXPECT_EQ(*got[i], i + 1);  // after the held entry, in order
    auto e = DecodeEvent(*(*log)->ReadEntry(*got[i]));
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(e->details.at("i"), std::to_string(i + 1));
  }
  EXPECT_EQ((*log)->stats().appends, 6u);
  EXPECT_EQ((*log)->stats().syncs, 2u);  // the held one, then all five together
}

TEST_F(LogTest, AsyncAppendsBehindAFailedSyncGetTheError) {
  testing::FaultFs ffs;
  SyncHold sync(ffs);
  const LogOptions o = FaultOpts(ffs, /*checkpoint_on_close=*/false);
  auto log = AuditLog::Open(dir_, o);
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<std::thread> ts;
  std::vector<StatusOr<uint64_t>> first(1, StatusOr<uint64_t>(Internal("not run")));
  QueueBehindAHeldSync(**log, sync, 1, [&](int t) { return Ev(1, 1, t); }, ts, first);
  AsyncResults results;
  for (int i = 1; i <= 3; ++i) (*log)->AppendAsync(Ev(2, 1, i), results.Callback());
  sync.Release([&] { ffs.fail_sync = true; });
  for (auto& t : ts) t.join();
  EXPECT_TRUE(IsIOError(first[0].status()));
  const auto got = results.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) EXPECT_TRUE(IsIOError(r.status())) << r.status();
  EXPECT_EQ((*log)->stats().appends, 0u);
  EXPECT_EQ((*log)->stats().backlog_entries, 0u);
  // Refused before queueing: answered at once, on this thread.
  AsyncResults later;
  (*log)->AppendAsync(Ev(2, 1, 9), later.Callback());
  EXPECT_EQ(later.count(), 1u);
  EXPECT_TRUE(IsIOError(later.WaitFor(1)[0].status()));
}

TEST_F(LogTest, AsyncAppendsRefusedBeforeQueueingAreAnsweredAtOnce) {
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  AsyncResults empty;
  (*log)->AppendEncodedAsync("", empty.Callback());
  ASSERT_EQ(empty.count(), 1u);
  EXPECT_EQ(empty.WaitFor(1)[0].status().code(), absl::StatusCode::kInvalidArgument);
  AsyncResults ok;
  (*log)->AppendAsync(Ev(1, 1, 0), ok.Callback());
  ASSERT_TRUE(ok.WaitFor(1)[0].ok());
  ASSERT_TRUE((*log)->Close().ok());
  AsyncResults closed;
  (*log)->AppendAsync(Ev(1, 1, 1), closed.Callback());
  ASSERT_EQ(closed.count(), 1u);
  EXPECT_EQ(closed.WaitFor(1)[0].status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(LogTest, TornTailIsCutAndReported) {
  {
    auto log = AuditLog::Open(dir_, Opts());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
  }
  const auto size_before = fs::file_size(dir_ + "/entries.log");
  {
    std::ofstream f(dir_ + "/entries.log", std::ios::app | std::ios::binary);
    std::string frame;
    // A partial frame: header says 100 bytes, 5 follow.
    frame = std::string("\x01\x02\x03\x04\x64\x00\x00\x00hello", 13);
    f << frame;
  }
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 10u);
  EXPECT_EQ((*log)->recovery().torn_bytes_cut, 13u);
  EXPECT_FALSE((*log)->recovery().torn_reason.empty());
  EXPECT_EQ(fs::file_size(dir_ + "/entries.log"), size_before);
  // What recovery did goes into the log itself, once.
  auto rec = (*log)->AppendRecoveryEvent();
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ(**rec, 10u);
  auto e = DecodeEvent(*(*log)->ReadEntry(10));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kind, EventKind::kSystem);
  EXPECT_EQ(e->decision, "recovered");
  EXPECT_EQ(e->numbers.at("torn_bytes_cut"), 13);
  EXPECT_EQ(e->numbers.at("torn_offset"), int64_t(size_before));
  EXPECT_EQ(e->numbers.at("entries"), 10);
  EXPECT_FALSE(e->details.at("torn_reason").empty());
  EXPECT_FALSE((*(*log)->AppendRecoveryEvent()).has_value());
  EXPECT_EQ(*(*log)->Append(Ev(1, 1, 99)), 11u);
}

TEST_F(LogTest, CleanOpenRecordsNoRecoveryEvent) {
  {
    auto log = AuditLog::Open(dir_, Opts());
    ASSERT_TRUE((*log)->Append(Ev(1, 1, 0)).ok());
  }
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE((*log)->recovery().Eventful());
  auto rec = (*log)->AppendRecoveryEvent();
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_value());
  EXPECT_EQ((*log)->size(), 1u);
}

// After a crash between appends and the next checkpoint, the entries past
// it are not signed, but their tags show this log wrote them: verify says
// so (and, without the private key, that it cannot tell); the next Open
// signs them and records that it did.
TEST_F(LogTest, UncoveredEntriesAfterACrashAreAuthenticatedThenSigned) {
  testing::FaultFs ffs;
  auto o = Opts();
  o.fs = &ffs;
  o.checkpoint_every_entries = 0;
  o.checkpoint_every_micros = 0;
  {
    auto log = AuditLog::Open(dir_, o);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 7; ++i) ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
    ffs.crashed = true;  // dies: no checkpoint at close
  }
  ffs.DropUnsynced();
  ffs.crashed = false;
  auto rep = VerifyLog(dir_);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_TRUE(rep->ok()) << rep->problems[0];
  EXPECT_EQ(rep->format, 2);
  EXPECT_TRUE(rep->signing_key_used);
  EXPECT_EQ(rep->uncovered_entries, 7u);
  EXPECT_EQ(rep->uncovered_authenticated, 7u);
  EXPECT_EQ(rep->forged_entries, 0u);
  VerifyOptions auditor;
  auditor.use_signing_key = false;
  auto arep = VerifyLog(dir_, auditor);
  ASSERT_TRUE(arep.ok());
  EXPECT_TRUE(arep->ok());
  EXPECT_FALSE(arep->signing_key_used);
  EXPECT_EQ(arep->uncovered_unauthenticated, 7u);

  auto log = AuditLog::Open(dir_, o);
  ASSERT_TRUE(log.ok()) << log.status();
  const RecoveryReport& r = (*log)->recovery();
  EXPECT_EQ(r.last_checkpoint_size, 0u);
  EXPECT_EQ(r.uncovered_entries, 7u);
  EXPECT_TRUE(r.uncovered_signed_at_open);
  EXPECT_EQ(r.rehashed, 7u);  // re-read to check their tags
  EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 7u);
  auto rec = (*log)->AppendRecoveryEvent();
  ASSERT_TRUE(rec.ok() && rec->has_value()) << rec.status();
  auto e = DecodeEvent(*(*log)->ReadEntry(**rec));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->numbers.at("uncovered_entries"), 7);
  EXPECT_EQ(e->numbers.at("last_checkpoint_size"), 0);
  EXPECT_EQ(e->numbers.count("torn_bytes_cut"), 0u);
  EXPECT_NE(e->details.at("uncovered").find("signed at open"), std::string::npos);
}

// Someone with write access to the files but not the signing key appends
// frames (valid checksums) after the latest checkpoint: a made-up entry, or
// a copy of an authentic one. Open refuses to sign over them; verify fails.
TEST_F(LogTest, ForgedOrReplayedEntriesAfterTheLatestCheckpointAreRefused) {
  {
    auto log = AuditLog::Open(dir_, Opts());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
  }  // closed: a checkpoint covers the 10 entries
  const auto clean_size = fs::file_size(dir_ + "/entries.log");
  const auto frames = RawFrames();
  ASSERT_EQ(frames.size(), 10u);
  ASSERT_EQ(frames[9].size(), EncodeEvent(Ev(1, 1, 9)).size() + kEntryTagSize);
  const std::string made_up = EncodeEvent(Ev(666, 1, 0)) + std::string(kEntryTagSize, '\x42');
  for (const std::string& forged : {made_up, frames[9]}) {
    fs::resize_file(dir_ + "/entries.log", clean_size);
    AppendRawFrame(forged);
    const std::string entries = ReadText(dir_ + "/entries.log"), state = ReadText(dir_ + "/tree.state");
    const std::string checkpoints = ReadText(dir_ + "/checkpoints.log");
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto log = AuditLog::Open(dir_, Opts());
      ASSERT_FALSE(log.ok());
      EXPECT_TRUE(IsCorruption(log.status())) << log.status();
      EXPECT_NE(std::string(MessageOf(log.status())).find("authentication tag"), std::string::npos) << log.status();
      // A refused Open changes nothing (it once rewrote tree.state on its
      // way out, and the next Open then cut the whole file as a torn tail).
      EXPECT_EQ(ReadText(dir_ + "/entries.log"), entries);
      EXPECT_EQ(ReadText(dir_ + "/tree.state"), state);
      EXPECT_EQ(ReadText(dir_ + "/checkpoints.log"), checkpoints);
    }
    auto rep = VerifyLog(dir_);
    ASSERT_TRUE(rep.ok());
    EXPECT_FALSE(rep->ok());
    EXPECT_EQ(rep->uncovered_entries, 1u);
    EXPECT_EQ(rep->forged_entries, 1u);
    // An auditor without the private key cannot tell: reported, not failed.
    VerifyOptions auditor;
    auditor.use_signing_key = false;
    auto arep = VerifyLog(dir_, auditor);
    ASSERT_TRUE(arep.ok());
    EXPECT_TRUE(arep->ok());
    EXPECT_EQ(arep->uncovered_unauthenticated, 1u);
  }
  // With the key, the same entry is accepted: the tag is the whole difference.
  fs::resize_file(dir_ + "/entries.log", clean_size);
  auto tagger = EntryTagger::FromPrivateKey(ReadText(dir_ + "/signing.key"));
  ASSERT_TRUE(tagger.ok()) << tagger.status();
  const std::string leaf = EncodeEvent(Ev(2, 2, 10));
  const EntryTag tag = tagger->Tag(10, HashLeaf(crypto::AsBytes(leaf)));
  AppendRawFrame(leaf + std::string(tag.begin(), tag.end()));
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 11u);
  EXPECT_EQ(*(*log)->ReadEntry(10), leaf);
}

// Logs written before entry tags existed (format 1) keep working as format 1.
TEST_F(LogTest, FormatOneLogsStayReadableAndAppendable) {
  {
    auto log = AuditLog::Open(dir_, Opts());  // creates the keys; no entries
    ASSERT_TRUE(log.ok());
  }
  // Rewrite entries.log as a format-1 file with 3 entries.
  std::string data(kEntriesMagicV1);
  for (int i = 0; i < 3; ++i) AppendFrame(data, EncodeEvent(Ev(1, 1, i)));
  std::ofstream(dir_ + "/entries.log", std::ios::binary | std::ios::trunc) << data;
  fs::remove(dir_ + "/tree.state");  // caches: rebuilt from entries.log
  {
    auto log = AuditLog::Open(dir_, Opts());
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->format(), 1);
    EXPECT_EQ((*log)->size(), 3u);
    EXPECT_EQ(*(*log)->ReadEntry(2), EncodeEvent(Ev(1, 1, 2)));
    EXPECT_EQ(*(*log)->Append(Ev(1, 1, 3)), 3u);
  }
  EXPECT_EQ(ReadText(dir_ + "/entries.log").substr(0, kFileHeaderSize), kEntriesMagicV1);
  auto rep = VerifyLog(dir_);
  ASSERT_TRUE(rep.ok());
  EXPECT_TRUE(rep->ok()) << rep->problems[0];
  EXPECT_EQ(rep->format, 1);
  EXPECT_EQ(rep->entries, 4u);
  EXPECT_EQ(rep->uncovered_entries, 0u);
}

// One process at a time: a second Open (another process, or this one) is
// refused before anything is touched, and says who holds the log.
TEST_F(LogTest, SecondOpenIsRefusedAndNamesTheHolder) {
  auto o = Opts();
  o.lock_owner = "cloison serve";
  auto first = AuditLog::Open(dir_, o);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->Append(Ev(1, 1, 0)).ok());
  const auto size = fs::file_size(dir_ + "/entries.log");
  auto second = AuditLog::Open(dir_, Opts());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  auto holder = LockHolderOf(second.status());
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->pid, ::getpid());
  EXPECT_EQ(holder->owner, "cloison serve");
  EXPECT_NE(std::string(MessageOf(second.status())).find(std::to_string(::getpid())), std::string::npos);
  EXPECT_EQ(fs::file_size(dir_ + "/entries.log"), size);
  EXPECT_FALSE(LockHolderOf(IOError("x")).has_value());
  first->reset();
  EXPECT_TRUE(AuditLog::Open(dir_, Opts()).ok());  // released at close
}

TEST_F(LogTest, CheckpointIntervalsOfZeroDisableAutomaticCheckpoints) {
  auto o = Opts();
  o.checkpoint_every_entries = 0;
  o.checkpoint_every_micros = 0;
  {
    auto log = AuditLog::Open(dir_, o);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
      clock_.AdvanceSeconds(3600);
    }
    EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 0u);  // only Open's, of the empty log
    EXPECT_EQ((*log)->stats().checkpoints_signed, 1u);
  }
  // Close still signs (checkpoint_on_close).
  auto rep = VerifyLog(dir_);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->latest_checkpoint_size, 50u);
}

// While open, entries.log ends with reserved zeros (LogOptions::
// reserve_bytes); a process killed then leaves them on disk. Copying the
// directory of an open log gives exactly that image: every appended entry
// was synced before its Append returned.
class ReservedTailTest : public LogTest {
 protected:
  // Appends `n` entries, copies the open log to crash_dir_ (the image a
  // SIGKILL would leave), closes it. Returns the frames' end (the closed
  // log's entries.log size).
  uint64_t MakeCrashImage(int n) {
    crash_dir_ = dir_ + "-crash";
    fs::remove_all(crash_dir_);
    auto log = AuditLog::Open(dir_, Opts());
    EXPECT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < n; ++i) EXPECT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
    reserved_size_ = fs::file_size(dir_ + "/entries.log");
    fs::copy(dir_, crash_dir_);
    EXPECT_TRUE((*log)->Close().ok());
    return fs::file_size(dir_ + "/entries.log");
  }
  void TearDown() override {
    fs::remove_all(crash_dir_);
    LogTest::TearDown();
  }
  std::string crash_dir_;
  uint64_t reserved_size_ = 0;
};

TEST_F(ReservedTailTest, TheReservationIsZerosAndCloseCutsIt) {
  const uint64_t end = MakeCrashImage(10);
  EXPECT_GE(reserved_size_, end + (1u << 20) - 4096) << "about 1 MiB reserved past the frames";
  // Closed: the file ends with its last frame.
  auto f = FileSystem::Default().Open(dir_ + "/entries.log", false);
  ASSERT_TRUE(f.ok());
  FrameReader r(**f, kFileHeaderSize);
  std::string_view p;
  uint64_t off = 0;
  int frames = 0;
  while (*r.Next(&p, &off)) ++frames;
  EXPECT_EQ(frames, 10);
  EXPECT_EQ(r.offset(), end);
  // The crash image: the frames, then nothing but zeros.
  EXPECT_EQ(fs::file_size(crash_dir_ + "/entries.log"), reserved_size_);
  auto g = FileSystem::Default().Open(crash_dir_ + "/entries.log", false);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*EndOfData(**g, kFileHeaderSize, reserved_size_), end);
  EXPECT_EQ(*EndOfData(**g, end, reserved_size_), end);
}

TEST_F(ReservedTailTest, ZerosAloneAfterACrashAreReleasedNotReportedAsTorn) {
  const uint64_t end = MakeCrashImage(10);
  auto v = VerifyLog(crash_dir_);  // read as found, before any Open
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok());
  EXPECT_EQ(v->torn_tail_bytes, 0u);
  {
    auto log = AuditLog::Open(crash_dir_, Opts());
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->size(), 10u);
    EXPECT_EQ((*log)->recovery().torn_bytes_cut, 0u);
    EXPECT_EQ(fs::file_size(crash_dir_ + "/entries.log"), end) << "Open releases the old reservation";
    EXPECT_EQ(*(*log)->Append(Ev(1, 1, 10)), 10u);
  }
  auto log = AuditLog::Open(crash_dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 11u);
}

TEST_F(ReservedTailTest, ATornFrameInTheReservationIsCutAndOnlyItsBytesCount) {
  const uint64_t end = MakeCrashImage(10);
  {
    // A partial frame where the next batch would have gone: header says 100
    // bytes, 5 follow, then the reserved zeros.
    std::fstream f(crash_dir_ + "/entries.log", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end));
    f << std::string("\x01\x02\x03\x04\x64\x00\x00\x00hello", 13);
  }
  auto log = AuditLog::Open(crash_dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->size(), 10u);
  EXPECT_EQ((*log)->recovery().torn_bytes_cut, 13u);
  EXPECT_EQ((*log)->recovery().torn_offset, end);
  EXPECT_EQ(fs::file_size(crash_dir_ + "/entries.log"), end);
}

TEST_F(ReservedTailTest, ZerosFollowedByDataBeyondABatchAreDamage) {
  const uint64_t end = MakeCrashImage(10);
  {
    // Data 6 MiB past the frames (more than one batch, max_batch_bytes 4 MiB,
    // could have put there): not a torn tail.
    std::fstream f(crash_dir_ + "/entries.log", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end + (6u << 20)));
    f.put('X');
  }
  auto g = FileSystem::Default().Open(crash_dir_ + "/entries.log", false);
  ASSERT_TRUE(g.ok());
  FrameReader r(**g, end);
  std::string_view p;
  uint64_t off = 0;
  auto next = r.Next(&p, &off);
  EXPECT_TRUE(IsCorruption(next.status())) << "zeros where a frame should start, then data";
  EXPECT_EQ(r.offset(), end);
  auto log = AuditLog::Open(crash_dir_, Opts());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(IsCorruption(log.status())) << log.status();
}

TEST_F(ReservedTailTest, ZerosOverAcknowledgedEntriesAreDamage) {
  MakeCrashImage(10);
  // Zero the whole first frame of the closed, checkpointed log: its frames
  // would now "end" before entries that were acknowledged.
  const auto raw = RawFrames();
  ASSERT_EQ(raw.size(), 10u);
  {
    std::fstream f(dir_ + "/entries.log", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16);
    f << std::string(kFrameHeaderSize + raw[0].size(), '\0');
  }
  // Verify reads every frame: zeros followed by entries are damage.
  auto rep = VerifyLog(dir_);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_FALSE(rep->ok());
  // Open trusts its synced caches; without them it reads from the start,
  // and what the zeros hide no longer matches the signed checkpoints.
  fs::remove(dir_ + "/tree.state");
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(IsCorruption(log.status())) << log.status();
}

TEST_F(LogTest, ZerosAfterTheLastCheckpointAreCutSoTheNextOneCanFollow) {
  {
    auto log = AuditLog::Open(dir_, Opts());
    ASSERT_TRUE((*log)->Append(Ev(1, 1, 0)).ok());
  }
  std::ofstream(dir_ + "/checkpoints.log", std::ios::app | std::ios::binary) << std::string(300, '\0');
  {
    auto log = AuditLog::Open(dir_, Opts());
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->recovery().torn_checkpoint_bytes_cut, 300u);
    ASSERT_TRUE((*log)->Append(Ev(1, 1, 1)).ok());
    ASSERT_TRUE((*log)->IssueCheckpoint().ok());
  }
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->recovery().torn_checkpoint_bytes_cut, 0u);
  EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 2u);
}

TEST_F(LogTest, DamageBelowACheckpointIsCorruptionNotATornTail) {
  {
    auto log = AuditLog::Open(dir_, Opts());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
  }
  {
    std::fstream f(dir_ + "/entries.log", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16 + 8 + 3);  // inside the first entry's payload
    f.put('X');
  }
  // Open trusts its synced caches (it does not rehash the whole log), so the
  // damage shows when the entry is read, and in verify.
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_TRUE(IsCorruption((*log)->ReadEntry(0).status()));
  std::stringstream out;
  EXPECT_FALSE(ExportJsonLines(**log, out).ok());
  auto rep = VerifyLog(dir_);
  ASSERT_TRUE(rep.ok());
  EXPECT_FALSE(rep->ok());
}

TEST_F(LogTest, FailedSyncIsNotAcknowledgedAndIsSticky) {
  testing::FaultFs ffs;
  auto o = Opts();
  o.fs = &ffs;
  auto log = AuditLog::Open(dir_, o);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->Append(Ev(1, 1, 0)).ok());
  ffs.fail_sync = true;
  auto r = (*log)->Append(Ev(1, 1, 1));
  EXPECT_TRUE(IsIOError(r.status())) << r.status();
  ffs.fail_sync = false;
  EXPECT_TRUE(IsIOError((*log)->Append(Ev(1, 1, 2)).status()));
  ffs.crashed = true;
  log->reset();
  ffs.crashed = false;
  auto again = AuditLog::Open(dir_, o);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_GE((*again)->size(), 1u);
}

// A failed sync fails its batch and every writer queued behind it: none is
// acknowledged, none is left waiting, and Close still returns.
TEST_F(LogTest, FailedSyncFailsEveryQueuedWriterAndNoneHangs) {
  testing::FaultFs ffs;
  SyncHold sync(ffs);
  const LogOptions o = FaultOpts(ffs, /*checkpoint_on_close=*/false);
  auto log = AuditLog::Open(dir_, o);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE((*log)->Append(Ev(1, 1, 0)).ok());
  constexpr int kWriters = 9;
  std::vector<std::thread> ts;
  std::vector<StatusOr<uint64_t>> got(kWriters, StatusOr<uint64_t>(Internal("not run")));
  QueueBehindAHeldSync(**log, sync, kWriters, [&](int t) { return Ev(t + 2, 1, t); }, ts, got);
  sync.Release([&] { ffs.fail_sync = true; });  // the held sync fails when released
  for (auto& t : ts) t.join();
  for (const auto& r : got) EXPECT_TRUE(IsIOError(r.status())) << r.status();
  const LogStats st = (*log)->stats();
  EXPECT_EQ(st.appends, 1u);
  EXPECT_EQ(st.backlog_entries, 0u);
  EXPECT_TRUE(IsIOError((*log)->Append(Ev(1, 1, 9)).status()));
  EXPECT_TRUE(IsIOError((*log)->Close()));
}

TEST_F(LogTest, PowerLossKeepsEveryAcknowledgedEntry) {
  testing::FaultFs ffs;
  auto o = Opts();
  o.fs = &ffs;
  o.checkpoint_every_entries = 37;
  for (int round = 0; round < 5; ++round) {
    uint64_t acked = 0;
    {
      auto log = AuditLog::Open(dir_, o);
      ASSERT_TRUE(log.ok()) << log.status();
      for (int i = 0; i < 60; ++i) {
        auto r = (*log)->Append(Ev(1, round, i));
        ASSERT_TRUE(r.ok());
        acked = *r + 1;
      }
      ffs.crashed = true;  // the process dies: nothing more reaches the disk
    }
    ffs.DropUnsynced();
    {
      // And the last write was torn halfway.
      std::ofstream f(dir_ + "/entries.log", std::ios::app | std::ios::binary);
      f << std::string("\x55\x66\x77\x88\x20\x00\x00\x00{\"kind\"", 15);
    }
    ffs.crashed = false;
    auto log = AuditLog::Open(dir_, o);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->size(), acked);
    EXPECT_EQ((*log)->recovery().torn_bytes_cut, 15u);
    auto rep = VerifyLog(dir_);
    ASSERT_TRUE(rep.ok());
    EXPECT_TRUE(rep->ok());
    EXPECT_EQ(rep->uncovered_entries, 0u);  // Open signed the recovered entries
  }
}

TEST_F(LogTest, QueryIndexByAccountAndPerson) {
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE((*log)->Append(Ev(1 + i % 3, 100 + i % 5, i)).ok());
  auto q = QueryIndex::Open(dir_ + "/index.db");
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE((*q)->CatchUp(**log).ok());
  auto by_acc = (*q)->ByAccount(AccountId(2), 0, INT64_MAX);
  ASSERT_TRUE(by_acc.ok());
  EXPECT_EQ(by_acc->size(), 10u);
  for (uint64_t i : *by_acc) EXPECT_EQ(i % 3, 1u);
  auto by_person = (*q)->ByPerson(PersonId(104), clock_.NowMicros() + 10, clock_.NowMicros() + 20);
  ASSERT_TRUE(by_person.ok());
  EXPECT_EQ(*by_person, (std::vector<uint64_t>{14, 19}));
  ASSERT_TRUE((*log)->Append(Ev(2, 104, 31)).ok());
  ASSERT_TRUE((*q)->CatchUp(**log).ok());
  EXPECT_EQ((*q)->ByAccount(AccountId(2), 0, INT64_MAX)->size(), 11u);
}

TEST_F(LogTest, ExportAloneRecomputesTheCheckpointRoot) {
  auto log = AuditLog::Open(dir_, Opts());
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < 77; ++i) ASSERT_TRUE((*log)->Append(Ev(1, i, i)).ok());
  auto cp = (*log)->IssueCheckpoint();
  std::stringstream out;
  ASSERT_TRUE(ExportJsonLines(**log, out).ok());
  // An auditor's own RFC 6962 code: leaf = SHA-256(0x00 || leaf_input).
  std::vector<Hash> leaves;
  std::string line;
  while (std::getline(out, line)) {
    auto j = nlohmann::json::parse(line);
    auto bytes = crypto::Base64Decode(j["leaf_input"].get<std::string>());
    ASSERT_TRUE(bytes.ok());
    const Hash h = HashLeaf(*bytes);
    EXPECT_EQ(crypto::Base64Encode(h), j["leaf_hash"].get<std::string>());
    EXPECT_EQ(j["index"].get<uint64_t>(), leaves.size());
    EXPECT_EQ(j["event"]["kind"], "read");
    leaves.push_back(h);
  }
  EXPECT_EQ(RootFromLeafHashes(leaves), cp->checkpoint.root);
  EXPECT_NE(SyslogFrame("{}", 0, "h").find("<110>1 1970-01-01T00:00:00.000000Z h cloison - audit - {}"),
            std::string::npos);
}

TEST_F(LogTest, AutomaticCheckpointsByCountAndTime) {
  auto o = Opts();
  o.checkpoint_every_entries = 10;
  o.checkpoint_every_micros = 5'000'000;
  auto log = AuditLog::Open(dir_, o);
  ASSERT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
  EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 20u);
  clock_.AdvanceSeconds(6);
  ASSERT_TRUE((*log)->Append(Ev(1, 1, 26)).ok());
  EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 26u);
  // Time alone signs nothing on an idle log, and the count restarts from
  // the latest checkpoint, whichever rule issued it.
  clock_.AdvanceSeconds(60);
  EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 26u);
  for (int i = 27; i < 35; ++i) ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
  EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 27u);  // the first append after 5 s
  for (int i = 35; i < 38; ++i) ASSERT_TRUE((*log)->Append(Ev(1, 1, i)).ok());
  EXPECT_EQ((*log)->LatestCheckpoint()->checkpoint.size, 37u);  // 10 after 27
  // Every checkpoint is consistent with every earlier one.
  auto all = (*log)->Checkpoints();
  for (size_t i = 1; i < all.size(); ++i) {
    const auto& a = all[i - 1].checkpoint;
    const auto& b = all[i].checkpoint;
    if (a.size == 0) continue;
    auto p = (*log)->ConsistencyProof(a.size, b.size);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(VerifyConsistency(a.size, b.size, a.root, b.root, *p).ok());
  }
}

}  // namespace
}  // namespace cloison::audit
