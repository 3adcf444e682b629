#include "cli/audit_sink.h"

#include "audit/file.h"
#include "core/strings.h"

namespace cloison::cli {

audit::EventKind AuditKindOf(const iam::IamEvent& e) {
  using T = iam::IamEventType;
  switch (e.type) {
    case T::kLoginSucceeded:
    case T::kApiKeyAccepted: return audit::EventKind::kLogin;
    case T::kLoginFailed:
    case T::kLoginThrottled:
    case T::kApiKeyRefused: return audit::EventKind::kLoginFailed;
    case T::kLockout: return audit::EventKind::kLockout;
    case T::kMfaEnrollmentStarted:
    case T::kMfaEnrolled:
    case T::kMfaFailed:
    case T::kRecoveryCodeUsed:
    case T::kStepUp:
    case T::kMfaReset: return audit::EventKind::kMfa;
    case T::kSessionRevoked: return audit::EventKind::kLogout;
    case T::kRequestCreated: return audit::EventKind::kChangeRequest;
    case T::kRequestApproved:
    case T::kRequestRejected:
    case T::kRequestExpired:
    case T::kRequestCancelled:
    case T::kApprovalRefused: return audit::EventKind::kApproval;
    case T::kAccountChanged: {
      // iam has no event type of its own for roles: an applied grant is an
      // account change described by its ChangeSpec (tests/cli/audit_sink_test
      // pins this wording against the real IamService).
      const std::string_view d = e.detail;
      if (d.starts_with("grant role ") || d.starts_with("revoke role ")) return audit::EventKind::kRoleChange;
      return audit::EventKind::kAccountChange;
    }
    case T::kPasswordChanged:
    case T::kAccountCreated:
    case T::kAccountActivated:
    case T::kAccountSuspended: return audit::EventKind::kAccountChange;
  }
  return audit::EventKind::kAccountChange;
}

audit::Event AuditEventOf(const iam::IamEvent& e) {
  audit::Event ev;
  ev.kind = AuditKindOf(e);
  ev.time = e.at;
  if (e.actor) ev.account = *e.actor;
  ev.source = e.source_address;
  ev.decision = std::string(iam::IamEventTypeName(e.type));
  ev.reason = e.detail;
  // Ids are machine numbers: not redacted (docs/audit-format.md, "numbers").
  if (e.subject) ev.numbers["subject"] = e.subject->value();
  if (e.request) ev.numbers["request"] = *e.request;
  return ev;
}

void SinkErrors::Record(const Status& s) {
  if (s.ok()) return;
  std::lock_guard<std::mutex> l(mu_);
  if (count_++ == 0) first_ = s;
}

Status SinkErrors::first() const {
  std::lock_guard<std::mutex> l(mu_);
  return first_;
}

uint64_t SinkErrors::count() const {
  std::lock_guard<std::mutex> l(mu_);
  return count_;
}

iam::EventSink IamAuditSink(audit::AuditLog* log, std::shared_ptr<SinkErrors> errors) {
  return [log, errors](const iam::IamEvent& e) {
    Status s = log->Append(AuditEventOf(e)).status();
    if (errors) errors->Record(s);
  };
}

Status ExplainHeldLog(const Status& s) {
  const auto holder = audit::LockHolderOf(s);
  if (!holder) return s;
  const std::string pid = holder->pid ? StrCat("pid ", holder->pid) : std::string("pid unknown");
  if (holder->owner.starts_with("cloison serve") || holder->owner.starts_with("cloison demo")) {
    return IOError(StrCat("the audit log is held by a running server (", pid,
                          "): use the HTTP API or stop the server"));
  }
  if (holder->owner.empty()) {
    // A holder that did not say who it is: usually a server.
    return IOError(StrCat("the audit log is held by another process (", pid,
                          "), usually a running server: use the HTTP API or stop the server"));
  }
  return IOError(StrCat("the audit log is held by another process (", pid, ", ", holder->owner,
                        "): try again once it has finished"));
}

StatusOr<std::unique_ptr<audit::AuditLog>> OpenAuditLogForWriting(const Context& ctx, std::string_view command,
                                                                 audit::LogOptions options) {
  auto& fs = audit::FileSystem::Default();
  CLOISON_RETURN_IF_ERROR(fs.CreateDir(ctx.data_dir));
  options.lock_owner = StrCat("cloison ", command);
  auto log = audit::AuditLog::Open(ctx.audit_dir(), options);
  if (!log.ok()) return ExplainHeldLog(log.status());
  CLOISON_ASSIGN_OR_RETURN(std::optional<uint64_t> recorded, (*log)->AppendRecoveryEvent());
  // A read-side command signs nothing at close; sign its recovery event now,
  // or the next writer would find it uncovered and report a recovery again.
  if (recorded && !options.checkpoint_on_close) CLOISON_RETURN_IF_ERROR((*log)->IssueCheckpoint().status());
  return log;
}

audit::Event KeyRotationEvent(UnixMicros now, std::string_view decision, uint32_t key_id) {
  audit::Event e;
  e.kind = audit::EventKind::kKeyRotation;
  e.time = now;
  e.decision = std::string(decision);
  e.reason = "cloison keys rotate";
  if (key_id != 0) e.numbers["key_id"] = key_id;
  return e;
}

}  // namespace cloison::cli
