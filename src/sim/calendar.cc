#include "sim/calendar.h"

namespace cloison::sim {

namespace {

constexpr int64_t kDayMicros = 86'400LL * 1'000'000;

// Last Sunday of `month` in `year`, as days since the epoch.
int64_t LastSunday(int year, int month) {
  Date d{year, month, Date::DaysInMonth(year, month)};
  return d.ToDays() - (Weekday(d) + 1) % 7;
}

int64_t ParisOffset(UnixMicros utc) {
  const int64_t days = utc >= 0 ? utc / kDayMicros : (utc - kDayMicros + 1) / kDayMicros;
  const int year = Date::FromDays(days).year;
  // Summer time: [last Sunday of March 01:00 UTC, last Sunday of October 01:00 UTC).
  const UnixMicros begin = LastSunday(year, 3) * kDayMicros + 3600LL * 1'000'000;
  const UnixMicros end = LastSunday(year, 10) * kDayMicros + 3600LL * 1'000'000;
  return (utc >= begin && utc < end) ? 7200 : 3600;
}

}  // namespace

int Weekday(Date date) {
  // 1970-01-01 was a Thursday (3).
  const int64_t d = date.ToDays();
  return static_cast<int>(((d % 7) + 7 + 3) % 7);
}

int64_t UtcOffsetSeconds(std::string_view tz, UnixMicros utc) {
  if (tz == "America/Guadeloupe" || tz == "America/Martinique") return -4 * 3600;
  if (tz == "America/Cayenne") return -3 * 3600;
  if (tz == "Indian/Reunion") return 4 * 3600;
  if (tz == "Indian/Mayotte") return 3 * 3600;
  return ParisOffset(utc);
}

UnixMicros LocalToUtc(std::string_view tz, Date date, int minute, int second) {
  const UnixMicros naive = date.ToDays() * kDayMicros + (int64_t{minute} * 60 + second) * 1'000'000;
  // Try the offset in force a day earlier (before any change that day), then
  // correct once if the result falls on the other side of a change.
  const int64_t before = UtcOffsetSeconds(tz, naive - kDayMicros);
  const UnixMicros guess = naive - before * 1'000'000;
  const int64_t at = UtcOffsetSeconds(tz, guess);
  if (at == before) return guess;
  const UnixMicros second_guess = naive - at * 1'000'000;
  // Skipped hour: the second guess falls before the change; keep the first.
  return UtcOffsetSeconds(tz, second_guess) == at ? second_guess : guess;
}

LocalTime UtcToLocal(std::string_view tz, UnixMicros utc) {
  const UnixMicros local = utc + UtcOffsetSeconds(tz, utc) * 1'000'000;
  const int64_t days = local >= 0 ? local / kDayMicros : (local - kDayMicros + 1) / kDayMicros;
  LocalTime t;
  t.date = Date::FromDays(days);
  t.minute = static_cast<int>((local - days * kDayMicros) / 60'000'000);
  return t;
}

Date EasterSunday(int y) {
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31, day = ((h + l - 7 * m + 114) % 31) + 1;
  return Date{y, month, day};
}

bool IsPublicHoliday(Date date, std::string_view dep) {
  const int m = date.month, d = date.day;
  if ((m == 1 && d == 1) || (m == 5 && (d == 1 || d == 8)) || (m == 7 && d == 14) || (m == 8 && d == 15) ||
      (m == 11 && (d == 1 || d == 11)) || (m == 12 && d == 25))
    return true;
  const int64_t easter = EasterSunday(date.year).ToDays();
  const int64_t x = date.ToDays();
  if (x == easter + 1 || x == easter + 39 || x == easter + 50) return true;  // Monday, Ascension, Whit Monday
  if (dep == "57" || dep == "67" || dep == "68") {
    if (x == easter - 2 || (m == 12 && d == 26)) return true;
  }
  if (dep == "971" && m == 5 && d == 27) return true;
  if (dep == "972" && m == 5 && d == 22) return true;
  if (dep == "973" && m == 6 && d == 10) return true;
  if (dep == "974" && m == 12 && d == 20) return true;
  if (dep == "976" && m == 4 && d == 27) return true;
  return false;
}

bool IsWorkingDay(Date date, std::string_view dep) { return Weekday(date) < 5 && !IsPublicHoliday(date, dep); }

}  // namespace cloison::sim
