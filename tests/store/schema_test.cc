// The blind-index sort used by bulk loads (store/schema.h).
#include "store/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace cloison::store::internal {
namespace {

bool MemcmpLess(const BlindEntry& a, const BlindEntry& b) {
  const int c = std::memcmp(a.tag, b.tag, sizeof a.tag);
  return c != 0 ? c < 0 : a.person_id < b.person_id;
}

bool Same(const std::vector<BlindEntry>& a, const std::vector<BlindEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(a[i].tag, b[i].tag, sizeof a[i].tag) != 0 || a[i].person_id != b[i].person_id) return false;
  return true;
}

// Random tags, with some that share their first 2 or 8 bytes (same radix
// bucket, same comparison word) or their whole tag (ordered by person id).
std::vector<BlindEntry> Entries(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<BlindEntry> v(n);
  for (size_t i = 0; i < n; ++i) {
    for (auto& b : v[i].tag) b = static_cast<uint8_t>(rng());
    v[i].person_id = static_cast<int64_t>(rng() % 1000000) + 1;
    if (i > 0) {
      switch (rng() % 16) {
        case 0: std::memcpy(v[i].tag, v[i - 1].tag, 2); break;
        case 1: std::memcpy(v[i].tag, v[i - 1].tag, 8); break;
        case 2: std::memcpy(v[i].tag, v[i - 1].tag, sizeof v[i].tag - 1); break;
        case 3: std::memcpy(v[i].tag, v[i - 1].tag, sizeof v[i].tag); break;
        default: break;
      }
    }
  }
  // The shared prefixes above sit next to each other; scatter them.
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

TEST(SortBlindEntriesTest, MatchesMemcmpOrderBelowAndAboveTheRadixThreshold) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{1000}, size_t{65535}, size_t{65536}, size_t{300000}}) {
    std::vector<BlindEntry> v = Entries(n, static_cast<uint32_t>(n) + 7);
    std::vector<BlindEntry> want = v;
    std::sort(want.begin(), want.end(), MemcmpLess);
    SortBlindEntries(v);
    EXPECT_TRUE(Same(v, want)) << n << " entries";
  }
}

TEST(SortBlindEntriesTest, OrdersTagsThatDifferOnlyInTheirLastByte) {
  std::vector<BlindEntry> v(70000);
  for (size_t i = 0; i < v.size(); ++i) {
    std::memset(v[i].tag, 0xAB, sizeof v[i].tag);
    v[i].tag[sizeof v[i].tag - 1] = static_cast<uint8_t>(255 - i % 256);
    v[i].tag[sizeof v[i].tag - 2] = static_cast<uint8_t>(i / 256);
    v[i].person_id = static_cast<int64_t>(i);
  }
  SortBlindEntries(v);
  for (size_t i = 1; i < v.size(); ++i) ASSERT_TRUE(MemcmpLess(v[i - 1], v[i])) << i;
}

}  // namespace
}  // namespace cloison::store::internal
