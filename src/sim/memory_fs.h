// An in-memory audit::FileSystem for the traffic simulator: the simulator
// runs every access through access::Gate, which appends a durable audit entry
// per access; on disk that is one fdatasync per entry, about a million per
// simulated month. Here Sync() is free and nothing touches the disk.
//
// keep_contents = false ("counting" mode) keeps only the size and the first
// kKeptPrefix bytes (the file headers) of files opened with Open()
// (entries.log, entries.idx, tree.NN, checkpoints.log): later appended bytes
// are counted and dropped, so a simulated month of entries costs no memory.
// Reading dropped bytes back (ReadAt) fails with IOError. The
// audit log reads them only to recover on open (a fresh directory has
// nothing to recover) and to build proofs and checkpoints, which the
// simulator turns off (LogOptions::checkpoint_*). Files written whole
// (WriteFileAtomic: the signing key, tree.state) are always kept.
//
// Nothing here is durable; never use it for a real audit log.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "audit/file.h"

namespace cloison::sim {

class MemoryFileSystem final : public audit::FileSystem {
 public:
  static constexpr uint64_t kKeptPrefix = 4096;
  explicit MemoryFileSystem(bool keep_contents = true) : keep_contents_(keep_contents) {}

  StatusOr<std::unique_ptr<audit::File>> Open(const std::string& path, bool create) override;
  Status CreateDir(const std::string& path) override;
  bool Exists(const std::string& path) override;
  StatusOr<std::string> ReadFile(const std::string& path) override;
  Status WriteFileAtomic(const std::string& path, std::string_view contents, int mode) override;
  Status SyncDir(const std::string&) override { return OkStatus(); }
  StatusOr<std::unique_ptr<audit::FileLock>> Lock(const std::string& path) override;

  // Bytes appended or written so far, over all files.
  uint64_t bytes() const;

  struct Node {
    std::mutex mu;
    std::string data;   // kept bytes
    uint64_t size = 0;  // logical size (== data.size() when contents are kept)
    bool keep = true;
  };

 private:
  bool keep_contents_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Node>> files_;
  std::map<std::string, bool> dirs_;
};

}  // namespace cloison::sim
