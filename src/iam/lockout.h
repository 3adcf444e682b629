// Throttling and temporary lockout of password (and second-factor) attempts.
//
// Two counters are kept per attempt: one keyed by the *submitted username*
// (lower-cased, whether or not an account exists, so unknown usernames throttle
// exactly like real ones and the answer reveals nothing), one keyed by the
// source address. Each failure bumps both. After `free_failures` a key is
// throttled exponentially: the next attempt is refused until
// last_failure + base_delay * 2^(failures - free_failures) (capped at
// max_delay). At `lock_failures` the key is locked for `lock_duration`.
// Counters are forgotten `forget_after` after the last failure. A successful
// login clears the username counter, never the address counter (one valid
// account must not reset an address that sprays other usernames).
//
// Refused-by-throttle attempts do not count as failures (a lock cannot be
// extended forever by hammering) and do not verify the password.
#pragma once

#include <cstdint>

#include "core/clock.h"

namespace cloison::iam {

struct AttemptRecord {
  int64_t failures = 0;
  UnixMicros last_failure = 0;
  UnixMicros locked_until = 0;
};

struct ThrottleRule {
  int64_t free_failures;
  int64_t lock_failures;
  int64_t base_delay_us;
  int64_t max_delay_us;
  int64_t lock_duration_us;
  int64_t forget_after_us;

  // Earliest time a new attempt is accepted (<= now means "go ahead").
  UnixMicros BlockedUntil(const AttemptRecord& r, UnixMicros now) const;
  // The record after one more failure at `now`; sets locked_until when the
  // failure reaches lock_failures. `locked` tells whether this failure locked.
  AttemptRecord AfterFailure(const AttemptRecord& r, UnixMicros now, bool& locked) const;
};

struct LockoutPolicy {
  static constexpr int64_t kSecond = 1'000'000;
  // Per username: 3 free failures, then 1 s, 2 s, 4 s ...; locked 15 min at 10.
  ThrottleRule per_account{3, 10, 1 * kSecond, 5 * 60 * kSecond, 15 * 60 * kSecond, 24 * 3600 * kSecond};
  // Per source address (an agency's NAT is shared): 10 free, locked 30 min at 50.
  ThrottleRule per_address{10, 50, 1 * kSecond, 5 * 60 * kSecond, 30 * 60 * kSecond, 3600 * kSecond};
};

}  // namespace cloison::iam
