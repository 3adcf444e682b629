#include "guard/local_time.h"

#include <array>
#include <string>

#include "core/date.h"

namespace cloison::guard {
namespace {

constexpr int64_t kDay = 86'400;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Weekday of a day count since 1970-01-01 (a Thursday): 0 = Monday.
int WeekdayOf(int64_t days) {
  int64_t w = (days + 3) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

// Day count of the last Sunday of (year, month).
int64_t LastSunday(int year, int month) {
  Date last{year, month, Date::DaysInMonth(year, month)};
  int64_t d = last.ToDays();
  return d - ((WeekdayOf(d) + 1) % 7);  // Sunday = 6 -> 0 back
}

// Day count of the n-th (1-based) Sunday of (year, month).
int64_t NthSunday(int year, int month, int n) {
  int64_t first = Date{year, month, 1}.ToDays();
  int64_t to_sunday = (6 - WeekdayOf(first) + 7) % 7;
  return first + to_sunday + 7 * (n - 1);
}

// [start, end) in UTC seconds of summer time in `year`.
void SummerSpan(const ZoneRule& z, int year, int64_t* start, int64_t* end) {
  if (z.dst == DstRule::kEu) {
    *start = LastSunday(year, 3) * kDay + 3600;
    *end = LastSunday(year, 10) * kDay + 3600;
  } else {  // kNorthAmerica: 02:00 local standard time -> 02:00 local summer time
    *start = NthSunday(year, 3, 2) * kDay + 2 * 3600 - z.standard_offset_seconds;
    *end = NthSunday(year, 11, 1) * kDay + 2 * 3600 - (z.standard_offset_seconds + 3600);
  }
}

struct Named {
  std::string_view name;
  int32_t offset;
  DstRule dst;
};

constexpr std::array<Named, 40> kZones{{
    // Metropolitan France and Europe.
    {"Europe/Paris", 3600, DstRule::kEu},
    {"Europe/London", 0, DstRule::kEu},
    {"Europe/Dublin", 0, DstRule::kEu},
    {"Europe/Lisbon", 0, DstRule::kEu},
    {"Atlantic/Canary", 0, DstRule::kEu},
    {"Atlantic/Madeira", 0, DstRule::kEu},
    {"Europe/Helsinki", 7200, DstRule::kEu},
    {"Europe/Athens", 7200, DstRule::kEu},
    {"Europe/Bucharest", 7200, DstRule::kEu},
    {"Europe/Sofia", 7200, DstRule::kEu},
    {"Europe/Riga", 7200, DstRule::kEu},
    {"Europe/Tallinn", 7200, DstRule::kEu},
    {"Europe/Vilnius", 7200, DstRule::kEu},
    {"Europe/Kyiv", 7200, DstRule::kEu},
    {"Europe/Kiev", 7200, DstRule::kEu},
    {"Asia/Nicosia", 7200, DstRule::kEu},
    {"Europe/Istanbul", 10800, DstRule::kNone},
    {"Europe/Moscow", 10800, DstRule::kNone},
    {"Europe/Minsk", 10800, DstRule::kNone},
    // French overseas (fixed offsets).
    {"America/Guadeloupe", -4 * 3600, DstRule::kNone},
    {"America/Martinique", -4 * 3600, DstRule::kNone},
    {"America/St_Barthelemy", -4 * 3600, DstRule::kNone},
    {"America/Marigot", -4 * 3600, DstRule::kNone},
    {"America/Cayenne", -3 * 3600, DstRule::kNone},
    {"America/Miquelon", -3 * 3600, DstRule::kNorthAmerica},
    {"Indian/Reunion", 4 * 3600, DstRule::kNone},
    {"Indian/Mayotte", 3 * 3600, DstRule::kNone},
    {"Indian/Kerguelen", 5 * 3600, DstRule::kNone},
    {"Pacific/Noumea", 11 * 3600, DstRule::kNone},
    {"Pacific/Tahiti", -10 * 3600, DstRule::kNone},
    {"Pacific/Marquesas", -(9 * 3600 + 1800), DstRule::kNone},
    {"Pacific/Gambier", -9 * 3600, DstRule::kNone},
    {"Pacific/Wallis", 12 * 3600, DstRule::kNone},
    // UTC aliases.
    {"UTC", 0, DstRule::kNone},
    {"Etc/UTC", 0, DstRule::kNone},
    {"Etc/GMT", 0, DstRule::kNone},
    {"GMT", 0, DstRule::kNone},
    {"Europe/Brussels", 3600, DstRule::kEu},
    {"Europe/Luxembourg", 3600, DstRule::kEu},
    {"Europe/Monaco", 3600, DstRule::kEu},
}};

}  // namespace

ZoneRule ResolveZone(std::string_view name) {
  for (const Named& z : kZones)
    if (z.name == name) return {z.offset, z.dst, true};
  // Any other Europe/* zone: central European time (Berlin, Madrid, Rome...).
  if (name.substr(0, 7) == "Europe/") return {3600, DstRule::kEu, true};
  return {3600, DstRule::kEu, false};
}

OffsetSpan OffsetAt(const ZoneRule& z, int64_t t) {
  if (z.dst == DstRule::kNone) return {z.standard_offset_seconds, INT64_MIN, INT64_MAX};
  // The year of t in UTC is enough to find its transitions: none lies within
  // a day of New Year.
  int64_t days = FloorDiv(t, kDay);
  int year = Date::FromDays(days).year;
  int64_t start, end;
  SummerSpan(z, year, &start, &end);
  if (t < start) {
    int64_t prev_start, prev_end;
    SummerSpan(z, year - 1, &prev_start, &prev_end);
    return {z.standard_offset_seconds, prev_end, start};
  }
  if (t < end) return {z.standard_offset_seconds + 3600, start, end};
  int64_t next_start, next_end;
  SummerSpan(z, year + 1, &next_start, &next_end);
  return {z.standard_offset_seconds, end, next_start};
}

LocalMinute ToLocal(int64_t t, int32_t offset) {
  int64_t local = t + offset;
  int64_t days = FloorDiv(local, kDay);
  return {WeekdayOf(days), static_cast<int>((local - days * kDay) / 60)};
}

bool OutsideHours(const OpeningHours& h, LocalMinute l) {
  if (!(h.weekdays & (1u << l.weekday))) return true;
  return l.minute_of_day < h.open_minute || l.minute_of_day >= h.close_minute;
}

}  // namespace cloison::guard
