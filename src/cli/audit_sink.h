// How CLI commands and the server put security-relevant events in the audit
// log (src/audit, docs/audit-format.md):
//
//  * the iam -> audit mapping (one audit event per iam event: logins,
//    failures, lockouts, MFA, account and role changes, change requests and
//    decisions), used as the iam EventSink by `cloison serve`, `cloison demo`
//    and `cloison account|request ...`;
//  * opening the data directory's audit log *for writing* from a command:
//    the log admits one process at a time (flock on audit/LOCK), so a
//    command run while `cloison serve` holds it gets a clear refusal
//    (IOError, exit 3) instead of acting unrecorded; a successful open
//    records what crash recovery did (AuditLog::AppendRecoveryEvent).
//
// Commands must open the log *before* they change anything: an act the log
// cannot record is not performed.
//
// Thread-safety: the sink may be called from any thread (AuditLog is
// thread-safe); SinkErrors is thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string_view>

#include "audit/event.h"
#include "audit/log.h"
#include "cli/context.h"
#include "core/status.h"
#include "iam/events.h"

namespace cloison::cli {

// The audit kind of an iam event. Role grants reach the log as
// kRoleChange: iam reports an approved grant as kAccountChanged with a
// detail "grant role ..." (iam::ChangeSpec::Describe), and a revocation,
// should iam add one, as "revoke role ...".
audit::EventKind AuditKindOf(const iam::IamEvent& e);
// The audit event recording `e`: kind, time, actor (account), source,
// decision = the iam event name ("login_failed", "request_approved", ...),
// reason = iam's secret-free detail, numbers: subject (account id) and
// request (change request id).
audit::Event AuditEventOf(const iam::IamEvent& e);

// What the sink could not append. An iam sink cannot fail the iam call that
// emitted the event (the change is already committed), so a command checks
// this afterwards and reports it (exit 3): the act happened unrecorded.
class SinkErrors {
 public:
  void Record(const Status& s);
  Status first() const;  // OK when every append succeeded
  uint64_t count() const;

 private:
  mutable std::mutex mu_;
  Status first_;
  uint64_t count_ = 0;
};

// The iam EventSink appending AuditEventOf(e) to `log` (not owned; must
// outlive the sink). Failures go to `errors` when given.
iam::EventSink IamAuditSink(audit::AuditLog* log, std::shared_ptr<SinkErrors> errors = nullptr);

// Opens <data>/audit for writing on behalf of `command` (e.g. "account
// suspend"; written in audit/LOCK as "cloison <command>"), creating it if
// missing, then appends the recovery event if Open recovered anything (and
// signs a checkpoint over it when `options` do not checkpoint at close).
// `options` supplies everything but lock_owner. A log held by another
// process: IOError with HeldLogMessage's text (exit 3).
StatusOr<std::unique_ptr<audit::AuditLog>> OpenAuditLogForWriting(const Context& ctx, std::string_view command,
                                                                 audit::LogOptions options = {});

// The refusal to show when `s` says another process holds the log (see
// audit::LockHolderOf), as IOError: "the audit log is held by a running
// server (pid N): use the HTTP API or stop the server"; `s` unchanged
// otherwise.
Status ExplainHeldLog(const Status& s);

// The audit event of a key rotation step (`cloison keys rotate`): decision
// "started" (new key active for writes), "completed" or "failed", numbers
// key_id and, once known, values_reencrypted / values_remaining. Never key
// material.
audit::Event KeyRotationEvent(UnixMicros now, std::string_view decision, uint32_t key_id);

}  // namespace cloison::cli
