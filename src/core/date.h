// Calendar dates (proleptic Gregorian, no time zone) as used by the domain:
// birth dates, registration dates, training session dates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cloison {

struct Date {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31

  // Parses strict ISO 8601 "YYYY-MM-DD"; nullopt for any other shape or for an
  // impossible date (2023-02-29, 2024-13-01).
  static std::optional<Date> Parse(std::string_view s);
  static Date FromDays(int64_t days_since_epoch);
  // The UTC calendar day holding a Unix time in microseconds (floor division,
  // so instants before 1970 fall on the previous day, not on 1970-01-01).
  static Date FromUnixMicros(int64_t unix_micros);
  static bool IsValid(int y, int m, int d);
  static int DaysInMonth(int y, int m);

  int64_t ToDays() const;  // days since 1970-01-01
  std::string ToString() const;  // "YYYY-MM-DD"
  // Whole years between this date (a birth date) and `on`.
  int AgeOn(const Date& on) const;
  friend auto operator<=>(const Date&, const Date&) = default;
};

}  // namespace cloison
