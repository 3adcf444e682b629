// SeenTable against std::unordered_map as the model: random inserts, updates,
// erasures and lookups, including the empty-slot marker's key.
#include "guard/seen_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <unordered_map>

namespace cloison::guard {
namespace {

void ExpectSame(const SeenTable& t, const std::unordered_map<int64_t, Seen>& model) {
  ASSERT_EQ(t.size(), model.size());
  size_t visited = 0;
  t.ForEach([&](int64_t k, const Seen& s) {
    ++visited;
    auto it = model.find(k);
    ASSERT_NE(it, model.end()) << k;
    EXPECT_EQ(s.last_read, it->second.last_read) << k;
    EXPECT_EQ(s.last_list, it->second.last_list) << k;
  });
  EXPECT_EQ(visited, model.size());
  for (const auto& [k, s] : model) {
    const Seen* f = t.find(k);
    ASSERT_NE(f, nullptr) << k;
    EXPECT_EQ(f->last_read, s.last_read);
  }
}

TEST(SeenTable, BehavesAsAMap) {
  SeenTable t;
  std::unordered_map<int64_t, Seen> model;
  EXPECT_EQ(t.find(5), nullptr);
  std::mt19937_64 rng(3);
  const int64_t marker = std::numeric_limits<int64_t>::min();
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 500; ++i) {
      // Clustered ids (a caseload), a few far ones, negative and the marker.
      const int64_t key = i % 97 == 0 ? marker : i % 31 == 0 ? -static_cast<int64_t>(rng() % 50)
                                                               : 1'000'000 + static_cast<int64_t>(rng() % 3000);
      const uint32_t minute = static_cast<uint32_t>(round * 1000 + i + 1);
      Seen& s = t[key];
      Seen& m = model[key];
      EXPECT_EQ(s.last_read, m.last_read);
      s.last_read = m.last_read = minute;
      if (i % 3 == 0) s.last_list = m.last_list = minute;
    }
    ExpectSame(t, model);
    // Bound: drop the older half, as the guard does.
    const uint32_t cut = static_cast<uint32_t>(round * 1000 + 250);
    const size_t erased = t.EraseIf([&](int64_t, const Seen& s) { return s.last_read < cut; });
    size_t model_erased = 0;
    for (auto it = model.begin(); it != model.end();) {
      if (it->second.last_read < cut) {
        it = model.erase(it);
        ++model_erased;
      } else {
        ++it;
      }
    }
    EXPECT_EQ(erased, model_erased);
    ExpectSame(t, model);
    EXPECT_EQ(t.find(999), nullptr);
  }
}

TEST(SeenTable, ReserveKeepsEntriesAndGrowsPastManyKeys) {
  SeenTable t;
  for (int64_t k = 1; k <= 100'000; ++k) t[k].last_read = static_cast<uint32_t>(k);
  EXPECT_EQ(t.size(), 100'000u);
  t.reserve(400'000);
  for (int64_t k = 1; k <= 100'000; k += 997) {
    ASSERT_NE(t.find(k), nullptr);
    EXPECT_EQ(t.find(k)->last_read, static_cast<uint32_t>(k));
  }
  EXPECT_EQ(t.find(100'001), nullptr);
  t.Prefetch(42);  // a hint only: no observable effect, must not fault
  SeenTable empty;
  empty.Prefetch(42);
  EXPECT_TRUE(empty.empty());
}

// The hint names where the slots are now: empty for an empty table, changed
// by growth. A stale one may still be used to prefetch (no fault).
TEST(SeenTable, HintFollowsTheSlotsAndAStaleOneIsHarmless) {
  SeenTable t;
  EXPECT_EQ(t.hint().slots, 0u);
  SeenTable::Prefetch(t.hint(), 7);  // nothing to prefetch
  t[1].last_read = 1;
  const SeenTable::Hint first = t.hint();
  EXPECT_NE(first.slots, 0u);
  EXPECT_LT(first.shift, 64);
  for (int64_t k = 2; k <= 10'000; ++k) t[k].last_read = 1;
  const SeenTable::Hint grown = t.hint();
  EXPECT_NE(grown.slots, first.slots);  // regrown: new slots, more of them
  EXPECT_LT(grown.shift, first.shift);
  for (int64_t k = 1; k <= 10'000; k += 7) SeenTable::Prefetch(first, k);  // stale: harmless
  for (int64_t k = 1; k <= 10'000; k += 7) SeenTable::Prefetch(grown, k);
  EXPECT_EQ(t.size(), 10'000u);
  EXPECT_EQ(t.find(5000)->last_read, 1u);
}

}  // namespace
}  // namespace cloison::guard
