#include <gtest/gtest.h>

#include "core/date.h"
#include "guard/local_time.h"

namespace cloison::guard {
namespace {

int64_t UtcSeconds(int y, int mo, int d, int h, int mi, int s = 0) {
  return Date{y, mo, d}.ToDays() * 86400 + h * 3600 + mi * 60 + s;
}

TEST(LocalTimeTest, EuropeParisFollowsEuSummerTime) {
  ZoneRule paris = ResolveZone("Europe/Paris");
  EXPECT_TRUE(paris.known);
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2024, 1, 15, 12, 0)).offset_seconds, 3600);
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2024, 7, 15, 12, 0)).offset_seconds, 7200);
  // 2024: last Sunday of March is the 31st, of October the 27th; 01:00 UTC.
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2024, 3, 31, 0, 59, 59)).offset_seconds, 3600);
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2024, 3, 31, 1, 0)).offset_seconds, 7200);
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2024, 10, 27, 0, 59, 59)).offset_seconds, 7200);
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2024, 10, 27, 1, 0)).offset_seconds, 3600);
  // 2025: March 30 and October 26.
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2025, 3, 30, 1, 0)).offset_seconds, 7200);
  EXPECT_EQ(OffsetAt(paris, UtcSeconds(2025, 3, 29, 23, 0)).offset_seconds, 3600);
  // The span is a cacheable interval containing t.
  OffsetSpan s = OffsetAt(paris, UtcSeconds(2024, 7, 15, 12, 0));
  EXPECT_EQ(s.valid_from, UtcSeconds(2024, 3, 31, 1, 0));
  EXPECT_EQ(s.valid_to, UtcSeconds(2024, 10, 27, 1, 0));
  OffsetSpan w = OffsetAt(paris, UtcSeconds(2024, 12, 15, 12, 0));
  EXPECT_EQ(w.valid_from, UtcSeconds(2024, 10, 27, 1, 0));
  EXPECT_EQ(w.valid_to, UtcSeconds(2025, 3, 30, 1, 0));
}

TEST(LocalTimeTest, OverseasZonesHaveFixedOffsets) {
  struct {
    const char* zone;
    int hours;
  } cases[] = {{"America/Guadeloupe", -4}, {"America/Martinique", -4}, {"America/Cayenne", -3},
               {"Indian/Reunion", 4},      {"Indian/Mayotte", 3},      {"Pacific/Noumea", 11},
               {"Pacific/Tahiti", -10}};
  for (const auto& c : cases) {
    ZoneRule z = ResolveZone(c.zone);
    EXPECT_TRUE(z.known) << c.zone;
    EXPECT_EQ(OffsetAt(z, UtcSeconds(2024, 1, 15, 12, 0)).offset_seconds, c.hours * 3600) << c.zone;
    EXPECT_EQ(OffsetAt(z, UtcSeconds(2024, 7, 15, 12, 0)).offset_seconds, c.hours * 3600) << c.zone;
  }
  ZoneRule miquelon = ResolveZone("America/Miquelon");
  EXPECT_EQ(OffsetAt(miquelon, UtcSeconds(2024, 1, 15, 12, 0)).offset_seconds, -3 * 3600);
  EXPECT_EQ(OffsetAt(miquelon, UtcSeconds(2024, 7, 15, 12, 0)).offset_seconds, -2 * 3600);
}

TEST(LocalTimeTest, UnknownZoneIsParisAndSaysSo) {
  ZoneRule z = ResolveZone("Mars/Olympus_Mons");
  EXPECT_FALSE(z.known);
  EXPECT_EQ(OffsetAt(z, UtcSeconds(2024, 7, 15, 12, 0)).offset_seconds, 7200);
  EXPECT_TRUE(ResolveZone("Europe/Berlin").known);
  EXPECT_EQ(ResolveZone("Europe/London").standard_offset_seconds, 0);
}

TEST(LocalTimeTest, WeekdayAndOpeningHours) {
  // 2024-01-15 is a Monday.
  LocalMinute l = ToLocal(UtcSeconds(2024, 1, 15, 9, 30), 3600);
  EXPECT_EQ(l.weekday, 0);
  EXPECT_EQ(l.minute_of_day, 10 * 60 + 30);
  OpeningHours h;  // Mon-Fri 08:30-17:30
  EXPECT_FALSE(OutsideHours(h, l));
  EXPECT_TRUE(OutsideHours(h, ToLocal(UtcSeconds(2024, 1, 20, 9, 30), 3600)));  // Saturday
  EXPECT_TRUE(OutsideHours(h, ToLocal(UtcSeconds(2024, 1, 15, 16, 30), 3600)));  // 17:30 local: closed
  EXPECT_TRUE(OutsideHours(h, ToLocal(UtcSeconds(2024, 1, 15, 7, 29), 3600)));   // 08:29
  // Crossing midnight backwards: 23:30 UTC Sunday is 00:30 Monday in Paris.
  LocalMinute m = ToLocal(UtcSeconds(2024, 1, 14, 23, 30), 3600);
  EXPECT_EQ(m.weekday, 0);
  EXPECT_EQ(m.minute_of_day, 30);
}

}  // namespace
}  // namespace cloison::guard
