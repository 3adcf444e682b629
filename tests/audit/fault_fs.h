// A FileSystem for tests that wraps the POSIX one and can fail writes or
// syncs, and simulate a power loss: every file loses what was not synced,
// and entries.log may get a torn tail.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>

#include "audit/file.h"

namespace cloison::audit::testing {

class FaultFs final : public FileSystem {
 public:
  bool fail_sync = false;
  bool fail_write = false;
  bool crashed = false;  // every operation fails, as if the process were gone
  // Called at the start of every File::Sync with the file's path: a test can
  // hold a sync there, to order concurrent appenders without timing.
  std::function<void(const std::string& path)> on_sync;

  StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override;
  Status CreateDir(const std::string& p) override { return crashed ? IOError("crashed") : base().CreateDir(p); }
  bool Exists(const std::string& p) override { return base().Exists(p); }
  StatusOr<std::string> ReadFile(const std::string& p) override { return base().ReadFile(p); }
  Status WriteFileAtomic(const std::string& p, std::string_view c, int mode) override {
    if (crashed || fail_write) return IOError("injected write failure");
    return base().WriteFileAtomic(p, c, mode);
  }
  Status SyncDir(const std::string& p) override { return crashed || fail_sync ? IOError("injected") : OkStatus(); }
  StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& p) override { return base().Lock(p); }

  // Power loss: truncate every file opened through this FS to its last
  // synced size. Call after `crashed = true` and destroying the log.
  void DropUnsynced() {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [path, size] : synced_) {
      if (std::filesystem::exists(path)) std::filesystem::resize_file(path, size);
    }
  }
  void Synced(const std::string& path, uint64_t size) {
    std::lock_guard<std::mutex> l(mu_);
    synced_[path] = size;
  }

 private:
  static FileSystem& base() { return FileSystem::Default(); }
  std::mutex mu_;
  std::map<std::string, uint64_t> synced_;
};

class FaultFile final : public File {
 public:
  FaultFile(std::unique_ptr<File> f, FaultFs* fs, std::string path) : f_(std::move(f)), fs_(fs), path_(path) {}
  using File::Append;
  Status Append(std::span<const uint8_t> d) override {
    if (fs_->crashed || fs_->fail_write) return IOError("injected write failure");
    return f_->Append(d);
  }
  Status ReadAt(uint64_t o, std::span<uint8_t> out, size_t* got) const override { return f_->ReadAt(o, out, got); }
  Status Sync() override {
    if (fs_->on_sync) fs_->on_sync(path_);
    if (fs_->crashed || fs_->fail_sync) return IOError("injected fdatasync failure");
    CLOISON_RETURN_IF_ERROR(f_->Sync());
    CLOISON_ASSIGN_OR_RETURN(uint64_t sz, f_->Size());
    fs_->Synced(path_, sz);
    return OkStatus();
  }
  StatusOr<uint64_t> Size() const override { return f_->Size(); }
  Status Truncate(uint64_t s) override {
    if (fs_->crashed) return IOError("crashed");
    return f_->Truncate(s);
  }

 private:
  std::unique_ptr<File> f_;
  FaultFs* fs_;
  std::string path_;
};

inline StatusOr<std::unique_ptr<File>> FaultFs::Open(const std::string& path, bool create) {
  if (crashed) return IOError("crashed");
  CLOISON_ASSIGN_OR_RETURN(auto f, base().Open(path, create));
  CLOISON_ASSIGN_OR_RETURN(uint64_t sz, f->Size());
  Synced(path, sz);  // what exists at open is on disk
  return std::unique_ptr<File>(new FaultFile(std::move(f), this, path));
}

}  // namespace cloison::audit::testing
