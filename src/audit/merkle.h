// Merkle tree hashing, proofs and their verification, exactly as RFC 6962
// section 2.1 / RFC 9162 section 2.1:
//
//   leaf hash  = SHA-256(0x00 || entry bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH({})    = SHA-256("")
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of 2 < n
//
// Every size and index is uint64_t: trees of up to 2^64-1 leaves verify
// correctly (a real CT log has ~10^9), and no arithmetic here can overflow.
//
// Proof generation works against a NodeSource, which answers the hash of any
// *complete, aligned* subtree (level L, index i covers leaves
// [i*2^L, (i+1)*2^L)). A source that stores every level (the audit log's
// tree files, MemoryTree below) answers in one read, so an inclusion proof
// costs O(log n) reads for the path plus O(log n) for the one ragged right
// subtree: O(log n) in all.
//
// Failure behaviour of the verifiers: OK when the proof holds;
// InvalidArgument when the inputs cannot describe a proof at all (index >=
// size, size1 > size2, a hash that is not 32 bytes); Corruption (DataLoss)
// when the proof does not hold (wrong length, wrong hashes, wrong root).
//
// Thread-safety: the free functions are pure. MemoryTree and TreeBuilder are
// not thread-safe (external locking).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "crypto/hash.h"

namespace cloison::audit {

using Hash = crypto::Sha256Digest;

Hash HashLeaf(std::span<const uint8_t> entry);
Hash HashChildren(const Hash& left, const Hash& right);
Hash EmptyRoot();  // SHA-256 of the empty string

// Largest power of two strictly less than n; n >= 2.
uint64_t SplitPoint(uint64_t n);

// Root of a list of leaf hashes held in memory (recursive definition).
Hash RootFromLeafHashes(std::span<const Hash> leaves);

// ---- Verification (RFC 9162 2.1.3.2 and 2.1.4.2) ----

// Root implied by an inclusion proof, or an error as documented above.
StatusOr<Hash> RootFromInclusionProof(uint64_t index, uint64_t size, const Hash& leaf_hash,
                                      std::span<const Hash> proof);
Status VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash, std::span<const Hash> proof,
                       const Hash& root);

// Consistency between a tree of size1 with root1 and a tree of size2 >= size1
// with root2. Rules (documented in docs/audit-format.md):
//  - size1 == size2: the proof must be empty and root1 == root2. For size 0
//    both roots must moreover be the empty-tree root SHA-256(""): the only
//    root a tree of size 0 can have, so a proof "from 0 to 0" between two
//    arbitrary equal strings is rejected (this is the
//    sizes-are-equal-zero-and-proof-is-empty vector).
//  - 0 == size1 < size2: rejected (InvalidArgument). Every tree extends the
//    empty tree, so no proof can say anything about root2; accepting one
//    would lend false assurance. Callers check such a pair by other means.
//  - 0 < size1 < size2: RFC 9162 2.1.4.2.
Status VerifyConsistency(uint64_t size1, uint64_t size2, const Hash& root1, const Hash& root2,
                         std::span<const Hash> proof);

// The same for inputs read from outside (JSON proofs, other logs), as byte
// strings of any length. Every value that has to be hashed must be 32 bytes
// (InvalidArgument otherwise); when the sizes are equal the two roots are
// only compared, as byte strings, like the reference implementation
// (transparency-dev/merkle) does.
using Bytes = std::vector<uint8_t>;
Status VerifyInclusionBytes(uint64_t index, uint64_t size, std::span<const uint8_t> leaf_hash,
                            const std::vector<Bytes>& proof, std::span<const uint8_t> root);
Status VerifyConsistencyBytes(uint64_t size1, uint64_t size2, std::span<const uint8_t> root1,
                              std::span<const uint8_t> root2, const std::vector<Bytes>& proof);
// 32 bytes as a Hash, or InvalidArgument naming `what`.
StatusOr<Hash> ToHash(std::span<const uint8_t> bytes, std::string_view what);

// ---- Generation ----

// Answers the hash of complete aligned subtrees. Implementations may read
// from disk; errors (IOError, Corruption) propagate to the caller.
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  // Hash of the subtree at `level` and `index`: leaves [index << level, (index + 1) << level).
  // Only called for subtrees that lie entirely within the current tree.
  virtual StatusOr<Hash> Node(int level, uint64_t index) const = 0;
};

// MTH(D[begin:end]) for any range whose begin is aligned as in the RFC
// recursion (begin a multiple of the largest power of two <= end - begin).
StatusOr<Hash> SubtreeRoot(const NodeSource& src, uint64_t begin, uint64_t end);
// MTH of the first `size` leaves.
StatusOr<Hash> RootAt(const NodeSource& src, uint64_t size);
// PATH(index, D[0:size]); InvalidArgument when index >= size.
StatusOr<std::vector<Hash>> InclusionProof(const NodeSource& src, uint64_t index, uint64_t size);
// PROOF(size1, D[0:size2]); InvalidArgument unless 0 < size1 <= size2.
StatusOr<std::vector<Hash>> ConsistencyProof(const NodeSource& src, uint64_t size1, uint64_t size2);

// The right frontier of a growing tree: the roots of its complete subtrees,
// O(log n) memory. Used to recompute a root while streaming leaves (verify)
// and to learn which interior nodes complete with each leaf (tree files).
class TreeBuilder {
 public:
  // Called for every node that becomes complete, leaves included (level 0).
  using NodeCallback = std::function<void(int level, uint64_t index, const Hash& hash)>;
  TreeBuilder() = default;
  explicit TreeBuilder(NodeCallback cb) : on_node_(std::move(cb)) {}

  void AppendLeafHash(const Hash& leaf_hash);
  uint64_t size() const { return size_; }
  Hash Root() const;  // EmptyRoot() for size 0

  // Restarts from a known frontier (the complete subtree roots of a tree of
  // `size` leaves, highest level first), e.g. read back from the tree files.
  void Reset(uint64_t size, std::vector<Hash> frontier);
  const std::vector<Hash>& frontier() const { return frontier_; }

 private:
  NodeCallback on_node_;
  uint64_t size_ = 0;
  std::vector<Hash> frontier_;  // highest level first; one per set bit of size_
};

// Every level in memory; for tests and small tools.
class MemoryTree final : public NodeSource {
 public:
  void AppendLeafHash(const Hash& h);
  void AppendEntry(std::span<const uint8_t> entry) { AppendLeafHash(HashLeaf(entry)); }
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  StatusOr<Hash> Node(int level, uint64_t index) const override;
  Hash Root() const;

 private:
  std::vector<std::vector<Hash>> levels_;
};

std::string HashToHex(const Hash& h);

}  // namespace cloison::audit
