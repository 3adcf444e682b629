// Store throughput and latency (Google Benchmark).
//
//   store_bench --benchmark_filter=Bulk     people/s of UpsertPersons in bulk mode
//   store_bench --benchmark_filter=Get      GetPerson latency, 2-field mask vs all
//
// People are synthetic but shaped like the generator's: the default catalog
// (8 encrypted fields, 3 unique blind indexes + e-mail), realistic lengths.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/field_catalog.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "store/store.h"

namespace cloison::store {
namespace {

namespace fs = std::filesystem;

std::string Digits(int64_t v, int width) {
  std::string s = std::to_string(v);
  return std::string(static_cast<size_t>(std::max<int>(0, width - static_cast<int>(s.size()))), '0') + s;
}

Person MakePerson(int64_t i) {
  const FieldCatalog& c = FieldCatalog::Default();
  Person p;
  p.referent_structure = StructureId(1 + i % 500);
  p.referent_counsellor = AccountId(1 + i % 4000);
  p.fields.resize(c.size());
  auto set = [&](std::string_view name, std::string v) {
    if (auto idx = c.IndexOf(name)) p.fields[*idx] = std::move(v);
  };
  set("nom", StrCat("Nom", i % 50000));
  set("prenom", "Camille");
  set("sexe", i % 2 ? "F" : "M");
  set("date_naissance", StrCat("19", 70 + i % 30, "-0", 1 + i % 9, "-1", i % 10));
  set("nir", StrCat(1 + i % 2, Digits(i % 100, 2), "0467", Digits(i, 8)));
  set("ft_id", Digits(10000000000 + i, 11));
  set("email", StrCat("camille.nom", i, "@exemple.fr"));
  set("telephone", StrCat("06", Digits(i, 8)));
  set("adresse", StrCat(1 + i % 150, " rue de la République"));
  set("code_postal", Digits(1000 + i % 95000, 5));
  set("commune", "Saint-Étienne-du-Rouvray");
  set("date_inscription", "2024-01-15");
  set("statut", "en_accompagnement");
  return p;
}

crypto::SecretBytes MasterKey() {
  (void)crypto::InitCrypto();
  crypto::SecretBytes k(crypto::kMasterKeySize);
  crypto::SecureRandom::Instance().Fill(std::span<uint8_t>(k.mutable_data(), k.size()));
  return k;
}

struct TempDb {
  fs::path dir;
  TempDb() {
    dir = fs::temp_directory_path() / StrCat("cloison_store_bench_", crypto::SecureRandom::Instance().Next64());
    fs::create_directories(dir);
  }
  ~TempDb() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path() const { return (dir / "bench.db").string(); }
};

std::unique_ptr<Store> OpenOrDie(const std::string& path, bool bulk, const crypto::SecretBytes& master,
                                 const Clock& clock) {
  SqliteOptions o;
  o.path = path;
  o.bulk = bulk;
  auto st = OpenSqliteStore(o, FieldCatalog::Default(), master, clock);
  if (!st.ok()) {
    fprintf(stderr, "open: %s\n", std::string(MessageOf(st.status())).c_str());
    std::abort();
  }
  return std::move(*st);
}

// Steady-state bulk upserts: one 5,000-person batch (the importer's batch
// size) per iteration, into a growing fresh store. Generation is untimed.
void BM_UpsertPersonsBulk(benchmark::State& state) {
  const int64_t batch_size = state.range(0);
  TempDb db;
  FakeClock clock;
  auto master = MasterKey();
  auto st = OpenOrDie(db.path(), /*bulk=*/true, master, clock);
  int64_t next = 0;
  std::vector<Person> batch;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int64_t i = 0; i < batch_size; ++i) batch.push_back(MakePerson(next++));
    state.ResumeTiming();
    auto r = st->UpsertPersons(batch);
    if (!r.ok()) state.SkipWithError(std::string(MessageOf(r.status())).c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch_size);
  state.counters["people/s"] = benchmark::Counter(static_cast<double>(state.iterations() * batch_size),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_UpsertPersonsBulk)->Arg(5000)->Unit(benchmark::kMillisecond)->UseRealTime();

// End to end: N people into a fresh bulk store in 5,000-person batches, then
// FinishBulkLoad (index build, checkpoint). People are generated up front.
void BM_BulkLoadEndToEnd(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<Person> people;
  people.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) people.push_back(MakePerson(i));
  auto master = MasterKey();
  FakeClock clock;
  for (auto _ : state) {
    state.PauseTiming();
    {
      TempDb db;
      state.ResumeTiming();
      auto st = OpenOrDie(db.path(), /*bulk=*/true, master, clock);
      for (int64_t at = 0; at < n; at += 5000) {
        const auto batch = std::span<const Person>(people).subspan(
            static_cast<size_t>(at), static_cast<size_t>(std::min<int64_t>(5000, n - at)));
        auto r = st->UpsertPersons(batch);
        if (!r.ok()) state.SkipWithError(std::string(MessageOf(r.status())).c_str());
      }
      auto s = st->FinishBulkLoad();
      if (!s.ok()) state.SkipWithError(std::string(MessageOf(s)).c_str());
      st.reset();
      state.PauseTiming();
    }
    state.ResumeTiming();
  }
  state.counters["people/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BulkLoadEndToEnd)->Arg(200000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// GetPerson latency on a 100,000-person store: arg 0 = mask of 2 fields
// (nom + e-mail, one decryption), arg 1 = all fields (8 decryptions).
void BM_GetPerson(benchmark::State& state) {
  static TempDb* db = nullptr;
  static FakeClock clock;
  static crypto::SecretBytes master = MasterKey();
  constexpr int64_t kPeople = 100000;
  if (!db) {
    db = new TempDb();
    auto st = OpenOrDie(db->path(), true, master, clock);
    std::vector<Person> batch;
    for (int64_t at = 0; at < kPeople; at += 5000) {
      batch.clear();
      for (int64_t i = at; i < at + 5000; ++i) batch.push_back(MakePerson(i));
      (void)st->UpsertPersons(batch);
    }
    (void)st->FinishBulkLoad();
  }
  auto st = OpenOrDie(db->path(), false, master, clock);
  const FieldCatalog& c = FieldCatalog::Default();
  FieldMask mask;
  if (state.range(0) == 0) {
    mask.include.assign(c.size(), false);
    mask.include[*c.IndexOf("nom")] = true;
    mask.include[*c.IndexOf("email")] = true;
  }
  std::mt19937_64 rng(42);
  for (auto _ : state) {
    auto p = st->GetPerson(PersonId(1 + static_cast<int64_t>(rng() % kPeople)), mask);
    if (!p.ok()) state.SkipWithError(std::string(MessageOf(p.status())).c_str());
    benchmark::DoNotOptimize(p);
  }
  state.SetLabel(state.range(0) == 0 ? "mask: nom+email" : "all fields");
}
BENCHMARK(BM_GetPerson)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cloison::store

BENCHMARK_MAIN();
