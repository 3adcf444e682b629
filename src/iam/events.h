// The hook through which iam reports what happened (logins, failures,
// lockouts, MFA, account changes, change requests and decisions), so the audit
// log (src/audit) can record them without iam depending on it.
//
// Events never carry a password, TOTP secret or code, API key, session token
// or recovery code. Failed logins for an unknown username carry no username
// (it may be a mistyped password).
//
// The sink is called synchronously, after the change is committed, on the
// calling thread; it must not call back into the IamService.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/ids.h"

namespace cloison::iam {

enum class IamEventType {
  kLoginSucceeded,
  kLoginFailed,
  kLoginThrottled,
  kLockout,  // a username or address key reached its lock threshold
  kMfaEnrollmentStarted,
  kMfaEnrolled,
  kMfaFailed,
  kStepUp,  // a live session proved a fresh TOTP code (the guard asked for it)
  kRecoveryCodeUsed,
  kMfaReset,
  kPasswordChanged,
  kSessionRevoked,
  kApiKeyRefused,
  kApiKeyAccepted,
  kAccountCreated,
  kAccountActivated,
  kAccountSuspended,
  kAccountChanged,
  kRequestCreated,
  kRequestApproved,
  kRequestRejected,
  kRequestExpired,
  kRequestCancelled,
  kApprovalRefused,
};
std::string_view IamEventTypeName(IamEventType t);  // "login_succeeded", ...

struct IamEvent {
  IamEventType type;
  UnixMicros at = 0;
  std::optional<AccountId> actor;    // who acted (the authenticated account)
  std::optional<AccountId> subject;  // account concerned
  std::optional<int64_t> request;    // change request concerned
  std::string source_address;        // network source, when known
  std::string detail;                // short, secret-free explanation
};

using EventSink = std::function<void(const IamEvent&)>;

}  // namespace cloison::iam
