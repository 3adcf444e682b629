#include "iam/account.h"

#include <algorithm>

namespace cloison::iam {

std::string_view AccountKindName(AccountKind k) { return k == AccountKind::kHuman ? "human" : "technical"; }

std::optional<AccountKind> ParseAccountKind(std::string_view s) {
  if (s == "human") return AccountKind::kHuman;
  if (s == "technical") return AccountKind::kTechnical;
  return std::nullopt;
}

std::string_view AccountStatusName(AccountStatus s) {
  switch (s) {
    case AccountStatus::kPending: return "pending";
    case AccountStatus::kActive: return "active";
    case AccountStatus::kSuspended: return "suspended";
    case AccountStatus::kRejected: return "rejected";
  }
  return "unknown";
}

std::optional<AccountStatus> ParseAccountStatus(std::string_view s) {
  for (auto st : {AccountStatus::kPending, AccountStatus::kActive, AccountStatus::kSuspended, AccountStatus::kRejected})
    if (AccountStatusName(st) == s) return st;
  return std::nullopt;
}

bool IsPrivilegedRole(Role r) {
  switch (r) {
    case Role::kAccessManager:
    case Role::kSecurityOfficer:
    case Role::kDpo:
    case Role::kAuditor: return true;
    case Role::kCounsellor:
    case Role::kPartnerUser: return false;
  }
  return true;
}

bool HasPrivilegedRole(const std::vector<Role>& roles) {
  return std::any_of(roles.begin(), roles.end(), IsPrivilegedRole);
}

bool Account::HasRole(Role r) const { return std::find(roles.begin(), roles.end(), r) != roles.end(); }

}  // namespace cloison::iam
