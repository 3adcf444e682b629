// The Merkle tree's levels on disk, so that proofs for any size cost O(log n)
// reads (docs/audit-format.md, "Tree files"). File `tree.LL` (LL = 00..63)
// holds the hashes of the complete level-LL subtrees in order, 32 bytes
// each: level 00 is the leaf hashes, and node i of level L covers leaves
// [i*2^L, (i+1)*2^L). Storage: 2 hashes per leaf (64 bytes).
//
// These files are a cache, rebuildable from the entries: they are synced
// only at checkpoints (the log then records how many leaves they hold in
// tree.state), and on open everything beyond that trusted size is cut and
// recomputed from the entries.
//
// Writes are behind (write_behind.h): new nodes are kept in memory per
// level and written once a level has kFlushBytes of them, or at Sync. A
// commit of a few entries completes a node on several levels: one small
// pwrite per level per commit is what this saves. Node() reads the nodes
// not yet written from memory; a crash loses only cache, as before.
//
// Thread-safety: one appender (the log's commit leader) at a time; Node(),
// Root() and size() may run concurrently with Append, and see a size that
// never covers a node not yet appended.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "audit/file.h"
#include "audit/merkle.h"
#include "audit/write_behind.h"

namespace cloison::audit {

class TreeFiles final : public NodeSource {
 public:
  static constexpr int kMaxLevels = 64;
  // A level's nodes held in memory before they are written (128 hashes).
  static constexpr size_t kFlushBytes = WriteBehind<32>::kChunkBytes;
  // Opens the files in `dir`, cutting them to a tree of `trusted_size`
  // leaves (Corruption if they hold fewer).
  static StatusOr<std::unique_ptr<TreeFiles>> Open(FileSystem& fs, const std::string& dir, uint64_t trusted_size);

  // Appends leaf hashes and every node they complete. Not written to the
  // files until a level has kFlushBytes pending or Sync; not durable until
  // Sync. An error writing a level leaves its nodes pending (the tree in
  // memory stays whole); the log then stops taking appends.
  Status Append(std::span<const Hash> leaf_hashes);
  // Writes every pending node, then syncs the files and the directory.
  Status Sync();

  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  StatusOr<Hash> Node(int level, uint64_t index) const override;
  // Root of the whole current tree, from the in-memory frontier (no IO).
  Hash Root() const;

 private:
  TreeFiles() = default;
  FileSystem* fs_ = nullptr;
  std::string dir_;
  std::unique_ptr<File> files_[kMaxLevels];
  std::atomic<uint64_t> size_{0};
  // Guards builder_ (Root() vs Append()) and levels_ (Node() vs Append()
  // and Sync()).
  mutable std::mutex mu_;
  TreeBuilder builder_;
  WriteBehind<32> levels_[kMaxLevels];  // per level, the nodes not yet in its file
  Status OpenLevel(int level);
  Status WriteLevel(int level);  // mu_ held
};

}  // namespace cloison::audit
