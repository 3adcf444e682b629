#include "iam/lockout.h"

#include <algorithm>

namespace cloison::iam {

UnixMicros ThrottleRule::BlockedUntil(const AttemptRecord& r, UnixMicros now) const {
  if (r.failures == 0 || now - r.last_failure >= forget_after_us) return 0;
  UnixMicros until = r.locked_until;
  if (r.failures > free_failures) {
    const int64_t exp = std::min<int64_t>(r.failures - free_failures - 1, 30);
    const int64_t delay = std::min<int64_t>(max_delay_us, base_delay_us << exp);
    until = std::max(until, r.last_failure + delay);
  }
  return until;
}

AttemptRecord ThrottleRule::AfterFailure(const AttemptRecord& r, UnixMicros now, bool& locked) const {
  AttemptRecord n = r;
  if (n.failures > 0 && now - n.last_failure >= forget_after_us) n = AttemptRecord{};
  // A lock that has run out starts a fresh count at the threshold's edge: the
  // next failure throttles again but does not re-lock at once.
  if (n.locked_until != 0 && now >= n.locked_until) {
    n.locked_until = 0;
    n.failures = free_failures;
  }
  n.failures += 1;
  n.last_failure = now;
  locked = false;
  if (n.failures >= lock_failures && n.locked_until == 0) {
    n.locked_until = now + lock_duration_us;
    locked = true;
  }
  return n;
}

}  // namespace cloison::iam
