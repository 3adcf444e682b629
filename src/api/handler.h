// api::Handler: the whole HTTP API as a function from a parsed Request to a
// Response, with no networking (server.h is the thin Beast layer over it), so
// every route, limit and error is testable without sockets.
//
// Every people read (and every listing or search page, see ReleasePage)
// runs the same path, in this order:
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
// The guard (deps.guard, optional) also sees who the accounts are: the
// Handler registers their profiles (SyncGuard, and at once after the API
// creates or changes one), keeps step-ups (POST /v1/sessions/step-up) and
// shows the guard's alerts to security officers and DPOs (GET /v1/alerts).
//
// Thread-safety: Handle() and SyncGuard() may be called from any number of
// threads. The store and the IamService are not thread-safe, so calls into
// each are serialised by a mutex (the iam one may be shared, see
// HandlerDeps::iam_mutex); the audit log, the policy, the relation index,
// the guard, metrics and quotas are thread-safe themselves.
// Ownership: the Handler holds references to everything in HandlerDeps,
// which must outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "access/gate.h"
#include "access/query_digest.h"
#include "access/quota.h"
#include "guard/guard.h"
#include "audit/log.h"
#include "audit/query_index.h"
#include "core/clock.h"
#include "crypto/secret.h"
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
  // The mutex that serialises calls into `iam` and `account_repo`, when
  // something else calls them while the Handler runs (IamAccountControl in
  // `accounts`, which applies the guard's suspensions); null: the Handler's own.
  std::mutex* iam_mutex = nullptr;
  // How long a successful step-up (POST /v1/sessions/step-up) satisfies the
  // guard's step-up verdicts for that session. Kept in memory only: a
  // restart forgets step-ups (the session survives; the next step-up
  // verdict asks again).
  int64_t step_up_seconds = 15 * 60;
  // The key of the search digests in the audit log (access/query_digest.h):
  // `cloison serve` derives it from the master key
  // (QueryDigester::KeyFromMaster), so that digests written before a restart
  // match those written after (the guard's replay counts distinct queries).
  // Empty: a random key per Handler (tests; digests do not survive a restart).
  crypto::SecretBytes query_digest_key;
};

class Handler {
 public:
  explicit Handler(const HandlerDeps& deps, Limits limits = {});
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  // Never throws. `request.headers` names must be lower case.
  Response Handle(const Request& request);

  // For a server thread that serves many connections (the I/O thread) and
  // must not sleep through each read's audit sync. Only for the requests
  // AnswersLater() accepts (a people read, GET /v1/people/{id}); the server
  // runs every other request with Handle, off that thread.
  // The same checks, path and answers as Handle, except that the read's
  // audit entry is appended with AuditLog::AppendAsync: this call returns
  // once it is queued, and the store read, the decryption and the answer
  // happen later, in a task given to `post` (run it on the calling thread's
  // executor; it is called from the audit log's syncer thread). `done` is
  // called exactly once with the answer: from this call when the request is
  // answered without an entry to wait for (a bad request, a failed
  // authentication, a guard refusal), else from the posted task. Never
  // throws. Nothing personal is read before the entry is durable, as in
  // Handle. The Handler and everything `post` and `done` use must outlive
  // the answer (api::Server::Stop waits for every one).
  using Post = std::function<void(std::function<void()>)>;
  void HandleAsync(const Request& request, Post post, std::function<void(Response)> done);
  // Whether HandleAsync takes `request`: a cheap look at its method and
  // target (the routing itself is HandleAsync's).
  static bool AnswersLater(const Request& request);
  // Runs `tasks` -- answers HandleAsync posted, for reads one audit sync
  // made durable -- with their store reads in one read batch
  // (Gate::BeginReadBatch): one snapshot and one lock round trip for the
  // burst instead of one per read. The server's one-I/O-thread mailbox uses
  // it; any thread may, tasks run on the calling one.
  void RunReleased(std::span<std::function<void()>> tasks);
  // Brackets the requests one event-loop round of the server parses: their
  // authentications share one look at the accounts
  // (IamService::BeginReadBatch) instead of one each. The server ends the
  // round with a task it posts when opening it, which runs once the handlers
  // already queued have; nothing waits in between. An account suspended by
  // another process is refused from the next round on; a suspension through
  // this process ends the batch at once. Thread-safe (the iam mutex).
  void BeginAuthRound();
  void EndAuthRound();

  // Keeps the guard's picture of the accounts current (no-op without
  // deps.guard or deps.account_repo):
  //  - registers every iam account whose record changed since the previous
  //    call (all of them on the first), and those whose probation ended,
  //    with GuardProfile (guard_support.h; structures from the store);
  //  - clears the guard's state (Guard::Clear) of every active account
  //    reinstated under dual control (an approved reenable request) after
  //    its latest guard alert, if the guard still holds it under alert or
  //    suspended: a reinstatement approved while the server was down, or
  //    with the CLI while it runs. Each approved request is looked at once.
  // The server calls it before serving (after loading the guard's state)
  // and periodically; the API's own account changes (creation, approval)
  // register at once and an approved reinstatement clears at once.
  // Thread-safe (takes the iam mutex, then the store mutex, never both).
  struct GuardSync {
    int64_t registered = 0;  // profiles (re)registered by this call
    int64_t cleared = 0;     // accounts cleared after a reinstatement
  };
  StatusOr<GuardSync> SyncGuard();

  Metrics& metrics() { return metrics_; }
  const Limits& limits() const { return limits_; }

  // The parsed pieces of a request, shared by the route functions.
  struct Call;

 private:
  using RouteFn = Response (Handler::*)(Call&);
  // Who may call a route. A password someone else set (creation,
  // bootstrap, reset) is known to two people until its holder changes it:
  // until then its sessions are answered on kOwnSessions routes only (see
  // their sessions, leave), and POST /v1/sessions/password (kPublic: it
  // authenticates by the password itself) is the way out.
  enum class Access {
    kPublic,       // no authentication
    kCaller,       // an authenticated caller whose password is its own
    kOwnSessions,  // any authenticated caller
  };
  struct Route {
    std::string method;
    std::string pattern;                // "/v1/people/{id}"
    std::vector<std::string> segments;  // pattern split on '/'
    Access access = Access::kCaller;
    RouteFn fn;
  };
  void AddRoute(std::string method, std::string pattern, Access access, RouteFn fn);
  // A request HandleAsync answers later: where the answer goes, and what
  // its metrics need.
  struct Deferral {
    Post post;
    std::function<void(Response)> done;
    std::chrono::steady_clock::time_point start;
    std::string route;
  };
  // Counts `r` in the metrics under d.route, then hands it to d.done.
  void Answer(Deferral& d, Response r);
  // Response::status of a route that will answer through its Deferral.
  static constexpr int kAnswerLater = -1;
  Response Dispatch(const Request& request, std::string& route_name, std::shared_ptr<Deferral> deferral = nullptr);

  // Routes.
  Response Healthz(Call& c);
  Response MetricsText(Call& c);
  Response OpenApi(Call& c);
  Response Login(Call& c);
  Response Logout(Call& c);
  Response ChangePassword(Call& c);
  Response StepUp(Call& c);
  Response ListAlerts(Call& c);
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
  // here before it is sent, through access::Gate::ReleasePage: the guard
  // scores it (listing volume, paging runs, search sweeps, honeytokens;
  // refusals answer like the read path: 429 guard_throttled, 401
  // step_up_required, 403 account_suspended), then a durable audit `read`
  // entry (details.kind = "search"|"list"; details.query = for a search the
  // kind and keyed digest of what was searched, "cp:#<16 hex>" — never the
  // value —, for a listing its fixed label ("caseload", "orientations");
  // numbers.page = the 1-based page; persons = the page's ids; fields = the
  // minimal field names). `query` is passed in that audit form.
  // Status 0: send the page; else the error to answer instead (503 when the
  // audit append fails). `page_index` is 0-based.
  Response ReleasePage(Call& c, std::string_view kind, const std::vector<PersonId>& persons, std::string_view query,
                       int64_t page_index, std::string_view purpose, const std::vector<std::string>& fields);

  // The authenticated caller as the Gate sees it (step-up state included).
  access::Caller CallerFor(const Call& c);
  // The answer to a Gate refusal by the guard (429 guard_throttled, 401
  // step_up_required naming the step-up endpoint, 403 account_suspended),
  // counted in the metrics.
  Response GuardRefusal(const access::ReadResult& res);
  // After the API changed an account (created, request approved): registers
  // its profile with the guard; `reinstated`: clears the guard's state of it.
  void AccountChanged(AccountId account, bool reinstated);
  // The structure, from the cache SyncGuard fills (refilled from the store
  // on a miss); nullopt if the store does not know it.
  std::optional<Structure> StructureOf(StructureId id);
  // Clears the guard's state of `account` if an approved reenable request
  // for it postdates its latest alert (see SyncGuard). `approved`: the
  // approved requests; `active`: iam says the account is active.
  void ReconcileReinstatements(const std::vector<iam::ChangeRequest>& approved,
                               const std::unordered_map<int64_t, bool>& active, GuardSync& out);
  // Called with iam_mu_ held, for an account iam has just authenticated
  // (so active): if the guard holds it under alert, looks for a
  // reinstatement approved out of band (the CLI) at most every few seconds,
  // so that the guard does not suspend again an account just reinstated.
  void ReconcileAuthenticated(AccountId account, UnixMicros now);

  // The shared read path (see the file comment). `reveal` may be null.
  // With c.deferral (HandleAsync), a read allowed so far answers
  // kAnswerLater and finishes once its entry is durable.
  Response ReadPath(Call& c, int64_t person_id, std::string_view purpose_name, const std::string* reveal_field,
                    std::string_view justification);
  // The answer to a Gate result (`now`: the request's time, for Retry-After).
  Response ReadAnswer(const access::ReadResult& res, int64_t person_id, std::string_view purpose_name, bool reveal,
                      UnixMicros now);
  Response Authenticate(Call& c);  // status 0 on success (fills the Call)
  QuotaLimits LimitsFor(const Call& c) const;
  // Appends durably; on failure the caller answers 503 and reads nothing.
  Status AppendAudit(const audit::Event& e);

  HandlerDeps deps_;
  Limits limits_;
  // Searches are audited (and scored) as "<kind>:#<digest>", never with the
  // value searched for.
  access::QueryDigester digester_;
  policy::Engine engine_;
  Metrics metrics_;
  std::mutex own_iam_mu_;
  std::mutex& iam_mu_;  // deps.iam_mutex or own_iam_mu_
  std::mutex store_mu_;
  access::Gate gate_;  // the read path (after store_mu_: it uses it)
  std::vector<Route> routes_;

  // GET /v1/exposure's "used" side: the audit log's query index
  // (<audit dir>/index.db, a cache the CLI's `cloison exposure` uses too
  // when no server runs), opened on first use. Not thread-safe, hence its
  // own mutex (taken with no other Handler mutex held).
  std::mutex usage_mu_;
  std::unique_ptr<audit::QueryIndex> usage_index_;

  // Step-up: session id -> until when its step-up holds.
  std::mutex step_up_mu_;
  std::unordered_map<int64_t, UnixMicros> step_up_until_;

  // SyncGuard's memory, under guard_sync_mu_ (taken after, never before,
  // iam_mu_ or store_mu_).
  struct Registered {
    UnixMicros updated_at = 0;
    bool probation = false;
  };
  std::mutex guard_sync_mu_;
  std::unordered_map<int64_t, Registered> registered_;     // account -> what was registered
  std::unordered_set<int64_t> reinstatements_seen_;        // approved reenable requests looked at
  std::unordered_map<int64_t, Structure> structures_;      // by id
  std::unordered_map<int64_t, UnixMicros> reinstate_checked_;  // account -> last ReconcileAuthenticated query
};

}  // namespace cloison::api
