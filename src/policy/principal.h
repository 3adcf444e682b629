// Who is asking: the account behind a request, as the policy sees it.
//
// iam authenticates an account and fills a Principal; the policy never looks
// an account up itself (policy does not depend on iam, and a decision must not
// touch the store). A Principal is a plain value: build one per request, or
// keep one per session and share it read-only between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "core/ids.h"

namespace cloison::policy {

enum class AccountKind {
  kHuman,      // an agent of a structure; rules match it through its roles
  kTechnical,  // an information system (e.g. a training organisation's); rules
               // match it only through `account_kind = "technical"` rules whose
               // purpose it holds in `integration_purposes`
};
std::string_view AccountKindName(AccountKind k);  // "human" | "technical"

struct Principal {
  AccountId account;
  AccountKind kind = AccountKind::kHuman;
  // Core roles. Ignored for technical accounts: a technical account reads only
  // through integration rules, whatever roles it was given.
  std::vector<Role> roles;
  // The account's structure. Every relation is evaluated from it.
  StructureId structure;
  // Technical accounts only: the names of the integration purposes (policy
  // [purpose.X] with integration = true) this account was granted. A technical
  // account with none reads nothing.
  std::vector<std::string> integration_purposes;
  // A newly created or recently reactivated account, not yet trusted: it
  // reads only through rules whose relation is `referent` (the people
  // explicitly assigned to it as referent counsellor), never structure-wide
  // (`followed`), through orientations or break-glass; no reveal (NIR); no
  // purpose marked allowed_on_probation = false. So an account created alone
  // by an access manager reaches nobody until a counsellor assigns it people.
  bool probation = false;

  bool HasRole(Role r) const {
    for (Role x : roles)
      if (x == r) return true;
    return false;
  }
  bool HoldsIntegrationPurpose(std::string_view name) const {
    for (const std::string& p : integration_purposes)
      if (p == name) return true;
    return false;
  }
};

}  // namespace cloison::policy
