#include "audit/file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/cord.h"
#include "core/strings.h"

namespace cloison::audit {
namespace {

Status Errno(std::string_view what, const std::string& path) {
  return IOError(StrCat(what, " ", path, ": ", std::strerror(errno)));
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path, uint64_t size) : fd_(fd), path_(std::move(path)), end_(size) {}
  using File::Append;
  ~PosixFile() override { ::close(fd_); }

  Status Append(std::span<const uint8_t> data) override {
    // Not O_APPEND: appends land at the end of the contents, before any
    // reserved zeros. fetch_add gives concurrent appenders their own ranges.
    const uint64_t at = end_.fetch_add(data.size());
    return WriteAt(at, data.data(), data.size());
  }
  Status ReadAt(uint64_t offset, std::span<uint8_t> out, size_t* got) const override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("read", path_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    *got = done;
    return OkStatus();
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_);
    return OkStatus();
  }
  StatusOr<uint64_t> Size() const override { return end_.load(); }
  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno("truncate", path_);
    end_.store(size);
    reserved_end_.store(0);
    return OkStatus();
  }
  Status Reserve(uint64_t bytes) override {
    const uint64_t want = end_.load() + bytes;
    // Appends past the reservation grew the file themselves.
    const uint64_t disk = std::max(reserved_end_.load(), end_.load());
    if (want <= disk) return OkStatus();
    // Real zeros, not fallocate: space fallocate'd is "unwritten" on ext4,
    // and the first write into it changes the extent tree, which the sync
    // must then write too.
    static const std::vector<uint8_t> kZeros(1 << 16, 0);
    for (uint64_t at = disk; at < want;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kZeros.size(), want - at));
      CLOISON_RETURN_IF_ERROR(WriteAt(at, kZeros.data(), n));
      at += n;
    }
    reserved_end_.store(want);
    return Sync();
  }

 private:
  Status WriteAt(uint64_t offset, const uint8_t* p, size_t left) {
    while (left > 0) {
      const ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write", path_);
      }
      p += n;
      offset += static_cast<uint64_t>(n);
      left -= static_cast<size_t>(n);
    }
    return OkStatus();
  }

  int fd_;
  std::string path_;
  std::atomic<uint64_t> end_;       // end of the contents: where Append writes
  std::atomic<uint64_t> reserved_end_{0};  // where the zeros Reserve wrote end (0: none)
};

class PosixLock final : public FileLock {
 public:
  PosixLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  Status SetHolder(std::string_view holder) override {
    // In place: the lock belongs to this inode, so the file must never be
    // replaced (no write-and-rename here).
    if (::ftruncate(fd_, 0) != 0) return Errno("truncate", path_);
    size_t done = 0;
    while (done < holder.size()) {
      const ssize_t n = ::pwrite(fd_, holder.data() + done, holder.size() - done, static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("write", path_);
      }
      done += static_cast<size_t>(n);
    }
    return OkStatus();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixFileSystem final : public FileSystem {
 public:
  StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
      if (errno == ENOENT) return NotFound(StrCat(path, " does not exist"));
      return Errno("open", path);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Status s = Errno("stat", path);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<File>(new PosixFile(fd, path, static_cast<uint64_t>(st.st_size)));
  }
  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", path);
    return OkStatus();
  }
  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  StatusOr<std::string> ReadFile(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return NotFound(StrCat(path, " does not exist"));
      return Errno("open", path);
    }
    std::string out;
    char buf[65536];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        Status s = Errno("read", path);
        ::close(fd);
        return s;
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }
  Status WriteFileAtomic(const std::string& path, std::string_view contents, int mode) override {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return Errno("open", tmp);
    ::fchmod(fd, static_cast<mode_t>(mode));
    PosixFile f(fd, tmp, 0);  // O_TRUNC: empty
    CLOISON_RETURN_IF_ERROR(f.Append(contents));
    if (::fsync(fd) != 0) return Errno("fsync", tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
    const auto slash = path.find_last_of('/');
    return SyncDir(slash == std::string::npos ? "." : path.substr(0, slash));
  }
  Status SyncDir(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("open", path);
    const int r = ::fsync(fd);
    ::close(fd);
    if (r != 0) return Errno("fsync", path);
    return OkStatus();
  }
  StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("open", path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) {
        char buf[256];
        const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
        ::close(fd);
        return LockRefused(path, std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
      }
      ::close(fd);
      errno = err;
      return Errno("lock", path);
    }
    return std::unique_ptr<FileLock>(new PosixLock(fd, path));
  }
};

// absl's own string_view type here (it is not std::string_view in this absl build).
constexpr absl::string_view kLockHolderPayload = "type.cloison/audit.LockHolder";

// "<pid> <owner>\n" -> LockHolder; anything else -> pid 0, no owner.
LockHolder ParseHolder(std::string_view text) {
  LockHolder h;
  if (const auto nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);
  size_t i = 0;
  int64_t pid = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && pid < (int64_t{1} << 40)) {
    pid = pid * 10 + (text[i++] - '0');
  }
  if (i == 0 || (i < text.size() && text[i] != ' ')) return h;
  h.pid = pid;
  if (i < text.size()) h.owner = std::string(text.substr(i + 1));
  return h;
}

}  // namespace

Status LockRefused(const std::string& path, std::string_view holder_text) {
  const LockHolder h = ParseHolder(holder_text);
  std::string who = h.pid ? StrCat("process ", h.pid) : std::string("another process");
  if (!h.owner.empty()) who = StrCat(who, " (", h.owner, ")");
  Status s = FailedPrecondition(StrCat(path, " is locked by ", who));
  s.SetPayload(kLockHolderPayload, absl::Cord(absl::string_view(StrCat(h.pid, " ", h.owner))));
  return s;
}

std::optional<LockHolder> LockHolderOf(const Status& s) {
  if (s.code() != absl::StatusCode::kFailedPrecondition) return std::nullopt;
  auto p = s.GetPayload(kLockHolderPayload);
  if (!p) return std::nullopt;
  return ParseHolder(std::string(*p));
}

FileSystem& FileSystem::Default() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace cloison::audit
