// The traffic simulator: a month of a synthetic network's ordinary work, and
// attacks mixed into it, run through the real read path (access::Gate with
// the real guard::Guard, in-process, on a simulated clock), to measure what
// the guard contains and what it costs in false alerts.
//
//   auto world = sim::World::Generate({.agents = 2000, .days = 30, .seed = 7});
//   sim::Simulator simulator(**world, policy, policy_text, guard_config);
//   auto normal = simulator.RunNormal();          // false alerts, false suspensions
//   auto r = simulator.RunScenario(scenario);     // records released, containment
//
// The world (World): a network (sim/network.h) sized to about `agents` human
// agents, its people (sim/people.h; about 100-120 per counsellor caseload),
// their relations loaded into a policy::RelationIndex, one technical
// (enrolment sync) account for a share of the training organisations, and a
// handful of honeytokens per agency and mission locale: decoy people followed
// by the structure but in nobody's caseload, oriented ("proposed", weeks
// ago) to sessions of training organisations of the region; only bulk
// listing or enumeration reaches them. The index is built in memory with the
// index's own update calls (no store: a store would only add encryption work
// the simulator never reads back).
//
// Normal traffic (docs/simulation.md lists the assumptions): counsellors'
// working days (arrival, lunch, departure in the structure's time zone,
// weekends, French public holidays, part time, leave, sick days, late
// evenings, the September back-to-school burst, caseload take-overs);
// partners reading their candidates; integrations syncing on a period during
// their usual hours. Each account's day is a pure function of (seed, account,
// day), so a run is deterministic for a seed whatever else happens, and the
// accesses of all accounts are executed in time order. Every access goes
// through Gate::Read or Gate::ReleasePage (read_store = false) with a Caller
// built from the account's policy::Principal and access::QuotaLimitsFor; a
// suspension (the guard's kSuspend, through access::AccountControl) stops the
// account for the rest of the run. The audit log is real but lives in a
// counting in-memory file system (sim/memory_fs.h).
//
// Thread-safety: a World is immutable after creation and may be shared; a
// Simulator runs one simulation at a time (its Run* methods are not
// reentrant).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/domain.h"
#include "core/status.h"
#include "guard/guard.h"
#include "policy/policy.h"
#include "policy/principal.h"
#include "policy/relation_index.h"
#include "sim/network.h"
#include "sim/scenario.h"
#include "store/store.h"

namespace cloison::sim {

struct TrafficOptions {
  int64_t agents = 2000;        // human agents wanted; the network is sized to about this
  int days = 30;                // simulated days
  uint64_t seed = 2025;
  Date start{2025, 9, 1};       // first simulated day (a Monday: the rentrée)
  int honeytokens_per_structure = 3;   // per agency and mission locale
  double technical_share = 0.5;        // training organisations with a syncing integration
  // Days of normal history replayed into the guard (Guard::Observe, as a
  // server replays its audit log) before the first measured day; 0 measures
  // a cold start (a guard deployed on accounts it has never seen).
  int warmup_days = 7;
};

// What the simulator knows about one account.
struct SimAccount {
  enum class Behaviour : uint8_t { kCounsellor, kPartner, kTechnical, kIdle };
  AccountId id;
  Behaviour behaviour = Behaviour::kIdle;
  policy::Principal principal;
  guard::AccountProfile profile;
  size_t structure = 0;  // index into World::network().structures
};

// Per person: what the traffic needs (relations come from the index).
struct SimPerson {
  StructureId referent;
  AccountId counsellor;   // 0 = none
  uint32_t nom = 0;       // interned, ASCII-folded lower-case surname
  int32_t birth_days = 0; // date of birth, days since the epoch
  uint32_t postcode = 0;  // numeric postcode (e.g. 67000), 0 if absent
  bool honeytoken = false;
};

struct SimOrientation {
  PersonId person;
  OrientationStatus status = OrientationStatus::kProposed;
  int32_t proposed_days = 0;
};

class World {
 public:
  // Generates the network, the people, the technical accounts and the
  // honeytokens for `options` (deterministic for options.seed).
  static StatusOr<std::unique_ptr<World>> Generate(const TrafficOptions& options);
  // A world over an existing store (the demo's): network and relations are
  // read from `store` (nothing is decrypted; searches then match only the
  // person looked for), no honeytokens, no technical accounts. `index` is
  // the store's relation index and must outlive the World.
  static StatusOr<std::unique_ptr<World>> FromStore(store::Store& store, const policy::RelationIndex& index,
                                                    const TrafficOptions& options);

  const TrafficOptions& options() const { return options_; }
  const Network& network() const { return network_; }
  const policy::RelationIndex& index() const { return *index_; }
  const std::vector<SimAccount>& accounts() const { return accounts_; }
  int64_t human_agents() const { return human_agents_; }
  int64_t technical_accounts() const { return static_cast<int64_t>(accounts_.size()) - human_agents_; }
  const std::vector<SimPerson>& persons() const { return persons_; }  // by person id (slot 0 unused)
  const std::vector<PersonId>& honeytokens() const { return honeytokens_; }
  const std::string& nom(uint32_t id) const { return noms_[id]; }
  // Real people followed by structure (by index), honeytokens excluded.
  const std::vector<PersonId>& followed(size_t structure) const { return followed_[structure]; }
  // Referent counsellor's caseload, by account index.
  const std::vector<PersonId>& caseload(size_t account) const { return caseloads_[account]; }
  // Orientations to the sessions of a training organisation (by structure index).
  const std::vector<SimOrientation>& candidates(size_t structure) const { return candidates_[structure]; }
  // Index of the structure with this id (ids are dense from 1).
  size_t StructureIndex(StructureId id) const { return static_cast<size_t>(id.value() - 1); }
  std::optional<size_t> AccountIndex(AccountId id) const;
  bool has_names() const { return has_names_; }

 private:
  World() = default;
  Status Finish();  // caseloads, followed lists, account profiles

  TrafficOptions options_;
  Network network_;
  std::unique_ptr<policy::RelationIndex> owned_index_;
  const policy::RelationIndex* index_ = nullptr;
  std::vector<SimAccount> accounts_;
  int64_t human_agents_ = 0;
  std::vector<SimPerson> persons_;
  std::vector<PersonId> honeytokens_;
  std::vector<std::string> noms_;
  std::vector<std::vector<PersonId>> followed_;
  std::vector<std::vector<PersonId>> caseloads_;
  std::vector<std::vector<SimOrientation>> candidates_;
  std::vector<std::pair<AccountId, size_t>> account_by_id_;  // sorted
  bool has_names_ = true;
};

struct ScenarioResult {
  std::string name;
  std::string description;
  int64_t records_released = 0;   // distinct people read (Gate::Read kOk) by the attacker's accounts
  int64_t people_listed = 0;      // distinct people shown to them in listing/search pages
  bool contained = false;
  double seconds_to_containment = 0;  // not contained: the attack's duration
  int64_t alerts = 0;             // guard alerts (>= kAlert) on the attacker's accounts
  int64_t reach = 0;              // distinct people the attacker's accounts could reach for its purpose
  int64_t attempts = 0;           // accesses the attacker tried
  int64_t refusals = 0;
  int64_t attacker_accounts = 0;
  int64_t suspended_accounts = 0;  // of the attacker's
  double seconds_to_first_alert = -1;  // -1: none
  std::string first_alert;         // the first alert's explanation
  std::vector<std::string> signals;  // signals that fired on the attacker's accounts
  int64_t other_accounts_suspended = 0;  // collateral: non-attacker accounts suspended during the run
  std::string attacker_structure;  // code
  int day = 0;                     // the day it started (a scenario day past the run's end: the last day)
};

struct NormalResult {
  int64_t agents = 0;              // human agents
  int64_t technical_accounts = 0;
  int days = 0;
  int64_t agent_days = 0;          // (agents + technical accounts) x days
  int64_t accesses = 0;            // Gate calls
  int64_t reads = 0, pages = 0;
  int64_t denied = 0, quota_refusals = 0, throttled = 0, step_ups = 0;
  int64_t false_alerts = 0;        // alerts >= kAlert on normal accounts
  int64_t false_alert_account_days = 0;
  double false_alerts_per_1000_agent_days = 0;
  int64_t false_suspensions = 0;   // normal accounts suspended
  int64_t honeytoken_touches = 0;  // normal accesses that included a honeytoken (must be 0)
  uint64_t trace_hash = 0;         // hash of every access executed (determinism)
  std::vector<std::string> sample_alerts;  // a few false alerts' explanations
};

class Simulator {
 public:
  // `policy_text` is the policy's TOML (for scenarios' policy_append);
  // `policy_source` its name in messages.
  Simulator(const World& world, const policy::Policy& policy, std::string policy_text, std::string policy_source,
            const guard::GuardConfig& guard_config);

  // Normal traffic over options.days, no attack.
  StatusOr<NormalResult> RunNormal();
  // Normal traffic up to the end of the attack, with the attack mixed in.
  // InvalidArgument when the scenario cannot apply (no account fits, bad
  // policy_append, unknown purpose), naming the scenario file.
  StatusOr<ScenarioResult> RunScenario(const Scenario& scenario);

 private:
  const World& world_;
  const policy::Policy& policy_;
  std::string policy_text_, policy_source_;
  guard::GuardConfig guard_config_;
};

// Feeds `guard` with `days` days of normal history ending at `end` (UTC
// micros, exclusive), through Guard::Observe (no scoring, no alerts, as if
// replaying an audit log), so that a fresh demo server has baselines. The
// world is read from `store` and its relation `index` (World::FromStore:
// nothing is decrypted). Registers every agent of the store with the guard
// (AccountProfile from the network; callers may re-register theirs after).
// Accesses the policy would deny are observed as kDenied. Deterministic for
// `seed`; about a second per 100 agents x 30 days.
Status SeedHistory(store::Store& store, const policy::RelationIndex& index, const policy::Policy& policy,
                   guard::Guard& guard, int days, uint64_t seed, UnixMicros end);

}  // namespace cloison::sim
