#include "policy/principal.h"

namespace cloison::policy {

std::string_view AccountKindName(AccountKind k) {
  return k == AccountKind::kTechnical ? "technical" : "human";
}

}  // namespace cloison::policy
