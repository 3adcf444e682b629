// Dual control: every privileged act is a change request that records who
// asked, why, and exactly what changes (ChangeSpec), and takes effect only
// when a *different, independent* security officer at the parent level of the
// structure concerned approves it before it expires. Every step (created,
// approved, rejected, expired, cancelled, approval refused) is an event row.
//
// The approval rules live in IamService::Approve (service.h); this header is
// the data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/domain.h"
#include "core/ids.h"
#include "core/status.h"

namespace cloison::iam {

using ChangeRequestId = int64_t;

enum class ChangeKind {
  kCreateTechnicalAccount,  // the account exists in status pending until approval
  kCreatePrivilegedAccount, // a human account with any role beyond plain counsellor
  kReenableAccount,         // suspended -> active; technical: also a new expiry
  kGrantRole,
  kWidenTechnicalAccess,    // new scopes / networks that are not a narrowing
  kRaiseQuota,
  kResetMfa,                // removes TOTP and recovery codes, revokes sessions
  kBulkExport,              // approval is the grant; the exporter checks it
  kBreakGlass,              // idem, for emergency access outside the usual relation
};
std::string_view ChangeKindName(ChangeKind k);  // "create_technical_account", ...
std::optional<ChangeKind> ParseChangeKind(std::string_view s);

// Exactly what changes. Fields not used by a kind stay empty.
struct ChangeSpec {
  ChangeKind kind = ChangeKind::kGrantRole;
  AccountId target;       // account concerned (0 for bulk export / break-glass)
  StructureId structure;  // structure concerned: approvers sit at its parent level
  std::string username;   // create: the new account's username
  std::vector<Role> roles;                 // create privileged: all roles; grant: the role
  std::string purpose;                     // create technical
  std::vector<std::string> scopes;         // create technical / widen: the complete new list
  std::vector<std::string> networks;       // create technical / widen: the complete new list
  std::optional<UnixMicros> expires_at;    // create technical / reenable technical
  std::optional<int64_t> quota;            // raise quota / create technical
  std::string subject;                     // bulk export / break-glass: what is to be read

  std::string ToJson() const;
  static StatusOr<ChangeSpec> FromJson(std::string_view json);
  // One line for humans, e.g. "grant role security_officer to account 42".
  std::string Describe() const;
};

enum class RequestStatus { kPending, kApproved, kRejected, kExpired, kCancelled };
std::string_view RequestStatusName(RequestStatus s);
std::optional<RequestStatus> ParseRequestStatus(std::string_view s);

struct ChangeRequest {
  ChangeRequestId id = 0;
  ChangeSpec spec;
  AccountId requester;
  std::string reason;  // why, in the requester's words (mandatory)
  UnixMicros created_at = 0;
  UnixMicros expires_at = 0;  // pending past this instant = expired
  RequestStatus status = RequestStatus::kPending;
  std::optional<AccountId> decided_by;
  UnixMicros decided_at = 0;
  std::string decision_note;
};

// One step in a request's life, in order.
struct RequestEvent {
  ChangeRequestId request = 0;
  UnixMicros at = 0;
  std::optional<AccountId> actor;
  std::string event;   // "created", "approved", "rejected", "expired", "cancelled", "approval_refused"
  std::string detail;  // e.g. the refusal reason
};

}  // namespace cloison::iam
