// Audit log benchmarks (numbers in the final report and docs/audit-format.md):
//   BM_DiskSync                        this disk's own write + fdatasync of
//                                      one small frame into reserved space
//                                      (context: it bounds the figures below)
//   BM_DurableAppend/threads:{1,8,64}  fdatasync'ed appends per second
//   BM_DurableAppendGrowing            the same without reserved space (1, 64)
//   BM_DurableAppendAsync/{64,512}     one thread, that many AppendAsync in flight
//   BM_Verify                          `verify` throughput, leaves per second
//                                      (bench/audit_vs_openssl.sh compares it
//                                      with `openssl speed -evp sha256`)
//   BM_InclusionProof10M               proof generation at 10 million leaves
// Files go under $AUDIT_BENCH_DIR (default /tmp), on the disk being measured.
//
// Build and run (target `audit_bench`, in the test or release build tree):
//   cmake --build build/test --target audit_bench     # or build/release
//   build/test/bench/audit_bench --benchmark_filter=BM_DurableAppend
//   bash bench/audit_vs_openssl.sh                    # finds or builds it
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <semaphore>
#include <span>
#include <filesystem>
#include <fstream>

#include "audit/entry_tag.h"
#include "audit/file.h"
#include "audit/log.h"
#include "audit/record.h"
#include "audit/tree_store.h"
#include "audit/verify.h"
#include "core/random.h"

namespace cloison::audit {
namespace {

namespace fs = std::filesystem;

std::string BenchDir(const std::string& name) {
  const char* base = std::getenv("AUDIT_BENCH_DIR");
  return (fs::path(base ? base : "/tmp") / ("cloison-audit-bench-" + name)).string();
}

// A realistic read event: ~200 bytes of canonical JSON.
Event ReadEvent(uint64_t i) {
  Event e;
  e.kind = EventKind::kRead;
  e.time = 1'760'000'000'000'000 + static_cast<int64_t>(i);
  e.account = AccountId(1000 + static_cast<int64_t>(i % 5000));
  e.session = "s-4f1c2a9e";
  e.source = "10.12.4.77";
  e.persons = {PersonId(static_cast<int64_t>(i % 1'600'000) + 1)};
  e.fields = {"nom", "prenom", "date_naissance", "telephone"};
  e.purpose = "suivi";
  e.decision = "allow";
  e.reason = "referent_structure";
  return e;
}

// The disk alone, through the same File layer the log uses: 200 bytes
// appended into reserved space, then fdatasync, one at a time. The durable
// append figures below scale with this latency (docs/audit-format.md), so it
// is printed in the same run to make them comparable across machines.
void BM_DiskSync(benchmark::State& state) {
  const std::string dir = BenchDir("disk-sync");
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto file = FileSystem::Default().Open(dir + "/probe", /*create=*/true);
  if (!file.ok()) {
    state.SkipWithError(file.status().ToString().c_str());
    return;
  }
  const std::string frame(200, 'x');
  const auto bytes = std::span(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  uint64_t reserved = 0, written = 0;
  for (auto _ : state) {
    if (written + frame.size() > reserved) {
      if (!(*file)->Reserve(1 << 20).ok()) {
        state.SkipWithError("reserve failed");
        break;
      }
      reserved = written + (1 << 20);
    }
    if (!(*file)->Append(bytes).ok() || !(*file)->Sync().ok()) {
      state.SkipWithError("write or sync failed");
      break;
    }
    written += frame.size();
  }
  state.SetItemsProcessed(state.iterations());
  file->reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_DiskSync)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(1.0);

AuditLog* g_log = nullptr;

void DurableAppend(benchmark::State& state, uint64_t reserve_bytes) {
  const std::string dir = BenchDir("append");
  if (state.thread_index() == 0) {
    fs::remove_all(dir);
    LogOptions o;
    o.checkpoint_every_entries = 100'000;
    o.reserve_bytes = reserve_bytes;
    g_log = AuditLog::Open(dir, o).value().release();
  }
  uint64_t i = static_cast<uint64_t>(state.thread_index()) << 32;
  for (auto _ : state) {
    auto r = g_log->Append(ReadEvent(i++));
    if (!r.ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Batch size (appends per fdatasync) and syncs per second: how the group
    // commit behaved, to read the throughput against the disk's sync time.
    const LogStats st = g_log->stats();
    state.counters["per_sync"] = st.syncs ? static_cast<double>(st.appends) / static_cast<double>(st.syncs) : 0;
    state.counters["syncs"] = benchmark::Counter(static_cast<double>(st.syncs), benchmark::Counter::kIsRate);
    delete g_log;
    g_log = nullptr;
    fs::remove_all(dir);
  }
}
void BM_DurableAppend(benchmark::State& state) { DurableAppend(state, LogOptions{}.reserve_bytes); }
BENCHMARK(BM_DurableAppend)->Threads(1)->Threads(8)->Threads(64)->UseRealTime()->MinTime(2.0);
// One thread keeping `in_flight` appends outstanding with AppendAsync (the
// API's I/O thread does this): the log's throughput when writers cost no
// thread wake-up each. Context for BM_DurableAppend/threads:64, not a
// substitute for it.
void BM_DurableAppendAsync(benchmark::State& state) {
  const std::string dir = BenchDir("append-async");
  fs::remove_all(dir);
  LogOptions o;
  o.checkpoint_every_entries = 100'000;
  auto log = AuditLog::Open(dir, o).value();
  const auto in_flight = static_cast<std::ptrdiff_t>(state.range(0));
  std::counting_semaphore<1024> room(in_flight);
  std::atomic<bool> failed{false};
  uint64_t i = 0;
  for (auto _ : state) {
    room.acquire();
    log->AppendAsync(ReadEvent(i++), [&](StatusOr<uint64_t> r) {
      if (!r.ok()) failed = true;
      room.release();
    });
  }
  for (std::ptrdiff_t k = 0; k < in_flight; ++k) room.acquire();  // every append answered
  if (failed) state.SkipWithError("append failed");
  state.SetItemsProcessed(state.iterations());
  const LogStats st = log->stats();
  state.counters["per_sync"] = st.syncs ? static_cast<double>(st.appends) / static_cast<double>(st.syncs) : 0;
  state.counters["syncs"] = benchmark::Counter(static_cast<double>(st.syncs), benchmark::Counter::kIsRate);
  log.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_DurableAppendAsync)->Arg(64)->Arg(512)->UseRealTime()->MinTime(2.0);

// For comparison, in the same run: entries.log grown by each batch's write
// (LogOptions::reserve_bytes = 0), so that every sync also writes the inode.
void BM_DurableAppendGrowing(benchmark::State& state) { DurableAppend(state, 0); }
BENCHMARK(BM_DurableAppendGrowing)->Threads(1)->Threads(64)->UseRealTime()->MinTime(2.0);

// Builds a closed log of n realistic entries quickly (frames written
// directly, tagged as the log tags them, then a checkpoint signed by
// reopening, which checks every tag).
void BuildLog(const std::string& dir, uint64_t n, double* avg_bytes) {
  fs::remove_all(dir);
  { (void)AuditLog::Open(dir).value(); }
  const EntryTagger tagger =
      EntryTagger::FromPrivateKey(FileSystem::Default().ReadFile(dir + "/signing.key").value()).value();
  std::ofstream f(dir + "/entries.log", std::ios::binary | std::ios::app);
  std::string buf;
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < n; ++i) {
    std::string e = EncodeEvent(ReadEvent(i));
    bytes += e.size();
    const EntryTag tag = tagger.Tag(i, HashLeaf({reinterpret_cast<const uint8_t*>(e.data()), e.size()}));
    e.append(tag.begin(), tag.end());
    AppendFrame(buf, e);
    if (buf.size() > (8 << 20)) {
      f << buf;
      buf.clear();
    }
  }
  f << buf;
  f.close();
  *avg_bytes = static_cast<double>(bytes) / n;
  { (void)AuditLog::Open(dir).value(); }  // recovers, hashes, signs a checkpoint
}

void BM_Verify(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const std::string dir = BenchDir("verify");
  double avg = 0;
  BuildLog(dir, n, &avg);
  for (auto _ : state) {
    auto rep = VerifyLog(dir);
    if (!rep.ok() || !rep->ok() || rep->entries != n) state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["leaf_bytes"] = avg;
  state.counters["leaves_per_second"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  fs::remove_all(dir);
}
BENCHMARK(BM_Verify)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

std::unique_ptr<TreeFiles> g_tree;

void BM_InclusionProof10M(benchmark::State& state) {
  const uint64_t n = 10'000'000;
  const std::string dir = BenchDir("tree");
  if (!g_tree) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    g_tree = TreeFiles::Open(FileSystem::Default(), dir, 0).value();
    DeterministicRandom rnd(1);
    std::vector<Hash> chunk(1 << 16);
    for (uint64_t done = 0; done < n; done += chunk.size()) {
      const size_t k = std::min<uint64_t>(chunk.size(), n - done);
      for (size_t j = 0; j < k; ++j) rnd.Fill(chunk[j]);
      (void)g_tree->Append(std::span<const Hash>(chunk.data(), k));
    }
  }
  DeterministicRandom rnd(2);
  const Hash root = g_tree->Root();
  for (auto _ : state) {
    const uint64_t i = rnd.Uniform(n);
    auto p = InclusionProof(*g_tree, i, n);
    benchmark::DoNotOptimize(p);
    if (!p.ok()) state.SkipWithError("proof failed");
  }
  // Spot-check that the proofs verify.
  const uint64_t i = 1234567;
  auto p = InclusionProof(*g_tree, i, n);
  if (!VerifyInclusion(i, n, *g_tree->Node(0, i), *p, root).ok()) state.SkipWithError("proof does not verify");
}
BENCHMARK(BM_InclusionProof10M)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof10M(benchmark::State& state) {
  if (!g_tree) return state.SkipWithError("run after BM_InclusionProof10M");
  DeterministicRandom rnd(3);
  for (auto _ : state) {
    auto p = ConsistencyProof(*g_tree, 1 + rnd.Uniform(10'000'000 - 1), 10'000'000);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_ConsistencyProof10M)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cloison::audit

BENCHMARK_MAIN();
