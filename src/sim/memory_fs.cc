#include "sim/memory_fs.h"

#include <algorithm>
#include <cstring>

#include "core/strings.h"

namespace cloison::sim {

namespace {

class MemoryFile final : public audit::File {
 public:
  explicit MemoryFile(std::shared_ptr<MemoryFileSystem::Node> n) : n_(std::move(n)) {}
  using audit::File::Append;
  Status Append(std::span<const uint8_t> d) override {
    std::lock_guard<std::mutex> l(n_->mu);
    if (n_->keep) {
      n_->data.append(reinterpret_cast<const char*>(d.data()), d.size());
    } else if (n_->size < MemoryFileSystem::kKeptPrefix) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(d.size(), MemoryFileSystem::kKeptPrefix - n_->size));
      n_->data.append(reinterpret_cast<const char*>(d.data()), n);
    }
    n_->size += d.size();
    return OkStatus();
  }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out, size_t* got) const override {
    std::lock_guard<std::mutex> l(n_->mu);
    *got = 0;
    if (offset >= n_->size) return OkStatus();
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), n_->size - offset));
    if (offset + n > n_->data.size()) return IOError("in-memory simulator file system: contents not kept");
    std::memcpy(out.data(), n_->data.data() + offset, n);
    *got = n;
    return OkStatus();
  }
  Status Sync() override { return OkStatus(); }
  StatusOr<uint64_t> Size() const override {
    std::lock_guard<std::mutex> l(n_->mu);
    return n_->size;
  }
  Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> l(n_->mu);
    if (size > n_->size) return IOError("in-memory simulator file system: cannot extend by truncation");
    n_->size = size;
    if (size < n_->data.size()) n_->data.resize(static_cast<size_t>(size));
    return OkStatus();
  }

 private:
  std::shared_ptr<MemoryFileSystem::Node> n_;
};

class NoLock final : public audit::FileLock {};

}  // namespace

StatusOr<std::unique_ptr<audit::File>> MemoryFileSystem::Open(const std::string& path, bool create) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!create) return NotFound(StrCat(path, ": no such file"));
    auto n = std::make_shared<Node>();
    n->keep = keep_contents_;
    it = files_.emplace(path, std::move(n)).first;
  }
  return std::unique_ptr<audit::File>(new MemoryFile(it->second));
}

Status MemoryFileSystem::CreateDir(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  dirs_[path] = true;
  return OkStatus();
}

bool MemoryFileSystem::Exists(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  return files_.count(path) > 0 || dirs_.count(path) > 0;
}

StatusOr<std::string> MemoryFileSystem::ReadFile(const std::string& path) {
  std::shared_ptr<Node> n;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return NotFound(StrCat(path, ": no such file"));
    n = it->second;
  }
  std::lock_guard<std::mutex> l(n->mu);
  if (n->data.size() < n->size) return IOError(StrCat(path, ": contents not kept"));
  return n->data;
}

Status MemoryFileSystem::WriteFileAtomic(const std::string& path, std::string_view contents, int) {
  auto n = std::make_shared<Node>();
  n->data.assign(contents);
  n->size = contents.size();
  n->keep = true;
  std::lock_guard<std::mutex> l(mu_);
  files_[path] = std::move(n);
  return OkStatus();
}

StatusOr<std::unique_ptr<audit::FileLock>> MemoryFileSystem::Lock(const std::string&) {
  return std::unique_ptr<audit::FileLock>(new NoLock());
}

uint64_t MemoryFileSystem::bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t total = 0;
  for (const auto& [p, n] : files_) {
    std::lock_guard<std::mutex> nl(n->mu);
    total += n->size;
  }
  return total;
}

}  // namespace cloison::sim
