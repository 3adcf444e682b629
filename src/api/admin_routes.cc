// Administration routes of api::Handler: accounts, change requests (dual
// control) and the exposure report. See docs/api.md, "Administration".
//
// Every decision is iam's (src/iam/service.h): who manages which structure,
// what needs a change request, who may approve, MFA for privileged acts,
// separation of duties. These routes only parse and check input, call iam
// under iam_mu_, and map its Status to HTTP (IamError below):
//   InvalidArgument 400, PermissionDenied 403 (with a stable code naming the
//   dual-control rule), NotFound 404, FailedPrecondition / AlreadyExists 409.
// iam's messages are written for callers and are echoed; store messages are
// not.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "api/handler.h"
#include "api/handler_internal.h"
#include "core/date.h"
#include "core/strings.h"
#include "exposure/audit_usage.h"
#include "exposure/exposure.h"
#include "exposure/report_json.h"

namespace cloison::api {

using nlohmann::json;
using namespace internal;

namespace {

constexpr int64_t kDayUs = 86'400LL * 1'000'000;
constexpr size_t kMaxReason = 2000;

json TimeOrNull(UnixMicros t) { return t == 0 ? json(nullptr) : json(FormatTime(t)); }
json IdOrNull(const std::optional<AccountId>& id) { return id ? json(id->value()) : json(nullptr); }

json RolesJson(const std::vector<Role>& roles) {
  json a = json::array();
  for (Role r : roles) a.push_back(std::string(RoleName(r)));
  return a;
}

json AccountJson(const iam::Account& a, const policy::RelationIndex& index, UnixMicros now) {
  json j = {{"id", a.id.value()},
            {"username", a.username},
            {"display_name", a.display_name},
            {"kind", std::string(iam::AccountKindName(a.kind))},
            {"status", std::string(iam::AccountStatusName(a.status))},
            {"structure_id", a.structure.value()},
            {"structure", index.StructureCode(a.structure)},
            {"roles", RolesJson(a.roles)},
            {"probation", a.InProbation(now)},
            {"probation_until", TimeOrNull(a.probation_until)},
            {"created_at", TimeOrNull(a.created_at)},
            {"updated_at", TimeOrNull(a.updated_at)},
            {"created_by", IdOrNull(a.created_by)},
            {"approved_by", IdOrNull(a.approved_by)},
            {"last_modified_by", IdOrNull(a.last_modified_by)},
            {"daily_read_quota", a.daily_read_quota},
            {"must_change_password", a.must_change_password}};
  if (a.kind == iam::AccountKind::kTechnical)
    j["technical"] = {{"purpose", a.technical.purpose},
                      {"scopes", a.technical.scopes},
                      {"networks", a.technical.networks},
                      {"expires_at", TimeOrNull(a.technical.expires_at)}};
  return j;
}

json RequestJson(const iam::ChangeRequest& r, const policy::RelationIndex& index) {
  const iam::ChangeSpec& s = r.spec;
  json spec = json::object();
  if (!s.username.empty()) spec["username"] = s.username;
  if (!s.roles.empty()) spec["roles"] = RolesJson(s.roles);
  if (!s.purpose.empty()) spec["purpose"] = s.purpose;
  if (!s.scopes.empty()) spec["scopes"] = s.scopes;
  if (!s.networks.empty()) spec["networks"] = s.networks;
  if (s.expires_at) spec["expires_at"] = FormatTime(*s.expires_at);
  if (s.quota) spec["quota"] = *s.quota;
  if (!s.subject.empty()) spec["subject"] = s.subject;
  return {{"id", r.id},
          {"kind", std::string(iam::ChangeKindName(s.kind))},
          {"status", std::string(iam::RequestStatusName(r.status))},
          {"description", s.Describe()},
          {"account", s.target.valid() ? json(s.target.value()) : json(nullptr)},
          {"structure_id", s.structure.value()},
          {"structure", index.StructureCode(s.structure)},
          {"spec", spec},
          {"requester", r.requester.value()},
          {"reason", r.reason},
          {"created_at", TimeOrNull(r.created_at)},
          {"expires_at", TimeOrNull(r.expires_at)},
          {"decided_by", IdOrNull(r.decided_by)},
          {"decided_at", TimeOrNull(r.decided_at)},
          {"decision_note", r.decision_note}};
}

// The stable code of an iam refusal (PermissionDenied), from the rule its
// message names. Coupled to iam's messages on purpose: admin_routes_test
// checks each code, so a reworded message is caught, never silently
// "forbidden".
std::string_view RefusalCode(std::string_view m) {
  auto has = [&](std::string_view s) { return m.find(s) != std::string_view::npos; };
  if (has("cannot approve its own request") || has("cannot approve a change to itself")) return "self_approval";
  if (has("only a security officer can approve")) return "approver_role_required";
  if (has("in probation cannot approve")) return "approver_in_probation";
  if (has("must sit at the parent level") || has("must sit in root structure")) return "approver_not_above";
  if (has("by the requester")) return "approver_not_independent";
  if (has("second factor")) return "mfa_required";
  if (has("does not manage accounts of structure")) return "not_account_manager";
  if (has("technical accounts cannot administer")) return "technical_account";
  return code::kForbidden;
}

// iam quotes some input back ("bad scope '...'", "not a network address
// '...'"). Quoted text is echoed only when it is a short token of safe
// characters; anything else (markup, quotes, control bytes, long values)
// becomes "(not shown)", as the API promises for attacker-supplied names.
std::string SafeMessage(std::string_view m) {
  std::string out;
  size_t i = 0;
  while (i < m.size()) {
    const size_t open = m.find('\'', i);
    const size_t close = open == std::string_view::npos ? open : m.find('\'', open + 1);
    if (close == std::string_view::npos) {
      out.append(m.substr(i));
      break;
    }
    const std::string_view inner = m.substr(open + 1, close - open - 1);
    bool safe = inner.size() <= 64;
    for (char ch : inner)
      safe = safe && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '_' || ch == '-' || ch == ':' || ch == '/' || ch == ' ');
    out.append(m.substr(i, open + 1 - i));
    out.append(safe ? inner : std::string_view("(not shown)"));
    out.push_back('\'');
    i = close + 1;
  }
  return out;
}

// iam Status -> answer (see the file comment).
Response IamError(const Status& s) {
  const std::string m = SafeMessage(MessageOf(s));
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorResponse(400, m.rfind("separation of duties", 0) == 0 ? "separation_of_duties" : code::kInvalidParameter,
                           m);
    case absl::StatusCode::kPermissionDenied:
      return ErrorResponse(403, RefusalCode(m), m);
    case absl::StatusCode::kNotFound:
      return ErrorResponse(404, code::kNotFound, m);
    case absl::StatusCode::kFailedPrecondition:
      return ErrorResponse(409, "failed_precondition", m);
    case absl::StatusCode::kAlreadyExists:
      // The repository's own constraint messages name tables: not echoed.
      return ErrorResponse(409, "already_exists", m.rfind("iam:", 0) == 0 ? std::string("already exists") : m);
    default:
      return StatusResponse(s);
  }
}

bool IsHuman(const Handler::Call& c) { return c.who->kind == iam::AccountKind::kHuman; }

Response TechnicalRefused() {
  return ErrorResponse(403, "technical_account", "technical accounts cannot administer accounts or change requests");
}

// An integer member in [min, max]. Missing and optional: true, `out` unset.
bool GetInt(const json& j, std::string_view key, bool required, int64_t min, int64_t max, std::optional<int64_t>& out,
            Response& err) {
  auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) {
    if (!required) return true;
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("missing field '", key, "'"));
    return false;
  }
  if (!it->is_number_integer()) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' must be an integer"));
    return false;
  }
  bool in_range;
  int64_t v = 0;
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    in_range = u <= static_cast<uint64_t>(max);
    v = in_range ? static_cast<int64_t>(u) : 0;
  } else {
    v = it->get<int64_t>();
    in_range = v >= min && v <= max;
  }
  if (!in_range || v < min) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' must be between ", min, " and ", max));
    return false;
  }
  out = v;
  return true;
}

// An array of strings (each 1..max_len bytes, no NUL), at most max_items.
bool GetStrings(const json& j, std::string_view key, bool required, size_t max_items, size_t max_len,
                std::vector<std::string>& out, Response& err) {
  auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) {
    if (!required) return true;
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("missing field '", key, "'"));
    return false;
  }
  auto bad = [&](std::string_view what) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' ", what));
    return false;
  };
  if (!it->is_array()) return bad("must be an array of strings");
  if (it->size() > max_items) return bad(StrCat("has more than ", max_items, " items"));
  for (const json& x : *it) {
    if (!x.is_string()) return bad("must be an array of strings");
    std::string s = x.get<std::string>();
    if (s.empty() || s.size() > max_len) return bad(StrCat("items must have 1 to ", max_len, " bytes"));
    if (s.find('\0') != std::string::npos) return bad("contains a NUL character");
    out.push_back(std::move(s));
  }
  return true;
}

// A mandatory, non-blank reason (`key`, default "reason").
bool GetReason(const json& j, std::string& out, Response& err, std::string_view key = "reason") {
  if (!GetString(j, key, true, kMaxReason, out, err)) return false;
  if (Trim(out).empty()) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' must not be blank: say why"));
    return false;
  }
  return true;
}

// Members present in `j` that `kind` does not take: 400 naming the first.
bool RefuseMembers(const json& j, std::initializer_list<std::string_view> members, std::string_view kind,
                   Response& err) {
  for (std::string_view m : members) {
    auto it = j.find(std::string(m));
    if (it != j.end() && !it->is_null()) {
      err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", m, "' does not apply to ", kind));
      return true;
    }
  }
  return false;
}

bool StructureFrom(const json& body, const Tree& tree, StructureId& out, Response& err) {
  std::string code;
  if (!GetString(body, "structure", true, 64, code, err)) return false;
  auto id = tree.ByCode(code);
  if (!id) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("unknown structure code", Echo(code)));
    return false;
  }
  out = *id;
  return true;
}

bool IdParam(const Handler::Call& c, std::string_view what, int64_t& out, Response& err) {
  auto id = ParseId(c.params[0]);
  if (!id) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat(what, " id must be a positive integer"));
    return false;
  }
  out = *id;
  return true;
}

// A body may be absent (no note); if present it must be a JSON object.
bool OptionalBody(const Request& req, const Limits& limits, std::initializer_list<std::string_view> allowed, json& out,
                  Response& err) {
  if (Trim(req.body).empty() && req.body.size() < 64) {
    out = json::object();
    return true;
  }
  return ParseBody(req, limits, allowed, out, err);
}

}  // namespace

// ------------------------------------------------------------------ accounts

Response Handler::ListAccounts(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {"created_by", "status", "kind"}, err)) return err;
  std::optional<int64_t> created_by;
  std::optional<iam::AccountStatus> status;
  std::optional<iam::AccountKind> kind;
  if (auto it = c.query.find("created_by"); it != c.query.end()) {
    created_by = ParseId(it->second);
    if (!created_by)
      return ErrorResponse(400, code::kInvalidParameter, "parameter 'created_by' must be a positive account id");
  }
  if (auto it = c.query.find("status"); it != c.query.end()) {
    status = iam::ParseAccountStatus(it->second);
    if (!status)
      return ErrorResponse(400, code::kInvalidParameter,
                           "parameter 'status' must be one of pending, active, suspended, rejected");
  }
  if (auto it = c.query.find("kind"); it != c.query.end()) {
    kind = iam::ParseAccountKind(it->second);
    if (!kind) return ErrorResponse(400, code::kInvalidParameter, "parameter 'kind' must be human or technical");
  }
  StatusOr<std::vector<iam::Account>> list = std::vector<iam::Account>{};
  {
    std::lock_guard lock(iam_mu_);
    list = created_by ? deps_.iam->AccountsCreatedBy(*c.who, AccountId(*created_by)) : deps_.iam->ListAccounts(*c.who);
  }
  if (!list.ok()) return IamError(list.status());
  json arr = json::array();
  for (const iam::Account& a : *list) {
    if (status && a.status != *status) continue;
    if (kind && a.kind != *kind) continue;
    arr.push_back(AccountJson(a, *deps_.index, c.now));
  }
  const size_t n = arr.size();
  return JsonResponse(200, json{{"accounts", std::move(arr)}, {"count", n}});
}

Response Handler::GetAccount(Call& c) {
  Response err;
  int64_t id = 0;
  if (!OnlyParams(c.query, {}, err) || !IdParam(c, "account", id, err)) return err;
  StatusOr<iam::Account> a = NotFound("");
  {
    std::lock_guard lock(iam_mu_);
    a = deps_.iam->GetAccount(*c.who, AccountId(id));
  }
  if (!a.ok()) return IamError(a.status());
  return JsonResponse(200, AccountJson(*a, *deps_.index, c.now));
}

Response Handler::CreateAccount(Call& c) {
  Response err;
  json body;
  if (!OnlyParams(c.query, {}, err) ||
      !ParseBody(c.req, limits_,
                 {"kind", "username", "display_name", "structure", "roles", "purpose", "scopes", "networks",
                  "expires_in_days", "daily_quota", "reason"},
                 body, err))
    return err;
  std::string kind_name = "human", username, display_name, reason;
  if (!GetString(body, "kind", false, 16, kind_name, err)) return err;
  std::optional<iam::AccountKind> kind = iam::ParseAccountKind(kind_name);
  if (!kind) return ErrorResponse(400, code::kInvalidParameter, "field 'kind' must be \"human\" or \"technical\"");
  if (!GetString(body, "username", true, 64, username, err) ||
      !GetString(body, "display_name", false, 200, display_name, err) || !GetReason(body, reason, err))
    return err;
  const Tree tree(*deps_.index);
  StructureId structure;
  if (!StructureFrom(body, tree, structure, err)) return err;

  StatusOr<iam::CreatedAccount> created = NotFound("");
  if (*kind == iam::AccountKind::kHuman) {
    if (RefuseMembers(body, {"purpose", "scopes", "networks", "expires_in_days", "daily_quota"}, "human accounts", err))
      return err;
    std::vector<std::string> role_names;
    if (!GetStrings(body, "roles", false, 8, 40, role_names, err)) return err;
    iam::NewHumanAccount h;
    h.structure = structure;
    h.username = username;
    h.display_name = display_name;
    for (const std::string& r : role_names) {
      auto role = ParseRole(r);
      if (!role) return ErrorResponse(400, code::kInvalidParameter, StrCat("unknown role", Echo(r), " in 'roles'"));
      h.roles.push_back(*role);
    }
    if (h.roles.empty()) h.roles.push_back(Role::kCounsellor);
    std::lock_guard lock(iam_mu_);
    created = deps_.iam->CreateHumanAccount(*c.who, h, reason);
  } else {
    if (RefuseMembers(body, {"roles"}, "technical accounts (they have scopes)", err)) return err;
    iam::NewTechnicalAccount t;
    std::optional<int64_t> days, quota;
    if (!GetString(body, "purpose", true, 64, t.purpose, err) || !GetStrings(body, "scopes", true, 32, 64, t.scopes, err) ||
        !GetStrings(body, "networks", true, 32, 64, t.networks, err) ||
        !GetInt(body, "expires_in_days", false, 1, 90, days, err) ||
        !GetInt(body, "daily_quota", false, 0, 1'000'000'000, quota, err))
      return err;
    // Purposes are policy names (lower-case words); iam only checks presence.
    if (t.purpose.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
      return ErrorResponse(400, code::kInvalidParameter,
                           "field 'purpose' must be a policy purpose name (a-z 0-9 _ -), e.g. \"ouiform-sync\"");
    t.structure = structure;
    t.username = username;
    t.display_name = display_name;
    t.expires_at = c.now + days.value_or(90) * kDayUs;
    t.daily_quota = quota.value_or(0);
    std::lock_guard lock(iam_mu_);
    created = deps_.iam->RequestTechnicalAccount(*c.who, t, reason);
  }
  if (!created.ok()) return IamError(created.status());
  AccountChanged(created->id, /*reinstated=*/false);  // the guard knows it before its first access

  json j = {{"id", created->id.value()},
            {"status", std::string(iam::AccountStatusName(created->status))},
            {"change_request_id", created->request ? json(*created->request) : json(nullptr)}};
  const std::string secret(reinterpret_cast<const char*>(created->secret.data()), created->secret.size());
  if (*kind == iam::AccountKind::kHuman) j["initial_password"] = secret;
  else j["api_key"] = secret;
  j["message"] = created->request
                     ? StrCat("pending: change request ", *created->request,
                              " takes effect once an independent security officer at the parent level approves it")
                     : std::string("active at once, in probation (low quota, referent-only reads)");
  {
    std::lock_guard lock(iam_mu_);
    auto a = deps_.iam->GetAccount(*c.who, created->id);
    if (a.ok()) j["account"] = AccountJson(*a, *deps_.index, c.now);
  }
  Response r = JsonResponse(201, j);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Location", StrCat("/v1/accounts/", created->id.value()));
  return r;
}

Response Handler::SuspendAccount(Call& c) {
  Response err;
  int64_t id = 0;
  json body;
  std::string reason;
  if (!OnlyParams(c.query, {}, err) || !IdParam(c, "account", id, err) ||
      !ParseBody(c.req, limits_, {"reason"}, body, err) || !GetReason(body, reason, err))
    return err;
  Status s;
  StatusOr<iam::Account> after = NotFound("");
  {
    std::lock_guard lock(iam_mu_);
    s = deps_.iam->Suspend(*c.who, AccountId(id), reason);
    if (s.ok() && AccountId(id) != c.who->id) after = deps_.iam->GetAccount(*c.who, AccountId(id));
  }
  if (!s.ok()) return IamError(s);
  json j = {{"id", id}, {"status", "suspended"},
            {"message", "suspended now: its sessions are closed and its credentials refused; coming back needs an "
                        "approved reinstate request"}};
  if (after.ok()) j["account"] = AccountJson(*after, *deps_.index, c.now);
  return JsonResponse(200, j);
}

Response Handler::ReinstateAccount(Call& c) {
  Response err;
  int64_t id = 0;
  json body;
  std::string reason;
  std::optional<int64_t> days;
  if (!OnlyParams(c.query, {}, err) || !IdParam(c, "account", id, err) ||
      !ParseBody(c.req, limits_, {"reason", "expires_in_days"}, body, err) || !GetReason(body, reason, err) ||
      !GetInt(body, "expires_in_days", false, 1, 90, days, err))
    return err;
  std::optional<UnixMicros> expiry;
  if (days) expiry = c.now + *days * kDayUs;
  StatusOr<iam::ChangeRequestId> rid = NotFound("");
  StatusOr<iam::ChangeRequest> req = NotFound("");
  {
    std::lock_guard lock(iam_mu_);
    rid = deps_.iam->RequestReinstate(*c.who, AccountId(id), expiry, reason);
    if (rid.ok()) req = deps_.iam->GetRequest(*rid);
  }
  if (!rid.ok()) return IamError(rid.status());
  if (!req.ok()) return IamError(req.status());
  Response r = JsonResponse(202, json{{"applied", false}, {"change_request", RequestJson(*req, *deps_.index)}});
  r.headers.emplace_back("Location", StrCat("/v1/change-requests/", *rid));
  return r;
}

// ------------------------------------------------------------------ change requests

namespace {

// Who sees a change request: its requester, the account it changes, and the
// holders of a privileged role (access manager, security officer, DPO,
// auditor) in the structure concerned or above — iam's own visibility rule
// for accounts (IamService::ListAccounts).
bool Visible(const iam::ChangeRequest& r, const iam::Principal& who, const Tree& tree) {
  if (r.requester == who.id) return true;
  if (r.spec.target.valid() && r.spec.target == who.id) return true;
  return iam::HasPrivilegedRole(who.roles) && tree.AtOrBelow(r.spec.structure, who.structure);
}

}  // namespace

Response Handler::ListChangeRequests(Call& c) {
  Response err;
  if (!IsHuman(c)) return TechnicalRefused();
  if (!OnlyParams(c.query, {"status"}, err)) return err;
  std::optional<iam::RequestStatus> status;
  if (auto it = c.query.find("status"); it != c.query.end() && it->second != "all") {
    status = iam::ParseRequestStatus(it->second);
    if (!status)
      return ErrorResponse(400, code::kInvalidParameter,
                           "parameter 'status' must be one of pending, approved, rejected, expired, cancelled, all");
  }
  StatusOr<std::vector<iam::ChangeRequest>> list = std::vector<iam::ChangeRequest>{};
  {
    std::lock_guard lock(iam_mu_);
    list = deps_.iam->ListRequests(status);
  }
  if (!list.ok()) return IamError(list.status());
  const Tree tree(*deps_.index);
  json arr = json::array();
  for (const iam::ChangeRequest& r : *list)
    if (Visible(r, *c.who, tree)) arr.push_back(RequestJson(r, *deps_.index));
  const size_t n = arr.size();
  return JsonResponse(200, json{{"change_requests", std::move(arr)}, {"count", n}});
}

Response Handler::GetChangeRequest(Call& c) {
  Response err;
  int64_t id = 0;
  if (!IsHuman(c)) return TechnicalRefused();
  if (!OnlyParams(c.query, {}, err) || !IdParam(c, "change request", id, err)) return err;
  StatusOr<iam::ChangeRequest> r = NotFound("");
  StatusOr<std::vector<iam::RequestEvent>> history = std::vector<iam::RequestEvent>{};
  {
    std::lock_guard lock(iam_mu_);
    r = deps_.iam->GetRequest(id);
    if (r.ok()) history = deps_.iam->RequestHistory(id);
  }
  if (!r.ok()) return IamError(r.status());
  // Answers an invisible request like an unknown one: no existence oracle.
  if (!Visible(*r, *c.who, Tree(*deps_.index)))
    return ErrorResponse(404, code::kNotFound, StrCat("no change request ", id));
  if (!history.ok()) return IamError(history.status());
  json j = RequestJson(*r, *deps_.index);
  json events = json::array();
  for (const iam::RequestEvent& e : *history)
    events.push_back({{"at", FormatTime(e.at)}, {"actor", IdOrNull(e.actor)}, {"event", e.event}, {"detail", e.detail}});
  j["history"] = std::move(events);
  return JsonResponse(200, j);
}

Response Handler::FileChangeRequest(Call& c) {
  Response err;
  json body;
  if (!OnlyParams(c.query, {}, err) ||
      !ParseBody(c.req, limits_,
                 {"kind", "account", "role", "quota", "scopes", "networks", "structure", "subject", "expires_in_days",
                  "reason"},
                 body, err))
    return err;
  std::string kind_name, reason;
  if (!GetString(body, "kind", true, 40, kind_name, err)) return err;
  std::optional<iam::ChangeKind> kind = iam::ParseChangeKind(kind_name);
  if (!kind)
    return ErrorResponse(400, code::kInvalidParameter,
                         "field 'kind' must be one of grant_role, raise_quota, widen_technical_access, reset_mfa, "
                         "reenable_account, bulk_export, break_glass");
  if (*kind == iam::ChangeKind::kCreateTechnicalAccount || *kind == iam::ChangeKind::kCreatePrivilegedAccount)
    return ErrorResponse(400, code::kInvalidParameter, "account creations are requested with POST /v1/accounts");
  if (!GetReason(body, reason, err)) return err;
  const std::string kind_text = StrCat("kind '", kind_name, "'");

  // Which members each kind takes; the others are refused by name.
  const bool on_account = *kind != iam::ChangeKind::kBulkExport && *kind != iam::ChangeKind::kBreakGlass;
  std::optional<int64_t> account;
  if (on_account) {
    if (RefuseMembers(body, {"structure", "subject"}, kind_text, err) ||
        !GetInt(body, "account", true, 1, 999'999'999'999'999, account, err))
      return err;
  } else if (RefuseMembers(body, {"account", "role", "quota", "scopes", "networks", "expires_in_days"}, kind_text,
                           err)) {
    return err;
  }
  if (*kind != iam::ChangeKind::kGrantRole && RefuseMembers(body, {"role"}, kind_text, err)) return err;
  if (*kind != iam::ChangeKind::kRaiseQuota && RefuseMembers(body, {"quota"}, kind_text, err)) return err;
  if (*kind != iam::ChangeKind::kWidenTechnicalAccess && RefuseMembers(body, {"scopes", "networks"}, kind_text, err))
    return err;
  if (*kind != iam::ChangeKind::kReenableAccount && RefuseMembers(body, {"expires_in_days"}, kind_text, err)) return err;

  // Filed: the request id; applied at once (a narrowing): nullopt.
  StatusOr<std::optional<iam::ChangeRequestId>> filed = std::optional<iam::ChangeRequestId>();
  const AccountId target(account.value_or(0));
  switch (*kind) {
    case iam::ChangeKind::kGrantRole: {
      std::string role_name;
      if (!GetString(body, "role", true, 40, role_name, err)) return err;
      auto role = ParseRole(role_name);
      if (!role) return ErrorResponse(400, code::kInvalidParameter, StrCat("unknown role", Echo(role_name)));
      std::lock_guard lock(iam_mu_);
      auto id = deps_.iam->RequestRoleGrant(*c.who, target, *role, reason);
      filed = id.ok() ? StatusOr<std::optional<iam::ChangeRequestId>>(std::optional(*id)) : id.status();
      break;
    }
    case iam::ChangeKind::kRaiseQuota: {
      std::optional<int64_t> quota;
      if (!GetInt(body, "quota", true, 0, 1'000'000'000, quota, err)) return err;
      std::lock_guard lock(iam_mu_);
      filed = deps_.iam->ChangeQuota(*c.who, target, *quota, reason);
      break;
    }
    case iam::ChangeKind::kWidenTechnicalAccess: {
      std::vector<std::string> scopes, networks;
      if (!GetStrings(body, "scopes", true, 32, 64, scopes, err) ||
          !GetStrings(body, "networks", true, 32, 64, networks, err))
        return err;
      std::lock_guard lock(iam_mu_);
      filed = deps_.iam->ChangeTechnicalAccess(*c.who, target, scopes, networks, reason);
      break;
    }
    case iam::ChangeKind::kResetMfa: {
      std::lock_guard lock(iam_mu_);
      auto id = deps_.iam->RequestMfaReset(*c.who, target, reason);
      filed = id.ok() ? StatusOr<std::optional<iam::ChangeRequestId>>(std::optional(*id)) : id.status();
      break;
    }
    case iam::ChangeKind::kReenableAccount: {
      std::optional<int64_t> days;
      if (!GetInt(body, "expires_in_days", false, 1, 90, days, err)) return err;
      std::optional<UnixMicros> expiry;
      if (days) expiry = c.now + *days * kDayUs;
      std::lock_guard lock(iam_mu_);
      auto id = deps_.iam->RequestReinstate(*c.who, target, expiry, reason);
      filed = id.ok() ? StatusOr<std::optional<iam::ChangeRequestId>>(std::optional(*id)) : id.status();
      break;
    }
    case iam::ChangeKind::kBulkExport:
    case iam::ChangeKind::kBreakGlass: {
      const Tree tree(*deps_.index);
      StructureId structure;
      std::string subject;
      if (!StructureFrom(body, tree, structure, err) || !GetString(body, "subject", true, 500, subject, err)) return err;
      if (Trim(subject).empty())
        return ErrorResponse(400, code::kInvalidParameter, "field 'subject' must say what is to be read");
      std::lock_guard lock(iam_mu_);
      auto id = *kind == iam::ChangeKind::kBulkExport
                    ? deps_.iam->RequestBulkExport(*c.who, structure, subject, reason)
                    : deps_.iam->RequestBreakGlass(*c.who, structure, subject, reason);
      filed = id.ok() ? StatusOr<std::optional<iam::ChangeRequestId>>(std::optional(*id)) : id.status();
      break;
    }
    case iam::ChangeKind::kCreateTechnicalAccount:
    case iam::ChangeKind::kCreatePrivilegedAccount:
      break;  // refused above
  }
  if (!filed.ok()) return IamError(filed.status());
  if (!filed->has_value())
    return JsonResponse(200, json{{"applied", true},
                                  {"change_request", nullptr},
                                  {"message", "a narrowing: applied at once, no approval needed"}});
  StatusOr<iam::ChangeRequest> req = NotFound("");
  {
    std::lock_guard lock(iam_mu_);
    req = deps_.iam->GetRequest(**filed);
  }
  if (!req.ok()) return IamError(req.status());
  Response r = JsonResponse(202, json{{"applied", false}, {"change_request", RequestJson(*req, *deps_.index)}});
  r.headers.emplace_back("Location", StrCat("/v1/change-requests/", **filed));
  return r;
}

Response Handler::ApproveChangeRequest(Call& c) {
  Response err;
  int64_t id = 0;
  json body;
  std::string note;
  if (!OnlyParams(c.query, {}, err) || !IdParam(c, "change request", id, err) ||
      !OptionalBody(c.req, limits_, {"note"}, body, err) || !GetString(body, "note", false, kMaxReason, note, err))
    return err;
  Status s;
  StatusOr<iam::ChangeRequest> after = NotFound("");
  {
    std::lock_guard lock(iam_mu_);
    s = deps_.iam->Approve(*c.who, id, note);
    if (s.ok()) after = deps_.iam->GetRequest(id);
  }
  if (!s.ok()) return IamError(s);
  if (!after.ok()) return IamError(after.status());
  // The change is applied: the guard sees the account as it now is (roles,
  // approver, activation), and a reinstatement under dual control is the
  // one way back from a guard suspension: its next access is scored afresh.
  if (after->spec.target.valid())
    AccountChanged(after->spec.target, after->spec.kind == iam::ChangeKind::kReenableAccount);
  return JsonResponse(200, json{{"change_request", RequestJson(*after, *deps_.index)}});
}

Response Handler::RejectChangeRequest(Call& c) {
  Response err;
  int64_t id = 0;
  json body;
  std::string reason;
  if (!OnlyParams(c.query, {}, err) || !IdParam(c, "change request", id, err) ||
      !ParseBody(c.req, limits_, {"reason"}, body, err) || !GetReason(body, reason, err))
    return err;
  Status s;
  StatusOr<iam::ChangeRequest> after = NotFound("");
  {
    std::lock_guard lock(iam_mu_);
    s = deps_.iam->Reject(*c.who, id, reason);
    if (s.ok()) after = deps_.iam->GetRequest(id);
  }
  if (!s.ok()) return IamError(s);
  if (!after.ok()) return IamError(after.status());
  return JsonResponse(200, json{{"change_request", RequestJson(*after, *deps_.index)}});
}

// ------------------------------------------------------------------ exposure

Response Handler::Exposure(Call& c) {
  // Security officers and DPOs: the report names accounts and how far each
  // could reach, which is the material of a security review, not of daily work.
  bool allowed = false;
  if (IsHuman(c))
    for (Role r : c.who->roles) allowed = allowed || r == Role::kSecurityOfficer || r == Role::kDpo;
  if (!allowed)
    return ErrorResponse(403, code::kForbidden, "the exposure report needs the security officer or DPO role");
  Response err;
  std::optional<uint64_t> top, window;
  if (!OnlyParams(c.query, {"top", "account", "date", "window"}, err) || !ParseU64Param(c.query, "top", top, err) ||
      !ParseU64Param(c.query, "window", window, err))
    return err;
  // As `cloison exposure --window`: days ending with `date`, 0 = do not read
  // the audit log (used stays unknown).
  constexpr uint64_t kMaxWindowDays = 3660;
  if (window && *window > kMaxWindowDays)
    return ErrorResponse(400, code::kInvalidParameter, StrCat("'window' is at most ", kMaxWindowDays, " days"));
  const int64_t window_days = static_cast<int64_t>(window.value_or(30));
  std::optional<int64_t> account_id;
  std::string account_name;
  if (auto it = c.query.find("account"); it != c.query.end()) {
    account_id = ParseId(it->second);
    if (!account_id) {
      account_name = it->second;
      if (account_name.empty() || account_name.size() > 64 ||
          account_name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
              std::string::npos)
        return ErrorResponse(400, code::kInvalidParameter, "parameter 'account' must be an account id or a username");
    }
  }
  Date today = Date::FromUnixMicros(c.now);
  if (auto it = c.query.find("date"); it != c.query.end()) {
    auto d = it->second.size() == 10 ? Date::Parse(it->second) : std::nullopt;
    if (!d) return ErrorResponse(400, code::kInvalidParameter, "parameter 'date' must be YYYY-MM-DD");
    today = *d;
  }

  // Every account is analysed (approvers above the caller are named in its
  // accounts' paths); only the caller's view (iam's ListAccounts, and store
  // agents of its structure and below) is answered.
  StatusOr<std::vector<iam::Account>> all = std::vector<iam::Account>{};
  StatusOr<std::vector<iam::Account>> view = std::vector<iam::Account>{};
  {
    std::lock_guard lock(iam_mu_);
    view = deps_.iam->ListAccounts(*c.who);
    if (view.ok()) all = deps_.account_repo != nullptr ? deps_.account_repo->ListAccounts() : *view;
  }
  if (!view.ok()) return IamError(view.status());
  if (!all.ok()) return StatusResponse(all.status());
  StatusOr<std::vector<Agent>> agents = std::vector<Agent>{};
  {
    std::lock_guard lock(store_mu_);
    agents = deps_.store->ListAgents();
  }
  if (!agents.ok()) return StatusResponse(agents.status());

  std::vector<exposure::AccountInput> inputs = exposure::InputsFrom(std::move(*all), *agents);
  const std::map<int64_t, std::string> purposes = exposure::TechnicalPurposes(inputs);
  std::unordered_set<int64_t> visible;
  for (const iam::Account& a : *view) visible.insert(a.id.value());

  // "used": what the accounts answered read over the window, from the audit
  // log this server holds. Ranks do not depend on usage, so only the
  // accounts in the caller's view (and the filter) are looked up: one index
  // query plus one entry decode per entry of theirs in the window.
  std::optional<exposure::Usage> usage;
  if (window_days > 0) {
    std::vector<exposure::AccountInput> wanted;
    for (const exposure::AccountInput& in : inputs) {
      if (in.directory_only || !visible.count(in.account.id.value())) continue;
      if (account_id && in.account.id.value() != *account_id) continue;
      if (!account_name.empty() && in.account.username != account_name) continue;
      wanted.push_back(in);
    }
    std::lock_guard lock(usage_mu_);
    if (usage_index_ == nullptr) {
      StatusOr<std::unique_ptr<audit::QueryIndex>> qi = audit::QueryIndex::Open(deps_.audit->dir() + "/index.db");
      if (!qi.ok()) return StatusResponse(IOError("audit index"));
      usage_index_ = std::move(*qi);
    }
    StatusOr<exposure::Usage> u = exposure::UsageFromAuditLog(*deps_.audit, *usage_index_, wanted,
                                                              exposure::UsageWindowEnding(today, window_days, c.now));
    if (!u.ok()) return StatusResponse(IOError("audit"));
    usage = std::move(*u);
  }

  exposure::Options opts;
  opts.now = c.now;
  opts.today = today;
  opts.usage = usage ? &*usage : nullptr;
  StatusOr<exposure::Report> report = exposure::Analyse(*deps_.policy, *deps_.index, inputs, opts);
  if (!report.ok()) return StatusResponse(report.status());

  const Tree tree(*deps_.index);
  json arr = json::array();
  int64_t in_view = 0;
  for (size_t i = 0; i < report->accounts.size(); ++i) {
    const exposure::AccountExposure& e = report->accounts[i];
    const bool seen = e.directory_only ? tree.AtOrBelow(e.structure, c.who->structure) : visible.count(e.account.value()) > 0;
    if (!seen) continue;
    if (account_id && e.account.value() != *account_id) continue;
    if (!account_name.empty() && e.username != account_name) continue;
    ++in_view;
    if (top && arr.size() >= *top) continue;
    arr.push_back(exposure::AccountJson(e, static_cast<int64_t>(i) + 1, purposes, report->usage_window));
  }
  if ((account_id || !account_name.empty()) && in_view == 0)
    return ErrorResponse(404, code::kNotFound, "no such account in your structures");
  Response r = JsonResponse(200, json{{"as_of", today.ToString()},
                                      {"people_total", report->people_total},
                                      {"accounts_analysed", report->accounts.size()},
                                      {"accounts_in_view", in_view},
                                      {"window_days", window_days},
                                      {"usage_window", report->usage_window.empty() ? json(nullptr)
                                                                                    : json(report->usage_window)},
                                      {"accounts", std::move(arr)}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace cloison::api
