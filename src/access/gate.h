// access::Gate: the one path by which personal data leave Cloison, shared by
// the HTTP API (api::Handler, after authentication) and the traffic simulator
// (sim, in-process), so what the simulator measures is what the server does.
//
// For one access by an authenticated caller, in this order:
//   policy decision   (deny: audit `denial`, guard told of the probe)
//   -> quota          (static per-account limits, independent of detection;
//                      refusal: audit `guard_action`, 429)
//   -> guard          (scores against the account's past and its peers;
//                      throttle/step-up/suspend refuse; suspend also calls
//                      AccountControl for the account and its related ones;
//                      every non-allow verdict is an audit `guard_action`)
//   -> audit append   (durable `read` entry: person, released field names,
//                      purpose, rule; on failure nothing is read: kUnavailable)
//   -> store read     (decrypting only the released fields).
// Nothing personal is read from the store before its audit entry is durable.
//
// Errors: Read() never throws. Bad input (unknown purpose, unknown field) is
// Outcome::kBadRequest with a message naming the problem; an audit failure
// before anything is read is kUnavailable; a store failure after the read
// entry is durable is kError, or kMissingRecord when the store has no row for
// a person the relation index knows (the policy allowed the read, so the
// caller is not at fault: index and store disagree). Both of the latter are
// followed by a best-effort `system` entry (decision "read_failed") saying
// that nothing was released. Messages never contain personal data.
//
// Audit entries keep machine integers (quota limit and reset time, page
// numbers) in Event::numbers (audit format 2), never in `details` strings;
// the guard's score is a decimal and stays a string with two decimals in
// `details.score` (it is read by people and by `cloison guard alerts`,
// never compared as an integer).
//
// Thread-safety: Read() may be called from any number of threads; the store
// (not thread-safe) is serialised by the Gate's own mutex, the audit log,
// policy, relation index, guard and quota tracker are thread-safe.
// Ownership: the Gate holds pointers to everything in GateDeps, which must
// outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "access/quota.h"
#include "audit/log.h"
#include "core/ids.h"
#include "core/status.h"
#include "guard/guard.h"
#include "policy/engine.h"
#include "policy/policy.h"
#include "policy/principal.h"
#include "policy/relation_index.h"
#include "store/store.h"

namespace cloison::access {

// What the Gate may do to accounts when the guard says suspend. The server
// implements it with iam (suspend, revoke sessions and API keys); the
// simulator with its own account table.
class AccountControl {
 public:
  virtual ~AccountControl() = default;
  virtual void Suspend(AccountId account, std::string_view reason) = 0;
};

struct GateDeps {
  store::Store* store = nullptr;            // may be null: read_store must then be false
  const policy::Policy* policy = nullptr;
  const policy::RelationIndex* index = nullptr;
  audit::AuditLog* audit = nullptr;
  guard::Guard* guard = nullptr;            // null: no detection (quotas still apply)
  AccountControl* accounts = nullptr;       // null: suspensions are only recorded
  // The mutex that serialises calls into `store`, when the store is shared
  // with other code (the API's other routes); null: the Gate's own.
  std::mutex* store_mutex = nullptr;
};

struct GateOptions {
  // false (simulator): decide, count, score and audit, but do not read or
  // decrypt the record; Result::fields stays empty.
  bool read_store = true;
  // Called with the duration of each audit append on the read path, for
  // metrics (the API's histogram); may be empty.
  std::function<void(int64_t micros)> on_audit_append;
};

// The authenticated caller.
struct Caller {
  policy::Principal principal;
  std::string session;   // session id or "api_key" (never a token)
  std::string source;    // client address
  QuotaLimits quota;     // from QuotaLimitsFor (or the caller's own choice)
  bool step_up_done = false;  // the caller proved TOTP recently (step-up satisfied)
};

struct ReadRequest {
  PersonId person;
  std::string_view purpose;
  const std::string* reveal_field = nullptr;  // non-null: reveal this field
  std::string_view justification;
  UnixMicros now = 0;
};

enum class Outcome {
  kOk,
  kBadRequest,   // 400: unknown purpose / field, aggregates-only purpose
  kDenied,       // 403: policy said no
  kQuota,        // 429: static quota
  kThrottled,    // 429: guard throttle
  kStepUp,       // 401: the guard wants a fresh TOTP
  kSuspended,    // 403: the guard suspended the account
  kUnavailable,  // 503: audit append failed, nothing read
  kError,        // 503: the store failed after the read entry was appended; nothing released
  kMissingRecord,  // 503: the index knows the person, the store has no row (inconsistency); nothing released
};

struct ReadResult {
  Outcome outcome = Outcome::kOk;
  std::string message;             // for errors: a clear sentence, no personal data
  policy::Decision decision;
  std::string rule_id;
  std::string deny_reason;         // policy deny reason name (true reason; API may hide it)
  QuotaVerdict quota;              // kQuota
  guard::Verdict verdict;          // the guard's verdict (any outcome past the policy)
  std::vector<std::string> field_names;   // released field names (catalog order)
  std::vector<std::string> fields;        // their values, same order (read_store only)
  std::vector<std::string> revealed;      // field names revealed by this call
};

// The static per-account limits for `principal` from the policy's
// [quota.<role>] (most generous reading role; [quota.technical] for technical
// accounts), tightened by `daily_read_quota` (> 0) from iam.
QuotaLimits QuotaLimitsFor(const policy::Policy& policy, const policy::Principal& principal,
                           int64_t daily_read_quota);

// A read between Gate::Begin and Gate::Complete: the audit entry its outcome
// needs, and what Complete needs to finish it. Owns everything (no view
// into the request), so it may wait for the append on another thread.
struct PendingRead {
  audit::Event entry;  // to append durably before Complete
  // For Complete; callers leave these alone.
  enum class Step { kDenied, kQuota, kRead };
  Step step = Step::kRead;
  ReadResult result;
  PersonId person;
  std::string purpose;
  bool reveal = false;
  UnixMicros now = 0;
};

class Gate {
 public:
  Gate(const GateDeps& deps, GateOptions options = {});
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // The whole read path of the file comment: Begin, a durable Append of the
  // entry, Complete.
  ReadResult Read(const Caller& caller, const ReadRequest& request);

  // The same path in two steps, for a caller that must not block on the
  // audit sync (the API's I/O thread appends with AuditLog::AppendAsync):
  //  - Begin runs the policy, the quota and the guard. true: `*done` is the
  //    whole answer and nothing is to be appended (bad request, or a guard
  //    refusal, whose guard_action entry Begin appended itself: those are
  //    rare). false: the caller must append `pending->entry` durably (a
  //    denial, a quota refusal or the read) and then call Complete.
  //  - Complete, with the append's status: for a read, reads and decrypts
  //    the released fields (nothing is read if the append failed); for a
  //    denial, lets the guard score the probe. Any thread; `caller` must be
  //    the one given to Begin.
  bool Begin(const Caller& caller, const ReadRequest& request, ReadResult* done, PendingRead* pending);
  ReadResult Complete(const Caller& caller, PendingRead&& pending, const Status& appended);
  // Brackets a burst of Complete calls for reads whose entries one audit
  // sync made durable: their store reads share one read transaction
  // (Store::BeginReadBatch). Every read in it was decided and audited
  // before it began. Thread-safe (the store mutex); not reentrant.
  void BeginReadBatch();
  void EndReadBatch();

  // A listing or search page about to be released to `caller` (the people in
  // `persons` with minimal fields): quota is not charged (listing shows no
  // sensitive field) but the guard scores it (enumeration, honeytokens) and
  // it is audited. kOk means the page may be sent. `entry`, when given, is
  // the audit entry to append for the page as the caller shapes it (the
  // API's: purpose, field names, 1-based page; its persons should be
  // `persons`); null: the Gate's own (reason and details.kind = the kind,
  // details.query, details.page = `page`). Refusals are audited by the Gate
  // (guard_action) either way.
  ReadResult ReleasePage(const Caller& caller, guard::AccessKind kind, std::span<const PersonId> persons,
                         std::string_view query, int64_t page, UnixMicros now, const audit::Event* entry = nullptr);

  const policy::Engine& engine() const { return engine_; }

 private:
  // Appends a guard_action entry for a non-allow verdict and applies a
  // suspension. Returns the outcome the verdict imposes (kOk if none).
  Status Append(const audit::Event& e);
  // The guard's view of an access by `caller` to `person`; `persons` (which
  // must outlive the result) lists the people it reads.
  guard::Access AccessFor(const Caller& caller, PersonId person, UnixMicros now,
                          std::span<const PersonId> persons) const;
  Outcome ApplyVerdict(const Caller& caller, const guard::Verdict& v, UnixMicros now, std::string_view context);

  GateDeps deps_;
  GateOptions options_;
  policy::Engine engine_;
  QuotaTracker quotas_;
  std::mutex own_store_mu_;
  std::mutex* store_mu_;
};

}  // namespace cloison::access
