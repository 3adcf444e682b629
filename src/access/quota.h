// Per-account read quotas enforced by the server, independent of any
// detection (the guard, a later issue, adds its own): how many *distinct*
// people one account may read per sliding hour and per sliding day. Reading
// again a person already counted in a window costs nothing in that window.
//
// State is in memory: a restart forgets it (documented in docs/api.md; the
// audit log keeps the truth, a later step may re-seed from it).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/clock.h"
#include "core/ids.h"

namespace cloison::access {

struct QuotaLimits {
  int64_t per_hour = 0;  // 0 = no limit
  int64_t per_day = 0;
};

struct QuotaVerdict {
  bool allowed = true;
  const char* window = "";  // "hour" | "day" when refused
  int64_t limit = 0;
  UnixMicros reset_at = 0;  // when one more distinct person becomes readable
};

class QuotaTracker {
 public:
  // If reading `person` now keeps `account` within `limits`, counts it and
  // allows; else refuses with the window and its reset time, counting nothing.
  QuotaVerdict Acquire(AccountId account, PersonId person, const QuotaLimits& limits, UnixMicros now);

 private:
  static constexpr int64_t kHour = 3600LL * 1'000'000, kDay = 24 * kHour;
  struct Window {
    // Last read time of each person read in the last day, and the reads in
    // time order (person, time) to expire them; a person's older entries are
    // skipped when its map time is later.
    std::unordered_map<int64_t, UnixMicros> last_read;
    std::deque<std::pair<int64_t, UnixMicros>> order;
  };
  static void Expire(Window& w, UnixMicros now);
  static int64_t CountSince(const Window& w, UnixMicros since);
  static UnixMicros NthOldestSince(const Window& w, UnixMicros since);

  std::mutex mu_;
  std::map<int64_t, Window> accounts_;
};

}  // namespace cloison::access
