#include "access/quota.h"

#include <algorithm>
#include <vector>

namespace cloison::access {

void QuotaTracker::Expire(Window& w, UnixMicros now) {
  while (!w.order.empty() && w.order.front().second <= now - kDay) {
    auto [person, t] = w.order.front();
    w.order.pop_front();
    auto it = w.last_read.find(person);
    if (it != w.last_read.end() && it->second == t) w.last_read.erase(it);
  }
}

int64_t QuotaTracker::CountSince(const Window& w, UnixMicros since) {
  int64_t n = 0;
  for (const auto& [person, t] : w.last_read)
    if (t > since) ++n;
  return n;
}

// The earliest last-read time among people counted since `since`: when it
// leaves the window, one slot frees up.
UnixMicros QuotaTracker::NthOldestSince(const Window& w, UnixMicros since) {
  UnixMicros oldest = INT64_MAX;
  for (const auto& [person, t] : w.last_read)
    if (t > since) oldest = std::min(oldest, t);
  return oldest;
}

QuotaVerdict QuotaTracker::Acquire(AccountId account, PersonId person, const QuotaLimits& limits, UnixMicros now) {
  std::lock_guard lock(mu_);
  Window& w = accounts_[account.value()];
  Expire(w, now);
  QuotaVerdict v;
  auto it = w.last_read.find(person.value());
  const bool in_day = it != w.last_read.end();
  const bool in_hour = in_day && it->second > now - kHour;
  // Cost: counting the whole map is O(people read today), bounded by the
  // daily quota itself, so a few hundred entries.
  if (!in_hour && limits.per_hour > 0 && CountSince(w, now - kHour) >= limits.per_hour) {
    v.allowed = false;
    v.window = "hour";
    v.limit = limits.per_hour;
    v.reset_at = NthOldestSince(w, now - kHour) + kHour;
    return v;
  }
  if (!in_day && limits.per_day > 0 && static_cast<int64_t>(w.last_read.size()) >= limits.per_day) {
    v.allowed = false;
    v.window = "day";
    v.limit = limits.per_day;
    v.reset_at = NthOldestSince(w, now - kDay) + kDay;
    return v;
  }
  w.last_read[person.value()] = now;
  w.order.emplace_back(person.value(), now);
  return v;
}

}  // namespace cloison::access
