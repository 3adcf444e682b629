// The plain request/response values the API core works on, with no
// networking: api::Server (server.h) fills a Request from the wire and writes
// the Response back; tests build Requests by hand (Envoy's split between the
// codec and the filter chain).
//
// Error bodies have one shape, {"error":{"code":"...","message":"..."}},
// where `code` is stable (clients branch on it) and `message` is for people.
// Messages never carry a secret, a stack trace, SQL or a personal value.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloison::api {

// Limits shared by the Handler (which checks them, so they are testable
// without sockets) and the Server (which enforces them while reading).
struct Limits {
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 8 * 1024;
  size_t max_target_bytes = 2 * 1024;
  // People search: at most this many results over all pages; a broader
  // query answers the first ones and `truncated` (refine it).
  size_t search_max_results = 50;
  // Listing page-size cap when the policy's [quota.<role>] states none.
  size_t default_max_page_size = 50;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form: "/v1/people/12?purpose=accompaniment"
  // Header names lower-cased by whoever fills the request (Server does).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // the client's IP address, e.g. "127.0.0.1"

  // First header named `name` (lower case), or nullptr.
  const std::string* Header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return &v;
    return nullptr;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After, Allow, ...)
};

// Stable error codes (docs/api.md lists them with their statuses).
namespace code {
inline constexpr std::string_view kBadRequest = "bad_request";          // 400: malformed input
inline constexpr std::string_view kInvalidJson = "invalid_json";        // 400
inline constexpr std::string_view kInvalidUtf8 = "invalid_utf8";        // 400
inline constexpr std::string_view kUnknownField = "unknown_field";      // 400
inline constexpr std::string_view kInvalidParameter = "invalid_parameter";  // 400
inline constexpr std::string_view kUnknownPurpose = "unknown_purpose";  // 400
inline constexpr std::string_view kJustificationRequired = "justification_required";  // 400
inline constexpr std::string_view kUnauthenticated = "unauthenticated";  // 401
inline constexpr std::string_view kForbidden = "forbidden";              // 403 (policy denial: + "reason")
inline constexpr std::string_view kNotFound = "not_found";               // 404
inline constexpr std::string_view kMethodNotAllowed = "method_not_allowed";  // 405
inline constexpr std::string_view kRequestTimeout = "request_timeout";       // 408: request not completed in time (Server)
inline constexpr std::string_view kPayloadTooLarge = "payload_too_large";    // 413
inline constexpr std::string_view kUriTooLong = "uri_too_long";              // 414
inline constexpr std::string_view kUnsupportedMediaType = "unsupported_media_type";  // 415
inline constexpr std::string_view kHeadersTooLarge = "headers_too_large";    // 431
inline constexpr std::string_view kQuotaExceeded = "quota_exceeded";         // 429
inline constexpr std::string_view kGuardThrottled = "guard_throttled";       // 429: the guard paused reads
inline constexpr std::string_view kStepUpRequired = "step_up_required";      // 401: the guard wants a fresh TOTP
inline constexpr std::string_view kPasswordChangeRequired = "password_change_required";  // 403: change the password set by someone else first
inline constexpr std::string_view kAccountSuspended = "account_suspended";   // 403: the guard suspended the account
inline constexpr std::string_view kStepUpUnavailable = "step_up_unavailable";  // 403: no second factor to step up with (technical account, no TOTP)
inline constexpr std::string_view kUnavailable = "unavailable";              // 503: audit or store down
inline constexpr std::string_view kInternal = "internal";                    // 500: a bug, never for bad input
}  // namespace code

// {"error":{"code":...,"message":...}} with `status`.
Response ErrorResponse(int status, std::string_view code, std::string_view message);

// True iff `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Decodes %XX escapes (and '+' as space in query components when
// `plus_is_space`). False on a malformed escape or a decoded NUL byte.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out);

}  // namespace cloison::api
