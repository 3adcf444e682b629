// Property tests of the Merkle code: random trees of random sizes, every
// proof verifies, every mutation of a proof is rejected, generation agrees
// with a literal transcription of RFC 6962 section 2.1, and sizes up to
// 2^64-1 work without overflow.
#include <gtest/gtest.h>

#include <limits>
#include <map>

#include "audit/merkle.h"
#include "core/random.h"

namespace cloison::audit {
namespace {

// RFC 6962 2.1.1 / 2.1.2 written literally over an in-memory list.
Hash RefMth(std::span<const Hash> d) { return RootFromLeafHashes(d); }
std::vector<Hash> RefPath(uint64_t m, std::span<const Hash> d) {
  if (d.size() <= 1) return {};
  const uint64_t k = SplitPoint(d.size());
  std::vector<Hash> out;
  if (m < k) {
    out = RefPath(m, d.subspan(0, k));
    out.push_back(RefMth(d.subspan(k)));
  } else {
    out = RefPath(m - k, d.subspan(k));
    out.push_back(RefMth(d.subspan(0, k)));
  }
  return out;
}
std::vector<Hash> RefSubproof(uint64_t m, std::span<const Hash> d, bool b) {
  if (m == d.size()) return b ? std::vector<Hash>{} : std::vector<Hash>{RefMth(d)};
  const uint64_t k = SplitPoint(d.size());
  std::vector<Hash> out;
  if (m <= k) {
    out = RefSubproof(m, d.subspan(0, k), b);
    out.push_back(RefMth(d.subspan(k)));
  } else {
    out = RefSubproof(m - k, d.subspan(k), false);
    out.push_back(RefMth(d.subspan(0, k)));
  }
  return out;
}

Hash RandomHash(Random& rnd) {
  Hash h;
  rnd.Fill(h);
  return h;
}

TEST(MerklePropertyTest, AgreesWithRfcDefinitionsAllSmallTrees) {
  DeterministicRandom rnd(1);
  std::vector<Hash> leaves;
  MemoryTree t;
  for (int n = 1; n <= 70; ++n) {
    leaves.push_back(RandomHash(rnd));
    t.AppendLeafHash(leaves.back());
    std::span<const Hash> d(leaves);
    ASSERT_EQ(*RootAt(t, n), RefMth(d));
    for (int m = 0; m < n; ++m) {
      auto p = InclusionProof(t, m, n);
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(*p, RefPath(m, d)) << m << "/" << n;
      ASSERT_TRUE(VerifyInclusion(m, n, leaves[m], *p, RefMth(d)).ok());
    }
    for (int m = 1; m <= n; ++m) {
      auto p = ConsistencyProof(t, m, n);
      ASSERT_TRUE(p.ok());
      ASSERT_EQ(*p, RefSubproof(m, d, true)) << m << "/" << n;
      ASSERT_TRUE(VerifyConsistency(m, n, RefMth(d.subspan(0, m)), RefMth(d), *p).ok()) << m << "/" << n;
    }
  }
}

TEST(MerklePropertyTest, TreeBuilderMatchesAndEmitsEveryNode) {
  DeterministicRandom rnd(2);
  MemoryTree t;
  std::map<std::pair<int, uint64_t>, Hash> emitted;
  TreeBuilder b([&](int level, uint64_t index, const Hash& h) { emitted[{level, index}] = h; });
  for (int n = 1; n <= 600; ++n) {
    Hash h = RandomHash(rnd);
    t.AppendLeafHash(h);
    b.AppendLeafHash(h);
    ASSERT_EQ(b.Root(), t.Root());
  }
  for (const auto& [key, h] : emitted) ASSERT_EQ(*t.Node(key.first, key.second), h);
  EXPECT_EQ(emitted.size(), 600u + 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1);
}

TEST(MerklePropertyTest, RandomTreesEveryProofVerifiesEveryMutationFails) {
  DeterministicRandom rnd(3);
  for (int round = 0; round < 30; ++round) {
    const uint64_t n = 1 + rnd.Uniform(round < 20 ? 300 : 5000);
    MemoryTree t;
    std::vector<Hash> leaves;
    for (uint64_t i = 0; i < n; ++i) {
      leaves.push_back(RandomHash(rnd));
      t.AppendLeafHash(leaves.back());
    }
    const Hash root = t.Root();
    for (int k = 0; k < 40; ++k) {
      const uint64_t i = rnd.Uniform(n);
      auto p = *InclusionProof(t, i, n);
      ASSERT_TRUE(VerifyInclusion(i, n, leaves[i], p, root).ok());
      // Wrong leaf, wrong index, wrong size, flipped bit, dropped/added/swapped element.
      Hash bad_leaf = leaves[i];
      bad_leaf[rnd.Uniform(32)] ^= uint8_t(1u << rnd.Uniform(8));
      EXPECT_FALSE(VerifyInclusion(i, n, bad_leaf, p, root).ok());
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion((i + 1) % n, n, leaves[i], p, root).ok());
      }
      // (A different size with a path of the same shape is not detectable
      // from the proof alone: the size is bound by the signed checkpoint.)
      if (!p.empty()) {
        auto q = p;
        q[rnd.Uniform(q.size())][rnd.Uniform(32)] ^= uint8_t(1u << rnd.Uniform(8));
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], q, root).ok());
        q = p;
        q.pop_back();
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], q, root).ok());
        if (p.size() > 1) {
          q = p;
          std::swap(q[0], q[1]);
          EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], q, root).ok());
        }
      }
      auto q = p;
      q.push_back(root);
      EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], q, root).ok());

      const uint64_t m = 1 + rnd.Uniform(n);
      const Hash root1 = *RootAt(t, m);
      auto c = *ConsistencyProof(t, m, n);
      ASSERT_TRUE(VerifyConsistency(m, n, root1, root, c).ok()) << m << "/" << n;
      if (!c.empty()) {
        auto d = c;
        d[rnd.Uniform(d.size())][rnd.Uniform(32)] ^= uint8_t(1u << rnd.Uniform(8));
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root, d).ok());
        d = c;
        d.pop_back();
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root, d).ok());
        d = c;
        d.push_back(root);
        EXPECT_FALSE(VerifyConsistency(m, n, root1, root, d).ok());
      }
      Hash bad_root = root1;
      bad_root[0] ^= 0x80;
      EXPECT_FALSE(VerifyConsistency(m, n, bad_root, root, c).ok());
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, root, root1, c).ok());
      }
    }
  }
}

// A virtual tree of any size whose leaf i has hash f(i mod 256): every complete
// subtree of 256 or more leaves has the same hash per level, so Node() is
// cheap at any size while low index bits still matter.
class PeriodicTree final : public NodeSource {
 public:
  StatusOr<Hash> Node(int level, uint64_t index) const override {
    if (level >= 8) {
      auto it = full_.find(level);
      if (it != full_.end()) return it->second;
      Hash h = level == 8 ? HashChildren(*Node(7, 0), *Node(7, 1))
                          : HashChildren(*Node(level - 1, 0), *Node(level - 1, 0));
      full_[level] = h;
      return h;
    }
    if (level == 0) return Leaf(index);
    return HashChildren(*Node(level - 1, 2 * index), *Node(level - 1, 2 * index + 1));
  }
  static Hash Leaf(uint64_t i) {
    uint8_t b = uint8_t(i & 0xff);
    return HashLeaf(std::span<const uint8_t>(&b, 1));
  }

 private:
  mutable std::map<int, Hash> full_;
};

TEST(MerklePropertyTest, HugeTreesUpTo2To64) {
  PeriodicTree t;
  const uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const std::vector<uint64_t> sizes = {uint64_t(1) << 62, (uint64_t(1) << 63) - 1, uint64_t(1) << 63,
                                       (uint64_t(1) << 63) + 12345, 1'000'000'007ull, kMax};
  DeterministicRandom rnd(4);
  for (uint64_t n : sizes) {
    const Hash root = *RootAt(t, n);
    for (uint64_t i : {uint64_t(0), n - 1, n / 2, n - 2, rnd.Uniform(n)}) {
      auto p = InclusionProof(t, i, n);
      ASSERT_TRUE(p.ok());
      EXPECT_LE(p->size(), 64u);
      EXPECT_TRUE(VerifyInclusion(i, n, PeriodicTree::Leaf(i), *p, root).ok()) << i << "/" << n;
      EXPECT_FALSE(VerifyInclusion(i, n, PeriodicTree::Leaf(i + 1), *p, root).ok());
    }
    for (uint64_t m : {uint64_t(1), n - 1, n / 3, uint64_t(1) << 40, rnd.Uniform(n - 1) + 1}) {
      if (m == 0 || m > n) continue;
      auto c = ConsistencyProof(t, m, n);
      ASSERT_TRUE(c.ok());
      EXPECT_TRUE(VerifyConsistency(m, n, *RootAt(t, m), root, *c).ok()) << m << "/" << n;
      Hash bad = root;
      bad[31] ^= 1;
      EXPECT_FALSE(VerifyConsistency(m, n, *RootAt(t, m), bad, *c).ok());
    }
  }
  // Index at the very top of the range is rejected, not wrapped.
  EXPECT_EQ(VerifyInclusion(kMax, kMax, PeriodicTree::Leaf(0), {}, EmptyRoot()).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cloison::audit
