#include "audit/merkle.h"

#include <algorithm>
#include <bit>

#include "core/strings.h"

namespace cloison::audit {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

Status NotHold(std::string_view why) { return Corruption(why); }

}  // namespace

Hash HashLeaf(std::span<const uint8_t> entry) { return crypto::Sha256Prefixed(kLeafPrefix, entry); }

Hash HashChildren(const Hash& left, const Hash& right) {
  return crypto::Sha256Prefixed(kNodePrefix, left, right);
}

Hash EmptyRoot() {
  static const Hash kEmpty = crypto::Sha256({});
  return kEmpty;
}

uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

Hash RootFromLeafHashes(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  const uint64_t k = SplitPoint(leaves.size());
  return HashChildren(RootFromLeafHashes(leaves.subspan(0, k)), RootFromLeafHashes(leaves.subspan(k)));
}

StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size, const Hash& leaf_hash,
                                      std::span<const Hash> proof) {
  if (size == 0) return InvalidArgument("inclusion proof in an empty tree");
  if (index >= size) return InvalidArgument(StrCat("leaf index ", index, " is not below tree size ", size));
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return NotHold("inclusion proof is too long");
    if ((fn & 1) || fn == sn) {
      r = HashChildren(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return NotHold("inclusion proof is too short");
  return r;
}

Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash, std::span<const Hash> proof,
                       const Hash& root) {
  CLOISON_ASSIGN_OR_RETURN(Hash computed, RootFromInclusionProof(index, size, leaf_hash, proof));
  if (computed != root) return NotHold("inclusion proof does not lead to the root");
  return OkStatus();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, const Hash& root1, const Hash& root2,
                         std::span<const Hash> proof) {
  if (size1 > size2) return InvalidArgument(StrCat("old size ", size1, " is above new size ", size2));
  if (size1 == size2) {
    if (!proof.empty()) return NotHold("consistency proof between equal sizes must be empty");
    if (root1 != root2) return NotHold("equal sizes but different roots");
    if (size1 == 0 && root1 != EmptyRoot()) return NotHold("a tree of size 0 has the empty-tree root");
    return OkStatus();
  }
  if (size1 == 0) return InvalidArgument("consistency from size 0 proves nothing (every tree extends it)");
  if (proof.empty()) return NotHold("consistency proof is empty");

  // RFC 9162 2.1.4.2. When size1 is a power of two, root1 is itself the first
  // element of the walk.
  size_t pos = 0;
  Hash fr, sr;
  if (IsPowerOfTwo(size1)) {
    fr = sr = root1;
  } else {
    fr = sr = proof[pos++];
  }
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  for (; pos < proof.size(); ++pos) {
    const Hash& c = proof[pos];
    if (sn == 0) return NotHold("consistency proof is too long");
    if ((fn & 1) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return NotHold("consistency proof is too short");
  if (fr != root1) return NotHold("consistency proof does not lead to the old root");
  if (sr != root2) return NotHold("consistency proof does not lead to the new root");
  return OkStatus();
}

StatusOr<Hash> ToHash(std::span<const uint8_t> bytes, std::string_view what) {
  if (bytes.size() != 32) return InvalidArgument(StrCat(what, " is ", bytes.size(), " bytes, not 32"));
  Hash h;
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

namespace {
StatusOr<std::vector<Hash>> ToHashes(const std::vector<Bytes>& proof) {
  std::vector<Hash> out;
  out.reserve(proof.size());
  for (size_t i = 0; i < proof.size(); ++i) {
    CLOISON_ASSIGN_OR_RETURN(Hash h, ToHash(proof[i], StrCat("proof element ", i)));
    out.push_back(h);
  }
  return out;
}
bool SameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
}  // namespace

Status VerifyInclusionBytes(uint64_t index, uint64_t size, std::span<const uint8_t> leaf_hash,
                            const std::vector<Bytes>& proof, std::span<const uint8_t> root) {
  if (size == 0) return InvalidArgument("inclusion proof in an empty tree");
  if (index >= size) return InvalidArgument(StrCat("leaf index ", index, " is not below tree size ", size));
  CLOISON_ASSIGN_OR_RETURN(Hash leaf, ToHash(leaf_hash, "leaf hash"));
  CLOISON_ASSIGN_OR_RETURN(Hash r, ToHash(root, "root hash"));
  CLOISON_ASSIGN_OR_RETURN(std::vector<Hash> p, ToHashes(proof));
  return VerifyInclusion(index, size, leaf, p, r);
}

Status VerifyConsistencyBytes(uint64_t size1, uint64_t size2, std::span<const uint8_t> root1,
                              std::span<const uint8_t> root2, const std::vector<Bytes>& proof) {
  if (size1 > size2) return InvalidArgument(StrCat("old size ", size1, " is above new size ", size2));
  if (size1 == size2) {
    if (!proof.empty()) return NotHold("consistency proof between equal sizes must be empty");
    if (!SameBytes(root1, root2)) return NotHold("equal sizes but different roots");
    if (size1 == 0 && !SameBytes(root1, EmptyRoot())) return NotHold("a tree of size 0 has the empty-tree root");
    return OkStatus();
  }
  if (size1 == 0) return InvalidArgument("consistency from size 0 proves nothing (every tree extends it)");
  CLOISON_ASSIGN_OR_RETURN(Hash r1, ToHash(root1, "old root"));
  CLOISON_ASSIGN_OR_RETURN(Hash r2, ToHash(root2, "new root"));
  CLOISON_ASSIGN_OR_RETURN(std::vector<Hash> p, ToHashes(proof));
  return VerifyConsistency(size1, size2, r1, r2, p);
}

StatusOr<Hash> SubtreeRoot(const NodeSource& src, uint64_t begin, uint64_t end) {
  if (end < begin) return InvalidArgument("subtree with end before begin");
  const uint64_t n = end - begin;
  if (n == 0) return EmptyRoot();
  if (IsPowerOfTwo(n) && begin % n == 0) {
    return src.Node(std::countr_zero(n), begin >> std::countr_zero(n));
  }
  // Ragged right edge: complete left part, then recurse into the rest.
  const uint64_t k = SplitPoint(n);
  if (begin % k != 0) return InvalidArgument("subtree range is not aligned");
  CLOISON_ASSIGN_OR_RETURN(Hash left, src.Node(std::countr_zero(k), begin >> std::countr_zero(k)));
  CLOISON_ASSIGN_OR_RETURN(Hash right, SubtreeRoot(src, begin + k, end));
  return HashChildren(left, right);
}

StatusOr<Hash> RootAt(const NodeSource& src, uint64_t size) { return SubtreeRoot(src, 0, size); }

StatusOr<std::vector<Hash>> InclusionProof(const NodeSource& src, uint64_t index, uint64_t size) {
  if (index >= size) return InvalidArgument(StrCat("leaf index ", index, " is not below tree size ", size));
  std::vector<Hash> out;  // collected root-down, returned leaf-up
  uint64_t begin = 0, end = size;
  while (end - begin > 1) {
    const uint64_t k = SplitPoint(end - begin);
    if (index < begin + k) {
      CLOISON_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(src, begin + k, end));
      out.push_back(h);
      end = begin + k;
    } else {
      CLOISON_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(src, begin, begin + k));
      out.push_back(h);
      begin += k;
    }
  }
  std::reverse(out.begin(), out.end());
  return out;
}

StatusOr<std::vector<Hash>> ConsistencyProof(const NodeSource& src, uint64_t size1, uint64_t size2) {
  if (size1 == 0 || size1 > size2) {
    return InvalidArgument(StrCat("no consistency proof from size ", size1, " to size ", size2));
  }
  std::vector<Hash> pending;  // SUBPROOF's trailing elements, root-down
  std::vector<Hash> out;
  uint64_t m = size1, begin = 0, end = size2;
  bool b = true;
  while (true) {
    const uint64_t n = end - begin;
    if (m == n) {
      if (!b) {
        CLOISON_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(src, begin, end));
        out.push_back(h);
      }
      break;
    }
    const uint64_t k = SplitPoint(n);
    if (m <= k) {
      CLOISON_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(src, begin + k, end));
      pending.push_back(h);
      end = begin + k;
    } else {
      CLOISON_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(src, begin, begin + k));
      pending.push_back(h);
      m -= k;
      begin += k;
      b = false;
    }
  }
  out.insert(out.end(), pending.rbegin(), pending.rend());
  return out;
}

void TreeBuilder::AppendLeafHash(const Hash& leaf_hash) {
  uint64_t idx = size_;
  if (on_node_) on_node_(0, idx, leaf_hash);
  Hash cur = leaf_hash;
  int level = 0;
  while (idx & 1) {
    cur = HashChildren(frontier_.back(), cur);
    frontier_.pop_back();
    idx >>= 1;
    ++level;
    if (on_node_) on_node_(level, idx, cur);
  }
  frontier_.push_back(cur);
  ++size_;
}

Hash TreeBuilder::Root() const {
  if (frontier_.empty()) return EmptyRoot();
  Hash r = frontier_.back();
  for (size_t i = frontier_.size() - 1; i-- > 0;) r = HashChildren(frontier_[i], r);
  return r;
}

void TreeBuilder::Reset(uint64_t size, std::vector<Hash> frontier) {
  size_ = size;
  frontier_ = std::move(frontier);
}

void MemoryTree::AppendLeafHash(const Hash& h) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(h);
  for (size_t l = 0; levels_[l].size() % 2 == 0; ++l) {
    if (levels_.size() == l + 1) levels_.emplace_back();
    const auto& lv = levels_[l];
    levels_[l + 1].push_back(HashChildren(lv[lv.size() - 2], lv[lv.size() - 1]));
  }
}

StatusOr<Hash> MemoryTree::Node(int level, uint64_t index) const {
  if (level < 0 || static_cast<size_t>(level) >= levels_.size() || index >= levels_[level].size()) {
    return Internal(StrCat("no tree node at level ", level, " index ", index));
  }
  return levels_[level][index];
}

Hash MemoryTree::Root() const {
  auto r = RootAt(*this, size());
  return r.ok() ? *r : EmptyRoot();
}

std::string HashToHex(const Hash& h) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (uint8_t b : h) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

}  // namespace cloison::audit
