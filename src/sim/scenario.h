// Attack scenarios for the traffic simulator: TOML files (scenarios/*.toml,
// format in docs/simulation.md) that say who the attacker is, when it starts,
// how it finds and reads people, how fast, and when it stops.
//
//   name = "partner-night-extraction"
//   policy_append = '''...'''        # optional TOML appended to the policy in force
//   [attacker]  account = "existing" | "created", role, structure_kind, accounts, pick, ...
//   [attacker.created]  creator_role, approver_role, technical, integration_purpose, ...
//   [when]      day = 15, time = "23:10"  (local time of the attacker's structure)
//   [method]    enumerate = "listing" | "search" | "ids" | "known", purpose, rate_per_minute, ...
//   [stop]      max_people, max_hours, give_up_after_refusals
//
// Errors name the file, the line and the problem
// ("scenarios/x.toml:12: [method] 'rate_per_minute' must be a number > 0"),
// and unknown keys are errors (a typo must not silently change an attack).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "core/status.h"

namespace cloison::sim {

// How the attacker finds the people it reads.
enum class Enumeration {
  kListing,  // pages through a bulk listing of everything its account reaches
  kSearch,   // sweeps a search field (postcode, name prefix, birth date), page by page
  kIds,      // tries person ids in order (most are refused: probing)
  kKnown,    // already holds the ids (e.g. from an earlier export) and reads them
};
std::string_view EnumerationName(Enumeration e);

enum class SearchField { kPostcode, kNamePrefix, kBirthDate };
std::string_view SearchFieldName(SearchField f);

enum class Schedule {
  kBurst,         // continuously at rate_per_minute from the start
  kWorkingHours,  // only during its structure's opening hours on working days
};

struct Scenario {
  std::string name;
  std::string description;
  std::string source;         // file it came from (for messages)
  std::string policy_append;  // TOML appended to the policy in force ("" = none)
  int policy_append_line = 0; // line of policy_append in the file

  // --- Attacker.
  bool created = false;  // false: existing accounts; true: accounts created for the attack
  // existing: the accounts' role and structure kind; created: the creator's
  // structure kind (the accounts are created in the creator's structure).
  Role role = Role::kCounsellor;
  StructureKind structure_kind = StructureKind::kMissionLocale;
  int accounts = 1;           // how many accounts the attacker controls
  bool pick_widest = true;    // existing: the structure/accounts reaching the most people (else seeded random)
  bool passes_step_up = false;  // holds the TOTP too (real-time phishing relay)
  std::string address = "203.0.113.66";  // where the attacker connects from
  // created:
  Role creator_role = Role::kAccessManager;
  Role approver_role = Role::kSecurityOfficer;  // at the parent level (the regional direction)
  bool technical = true;
  std::string integration_purpose;  // technical accounts: the purpose they are granted
  std::vector<Role> created_roles;  // human accounts: their roles
  bool probation = false;           // human accounts: iam puts them in probation at activation
  int created_minutes_before = 10;

  // --- When (relative to the simulation's first day; local time).
  int day = 0;
  int minute = 0;

  // --- Method.
  Enumeration enumerate = Enumeration::kKnown;
  SearchField search = SearchField::kPostcode;
  std::string purpose = "accompaniment";
  double rate_per_minute = 10;  // per account
  Schedule schedule = Schedule::kBurst;
  int per_day = 0;              // working_hours: at most this many reads per account and day (0 = no cap)
  int page_size = 0;            // 0: the policy's page size for the role
  bool read = true;             // read each person found (false: only the pages)

  // --- Stop.
  int64_t max_people = 0;       // stop once this many distinct people were released (0 = all reachable)
  double max_hours = 24;        // stop this long after the first malicious access
  int give_up_after_refusals = 30;  // an account gives up after this many refusals in a row
};

// Parses one scenario; `source_name` prefixes every error.
StatusOr<Scenario> ParseScenario(std::string_view toml_text, std::string_view source_name);
StatusOr<Scenario> LoadScenarioFile(const std::string& path);  // NotFound if unreadable

// The scenarios shipped in scenarios/*.toml, compiled in (file name, text),
// in file-name order.
struct ScenarioText {
  std::string_view file;
  std::string_view text;
};
const std::vector<ScenarioText>& BuiltinScenarios();

}  // namespace cloison::sim
