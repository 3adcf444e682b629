// Fixed-size records appended to a cache file behind the writer: the latest
// records wait in memory until a chunk of them is ready (or Flush), and are
// read from there until then. Used for entries.idx (8-byte offsets) and the
// tree levels (32-byte hashes, tree_store.h): one small pwrite per file per
// group commit, between the entries' fdatasync and the acknowledgement, was
// most of the commit's writes. Only for caches: what is pending is lost in
// a crash, and the owner rebuilds it from entries.log.
//
// Thread-safety: none; the owner serialises every call (its own mutex).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "audit/file.h"

namespace cloison::audit {

template <size_t kRecordSize>
class WriteBehind {
 public:
  // Pending bytes that make a chunk worth a write.
  static constexpr size_t kChunkBytes = 4096;

  // The file holds `records` records; nothing is pending.
  void Reset(uint64_t records) {
    written_ = records;
    pending_.clear();
  }
  // Queues whole records (bytes.size() a multiple of kRecordSize).
  void Add(std::string_view bytes) { pending_.append(bytes); }
  bool ChunkReady() const { return pending_.size() >= kChunkBytes; }
  bool empty() const { return pending_.empty(); }
  // Appends everything pending to `f`. On error it stays pending (a later
  // Flush writes it, reads still find it).
  Status Flush(File& f) {
    if (pending_.empty()) return OkStatus();
    CLOISON_RETURN_IF_ERROR(f.Append(pending_));
    written_ += pending_.size() / kRecordSize;
    pending_.clear();
    return OkStatus();
  }
  // Records below written() are in the file and never change.
  uint64_t written() const { return written_; }
  // Copies record `index` (>= written()) into `out`; false if not queued.
  bool ReadPending(uint64_t index, std::span<uint8_t, kRecordSize> out) const {
    if (index < written_) return false;
    const uint64_t at = (index - written_) * kRecordSize;
    if (at + kRecordSize > pending_.size()) return false;
    std::memcpy(out.data(), pending_.data() + at, kRecordSize);
    return true;
  }

 private:
  uint64_t written_ = 0;
  std::string pending_;
};

}  // namespace cloison::audit
