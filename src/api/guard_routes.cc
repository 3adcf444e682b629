// The guard's side of api::Handler (declared in handler.h):
//
//   POST /v1/sessions/step-up   {"totp": "123456"}: a fresh TOTP code for the
//                               current session; the guard's step-up verdicts
//                               are then satisfied for step_up_seconds
//   GET  /v1/alerts             the guard's alerts on accounts of the
//                               caller's structure and below (security
//                               officers and DPOs), newest first, paginated
//
// and what keeps the guard's picture of the accounts current: SyncGuard,
// AccountChanged (after the API's own account changes), the reconciliation
// of reinstatements, and the Gate caller / refusal mapping shared by the
// read path and the listings.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "api/guard_support.h"
#include "api/handler.h"
#include "api/handler_internal.h"
#include "core/strings.h"
#include "iam/policy_principal.h"

namespace cloison::api {

using nlohmann::json;
using namespace internal;

namespace {

constexpr std::string_view kStepUpPath = "/v1/sessions/step-up";
constexpr int64_t kMaxAlertPage = 100;
// An under-alert account's requests look for an out-of-band reinstatement
// at most this often (a SQLite query of the approved requests).
constexpr int64_t kReinstateCheckMicros = 5'000'000;

}  // namespace

// ------------------------------------------------------------ the Gate's caller

access::Caller Handler::CallerFor(const Call& c) {
  access::Caller caller;
  caller.principal = iam::ToPolicyPrincipal(*c.who);
  caller.session = c.api_key ? "api_key" : StrCat(c.who->session_id);
  caller.source = c.req.peer;
  caller.quota = LimitsFor(c);
  if (!c.api_key) {
    std::lock_guard lock(step_up_mu_);
    auto it = step_up_until_.find(c.who->session_id);
    caller.step_up_done = it != step_up_until_.end() && c.now < it->second;
  }
  return caller;
}

Response Handler::GuardRefusal(const access::ReadResult& res) {
  metrics_.RecordGuardRefusal(std::string(guard::ActionName(res.verdict.action)));
  // The explanation stays in the audit log for the security officer; the
  // caller learns only what to do next.
  if (res.outcome == access::Outcome::kThrottled) return ErrorResponse(429, code::kGuardThrottled, res.message);
  if (res.outcome == access::Outcome::kSuspended) return ErrorResponse(403, code::kAccountSuspended, res.message);
  Response r = ErrorResponse(401, code::kStepUpRequired,
                             StrCat(res.message, ": POST ", kStepUpPath, " with {\"totp\": \"<current code>\"}, then retry"));
  json j = json::parse(r.body, nullptr, false);
  j["error"]["step_up"] = {{"method", "POST"}, {"path", std::string(kStepUpPath)}};
  r.body = Dump(j);
  // RFC 9470 (OAuth 2.0 step-up authentication challenge).
  r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"insufficient_user_authentication\"");
  return r;
}

// ------------------------------------------------------------------ step-up

Response Handler::StepUp(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {}, err)) return err;
  if (c.api_key)
    return ErrorResponse(403, code::kStepUpUnavailable,
                         "technical accounts have no second factor and cannot step up; a security officer reviews "
                         "the guard's alert");
  json body;
  std::string totp;
  if (!ParseBody(c.req, limits_, {"totp"}, body, err) || !GetString(body, "totp", true, 64, totp, err)) return err;
  StatusOr<iam::Principal> who = Unauthenticated("");
  {
    std::lock_guard lock(iam_mu_);
    who = deps_.iam->StepUp(c.session_token, crypto::SecretBytes::FromString(Trim(totp)), c.req.peer);
  }
  if (!who.ok()) {
    const Status& s = who.status();
    if (s.code() == absl::StatusCode::kFailedPrecondition || s.code() == absl::StatusCode::kPermissionDenied)
      return ErrorResponse(403, code::kStepUpUnavailable, MessageOf(s));
    if (s.code() == absl::StatusCode::kUnauthenticated) {
      // A wrong, replayed or expired code; or throttled; iam's message says which.
      Response r = ErrorResponse(401, code::kUnauthenticated, MessageOf(s));
      r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"insufficient_user_authentication\"");
      return r;
    }
    return StatusResponse(s);
  }
  const UnixMicros until = c.now + deps_.step_up_seconds * 1'000'000;
  {
    std::lock_guard lock(step_up_mu_);
    if (step_up_until_.size() > 4096)
      std::erase_if(step_up_until_, [&](const auto& kv) { return kv.second <= c.now; });
    step_up_until_[who->session_id] = until;
  }
  Response r = JsonResponse(200, json{{"session_id", who->session_id},
                                      {"stepped_up_until", FormatTime(until)},
                                      {"step_up_seconds", deps_.step_up_seconds}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// ------------------------------------------------------------------ alerts

Response Handler::ListAlerts(Call& c) {
  bool allowed = false;
  if (c.who->kind == iam::AccountKind::kHuman)
    for (Role r : c.who->roles) allowed = allowed || r == Role::kSecurityOfficer || r == Role::kDpo;
  if (!allowed)
    return ErrorResponse(403, code::kForbidden,
                         "the guard's alerts are for security officers (who act on them) and DPOs (who assess "
                         "breaches)");
  Response err;
  if (!OnlyParams(c.query, {"since", "account", "page", "page_size"}, err)) return err;
  UnixMicros since = 0;
  if (auto it = c.query.find("since"); it != c.query.end()) {
    auto t = ParseIsoTime(it->second);
    if (!t)
      return ErrorResponse(400, code::kInvalidParameter,
                           "'since' must be an ISO-8601 date or UTC time, e.g. 2025-10-09 or 2025-10-09T12:00:00Z");
    since = *t;
  }
  std::optional<uint64_t> page_param, size_param;
  if (!ParseU64Param(c.query, "page", page_param, err) || !ParseU64Param(c.query, "page_size", size_param, err))
    return err;
  const int64_t page = static_cast<int64_t>(page_param.value_or(1));
  const int64_t size = static_cast<int64_t>(size_param.value_or(20));
  if (page < 1 || page > 1'000'000) return ErrorResponse(400, code::kInvalidParameter, "'page' must be between 1 and 1000000");
  if (size < 1 || size > kMaxAlertPage)
    return ErrorResponse(400, code::kInvalidParameter, StrCat("'page_size' must be between 1 and ", kMaxAlertPage));
  if (deps_.guard == nullptr)
    return ErrorResponse(404, code::kNotFound, "this server runs without the guard: there are no alerts");

  std::unordered_map<int64_t, iam::Account> accounts;
  std::optional<AccountId> only;
  {
    std::lock_guard lock(iam_mu_);
    if (deps_.account_repo != nullptr) {
      auto all = deps_.account_repo->ListAccounts();
      if (!all.ok()) return StatusResponse(IOError("iam"));
      for (iam::Account& a : *all) accounts.emplace(a.id.value(), std::move(a));
    } else {
      // Without the repository, the accounts iam lets the caller see.
      auto mine = deps_.iam->ListAccounts(*c.who);
      if (!mine.ok()) return StatusResponse(mine.status());
      for (iam::Account& a : *mine) accounts.emplace(a.id.value(), std::move(a));
    }
  }
  const Tree tree(*deps_.index);
  auto in_scope = [&](int64_t id) {
    auto it = accounts.find(id);
    return it != accounts.end() && tree.AtOrBelow(it->second.structure, c.who->structure);
  };
  if (auto it = c.query.find("account"); it != c.query.end()) {
    const std::string& v = it->second;
    std::optional<int64_t> id = ParseId(v);
    if (!id)
      for (const auto& [aid, a] : accounts)
        if (a.username == v) id = aid;
    // Unknown and out of scope answer alike.
    if (!id || !in_scope(*id))
      return ErrorResponse(404, code::kNotFound, StrCat("no account", Echo(v), " in your structures"));
    only = AccountId(*id);
  }

  std::vector<guard::Alert> alerts = deps_.guard->Alerts(since);
  std::erase_if(alerts, [&](const guard::Alert& a) {
    return (only && a.account != *only) || !in_scope(a.account.value());
  });
  std::sort(alerts.begin(), alerts.end(), [](const guard::Alert& x, const guard::Alert& y) {
    return std::max(x.time, x.last_time) != std::max(y.time, y.last_time)
               ? std::max(x.time, x.last_time) > std::max(y.time, y.last_time)
               : x.id > y.id;
  });
  const int64_t total = static_cast<int64_t>(alerts.size());
  const int64_t begin = std::min(total, (page - 1) * size);
  const int64_t end = std::min(total, begin + size);
  json arr = json::array();
  for (int64_t i = begin; i < end; ++i) {
    const guard::Alert& a = alerts[static_cast<size_t>(i)];
    const iam::Account& acc = accounts.at(a.account.value());
    arr.push_back({{"id", a.id},
                   {"time", FormatTime(a.time)},
                   {"last_time", FormatTime(std::max(a.time, a.last_time))},
                   {"account_id", a.account.value()},
                   {"username", acc.username},
                   {"structure", deps_.index->StructureCode(acc.structure)},
                   {"action", std::string(guard::ActionName(a.action))},
                   {"score", std::round(a.score * 100) / 100},
                   {"explanation", a.explanation},
                   {"signals", a.signals},
                   {"repeats", a.repeats}});
  }
  Response r = JsonResponse(200, json{{"page", page}, {"page_size", size}, {"total", total}, {"alerts", arr}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// ------------------------------------------------------------ keeping the guard current

std::optional<Structure> Handler::StructureOf(StructureId id) {
  {
    std::lock_guard lock(guard_sync_mu_);
    auto it = structures_.find(id.value());
    if (it != structures_.end()) return it->second;
  }
  StatusOr<std::vector<Structure>> list = std::vector<Structure>{};
  {
    std::lock_guard lock(store_mu_);
    list = deps_.store->ListStructures();
  }
  if (!list.ok()) return std::nullopt;
  std::lock_guard lock(guard_sync_mu_);
  for (Structure& s : *list) structures_[s.id.value()] = std::move(s);
  auto it = structures_.find(id.value());
  if (it == structures_.end()) return std::nullopt;
  return it->second;
}

void Handler::AccountChanged(AccountId account, bool reinstated) {
  if (deps_.guard == nullptr || deps_.account_repo == nullptr) return;
  StatusOr<iam::Account> a = NotFound("");
  {
    std::lock_guard lock(iam_mu_);
    a = deps_.account_repo->GetAccount(account);
  }
  if (!a.ok()) return;  // the next SyncGuard registers it
  const std::optional<Structure> s = StructureOf(a->structure);
  const UnixMicros now = deps_.clock->NowMicros();
  deps_.guard->RegisterAccount(GuardProfile(*a, s ? &*s : nullptr, now));
  if (reinstated) deps_.guard->Clear(account);
  std::lock_guard lock(guard_sync_mu_);
  registered_[account.value()] = {a->updated_at, a->InProbation(now)};
}

void Handler::ReconcileReinstatements(const std::vector<iam::ChangeRequest>& approved,
                                      const std::unordered_map<int64_t, bool>& active, GuardSync& out) {
  std::vector<const iam::ChangeRequest*> todo;
  UnixMicros earliest = INT64_MAX;
  {
    std::lock_guard lock(guard_sync_mu_);
    for (const iam::ChangeRequest& r : approved) {
      if (r.status != iam::RequestStatus::kApproved || r.spec.kind != iam::ChangeKind::kReenableAccount ||
          !r.spec.target.valid() || reinstatements_seen_.count(r.id))
        continue;
      auto it = active.find(r.spec.target.value());
      if (it == active.end()) continue;  // not looked at: another call knows the account
      reinstatements_seen_.insert(r.id);
      if (!it->second) continue;  // suspended again since: nothing to clear
      todo.push_back(&r);
      earliest = std::min(earliest, r.decided_at);
    }
  }
  if (todo.empty()) return;
  // The latest alert of each account since the earliest reinstatement: an
  // alert after its reinstatement is a new one and stays.
  std::unordered_map<int64_t, UnixMicros> latest;
  for (const guard::Alert& a : deps_.guard->Alerts(earliest)) {
    UnixMicros& t = latest[a.account.value()];
    t = std::max({t, a.time, a.last_time});
  }
  for (const iam::ChangeRequest* r : todo) {
    const AccountId who = r->spec.target;
    if (!deps_.guard->UnderAlert(who)) continue;
    auto it = latest.find(who.value());
    if (it != latest.end() && it->second > r->decided_at) continue;
    deps_.guard->Clear(who);
    ++out.cleared;
  }
}

void Handler::ReconcileAuthenticated(AccountId account, UnixMicros now) {
  if (deps_.guard == nullptr || deps_.account_repo == nullptr || !deps_.guard->UnderAlert(account)) return;
  {
    std::lock_guard lock(guard_sync_mu_);
    UnixMicros& last = reinstate_checked_[account.value()];
    if (last != 0 && now - last < kReinstateCheckMicros) return;
    last = now;
    if (reinstate_checked_.size() > 4096)
      std::erase_if(reinstate_checked_, [&](const auto& kv) { return now - kv.second >= kReinstateCheckMicros; });
  }
  auto approved = deps_.account_repo->ListRequests(iam::RequestStatus::kApproved);
  if (!approved.ok()) return;
  GuardSync ignored;
  ReconcileReinstatements(*approved, {{account.value(), true}}, ignored);
}

StatusOr<Handler::GuardSync> Handler::SyncGuard() {
  GuardSync out;
  if (deps_.guard == nullptr || deps_.account_repo == nullptr) return out;
  StatusOr<std::vector<iam::Account>> accounts = std::vector<iam::Account>{};
  StatusOr<std::vector<iam::ChangeRequest>> approved = std::vector<iam::ChangeRequest>{};
  {
    std::lock_guard lock(iam_mu_);
    accounts = deps_.account_repo->ListAccounts();
    if (accounts.ok()) approved = deps_.account_repo->ListRequests(iam::RequestStatus::kApproved);
  }
  CLOISON_RETURN_IF_ERROR(accounts.status());
  CLOISON_RETURN_IF_ERROR(approved.status());
  StatusOr<std::vector<Structure>> structures = std::vector<Structure>{};
  {
    std::lock_guard lock(store_mu_);
    structures = deps_.store->ListStructures();
  }
  CLOISON_RETURN_IF_ERROR(structures.status());

  const UnixMicros now = deps_.clock->NowMicros();
  std::unordered_map<int64_t, bool> active;
  {
    std::lock_guard lock(guard_sync_mu_);
    for (Structure& s : *structures) structures_[s.id.value()] = std::move(s);
    for (const iam::Account& a : *accounts) {
      active[a.id.value()] = a.status == iam::AccountStatus::kActive;
      const Registered now_state{a.updated_at, a.InProbation(now)};
      auto it = registered_.find(a.id.value());
      if (it != registered_.end() && it->second.updated_at == now_state.updated_at &&
          it->second.probation == now_state.probation)
        continue;
      auto st = structures_.find(a.structure.value());
      deps_.guard->RegisterAccount(GuardProfile(a, st == structures_.end() ? nullptr : &st->second, now));
      registered_[a.id.value()] = now_state;
      ++out.registered;
    }
  }
  ReconcileReinstatements(*approved, active, out);
  return out;
}

}  // namespace cloison::api
