// Exposure analysis: for every account, how many people (and which field
// categories) it can reach today — directly, and through what it could
// create, grant or approve — ranked by blast radius. The answer to "if this
// account were stolen, who would walk out with what?" (docs/exposure.md).
//
//   std::vector<AccountInput> accounts = ...;  // iam accounts + store agents
//   Options o; o.now = clock.NowMicros(); o.today = Date::FromUnixMicros...;
//   StatusOr<Report> r = Analyse(policy, index, accounts, o);
//
// Reach is never decided person by person (1.6M people x 5,000 accounts would
// be 8 billion decisions). The people behind each relation are aggregated
// once from the RelationIndex — people followed per structure, per subtree
// (bottom-up, each person once), per referent counsellor, active
// orientations per training organisation as of `today` — and an account's
// reach is the exact size of the union of the sets its applicable rules
// name (a person reachable through two rules or two structures counts once).
//
// Which rules apply mirrors policy::Engine::Decide's candidate test (role or
// technical purpose, structure kind, probation ⇒ `referent` only,
// allowed_on_probation); tests/exposure checks the counts against Decide
// itself on a small network.
//
// Privilege paths follow iam's rules (src/iam/service.h): an access manager
// manages its own structure, a security officer its own and every structure
// below; a plain counsellor is created alone (in probation: referent-only,
// empty caseload ⇒ reaches nobody); everything else — technical accounts,
// role grants, bulk exports — needs an independent security officer strictly
// above the structure concerned, so it is "with one approver", never alone.
//
// Thread-safety: Analyse reads the index under its shared lock (walks) and
// holds nothing afterwards; it may run while the index is being updated
// (the report is then a snapshot of each walk, not of one instant).
// Failure: InvalidArgument for an index too large for the analysis (person
// ids are bounded by RelationIndex::kMaxDenseId, so in practice never).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/date.h"
#include "core/domain.h"
#include "core/status.h"
#include "exposure/usage.h"
#include "iam/account.h"
#include "policy/policy.h"
#include "policy/relation_index.h"

namespace cloison::exposure {

// One account to analyse.
struct AccountInput {
  iam::Account account;
  // True for a store agent that has no iam account yet: it is treated as an
  // active human account, out of probation, with the agent's roles (what it
  // will be once imported with `cloison account import-agents`).
  bool directory_only = false;
};

struct Options {
  UnixMicros now = 0;  // probation, technical-account expiry
  Date today;          // orientation validity windows (whole days)
  // What each account read over a window (usage.h; built from the audit
  // log). nullptr: no audit data, every account's usage is unknown.
  const Usage* usage = nullptr;
};

// The reach one policy rule gives an account.
struct RuleReach {
  std::string rule;     // rule id
  std::string purpose;  // purpose name
  policy::Relation relation = policy::Relation::kFollowed;
  int64_t people = 0;
  bool second_approver = false;  // break-glass / dual-control purpose
};

enum class PathKind {
  kCreateCounsellor,  // alone: a plain counsellor, in probation
  kCreateTechnical,   // request: a technical account (integration purpose)
  kGrantRole,         // request: a reading role granted to itself
  kBulkExport,        // request: approval is the grant (no exporter bounds it yet)
  kApprove,           // a security officer approving a colluding requester below
};
std::string_view PathKindName(PathKind k);  // "create_counsellor", ...

struct PrivilegePath {
  PathKind kind = PathKind::kCreateCounsellor;
  std::string what;      // "create a plain counsellor in ML-67-003"
  bool alone = false;    // completes without any other account
  // Who else must act (empty when alone): "security officer at DR-GE (so.grandest)".
  std::string needs;
  int64_t people = 0;    // reach once the path is completed, today
  // Alone paths: reach once the created account's probation ends (if nobody
  // notices "accounts created by X" before). 0 otherwise.
  int64_t people_after_probation = 0;
};

struct AccountExposure {
  AccountId account;
  std::string username;
  iam::AccountKind kind = iam::AccountKind::kHuman;
  iam::AccountStatus status = iam::AccountStatus::kActive;
  bool probation = false;
  bool can_authenticate = false;  // active (and, technical, not expired)
  bool directory_only = false;
  StructureId structure;
  std::string structure_code;
  std::vector<Role> roles;

  // Direct: people its applicable rules reach today (non-aggregate purposes,
  // without a second approver), and the categories those rules release
  // ("identity", "contact", "pathway", "nir (reveal-only)").
  int64_t direct_people = 0;
  std::vector<std::string> categories;
  // Break-glass / dual-control purposes: reachable only with a second
  // account's approval of each read.
  int64_t second_approver_people = 0;
  std::vector<RuleReach> rules;  // per applicable rule, people > 0 or not

  // Indirect, alone: through privilege paths it completes by itself.
  int64_t indirect_alone_people = 0;
  int64_t indirect_alone_after_probation_people = 0;
  // With one colluding account (an approver for its requests, or for a
  // security officer a requester below it): the union of those paths.
  int64_t with_one_approver_people = 0;
  std::string with_one_approver;  // who must collude, for the largest path
  std::vector<PrivilegePath> paths;

  // Used over the window (Options::usage; usage.h says what counts), nullopt
  // = unknown (no audit data, or a store agent not imported into iam, which
  // cannot have logged in).
  std::optional<int64_t> used_people;
  // Shown to it in listing / search pages and never opened (set with
  // used_people).
  std::optional<int64_t> listed_people;
  // Of used_people, how many are outside today's reach (direct and
  // second-approver): orientations ended, follow-ups moved. Set when the
  // usage carries the people themselves (Usage::opened).
  std::optional<int64_t> used_outside_reach_people;
  // Least privilege: how many people the narrowest sufficient access would
  // take out of its direct reach, and how. With usage: direct reach minus
  // the people it actually opened that are still in it.
  int64_t narrowing_people = 0;
  std::string narrowing;

  // Ranking key: people reachable alone (direct ∪ indirect alone).
  int64_t blast_radius = 0;
};

struct Report {
  Date today;
  int64_t people_total = 0;  // people in the relation index
  std::string usage_window;  // empty: no audit data
  // Ranked: blast radius, then with one approver, then second approver,
  // then username (all descending but the name).
  std::vector<AccountExposure> accounts;
};

StatusOr<Report> Analyse(const policy::Policy& policy, const policy::RelationIndex& index,
                         const std::vector<AccountInput>& accounts, const Options& options);

}  // namespace cloison::exposure
