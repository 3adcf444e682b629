#include "core/domain.h"

#include <array>
#include <utility>

namespace cloison {

namespace {
template <typename E, size_t N>
std::optional<E> FromName(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view s) {
  for (const auto& [e, name] : table)
    if (name == s) return e;
  return std::nullopt;
}
template <typename E, size_t N>
std::string_view ToName(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, name] : table)
    if (v == e) return name;
  return "?";
}

constexpr std::array<std::pair<StructureKind, std::string_view>, 6> kStructureKinds{{
    {StructureKind::kNationalOperator, "national_operator"},
    {StructureKind::kRegionalDirection, "regional_direction"},
    {StructureKind::kAgency, "agency"},
    {StructureKind::kMissionLocale, "mission_locale"},
    {StructureKind::kTrainingOrganisation, "training_organisation"},
    {StructureKind::kFinancer, "financer"},
}};
constexpr std::array<std::pair<Role, std::string_view>, 6> kRoles{{
    {Role::kCounsellor, "counsellor"},
    {Role::kAccessManager, "access_manager"},
    {Role::kSecurityOfficer, "security_officer"},
    {Role::kDpo, "dpo"},
    {Role::kPartnerUser, "partner_user"},
    {Role::kAuditor, "auditor"},
}};
constexpr std::array<std::pair<OrientationStatus, std::string_view>, 6> kOrientationStatuses{{
    {OrientationStatus::kProposed, "proposed"},
    {OrientationStatus::kAccepted, "accepted"},
    {OrientationStatus::kRefused, "refused"},
    {OrientationStatus::kEnrolled, "enrolled"},
    {OrientationStatus::kFinished, "finished"},
    {OrientationStatus::kAbandoned, "abandoned"},
}};
}  // namespace

std::string_view StructureKindName(StructureKind k) { return ToName(kStructureKinds, k); }
std::optional<StructureKind> ParseStructureKind(std::string_view s) { return FromName(kStructureKinds, s); }
std::string_view RoleName(Role r) { return ToName(kRoles, r); }
std::optional<Role> ParseRole(std::string_view s) { return FromName(kRoles, s); }
std::string_view OrientationStatusName(OrientationStatus s) { return ToName(kOrientationStatuses, s); }
std::optional<OrientationStatus> ParseOrientationStatus(std::string_view s) {
  return FromName(kOrientationStatuses, s);
}

bool IsAllowedTransition(OrientationStatus from, OrientationStatus to) {
  using S = OrientationStatus;
  switch (from) {
    case S::kProposed: return to == S::kAccepted || to == S::kRefused;
    case S::kAccepted: return to == S::kEnrolled || to == S::kAbandoned;
    case S::kEnrolled: return to == S::kFinished || to == S::kAbandoned;
    default: return false;
  }
}

}  // namespace cloison
