// Accounts: who may authenticate, in which structure, with which roles, and
// in which state. Human accounts share the AccountId space of the records
// store's `Agent`s (an imported agent keeps its id); technical accounts are
// integrations (API key, scopes, source networks, mandatory expiry).
//
// iam's `accounts` table is authoritative for status, credentials, creator
// and approver; the store's Agent is the directory view (names, structure)
// the relation indexes use. See docs/iam.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/domain.h"
#include "core/ids.h"

namespace cloison::iam {

enum class AccountKind { kHuman, kTechnical };
std::string_view AccountKindName(AccountKind k);  // "human", "technical"
std::optional<AccountKind> ParseAccountKind(std::string_view s);

// Lifecycle. Only kActive accounts authenticate.
//  kPending   created through a change request not yet approved (dual control);
//  kActive    usable (possibly in probation, see Account::InProbation);
//  kSuspended stopped by an access manager or security officer; its sessions
//             are revoked; coming back needs an approved reinstate request;
//  kRejected  its creation request was rejected or expired: never usable.
enum class AccountStatus { kPending, kActive, kSuspended, kRejected };
std::string_view AccountStatusName(AccountStatus s);  // "pending", "active", ...
std::optional<AccountStatus> ParseAccountStatus(std::string_view s);

// Roles whose holders must use TOTP and whose creation or grant needs dual
// control: access manager, security officer, DPO, auditor. (Counsellors and
// partner users may enrol in TOTP; it is then required for them too.)
bool IsPrivilegedRole(Role r);
bool HasPrivilegedRole(const std::vector<Role>& roles);
// The role an approver of change requests must hold.
constexpr Role kApproverRole = Role::kSecurityOfficer;

// What an integration may do. Scopes are opaque names checked by the API and
// the policy (e.g. "orientations:write"); reading people additionally needs a
// policy rule naming `purpose`.
struct TechnicalProfile {
  std::string purpose;                // integration purpose, e.g. "ouiform-sync"
  std::vector<std::string> scopes;    // explicit, non-empty
  std::vector<std::string> networks;  // allowed source networks (CIDR), non-empty
  UnixMicros expires_at = 0;          // mandatory, at most 90 days after activation
};

struct Account {
  AccountId id;
  AccountKind kind = AccountKind::kHuman;
  StructureId structure;
  std::string username;      // unique login (human) or integration name (technical)
  std::string display_name;  // "Prénom Nom" or integration label
  std::vector<Role> roles;   // empty for technical accounts
  AccountStatus status = AccountStatus::kPending;

  UnixMicros created_at = 0;
  UnixMicros updated_at = 0;
  // While now < probation_until the account is in probation: low quota, and
  // it may not approve change requests. 0 = no probation.
  UnixMicros probation_until = 0;
  // Provenance, for dual control and for "accounts created by X" queries.
  // Empty created_by = created by setup (bootstrap or agent import).
  std::optional<AccountId> created_by;
  std::optional<AccountId> approved_by;       // approver of the last applied request on it
  std::optional<AccountId> last_modified_by;  // author (requester) of the last change

  int64_t daily_read_quota = 0;  // people files per day (enforced by the guard)
  bool must_change_password = false;
  TechnicalProfile technical;  // kind == kTechnical only

  bool HasRole(Role r) const;
  bool InProbation(UnixMicros now) const { return now < probation_until; }
  // TOTP is required for privileged roles (and for anyone who enrolled).
  bool RequiresMfa() const { return kind == AccountKind::kHuman && HasPrivilegedRole(roles); }
};

}  // namespace cloison::iam
