// The durable log: appends, proofs against signed checkpoints, reopen,
// group commit under concurrency, torn tails, damage, injected faults,
// query indexes and export.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <set>
#include <sys/stat.h>
#include <thread>

#include "audit/export.h"
#include "audit/log.h"
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

TEST_F(LogTest, ConcurrentAppendsShareSyncsAndGetDistinctIndexes) {
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
  EXPECT_EQ(*(*log)->Append(Ev(1, 1, 99)), 10u);
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
