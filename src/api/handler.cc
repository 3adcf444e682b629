#include "api/handler.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/handler_internal.h"
#include "api/openapi.h"
#include "audit/merkle.h"
#include "core/date.h"
#include "core/json_text.h"
#include "core/strings.h"
#include "iam/policy_principal.h"

namespace cloison::api {

using nlohmann::json;

// Handler::Call and the helpers shared with the other route files
// (admin_routes.cc, ...) are declared in handler_internal.h.
namespace internal {

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void AppendJsonString(std::string& out, std::string_view s) {
  // ASCII (most names and values) needs no UTF-8 check.
  const bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii && !IsValidUtf8(s)) {
    out += Dump(json(std::string(s)));  // the replacement rules are nlohmann's
    return;
  }
  AppendJsonQuoted(out, s);
}

Response JsonResponse(int status, const json& j) {
  Response r;
  r.status = status;
  r.body = Dump(j);
  return r;
}

std::string FormatTime(UnixMicros t) {
  std::time_t s = static_cast<std::time_t>(t / 1'000'000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A name safe to echo in a message (attacker-controlled text otherwise).
std::string Echo(std::string_view s) {
  if (s.empty() || s.size() > 40) return "";
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return "";
  return StrCat(" '", s, "'");
}

bool IsLowerName(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9'))) return false;
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  out.reserve(8);
  size_t i = 1;  // after the leading '/'
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// Maps a Status from iam or the store to an answer. Store and environment
// messages are not echoed (they may name files or SQL); iam's are written
// for callers.
Response StatusResponse(const Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorResponse(400, code::kBadRequest, MessageOf(s));
    case absl::StatusCode::kUnauthenticated:
      return ErrorResponse(401, code::kUnauthenticated, MessageOf(s));
    case absl::StatusCode::kPermissionDenied:
      return ErrorResponse(403, code::kForbidden, MessageOf(s));
    case absl::StatusCode::kNotFound:
      return ErrorResponse(404, code::kNotFound, "not found");
    case absl::StatusCode::kFailedPrecondition:
      return ErrorResponse(409, "failed_precondition", MessageOf(s));
    case absl::StatusCode::kUnavailable:
      return ErrorResponse(503, code::kUnavailable, "service temporarily unavailable; try again");
    default:
      return ErrorResponse(500, code::kInternal, "internal error");
  }
}

// A JSON object body (size, Content-Type, UTF-8, syntax, an object). On
// failure fills `err`.
bool ParseObject(const Request& req, const Limits& limits, json& out, Response& err) {
  if (req.body.size() > limits.max_body_bytes) {
    err = ErrorResponse(413, code::kPayloadTooLarge, StrCat("body larger than ", limits.max_body_bytes, " bytes"));
    return false;
  }
  const std::string* ct = req.Header("content-type");
  if (ct == nullptr || !(ct->rfind("application/json", 0) == 0)) {
    err = ErrorResponse(415, code::kUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)");
    return false;
  }
  if (!IsValidUtf8(req.body)) {
    err = ErrorResponse(400, code::kInvalidUtf8, "the body is not valid UTF-8");
    return false;
  }
  out = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    err = ErrorResponse(400, code::kInvalidJson, "the body is not valid JSON");
    return false;
  }
  if (!out.is_object()) {
    err = ErrorResponse(400, code::kInvalidJson, "the body must be a JSON object");
    return false;
  }
  return true;
}

// Parses a JSON object body whose members are all in `allowed`. On failure
// fills `err`.
bool ParseBody(const Request& req, const Limits& limits, std::initializer_list<std::string_view> allowed, json& out,
               Response& err) {
  if (!ParseObject(req, limits, out, err)) return false;
  for (const auto& [k, v] : out.items()) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || k == a;
    if (!ok) {
      err = ErrorResponse(400, code::kUnknownField, StrCat("unknown field", Echo(k), " in the body"));
      return false;
    }
  }
  return true;
}

// Reads a string member. Missing and optional: "" and true.
bool GetString(const json& j, std::string_view key, bool required, size_t max_len, std::string& out,
               Response& err) {
  auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) {
    if (!required) return true;
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("missing field '", key, "'"));
    return false;
  }
  if (!it->is_string()) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' must be a string"));
    return false;
  }
  out = it->get<std::string>();
  if (out.size() > max_len) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' is longer than ", max_len, " bytes"));
    return false;
  }
  if (out.find('\0') != std::string::npos) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' contains a NUL character"));
    return false;
  }
  return true;
}

std::optional<int64_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v <= 0) return std::nullopt;
  return v;
}

// A non-negative decimal integer query parameter (no sign, <= 18 digits).
bool ParseU64Param(const std::map<std::string, std::string>& q, const std::string& name, std::optional<uint64_t>& out,
                   Response& err) {
  auto it = q.find(name);
  if (it == q.end()) return true;
  const std::string& v = it->second;
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("parameter '", name, "' must be a non-negative integer"));
    return false;
  }
  out = std::stoull(v);
  return true;
}

bool OnlyParams(const std::map<std::string, std::string>& q, std::initializer_list<std::string_view> allowed,
                Response& err) {
  for (const auto& [k, v] : q) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || k == a;
    if (!ok) {
      err = ErrorResponse(400, code::kInvalidParameter, StrCat("unknown query parameter", Echo(k)));
      return false;
    }
  }
  return true;
}

json HashList(const std::vector<audit::Hash>& hs) {
  json arr = json::array();
  for (const audit::Hash& h : hs) arr.push_back(audit::HashToHex(h));
  return arr;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string SecretText(const crypto::SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

}  // namespace internal

using namespace internal;

Handler::Handler(const HandlerDeps& deps, Limits limits)
    : deps_(deps),
      limits_(limits),
      digester_(deps.query_digest_key.empty() ? access::QueryDigester::WithRandomKey()
                                              : access::QueryDigester(deps.query_digest_key)),
      engine_(*deps.policy, *deps.index),
      iam_mu_(deps.iam_mutex != nullptr ? *deps.iam_mutex : own_iam_mu_),
      gate_(access::GateDeps{deps.store, deps.policy, deps.index, deps.audit, deps.guard, deps.accounts, &store_mu_},
            access::GateOptions{.read_store = true,
                                .on_audit_append = [this](int64_t micros) { metrics_.RecordAuditAppend(micros); }}) {
  deps_.query_digest_key = crypto::SecretBytes();  // the digester holds it; no second copy
  AddRoute("GET", "/v1/healthz", Access::kPublic, &Handler::Healthz);
  AddRoute("GET", "/healthz", Access::kPublic, &Handler::Healthz);
  AddRoute("GET", "/metrics", Access::kPublic, &Handler::MetricsText);
  AddRoute("GET", "/openapi.json", Access::kPublic, &Handler::OpenApi);
  AddRoute("POST", "/v1/sessions", Access::kPublic, &Handler::Login);
  AddRoute("GET", "/v1/sessions", Access::kOwnSessions, &Handler::ListSessions);
  AddRoute("DELETE", "/v1/sessions/current", Access::kOwnSessions, &Handler::Logout);
  AddRoute("POST", "/v1/sessions/step-up", Access::kCaller, &Handler::StepUp);
  AddRoute("POST", "/v1/sessions/password", Access::kPublic, &Handler::ChangePassword);
  AddRoute("GET", "/v1/alerts", Access::kCaller, &Handler::ListAlerts);
  AddRoute("GET", "/v1/people/caseload", Access::kCaller, &Handler::Caseload);  // before /v1/people/{id}
  AddRoute("GET", "/v1/people/search", Access::kCaller, &Handler::SearchPeople);
  AddRoute("GET", "/v1/people/{id}", Access::kCaller, &Handler::ReadPerson);
  AddRoute("POST", "/v1/people/{id}/reveal", Access::kCaller, &Handler::RevealField);
  AddRoute("GET", "/v1/audit/checkpoint", Access::kCaller, &Handler::AuditCheckpoint);
  AddRoute("GET", "/v1/audit/proofs/inclusion", Access::kCaller, &Handler::AuditInclusion);
  AddRoute("GET", "/v1/audit/proofs/consistency", Access::kCaller, &Handler::AuditConsistency);
  // Administration (admin_routes.cc).
  AddRoute("GET", "/v1/accounts", Access::kCaller, &Handler::ListAccounts);
  AddRoute("POST", "/v1/accounts", Access::kCaller, &Handler::CreateAccount);
  AddRoute("GET", "/v1/accounts/{id}", Access::kCaller, &Handler::GetAccount);
  AddRoute("POST", "/v1/accounts/{id}/suspend", Access::kCaller, &Handler::SuspendAccount);
  AddRoute("POST", "/v1/accounts/{id}/reinstate", Access::kCaller, &Handler::ReinstateAccount);
  AddRoute("GET", "/v1/change-requests", Access::kCaller, &Handler::ListChangeRequests);
  AddRoute("POST", "/v1/change-requests", Access::kCaller, &Handler::FileChangeRequest);
  AddRoute("GET", "/v1/change-requests/{id}", Access::kCaller, &Handler::GetChangeRequest);
  AddRoute("POST", "/v1/change-requests/{id}/approve", Access::kCaller, &Handler::ApproveChangeRequest);
  AddRoute("POST", "/v1/change-requests/{id}/reject", Access::kCaller, &Handler::RejectChangeRequest);
  AddRoute("GET", "/v1/exposure", Access::kCaller, &Handler::Exposure);
  // People and orientations (people_routes.cc; caseload and search are
  // registered above, before /v1/people/{id}: the first match wins).
  AddRoute("POST", "/v1/people", Access::kCaller, &Handler::CreatePerson);
  AddRoute("PATCH", "/v1/people/{id}", Access::kCaller, &Handler::UpdatePerson);
  AddRoute("GET", "/v1/orientations", Access::kCaller, &Handler::ListOrientations);
  AddRoute("POST", "/v1/orientations", Access::kCaller, &Handler::CreateOrientation);
  AddRoute("POST", "/v1/orientations/{id}/status", Access::kCaller, &Handler::ChangeOrientationStatus);
  AddRoute("POST", "/v1/orientations/{id}/confirm-enrolment", Access::kCaller, &Handler::ConfirmEnrolment);
}

void Handler::AddRoute(std::string method, std::string pattern, Access access, RouteFn fn) {
  std::vector<std::string> segments;
  for (std::string_view seg : SplitPath(pattern)) segments.emplace_back(seg);
  Route r{std::move(method), pattern, std::move(segments), access, fn};
  routes_.push_back(std::move(r));
}

Response Handler::Handle(const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  std::string route = "unmatched";
  Response r;
  try {
    r = Dispatch(request, route);
  } catch (const std::exception&) {
    // A bug (bad input is answered before anything can throw): never a trace.
    r = ErrorResponse(500, code::kInternal, "internal error");
  } catch (...) {
    r = ErrorResponse(500, code::kInternal, "internal error");
  }
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  metrics_.RecordRequest(route, r.status, us);
  return r;
}

bool Handler::AnswersLater(const Request& request) {
  constexpr std::string_view kPrefix = "/v1/people/";
  if (request.method != "GET") return false;
  const std::string_view t = request.target;
  if (t.size() <= kPrefix.size() || t.substr(0, kPrefix.size()) != kPrefix) return false;
  size_t i = kPrefix.size();
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  return i > kPrefix.size() && (i == t.size() || t[i] == '?');
}

void Handler::HandleAsync(const Request& request, Post post, std::function<void(Response)> done) {
  auto deferral = std::make_shared<Deferral>();
  deferral->start = std::chrono::steady_clock::now();
  deferral->post = std::move(post);
  deferral->done = std::move(done);
  std::string route = "unmatched";
  Response r;
  try {
    r = Dispatch(request, route, deferral);
  } catch (...) {
    r = ErrorResponse(500, code::kInternal, "internal error");
  }
  if (r.status == kAnswerLater) return;  // the posted task answers
  deferral->route = route;
  Answer(*deferral, std::move(r));
}

void Handler::Answer(Deferral& d, Response r) {
  metrics_.RecordRequest(
      d.route, r.status,
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - d.start).count());
  d.done(std::move(r));
}

void Handler::BeginAuthRound() {
  if (deps_.iam == nullptr) return;
  std::lock_guard lock(iam_mu_);
  deps_.iam->BeginReadBatch();
}

void Handler::EndAuthRound() {
  if (deps_.iam == nullptr) return;
  std::lock_guard lock(iam_mu_);
  deps_.iam->EndReadBatch();
}

void Handler::RunReleased(std::span<std::function<void()>> tasks) {
  if (tasks.empty()) return;
  if (tasks.size() == 1) return tasks[0]();  // nothing to share
  gate_.BeginReadBatch();
  for (auto& t : tasks) t();
  gate_.EndReadBatch();
}

Response Handler::Dispatch(const Request& req, std::string& route_name, std::shared_ptr<Deferral> deferral) {
  if (req.target.size() > limits_.max_target_bytes)
    return ErrorResponse(414, code::kUriTooLong, StrCat("URL longer than ", limits_.max_target_bytes, " bytes"));
  size_t header_bytes = 0;
  for (const auto& [k, v] : req.headers) header_bytes += k.size() + v.size() + 4;
  if (header_bytes > limits_.max_header_bytes)
    return ErrorResponse(431, code::kHeadersTooLarge, StrCat("headers larger than ", limits_.max_header_bytes, " bytes"));
  if (req.body.size() > limits_.max_body_bytes)
    return ErrorResponse(413, code::kPayloadTooLarge, StrCat("body larger than ", limits_.max_body_bytes, " bytes"));
  if (req.target.empty() || req.target[0] != '/')
    return ErrorResponse(400, code::kBadRequest, "the request target must be an absolute path");
  if (!IsValidUtf8(req.target)) return ErrorResponse(400, code::kInvalidUtf8, "the URL is not valid UTF-8");

  const size_t q = req.target.find('?');
  const std::string_view path = std::string_view(req.target).substr(0, q);
  const std::string_view query = q == std::string::npos ? std::string_view() : std::string_view(req.target).substr(q + 1);

  const std::vector<std::string_view> raw = SplitPath(path);
  std::vector<std::string> segs;
  segs.reserve(raw.size());
  for (std::string_view s : raw) {
    std::string d;
    if (!PercentDecode(s, false, d) || !IsValidUtf8(d) || d.find('/') != std::string::npos)
      return ErrorResponse(400, code::kBadRequest, "malformed URL path (bad percent-encoding, NUL or invalid UTF-8)");
    segs.push_back(std::move(d));
  }

  Call call(req);
  call.now = deps_.clock->NowMicros();
  if (!query.empty()) {
    size_t i = 0;
    while (i <= query.size()) {
      size_t j = query.find('&', i);
      if (j == std::string_view::npos) j = query.size();
      std::string_view part = query.substr(i, j - i);
      i = j + 1;
      if (part.empty()) continue;
      const size_t eq = part.find('=');
      std::string k, v;
      if (!PercentDecode(part.substr(0, eq), true, k) ||
          (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), true, v)) || !IsValidUtf8(k) ||
          !IsValidUtf8(v))
        return ErrorResponse(400, code::kBadRequest, "malformed query string (bad percent-encoding, NUL or invalid UTF-8)");
      if (call.query.count(k)) return ErrorResponse(400, code::kInvalidParameter, StrCat("parameter", Echo(k), " given twice"));
      call.query.emplace(std::move(k), std::move(v));
    }
  }

  const Route* match = nullptr;
  std::vector<std::string> allowed_methods;
  for (const Route& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::vector<std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      const std::string& p = r.segments[i];
      if (!p.empty() && p.front() == '{') params.push_back(segs[i]);
      else ok = p == segs[i];
    }
    if (!ok) continue;
    if (r.method != req.method) {
      allowed_methods.push_back(r.method);
      continue;
    }
    match = &r;
    call.params = std::move(params);
    break;
  }
  if (match == nullptr) {
    if (!allowed_methods.empty()) {
      std::string allow;
      for (const auto& m : allowed_methods) {
        if (!allow.empty()) allow += ", ";
        allow += m;
      }
      Response r = ErrorResponse(405, code::kMethodNotAllowed, StrCat("method not allowed; use ", allow));
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return ErrorResponse(404, code::kNotFound, "no such endpoint");
  }
  route_name = match->pattern;
  if (deferral != nullptr) {
    deferral->route = route_name;
    call.deferral = std::move(deferral);
  }
  if (match->access != Access::kPublic) {
    Response r = Authenticate(call);
    if (r.status != 0) return r;
    if (match->access == Access::kCaller && call.who->must_change_password)  // see Handler::Access
      return ErrorResponse(403, code::kPasswordChangeRequired,
                           "this account must change the password it was given before anything else: "
                           "POST /v1/sessions/password, then log in again");
  }
  return (this->*(match->fn))(call);
}

Response Handler::Authenticate(Call& c) {
  const std::string* auth = c.req.Header("authorization");
  const std::string* key = c.req.Header("x-api-key");
  if (auth != nullptr && key != nullptr)
    return ErrorResponse(400, code::kBadRequest, "send either Authorization or X-Api-Key, not both");
  StatusOr<iam::Principal> who;  // set by one branch below (no message built on the authenticated path)
  if (auth != nullptr) {
    constexpr std::string_view kBearer = "Bearer ";
    if (auth->size() <= kBearer.size() || auth->compare(0, kBearer.size(), kBearer) != 0 || auth->size() > 512) {
      Response r = ErrorResponse(401, code::kUnauthenticated, "expected 'Authorization: Bearer <session token>'");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    c.session_token = crypto::SecretBytes::FromString(std::string_view(*auth).substr(kBearer.size()));
    std::lock_guard lock(iam_mu_);
    who = deps_.iam->Authenticate(c.session_token);
    if (who.ok()) ReconcileAuthenticated(who->id, c.now);
  } else if (key != nullptr) {
    if (key->empty() || key->size() > 512) return ErrorResponse(401, code::kUnauthenticated, "invalid API key");
    c.api_key = true;
    std::lock_guard lock(iam_mu_);
    who = deps_.iam->AuthenticateApiKey(crypto::SecretBytes::FromString(*key), c.req.peer);
    if (who.ok()) ReconcileAuthenticated(who->id, c.now);
  } else {
    who = Unauthenticated("authentication required");
  }
  if (!who.ok()) {
    if (who.status().code() == absl::StatusCode::kUnavailable || who.status().code() == absl::StatusCode::kDataLoss ||
        who.status().code() == absl::StatusCode::kInternal)
      return StatusResponse(who.status());
    // Suspended, expired, revoked, wrong network, unknown: one answer, no oracle.
    Response r = ErrorResponse(401, code::kUnauthenticated,
                               auth == nullptr && key == nullptr ? "authentication required"
                                                                 : "invalid, expired or revoked credentials");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  c.who = std::move(*who);
  Response ok;
  ok.status = 0;
  return ok;
}

Response Handler::Healthz(Call&) {
  json j = {{"status", "ok"}, {"audit_entries", deps_.audit->size()}};
  return JsonResponse(200, j);
}

Response Handler::MetricsText(Call&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  const audit::LogStats stats = deps_.audit->stats();
  r.body = metrics_.Render(&stats);
  return r;
}

Response Handler::OpenApi(Call&) {
  Response r;
  r.body = std::string(OpenApiJson());
  return r;
}

namespace {

// A login's credentials from a JSON body (username, password, optional
// totp) and, when `new_password` is given, a required "new_password" too.
// The string copies made here are wiped once in SecretBytes (the parsed
// json tree, freed on return, is not: nlohmann offers no way to).
bool ParseCredentials(const Request& req, const Limits& limits, iam::LoginRequest& lr,
                      crypto::SecretBytes* new_password, Response& err) {
  json body;
  const bool ok = new_password == nullptr
                      ? ParseBody(req, limits, {"username", "password", "totp"}, body, err)
                      : ParseBody(req, limits, {"username", "password", "totp", "new_password"}, body, err);
  if (!ok) return false;
  std::string username, password, totp, fresh;
  if (!GetString(body, "username", true, 128, username, err) || !GetString(body, "password", true, 1024, password, err) ||
      !GetString(body, "totp", false, 64, totp, err) ||
      (new_password != nullptr && !GetString(body, "new_password", true, 1024, fresh, err)))
    return false;
  lr.username = username;
  lr.password = crypto::SecretBytes::FromString(password);
  lr.second_factor = crypto::SecretBytes::FromString(totp);
  lr.source_address = req.peer;
  if (new_password != nullptr) *new_password = crypto::SecretBytes::FromString(fresh);
  std::fill(password.begin(), password.end(), '\0');
  std::fill(fresh.begin(), fresh.end(), '\0');
  return true;
}

}  // namespace

Response Handler::Login(Call& c) {
  Response err;
  iam::LoginRequest lr;
  if (!ParseCredentials(c.req, limits_, lr, nullptr, err)) return err;
  StatusOr<iam::LoginResult> res = Unauthenticated("invalid credentials");
  {
    std::lock_guard lock(iam_mu_);
    res = deps_.iam->Login(lr);
  }
  if (!res.ok()) return StatusResponse(res.status());
  const iam::SessionPolicy& sp = deps_.iam->options().sessions;
  json j = {{"token", SecretText(res->session_token)},
            {"token_type", "Bearer"},
            {"account_id", res->principal.id.value()},
            {"session_id", res->principal.session_id},
            {"idle_timeout_seconds", sp.idle_timeout_us / 1'000'000},
            {"expires_at", FormatTime(c.now + sp.absolute_timeout_us)},
            {"password_change_required", res->password_change_required}};
  if (res->used_recovery_code) j["recovery_codes_left"] = res->recovery_codes_left;
  Response r = JsonResponse(201, j);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// Authenticated like a login (username, current password, TOTP when the
// account has one), not by a session: it is what a session refused with
// password_change_required is sent to, and every session of the account,
// that one included, is closed when it succeeds (iam::ChangePassword).
Response Handler::ChangePassword(Call& c) {
  Response err;
  iam::LoginRequest lr;
  crypto::SecretBytes np;
  if (!ParseCredentials(c.req, limits_, lr, &np, err)) return err;
  Status s;
  {
    std::lock_guard lock(iam_mu_);
    s = deps_.iam->ChangePassword(lr, np);
  }
  if (!s.ok()) return StatusResponse(s);
  Response r = JsonResponse(200, json{{"password_changed", true},
                                      {"sessions_closed", true},
                                      {"message", "password changed; every session of the account was closed: log in again"}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Handler::Logout(Call& c) {
  if (c.api_key) return ErrorResponse(400, code::kBadRequest, "technical accounts authenticate by API key and have no session");
  Status s;
  {
    std::lock_guard lock(iam_mu_);
    s = deps_.iam->Logout(c.session_token);
  }
  if (!s.ok()) return StatusResponse(s);
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response Handler::ListSessions(Call& c) {
  if (!c.query.empty()) return ErrorResponse(400, code::kInvalidParameter, "this endpoint takes no query parameters");
  StatusOr<std::vector<iam::Session>> list = std::vector<iam::Session>{};
  {
    std::lock_guard lock(iam_mu_);
    list = deps_.iam->ListSessions(*c.who, c.who->id);
  }
  if (!list.ok()) return StatusResponse(list.status());
  json arr = json::array();
  for (const iam::Session& s : *list) {
    arr.push_back({{"id", s.id},
                   {"created_at", FormatTime(s.created_at)},
                   {"last_seen_at", FormatTime(s.last_seen_at)},
                   {"source_address", s.source_address},
                   {"mfa", s.mfa},
                   {"current", s.id == c.who->session_id}});
  }
  return JsonResponse(200, json{{"sessions", arr}});
}

Response Handler::ReadPerson(Call& c) {
  for (const auto& [k, v] : c.query)
    if (k != "purpose") return ErrorResponse(400, code::kInvalidParameter, StrCat("unknown query parameter", Echo(k)));
  auto id = ParseId(c.params[0]);
  if (!id) return ErrorResponse(400, code::kInvalidParameter, "person id must be a positive integer");
  auto it = c.query.find("purpose");
  if (it == c.query.end()) return ErrorResponse(400, code::kInvalidParameter, "missing query parameter 'purpose'");
  return ReadPath(c, *id, it->second, nullptr, "");
}

Response Handler::RevealField(Call& c) {
  if (!c.query.empty()) return ErrorResponse(400, code::kInvalidParameter, "this endpoint takes no query parameters");
  auto id = ParseId(c.params[0]);
  if (!id) return ErrorResponse(400, code::kInvalidParameter, "person id must be a positive integer");
  json body;
  Response err;
  if (!ParseBody(c.req, limits_, {"field", "justification", "purpose"}, body, err)) return err;
  std::string field, justification, purpose;
  if (!GetString(body, "field", true, 64, field, err) || !GetString(body, "justification", false, 2000, justification, err) ||
      !GetString(body, "purpose", false, 64, purpose, err))
    return err;
  if (Trim(justification).empty())
    return ErrorResponse(400, code::kJustificationRequired, "revealing a field needs a written 'justification'");
  if (purpose.empty()) purpose = "accompaniment";
  return ReadPath(c, *id, purpose, &field, Trim(justification));
}

Response Handler::RequireAuditRole(const Call& c) const {
  if (c.who->kind == iam::AccountKind::kHuman)
    for (Role r : c.who->roles)
      if (deps_.policy->role(r).verify_audit) {
        Response ok;
        ok.status = 0;
        return ok;
      }
  return ErrorResponse(403, code::kForbidden, "the audit log's proofs need a role with verify_audit (auditor, security officer, DPO)");
}

Response Handler::AuditCheckpoint(Call& c) {
  if (Response r = RequireAuditRole(c); r.status != 0) return r;
  Response err;
  if (!OnlyParams(c.query, {}, err)) return err;
  // Signs a new checkpoint only if entries are not covered yet (durable).
  StatusOr<audit::SignedCheckpoint> cp = deps_.audit->IssueCheckpoint();
  if (!cp.ok()) return StatusResponse(IOError("audit"));
  return JsonResponse(200, json{{"origin", cp->checkpoint.origin},
                                {"size", cp->checkpoint.size},
                                {"root", audit::HashToHex(cp->checkpoint.root)},
                                {"note", cp->note},
                                {"verifier_key", deps_.audit->VerifierKey()}});
}

Response Handler::AuditInclusion(Call& c) {
  if (Response r = RequireAuditRole(c); r.status != 0) return r;
  Response err;
  std::optional<uint64_t> index, size;
  if (!OnlyParams(c.query, {"index", "size"}, err) || !ParseU64Param(c.query, "index", index, err) ||
      !ParseU64Param(c.query, "size", size, err))
    return err;
  if (!index) return ErrorResponse(400, code::kInvalidParameter, "missing query parameter 'index'");
  const uint64_t n = deps_.audit->size();
  const uint64_t sz = size.value_or(n);
  if (sz > n) return ErrorResponse(400, code::kInvalidParameter, StrCat("size is larger than the log (", n, " entries)"));
  if (*index >= sz) return ErrorResponse(400, code::kInvalidParameter, "index must be smaller than size");
  auto proof = deps_.audit->InclusionProof(*index, sz);
  auto leaf = deps_.audit->LeafHash(*index);
  auto root = deps_.audit->RootAt(sz);
  if (!proof.ok() || !leaf.ok() || !root.ok()) return StatusResponse(IOError("audit"));
  return JsonResponse(200, json{{"index", *index}, {"size", sz}, {"leaf_hash", audit::HashToHex(*leaf)},
                                {"root", audit::HashToHex(*root)}, {"proof", HashList(*proof)}});
}

Response Handler::AuditConsistency(Call& c) {
  if (Response r = RequireAuditRole(c); r.status != 0) return r;
  Response err;
  std::optional<uint64_t> from, to;
  if (!OnlyParams(c.query, {"from", "to"}, err) || !ParseU64Param(c.query, "from", from, err) ||
      !ParseU64Param(c.query, "to", to, err))
    return err;
  if (!from) return ErrorResponse(400, code::kInvalidParameter, "missing query parameter 'from'");
  const uint64_t n = deps_.audit->size();
  const uint64_t t = to.value_or(n);
  if (t > n) return ErrorResponse(400, code::kInvalidParameter, StrCat("'to' is larger than the log (", n, " entries)"));
  if (*from == 0 || *from > t) return ErrorResponse(400, code::kInvalidParameter, "need 0 < from <= to");
  auto proof = deps_.audit->ConsistencyProof(*from, t);
  auto r1 = deps_.audit->RootAt(*from);
  auto r2 = deps_.audit->RootAt(t);
  if (!proof.ok() || !r1.ok() || !r2.ok()) return StatusResponse(IOError("audit"));
  return JsonResponse(200, json{{"from", *from}, {"to", t}, {"from_root", audit::HashToHex(*r1)},
                                {"to_root", audit::HashToHex(*r2)}, {"proof", HashList(*proof)}});
}

QuotaLimits Handler::LimitsFor(const Call& c) const {
  return access::QuotaLimitsFor(*deps_.policy, iam::ToPolicyPrincipal(*c.who), c.who->daily_read_quota);
}

Status Handler::AppendAudit(const audit::Event& e) {
  const auto start = std::chrono::steady_clock::now();
  StatusOr<uint64_t> idx = deps_.audit->Append(e);
  metrics_.RecordAuditAppend(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
  return idx.status();
}

Response Handler::ReadPath(Call& c, int64_t person_id, std::string_view purpose_name, const std::string* reveal_field,
                           std::string_view justification) {
  access::ReadRequest rq;
  rq.person = PersonId(person_id);
  rq.purpose = purpose_name;
  rq.reveal_field = reveal_field;
  rq.justification = justification;
  rq.now = c.now;
  const bool reveal = reveal_field != nullptr;
  if (c.deferral == nullptr) return ReadAnswer(gate_.Read(CallerFor(c), rq), person_id, purpose_name, reveal, c.now);

  // HandleAsync: the same path, but this thread does not wait for the sync.
  auto caller = std::make_shared<access::Caller>(CallerFor(c));
  auto pending = std::make_shared<access::PendingRead>();
  access::ReadResult done;
  if (gate_.Begin(*caller, rq, &done, pending.get())) return ReadAnswer(done, person_id, purpose_name, reveal, c.now);
  const auto appended_at = std::chrono::steady_clock::now();
  std::shared_ptr<Deferral> deferral = c.deferral;
  // AppendAsync encodes the entry before anything else; `pending` lives on
  // in the callback, and only the posted task moves it.
  deps_.audit->AppendAsync(
      pending->entry, [this, deferral, caller, pending, person_id, purpose = std::string(purpose_name),
              reveal, now = c.now, appended_at](StatusOr<uint64_t> appended) mutable {
        metrics_.RecordAuditAppend(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - appended_at)
                                       .count());
        // On the audit log's syncer thread: the rest (store read, decrypt,
        // JSON) goes back to the caller's thread.
        deferral->post([this, deferral, caller, pending, person_id, purpose = std::move(purpose), reveal, now,
                        status = appended.status()]() mutable {
          Response r;
          try {
            r = ReadAnswer(gate_.Complete(*caller, std::move(*pending), status), person_id, purpose, reveal, now);
          } catch (...) {
            r = ErrorResponse(500, code::kInternal, "internal error");
          }
          Answer(*deferral, std::move(r));
        });
      });
  Response later;
  later.status = kAnswerLater;
  return later;
}

Response Handler::ReadAnswer(const access::ReadResult& res, int64_t person_id, std::string_view purpose_name,
                             bool reveal, UnixMicros now) {
  if (res.outcome != access::Outcome::kBadRequest) metrics_.RecordDecision(res.decision.allowed);

  switch (res.outcome) {
    case access::Outcome::kOk:
      break;
    case access::Outcome::kBadRequest: {
      const bool purpose_problem = res.message.find("purpose") != std::string::npos &&
                                   res.message.find("aggregates") == std::string::npos;
      // The Gate's message echoes names only when they are plain lower-case words.
      return ErrorResponse(400, purpose_problem ? code::kUnknownPurpose : code::kInvalidParameter, res.message);
    }
    case access::Outcome::kDenied: {
      // "unknown person" and "no relation" answer alike: the API must not
      // confirm that an id exists to someone who may not read it.
      const policy::DenyReason why = res.decision.deny;
      const bool hide = why == policy::DenyReason::kUnknownPerson || why == policy::DenyReason::kNoRelation;
      Response r = ErrorResponse(
          403, code::kForbidden,
          hide ? StrCat("no relation between your account and person ", person_id, " allows purpose '", purpose_name, "'")
               : res.message);
      json j = json::parse(r.body, nullptr, false);
      j["error"]["reason"] = hide ? "no_relation" : res.deny_reason;
      r.body = Dump(j);
      return r;
    }
    case access::Outcome::kQuota: {
      metrics_.RecordQuotaRefusal();
      const access::QuotaVerdict& v = res.quota;
      const int64_t retry = std::max<int64_t>(1, (v.reset_at - now + 999'999) / 1'000'000);
      Response r = ErrorResponse(429, code::kQuotaExceeded,
                                 StrCat("quota of ", v.limit, " distinct people per ", v.window,
                                        " reached; try again after ", FormatTime(v.reset_at)));
      json j = json::parse(r.body, nullptr, false);
      j["error"]["window"] = v.window;
      j["error"]["limit"] = v.limit;
      j["error"]["reset_at"] = FormatTime(v.reset_at);
      j["error"]["retry_after_seconds"] = retry;
      r.body = Dump(j);
      r.headers.emplace_back("Retry-After", StrCat(retry));
      return r;
    }
    case access::Outcome::kThrottled:
    case access::Outcome::kStepUp:
    case access::Outcome::kSuspended:
      return GuardRefusal(res);
    case access::Outcome::kUnavailable:
      return StatusResponse(IOError("audit"));
    case access::Outcome::kError:
    case access::Outcome::kMissingRecord:
      // After the read entry: the caller asked for something the policy
      // allows, so this is the service's failure (503), never a 404 that
      // would read as "no such person". The Gate's message names no path,
      // SQL or personal value.
      return ErrorResponse(503, code::kUnavailable, res.message);
  }

  // Written directly, not through a json tree (which cost a quarter of a
  // read's instructions): the same bytes, members in name order as
  // nlohmann's std::map gives them, a field named twice taking its last value.
  const size_t n = std::min(res.field_names.size(), res.fields.size());
  // A stable insertion sort: n is at most the catalog's size (a dozen or
  // so), and std::stable_sort allocated a buffer for it on every read.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) {
    size_t j = i;
    for (; j > 0 && res.field_names[i] < res.field_names[order[j - 1]]; --j) order[j] = order[j - 1];
    order[j] = i;
  }
  Response r;
  r.status = 200;
  std::string& out = r.body;
  out.reserve(64 + 48 * n);
  out.append("{\"fields\":{");
  bool first = true;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = order[k];
    if (k + 1 < n && res.field_names[order[k + 1]] == res.field_names[i]) continue;
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(out, res.field_names[i]);
    out.push_back(':');
    AppendJsonString(out, res.fields[i]);
  }
  out.append("},\"id\":");
  out.append(StrCat(person_id));
  out.append(",\"purpose\":");
  AppendJsonString(out, purpose_name);
  if (reveal) {
    out.append(",\"revealed\":[");
    for (size_t i = 0; i < res.revealed.size(); ++i) {
      if (i) out.push_back(',');
      AppendJsonString(out, res.revealed[i]);
    }
    out.push_back(']');
  }
  out.append(",\"rule\":");
  AppendJsonString(out, res.rule_id);
  out.push_back('}');
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace cloison::api
