// Local time and the French working calendar, for the traffic simulator.
//
// The network's structures live in six time zones (sim/network.h): Europe/
// Paris (CET/CEST, EU rules: summer time from the last Sunday of March 01:00
// UTC to the last Sunday of October 01:00 UTC), America/Guadeloupe and
// America/Martinique (UTC-4), America/Cayenne (UTC-3), Indian/Reunion
// (UTC+4) and Indian/Mayotte (UTC+3), none of the overseas ones with summer
// time. These rules are compiled in rather than read from the system tzdata,
// so the simulator is hermetic and gives the same answer on every machine;
// an unknown zone name is treated as Europe/Paris.
//
// Public holidays: the eleven national ones (1 Jan, Easter Monday, 1 May,
// 8 May, Ascension, Whit Monday, 14 Jul, 15 Aug, 1 Nov, 11 Nov, 25 Dec), plus
// Good Friday and 26 Dec in Alsace-Moselle (57, 67, 68) and the abolition of
// slavery day in the overseas départements (971: 27 May, 972: 22 May,
// 973: 10 Jun, 974: 20 Dec, 976: 27 Apr).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/date.h"

namespace cloison::sim {

// Offset of local time from UTC, in seconds, at instant `utc`.
int64_t UtcOffsetSeconds(std::string_view time_zone, UnixMicros utc);
// The instant of local date `date` at `minute` minutes after local midnight
// (plus `second`). In the hour skipped in spring the offset before the
// change is used; in the hour repeated in autumn, the first occurrence.
UnixMicros LocalToUtc(std::string_view time_zone, Date date, int minute, int second = 0);
// Local date and minutes after local midnight of instant `utc`.
struct LocalTime {
  Date date;
  int minute = 0;
};
LocalTime UtcToLocal(std::string_view time_zone, UnixMicros utc);

// 0 = Monday ... 6 = Sunday (the bit order of OpeningHours::weekdays).
int Weekday(Date date);
Date EasterSunday(int year);
bool IsPublicHoliday(Date date, std::string_view departement);
// A weekday that is not a public holiday.
bool IsWorkingDay(Date date, std::string_view departement);

}  // namespace cloison::sim
