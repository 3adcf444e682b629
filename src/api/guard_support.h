// What the server needs around guard::Guard that is neither the guard's nor
// the read path's: the guard's view of an iam account (AccountProfile), the
// iam side of a guard suspension (AccountControl), and the way back from an
// audit entry written by the API to the access the guard saw (to replay the
// log after a restart). docs/guard.md, "In the server".
//
// Thread-safety: the free functions are pure; IamAccountControl may be
// called from any thread (it takes the iam mutex it is given).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

#include "access/gate.h"
#include "audit/event.h"
#include "core/clock.h"
#include "core/domain.h"
#include "guard/guard.h"
#include "iam/account.h"
#include "iam/service.h"

namespace cloison::api {

// The guard's profile of `account`: technical or not, structure (id, kind,
// time zone, opening hours from `structure`; null: the structure is unknown
// and the defaults stand, kind agency), roles, creation time, probation at
// `now`, creator and approver.
guard::AccountProfile GuardProfile(const iam::Account& account, const Structure* structure, UnixMicros now);

// Applies the guard's suspensions through iam: IamService::SuspendByGuard
// (status suspended, every session revoked, the API key refused from the
// next request on; iam's event sink writes the account_suspended event to
// the audit log). `iam_mutex` must be the one that serialises every other
// call into `iam` (HandlerDeps::iam_mutex). Suspend never throws; a failing
// suspension (database down) is counted in failures() and retried by the
// next access, which the guard refuses in the meantime anyway (it keeps the
// account suspended until Clear).
class IamAccountControl final : public access::AccountControl {
 public:
  IamAccountControl(iam::IamService& iam, std::mutex& iam_mutex) : iam_(iam), mu_(iam_mutex) {}
  void Suspend(AccountId account, std::string_view reason) override;
  int64_t failures() const;

 private:
  iam::IamService& iam_;
  std::mutex& mu_;
  int64_t failures_ = 0;  // under mu_
};

// The access the guard scored for an audit entry written by the API's read
// path (api::Handler through access::Gate), or nullopt for an entry that was
// not one (iam events, guard actions, writes, quota refusals):
//   read  + decision "allow", details.kind "list"/"search" -> kList/kSearch
//           (persons = the page, query = details.query — the keyed digest
//           form "cp:#<16 hex>" for searches —, page = numbers.page - 1, or
//           details.page - 1 in entries written before audit format 2)
//   read  + decision "allow", otherwise -> kRead, or kReveal with details.reveal
//   denial without details.action (the Gate's policy denial) -> kDenied
// The returned Access views into `e`, which must outlive it. Accesses the
// guard refused leave only a guard_action entry without the people, so they
// are not replayed.
std::optional<guard::Access> GuardAccessOf(const audit::Event& e);

// "2025-10-09", "2025-10-09T12:00:00Z", "2025-10-09T12:00Z",
// "2025-10-09T14:00:00+02:00" -> Unix microseconds (a bare date is midnight
// UTC). nullopt for anything else, an impossible date or time.
std::optional<UnixMicros> ParseIsoTime(std::string_view s);

}  // namespace cloison::api
