#include "iam/change_request.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace cloison::iam {

namespace {
constexpr ChangeKind kAllKinds[] = {
    ChangeKind::kCreateTechnicalAccount, ChangeKind::kCreatePrivilegedAccount, ChangeKind::kReenableAccount,
    ChangeKind::kGrantRole,  ChangeKind::kWidenTechnicalAccess, ChangeKind::kRaiseQuota,
    ChangeKind::kResetMfa,   ChangeKind::kBulkExport,            ChangeKind::kBreakGlass,
};

std::string Join(const std::vector<std::string>& v) {
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + v[i];
  return o;
}
std::string JoinRoles(const std::vector<Role>& v) {
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) o += StrCat(i ? "," : "", RoleName(v[i]));
  return o;
}
}  // namespace

std::string_view ChangeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kCreateTechnicalAccount: return "create_technical_account";
    case ChangeKind::kCreatePrivilegedAccount: return "create_privileged_account";
    case ChangeKind::kReenableAccount: return "reenable_account";
    case ChangeKind::kGrantRole: return "grant_role";
    case ChangeKind::kWidenTechnicalAccess: return "widen_technical_access";
    case ChangeKind::kRaiseQuota: return "raise_quota";
    case ChangeKind::kResetMfa: return "reset_mfa";
    case ChangeKind::kBulkExport: return "bulk_export";
    case ChangeKind::kBreakGlass: return "break_glass";
  }
  return "unknown";
}

std::optional<ChangeKind> ParseChangeKind(std::string_view s) {
  for (auto k : kAllKinds)
    if (ChangeKindName(k) == s) return k;
  return std::nullopt;
}

std::string_view RequestStatusName(RequestStatus s) {
  switch (s) {
    case RequestStatus::kPending: return "pending";
    case RequestStatus::kApproved: return "approved";
    case RequestStatus::kRejected: return "rejected";
    case RequestStatus::kExpired: return "expired";
    case RequestStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::optional<RequestStatus> ParseRequestStatus(std::string_view s) {
  for (auto st : {RequestStatus::kPending, RequestStatus::kApproved, RequestStatus::kRejected, RequestStatus::kExpired,
                  RequestStatus::kCancelled})
    if (RequestStatusName(st) == s) return st;
  return std::nullopt;
}

std::string ChangeSpec::ToJson() const {
  nlohmann::json j;
  j["kind"] = std::string(ChangeKindName(kind));
  j["target"] = target.value();
  j["structure"] = structure.value();
  if (!username.empty()) j["username"] = username;
  if (!roles.empty()) {
    auto& r = j["roles"] = nlohmann::json::array();
    for (Role role : roles) r.push_back(std::string(RoleName(role)));
  }
  if (!purpose.empty()) j["purpose"] = purpose;
  if (!scopes.empty()) j["scopes"] = scopes;
  if (!networks.empty()) j["networks"] = networks;
  if (expires_at) j["expires_at"] = *expires_at;
  if (quota) j["quota"] = *quota;
  if (!subject.empty()) j["subject"] = subject;
  return j.dump();
}

StatusOr<ChangeSpec> ChangeSpec::FromJson(std::string_view json) {
  try {
    auto j = nlohmann::json::parse(json);
    ChangeSpec s;
    auto kind = ParseChangeKind(j.at("kind").get<std::string>());
    if (!kind) return Corruption("change request: unknown kind");
    s.kind = *kind;
    s.target = AccountId(j.at("target").get<int64_t>());
    s.structure = StructureId(j.at("structure").get<int64_t>());
    if (j.contains("username")) s.username = j["username"].get<std::string>();
    if (j.contains("roles"))
      for (auto& r : j["roles"]) {
        auto role = ParseRole(r.get<std::string>());
        if (!role) return Corruption("change request: unknown role");
        s.roles.push_back(*role);
      }
    if (j.contains("purpose")) s.purpose = j["purpose"].get<std::string>();
    if (j.contains("scopes")) s.scopes = j["scopes"].get<std::vector<std::string>>();
    if (j.contains("networks")) s.networks = j["networks"].get<std::vector<std::string>>();
    if (j.contains("expires_at")) s.expires_at = j["expires_at"].get<int64_t>();
    if (j.contains("quota")) s.quota = j["quota"].get<int64_t>();
    if (j.contains("subject")) s.subject = j["subject"].get<std::string>();
    return s;
  } catch (const std::exception&) {
    return Corruption("change request: malformed specification");
  }
}

std::string ChangeSpec::Describe() const {
  std::string t = StrCat("account ", target.value());
  switch (kind) {
    case ChangeKind::kCreateTechnicalAccount:
      return StrCat("create technical account '", username, "' (", t, ") in structure ", structure.value(),
                    ": purpose=", purpose, " scopes=[", Join(scopes), "] networks=[", Join(networks),
                    "] expires_at=", expires_at.value_or(0) / 1'000'000, quota ? StrCat(" quota=", *quota) : "");
    case ChangeKind::kCreatePrivilegedAccount:
      return StrCat("create account '", username, "' (", t, ") in structure ", structure.value(), " with roles [",
                    JoinRoles(roles), "]");
    case ChangeKind::kReenableAccount:
      return StrCat("re-enable ", t, expires_at ? StrCat(" until ", *expires_at / 1'000'000) : "");
    case ChangeKind::kGrantRole: return StrCat("grant role ", JoinRoles(roles), " to ", t);
    case ChangeKind::kWidenTechnicalAccess:
      return StrCat("set access of ", t, " to scopes=[", Join(scopes), "] networks=[", Join(networks), "]");
    case ChangeKind::kRaiseQuota: return StrCat("raise daily quota of ", t, " to ", quota.value_or(0));
    case ChangeKind::kResetMfa: return StrCat("reset second factor of ", t);
    case ChangeKind::kBulkExport:
      return StrCat("bulk export in structure ", structure.value(), ": ", subject);
    case ChangeKind::kBreakGlass:
      return StrCat("break-glass access in structure ", structure.value(), ": ", subject);
  }
  return "unknown change";
}

}  // namespace cloison::iam
