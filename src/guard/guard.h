// guard::Guard: inline detection and containment of data extraction.
//
// Every access that could release personal data (a read, a reveal, a search
// or listing page) and every denied attempt goes through Assess() *before*
// the data leave, on the request path, after the policy allowed it and before
// the audit entry is appended. The guard keeps per-account, per-peer-group
// (role x structure kind) and global state in sliding windows and answers
// with a Verdict: an Action (by severity, thresholds from the policy file's
// [guard] section), a score and an explanation in plain words such as
//   "read 412 distinct people in 10 minutes; its own 30-day p99 is 38 and its
//    peers' is 55; outside its structure's opening hours; 37 of them never
//    read before by this account".
//
// The guard decides; it does not act. The caller (access::Gate) turns a
// kSuspend verdict into iam suspensions (the account and Verdict::also_suspend)
// and writes every non-kAllow verdict to the audit log with its explanation.
//
// Cold start: a fresh deployment has no history. Peer-group priors from the
// config stand in for an account's own baseline until it has
// `min_history_days` of history, so the first request is already protected.
//
// State survives restarts: SaveState()/LoadState() serialise everything the
// guard learnt (baselines, windows, seen sets, alerts, suspended/under-alert
// accounts); the server saves on shutdown and periodically, and on start
// replays the audit entries newer than the snapshot through Observe().
//
// Thread-safety: all methods may be called from any thread; Assess() takes a
// short per-shard lock. Time comes only from the Access records (and the
// Clock passed at creation for housekeeping), so tests and the simulator are
// deterministic.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/domain.h"
#include "core/ids.h"
#include "core/status.h"

namespace cloison::guard {

// By increasing severity. Each level implies the ones below (a kThrottle is
// also an alert and is recorded).
enum class Action {
  kAllow = 0,   // nothing unusual
  kRecord,      // unusual enough to keep in the audit log, no alert
  kAlert,       // a security officer should look
  kStepUp,      // require a fresh TOTP before continuing (humans with MFA)
  kThrottle,    // refuse this access (429), keep the account
  kSuspend,     // refuse, suspend the account and those it created/approved
};
std::string_view ActionName(Action a);  // "allow", "record", "alert", "step_up", "throttle", "suspend"
std::optional<Action> ParseAction(std::string_view s);

// What the guard knows about an account. The caller registers it (from iam
// and the store) before its first access, and again when it changes.
struct AccountProfile {
  AccountId account;
  bool technical = false;  // a technical (integration) account, not a person
  StructureId structure;
  StructureKind structure_kind = StructureKind::kAgency;
  std::vector<Role> roles;  // peer group: first role (or "technical") x structure kind
  UnixMicros created_at = 0;
  bool probation = false;
  std::optional<AccountId> created_by;
  std::optional<AccountId> approved_by;
  // The structure's local time zone (IANA name) and opening hours, for the
  // off-hours signal.
  std::string time_zone = "Europe/Paris";
  OpeningHours hours;
};

enum class AccessKind {
  kRead,     // one person's record for a purpose
  kReveal,   // a sensitive field with a justification
  kSearch,   // a search page: `persons` are the results released
  kList,     // a caseload / candidates listing page
  kDenied,   // the policy refused (probing out-of-scope ids)
};
std::string_view AccessKindName(AccessKind k);

struct Access {
  UnixMicros time = 0;
  AccountId account;
  AccessKind kind = AccessKind::kRead;
  std::string_view source;             // client network address ("" if unknown)
  std::span<const PersonId> persons;   // people whose data this access releases (or tried to)
  std::string_view query;              // search: the normalised query, e.g. "nom:dup", "cp:67000", "dn:2004-05-01"
  int64_t page = 0;                    // search/list: 0-based page number
  // The caller proved a fresh second factor (TOTP step-up) for this session:
  // a kStepUp verdict is then satisfied and is not a refusal (see
  // GuardConfig::refusal_episodes_to_suspend).
  bool step_up_done = false;
  // read/reveal: the person's referent counsellor (invalid: none or
  // unknown). Reading files of many different colleagues' caseloads is the
  // "spread" signal.
  AccountId referent;
};

struct Verdict {
  Action action = Action::kAllow;
  double score = 0;          // 0 = ordinary; thresholds in GuardConfig
  std::string explanation;   // plain words; empty when kAllow
  std::vector<std::string> signals;  // names of the signals that fired, e.g. "volume", "off_hours", "honeytoken"
  // kSuspend: other accounts to suspend with this one (created or approved by
  // it recently).
  std::vector<AccountId> also_suspend;
};

// One alert (a verdict >= kAlert). Repeated verdicts of the same action for
// the same account within one window are folded into the first alert
// (`repeats`, `last_time`, and the highest score with its explanation), so a
// throttled or suspended account hammering the API makes one alert, not
// thousands.
struct Alert {
  uint64_t id = 0;
  UnixMicros time = 0;
  AccountId account;
  Action action = Action::kAlert;
  double score = 0;
  std::string explanation;
  std::vector<std::string> signals;
  uint64_t repeats = 0;        // further verdicts folded into this alert
  UnixMicros last_time = 0;    // time of the latest folded verdict (== time if none)
};

// Thresholds, weights and priors; parsed from the [guard] section of the
// policy file (every key is documented in config/policy.toml and
// docs/guard.md), defaults compiled in from config/policy.toml. The member
// defaults below equal the shipped config, so a policy file without [guard]
// behaves like the default one.
//
// Scoring in one line (details in docs/guard.md):
//   score = (sum of behaviour points) x context multiplier + context points
// behaviour: volume, novelty, off_hours, denied, sequential_ids, paging,
// search_sweep, new_network; context: new account, probation, new technical
// account, creator/approver under alert. A honeytoken forces kSuspend.
struct GuardConfig {
  // Score at or above which each action applies.
  double record_at = 1.5, alert_at = 4, step_up_at = 6, throttle_at = 8, suspend_at = 10;
  // Short window for volume/distinct people, and the baseline horizon.
  int64_t window_seconds = 600;  // a multiple of 60, 60..86400
  int baseline_days = 30;
  int min_history_days = 5;
  // An account's own p99 is trusted only with min_history_days of history
  // and at least this many active windows; before that the peer reference
  // (observed or prior) stands alone.
  int min_history_windows = 20;
  // A peer group's observed p99 replaces its prior once the group has this
  // many active windows over at least min_history_days.
  int peer_min_windows = 500;
  // How far back "created or approved recently" reaches for suspension.
  int64_t related_accounts_seconds = 14 * 86'400;
  // How long a verdict >= kAlert keeps an account "under alert" (a
  // suspension keeps it until Clear()).
  int64_t under_alert_seconds = 7 * 86'400;
  // Escalation. A refusal (kThrottle, or kStepUp without a fresh TOTP)
  // pauses the account; an account that resumes after a pause and is
  // refused again starts a new "refusal episode". The
  // refusal_episodes_to_suspend-th episode within escalation_seconds is a
  // kSuspend (signal "repeat"): pacing an extraction around the throttle
  // does not work. 0 disables.
  int refusal_episodes_to_suspend = 2;
  int64_t escalation_seconds = 86'400;

  // --- Volume: distinct people read in the sliding window vs the reference
  // max(own p99, peer p99 or prior, min_reference); points =
  // volume_weight * log2(distinct / reference) above the reference.
  double min_reference = 8;
  double volume_weight = 3;
  // Accesses (not distinct) are compared with reference * volume_factor.
  double volume_factor = 4;
  // People released by search results and listings are counted apart and
  // compared with reference * list_ratio (a caseload page of 50 names is
  // ordinary; 50 full records in 10 minutes is not).
  double list_ratio = 5;
  // ... but never below this many listed people (listing one's whole
  // caseload in a few pages is ordinary work).
  double list_min_reference = 160;
  // --- Novelty: people never read before by this account (only once the
  // account has min_history_days of history).
  double novelty_weight = 3;
  int novelty_min_people = 5;     // fewer new people in the window: no points
  int novelty_full_people = 20;   // full weight from this many new people
  // --- Off-hours by the structure's time zone and opening hours.
  double off_hours_weight = 1.5;
  double night_weight = 1;        // added between night_start_hour and night_end_hour local
  int night_start_hour = 22, night_end_hour = 6;
  // --- Denied attempts (probing out-of-scope ids) in the window.
  double denied_weight = 2.5;
  int denied_free = 2;
  // --- Enumeration.
  double sequential_weight = 2.5;  // person ids within sequential_max_gap of the previous one
  int sequential_free = 3;
  int sequential_max_gap = 2;
  double paging_weight = 2.5;      // consecutive page numbers of the same query/listing
  int paging_free = 4;
  double search_weight = 2.5;      // distinct search queries of one kind (nom:, cp:, dn:) in the window
  int search_free = 10;
  // --- Spread: distinct colleagues (referent counsellors other than the
  // account) whose caseloads the account read files from over
  // spread_window_seconds, against max(spread_free, its own p99 of that
  // daily figure once it has min_history_days of history). Counsellors work
  // their own caseload; covering for a colleague or taking over a departing
  // one's caseload touches one or two others, an extraction touches them all.
  int64_t spread_window_seconds = 86'400;
  int spread_free = 5;
  double spread_weight = 4;  // points = spread_weight x log2(colleagues / reference) above it
  // --- New source network (IPv4 /24, IPv6 /48) for this account; the first
  // network ever seen is not new. Fires during new_network_seconds after the
  // network was first seen.
  double new_network_weight = 1.5;
  int64_t new_network_seconds = 3600;
  // --- Context: multipliers on the behaviour points (their product is
  // capped at max_multiplier) and additive points.
  int new_account_days = 14;
  double new_account_multiplier = 1.5;
  double probation_multiplier = 1.5;
  int technical_new_days = 30;
  double technical_new_multiplier = 2;
  // Reference (distinct people per window) for a technical account younger
  // than technical_new_days that has no baseline of its own yet, instead of
  // its peers': an integration has no reason to read many people one by one
  // in its first days (an initial load is an approved bulk export).
  double new_technical_reference = 5;
  double creator_under_alert_multiplier = 2;
  double creator_under_alert_points = 2;
  double max_multiplier = 4;
  // --- Memory bounds per account.
  int max_seen_people = 4096;  // people remembered for novelty/distinct counting
  int max_networks = 32;       // networks remembered per account

  // Per peer group, the prior p99 of distinct people per window (cold start).
  // Key "role:structure_kind" or "technical:structure_kind"; "*" = fallback.
  std::vector<std::pair<std::string, double>> peer_priors;

  // Parses the [guard] table (and [guard.peer_prior]) of a policy file.
  // A file without [guard] yields the defaults. Errors are InvalidArgument
  // "SOURCE:LINE: guard.KEY must be ...".
  static StatusOr<GuardConfig> FromPolicyText(std::string_view toml, std::string_view source_name);
  static const GuardConfig& Default();  // from the compiled-in config/policy.toml
};

class Guard {
 public:
  static std::unique_ptr<Guard> Create(GuardConfig config, const Clock& clock);
  virtual ~Guard() = default;

  virtual void RegisterAccount(const AccountProfile& profile) = 0;
  // Decoy people planted where only enumeration or bulk listing finds them;
  // reading or revealing one, or a listing page that shows one, is a
  // kSuspend (a search result showing one is not: a search by birth date
  // may show it to anybody; nor is a denied attempt at its id).
  virtual void AddHoneytoken(PersonId person) = 0;
  virtual bool IsHoneytoken(PersonId person) const = 0;

  // Scores an access and updates the state. Called before data leave.
  // The people of a refused access still count (they were attempted).
  // Technical accounts never get kStepUp (no second factor): kThrottle
  // instead. An account the guard suspended gets kSuspend (signal
  // "suspended") without scoring or state update until Clear(). The
  // explanation is built only from kRecord up; verdicts >= kAlert are added
  // to Alerts() and put the account under alert for under_alert_seconds.
  virtual Verdict Assess(const Access& access) = 0;
  // Updates the state without scoring (replaying the audit log on start).
  virtual void Observe(const Access& access) = 0;

  // Accounts the guard suspended or put under alert. An account under alert
  // makes the accounts it creates or approves suspicious. A verdict >=
  // kAlert on an account created less than related_accounts_seconds ago
  // also puts its creator and approver under alert ("by association"): the
  // other accounts they created or approved then score higher (the 2025
  // pattern: one compromised access manager, several new accounts).
  virtual bool UnderAlert(AccountId account) const = 0;
  virtual std::vector<Alert> Alerts(UnixMicros since = 0) const = 0;
  // After a reinstatement (dual control, in iam): clear the account's alert
  // state so its next access is scored afresh.
  virtual void Clear(AccountId account) = 0;

  virtual Status SaveState(std::string* out) const = 0;
  virtual Status LoadState(std::string_view in) = 0;  // Corruption on bad input
};

}  // namespace cloison::guard
