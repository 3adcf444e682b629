// Strongly typed identifiers. A PersonId cannot be passed where a StructureId
// is expected. Ids are the store's surrogate keys (positive int64); 0 means
// "not assigned yet". They carry no personal meaning and are what the audit
// log records instead of NIRs or names.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>

namespace cloison {

template <typename Tag>
class Id {
 public:
  constexpr Id() = default;
  constexpr explicit Id(int64_t v) : v_(v) {}
  constexpr int64_t value() const { return v_; }
  constexpr bool valid() const { return v_ > 0; }
  friend constexpr auto operator<=>(Id, Id) = default;
  friend std::ostream& operator<<(std::ostream& os, Id id) { return os << id.v_; }

 private:
  int64_t v_ = 0;
};

using PersonId = Id<struct PersonTag>;
using StructureId = Id<struct StructureTag>;
using AccountId = Id<struct AccountTag>;  // agents (human) and technical accounts
using FormationId = Id<struct FormationTag>;
using TrainingSessionId = Id<struct TrainingSessionTag>;  // a session of a Formation
using OrientationId = Id<struct OrientationTag>;

}  // namespace cloison

template <typename Tag>
struct std::hash<cloison::Id<Tag>> {
  size_t operator()(cloison::Id<Tag> id) const noexcept { return std::hash<int64_t>()(id.value()); }
};
