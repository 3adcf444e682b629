#include "audit/tree_store.h"

#include <cstdio>

#include "core/strings.h"

namespace cloison::audit {
namespace {
std::string LevelName(const std::string& dir, int level) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "/tree.%02d", level);
  return dir + buf;
}
}  // namespace

Status TreeFiles::OpenLevel(int level) {
  if (files_[level]) return OkStatus();
  CLOISON_ASSIGN_OR_RETURN(files_[level], fs_->Open(LevelName(dir_, level), /*create=*/true));
  return OkStatus();
}

StatusOr<std::unique_ptr<TreeFiles>> TreeFiles::Open(FileSystem& fs, const std::string& dir, uint64_t trusted_size) {
  std::unique_ptr<TreeFiles> t(new TreeFiles());
  t->fs_ = &fs;
  t->dir_ = dir;
  for (int l = 0; l < kMaxLevels; ++l) {
    const uint64_t want = trusted_size >> l;
    if (want == 0 && !fs.Exists(LevelName(dir, l))) continue;
    CLOISON_RETURN_IF_ERROR(t->OpenLevel(l));
    CLOISON_ASSIGN_OR_RETURN(uint64_t have, t->files_[l]->Size());
    if (have / 32 < want) {
      return Corruption(StrCat(LevelName(dir, l), " holds ", have / 32, " hashes, ", want, " expected"));
    }
    if (have != want * 32) CLOISON_RETURN_IF_ERROR(t->files_[l]->Truncate(want * 32));
    t->levels_[l].Reset(want);
  }
  // Frontier: one complete subtree per set bit of the size, highest first.
  std::vector<Hash> frontier;
  uint64_t begin = 0;
  for (int l = kMaxLevels - 1; l >= 0; --l) {
    if (trusted_size & (uint64_t(1) << l)) {
      t->size_.store(trusted_size);  // Node() bounds
      CLOISON_ASSIGN_OR_RETURN(Hash h, t->Node(l, begin >> l));
      frontier.push_back(h);
      begin += uint64_t(1) << l;
    }
  }
  t->size_.store(trusted_size);
  t->builder_ = TreeBuilder([levels = t->levels_](int level, uint64_t, const Hash& h) {
    levels[level].Add({reinterpret_cast<const char*>(h.data()), h.size()});
  });
  t->builder_.Reset(trusted_size, std::move(frontier));
  return t;
}

Status TreeFiles::WriteLevel(int level) {
  if (levels_[level].empty()) return OkStatus();
  CLOISON_RETURN_IF_ERROR(OpenLevel(level));
  return levels_[level].Flush(*files_[level]);
}

Status TreeFiles::Append(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.empty()) return OkStatus();
  std::lock_guard<std::mutex> l(mu_);
  for (const Hash& h : leaf_hashes) builder_.AppendLeafHash(h);
  size_.fetch_add(leaf_hashes.size(), std::memory_order_release);
  for (int level = 0; level < kMaxLevels; ++level) {
    if (levels_[level].ChunkReady()) CLOISON_RETURN_IF_ERROR(WriteLevel(level));
  }
  return OkStatus();
}

Status TreeFiles::Sync() {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (int level = 0; level < kMaxLevels; ++level) CLOISON_RETURN_IF_ERROR(WriteLevel(level));
  }
  for (auto& f : files_) {
    if (f) CLOISON_RETURN_IF_ERROR(f->Sync());
  }
  return fs_->SyncDir(dir_);
}

StatusOr<Hash> TreeFiles::Node(int level, uint64_t index) const {
  if (level < 0 || level >= kMaxLevels || index >= (size() >> level)) {
    return Internal(StrCat("tree node ", level, "/", index, " is outside the tree"));
  }
  Hash h;
  {
    // Not written yet: in memory. A node below written() is in its file
    // for good and is read without the lock.
    std::lock_guard<std::mutex> l(mu_);
    if (index >= levels_[level].written()) {
      if (!levels_[level].ReadPending(index, h)) return Internal(StrCat("tree node ", level, "/", index, " is missing"));
      return h;
    }
  }
  if (!files_[level]) return Corruption(StrCat("tree file level ", level, " is missing"));
  size_t got = 0;
  CLOISON_RETURN_IF_ERROR(files_[level]->ReadAt(index * 32, h, &got));
  if (got != 32) return Corruption(StrCat("tree file level ", level, " is short"));
  return h;
}

Hash TreeFiles::Root() const {
  std::lock_guard<std::mutex> l(mu_);
  return builder_.Root();
}

}  // namespace cloison::audit
