#include "iam/events.h"

namespace cloison::iam {

std::string_view IamEventTypeName(IamEventType t) {
  switch (t) {
    case IamEventType::kLoginSucceeded: return "login_succeeded";
    case IamEventType::kLoginFailed: return "login_failed";
    case IamEventType::kLoginThrottled: return "login_throttled";
    case IamEventType::kLockout: return "lockout";
    case IamEventType::kMfaEnrollmentStarted: return "mfa_enrollment_started";
    case IamEventType::kMfaEnrolled: return "mfa_enrolled";
    case IamEventType::kMfaFailed: return "mfa_failed";
    case IamEventType::kStepUp: return "step_up";
    case IamEventType::kRecoveryCodeUsed: return "recovery_code_used";
    case IamEventType::kMfaReset: return "mfa_reset";
    case IamEventType::kPasswordChanged: return "password_changed";
    case IamEventType::kSessionRevoked: return "session_revoked";
    case IamEventType::kApiKeyRefused: return "api_key_refused";
    case IamEventType::kApiKeyAccepted: return "api_key_accepted";
    case IamEventType::kAccountCreated: return "account_created";
    case IamEventType::kAccountActivated: return "account_activated";
    case IamEventType::kAccountSuspended: return "account_suspended";
    case IamEventType::kAccountChanged: return "account_changed";
    case IamEventType::kRequestCreated: return "request_created";
    case IamEventType::kRequestApproved: return "request_approved";
    case IamEventType::kRequestRejected: return "request_rejected";
    case IamEventType::kRequestExpired: return "request_expired";
    case IamEventType::kRequestCancelled: return "request_cancelled";
    case IamEventType::kApprovalRefused: return "approval_refused";
  }
  return "unknown";
}

}  // namespace cloison::iam
