#include "sim/traffic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "access/gate.h"
#include "audit/log.h"
#include "core/clock.h"
#include "core/field_catalog.h"
#include "core/random.h"
#include "core/strings.h"
#include "sim/calendar.h"
#include "sim/memory_fs.h"
#include "sim/people.h"
#include "sim/reference.h"

namespace cloison::sim {

namespace {

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t Mix(uint64_t a, uint64_t b, uint64_t c) { return Mix(Mix(a, b), c); }

int64_t U(Random& r, int64_t lo, int64_t hi) {  // inclusive
  return lo + static_cast<int64_t>(r.Uniform(static_cast<uint64_t>(hi - lo + 1)));
}
bool P(Random& r, double p) { return r.UniformDouble() < p; }
int Poisson(Random& r, double lambda) {
  if (lambda <= 0) return 0;
  const double l = std::exp(-lambda);
  int k = 0;
  double p = 1;
  do {
    ++k;
    p *= r.UniformDouble();
  } while (p > l && k < 1000);
  return k - 1;
}
double Gauss(Random& r) {  // Irwin-Hall approximation, good enough for traits
  double s = 0;
  for (int i = 0; i < 12; ++i) s += r.UniformDouble();
  return s - 6;
}

int32_t ParsePostcode(std::string_view s) {
  if (s.size() != 5) return 0;
  int32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string PostcodeText(uint32_t v) {
  std::string s = StrCat(static_cast<int64_t>(v));
  while (s.size() < 5) s.insert(s.begin(), '0');
  return s;
}

// Policy text compiled into the binary (config/policy.toml).
std::string_view DefaultPolicyText();

}  // namespace

}  // namespace cloison::sim

namespace cloison::policy::internal {
extern const char kDefaultPolicy[];
}

namespace cloison::sim {
namespace {
std::string_view DefaultPolicyText() { return policy::internal::kDefaultPolicy; }
}  // namespace

// ---------------------------------------------------------------------------
// World

std::optional<size_t> World::AccountIndex(AccountId id) const {
  auto it = std::lower_bound(account_by_id_.begin(), account_by_id_.end(), std::make_pair(id, size_t{0}));
  if (it == account_by_id_.end() || it->first != id) return std::nullopt;
  return it->second;
}

StatusOr<std::unique_ptr<World>> World::Generate(const TrafficOptions& options) {
  if (options.agents < 20) return InvalidArgument("--agents must be at least 20");
  if (options.days < 1 || options.days > 366) return InvalidArgument("--days must be between 1 and 366");
  std::unique_ptr<World> w(new World());
  w->options_ = options;

  // Size the network to about `agents` human agents (~93 people per agent at
  // every scale; refined twice).
  NetworkOptions no;
  no.today = options.start;
  double people = static_cast<double>(options.agents) * 93;
  Network net;
  for (int i = 0; i < 3; ++i) {
    no.people = std::max<int64_t>(1000, static_cast<int64_t>(people));
    CLOISON_ASSIGN_OR_RETURN(net, GenerateNetwork(no, options.seed));
    const double got = static_cast<double>(net.agents.size());
    if (std::abs(got - static_cast<double>(options.agents)) <= 0.02 * static_cast<double>(options.agents)) break;
    people *= static_cast<double>(options.agents) / got;
  }
  w->network_ = std::move(net);
  const Network& network = w->network_;
  const FieldCatalog& cat = FieldCatalog::Default();
  PeopleOptions po;
  po.today = options.start;
  CLOISON_ASSIGN_OR_RETURN(auto gen, PeopleGenerator::Create(network, cat, options.seed, po));
  const int64_t count = no.people;
  const auto nom_i = cat.IndexOf("nom"), dn_i = cat.IndexOf("date_naissance"), cp_i = cat.IndexOf("code_postal");
  if (!nom_i || !dn_i || !cp_i) return FailedPrecondition("field catalog lacks nom, date_naissance or code_postal");

  // Honeytokens take ids scattered among the real people's, so that an id
  // sweep or an id-ordered export meets them anywhere, not only at the end.
  std::vector<size_t> decoy_structures;
  for (size_t s = 0; s < network.structures.size(); ++s) {
    const auto k = network.structures[s].kind;
    if (k == StructureKind::kAgency || k == StructureKind::kMissionLocale)
      for (int j = 0; j < options.honeytokens_per_structure; ++j) decoy_structures.push_back(s);
  }
  const int64_t total = count + static_cast<int64_t>(decoy_structures.size());
  std::vector<char> is_decoy(static_cast<size_t>(total) + 1, 0);
  {
    DeterministicRandom rng(Mix(options.seed, 0x4e7));
    size_t placed = 0;
    while (placed < decoy_structures.size()) {
      const int64_t id = U(rng, 1, total);
      if (!is_decoy[static_cast<size_t>(id)]) is_decoy[static_cast<size_t>(id)] = 1, ++placed;
    }
  }
  std::vector<int64_t> id_of(static_cast<size_t>(count));  // generator index -> person id
  std::vector<int64_t> decoy_ids;
  {
    int64_t i = 0;
    for (int64_t id = 1; id <= total; ++id) {
      if (is_decoy[static_cast<size_t>(id)]) {
        decoy_ids.push_back(id);
      } else {
        id_of[static_cast<size_t>(i++)] = id;
      }
    }
  }

  auto index = std::make_unique<policy::RelationIndex>();
  CLOISON_RETURN_IF_ERROR(index->AddStructures(network.structures));
  for (const auto& f : network.formations) CLOISON_RETURN_IF_ERROR(index->AddFormation(f));
  for (const auto& s : network.sessions) CLOISON_RETURN_IF_ERROR(index->AddSession(s));
  index->Reserve(total, static_cast<size_t>(count / 4));

  std::unordered_map<std::string, uint32_t> nom_ids;
  w->noms_.push_back("");
  auto intern = [&](std::string key) {
    auto [it, fresh] = nom_ids.emplace(std::move(key), static_cast<uint32_t>(w->noms_.size()));
    if (fresh) w->noms_.push_back(it->first);
    return it->second;
  };
  w->persons_.assign(static_cast<size_t>(total) + 1, SimPerson{});
  int64_t max_orientation = 0;
  GeneratedPerson gp;
  for (int64_t i = 0; i < count; ++i) {
    gen->Generate(static_cast<uint64_t>(i), &gp);
    const int64_t id = id_of[static_cast<size_t>(i)];
    SimPerson& sp = w->persons_[static_cast<size_t>(id)];
    sp.referent = gp.person.referent_structure;
    sp.counsellor = gp.person.referent_counsellor.value_or(AccountId());
    sp.nom = intern(AsciiFold(gp.person.fields[*nom_i]));
    if (auto d = Date::Parse(gp.person.fields[*dn_i])) sp.birth_days = static_cast<int32_t>(d->ToDays());
    sp.postcode = static_cast<uint32_t>(ParsePostcode(gp.person.fields[*cp_i]));
    CLOISON_RETURN_IF_ERROR(index->OnPersonFollowed(PersonId(id), gp.person.referent_structure,
                                                    gp.person.referent_counsellor, gp.person.other_structures));
    for (Orientation o : gp.orientations) {
      o.person = PersonId(id);
      max_orientation = std::max(max_orientation, o.id.value());
      CLOISON_RETURN_IF_ERROR(index->OnOrientationChanged(o));
    }
  }

  // Honeytokens.
  {
    const ReferenceData& ref = ReferenceData::Get();
    // Surnames present in each structure, to give decoys a name nobody there has.
    std::vector<std::unordered_set<uint32_t>> noms_in(network.structures.size());
    std::vector<std::map<uint32_t, int>> postcodes_in(network.structures.size());
    for (size_t id = 1; id < w->persons_.size(); ++id) {
      const SimPerson& sp = w->persons_[id];
      if (!sp.referent.valid()) continue;
      const size_t s = w->StructureIndex(sp.referent);
      noms_in[s].insert(sp.nom);
      if (sp.postcode) ++postcodes_in[s][sp.postcode];
    }
    // Sessions still open for proposals for the whole run, by département.
    const int64_t start_days = options.start.ToDays();
    std::map<std::string, std::vector<const TrainingSession*>> open_sessions;
    std::vector<const TrainingSession*> all_open;
    for (const auto& ts : network.sessions) {
      if (ts.end.ToDays() < start_days + options.days + 30 || ts.start.ToDays() < start_days - 60) continue;
      const Formation* f = network.formation(ts.formation);
      const Structure* org = f ? network.structure(f->organisation) : nullptr;
      if (!org) continue;
      open_sessions[org->departement].push_back(&ts);
      all_open.push_back(&ts);
    }
    for (size_t k = 0; k < decoy_structures.size(); ++k) {
      const size_t s = decoy_structures[k];
      const Structure& st = network.structures[s];
      const int64_t id = decoy_ids[k];
      DeterministicRandom rng(Mix(options.seed, 0xdec0, static_cast<uint64_t>(id)));
      SimPerson& sp = w->persons_[static_cast<size_t>(id)];
      sp.referent = st.id;
      sp.honeytoken = true;
      const auto& names = ref.surnames();
      for (int tries = 0; tries < 1000; ++tries) {
        const Name& n = names[ref.surname_weights().Sample(rng)];
        const uint32_t nid = intern(n.ascii);
        if (!noms_in[s].count(nid)) {
          sp.nom = nid;
          noms_in[s].insert(nid);
          break;
        }
      }
      const int age_years = st.kind == StructureKind::kMissionLocale ? static_cast<int>(U(rng, 18, 24))
                                                                       : static_cast<int>(U(rng, 25, 55));
      sp.birth_days = static_cast<int32_t>(start_days - age_years * 365 - U(rng, 0, 364));
      if (!postcodes_in[s].empty()) {
        auto it = postcodes_in[s].begin();
        std::advance(it, static_cast<long>(rng.Uniform(postcodes_in[s].size())));
        sp.postcode = it->first;
      }
      CLOISON_RETURN_IF_ERROR(index->OnPersonFollowed(PersonId(id), st.id, std::nullopt));
      const auto& pool = open_sessions.count(st.departement) ? open_sessions[st.departement] : all_open;
      const int n_orient = pool.empty() ? 0 : static_cast<int>(U(rng, 1, 2));
      AccountId oriented_by;
      for (const auto& a : network.agents)
        if (a.structure == st.id) {
          oriented_by = a.id;
          break;
        }
      for (int j = 0; j < n_orient; ++j) {
        Orientation o;
        o.id = OrientationId(++max_orientation);
        o.person = PersonId(id);
        o.session = pool[rng.Uniform(pool.size())]->id;
        o.counsellor = oriented_by;
        o.status = OrientationStatus::kProposed;
        o.proposed_on = Date::FromDays(start_days - U(rng, 30, 60));
        CLOISON_RETURN_IF_ERROR(index->OnOrientationChanged(o));
      }
      w->honeytokens_.push_back(PersonId(id));
    }
    std::sort(w->honeytokens_.begin(), w->honeytokens_.end());
  }
  w->owned_index_ = std::move(index);
  w->index_ = w->owned_index_.get();

  // Human agents, then one technical (enrolment sync) account for a share of
  // the training organisations.
  int64_t max_agent = 0;
  for (const auto& a : network.agents) max_agent = std::max(max_agent, a.id.value());
  for (const auto& a : network.agents) {
    SimAccount sa;
    sa.id = a.id;
    sa.structure = w->StructureIndex(a.structure);
    sa.principal.account = a.id;
    sa.principal.roles = a.roles;
    sa.principal.structure = a.structure;
    w->accounts_.push_back(std::move(sa));
  }
  w->human_agents_ = static_cast<int64_t>(w->accounts_.size());
  {
    DeterministicRandom rng(Mix(options.seed, 0x7ec4));
    for (size_t s = 0; s < network.structures.size(); ++s) {
      if (network.structures[s].kind != StructureKind::kTrainingOrganisation) continue;
      if (!P(rng, options.technical_share)) continue;
      SimAccount sa;
      sa.id = AccountId(++max_agent);
      sa.structure = s;
      sa.principal.account = sa.id;
      sa.principal.kind = policy::AccountKind::kTechnical;
      sa.principal.structure = network.structures[s].id;
      sa.principal.integration_purposes = {"enrolment_sync"};
      w->accounts_.push_back(std::move(sa));
    }
  }
  CLOISON_RETURN_IF_ERROR(w->Finish());
  return w;
}

StatusOr<std::unique_ptr<World>> World::FromStore(store::Store& store, const policy::RelationIndex& index,
                                                  const TrafficOptions& options) {
  std::unique_ptr<World> w(new World());
  w->options_ = options;
  w->has_names_ = false;
  CLOISON_ASSIGN_OR_RETURN(w->network_.structures, store.ListStructures());
  CLOISON_ASSIGN_OR_RETURN(w->network_.agents, store.ListAgents());
  CLOISON_ASSIGN_OR_RETURN(w->network_.formations, store.ListFormations());
  CLOISON_ASSIGN_OR_RETURN(w->network_.sessions, store.ListTrainingSessions());
  for (size_t i = 0; i < w->network_.structures.size(); ++i)
    if (w->network_.structures[i].id.value() != static_cast<int64_t>(i) + 1)
      return FailedPrecondition("store structure ids are not dense from 1");
  w->index_ = &index;
  w->noms_.push_back("");
  w->persons_.assign(static_cast<size_t>(index.max_person_id()) + 1, SimPerson{});
  index.ForEachPerson([&](PersonId p, StructureId referent, AccountId counsellor, std::span<const StructureId>) {
    SimPerson& sp = w->persons_[static_cast<size_t>(p.value())];
    sp.referent = referent;
    sp.counsellor = counsellor;
  });
  for (const auto& a : w->network_.agents) {
    SimAccount sa;
    sa.id = a.id;
    sa.structure = w->StructureIndex(a.structure);
    sa.principal.account = a.id;
    sa.principal.roles = a.roles;
    sa.principal.structure = a.structure;
    w->accounts_.push_back(std::move(sa));
  }
  w->human_agents_ = static_cast<int64_t>(w->accounts_.size());
  CLOISON_RETURN_IF_ERROR(w->Finish());
  return w;
}

Status World::Finish() {
  const Network& net = network_;
  const size_t ns = net.structures.size();
  followed_.assign(ns, {});
  candidates_.assign(ns, {});
  caseloads_.assign(accounts_.size(), {});
  account_by_id_.clear();
  for (size_t i = 0; i < accounts_.size(); ++i) account_by_id_.push_back({accounts_[i].id, i});
  std::sort(account_by_id_.begin(), account_by_id_.end());

  for (SimAccount& sa : accounts_) {
    if (sa.structure >= ns) return FailedPrecondition(StrCat("account ", sa.id.value(), ": unknown structure"));
    const Structure& st = net.structures[sa.structure];
    const bool technical = sa.principal.kind == policy::AccountKind::kTechnical;
    if (technical) {
      sa.behaviour = SimAccount::Behaviour::kTechnical;
    } else if (sa.principal.HasRole(Role::kCounsellor) &&
               (st.kind == StructureKind::kAgency || st.kind == StructureKind::kMissionLocale)) {
      sa.behaviour = SimAccount::Behaviour::kCounsellor;
    } else if (sa.principal.HasRole(Role::kPartnerUser) && st.kind == StructureKind::kTrainingOrganisation) {
      sa.behaviour = SimAccount::Behaviour::kPartner;
    } else {
      sa.behaviour = SimAccount::Behaviour::kIdle;
    }
    guard::AccountProfile& pr = sa.profile;
    pr.account = sa.id;
    pr.technical = technical;
    pr.structure = st.id;
    pr.structure_kind = st.kind;
    pr.roles = technical ? std::vector<Role>{} : sa.principal.roles;
    pr.created_at = LocalToUtc(st.time_zone, Date::FromDays(options_.start.ToDays() - 730), 9 * 60);
    pr.time_zone = st.time_zone;
    pr.hours = st.hours;
  }
  index_->ForEachPerson([&](PersonId p, StructureId referent, AccountId counsellor,
                            std::span<const StructureId> others) {
    const bool decoy = static_cast<size_t>(p.value()) < persons_.size() && persons_[p.value()].honeytoken;
    if (decoy) return;
    if (referent.valid() && StructureIndex(referent) < ns) followed_[StructureIndex(referent)].push_back(p);
    for (StructureId o : others)
      if (o.valid() && StructureIndex(o) < ns) followed_[StructureIndex(o)].push_back(p);
    if (counsellor.valid())
      if (auto a = AccountIndex(counsellor)) caseloads_[*a].push_back(p);
  });
  index_->ForEachOrientation([&](const policy::RelationIndex::OrientationInfo& o) {
    if (!o.organisation.valid() || StructureIndex(o.organisation) >= ns) return;
    candidates_[StructureIndex(o.organisation)].push_back({o.person, o.status, o.proposed_days});
  });
  return OkStatus();
}

// ---------------------------------------------------------------------------
// One run: normal traffic, optionally an attack, through a Gate or Observe.

namespace {

enum class ActKind : uint8_t { kRead, kListCaseload, kListProposals, kSearchName };
enum PurposeIx : uint8_t { kAccompaniment, kTrainingOrientation, kTrainingEnrolment, kEnrolmentSync, kPurposeCount };
constexpr std::string_view kPurposeNames[kPurposeCount] = {"accompaniment", "training_orientation",
                                                           "training_enrolment", "enrolment_sync"};

struct Act {
  UnixMicros time = 0;
  uint32_t account = 0;  // index into the run's accounts
  uint32_t seq = 0;
  ActKind kind = ActKind::kRead;
  uint8_t purpose = 0;
  bool first_of_day = false;
  int32_t page = 0;
  int64_t person = 0;  // read: the person; search: whom the search looks for
};

// Stable per-account traits of a counsellor.
struct CounsellorTraits {
  int arrive = 510, leave = 1035, lunch = 735, lunch_len = 60;
  bool part_time = false;
  int off_day = 2;
  double activity = 1;
  double late_prob = 0.03;
  bool weekend_worker = false;
  int leave_from = -100;  // first simulated day of a week of leave (-100: none)
  int takeover_day = -100;
  size_t colleague = SIZE_MAX;  // account index whose caseload is taken over / covered
};

struct AttackItem {
  enum Kind : uint8_t { kRead, kListPage, kSearchPage } kind = kRead;
  int64_t person = 0;      // kRead
  uint32_t begin = 0, end = 0;  // pages: persons in the pool
  uint32_t query = 0;      // kSearchPage: index in queries
  int32_t page = 0;
};

struct AttackAccount {
  size_t slot = 0;
  access::Caller caller;  // the attacker's own session on the account (its address, its step-up)
  std::vector<AttackItem> work;
  size_t next = 0;
  std::vector<int64_t> to_read;  // learnt from pages, read in order
  size_t to_read_next = 0;
  UnixMicros next_time = 0;
  int refusals_in_row = 0;
  int backoff = 0;
  bool done = false;
  UnixMicros streak_start = 0;  // first refusal since the last success (0: none)
  UnixMicros last_attempt = 0;
  int reads_today = 0;
  int64_t today = -1;
};

// This file's alone, like the types it holds.
class SimRun final : public access::AccountControl {
 public:
  SimRun(const World& world, const policy::Policy& policy, const guard::GuardConfig& config, uint64_t seed)
      : world_(world), policy_(policy), config_(config), seed_(seed), engine_(policy, world.index()) {}

  // Gate mode: a fresh guard, an in-memory audit log, a Gate.
  Status InitGate() {
    guard_owned_ = guard::Guard::Create(config_, clock_);
    guard_ = guard_owned_.get();
    audit::LogOptions lo;
    lo.fs = &fs_;
    lo.clock = &clock_;
    lo.origin = "cloison.sim/audit";
    lo.checkpoint_every_entries = 0;
    lo.checkpoint_every_micros = 0;
    lo.checkpoint_on_open = false;
    lo.checkpoint_on_close = false;
    CLOISON_ASSIGN_OR_RETURN(log_, audit::AuditLog::Open("/sim/audit", lo));
    access::GateDeps deps;
    deps.policy = &policy_;
    deps.index = &world_.index();
    deps.audit = log_.get();
    deps.guard = guard_;
    deps.accounts = this;
    access::GateOptions go;
    go.read_store = false;
    gate_ = std::make_unique<access::Gate>(deps, go);
    InitAccounts();
    for (PersonId h : world_.honeytokens()) guard_->AddHoneytoken(h);
    return OkStatus();
  }
  // Observe mode: feed an external guard.
  void InitObserve(guard::Guard* guard) {
    guard_ = guard;
    InitAccounts();
  }

  void Suspend(AccountId account, std::string_view) override {
    auto it = slot_of_.find(account.value());
    if (it == slot_of_.end()) return;
    if (suspended_at_[it->second] == 0) suspended_at_[it->second] = clock_.NowMicros();
  }

  // Runs days [0, days) of normal traffic; with an attack, stops once the
  // attack is over.
  void Run(int days, bool with_attack, UnixMicros time_shift = 0);

  // --- Attack set-up (before Run).
  Status SetUpAttack(const Scenario& sc);

  NormalResult Normal(int days) const;
  ScenarioResult Attack(const Scenario& sc) const;

  const guard::Guard& guard() const { return *guard_; }
  int64_t honeytoken_touches() const { return honeytoken_touches_; }
  void set_cutoff(UnixMicros t) { cutoff_ = t; }
  // Replays `days` days of normal history before the first simulated day
  // into the guard through Observe (as a server does from its audit log on
  // start), so the measured days start from a guard in service, not a cold one.
  void Warmup(int days) {
    if (days <= 0) return;
    observing_ = true;
    day_offset_ = -days;
    Run(days, false);
    observing_ = false;
    day_offset_ = 0;
    accesses_ = reads_ = pages_ = denied_ = quota_ = throttled_ = step_ups_ = 0;
  }

 private:
  struct Slot {
    const SimAccount* account = nullptr;  // world account (normal) or extra
    access::Caller caller;
    guard::AccountProfile profile;
    const Structure* structure = nullptr;
    bool attacker = false;
    bool observe_only = false;
  };

  void InitAccounts() {
    const auto& accs = world_.accounts();
    slots_.resize(accs.size());
    for (size_t i = 0; i < accs.size(); ++i) {
      Slot& s = slots_[i];
      s.account = &accs[i];
      s.caller.principal = accs[i].principal;
      s.caller.session = StrCat("sim-", accs[i].id.value());
      s.caller.source = SourceFor(accs[i].structure, accs[i].id.value());
      s.caller.quota = access::QuotaLimitsFor(policy_, accs[i].principal, 0);
      s.profile = accs[i].profile;
      s.structure = &world_.network().structures[accs[i].structure];
      slot_of_[accs[i].id.value()] = i;
      if (guard_) guard_->RegisterAccount(s.profile);
    }
    suspended_at_.assign(slots_.size(), 0);
    for (int p = 0; p < kPurposeCount; ++p) purpose_ok_[p] = policy_.FindPurpose(kPurposeNames[p]).has_value();
    page_size_counsellor_ = PageSize(Role::kCounsellor, 50);
    page_size_partner_ = PageSize(Role::kPartnerUser, 25);
    // Colleagues: counsellors per structure.
    counsellors_of_.assign(world_.network().structures.size(), {});
    for (size_t i = 0; i < accs.size(); ++i)
      if (accs[i].behaviour == SimAccount::Behaviour::kCounsellor) counsellors_of_[accs[i].structure].push_back(i);
    // Search index: (structure, surname) -> people followed there (decoys included).
    if (world_.has_names()) {
      world_.index().ForEachPerson(
          [&](PersonId p, StructureId referent, AccountId, std::span<const StructureId> others) {
            const uint32_t nom = world_.persons()[static_cast<size_t>(p.value())].nom;
            if (referent.valid()) by_name_[Key(referent, nom)].push_back(p);
            for (StructureId o : others) by_name_[Key(o, nom)].push_back(p);
          });
    }
  }

  int PageSize(Role r, int fallback) const {
    auto q = policy_.quota(r);
    return q && q->page_size > 0 ? static_cast<int>(q->page_size) : fallback;
  }
  static uint64_t Key(StructureId s, uint32_t nom) { return (static_cast<uint64_t>(s.value()) << 32) | nom; }
  static std::string SourceFor(size_t structure, int64_t account) {
    return StrCat("10.", static_cast<int64_t>((structure >> 8) & 255), ".", static_cast<int64_t>(structure & 255),
                  ".", 10 + account % 200);
  }

  Date DayDate(int d) const { return Date::FromDays(world_.options().start.ToDays() + day_offset_ + d); }
  UnixMicros At(const Structure& st, Date date, double minute) const {
    const int m = std::clamp(static_cast<int>(minute), 0, 1439);
    const int sec = static_cast<int>((minute - std::floor(minute)) * 60);
    return LocalToUtc(st.time_zone, date, m, std::clamp(sec, 0, 59)) + time_shift_;
  }

  CounsellorTraits TraitsOf(size_t a) const;
  void GenerateDay(size_t a, int d, std::vector<Act>& out);
  void GenCounsellor(size_t a, int d, std::vector<Act>& out);
  void GenPartner(size_t a, int d, std::vector<Act>& out);
  void GenTechnical(size_t a, int d, std::vector<Act>& out);
  void Execute(const Act& act);
  access::ReadResult Read(access::Caller& caller, PersonId person, std::string_view purpose, UnixMicros t);
  access::ReadResult Page(access::Caller& caller, guard::AccessKind kind, std::span<const PersonId> persons,
                          std::string_view query, int64_t page, UnixMicros t);
  bool AttackStep();  // runs the earliest attacker action; false when the attack is over
  UnixMicros NextAttackTime() const;
  void Trace(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    trace_ = Mix(trace_ ^ a, Mix(b, c, d));
  }

  const World& world_;
  const policy::Policy& policy_;
  guard::GuardConfig config_;
  uint64_t seed_;
  policy::Engine engine_;
  FakeClock clock_{0};
  MemoryFileSystem fs_{false};
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<guard::Guard> guard_owned_;
  guard::Guard* guard_ = nullptr;
  std::unique_ptr<access::Gate> gate_;
  std::vector<Slot> slots_;
  std::vector<std::unique_ptr<SimAccount>> extra_accounts_;
  std::unordered_map<int64_t, size_t> slot_of_;
  std::vector<UnixMicros> suspended_at_;
  std::vector<std::vector<size_t>> counsellors_of_;
  std::unordered_map<uint64_t, std::vector<PersonId>> by_name_;
  bool purpose_ok_[kPurposeCount] = {};
  int page_size_counsellor_ = 50, page_size_partner_ = 25;
  UnixMicros time_shift_ = 0;
  int day_offset_ = 0;     // warm-up: days before the first simulated day
  bool observing_ = false; // warm-up: Observe instead of the Gate
  UnixMicros cutoff_ = INT64_MAX;  // acts at or after this time are skipped (SeedHistory)
  std::vector<PersonId> scratch_;

  // Counters.
  int64_t accesses_ = 0, reads_ = 0, pages_ = 0, denied_ = 0, quota_ = 0, throttled_ = 0, step_ups_ = 0;
  int64_t honeytoken_touches_ = 0;
  uint64_t trace_ = 0x5151;
  int days_run_ = 0;

  // Attack.
  bool attack_ = false;
  std::vector<AttackAccount> attackers_;
  std::vector<int64_t> pool_;
  std::vector<std::string> queries_;
  std::string attack_purpose_;
  UnixMicros attack_start_ = 0, attack_deadline_ = 0, first_malicious_ = 0;
  std::unordered_set<int64_t> released_, listed_;
  int64_t attack_attempts_ = 0, attack_refusals_ = 0, reach_ = 0;
  const Scenario* scenario_ = nullptr;
  int attack_day_ = 0;
  bool debug_ = std::getenv("CLOISON_SIM_DEBUG") != nullptr;  // trace attack steps on stderr
  std::string attacker_structure_;
  const Structure* attacker_st_ = nullptr;
};

}  // namespace

CounsellorTraits SimRun::TraitsOf(size_t a) const {
  CounsellorTraits t;
  DeterministicRandom r(Mix(seed_, world_.accounts()[a].id.value(), 0x7a175));
  t.arrive = static_cast<int>(475 + U(r, 0, 70));       // 07:55 - 09:05
  t.leave = static_cast<int>(16 * 60 + 40 + U(r, 0, 95));  // 16:40 - 18:15
  t.lunch = static_cast<int>(11 * 60 + 50 + U(r, 0, 55));
  t.lunch_len = static_cast<int>(40 + U(r, 0, 45));
  t.part_time = P(r, 0.15);
  t.off_day = P(r, 0.7) ? 2 : 4;
  t.activity = std::exp(0.35 * Gauss(r));
  t.late_prob = 0.01 + 0.07 * r.UniformDouble() * r.UniformDouble();
  t.weekend_worker = P(r, 0.05);
  const int days = world_.options().days;
  if (P(r, 0.25 * std::min(1.0, days / 30.0))) t.leave_from = static_cast<int>(U(r, 0, std::max(0, days - 1)));
  const auto& peers = counsellors_of_[world_.accounts()[a].structure];
  if (peers.size() > 1) {
    size_t c = peers[r.Uniform(peers.size())];
    if (c == a) c = peers[(std::find(peers.begin(), peers.end(), a) - peers.begin() + 1) % peers.size()];
    t.colleague = c;
  }
  if (P(r, 0.04 * std::min(1.0, days / 30.0)) && t.colleague != SIZE_MAX)
    t.takeover_day = static_cast<int>(U(r, 0, std::max(0, days - 1)));
  return t;
}

void SimRun::GenerateDay(size_t a, int d, std::vector<Act>& out) {
  const size_t before = out.size();
  switch (world_.accounts()[a].behaviour) {
    case SimAccount::Behaviour::kCounsellor: GenCounsellor(a, d, out); break;
    case SimAccount::Behaviour::kPartner: GenPartner(a, d, out); break;
    case SimAccount::Behaviour::kTechnical: GenTechnical(a, d, out); break;
    case SimAccount::Behaviour::kIdle: break;
  }
  if (out.size() > before) {
    auto first = std::min_element(out.begin() + static_cast<long>(before), out.end(),
                                  [](const Act& x, const Act& y) { return x.time < y.time; });
    first->first_of_day = true;
    uint32_t seq = 0;
    for (size_t i = before; i < out.size(); ++i) out[i].seq = seq++;
  }
}

void SimRun::GenCounsellor(size_t a, int d, std::vector<Act>& out) {
  const SimAccount& acc = world_.accounts()[a];
  const Structure& st = world_.network().structures[acc.structure];
  const Date date = DayDate(d);
  const int wd = Weekday(date);
  const CounsellorTraits t = TraitsOf(a);
  const int dabs = d + day_offset_;  // absolute day (negative during warm-up)
  DeterministicRandom r(Mix(seed_, acc.id.value(), 0xda70000 + static_cast<uint64_t>(dabs)));
  const auto& caseload = world_.caseload(a);
  if (caseload.empty()) return;
  auto pick = [&](const std::vector<PersonId>& v) { return v[r.Uniform(v.size())].value(); };
  auto colleague_person = [&]() -> int64_t {
    const auto& peers = counsellors_of_[acc.structure];
    const size_t c = peers.size() > 1 ? peers[r.Uniform(peers.size())] : a;
    const auto& cl = world_.caseload(c);
    return cl.empty() ? pick(caseload) : pick(cl);
  };
  auto read = [&](UnixMicros time, int64_t person, uint8_t purpose) {
    Act x;
    x.time = time;
    x.account = static_cast<uint32_t>(a);
    x.kind = ActKind::kRead;
    x.purpose = purpose;
    x.person = person;
    out.push_back(x);
  };

  if (IsPublicHoliday(date, st.departement)) return;
  if (wd >= 5) {
    // A few catch up on files on Saturday morning, from home.
    if (wd == 5 && t.weekend_worker && P(r, 0.3)) {
      const int n = static_cast<int>(U(r, 2, 6));
      const double m0 = 9 * 60 + U(r, 0, 120);
      for (int i = 0; i < n; ++i) read(At(st, date, m0 + i * U(r, 2, 9)), pick(caseload), kAccompaniment);
    }
    return;
  }
  if (t.part_time && wd == t.off_day) return;
  if (dabs >= t.leave_from && dabs < t.leave_from + 7) return;  // a week of leave
  if (P(r, 0.035)) return;                                // sick, training day, ...

  // The rentrée: missions locales see young people flock back after the summer.
  double season = 1;
  if (date.month == 9 && date.day <= 20) season = st.kind == StructureKind::kMissionLocale ? 1.45 : 1.2;

  double arrive = t.arrive + 8 * Gauss(r);
  double leave = t.leave + 12 * Gauss(r);
  if (P(r, 0.04)) arrive -= 40;                       // early start
  if (P(r, t.late_prob)) leave += 60 + U(r, 0, 110);  // stays late (up to ~20:00)
  const double lunch = t.lunch + 6 * Gauss(r), lunch_end = lunch + t.lunch_len;
  const double morning = std::max(10.0, lunch - arrive), afternoon = std::max(10.0, leave - lunch_end);
  auto work_minute = [&](double margin_end = 0) {
    const double x = r.UniformDouble() * (morning + afternoon - margin_end);
    return x < morning ? arrive + x : lunch_end + (x - morning);
  };
  auto list = [&](double minute, int page) {
    Act x;
    x.time = At(st, date, minute);
    x.account = static_cast<uint32_t>(a);
    x.kind = ActKind::kListCaseload;
    x.page = page;
    out.push_back(x);
  };
  const int pages = static_cast<int>((caseload.size() + page_size_counsellor_ - 1) / page_size_counsellor_);
  // The caseload list on arrival, and often after lunch.
  list(arrive + U(r, 2, 20), 0);
  if (pages > 1 && P(r, 0.35)) list(arrive + U(r, 21, 30), 1);
  if (P(r, 0.5)) list(lunch_end + U(r, 1, 15), 0);

  // Appointments: open the file, update it during the interview, sometimes
  // look up training offers for the person.
  const int appointments = std::min(10, Poisson(r, 4.2 * t.activity * season));
  int64_t last = 0;
  for (int i = 0; i < appointments; ++i) {
    const double m = work_minute(30);
    const int64_t p = pick(caseload);
    last = p;
    read(At(st, date, m), p, kAccompaniment);
    read(At(st, date, m + U(r, 3, 10) + r.UniformDouble()), p, kAccompaniment);
    if (P(r, 0.6)) read(At(st, date, m + U(r, 15, 30) + r.UniformDouble()), p, kAccompaniment);
    if (P(r, 0.2)) read(At(st, date, m + U(r, 10, 25) + r.UniformDouble()), p, kTrainingOrientation);
  }
  // Desk work: files of the caseload, a colleague's person now and then.
  const int desk = Poisson(r, 9.0 * t.activity * season);
  for (int i = 0; i < desk; ++i) {
    const double x = r.UniformDouble();
    const int64_t p = x < 0.85 ? pick(caseload) : (x < 0.97 || last == 0 ? colleague_person() : last);
    read(At(st, date, work_minute() + r.UniformDouble()), p, kAccompaniment);
  }
  // Searches by surname for someone on the phone or at the desk.
  const int searches = Poisson(r, 1.6 * season);
  for (int i = 0; i < searches; ++i) {
    const int64_t p = P(r, 0.65) ? pick(caseload) : colleague_person();
    const double m = work_minute(5);
    Act x;
    x.time = At(st, date, m);
    x.account = static_cast<uint32_t>(a);
    x.kind = ActKind::kSearchName;
    x.person = p;
    out.push_back(x);
    read(At(st, date, m + U(r, 1, 3)), p, kAccompaniment);
  }
  // Taking over a departing colleague's caseload: two days reading each file once.
  if ((dabs == t.takeover_day || dabs == t.takeover_day + 1) && t.colleague != SIZE_MAX) {
    const auto& cl = world_.caseload(t.colleague);
    if (!cl.empty()) {
      const size_t half = cl.size() / 2;
      const size_t from = dabs == t.takeover_day ? 0 : half, to = dabs == t.takeover_day ? half : cl.size();
      double m = arrive + 30;
      for (size_t i = from; i < to; ++i) {
        m += U(r, 3, 7);
        if (m >= lunch && m < lunch_end) m = lunch_end + 5;
        if (m > leave) break;
        read(At(st, date, m + r.UniformDouble()), cl[i].value(), kAccompaniment);
      }
    }
  }
}

void SimRun::GenPartner(size_t a, int d, std::vector<Act>& out) {
  const SimAccount& acc = world_.accounts()[a];
  const Structure& st = world_.network().structures[acc.structure];
  const Date date = DayDate(d);
  const int wd = Weekday(date);
  if (!((st.hours.weekdays >> wd) & 1) || IsPublicHoliday(date, st.departement)) return;
  DeterministicRandom r(Mix(seed_, acc.id.value(), 0xba70000 + static_cast<uint64_t>(d + day_offset_)));
  if (P(r, 0.12)) return;
  const int32_t today = static_cast<int32_t>(date.ToDays());
  // The candidates the partner is working on: recent proposals, accepted and
  // enrolled people; as its portal shows them (allowed only).
  std::vector<std::pair<int64_t, uint8_t>> work;
  std::vector<std::pair<int32_t, int64_t>> recent;  // (proposed day, person)
  for (const SimOrientation& o : world_.candidates(acc.structure)) {
    uint8_t purpose;
    if (o.status == OrientationStatus::kProposed && o.proposed_days >= today - 21) {
      purpose = kTrainingOrientation;
    } else if (o.status == OrientationStatus::kAccepted || o.status == OrientationStatus::kEnrolled) {
      purpose = kTrainingEnrolment;
    } else {
      continue;
    }
    if (!purpose_ok_[purpose]) continue;
    const auto pid = policy_.FindPurpose(kPurposeNames[purpose]);
    if (!engine_.Decide(acc.principal, o.person, *pid, date).allowed) continue;
    work.push_back({o.person.value(), purpose});
    if (purpose == kTrainingOrientation) recent.push_back({o.proposed_days, o.person.value()});
  }
  const double arrive = 8 * 60 + 30 + U(r, 0, 60), leave = 16 * 60 + 30 + U(r, 0, 90);
  const double lunch = 12 * 60 + 15 + U(r, 0, 45), lunch_end = lunch + 45 + U(r, 0, 30);
  auto work_minute = [&]() {
    const double morning = lunch - arrive, afternoon = leave - lunch_end;
    const double x = r.UniformDouble() * (morning + afternoon);
    return x < morning ? arrive + x : lunch_end + (x - morning);
  };
  if (!recent.empty()) {
    const int lists = 1 + (P(r, 0.5) ? 1 : 0);
    for (int i = 0; i < lists; ++i) {
      Act x;
      x.time = At(st, date, i == 0 ? arrive + U(r, 5, 30) : lunch_end + U(r, 5, 30));
      x.account = static_cast<uint32_t>(a);
      x.kind = ActKind::kListProposals;
      out.push_back(x);
    }
  }
  if (work.empty()) return;
  const int n = std::min<int>(Poisson(r, 5), static_cast<int>(work.size()) * 2);
  for (int i = 0; i < n; ++i) {
    const auto& [p, purpose] = work[r.Uniform(work.size())];
    Act x;
    x.time = At(st, date, work_minute() + r.UniformDouble());
    x.account = static_cast<uint32_t>(a);
    x.kind = ActKind::kRead;
    x.purpose = purpose;
    x.person = p;
    out.push_back(x);
  }
}

void SimRun::GenTechnical(size_t a, int d, std::vector<Act>& out) {
  const SimAccount& acc = world_.accounts()[a];
  const Structure& st = world_.network().structures[acc.structure];
  if (!purpose_ok_[kEnrolmentSync]) return;
  const Date date = DayDate(d);
  DeterministicRandom tr(Mix(seed_, acc.id.value(), 0x7ec7));
  static constexpr int kPeriods[] = {15, 30, 60};
  const int period = kPeriods[tr.Uniform(3)];
  const bool all_day = P(tr, 0.3);
  const bool every_day = P(tr, 0.4);
  const bool reconcile = P(tr, 0.35);
  const int reconcile_minute = static_cast<int>(60 + U(tr, 0, 180));
  DeterministicRandom r(Mix(seed_, acc.id.value(), 0x7ec0000 + static_cast<uint64_t>(d + day_offset_)));
  const auto pid = policy_.FindPurpose(kPurposeNames[kEnrolmentSync]);
  std::vector<int64_t> set;
  for (const SimOrientation& o : world_.candidates(acc.structure)) {
    if (o.status != OrientationStatus::kAccepted && o.status != OrientationStatus::kEnrolled) continue;
    if (engine_.Decide(acc.principal, o.person, *pid, date).allowed) set.push_back(o.person.value());
  }
  if (set.empty()) return;
  auto read = [&](UnixMicros t, int64_t p) {
    Act x;
    x.time = t;
    x.account = static_cast<uint32_t>(a);
    x.kind = ActKind::kRead;
    x.purpose = kEnrolmentSync;
    x.person = p;
    out.push_back(x);
  };
  // Nightly reconciliation: every candidate, one per second.
  if (reconcile)
    for (size_t i = 0; i < set.size(); ++i)
      read(At(st, date, reconcile_minute) + static_cast<int64_t>(i) * kSecond + U(r, 0, 999) * 1000, set[i]);
  // Periodic sync of what changed, during its usual hours.
  if (!every_day && !IsWorkingDay(date, st.departement)) return;
  const int from = all_day ? 0 : 7 * 60, to = all_day ? 24 * 60 : 20 * 60;
  for (int m = from + static_cast<int>(tr.Uniform(static_cast<uint64_t>(period))); m < to; m += period) {
    int k = 0;
    for (int64_t p : set)
      if (P(r, 0.01)) read(At(st, date, m) + (2 * k++ + 1) * kSecond, p);
  }
}

access::ReadResult SimRun::Read(access::Caller& caller, PersonId person, std::string_view purpose, UnixMicros t) {
  clock_.Set(t);
  ++accesses_;
  if (gate_ && !observing_) {
    access::ReadRequest rq;
    rq.person = person;
    rq.purpose = purpose;
    rq.now = t;
    return gate_->Read(caller, rq);
  }
  // Observe mode: decide, then tell the guard what happened.
  access::ReadResult out;
  const auto pid = policy_.FindPurpose(purpose);
  const Date today = Date::FromUnixMicros(t);
  const bool allowed = pid && engine_.Decide(caller.principal, person, *pid, today).allowed;
  guard::Access x;
  x.time = t;
  x.account = caller.principal.account;
  x.kind = allowed ? guard::AccessKind::kRead : guard::AccessKind::kDenied;
  x.source = caller.source;
  const PersonId one[1] = {person};
  x.persons = one;
  x.referent = world_.index().ReferentCounsellor(person);
  guard_->Observe(x);
  out.outcome = allowed ? access::Outcome::kOk : access::Outcome::kDenied;
  return out;
}

access::ReadResult SimRun::Page(access::Caller& caller, guard::AccessKind kind, std::span<const PersonId> persons,
                                std::string_view query, int64_t page, UnixMicros t) {
  clock_.Set(t);
  ++accesses_;
  if (gate_ && !observing_) return gate_->ReleasePage(caller, kind, persons, query, page, t);
  guard::Access x;
  x.time = t;
  x.account = caller.principal.account;
  x.kind = kind;
  x.source = caller.source;
  x.persons = persons;
  x.query = query;
  x.page = page;
  guard_->Observe(x);
  return {};
}

void SimRun::Execute(const Act& act) {
  const size_t a = act.account;
  if (suspended_at_[a] != 0 || act.time >= cutoff_) return;
  Slot& s = slots_[a];
  if (act.first_of_day) s.caller.step_up_done = false;  // a new day, a new session
  access::ReadResult r;
  bool touched = false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    switch (act.kind) {
      case ActKind::kRead: {
        const PersonId p(act.person);
        touched = world_.persons()[static_cast<size_t>(act.person)].honeytoken;
        r = Read(s.caller, p, kPurposeNames[act.purpose], act.time);
        ++reads_;
        break;
      }
      case ActKind::kListCaseload: {
        const auto& cl = world_.caseload(a);
        const size_t from = static_cast<size_t>(act.page) * page_size_counsellor_;
        scratch_.assign(cl.begin() + static_cast<long>(std::min(from, cl.size())),
                        cl.begin() + static_cast<long>(std::min(from + page_size_counsellor_, cl.size())));
        for (PersonId p : scratch_) touched |= world_.persons()[static_cast<size_t>(p.value())].honeytoken;
        r = Page(s.caller, guard::AccessKind::kList, scratch_, "", act.page, act.time);
        ++pages_;
        break;
      }
      case ActKind::kListProposals: {
        // The partner's "new proposals" page: the last three weeks', newest first.
        const Date date = UtcToLocal(s.structure->time_zone, act.time).date;
        const int32_t today = static_cast<int32_t>(date.ToDays());
        std::vector<std::pair<int32_t, int64_t>> recent;
        for (const SimOrientation& o : world_.candidates(s.account->structure))
          if (o.status == OrientationStatus::kProposed && o.proposed_days >= today - 21)
            recent.push_back({-o.proposed_days, o.person.value()});
        std::sort(recent.begin(), recent.end());
        scratch_.clear();
        for (size_t i = 0; i < recent.size() && static_cast<int>(i) < page_size_partner_; ++i)
          scratch_.push_back(PersonId(recent[i].second));
        for (PersonId p : scratch_) touched |= world_.persons()[static_cast<size_t>(p.value())].honeytoken;
        r = Page(s.caller, guard::AccessKind::kList, scratch_, "", 0, act.time);
        ++pages_;
        break;
      }
      case ActKind::kSearchName: {
        const SimPerson& target = world_.persons()[static_cast<size_t>(act.person)];
        std::string query;
        scratch_.clear();
        if (world_.has_names()) {
          query = StrCat("nom:", world_.nom(target.nom));
          auto it = by_name_.find(Key(s.caller.principal.structure, target.nom));
          if (it != by_name_.end()) scratch_ = it->second;
          if (scratch_.empty() ||
              std::find(scratch_.begin(), scratch_.end(), PersonId(act.person)) == scratch_.end())
            scratch_.push_back(PersonId(act.person));
        } else {
          query = StrCat("nom:#", static_cast<int64_t>(Mix(act.person, 0x5ea) & 0xffffff));
          scratch_.push_back(PersonId(act.person));
        }
        if (static_cast<int>(scratch_.size()) > page_size_counsellor_) scratch_.resize(page_size_counsellor_);
        for (PersonId p : scratch_) touched |= world_.persons()[static_cast<size_t>(p.value())].honeytoken;
        r = Page(s.caller, guard::AccessKind::kSearch, scratch_, query, 0, act.time);
        ++pages_;
        break;
      }
    }
    // A person asked for a fresh TOTP gives it and carries on.
    if (r.outcome == access::Outcome::kStepUp && s.caller.principal.kind == policy::AccountKind::kHuman &&
        !s.caller.step_up_done) {
      ++step_ups_;
      s.caller.step_up_done = true;
      continue;
    }
    break;
  }
  if (touched) ++honeytoken_touches_;
  switch (r.outcome) {
    case access::Outcome::kDenied: ++denied_; break;
    case access::Outcome::kQuota: ++quota_; break;
    case access::Outcome::kThrottled: ++throttled_; break;
    default: break;
  }
  Trace(static_cast<uint64_t>(act.time), a, static_cast<uint64_t>(act.person) * 8 + static_cast<uint64_t>(act.kind),
        static_cast<uint64_t>(r.outcome));
}

UnixMicros SimRun::NextAttackTime() const {
  UnixMicros best = INT64_MAX;
  for (const AttackAccount& x : attackers_)
    if (!x.done) best = std::min(best, x.next_time);
  return best;
}

void SimRun::Run(int days, bool with_attack, UnixMicros time_shift) {
  time_shift_ = time_shift;
  std::vector<Act> pending, next;
  auto gen = [&](int d) {
    for (size_t a = 0; a < world_.accounts().size(); ++a) GenerateDay(a, d, pending);
  };
  auto by_time = [](const Act& x, const Act& y) {
    if (x.time != y.time) return x.time < y.time;
    if (x.account != y.account) return x.account < y.account;
    return x.seq < y.seq;
  };
  bool attack_over = false;
  auto run_attack_until = [&](UnixMicros t) {
    while (with_attack && !attack_over && NextAttackTime() <= t) {
      if (!AttackStep()) attack_over = true;
    }
    if (with_attack && !attack_over && NextAttackTime() == INT64_MAX) attack_over = true;
  };
  gen(0);
  for (int d = 0; d < days; ++d) {
    if (d + 1 < days) gen(d + 1);
    std::sort(pending.begin(), pending.end(), by_time);
    const UnixMicros horizon =
        d + 1 < days ? (world_.options().start.ToDays() + day_offset_ + d + 1) * kDay + 20 * kHour + time_shift
                     : INT64_MAX;
    size_t i = 0;
    for (; i < pending.size() && pending[i].time < horizon; ++i) {
      run_attack_until(pending[i].time);
      if (with_attack && attack_over) break;
      Execute(pending[i]);
    }
    if (with_attack && attack_over) break;
    run_attack_until(horizon == INT64_MAX ? INT64_MAX - 1 : horizon - 1);
    if (with_attack && attack_over) break;
    pending.erase(pending.begin(), pending.begin() + static_cast<long>(i));
    days_run_ = d + 1;
  }
  // An attack still running after the last simulated day goes on alone.
  while (with_attack && !attack_over) {
    if (NextAttackTime() == INT64_MAX || !AttackStep()) attack_over = true;
  }
}

// ---------------------------------------------------------------------------
// Attacks

Status SimRun::SetUpAttack(const Scenario& sc) {
  scenario_ = &sc;
  attack_ = true;
  const Network& net = world_.network();
  const auto& accs = world_.accounts();
  const int days = world_.options().days;
  // A scenario set later than the run's last day starts on the last day.
  attack_day_ = std::min(sc.day, days - 1);
  const auto purpose = policy_.FindPurpose(sc.purpose);
  if (!purpose)
    return InvalidArgument(StrCat(sc.source, ": [method] purpose '", sc.purpose, "' is not in the policy"));
  attack_purpose_ = sc.purpose;
  const Role want_role = sc.created ? sc.creator_role : sc.role;

  // Candidate structures with enough accounts of the role.
  std::map<size_t, std::vector<size_t>> by_structure;
  for (size_t i = 0; i < accs.size(); ++i) {
    const Structure& st = net.structures[accs[i].structure];
    if (st.kind != sc.structure_kind || accs[i].principal.kind != policy::AccountKind::kHuman) continue;
    if (!accs[i].principal.HasRole(want_role)) continue;
    by_structure[accs[i].structure].push_back(i);
  }
  const size_t need = sc.created ? 1 : static_cast<size_t>(sc.accounts);
  std::vector<std::pair<int64_t, size_t>> ranked;  // (-size, structure)
  for (const auto& [s, v] : by_structure) {
    if (v.size() < need) continue;
    const int64_t size = static_cast<int64_t>(world_.followed(s).size() + world_.candidates(s).size());
    ranked.push_back({-size, s});
  }
  if (ranked.empty())
    return InvalidArgument(StrCat(sc.source, ": no ", StructureKindName(sc.structure_kind), " has ",
                                  static_cast<int64_t>(need), " account(s) with role ", RoleName(want_role)));
  std::sort(ranked.begin(), ranked.end());
  size_t chosen = ranked.front().second;
  if (!sc.pick_widest) {
    DeterministicRandom r(Mix(seed_, 0xa77ac));
    chosen = ranked[r.Uniform(ranked.size())].second;
  }
  attacker_st_ = &net.structures[chosen];
  attacker_structure_ = attacker_st_->code;
  const Date start_date = DayDate(attack_day_);
  attack_start_ = LocalToUtc(attacker_st_->time_zone, start_date, sc.minute) + time_shift_;
  attack_deadline_ = attack_start_ + static_cast<int64_t>(sc.max_hours * kHour);

  std::vector<size_t> slots;
  if (!sc.created) {
    const auto& v = by_structure[chosen];
    for (int i = 0; i < sc.accounts; ++i) slots.push_back(v[static_cast<size_t>(i)]);
  } else {
    const SimAccount& creator = accs[by_structure[chosen].front()];
    // The approver: one with approver_role in the creator's structure or an ancestor (the regional direction).
    std::optional<size_t> approver;
    std::optional<StructureId> cur = attacker_st_->id;
    while (cur && !approver) {
      for (size_t i = 0; i < accs.size(); ++i)
        if (net.structures[accs[i].structure].id == *cur && accs[i].principal.HasRole(sc.approver_role) &&
            accs[i].id != creator.id) {
          approver = i;
          break;
        }
      const Structure* s = net.structure(*cur);
      cur = s ? s->parent : std::nullopt;
    }
    if (!approver)
      return InvalidArgument(StrCat(sc.source, ": no ", RoleName(sc.approver_role), " above ", attacker_structure_,
                                    " to approve the accounts"));
    int64_t max_id = 0;
    for (const auto& x : accs) max_id = std::max(max_id, x.id.value());
    for (const auto& x : extra_accounts_) max_id = std::max(max_id, x->id.value());
    const UnixMicros created_at = attack_start_ - int64_t{sc.created_minutes_before} * kMinute;
    for (int k = 0; k < sc.accounts; ++k) {
      auto sa = std::make_unique<SimAccount>();
      sa->id = AccountId(max_id + 1 + k);
      sa->structure = chosen;
      sa->principal.account = sa->id;
      sa->principal.structure = attacker_st_->id;
      if (sc.technical) {
        sa->principal.kind = policy::AccountKind::kTechnical;
        sa->principal.integration_purposes = {sc.integration_purpose};
      } else {
        sa->principal.roles = sc.created_roles;
        sa->principal.probation = sc.probation;
      }
      sa->behaviour = SimAccount::Behaviour::kIdle;
      guard::AccountProfile& pr = sa->profile;
      pr.account = sa->id;
      pr.technical = sc.technical;
      pr.structure = attacker_st_->id;
      pr.structure_kind = attacker_st_->kind;
      pr.roles = sc.technical ? std::vector<Role>{} : sc.created_roles;
      pr.created_at = created_at;
      pr.probation = sc.probation;
      pr.created_by = creator.id;
      pr.approved_by = accs[*approver].id;
      pr.time_zone = attacker_st_->time_zone;
      pr.hours = attacker_st_->hours;
      Slot s;
      s.account = sa.get();
      s.caller.principal = sa->principal;
      s.caller.session = StrCat("sim-", sa->id.value());
      s.caller.quota = access::QuotaLimitsFor(policy_, sa->principal, sc.probation ? 20 : 0);
      s.profile = pr;
      s.structure = attacker_st_;
      slot_of_[sa->id.value()] = slots_.size();
      slots.push_back(slots_.size());
      slots_.push_back(std::move(s));
      suspended_at_.push_back(0);
      // iam registers the account with the guard when it is activated.
      clock_.Set(created_at);
      guard_->RegisterAccount(pr);
      extra_accounts_.push_back(std::move(sa));
    }
  }
  for (size_t s : slots) slots_[s].attacker = true;

  // What the attacker's accounts reach for the purpose on the attack's day.
  const policy::Principal& who = slots_[slots.front()].caller.principal;
  std::vector<int64_t> reach;
  const int64_t max_person = static_cast<int64_t>(world_.persons().size()) - 1;
  for (int64_t p = 1; p <= max_person; ++p)
    if (engine_.Decide(who, PersonId(p), *purpose, start_date).allowed) reach.push_back(p);
  reach_ = static_cast<int64_t>(reach.size());

  int page_size = sc.page_size;
  if (page_size <= 0) {
    page_size = 0;
    if (who.kind == policy::AccountKind::kTechnical) {
      if (auto q = policy_.technical_quota()) page_size = static_cast<int>(q->page_size);
    } else {
      for (Role r : who.roles)
        if (auto q = policy_.quota(r)) page_size = std::max(page_size, static_cast<int>(q->page_size));
    }
    if (page_size <= 0) page_size = 50;
  }

  attackers_.clear();
  for (size_t s : slots) {
    AttackAccount x;
    x.slot = s;
    x.caller = slots_[s].caller;
    x.caller.source = sc.address;
    x.caller.session = StrCat("sim-attack-", slots_[s].caller.principal.account.value());
    x.caller.step_up_done = false;
    attackers_.push_back(std::move(x));
  }
  const size_t n = attackers_.size();
  auto add_pages = [&](AttackItem::Kind kind, const std::vector<int64_t>& people, uint32_t query, size_t& rr) {
    size_t off = 0;
    int32_t page = 0;
    do {
      AttackItem it;
      it.kind = kind;
      it.begin = static_cast<uint32_t>(pool_.size());
      for (size_t j = off; j < people.size() && j < off + static_cast<size_t>(page_size); ++j)
        pool_.push_back(people[j]);
      it.end = static_cast<uint32_t>(pool_.size());
      it.query = query;
      it.page = page++;
      attackers_[rr++ % n].work.push_back(it);
      off += static_cast<size_t>(page_size);
    } while (off < people.size());
  };
  size_t rr = 0;
  const auto& persons = world_.persons();
  switch (sc.enumerate) {
    case Enumeration::kKnown:
      for (int64_t p : reach) {
        AttackItem it;
        it.person = p;
        attackers_[rr++ % n].work.push_back(it);
      }
      break;
    case Enumeration::kIds:
      for (int64_t p = 1; p <= max_person; ++p) {
        AttackItem it;
        it.person = p;
        attackers_[rr++ % n].work.push_back(it);
      }
      break;
    case Enumeration::kListing: {
      std::vector<int64_t> order = reach;
      if (world_.has_names())
        std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
          return world_.nom(persons[x].nom) < world_.nom(persons[y].nom);
        });
      add_pages(AttackItem::kListPage, order, 0, rr);
      break;
    }
    case Enumeration::kSearch: {
      std::map<std::string, std::vector<int64_t>> results;  // query -> matches in reach
      std::vector<std::string> sweep;
      if (sc.search == SearchField::kPostcode) {
        // Every postcode of the attacker's département, in order.
        std::set<std::string> codes;
        for (const Commune& c : ReferenceData::Get().communes())
          if (c.departement == attacker_st_->departement) codes.insert(std::string(c.postcode));
        for (const auto& c : codes) sweep.push_back(StrCat("cp:", c));
        for (int64_t p : reach)
          if (persons[p].postcode) results[StrCat("cp:", PostcodeText(persons[p].postcode))].push_back(p);
      } else if (sc.search == SearchField::kNamePrefix) {
        for (char a = 'a'; a <= 'z'; ++a)
          for (char b = 'a'; b <= 'z'; ++b) sweep.push_back(StrCat("nom:", std::string{a, b}));
        for (int64_t p : reach) {
          const std::string& nm = world_.nom(persons[p].nom);
          if (nm.size() >= 2) results[StrCat("nom:", nm.substr(0, 2))].push_back(p);
        }
      } else {
        int32_t lo = INT32_MAX, hi = INT32_MIN;
        for (int64_t p : reach)
          if (persons[p].birth_days) lo = std::min(lo, persons[p].birth_days), hi = std::max(hi, persons[p].birth_days);
        for (int32_t dd = lo; dd <= hi && lo != INT32_MAX; ++dd) sweep.push_back(StrCat("dn:", Date::FromDays(dd).ToString()));
        for (int64_t p : reach)
          if (persons[p].birth_days) results[StrCat("dn:", Date::FromDays(persons[p].birth_days).ToString())].push_back(p);
      }
      for (const std::string& q : sweep) {
        queries_.push_back(q);
        add_pages(AttackItem::kSearchPage, results[q], static_cast<uint32_t>(queries_.size() - 1), rr);
      }
      break;
    }
  }
  DeterministicRandom r(Mix(seed_, 0x57a87));
  for (size_t k = 0; k < n; ++k) attackers_[k].next_time = attack_start_ + static_cast<int64_t>(k) * U(r, 20, 90) * kSecond;
  return OkStatus();
}

bool SimRun::AttackStep() {
  const Scenario& sc = *scenario_;
  size_t who = SIZE_MAX;
  for (size_t k = 0; k < attackers_.size(); ++k)
    if (!attackers_[k].done && (who == SIZE_MAX || attackers_[k].next_time < attackers_[who].next_time)) who = k;
  if (who == SIZE_MAX) return false;
  AttackAccount& x = attackers_[who];
  const UnixMicros t = x.next_time;
  DeterministicRandom r(Mix(seed_, static_cast<uint64_t>(t), who));
  auto finish = [&] { x.done = true; };
  if (suspended_at_[x.slot] != 0 || t > attack_deadline_) {
    finish();
    return true;
  }
  // Working-hours schedule: wait for the next opening, and respect the daily cap.
  if (sc.schedule == Schedule::kWorkingHours) {
    const Structure& st = *attacker_st_;
    const LocalTime lt = UtcToLocal(st.time_zone, t - time_shift_);
    const int64_t day = lt.date.ToDays();
    if (day != x.today) x.today = day, x.reads_today = 0;
    const bool open = IsWorkingDay(lt.date, st.departement) && lt.minute >= st.hours.open_minute &&
                      lt.minute < st.hours.close_minute && ((st.hours.weekdays >> Weekday(lt.date)) & 1);
    if (!open || (sc.per_day > 0 && x.reads_today >= sc.per_day)) {
      Date d = lt.date;
      if (open || lt.minute >= st.hours.open_minute) d = Date::FromDays(d.ToDays() + 1);
      while (!IsWorkingDay(d, st.departement) || !((st.hours.weekdays >> Weekday(d)) & 1)) d = Date::FromDays(d.ToDays() + 1);
      x.next_time = LocalToUtc(st.time_zone, d, st.hours.open_minute + static_cast<int>(U(r, 5, 40))) + time_shift_;
      return true;
    }
  }
  // What to do next.
  AttackItem item;
  bool from_queue = false;
  if (x.to_read_next < x.to_read.size()) {
    item.kind = AttackItem::kRead;
    item.person = x.to_read[x.to_read_next];
    from_queue = true;
  } else if (x.next < x.work.size()) {
    item = x.work[x.next];
  } else {
    finish();
    return true;
  }
  if (first_malicious_ == 0) first_malicious_ = t;
  ++attack_attempts_;
  x.last_attempt = t;
  access::ReadResult res;
  if (item.kind == AttackItem::kRead) {
    res = Read(x.caller, PersonId(item.person), attack_purpose_, t);
  } else {
    scratch_.clear();
    for (uint32_t j = item.begin; j < item.end; ++j) scratch_.push_back(PersonId(pool_[j]));
    res = Page(x.caller, item.kind == AttackItem::kListPage ? guard::AccessKind::kList : guard::AccessKind::kSearch,
               scratch_, item.kind == AttackItem::kSearchPage ? std::string_view(queries_[item.query]) : "",
               item.page, t);
  }
  if (debug_)
    std::fprintf(stderr, "attack t=%+.0fs acct=%lld kind=%d person=%lld outcome=%d action=%s score=%.2f signals=%zu\n",
                 static_cast<double>(t - attack_start_) / kSecond,
                 static_cast<long long>(x.caller.principal.account.value()), static_cast<int>(item.kind),
                 static_cast<long long>(item.person), static_cast<int>(res.outcome),
                 std::string(guard::ActionName(res.verdict.action)).c_str(), res.verdict.score,
                 res.verdict.signals.size());
  const double interval = 60.0 / sc.rate_per_minute * (0.7 + 0.6 * r.UniformDouble());
  UnixMicros next = t + std::max<int64_t>(1, static_cast<int64_t>(interval * kSecond));
  auto advance = [&] {
    if (from_queue) {
      ++x.to_read_next;
    } else {
      ++x.next;
    }
  };
  switch (res.outcome) {
    case access::Outcome::kOk:
      advance();
      x.refusals_in_row = 0;
      x.backoff = 0;
      x.streak_start = 0;
      if (item.kind == AttackItem::kRead) {
        released_.insert(item.person);
        ++x.reads_today;
      } else {
        for (PersonId p : scratch_) {
          listed_.insert(p.value());
          if (sc.read && !released_.count(p.value())) x.to_read.push_back(p.value());
        }
      }
      break;
    case access::Outcome::kDenied:
      advance();  // the policy says no: try the next one
      break;
    case access::Outcome::kSuspended:
      ++attack_refusals_;
      if (x.streak_start == 0) x.streak_start = t;
      finish();
      break;
    case access::Outcome::kStepUp:
      if (sc.passes_step_up && !x.caller.step_up_done) {
        x.caller.step_up_done = true;  // relays the victim's TOTP
        next = t + 20 * kSecond;
        break;
      }
      [[fallthrough]];
    default: {
      ++attack_refusals_;
      if (x.streak_start == 0) x.streak_start = t;
      ++x.refusals_in_row;
      const int64_t wait = std::min<int64_t>(3600, int64_t{60} << std::min(x.backoff, 6));
      ++x.backoff;
      next = t + wait * kSecond;
      if (x.refusals_in_row >= sc.give_up_after_refusals) finish();
      break;
    }
  }
  x.next_time = next;
  if (sc.max_people > 0 && static_cast<int64_t>(released_.size()) >= sc.max_people)
    for (auto& y : attackers_) y.done = true;
  return true;
}

NormalResult SimRun::Normal(int days) const {
  NormalResult n;
  n.agents = world_.human_agents();
  n.technical_accounts = world_.technical_accounts();
  n.days = days;
  n.agent_days = (n.agents + n.technical_accounts) * days;
  n.accesses = accesses_;
  n.reads = reads_;
  n.pages = pages_;
  n.denied = denied_;
  n.quota_refusals = quota_;
  n.throttled = throttled_;
  n.step_ups = step_ups_;
  n.honeytoken_touches = honeytoken_touches_;
  n.trace_hash = trace_;
  std::set<std::pair<int64_t, int64_t>> account_days;
  for (const guard::Alert& al : guard_->Alerts(0)) {
    if (al.action < guard::Action::kAlert) continue;
    auto it = slot_of_.find(al.account.value());
    if (it != slot_of_.end() && slots_[it->second].attacker) continue;
    ++n.false_alerts;
    account_days.insert({al.account.value(), al.time / kDay});
    if (n.sample_alerts.size() < 5)
      n.sample_alerts.push_back(StrCat("account ", al.account.value(), " (", guard::ActionName(al.action), "): ",
                                       al.explanation));
  }
  n.false_alert_account_days = static_cast<int64_t>(account_days.size());
  n.false_alerts_per_1000_agent_days =
      n.agent_days > 0 ? 1000.0 * static_cast<double>(n.false_alerts) / static_cast<double>(n.agent_days) : 0;
  for (size_t i = 0; i < slots_.size(); ++i)
    if (suspended_at_[i] != 0 && !slots_[i].attacker) ++n.false_suspensions;
  return n;
}

ScenarioResult SimRun::Attack(const Scenario& sc) const {
  ScenarioResult out;
  out.name = sc.name;
  out.description = sc.description;
  out.records_released = static_cast<int64_t>(released_.size());
  out.people_listed = static_cast<int64_t>(listed_.size());
  out.reach = reach_;
  out.attempts = attack_attempts_;
  out.refusals = attack_refusals_;
  out.attacker_accounts = static_cast<int64_t>(attackers_.size());
  out.attacker_structure = attacker_structure_;
  out.day = attack_day_;
  UnixMicros contained_at = 0, last = first_malicious_;
  bool contained = !attackers_.empty();
  for (const AttackAccount& x : attackers_) {
    last = std::max(last, x.last_attempt);
    UnixMicros c = 0;
    if (suspended_at_[x.slot] != 0) {
      c = suspended_at_[x.slot];
      ++out.suspended_accounts;
    } else if (x.streak_start != 0) {
      c = x.streak_start;
    }
    if (c == 0) {
      contained = false;
    } else {
      contained_at = std::max(contained_at, c);
    }
  }
  const UnixMicros origin = first_malicious_ ? first_malicious_ : attack_start_;
  out.contained = contained;
  out.seconds_to_containment =
      static_cast<double>(std::max<UnixMicros>(0, (contained ? contained_at : last) - origin)) / kSecond;
  std::set<std::string> signals;
  for (const guard::Alert& al : guard_->Alerts(0)) {
    auto it = slot_of_.find(al.account.value());
    const bool attacker = it != slot_of_.end() && slots_[it->second].attacker;
    if (!attacker || al.action < guard::Action::kAlert || al.time < origin) continue;
    if (out.alerts == 0) {
      out.seconds_to_first_alert = static_cast<double>(al.time - origin) / kSecond;
      out.first_alert = al.explanation;
    }
    ++out.alerts;
    for (const auto& s : al.signals) signals.insert(s);
  }
  out.signals.assign(signals.begin(), signals.end());
  for (size_t i = 0; i < slots_.size(); ++i)
    if (suspended_at_[i] != 0 && !slots_[i].attacker) ++out.other_accounts_suspended;
  return out;
}

// ---------------------------------------------------------------------------
// Simulator

Simulator::Simulator(const World& world, const policy::Policy& policy, std::string policy_text,
                     std::string policy_source, const guard::GuardConfig& guard_config)
    : world_(world),
      policy_(policy),
      policy_text_(std::move(policy_text)),
      policy_source_(std::move(policy_source)),
      guard_config_(guard_config) {
  if (policy_text_.empty()) policy_text_ = std::string(DefaultPolicyText());
}

StatusOr<NormalResult> Simulator::RunNormal() {
  SimRun run(world_, policy_, guard_config_, world_.options().seed);
  CLOISON_RETURN_IF_ERROR(run.InitGate());
  run.Warmup(world_.options().warmup_days);
  run.Run(world_.options().days, false);
  return run.Normal(world_.options().days);
}

StatusOr<ScenarioResult> Simulator::RunScenario(const Scenario& sc) {
  std::optional<policy::Policy> own;
  const policy::Policy* pol = &policy_;
  if (!sc.policy_append.empty()) {
    const std::string text = policy_text_ + "\n" + sc.policy_append + "\n";
    auto p = policy::Policy::Parse(text, sc.source, &policy_.catalog());
    if (!p.ok()) {
      // Point at the scenario's line when the error is in the appended part.
      std::string msg(MessageOf(p.status()));
      const std::string prefix = sc.source + ":";
      int64_t base_lines = 1 + std::count(policy_text_.begin(), policy_text_.end(), '\n');
      if (msg.rfind(prefix, 0) == 0) {
        size_t end = msg.find(':', prefix.size());
        if (end != std::string::npos) {
          int64_t line = std::atoll(msg.substr(prefix.size(), end - prefix.size()).c_str());
          if (line > base_lines)
            return InvalidArgument(StrCat(sc.source, ":", line - base_lines + sc.policy_append_line - 1,
                                          " (policy_append)", msg.substr(end)));
        }
      }
      return InvalidArgument(StrCat(sc.source, ": policy_append: ", msg));
    }
    own.emplace(std::move(*p));
    pol = &*own;
  }
  SimRun run(world_, *pol, guard_config_, world_.options().seed);
  CLOISON_RETURN_IF_ERROR(run.InitGate());
  run.Warmup(world_.options().warmup_days);
  CLOISON_RETURN_IF_ERROR(run.SetUpAttack(sc));
  run.Run(world_.options().days, true);
  return run.Attack(sc);
}

Status SeedHistory(store::Store& store, const policy::RelationIndex& index, const policy::Policy& policy,
                   guard::Guard& guard, int days, uint64_t seed, UnixMicros end) {
  if (days < 1 || days > 366) return InvalidArgument("history must be 1 to 366 days");
  TrafficOptions o;
  o.days = days;
  o.seed = seed;
  o.start = Date::FromDays(Date::FromUnixMicros(end).ToDays() - days);
  o.honeytokens_per_structure = 0;
  CLOISON_ASSIGN_OR_RETURN(auto world, World::FromStore(store, index, o));
  SimRun run(*world, policy, guard::GuardConfig::Default(), seed);
  run.InitObserve(&guard);
  run.set_cutoff(end);
  run.Run(days, false);
  return OkStatus();
}

}  // namespace cloison::sim
