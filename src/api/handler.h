// api::Handler: the whole HTTP API as a function from a parsed Request to a
// Response, with no networking (server.h is the thin Beast layer over it), so
// every route, limit and error is testable without sockets.
//
// Every people read runs the same path, in this order:
//   authenticate (session token or API key; iam refuses a suspended, expired
//   or out-of-network account) -> access::Gate (access/gate.h): policy
//   decision (deny: 403 + audit denial) -> per-account quota (429 + audit) ->
//   guard (throttle 429, step-up 401, suspend 403; audited with its
//   explanation) -> durable audit append of the read -> store read decrypting
//   only the released fields -> response.
// Nothing personal is read from the store before its audit entry is durable;
// if the append fails the answer is 503 and nothing is read.
//
// Errors: every answer that is not 2xx has the body
// {"error":{"code":"...","message":"..."}} (http.h). Bad input of any kind
// is a 4xx; the Handler catches every exception at its boundary, so even a
// bug answers 500 "internal" rather than unwinding into the server.
//
// Thread-safety: Handle() may be called from any number of threads. The
// store and the IamService are not thread-safe, so calls into each are
// serialised by a mutex held by the Handler; the audit log, the policy, the
// relation index, metrics and quotas are thread-safe themselves.
// Ownership: the Handler holds references to everything in HandlerDeps,
// which must outlive it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "access/gate.h"
#include "access/quota.h"
#include "audit/log.h"
#include "core/clock.h"
#include "iam/repository.h"
#include "iam/service.h"
#include "policy/engine.h"
#include "policy/policy.h"
#include "policy/relation_index.h"
#include "store/store.h"

namespace cloison::api {

using access::QuotaLimits;
using access::QuotaTracker;
using access::QuotaVerdict;

struct HandlerDeps {
  store::Store* store = nullptr;
  iam::IamService* iam = nullptr;
  const policy::Policy* policy = nullptr;
  // Kept current by the write endpoints (people created, orientations
  // proposed or moved on: people_routes.cc) so later decisions see them.
  policy::RelationIndex* index = nullptr;
  audit::AuditLog* audit = nullptr;
  const Clock* clock = nullptr;
  guard::Guard* guard = nullptr;               // null: no detection (static quotas still apply)
  access::AccountControl* accounts = nullptr;  // how a guard suspension is applied (iam)
  // Every iam account, for the exposure report (GET /v1/exposure analyses
  // all accounts so that approvers above the caller are named). Read under
  // the iam mutex. null: only the accounts the caller sees are analysed.
  iam::AccountRepository* account_repo = nullptr;
};

class Handler {
 public:
  explicit Handler(const HandlerDeps& deps, Limits limits = {});
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  // Never throws. `request.headers` names must be lower case.
  Response Handle(const Request& request);

  Metrics& metrics() { return metrics_; }
  const Limits& limits() const { return limits_; }

  // The parsed pieces of a request, shared by the route functions.
  struct Call;

 private:
  using RouteFn = Response (Handler::*)(Call&);
  struct Route {
    std::string method;
    std::string pattern;                // "/v1/people/{id}"
    std::vector<std::string> segments;  // pattern split on '/'
    bool authenticated = true;
    RouteFn fn;
  };
  void AddRoute(std::string method, std::string pattern, bool authenticated, RouteFn fn);
  Response Dispatch(const Request& request, std::string& route_name);

  // Routes.
  Response Healthz(Call& c);
  Response MetricsText(Call& c);
  Response OpenApi(Call& c);
  Response Login(Call& c);
  Response Logout(Call& c);
  Response ListSessions(Call& c);
  Response ReadPerson(Call& c);
  Response RevealField(Call& c);
  Response AuditCheckpoint(Call& c);
  Response AuditInclusion(Call& c);
  Response AuditConsistency(Call& c);
  // 0 when the caller holds a role with verify_audit; else the 403.
  Response RequireAuditRole(const Call& c) const;
  // Administration (admin_routes.cc): accounts, change requests, exposure.
  Response ListAccounts(Call& c);
  Response GetAccount(Call& c);
  Response CreateAccount(Call& c);
  Response SuspendAccount(Call& c);
  Response ReinstateAccount(Call& c);
  Response ListChangeRequests(Call& c);
  Response GetChangeRequest(Call& c);
  Response FileChangeRequest(Call& c);
  Response ApproveChangeRequest(Call& c);
  Response RejectChangeRequest(Call& c);
  Response Exposure(Call& c);
  // People and orientations (people_routes.cc).
  Response Caseload(Call& c);
  Response SearchPeople(Call& c);
  Response CreatePerson(Call& c);
  Response UpdatePerson(Call& c);
  Response ListOrientations(Call& c);
  Response CreateOrientation(Call& c);
  Response ChangeOrientationStatus(Call& c);
  Response ConfirmEnrolment(Call& c);
  // Shared by the two status routes: moves the orientation of path param 0
  // to `to` (confirm: the partner's accepted -> enrolled).
  Response MoveOrientation(Call& c, OrientationStatus to, bool confirm);
  // Every listing or search page that releases people's data goes through
  // here before it is sent: a durable audit `read` entry (details kind =
  // "search"|"list", the normalised query, the page; persons = the page's
  // ids; fields = the minimal field names). Status 0: send the page; else
  // the error to answer instead (503 when the audit append fails).
  // `page_index` is 0-based. (To be routed through access::Gate::ReleasePage
  // for guard scoring: one function to change.)
  Response ReleasePage(Call& c, std::string_view kind, const std::vector<PersonId>& persons, std::string_view query,
                       int64_t page_index, std::string_view purpose, const std::vector<std::string>& fields);

  // The shared read path (see the file comment). `reveal` may be null.
  Response ReadPath(Call& c, int64_t person_id, std::string_view purpose_name, const std::string* reveal_field,
                    std::string_view justification);
  Response Authenticate(Call& c);  // status 0 on success (fills the Call)
  QuotaLimits LimitsFor(const Call& c) const;
  // Appends durably; on failure the caller answers 503 and reads nothing.
  Status AppendAudit(const audit::Event& e);

  HandlerDeps deps_;
  Limits limits_;
  policy::Engine engine_;
  Metrics metrics_;
  std::mutex iam_mu_;
  std::mutex store_mu_;
  access::Gate gate_;  // the read path (after store_mu_: it uses it)
  std::vector<Route> routes_;
};

}  // namespace cloison::api
