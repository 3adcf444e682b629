#include "core/date.h"

#include <gtest/gtest.h>

namespace cloison {
namespace {

TEST(DateTest, ParsesValidAndRejectsImpossible) {
  auto d = Date::Parse("2024-02-29");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->ToString(), "2024-02-29");
  EXPECT_FALSE(Date::Parse("2023-02-29"));
  EXPECT_FALSE(Date::Parse("2024-13-01"));
  EXPECT_FALSE(Date::Parse("2024-04-31"));
  EXPECT_FALSE(Date::Parse("2024-4-01"));
  EXPECT_FALSE(Date::Parse("24-04-01xx"));
  EXPECT_FALSE(Date::Parse("abcd-ef-gh"));
}

TEST(DateTest, DaysRoundTrip) {
  EXPECT_EQ((Date{1970, 1, 1}).ToDays(), 0);
  EXPECT_EQ((Date{2000, 3, 1}).ToDays(), 11017);
  for (int64_t d = -800000; d < 800000; d += 997) EXPECT_EQ(Date::FromDays(d).ToDays(), d);
}

TEST(DateTest, FromUnixMicrosFloorsToTheUtcDay) {
  constexpr int64_t kDay = 86'400'000'000LL;
  EXPECT_EQ(Date::FromUnixMicros(0), (Date{1970, 1, 1}));
  EXPECT_EQ(Date::FromUnixMicros(kDay - 1), (Date{1970, 1, 1}));
  EXPECT_EQ(Date::FromUnixMicros(kDay), (Date{1970, 1, 2}));
  // Before the epoch: one microsecond earlier is already the previous day.
  EXPECT_EQ(Date::FromUnixMicros(-1), (Date{1969, 12, 31}));
  EXPECT_EQ(Date::FromUnixMicros(-kDay), (Date{1969, 12, 31}));
  EXPECT_EQ(Date::FromUnixMicros(-kDay - 1), (Date{1969, 12, 30}));
  // 2026-12-02T03:10:46Z
  EXPECT_EQ(Date::FromUnixMicros(1'796'181'046'000'000LL), (Date{2026, 12, 2}));
}

TEST(DateTest, Age) {
  Date birth{2005, 6, 15};
  EXPECT_EQ(birth.AgeOn({2025, 6, 14}), 19);
  EXPECT_EQ(birth.AgeOn({2025, 6, 15}), 20);
}

}  // namespace
}  // namespace cloison
