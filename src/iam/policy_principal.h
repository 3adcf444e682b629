// The glue between authentication and authorisation: what iam knows about an
// authenticated caller, converted to what the policy engine decides on.
//
//   StatusOr<iam::Principal> who = iam.Authenticate(token);
//   policy::Principal p = iam::ToPolicyPrincipal(*who);
//   policy::Decision d = engine.Decide(p, person, purpose, today);
//
// iam depends on policy (never the reverse: the policy does not look accounts
// up). The conversion is total and allocation-light (copies the role list and
// the purpose name); call it once per session or per request.
#pragma once

#include "core/clock.h"
#include "iam/account.h"
#include "iam/service.h"
#include "policy/principal.h"

namespace cloison::iam {

// An authenticated caller as the policy sees it:
//  - human accounts keep their roles; technical accounts get no roles (the
//    policy ignores them anyway) and hold their one integration purpose (an
//    empty purpose: none, so the account reads nothing);
//  - `probation` is iam's in_probation, fixed when the principal was made
//    (Authenticate re-evaluates it on every request).
policy::Principal ToPolicyPrincipal(const Principal& who);

// The same for an account that is not logged in, as of `now` (analyses such
// as the exposure report reason about what an account *could* read). The
// account's status is not looked at: the caller decides whether a pending,
// suspended or rejected account counts (it cannot authenticate, so it reads
// nothing).
policy::Principal ToPolicyPrincipal(const Account& account, UnixMicros now);

}  // namespace cloison::iam
