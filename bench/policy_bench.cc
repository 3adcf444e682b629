// Policy decision latency at national scale, in-process vs the same check as
// a SQL join.
//
// World: 1,600,000 people followed by ~1,350 agencies and missions locales
// under 13 regional directions, 2,000 training organisations with 12,000
// sessions, 400,000 orientations, 5,000 accounts (counsellors, partner users,
// access managers, security officers). Built directly into a RelationIndex
// (no store, no encryption: this measures the decision, not the load).
//
// Workload: 1,000,000 decisions, half on a related (person, account) pair
// (allowed unless the orientation is out of its window or status) and half
// on a random person (denied), over four purposes. Each call is timed with
// std::chrono::steady_clock; p50/p90/p99/p99.9 are reported as counters
// (clock_overhead_ns is the cost of the two clock reads, included in them).
//
// SQL: the same relation checks on a plain SQLite database holding the same
// relation tables (agents, persons, person_structures, orientations,
// sessions, formations, structure ancestors), with a prepared statement per
// relation kind and the natural indexes; 200,000 queries from the same
// workload. Set CLOISON_BENCH_DIR to choose where the database file goes
// (default: the system temp directory).
//
// Built by `bash scripts/run-tests.sh` (Release, build/test; build/release is
// configured with CLOISON_BUILD_BENCH=OFF) or
// `cmake --build build/test --target policy_bench`, then:
//   build/test/bench/policy_bench --benchmark_counters_tabular=true
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/strings.h"
#include "policy/engine.h"
#include "policy/policy.h"
#include "policy/relation_index.h"

namespace cloison::policy {
namespace {

constexpr int64_t kPeople = 1'600'000;
constexpr int kAccounts = 5'000;
constexpr int kRegions = 13;
constexpr int kAgencies = 900;
constexpr int kMissionsLocales = 440;
constexpr int kTrainingOrgs = 2'000;
constexpr int kFormationsPerOrg = 2;
constexpr int kSessionsPerFormation = 3;
constexpr int64_t kOrientations = 400'000;
constexpr int kDecisions = 1'000'000;
constexpr int kSqlQueries = 200'000;

enum class Kind : uint8_t { kFollowed, kOrientation, kStatistics, kInvestigation };

struct Query {
  uint32_t account;  // index into principals
  int64_t person;
  Kind kind;
};

struct World {
  const Policy& policy = Policy::Default();
  RelationIndex index;
  std::vector<Principal> principals;
  std::vector<Query> workload;
  // Generation data kept for the SQL side.
  std::vector<std::pair<int64_t, std::optional<int64_t>>> structures;  // id, parent
  std::vector<StructureKind> structure_kinds;
  std::vector<int64_t> person_referent;                                  // by person id
  std::vector<int64_t> person_counsellor;
  std::vector<std::pair<int64_t, int64_t>> person_other;                 // person, structure
  std::vector<std::pair<int64_t, int64_t>> formations;                   // id, organisation
  std::vector<TrainingSession> sessions;
  std::vector<Orientation> orientations;
  PurposeId accompaniment{}, enrolment{}, statistics{}, investigation{};
  Date today{2025, 10, 15};
  double build_seconds = 0;
  RevealRequest break_glass;
};

World& TheWorld() {
  static World* w = [] {
    auto* w = new World;
    const auto t0 = std::chrono::steady_clock::now();
    std::mt19937_64 rng(20251015);
    auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
    w->accompaniment = *w->policy.FindPurpose("accompaniment");
    w->enrolment = *w->policy.FindPurpose("training_enrolment");
    w->statistics = *w->policy.FindPurpose("statistics");
    w->investigation = *w->policy.FindPurpose("investigation");
    w->break_glass.justification = "benchmark: incident 2025-117 investigation";
    w->break_glass.approved_by = AccountId(999'999);

    // Structures: 1 national, 13 regions, agencies and missions locales under
    // regions, training organisations at the root.
    std::vector<Structure> structures;
    int64_t next = 1;
    auto add = [&](StructureKind k, std::optional<int64_t> parent, std::string code) {
      Structure s;
      s.id = StructureId(next++);
      s.kind = k;
      if (parent) s.parent = StructureId(*parent);
      s.code = std::move(code);
      structures.push_back(s);
      w->structures.push_back({s.id.value(), parent});
      w->structure_kinds.push_back(k);
      return s.id.value();
    };
    const int64_t nat = add(StructureKind::kNationalOperator, std::nullopt, "FT-DG");
    std::vector<int64_t> regions, followers, orgs;
    for (int i = 0; i < kRegions; ++i) regions.push_back(add(StructureKind::kRegionalDirection, nat, StrCat("DR-", i)));
    for (int i = 0; i < kAgencies; ++i)
      followers.push_back(add(StructureKind::kAgency, regions[i % kRegions], StrCat("FT-", i)));
    for (int i = 0; i < kMissionsLocales; ++i)
      followers.push_back(add(StructureKind::kMissionLocale, regions[i % kRegions], StrCat("ML-", i)));
    for (int i = 0; i < kTrainingOrgs; ++i)
      orgs.push_back(add(StructureKind::kTrainingOrganisation, std::nullopt, StrCat("OF-", i)));
    if (!w->index.AddStructures(structures).ok()) std::abort();

    // Formations and sessions.
    int64_t fid = 1, sid = 1;
    std::vector<std::vector<int64_t>> org_sessions(orgs.size());
    for (size_t o = 0; o < orgs.size(); ++o)
      for (int f = 0; f < kFormationsPerOrg; ++f) {
        Formation fm{FormationId(fid), StructureId(orgs[o]), StrCat("F-", fid), "formation", "numérique"};
        if (!w->index.AddFormation(fm).ok()) std::abort();
        w->formations.push_back({fid, orgs[o]});
        for (int s = 0; s < kSessionsPerFormation; ++s) {
          const Date start = Date::FromDays(w->today.ToDays() - uniform(0, 200));
          const Date end = Date::FromDays(start.ToDays() + uniform(30, 240));
          TrainingSession ts{TrainingSessionId(sid), FormationId(fid), StrCat("OF-", o, "-S", sid), start, end, ""};
          if (!w->index.AddSession(ts).ok()) std::abort();
          w->sessions.push_back(ts);
          org_sessions[o].push_back(sid);
          ++sid;
        }
        ++fid;
      }

    // Accounts: 4,000 counsellors (3 per follower structure, the rest at
    // directions), 800 partner users, 100 access managers, 100 security
    // officers. Principal i has account id i + 1.
    std::vector<std::vector<int64_t>> counsellors_of(next);
    for (int i = 0; i < kAccounts; ++i) {
      Principal p;
      p.account = AccountId(i + 1);
      if (i < 4'000) {
        const int64_t s = i < static_cast<int>(followers.size()) * 2 ? followers[i % followers.size()]
                                                                      : regions[i % kRegions];
        p.structure = StructureId(s);
        p.roles = {Role::kCounsellor};
        counsellors_of[s].push_back(i);
      } else if (i < 4'800) {
        p.structure = StructureId(orgs[(i - 4'000) % orgs.size()]);
        p.roles = {Role::kPartnerUser};
      } else if (i < 4'900) {
        p.structure = StructureId(followers[i % followers.size()]);
        p.roles = {Role::kAccessManager};
      } else {
        p.structure = StructureId(nat);
        p.roles = {Role::kSecurityOfficer};
      }
      w->principals.push_back(std::move(p));
    }

    // People.
    w->index.Reserve(kPeople, kOrientations + kPeople / 10);
    w->person_referent.assign(kPeople + 1, 0);
    w->person_counsellor.assign(kPeople + 1, 0);
    std::vector<std::vector<int64_t>> people_of(next);
    for (int64_t id = 1; id <= kPeople; ++id) {
      const int64_t ref = followers[uniform(0, followers.size() - 1)];
      std::optional<AccountId> counsellor;
      if (!counsellors_of[ref].empty()) {
        const auto& cs = counsellors_of[ref];
        counsellor = AccountId(cs[uniform(0, cs.size() - 1)] + 1);
      }
      StructureId other[1];
      std::span<const StructureId> others;
      if (uniform(0, 9) == 0) {
        other[0] = StructureId(followers[uniform(0, followers.size() - 1)]);
        others = other;
        w->person_other.push_back({id, other[0].value()});
      }
      if (!w->index.OnPersonFollowed(PersonId(id), StructureId(ref), counsellor, others).ok()) std::abort();
      w->person_referent[id] = ref;
      w->person_counsellor[id] = counsellor ? counsellor->value() : 0;
      people_of[ref].push_back(id);
    }
    // Orientations.
    const OrientationStatus statuses[] = {OrientationStatus::kProposed, OrientationStatus::kAccepted,
                                          OrientationStatus::kAccepted, OrientationStatus::kEnrolled,
                                          OrientationStatus::kEnrolled, OrientationStatus::kRefused,
                                          OrientationStatus::kFinished, OrientationStatus::kAbandoned};
    std::vector<std::vector<int64_t>> candidates_of(orgs.size());
    for (int64_t oid = 1; oid <= kOrientations; ++oid) {
      Orientation o;
      o.id = OrientationId(oid);
      o.person = PersonId(uniform(1, kPeople));
      const size_t org = uniform(0, orgs.size() - 1);
      o.session = TrainingSessionId(org_sessions[org][uniform(0, org_sessions[org].size() - 1)]);
      o.status = statuses[uniform(0, 7)];
      const TrainingSession& ts = w->sessions[o.session.value() - 1];
      o.proposed_on = Date::FromDays(ts.start.ToDays() - uniform(0, 60));
      o.counsellor = AccountId(1);
      if (!w->index.OnOrientationChanged(o).ok()) std::abort();
      w->orientations.push_back(o);
      candidates_of[org].push_back(o.person.value());
    }

    // Workload: half related pairs, half random people.
    w->workload.reserve(kDecisions);
    for (int i = 0; i < kDecisions; ++i) {
      Query q;
      const int mix = static_cast<int>(uniform(0, 99));
      const bool related = uniform(0, 1) == 0;
      if (mix < 60) {  // counsellor reading a file
        q.kind = Kind::kFollowed;
        q.account = static_cast<uint32_t>(uniform(0, static_cast<int64_t>(followers.size()) * 2 - 1));
        const auto& ps = people_of[w->principals[q.account].structure.value()];
        q.person = related && !ps.empty() ? ps[uniform(0, ps.size() - 1)] : uniform(1, kPeople);
      } else if (mix < 90) {  // partner enrolment
        q.kind = Kind::kOrientation;
        q.account = static_cast<uint32_t>(uniform(4'000, 4'799));
        const auto& cs = candidates_of[(q.account - 4'000) % orgs.size()];
        q.person = related && !cs.empty() ? cs[uniform(0, cs.size() - 1)] : uniform(1, kPeople);
      } else if (mix < 97) {  // regional statistics
        q.kind = Kind::kStatistics;
        q.account = static_cast<uint32_t>(uniform(static_cast<int64_t>(followers.size()) * 2, 3'999));
        q.person = uniform(1, kPeople);
      } else {  // break-glass
        q.kind = Kind::kInvestigation;
        q.account = static_cast<uint32_t>(uniform(4'900, 4'999));
        q.person = uniform(1, kPeople);
      }
      w->workload.push_back(q);
    }
    w->build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return w;
  }();
  return *w;
}

inline Decision DecideOne(const World& w, const Engine& engine, const Query& q) {
  const Principal& p = w.principals[q.account];
  switch (q.kind) {
    case Kind::kFollowed: return engine.Decide(p, PersonId(q.person), w.accompaniment, w.today);
    case Kind::kOrientation: return engine.Decide(p, PersonId(q.person), w.enrolment, w.today);
    case Kind::kStatistics: return engine.Decide(p, PersonId(q.person), w.statistics, w.today);
    case Kind::kInvestigation: return engine.Decide(p, PersonId(q.person), w.investigation, w.today, &w.break_glass);
  }
  return {};
}

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return static_cast<double>(v[k]);
}

double ClockOverheadNs() {
  std::vector<int64_t> v(100'000);
  for (auto& x : v) {
    const auto a = std::chrono::steady_clock::now();
    const auto b = std::chrono::steady_clock::now();
    x = std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
  }
  return Percentile(v, 0.5);
}

void Report(benchmark::State& state, std::vector<int64_t>& lat, int64_t allowed) {
  state.counters["p50_ns"] = Percentile(lat, 0.50);
  state.counters["p90_ns"] = Percentile(lat, 0.90);
  state.counters["p99_ns"] = Percentile(lat, 0.99);
  state.counters["p999_ns"] = Percentile(lat, 0.999);
  state.counters["allowed_pct"] = 100.0 * static_cast<double>(allowed) / static_cast<double>(lat.size());
  state.counters["calls"] = static_cast<double>(lat.size());
}

// Per-call latency distribution, in-process.
void BM_Decide_Latency(benchmark::State& state) {
  World& w = TheWorld();
  const Engine engine(w.policy, w.index);
  std::vector<int64_t> lat(w.workload.size());
  int64_t allowed = 0;
  for (auto _ : state) {
    allowed = 0;
    for (size_t i = 0; i < w.workload.size(); ++i) {
      const auto a = std::chrono::steady_clock::now();
      const Decision d = DecideOne(w, engine, w.workload[i]);
      const auto b = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(d);
      allowed += d.allowed;
      lat[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
    }
  }
  Report(state, lat, allowed);
  state.counters["clock_overhead_ns"] = ClockOverheadNs();
  state.counters["index_MiB"] = static_cast<double>(w.index.MemoryBytes()) / (1 << 20);
  state.counters["world_build_s"] = w.build_seconds;
}
BENCHMARK(BM_Decide_Latency)->Iterations(1)->Unit(benchmark::kMillisecond);

// Throughput (no per-call clock), single- and multi-threaded.
void BM_Decide(benchmark::State& state) {
  World& w = TheWorld();
  const Engine engine(w.policy, w.index);
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    const Decision d = DecideOne(w, engine, w.workload[i % w.workload.size()]);
    benchmark::DoNotOptimize(d);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Decide)->Threads(1)->Threads(2);

// --- The same checks as SQL joins on SQLite. --------------------------------

class SqlWorld {
 public:
  SqlWorld() {
    World& w = TheWorld();
    const char* env = std::getenv("CLOISON_BENCH_DIR");
    const std::filesystem::path dir = env && *env ? std::filesystem::path(env) : std::filesystem::temp_directory_path();
    path_ = (dir / StrCat("policy_bench_", static_cast<int64_t>(::getpid()), ".db")).string();
    std::filesystem::remove(path_);
    Check(sqlite3_open(path_.c_str(), &db_));
    Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;");
    Exec("CREATE TABLE structures(id INTEGER PRIMARY KEY, parent INTEGER, kind INTEGER);"
         "CREATE TABLE structure_ancestors(structure INTEGER, ancestor INTEGER, PRIMARY KEY(structure, ancestor)) WITHOUT ROWID;"
         "CREATE TABLE agents(id INTEGER PRIMARY KEY, structure INTEGER);"
         "CREATE TABLE persons(id INTEGER PRIMARY KEY, referent_structure INTEGER, referent_counsellor INTEGER);"
         "CREATE TABLE person_structures(person INTEGER, structure INTEGER, PRIMARY KEY(person, structure)) WITHOUT ROWID;"
         "CREATE TABLE formations(id INTEGER PRIMARY KEY, organisation INTEGER);"
         "CREATE TABLE sessions(id INTEGER PRIMARY KEY, formation INTEGER, start_day INTEGER, end_day INTEGER);"
         "CREATE TABLE orientations(id INTEGER PRIMARY KEY, person INTEGER, session INTEGER, status INTEGER, proposed_day INTEGER);");
    Exec("BEGIN");
    Bulk("INSERT INTO structures VALUES(?,?,?)", w.structures.size(), [&](sqlite3_stmt* s, size_t i) {
      sqlite3_bind_int64(s, 1, w.structures[i].first);
      if (w.structures[i].second) sqlite3_bind_int64(s, 2, *w.structures[i].second);
      else sqlite3_bind_null(s, 2);
      sqlite3_bind_int(s, 3, static_cast<int>(w.structure_kinds[i]));
    });
    // Ancestors (self included), as a closure table.
    std::vector<std::pair<int64_t, int64_t>> anc;
    for (const auto& [id, parent] : w.structures) {
      anc.push_back({id, id});
      for (std::optional<int64_t> p = parent; p; p = w.structures[*p - 1].second) anc.push_back({id, *p});
    }
    Bulk("INSERT INTO structure_ancestors VALUES(?,?)", anc.size(), [&](sqlite3_stmt* s, size_t i) {
      sqlite3_bind_int64(s, 1, anc[i].first);
      sqlite3_bind_int64(s, 2, anc[i].second);
    });
    Bulk("INSERT INTO agents VALUES(?,?)", w.principals.size(), [&](sqlite3_stmt* s, size_t i) {
      sqlite3_bind_int64(s, 1, w.principals[i].account.value());
      sqlite3_bind_int64(s, 2, w.principals[i].structure.value());
    });
    Bulk("INSERT INTO persons VALUES(?,?,?)", kPeople, [&](sqlite3_stmt* s, size_t i) {
      sqlite3_bind_int64(s, 1, static_cast<int64_t>(i) + 1);
      sqlite3_bind_int64(s, 2, w.person_referent[i + 1]);
      sqlite3_bind_int64(s, 3, w.person_counsellor[i + 1]);
    });
    Bulk("INSERT OR IGNORE INTO person_structures VALUES(?,?)", w.person_other.size(), [&](sqlite3_stmt* s, size_t i) {
      sqlite3_bind_int64(s, 1, w.person_other[i].first);
      sqlite3_bind_int64(s, 2, w.person_other[i].second);
    });
    Bulk("INSERT INTO formations VALUES(?,?)", w.formations.size(), [&](sqlite3_stmt* s, size_t i) {
      sqlite3_bind_int64(s, 1, w.formations[i].first);
      sqlite3_bind_int64(s, 2, w.formations[i].second);
    });
    Bulk("INSERT INTO sessions VALUES(?,?,?,?)", w.sessions.size(), [&](sqlite3_stmt* s, size_t i) {
      sqlite3_bind_int64(s, 1, w.sessions[i].id.value());
      sqlite3_bind_int64(s, 2, w.sessions[i].formation.value());
      sqlite3_bind_int64(s, 3, w.sessions[i].start.ToDays());
      sqlite3_bind_int64(s, 4, w.sessions[i].end.ToDays());
    });
    Bulk("INSERT INTO orientations VALUES(?,?,?,?,?)", w.orientations.size(), [&](sqlite3_stmt* s, size_t i) {
      const Orientation& o = w.orientations[i];
      sqlite3_bind_int64(s, 1, o.id.value());
      sqlite3_bind_int64(s, 2, o.person.value());
      sqlite3_bind_int64(s, 3, o.session.value());
      sqlite3_bind_int(s, 4, static_cast<int>(o.status));
      sqlite3_bind_int64(s, 5, o.proposed_on.ToDays());
    });
    Exec("COMMIT");
    Exec("CREATE INDEX orientations_person ON orientations(person); ANALYZE;");
    // One statement per relation kind, as a store would issue it: the
    // account's structure joined to the person's relations.
    followed_ = Prepare(
        "SELECT 1 FROM agents a, persons p WHERE a.id = ?1 AND p.id = ?2 AND ("
        " p.referent_structure = a.structure"
        " OR EXISTS(SELECT 1 FROM person_structures ps WHERE ps.person = p.id AND ps.structure = a.structure))");
    orientation_ = Prepare(
        "SELECT o.id FROM agents a JOIN orientations o ON o.person = ?2"
        " JOIN sessions s ON s.id = o.session JOIN formations f ON f.id = s.formation"
        " WHERE a.id = ?1 AND f.organisation = a.structure AND o.status IN (1, 3)"
        " AND ?3 BETWEEN o.proposed_day AND s.end_day + 30 LIMIT 1");
    statistics_ = Prepare(
        "SELECT 1 FROM agents a, persons p WHERE a.id = ?1 AND p.id = ?2 AND ("
        " EXISTS(SELECT 1 FROM structure_ancestors sa WHERE sa.structure = p.referent_structure"
        "        AND sa.ancestor = a.structure)"
        " OR EXISTS(SELECT 1 FROM person_structures ps JOIN structure_ancestors sa ON sa.structure = ps.structure"
        "           WHERE ps.person = p.id AND sa.ancestor = a.structure))");
    exists_ = Prepare("SELECT 1 FROM persons WHERE id = ?2 AND ?1 > 0");
  }
  ~SqlWorld() {
    for (sqlite3_stmt* s : {followed_, orientation_, statistics_, exists_}) sqlite3_finalize(s);
    sqlite3_close(db_);
    std::filesystem::remove(path_);
  }

  bool Check(const Query& q, int64_t today) {
    sqlite3_stmt* s = q.kind == Kind::kFollowed      ? followed_
                      : q.kind == Kind::kOrientation ? orientation_
                      : q.kind == Kind::kStatistics  ? statistics_
                                                     : exists_;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, static_cast<int64_t>(q.account) + 1);
    sqlite3_bind_int64(s, 2, q.person);
    if (s == orientation_) sqlite3_bind_int64(s, 3, today);
    return sqlite3_step(s) == SQLITE_ROW;
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK) {
      std::fprintf(stderr, "sqlite: %s\n", db_ ? sqlite3_errmsg(db_) : "open failed");
      std::abort();
    }
  }
  void Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::fprintf(stderr, "sqlite: %s\n", err ? err : "?");
      std::abort();
    }
  }
  sqlite3_stmt* Prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    Check(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr));
    return s;
  }
  template <typename Bind>
  void Bulk(const char* sql, size_t n, Bind bind) {
    sqlite3_stmt* s = Prepare(sql);
    for (size_t i = 0; i < n; ++i) {
      bind(s, i);
      if (sqlite3_step(s) != SQLITE_DONE) Check(SQLITE_ERROR);
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
    sqlite3_finalize(s);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt *followed_ = nullptr, *orientation_ = nullptr, *statistics_ = nullptr, *exists_ = nullptr;
};

SqlWorld& TheSql() {
  static SqlWorld* s = new SqlWorld();
  return *s;
}

void BM_SqlJoin_Latency(benchmark::State& state) {
  World& w = TheWorld();
  SqlWorld& sql = TheSql();
  const int64_t today = w.today.ToDays();
  const Engine engine(w.policy, w.index);
  std::vector<int64_t> lat(kSqlQueries);
  int64_t allowed = 0, mismatches = 0;
  for (auto _ : state) {
    allowed = 0;
    for (int i = 0; i < kSqlQueries; ++i) {
      const auto a = std::chrono::steady_clock::now();
      const bool ok = sql.Check(w.workload[i], today);
      const auto b = std::chrono::steady_clock::now();
      allowed += ok;
      lat[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
      // Both sides must give the same answer, or the comparison is void.
      if (ok != DecideOne(w, engine, w.workload[i]).allowed) {
        ++mismatches;
        if (std::getenv("CLOISON_BENCH_DEBUG"))
          std::fprintf(stderr, "mismatch: kind %d account %u person %lld sql %d\n", static_cast<int>(w.workload[i].kind),
                       w.workload[i].account, static_cast<long long>(w.workload[i].person), ok);
      }
    }
  }
  Report(state, lat, allowed);
  state.counters["mismatches"] = static_cast<double>(mismatches);
}
BENCHMARK(BM_SqlJoin_Latency)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_SqlJoin(benchmark::State& state) {
  World& w = TheWorld();
  SqlWorld& sql = TheSql();
  const int64_t today = w.today.ToDays();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sql.Check(w.workload[i % w.workload.size()], today));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqlJoin);

}  // namespace
}  // namespace cloison::policy

BENCHMARK_MAIN();
