// One security-relevant event, and its canonical serialization: the exact
// bytes that become a Merkle leaf (docs/audit-format.md, "Entries").
//
// What an event may hold: ids (accounts, persons), field *names*, short
// texts (purpose, justification, reason) and a free details map, never a
// sensitive value (CNIL guidance on logs: log person ids, not NIRs or
// e-mails). Encode() enforces this for free text: anything shaped like a NIR
// (13+ digits) or an e-mail address is replaced by "[redacted]", and invalid
// UTF-8 by U+FFFD, before the bytes are fixed for ever.
//
// Canonical form (version 1): a JSON object, keys sorted by bytes, no
// whitespace, integers in decimal, strings escaped minimally (only '"', '\\'
// and control characters, as \b \f \n \r \t or \u00xx), empty/zero optional
// members omitted. Encode is deterministic byte-for-byte; Decode accepts only
// bytes that Encode would produce (it re-encodes and compares), so each event
// has exactly one leaf.
//
// Thread-safety: plain value type; the functions are pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"

namespace cloison::audit {

enum class EventKind {
  kRead,            // records released to an account
  kDenial,          // a request refused by policy or the guard
  kLogin,
  kLoginFailed,
  kMfa,             // MFA challenge passed or failed (see decision)
  kLockout,
  kLogout,
  kAccountChange,   // account created, disabled, modified
  kRoleChange,
  kChangeRequest,   // four-eyes request filed
  kApproval,        // four-eyes request approved or rejected
  kGuardAction,     // the guard throttled, blocked, alerted
  kKeyRotation,
  kExport,          // bulk export or audit export
  kSystem,          // service lifecycle, test and benchmark events
};
std::string_view EventKindName(EventKind k);  // "read", "denial", "login_failed", ...
std::optional<EventKind> ParseEventKind(std::string_view s);

struct Event {
  static constexpr int kVersion = 1;

  EventKind kind = EventKind::kSystem;
  UnixMicros time = 0;            // from the injected Clock
  AccountId account;              // the actor; 0 = none (e.g. unknown login name)
  std::string session;            // session *id* (a public handle, never the bearer token)
  std::string source;             // source address, e.g. "203.0.113.7"
  std::vector<PersonId> persons;  // whose records were touched
  std::vector<std::string> fields;  // field names released or requested
  std::string purpose;            // declared purpose ("suivi", "orientation", ...)
  std::string justification;      // agent's free-text justification
  std::string decision;           // "allow", "deny", "ok", "fail", ...
  std::string reason;             // why (policy rule, guard rule)
  std::map<std::string, std::string> details;  // anything else, no sensitive values

  friend bool operator==(const Event&, const Event&) = default;
};

// Canonical bytes of `e` (after redaction, see above). Never fails.
std::string EncodeEvent(const Event& e);
// Parses canonical bytes; Corruption when they are not exactly what
// EncodeEvent produces (unknown version, member, type, order, spacing).
StatusOr<Event> DecodeEvent(std::string_view bytes);

// The redaction applied by EncodeEvent to free text, exposed for tests.
std::string RedactFreeText(std::string_view text);

}  // namespace cloison::audit
