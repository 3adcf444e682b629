// The small file-system interface the audit log does all its IO through
// (LevelDB's Env, reduced to what the log needs), so that tests can inject
// faults: failing writes or syncs, and crashes that lose unsynced bytes or
// leave a torn tail.
//
// Errors are IOError (the OS failed) with the path and errno text in the
// message. Implementations must be thread-safe: ReadAt may run concurrently
// with Append on the same File (pread/pwrite on one descriptor), and
// concurrent Appends each get their own range.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cloison::audit {

class File {
 public:
  virtual ~File() = default;
  // Appends at the end of the file's contents. No durability until Sync().
  virtual Status Append(std::span<const uint8_t> data) = 0;
  Status Append(std::string_view s) { return Append({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  // Reads up to out.size() bytes at `offset`; *got < out.size() only at end of file.
  virtual Status ReadAt(uint64_t offset, std::span<uint8_t> out, size_t* got) const = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual Status Sync() = 0;
  // The contents' size: where the next Append writes (reserved zeros, see
  // Reserve, are not counted). Taken from the file system at Open.
  virtual StatusOr<uint64_t> Size() const = 0;
  // Cuts (or extends with zeros) the contents to `size` bytes; drops any
  // reservation. No durability until Sync().
  virtual Status Truncate(uint64_t size) = 0;
  // Makes room for at least the next `bytes` appended bytes so that their
  // Sync does not also have to write the file's size: writes zeros past the
  // end of the contents and syncs them. Why: on ext4 an fdatasync that
  // grows the file writes the inode as well, one more round trip to the
  // disk; into space that already exists it writes only the data (measured:
  // about half the time per small sync on this project's VM).
  // Until Truncate (or a reopen and Truncate), the file on disk ends with
  // these zeros; a reopened File counts them in Size(), so the reader of a
  // file that may carry a reservation must recognise them (entries.log:
  // record.h). The default does nothing (test and in-memory files).
  virtual Status Reserve(uint64_t /*bytes*/) { return OkStatus(); }
};

// An exclusive advisory lock (flock) held until destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
  // Records who holds the lock ("<pid> <owner>", one line) in the lock file
  // itself, so that a process refused the lock can say who has it. The
  // default does nothing (file systems without other processes).
  virtual Status SetHolder(std::string_view /*holder*/) { return OkStatus(); }
};

// Who holds a lock another process was refused: what the holder recorded
// with SetHolder. pid 0 when it recorded nothing (yet).
struct LockHolder {
  int64_t pid = 0;
  std::string owner;  // e.g. "cloison serve"; may be empty
};
// The holder carried by a FileSystem::Lock refusal (FailedPrecondition), or
// nullopt for any other status.
std::optional<LockHolder> LockHolderOf(const Status& s);
// The refusal Lock returns: FailedPrecondition naming `path` and the holder,
// carrying it for LockHolderOf. `holder_text` is what SetHolder wrote.
Status LockRefused(const std::string& path, std::string_view holder_text);

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens for reading and appending; creates the file (mode 0600) when
  // `create` and it does not exist, else NotFound.
  virtual StatusOr<std::unique_ptr<File>> Open(const std::string& path, bool create) = 0;
  // Creates a directory with mode 0700; OK if it exists.
  virtual Status CreateDir(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Writes `contents` to a temporary file, syncs it, renames it over `path`
  // and syncs the directory: after a crash the file is either old or new.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view contents, int mode) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  // Non-blocking: LockRefused (FailedPrecondition, with the holder) when
  // another process, or another open of the same file, holds the lock.
  virtual StatusOr<std::unique_ptr<FileLock>> Lock(const std::string& path) = 0;

  // Plain POSIX; process-wide instance.
  static FileSystem& Default();
};

}  // namespace cloison::audit
