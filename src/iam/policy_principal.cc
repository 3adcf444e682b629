#include "iam/policy_principal.h"

namespace cloison::iam {

namespace {
policy::Principal Make(AccountId id, AccountKind kind, StructureId structure, const std::vector<Role>& roles,
                       const std::string& purpose, bool probation) {
  policy::Principal p;
  p.account = id;
  p.structure = structure;
  p.probation = probation;
  if (kind == AccountKind::kTechnical) {
    p.kind = policy::AccountKind::kTechnical;
    if (!purpose.empty()) p.integration_purposes.push_back(purpose);
  } else {
    p.kind = policy::AccountKind::kHuman;
    p.roles = roles;
  }
  return p;
}
}  // namespace

policy::Principal ToPolicyPrincipal(const Principal& who) {
  return Make(who.id, who.kind, who.structure, who.roles, who.purpose, who.in_probation);
}

policy::Principal ToPolicyPrincipal(const Account& a, UnixMicros now) {
  return Make(a.id, a.kind, a.structure, a.roles, a.technical.purpose, a.InProbation(now));
}

}  // namespace cloison::iam
