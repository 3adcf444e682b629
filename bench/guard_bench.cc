// guard::Guard::Assess throughput and latency on one core, with a realistic
// mix: ~2000 accounts (95% counsellors reading their own caseload during
// opening hours, 5% technical accounts syncing enrolments), mostly single
// reads, some caseload listings, name searches and a few denied attempts.
//
//   build/test/bench/guard_bench --benchmark_filter=Guard   (after README command 2)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "core/date.h"
#include "guard/guard.h"

namespace cloison::guard {
namespace {

constexpr int kAccounts = 2000;
constexpr int kEvents = 1 << 20;
constexpr int64_t kSec = 1'000'000;

struct Event {
  UnixMicros time;
  int64_t account;
  AccessKind kind;
  uint32_t first, count;  // into Workload::persons
  int query;              // index into Workload::queries, -1 if none
  int64_t page;
};

struct Workload {
  std::vector<AccountProfile> profiles;
  std::vector<PersonId> persons;
  std::vector<std::string> queries;
  std::vector<std::string> sources;
  std::vector<Event> events;
  int64_t span_micros = 0;
};

const Workload& TheWorkload() {
  static const Workload w = [] {
    Workload w;
    std::mt19937_64 rng(2025);
    const UnixMicros start = (Date{2024, 1, 15}.ToDays() * 86400 + 8 * 3600) * kSec;  // Monday 09:00 Paris
    for (int i = 1; i <= kAccounts; ++i) {
      AccountProfile p;
      p.account = AccountId(i);
      p.technical = i % 20 == 0;
      p.structure = StructureId(1 + i / 25);
      p.structure_kind = p.technical ? StructureKind::kTrainingOrganisation
                         : i % 2           ? StructureKind::kMissionLocale
                                           : StructureKind::kAgency;
      if (!p.technical) p.roles = {Role::kCounsellor};
      p.created_at = start - 400LL * 86400 * kSec;
      p.created_by = AccountId(100000 + i % 50);
      w.profiles.push_back(p);
      w.sources.push_back("10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".7");
    }
    for (int q = 0; q < 200; ++q) w.queries.push_back("nom:" + std::to_string(q));
    // Events over 8 opening hours: ~1M events, so each account does ~500,
    // i.e. about one per minute: a busy but ordinary day.
    std::vector<UnixMicros> times(kEvents);
    for (auto& t : times) t = start + static_cast<int64_t>(rng() % (8ULL * 3600 * kSec));
    std::sort(times.begin(), times.end());
    for (int e = 0; e < kEvents; ++e) {
      Event ev{};
      ev.time = times[e];
      ev.account = 1 + static_cast<int64_t>(rng() % kAccounts);
      const int64_t caseload = ev.account * 1000;
      ev.first = static_cast<uint32_t>(w.persons.size());
      ev.query = -1;
      const int r = static_cast<int>(rng() % 1000);
      if (r < 900) {  // a read of one caseload person
        ev.kind = r < 880 ? AccessKind::kRead : AccessKind::kReveal;
        w.persons.push_back(PersonId(caseload + static_cast<int64_t>(rng() % 200)));
      } else if (r < 950) {  // a caseload page of 20
        ev.kind = AccessKind::kList;
        ev.page = static_cast<int64_t>(rng() % 3);
        for (int k = 0; k < 20; ++k) w.persons.push_back(PersonId(caseload + ev.page * 20 + k));
      } else if (r < 995) {  // a name search, a few results
        ev.kind = AccessKind::kSearch;
        ev.query = static_cast<int>(rng() % w.queries.size());
        for (int k = 0; k < 3; ++k) w.persons.push_back(PersonId(caseload + static_cast<int64_t>(rng() % 200)));
      } else {  // denied
        ev.kind = AccessKind::kDenied;
        w.persons.push_back(PersonId(5'000'000 + static_cast<int64_t>(rng() % 1'000'000)));
      }
      ev.count = static_cast<uint32_t>(w.persons.size()) - ev.first;
      w.events.push_back(ev);
    }
    w.span_micros = 86400 * kSec;  // replay the day on the next working day (NextShift)
    return w;
  }();
  return w;
}

// The shift that replays the workload's Monday on the next working day:
// counsellors do not work at weekends, and a Saturday replay would make every
// access "off hours" (recorded verdicts, not the ordinary day measured).
int64_t NextShift(const Workload& w, int64_t shift) {
  int64_t days = shift / w.span_micros + 1;
  if (days % 7 == 5) days += 2;  // Saturday -> Monday
  return days * w.span_micros;
}

std::unique_ptr<Guard> MakeGuard(const Clock& clock) {
  auto g = Guard::Create(GuardConfig::Default(), clock);
  for (const auto& p : TheWorkload().profiles) g->RegisterAccount(p);
  return g;
}

Access ToAccess(const Workload& w, const Event& ev, int64_t shift) {
  Access a;
  a.time = ev.time + shift;
  a.account = AccountId(ev.account);
  a.kind = ev.kind;
  a.source = w.sources[static_cast<size_t>(ev.account - 1)];
  a.persons = std::span<const PersonId>(w.persons.data() + ev.first, ev.count);
  if (ev.query >= 0) a.query = w.queries[static_cast<size_t>(ev.query)];
  a.page = ev.page;
  return a;
}

void BM_GuardAssessThroughput(benchmark::State& state) {
  const Workload& w = TheWorkload();
  FakeClock clock;
  auto guard = MakeGuard(clock);
  size_t i = 0;
  int64_t shift = 0, flagged = 0, recorded = 0;
  for (auto _ : state) {
    Verdict v = guard->Assess(ToAccess(w, w.events[i], shift));
    flagged += v.action >= Action::kAlert;
    recorded += v.action == Action::kRecord;
    benchmark::DoNotOptimize(v);
    if (++i == w.events.size()) i = 0, shift = NextShift(w, shift);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["alerts_per_1M"] = static_cast<double>(flagged) * 1e6 / static_cast<double>(state.iterations());
  // Verdicts kept for the record (score >= record_at, below alert_at): they
  // carry an explanation, so they cost more than a silent verdict.
  state.counters["recorded_per_1M"] = static_cast<double>(recorded) * 1e6 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_GuardAssessThroughput)->MinTime(3);

void BM_GuardAssessLatency(benchmark::State& state) {
  const Workload& w = TheWorkload();
  FakeClock clock;
  auto guard = MakeGuard(clock);
  std::vector<int64_t> ns;
  ns.reserve(w.events.size());
  int64_t shift = 0;
  for (auto _ : state) {
    ns.clear();
    for (const Event& ev : w.events) {
      Access a = ToAccess(w, ev, shift);
      auto t0 = std::chrono::steady_clock::now();
      Verdict v = guard->Assess(a);
      auto t1 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(v);
      ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    shift = NextShift(w, shift);
  }
  std::sort(ns.begin(), ns.end());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(w.events.size()));
  state.counters["p50_ns"] = static_cast<double>(ns[ns.size() / 2]);
  state.counters["p99_ns"] = static_cast<double>(ns[ns.size() * 99 / 100]);
  state.counters["p999_ns"] = static_cast<double>(ns[ns.size() * 999 / 1000]);
  state.counters["max_ns"] = static_cast<double>(ns.back());
}
BENCHMARK(BM_GuardAssessLatency)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cloison::guard

BENCHMARK_MAIN();
