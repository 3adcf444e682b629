// Synthetic-data generation speed: people per second (generation alone, and
// with CSV / JSON Lines formatting) for a network sized like the 1.6M-people
// import benchmark.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "core/field_catalog.h"
#include "sim/network.h"
#include "sim/people.h"
#include "sim/writers.h"

namespace {

using namespace cloison;
using namespace cloison::sim;

const Network& BenchNetwork() {
  static const Network* net = [] {
    NetworkOptions o;
    o.people = 1'600'000;
    auto n = GenerateNetwork(o, 1);
    if (!n.ok()) std::abort();
    return new Network(*std::move(n));
  }();
  return *net;
}

const PeopleGenerator& BenchGenerator() {
  static const PeopleGenerator* g = [] {
    auto r = PeopleGenerator::Create(BenchNetwork(), FieldCatalog::Default(), 1);
    if (!r.ok()) std::abort();
    return r->release();
  }();
  return *g;
}

void BM_GenerateNetwork(benchmark::State& state) {
  NetworkOptions o;
  o.people = state.range(0);
  for (auto _ : state) {
    auto n = GenerateNetwork(o, 1);
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_GenerateNetwork)->Arg(1'600'000)->Unit(benchmark::kMillisecond);

void BM_GeneratePeople(benchmark::State& state) {
  const PeopleGenerator& g = BenchGenerator();
  GeneratedPerson p;
  uint64_t i = 0;
  for (auto _ : state) {
    g.Generate(i++ % 1'600'000, &p);
    benchmark::DoNotOptimize(p.person.fields.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_GeneratePeople);

void BM_GenerateCsv(benchmark::State& state) {
  const PeopleGenerator& g = BenchGenerator();
  PeopleRowFormatter fmt(BenchNetwork(), FieldCatalog::Default());
  GeneratedPerson p;
  std::string out;
  uint64_t i = 0, bytes = 0;
  for (auto _ : state) {
    g.Generate(i++ % 1'600'000, &p);
    fmt.AppendCsvRow(p, &out);
    if (out.size() > (1 << 20)) bytes += out.size(), out.clear();
  }
  bytes += out.size();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_GenerateCsv);

void BM_GenerateJsonLines(benchmark::State& state) {
  const PeopleGenerator& g = BenchGenerator();
  PeopleRowFormatter fmt(BenchNetwork(), FieldCatalog::Default());
  GeneratedPerson p;
  std::string out;
  uint64_t i = 0, bytes = 0;
  for (auto _ : state) {
    g.Generate(i++ % 1'600'000, &p);
    (void)fmt.AppendJsonLine(p, &out);
    if (out.size() > (1 << 20)) bytes += out.size(), out.clear();
  }
  bytes += out.size();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_GenerateJsonLines);

// The whole 1.6M-people CSV file, as `cloison generate` writes it.
void BM_WriteCsvFile(benchmark::State& state) {
  const PeopleGenerator& g = BenchGenerator();
  const std::string path = "/tmp/cloison_sim_bench.csv";
  WriteOptions wo;
  wo.threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    if (!WritePeopleFile(path, PeopleFormat::kCsv, g, static_cast<uint64_t>(state.range(0)), wo).ok())
      state.SkipWithError("write failed");
  }
  std::remove(path.c_str());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_WriteCsvFile)->Args({1'600'000, 1})->Args({1'600'000, 2})->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
