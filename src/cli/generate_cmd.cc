// cloison generate | demo
//
// generate runs a two-stage pipeline so that both cores work: a producer
// thread generates people (counter-based, see sim/people.h) and formats their
// CSV / JSON Lines rows, while the main thread writes the previous batch to
// the store (which encrypts and blind-indexes) and to the files.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <optional>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "audit/log.h"
#include "cli/common.h"
#include "cli/demo_accounts.h"
#include "cli/guard_state.h"
#include "cli/serve_cmd.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/random.h"
#include "core/field_catalog.h"
#include "core/bounded_queue.h"
#include "core/strings.h"
#include "guard/guard.h"
#include "policy/policy.h"
#include "policy/relation_index.h"
#include "sim/network.h"
#include "sim/people.h"
#include "sim/traffic.h"
#include "sim/writers.h"

namespace cloison::cli {

namespace {

struct GenerateArgs {
  int64_t persons = 100000;
  uint64_t seed = 2025;
  std::string out;         // default <data>/export
  // Reference date (ages, inscriptions, orientation windows); empty = today
  // from ctx.clock (UTC). The output is deterministic for (seed, today).
  std::string today;
  bool no_files = false;
  bool no_store = false;
  bool network_only = false;
  // Decoy people (honeytokens) per agency and mission locale, planted with
  // the population (not in the exported files); 0: none.
  int honeytokens = 3;
};

// `cloison demo`: generation (or reuse), the demo accounts, then the API.
struct DemoArgs {
  GenerateArgs gen;
  ServeArgs serve;
  bool no_serve = false;
};

struct GenerateSummary {
  Date today;
  std::string dir_warning;
  int64_t people = 0;
  int64_t orientations = 0;
  int64_t decoys = 0;
  int64_t decoy_structures = 0;
  std::string out_dir;
  bool files = false;
  bool stored = false;
};

struct Batch {
  std::vector<Person> persons;  // in ascending id order, decoys among them
  int64_t decoys = 0;           // how many of persons are decoys
  std::vector<Orientation> orientations;
  std::string csv, jsonl, orientations_jsonl;
  Status status;
};

// Today's date (UTC) from the command's clock: a store generated without
// --today has orientations that are live against the real date, so that
// partners and technical accounts read someone (with a fixed default they
// would all have expired).
Date ClockToday(const Context& ctx) { return Date::FromDays(ctx.clock->NowSeconds() / 86400); }

// The exported files hold people's data in clear (NIR, e-mail, phone,
// address): owner-only. A directory we create is made 0700; an existing one
// (the user's choice, maybe shared like /tmp) is left as it is — changing
// its mode could break other things in it — with a warning when others can
// list it; the files themselves are 0600 either way.
Status PrepareOutputDir(const std::string& dir, std::string& warning) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return InvalidArgument(StrCat("--out ", dir, " exists and is not a directory"));
    if ((st.st_mode & 077) != 0)
      warning = StrCat("note: ", dir, " is accessible by other users (mode ",
                       std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                           std::to_string(st.st_mode & 7),
                       "); the files written in it are 0600, but use a private directory for clear personal data");
    return OkStatus();
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IOError(StrCat("cannot create ", dir, ": ", ec.message()));
  if (::chmod(dir.c_str(), 0700) != 0) return IOError(StrCat("cannot chmod 700 ", dir, ": ", std::strerror(errno)));
  return OkStatus();
}

// Creates (or truncates) `path` as an owner-only regular file before the
// writers open it with fopen, which keeps an existing file's mode: so the
// file is 0600 whatever the umask, and whatever mode an earlier run left.
// O_NOFOLLOW: a symlink planted in a shared --out directory is refused
// rather than followed.
Status PrepareOutputFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return IOError(StrCat("cannot create ", path, ": ", std::strerror(errno)));
  const bool ok = ::fchmod(fd, 0600) == 0;
  ::close(fd);
  if (!ok) return IOError(StrCat("cannot chmod 600 ", path));
  return OkStatus();
}

StatusOr<GenerateSummary> Generate(Context& ctx, const GenerateArgs& args) {
  GenerateSummary summary;
  const FieldCatalog& catalog = FieldCatalog::Default();
  std::optional<Date> today = args.today.empty() ? std::optional<Date>(ClockToday(ctx)) : Date::Parse(args.today);
  if (!today) return InvalidArgument("--today must be a date YYYY-MM-DD");
  summary.today = *today;
  sim::NetworkOptions nopts;
  nopts.people = std::max<int64_t>(args.persons, 1);
  nopts.today = *today;
  CLOISON_ASSIGN_OR_RETURN(sim::Network network, sim::GenerateNetwork(nopts, args.seed));
  sim::PeopleOptions popts;
  popts.today = *today;
  CLOISON_ASSIGN_OR_RETURN(auto generator, sim::PeopleGenerator::Create(network, catalog, args.seed, popts));
  const int64_t count = args.network_only ? 0 : args.persons;
  if (static_cast<uint64_t>(count) > generator->capacity())
    return InvalidArgument(StrCat("--persons is above what the generator can make unique (",
                                  static_cast<int64_t>(generator->capacity()), ")"));

  // Decoys (honeytokens, docs/guard.md): generated like anyone (from indices
  // past the population, so every identifier stays unique and consistent
  // with its structure), then made nobody's: followed by an agency or a
  // mission locale, no referent counsellor, no orientation — only
  // enumeration or a bulk listing of the structure finds them, never a
  // caseload or a partner's candidates. Their ids are scattered among the
  // real people's so that an id sweep meets them anywhere. Only the store
  // (and from it the guard) knows which they are; they are not exported.
  std::vector<Person> decoys;
  std::vector<int64_t> decoy_ids;  // ascending
  if (!args.no_store && count > 0 && args.honeytokens > 0) {
    std::map<StructureId, int> need;
    for (const auto& s : network.structures)
      if (s.kind == StructureKind::kAgency || s.kind == StructureKind::kMissionLocale) need[s.id] = args.honeytokens;
    int64_t missing = static_cast<int64_t>(need.size()) * args.honeytokens;
    const int64_t wanted = missing;
    sim::GeneratedPerson gp;
    for (uint64_t i = static_cast<uint64_t>(count);
         missing > 0 && i < generator->capacity() && i < static_cast<uint64_t>(count + 400 * wanted + 10'000); ++i) {
      generator->Generate(i, &gp);
      auto it = need.find(gp.person.referent_structure);
      if (it == need.end() || it->second == 0) continue;
      if (it->second == args.honeytokens) ++summary.decoy_structures;
      --it->second;
      --missing;
      gp.person.referent_counsellor.reset();
      gp.person.other_structures.clear();
      decoys.push_back(gp.person);
    }
    DeterministicRandom rng(args.seed ^ 0xdec0'15dec0ULL);
    const int64_t total = count + static_cast<int64_t>(decoys.size());
    std::set<int64_t> ids;
    while (ids.size() < decoys.size()) ids.insert(1 + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(total))));
    decoy_ids.assign(ids.begin(), ids.end());
    for (size_t k = 0; k < decoys.size(); ++k) decoys[k].id = PersonId(decoy_ids[k]);
  }

  std::unique_ptr<store::Store> st;
  if (!args.no_store) {
    bool created_key = false;
    CLOISON_RETURN_IF_ERROR(InitDataDir(ctx, created_key));
    CLOISON_ASSIGN_OR_RETURN(st, OpenStore(ctx, /*bulk=*/true));
    // One commit for the whole network (20,000 rows), not one per row.
    CLOISON_RETURN_IF_ERROR(st->RunInTransaction([&]() -> Status {
      for (const auto& s : network.structures) CLOISON_RETURN_IF_ERROR(st->UpsertStructure(s).status());
      for (const auto& a : network.agents) CLOISON_RETURN_IF_ERROR(st->UpsertAgent(a).status());
      for (const auto& f : network.formations) CLOISON_RETURN_IF_ERROR(st->UpsertFormation(f).status());
      for (const auto& s : network.sessions) CLOISON_RETURN_IF_ERROR(st->UpsertTrainingSession(s).status());
      return OkStatus();
    }));
    summary.stored = true;
  }

  const bool files = !args.no_files;
  std::unique_ptr<sim::PeopleFileWriter> csv, jsonl;
  std::FILE* orient_file = nullptr;
  summary.out_dir = args.out.empty() ? ctx.path("export") : args.out;
  if (files) {
    CLOISON_RETURN_IF_ERROR(PrepareOutputDir(summary.out_dir, summary.dir_warning));
    for (const char* name : {"/network.json", "/people.csv", "/people.jsonl", "/orientations.jsonl"})
      CLOISON_RETURN_IF_ERROR(PrepareOutputFile(summary.out_dir + name));
    CLOISON_RETURN_IF_ERROR(sim::WriteNetworkJson(summary.out_dir + "/network.json", network));
    CLOISON_ASSIGN_OR_RETURN(csv, sim::PeopleFileWriter::Open(summary.out_dir + "/people.csv",
                                                             sim::PeopleFormat::kCsv, network, catalog));
    CLOISON_ASSIGN_OR_RETURN(jsonl, sim::PeopleFileWriter::Open(summary.out_dir + "/people.jsonl",
                                                               sim::PeopleFormat::kJsonLines, network, catalog));
    orient_file = std::fopen((summary.out_dir + "/orientations.jsonl").c_str(), "wb");
    if (!orient_file) return IOError(StrCat("cannot create ", summary.out_dir, "/orientations.jsonl"));
    summary.files = true;
  }

  constexpr int64_t kBatch = 20000;  // people per store transaction, as import's default
  BoundedQueue<Batch> queue(3);
  // Batches the main thread has written go back to the producer to be freed
  // there (4% of the main thread, the pipeline's bottleneck).
  HandBack<Batch> spent;
  std::thread producer([&] {
    sim::PeopleRowFormatter formatter(network, catalog);
    sim::GeneratedPerson gp;
    // Real people take the ids the decoys left free, in order. Each decoy
    // goes into the batch where its id falls, so that every row is appended
    // in id order. Stored at the end instead, each decoy landed on an
    // existing leaf page, and that one transaction journaled and rewrote
    // about 180 MiB of a 1.6 M-person store (generate 12.1 s against 8.8 s).
    int64_t next_id = 1;
    size_t next_decoy = 0;
    auto take_decoys = [&](Batch& b) {
      while (next_decoy < decoy_ids.size() && decoy_ids[next_decoy] == next_id) {
        b.persons.push_back(decoys[next_decoy++]);
        ++b.decoys;
        ++next_id;
      }
    };
    for (int64_t start = 0; start < count && !queue.cancelled(); start += kBatch) {
      const int64_t end = std::min(count, start + kBatch);
      spent.DropAll();
      Batch b;
      b.persons.reserve(static_cast<size_t>(end - start));
      for (int64_t i = start; i < end; ++i) {
        generator->Generate(static_cast<uint64_t>(i), &gp);
        take_decoys(b);
        gp.person.id = PersonId(next_id++);
        for (auto& o : gp.orientations) o.person = gp.person.id;
        if (files) {
          formatter.AppendCsvRow(gp, &b.csv);
          if (b.status.ok()) b.status = formatter.AppendJsonLine(gp, &b.jsonl);
          if (b.status.ok()) b.status = formatter.AppendOrientationLines(gp, &b.orientations_jsonl);
        }
        for (auto& o : gp.orientations) b.orientations.push_back(o);
        b.persons.push_back(std::move(gp.person));
      }
      if (end == count) take_decoys(b);  // the ids after the last real person's
      if (!queue.Push(std::move(b))) break;
    }
    queue.Close();
  });

  Status status;
  while (auto b = queue.Pop()) {
    if (!status.ok()) continue;  // drain so the producer can finish
    status = b->status;
    if (status.ok() && st) status = st->UpsertPersons(b->persons).status();
    if (status.ok() && st && !b->orientations.empty()) status = st->PutOrientations(b->orientations);
    if (status.ok() && files) status = csv->AppendFormatted(b->csv);
    if (status.ok() && files) status = jsonl->AppendFormatted(b->jsonl);
    if (status.ok() && files &&
        std::fwrite(b->orientations_jsonl.data(), 1, b->orientations_jsonl.size(), orient_file) !=
            b->orientations_jsonl.size())
      status = IOError("cannot write orientations.jsonl");
    if (!status.ok()) {
      queue.Cancel();
      continue;
    }
    summary.people += static_cast<int64_t>(b->persons.size()) - b->decoys;
    summary.decoys += b->decoys;
    summary.orientations += static_cast<int64_t>(b->orientations.size());
    spent.Give(std::move(*b));
  }
  producer.join();
  if (orient_file && std::fclose(orient_file) != 0 && status.ok()) status = IOError("cannot close orientations.jsonl");
  CLOISON_RETURN_IF_ERROR(status);
  if (files) {
    CLOISON_RETURN_IF_ERROR(csv->Close());
    CLOISON_RETURN_IF_ERROR(jsonl->Close());
  }
  if (st && !decoys.empty()) {
    if (summary.decoys != static_cast<int64_t>(decoys.size()))
      return Internal(StrCat("stored ", summary.decoys, " of ", decoys.size(), " decoys"));
    std::vector<PersonId> marked;
    for (const Person& d : decoys) marked.push_back(d.id);
    CLOISON_RETURN_IF_ERROR(st->MarkDecoys(marked));
  }
  if (st) CLOISON_RETURN_IF_ERROR(st->FinishBulkLoad());
  return summary;
}

void PrintSummary(Context& ctx, const GenerateArgs& args, const GenerateSummary& s) {
  *ctx.out << "generated " << Thousands(s.people) << " people and " << Thousands(s.orientations)
           << " orientations (seed " << args.seed << ", today " << s.today.ToString()
           << (args.today.empty() ? " from the clock; --today pins it" : "") << ")\n";
  if (s.stored) *ctx.out << "  loaded into " << ctx.db_path() << "\n";
  if (s.decoys > 0)
    *ctx.out << "  honeytokens: " << Thousands(s.decoys) << " decoy people in " << Thousands(s.decoy_structures)
             << " agencies and missions locales (known to the guard only; not in the files)\n";
  if (s.files)
    *ctx.out << "  files (mode 0600; clear personal data): " << s.out_dir
             << "/{people.csv, people.jsonl, orientations.jsonl, network.json}\n";
  if (!s.dir_warning.empty()) *ctx.err << "cloison: generate: " << s.dir_warning << "\n";
}

void RunGenerate(Context& ctx, const GenerateArgs& args) {
  auto s = Generate(ctx, args);
  if (!s.ok()) return Fail(ctx, "generate", s.status());
  PrintSummary(ctx, args, *s);
}

// Masks all but the first `keep` characters: the demo shows the shape of the
// data without printing a whole (synthetic) NIR or e-mail to a terminal.
std::string Mask(std::string_view v, size_t keep) {
  std::string out(v.substr(0, std::min(keep, v.size())));
  out.append(v.size() > keep ? v.size() - keep : 0, '*');
  return out;
}

// The demo's guard baselines (issue 6): when the data directory has no
// guard state yet, 30 days of simulated normal history of its agents,
// ending now, are fed to a guard (sim::SeedHistory, through Observe) and
// saved as its state, so that the demo server compares accesses with
// realistic own and peer baselines instead of cold-start priors. The
// seeded history lives only in DATA/guard/state: the audit log records real
// accesses only (a simulated month in it would be a false record of who read
// whom). The state covers the audit log as it is now: entries already in
// the log are not replayed into it.
Status SeedDemoGuard(Context& ctx, store::Store& store, const DemoArgs& demo) {
  constexpr int kDays = 30;
  const std::string path = GuardStatePath(ctx);
  if (std::filesystem::exists(path)) return OkStatus();
  const auto start = std::chrono::steady_clock::now();
  const policy::Policy* pol = &policy::Policy::Default();
  std::optional<policy::Policy> loaded;
  if (!demo.serve.policy_file.empty()) {
    CLOISON_ASSIGN_OR_RETURN(policy::Policy p, policy::Policy::LoadFile(demo.serve.policy_file));
    loaded.emplace(std::move(p));
    pol = &*loaded;
  }
  CLOISON_ASSIGN_OR_RETURN(guard::GuardConfig config, GuardConfigFor(demo.serve.policy_file));
  const Clock& clock = SystemClock::Instance();
  std::unique_ptr<guard::Guard> g = guard::Guard::Create(config, clock);
  CLOISON_ASSIGN_OR_RETURN(auto index, policy::RelationIndex::Build(store));
  const UnixMicros now = clock.NowMicros();
  // The demo's clients (curl, a browser) connect from the loopback, while the
  // simulated month gives each agent its structure's network (10.x.y.z):
  // every demo account's first request would then come "from a network it
  // never used before" (new_network; at night that alone takes a single read
  // to a step-up). So the seeded history starts, an hour before its first
  // day, with one empty listing access per agent from 127.0.0.1 and from
  // ::1: the loopback is each agent's first, known network.
  constexpr int64_t kDayMicros = 86'400'000'000LL;
  const UnixMicros before = (now / kDayMicros - kDays) * kDayMicros - 3'600'000'000LL;
  CLOISON_ASSIGN_OR_RETURN(std::vector<Agent> agents, store.ListAgents());
  for (const Agent& agent : agents)
    for (const char* loopback : {"127.0.0.1", "::1"}) {
      guard::Access a;
      a.time = before;
      a.account = agent.id;
      a.kind = guard::AccessKind::kList;
      a.source = loopback;
      g->Observe(a);
    }
  CLOISON_RETURN_IF_ERROR(sim::SeedHistory(store, *index, *pol, *g, kDays, demo.gen.seed, now));
  CLOISON_ASSIGN_OR_RETURN(auto stats, store.Stats());
  audit::LogOptions lo;  // read its size and root only: no checkpoint as a side effect
  lo.checkpoint_on_open = false;
  lo.checkpoint_on_close = false;
  lo.checkpoint_every_entries = 0;
  lo.checkpoint_every_micros = 0;
  CLOISON_ASSIGN_OR_RETURN(auto log, audit::AuditLog::Open(ctx.audit_dir(), lo));
  Status saved = SaveGuardState(*g, *log, path);
  CLOISON_RETURN_IF_ERROR(log->Close());
  CLOISON_RETURN_IF_ERROR(saved);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.1f", seconds);
  *ctx.out << "\nguard: seeded " << kDays << " days of simulated history for " << Thousands(stats.agents)
           << " accounts (baselines), in " << took << " s; saved to " << path
           << " (the audit log holds real accesses only)\n";
  return OkStatus();
}

void RunDemo(Context& ctx, DemoArgs demo) {
  GenerateArgs& args = demo.gen;
  // The demo's data are placed around today (orientation windows, sessions),
  // so that the running API, which decides against today's date, finds
  // people to release; --today pins it.
  if (args.today.empty()) args.today = ClockToday(ctx).ToString();
  bool created_key = false;
  Status s = InitDataDir(ctx, created_key);
  if (!s.ok()) return Fail(ctx, "demo", s);
  int64_t existing = 0;
  {
    auto st = OpenStore(ctx);
    if (!st.ok()) return Fail(ctx, "demo", st.status());
    auto stats = (*st)->Stats();
    if (!stats.ok()) return Fail(ctx, "demo", stats.status());
    existing = stats->persons;
  }
  *ctx.out << "Cloison demo\n============\n";
  if (existing > 0) {
    *ctx.out << "Reusing the store in " << ctx.data_dir << " (" << Thousands(existing)
             << " people). Remove the directory to start afresh.\n";
  } else {
    *ctx.out << "Generating a synthetic French network and " << Thousands(args.persons)
             << " people (seed " << args.seed << ")...\n";
    auto g = Generate(ctx, args);
    if (!g.ok()) return Fail(ctx, "demo", g.status());
    PrintSummary(ctx, args, *g);
  }
  auto st = OpenStore(ctx);
  if (!st.ok()) return Fail(ctx, "demo", st.status());
  auto stats = (*st)->Stats();
  if (!stats.ok()) return Fail(ctx, "demo", stats.status());
  auto structures = (*st)->ListStructures();
  if (!structures.ok()) return Fail(ctx, "demo", structures.status());
  std::map<std::string, int> kinds;
  for (const auto& x : *structures) ++kinds[std::string(StructureKindName(x.kind))];

  const FieldCatalog& cat = FieldCatalog::Default();
  std::string encrypted, indexed;
  for (const auto& f : cat.fields()) {
    if (f.encrypted()) encrypted += (encrypted.empty() ? "" : ", ") + f.name;
    if (f.blind_index) indexed += (indexed.empty() ? "" : ", ") + f.name;
  }
  *ctx.out << "\nWhere things are\n"
           << "  data directory  " << ctx.data_dir << "\n"
           << "  master key      " << ctx.master_key_path() << " (mode 0600; or $CLOISON_MASTER_KEY)\n"
           << "  store           " << ctx.db_path() << " (SQLite, WAL, schema v" << stats->schema_version << ")\n"
           << "  exported files  " << ctx.path("export") << "/\n"
           << "  encrypted       " << encrypted << " (XChaCha20-Poly1305, bound to person, field, key)\n"
           << "  blind indexes   " << indexed << " (keyed BLAKE2b)\n"
           << "\nWhat the store holds\n";
  for (const auto& [k, n] : kinds) *ctx.out << "  " << k << ": " << n << "\n";
  *ctx.out << "  agents: " << Thousands(stats->agents) << "\n"
           << "  people: " << Thousands(stats->persons) << "\n"
           << "  formations: " << Thousands(stats->formations)
           << ", training sessions: " << Thousands(stats->training_sessions)
           << ", orientations: " << Thousands(stats->orientations) << "\n";
  if (stats->persons > 0) {
    auto p = (*st)->GetPerson(PersonId(1));
    if (p.ok()) {
      auto f = [&](const char* name) -> std::string {
        auto i = cat.IndexOf(name);
        return i ? p->fields[*i] : std::string();
      };
      *ctx.out << "\nA sample person (masked here; the store decrypts only what a purpose releases)\n"
               << "  " << f("prenom") << " " << Mask(f("nom"), 1) << ", " << f("sexe") << ", born "
               << Mask(f("date_naissance"), 4) << ", NIR " << Mask(f("nir"), 5) << ", France Travail id "
               << Mask(f("ft_id"), 3) << ", " << Mask(f("email"), 3) << ", " << f("statut") << "\n";
    }
  }
  const std::string c = ctx.program + (ctx.data_dir == "./cloison-data" ? "" : " --data " + ctx.data_dir);
  // A real reader and person for the policy example: person 1 and its referent counsellor.
  std::string counsellor;
  if (stats->persons > 0) {
    store::FieldMask none{std::vector<bool>(cat.size(), false)};  // relations only, nothing decrypted
    auto p = (*st)->GetPerson(PersonId(1), none);
    auto agents = (*st)->ListAgents();
    if (p.ok() && p->referent_counsellor && agents.ok())
      for (const auto& a : *agents)
        if (a.id == *p->referent_counsellor) counsellor = a.username;
  }
  *ctx.out << "\nTry next\n"
           << "  " << c << " stats\n";
  if (!counsellor.empty())
    *ctx.out << "  " << c << " policy explain --account " << counsellor
             << " --person 1 --purpose accompaniment   # why this counsellor may read person 1, and which fields\n"
             << "  " << c << " policy explain --account " << counsellor
             << " --person 2 --purpose accompaniment   # another structure's person: denied, with the reason\n";
  *ctx.out << "  " << c << " import " << ctx.path("export") << "/people.csv   # idempotent: updates, never duplicates\n"
           << "  " << c << " keys rotate                       # new data key, re-encrypt in batches\n"
           << "  sqlite3 " << ctx.db_path() << " 'select hex(f_nir) from persons limit 1'   # ciphertext only\n"
           << "  " << c << " audit --help\n";

  // Accounts with known credentials, then the API.
  auto accounts = EnsureDemoAccounts(ctx, **st);
  if (!accounts.ok()) return Fail(ctx, "demo", accounts.status());
  PrintDemoAccounts(*ctx.out, *accounts);
  if (Status g = SeedDemoGuard(ctx, **st, demo); !g.ok()) return Fail(ctx, "demo", g);
  st->reset();
  if (demo.no_serve) {
    *ctx.out << "\nNot serving (--no-serve). Start the API with: " << c << " demo   (or " << c << " serve)\n";
    return;
  }
  *ctx.out << "\n";
  Status served = RunServer(ctx, demo.serve, [&](const ServingInfo& info) {
    PrintDemoCurlGuide(*ctx.out, *accounts, info.url, info.cert_path);
    *ctx.out << "\nServing until Ctrl-C or `kill -TERM " << ::getpid()
             << "`: in-flight requests finish, then the audit log is synced (" << c << " audit verify).\n";
  });
  if (!served.ok()) return Fail(ctx, "demo", served);
}

void AddGenerateOptions(CLI::App* cmd, GenerateArgs& args) {
  cmd->add_option("--persons", args.persons, "number of people")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", args.seed, "random seed (same seed and --today, same data)")->capture_default_str();
  cmd->add_option("--today", args.today,
                  "reference date for ages, inscriptions and orientation windows (YYYY-MM-DD; default: today, UTC)");
}

}  // namespace

void AddGenerateCommands(CLI::App& app, Context& ctx) {
  auto gen = std::make_shared<GenerateArgs>();
  auto* g = app.add_subcommand("generate", "Generate a synthetic network and people; load the store and write files");
  AddGenerateOptions(g, *gen);
  g->add_option("--out", gen->out,
                "directory for people.csv, people.jsonl, orientations.jsonl, network.json (default DATA/export; "
                "files 0600, a new directory 0700)");
  g->add_flag("--no-files", gen->no_files, "do not write files");
  g->add_flag("--no-store", gen->no_store, "do not load the store");
  g->add_option("--honeytokens", gen->honeytokens, "decoy people per agency and mission locale (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  g->add_flag("--network-only", gen->network_only, "load/write the network sized for --persons, but no people");
  g->callback([&ctx, gen] { RunGenerate(ctx, *gen); });

  auto demo = std::make_shared<DemoArgs>();
  auto* d = app.add_subcommand(
      "demo", "Create a demo data directory (init + generate, or reuse), demo accounts, and serve the API until Ctrl-C");
  AddGenerateOptions(d, demo->gen);
  d->add_option("--listen", demo->serve.listen, "ADDRESS:PORT to serve on (port 0: any free port)")->capture_default_str();
  d->add_flag("--no-serve", demo->no_serve, "Prepare the data and demo-accounts.json, then exit without serving");
  d->callback([&ctx, demo] { RunDemo(ctx, *demo); });
}

}  // namespace cloison::cli
