#include "exposure/usage.h"

#include <algorithm>

namespace cloison::exposure {

ReadKind ClassifyRead(std::string_view details_kind) {
  // Single reads carry no kind (or "read" / "reveal", the guard's names for
  // them); anything else released a page of people.
  if (details_kind.empty() || details_kind == "read" || details_kind == "reveal") return ReadKind::kOpened;
  return ReadKind::kListed;
}

void UsageBuilder::AddAccount(AccountId account) { seen_[account.value()]; }

void UsageBuilder::AddRead(AccountId account, ReadKind kind, std::span<const PersonId> persons) {
  Seen& s = seen_[account.value()];
  auto& set = kind == ReadKind::kOpened ? s.opened : s.listed;
  for (PersonId p : persons)
    if (p.valid()) set.insert(p.value());
}

Usage UsageBuilder::Finish() && {
  for (auto& [account, s] : seen_) {
    usage_.people_read[account] = static_cast<int64_t>(s.opened.size());
    int64_t listed_only = 0;
    for (int64_t p : s.listed) listed_only += s.opened.count(p) ? 0 : 1;
    if (listed_only > 0) usage_.people_listed[account] = listed_only;
    std::vector<PersonId> ids;
    ids.reserve(s.opened.size());
    for (int64_t p : s.opened) ids.emplace_back(p);
    std::sort(ids.begin(), ids.end(), [](PersonId a, PersonId b) { return a.value() < b.value(); });
    usage_.opened[account] = std::move(ids);
  }
  seen_.clear();
  return std::move(usage_);
}

}  // namespace cloison::exposure
