// guard::LocalTime: UTC -> structure-local wall time without a tz database.
//
// GCC 12's libstdc++ has no std::chrono::tzdb, and Cloison's structures sit
// in a small known set of zones: metropolitan France (and the rest of Europe)
// follow the EU summer-time rule (last Sunday of March 01:00 UTC to last
// Sunday of October 01:00 UTC); the French overseas zones have fixed offsets,
// except Saint-Pierre-et-Miquelon which follows the North American rule.
// An unknown zone name is treated as Europe/Paris (ZoneRule::known == false
// lets the caller say so).
//
// Thread-safety: values only; no shared state.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/domain.h"

namespace cloison::guard {

enum class DstRule : uint8_t { kNone, kEu, kNorthAmerica };

struct ZoneRule {
  int32_t standard_offset_seconds = 3600;  // east of UTC
  DstRule dst = DstRule::kEu;
  bool known = true;  // false: unknown name, Europe/Paris used instead
};

// Resolves an IANA zone name (e.g. "Europe/Paris", "America/Cayenne").
ZoneRule ResolveZone(std::string_view name);

// UTC offset (seconds east of UTC) in force at `unix_seconds`, and the UTC
// interval [valid_from, valid_to) over which that offset stays the same (so
// callers can cache it).
struct OffsetSpan {
  int32_t offset_seconds = 0;
  int64_t valid_from = 0;
  int64_t valid_to = 0;
};
OffsetSpan OffsetAt(const ZoneRule& zone, int64_t unix_seconds);

// Local wall time broken down.
struct LocalMinute {
  int weekday = 0;         // 0 = Monday ... 6 = Sunday
  int minute_of_day = 0;   // 0..1439
};
LocalMinute ToLocal(int64_t unix_seconds, int32_t offset_seconds);

// True when the local time is outside the opening hours (closed weekday, or
// before opening / at or after closing).
bool OutsideHours(const OpeningHours& hours, LocalMinute local);

}  // namespace cloison::guard
