// One security-relevant event, and its canonical serialization: the exact
// bytes that become a Merkle leaf (docs/audit-format.md, "Entries").
//
// What an event may hold: ids (accounts, persons), field *names*, short
// texts (purpose, justification, reason), a details map of strings and a
// numbers map of machine integers; never a sensitive value (CNIL guidance on
// logs: log person ids, not NIRs or e-mails). EncodeEvent enforces this for
// every string as a safety net (RedactFreeText): NIR-shaped runs, French and
// international phone numbers, France Travail ids (11 digits, legacy
// 7 digits + letter) and e-mail addresses become "[redacted]", invalid UTF-8
// becomes U+FFFD, before the bytes are fixed for ever. Machine numbers
// (counts, sizes, ids, timestamps) go in `numbers`, which is *not* redacted:
// a 16-digit timestamp in a string would be taken for a NIR.
//
// Canonical form (version 2; docs/audit-format.md, "Entries"): a JSON
// object, keys sorted by bytes, no whitespace, integers in decimal, strings
// escaped minimally (only '"', '\\' and control characters, as \b \f \n \r
// \t or \u00xx), empty/zero optional members omitted. EncodeEvent is
// deterministic byte-for-byte and always writes the current version.
// DecodeEvent reads versions 1 and 2 and accepts only the one serialization
// of that version (it re-serializes and compares), so each event has exactly
// one leaf. It checks the form, not the redaction: redaction rules belong to
// the version that wrote an entry (version 1 redacted only 13+ digit runs and
// e-mails), and an old entry must stay readable under newer rules.
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
  static constexpr int kVersion = 2;     // written by EncodeEvent
  static constexpr int kOldestVersion = 1;  // still read by DecodeEvent

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
  std::map<std::string, std::string> details;  // anything else, no sensitive values (redacted)
  // Machine integers (counts, byte sizes, key ids, leaf indexes, Unix
  // microseconds), exempt from redaction. Version 2 and later. Never put a
  // personal value here: this member is trusted, not filtered.
  std::map<std::string, int64_t> numbers;

  friend bool operator==(const Event&, const Event&) = default;
};

// Canonical bytes of `e` at Event::kVersion, after redaction. Never fails.
std::string EncodeEvent(const Event& e);
// Parses the canonical bytes of any supported version (*version, if given,
// receives it); Corruption when they are not exactly that version's one
// serialization (unknown version, member, type, order, spacing; `numbers`
// in a version-1 entry).
StatusOr<Event> DecodeEvent(std::string_view bytes, int* version = nullptr);

// The redaction applied by EncodeEvent to every string (texts, field names,
// details keys and values, numbers keys), exposed for tests. Rules in
// docs/audit-format.md, "No sensitive values".
std::string RedactFreeText(std::string_view text);

}  // namespace cloison::audit
