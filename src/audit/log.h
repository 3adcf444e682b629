// The audit log: an append-only sequence of canonical event encodings
// (event.h), each a leaf of an RFC 6962 Merkle tree (merkle.h), durable
// before it is acknowledged, with signed checkpoints (checkpoint.h).
//
// Files in the log's directory (docs/audit-format.md):
//   entries.log      framed entries (record.h): the only source of truth;
//                    while the log is open it ends with reserved zeros
//                    (LogOptions::reserve_bytes)
//   entries.idx      u64 LE frame offset per entry          } caches, rebuilt
//   tree.00..tree.63 Merkle levels (tree_store.h)           } from entries.log
//   tree.state       how many leaves the caches hold durably}
//   checkpoints.log  every signed checkpoint note, framed, all kept
//   signing.key      Ed25519 private key (0600);  verifier.key  its public key
//   LOCK             flock: one process opens a log at a time; holds
//                    "<pid> <owner>" of the holder (LockHolderOf, file.h)
//
// Entries (format 2, record.h) carry an authentication tag under a key
// derived from the signing key (entry_tag.h), so that entries written after
// the latest checkpoint (a crash before the next one) can be told apart
// from frames appended by someone with write access but without the key.
//
// Durability (group commit): Append() returns only once its entry has been
// written and fdatasync'ed. Appenders that arrive while a sync is running
// queue their frames; when it ends, the log's syncer thread writes the whole
// queue with one write and one fdatasync, so the number of syncs per second
// stays bounded while throughput grows with the number of concurrent writers.
// Leaf indexes are assigned in file order.
//
// Recovery (Open): a crash can leave, after the last synced byte, a torn
// tail: a partial frame or garbage, and zeros (the reserved space). Open
// cuts it and reports the data it cut in recovery() (zeros alone hold no
// entry and are released without a report); a bad frame followed by more
// than one batch of data is not a torn tail but damage, and Open fails with
// Corruption rather than cut acknowledged entries. Open also fails with Corruption when the entries
// do not match the latest stored checkpoint (entries lost or rewritten):
// the log never signs a checkpoint inconsistent with one it signed before.
// Entries after the latest checkpoint are re-read at every Open and their
// tags checked (format 2): one that does not verify fails Open with
// Corruption, so the log never signs a checkpoint over forged entries.
// AppendRecoveryEvent() then records in the log itself what recovery did.
//
// Errors: IOError when the OS fails; after a failed write or sync the log
// refuses further appends (sticky error) until reopened, since what reached
// the disk is then unknown. Open by a second process (or a second Open in
// the same process) while the log is open: FailedPrecondition from the lock,
// nothing touched; LockHolderOf(status) says who holds it.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/entry_tag.h"
#include "audit/event.h"
#include "audit/file.h"
#include "audit/merkle.h"
#include "audit/tree_store.h"
#include "audit/write_behind.h"
#include "core/clock.h"
#include "core/status.h"

namespace cloison::audit {

struct LogOptions {
  FileSystem* fs = nullptr;      // nullptr: FileSystem::Default()
  const Clock* clock = nullptr;  // nullptr: SystemClock::Instance()
  // Origin line and key name of a new log; default "cloison.local/audit/<8 random hex>".
  std::string origin;
  bool create_if_missing = true;
  // Written into LOCK with the pid, for the message another process gets
  // when it is refused the log (e.g. "cloison serve", "cloison account").
  std::string lock_owner;
  // Automatic checkpoints, evaluated after each commit (so an idle log signs
  // nothing): once this many entries are not covered by a checkpoint, or
  // when the latest checkpoint (or Open) is this old and entries are not
  // covered. 0 disables either; both 0: only Open/Close/IssueCheckpoint sign.
  uint64_t checkpoint_every_entries = 100'000;
  int64_t checkpoint_every_micros = 60'000'000;
  // Sign a checkpoint at Open when entries are not covered by one (after a
  // crash), and at Close. Read-side tools (proof, export) turn these off.
  bool checkpoint_on_open = true;
  bool checkpoint_on_close = true;
  // Appenders wait while this many bytes are queued: it bounds a batch, and
  // thus how much unsynced data a crash can tear.
  size_t max_batch_bytes = 4 << 20;
  // entries.log grows by this many bytes of zeros at a time, ahead of the
  // appends (File::Reserve): a sync into space that exists is about twice as
  // fast as one that grows the file. The reservation is cut at Close and at
  // the next Open. 0: the file grows with each batch.
  uint64_t reserve_bytes = 1 << 20;
};

struct RecoveryReport {
  uint64_t entries = 0;          // entries in the log after recovery
  uint64_t rehashed = 0;         // entries re-read to rebuild the caches
  uint64_t torn_bytes_cut = 0;   // bytes removed from the end of entries.log
  std::string torn_reason;       // why the first removed frame was bad
  uint64_t torn_offset = 0;      // where the cut was made in entries.log
  uint64_t torn_checkpoint_bytes_cut = 0;
  int format = 2;                // entries.log format (1: entries carry no tag)
  // The latest signed checkpoint's size at Open, and the entries found after
  // it (a crash between append and checkpoint). Format 2: every one was
  // authenticated by its tag; format 1: they cannot be.
  uint64_t last_checkpoint_size = 0;
  uint64_t uncovered_entries = 0;
  bool uncovered_signed_at_open = false;  // Open signed a checkpoint over them
  // Worth an entry in the log (AppendRecoveryEvent): something was cut, or
  // uncovered entries were found and signed.
  bool Eventful() const {
    return torn_bytes_cut > 0 || torn_checkpoint_bytes_cut > 0 || (uncovered_entries > 0 && uncovered_signed_at_open);
  }
};

// Counters since Open, for monitoring (the service's /metrics).
struct LogStats {
  uint64_t appends = 0;          // entries acknowledged durable
  uint64_t syncs = 0;            // group commits: one write + one fdatasync of entries.log each
  uint64_t backlog_entries = 0;  // entries appended but not durable yet (queued or being synced)
  uint64_t backlog_bytes = 0;    // their framed size
  uint64_t checkpoints_signed = 0;
  uint64_t size = 0;             // durable entries in the log
};

struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string note;  // the full signed note text
};

class AuditLog {
 public:
  static StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& dir, const LogOptions& options = {});
  // Close() if not done yet (errors are then lost: call Close to see them).
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Encodes `e` (EncodeEvent), appends it durably, returns its leaf index.
  StatusOr<uint64_t> Append(const Event& e);
  // Appends already-encoded bytes as one leaf (tests, benchmarks, imports of
  // foreign logs). 0 < size <= 1 MiB.
  StatusOr<uint64_t> AppendEncoded(std::string_view entry);

  // The same appends without waiting: for a thread that serves many requests
  // and must not sleep through each one's sync (the API's I/O thread). The
  // entry is queued in the same group commit as Append's, in the same index
  // order. `done` is called exactly once:
  //  - at once, on the calling thread, when the entry is refused before it
  //    is queued (bad size, closed log, earlier failure);
  //  - else on the log's syncer thread, after the sync of its batch: with its
  //    leaf index once it is durable, or with the error when that sync
  //    failed (the entry is then not acknowledged, as for Append).
  // On the syncer thread `done` delays the next batch: it must be short (post
  // the rest of the work elsewhere) and must not append (it could wait for
  // room in the queue, which only the syncer makes). Like Append, it may
  // wait while max_batch_bytes are queued.
  using AppendCallback = std::function<void(StatusOr<uint64_t>)>;
  void AppendAsync(const Event& e, AppendCallback done);
  void AppendEncodedAsync(std::string_view entry, AppendCallback done);

  // Number of durable entries.
  uint64_t size() const;
  LogStats stats() const;
  int format() const { return format_; }
  StatusOr<Hash> RootAt(uint64_t size) const;
  StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2) const;
  StatusOr<std::string> ReadEntry(uint64_t index) const;
  StatusOr<Hash> LeafHash(uint64_t index) const;

  // Signs a checkpoint of the current tree now (or returns the latest one if
  // it already covers every entry). Durable on return.
  StatusOr<SignedCheckpoint> IssueCheckpoint();
  std::vector<SignedCheckpoint> Checkpoints() const;
  std::optional<SignedCheckpoint> LatestCheckpoint() const;

  const std::string& origin() const { return origin_; }
  std::string VerifierKey() const { return signer_->VerifierKey(); }
  const RecoveryReport& recovery() const { return recovery_; }
  // Appends one kSystem event (decision "recovered") describing what Open's
  // recovery did, when recovery().Eventful(): bytes cut from a torn tail,
  // entries found after the latest checkpoint and signed at open. Returns
  // its leaf index; nullopt when there is nothing to record or it is already
  // recorded. Every process that opens the log to write calls it right after
  // Open, so that recovery is in the log, not only in a process's output.
  StatusOr<std::optional<uint64_t>> AppendRecoveryEvent();
  const std::string& dir() const { return dir_; }

  // Waits for in-flight appends, signs a final checkpoint (if configured),
  // syncs the caches. Further appends fail with FailedPrecondition.
  Status Close();

 private:
  AuditLog() = default;
  Status Recover();
  Status LoadCheckpoints();
  Status CommitBatch(std::string& frames, std::vector<Hash>& leaf_hashes, std::vector<uint32_t>& frame_sizes);
  StatusOr<SignedCheckpoint> IssueCheckpointLocked();  // commit_mu_ held
  Status WriteState();                                 // commit_mu_ held
  void SyncLoop();                                     // the syncer thread
  struct Queued {
    uint64_t index = 0;  // the entry's leaf index
    uint64_t batch = 0;  // the batch it is queued in
  };
  // Frames, hashes and queues `entry`; with `done`, moves it into the queue.
  StatusOr<Queued> Enqueue(std::string_view entry, AppendCallback* done);
  void StopSyncer();

  std::string dir_;
  LogOptions options_;
  FileSystem* fs_ = nullptr;
  const Clock* clock_ = nullptr;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<NoteSigner> signer_;
  std::unique_ptr<EntryTagger> tagger_;
  int format_ = 2;
  std::string origin_;
  std::unique_ptr<File> entries_;
  std::unique_ptr<File> index_;
  // entries.idx is written behind, like the tree files (write_behind.h):
  // the offsets of the latest entries wait in memory until a chunk of them
  // is ready or the caches are synced (checkpoint, Close); ReadEntry reads
  // them there. A crash loses cache only: Open re-reads entries.log past
  // the last checkpoint.
  mutable std::mutex index_mu_;  // guards index_behind_
  WriteBehind<8> index_behind_;
  Status AppendIndex(std::string_view offsets);
  Status FlushIndex();
  std::unique_ptr<File> checkpoints_file_;
  std::unique_ptr<TreeFiles> tree_;
  RecoveryReport recovery_;

  // Group commit. Writers queue their frame under mu_ and sleep on a futex
  // word (done_gen_[batch % 2]) without holding any lock; one syncer thread
  // (SyncLoop) takes everything queued, writes it with one fdatasync, then
  // wakes exactly that batch's writers. Why this shape: on 2 cores with 64
  // writers the cost is context switches, not the sync. A writer woken by a
  // condition variable must re-take the mutex, and 32 of them waking at once
  // sleep again on it; here a woken writer returns without touching mu_, and
  // the writers of the next batch (other parity) are not woken at all.
  mutable std::mutex mu_;
  std::condition_variable cv_;         // Close(), and writers held back by max_batch_bytes
  std::condition_variable syncer_cv_;  // the syncer, waiting for work or for Close
  std::string queued_frames_;
  std::vector<Hash> queued_hashes_;
  std::vector<uint32_t> queued_sizes_;
  std::vector<std::pair<uint64_t, AppendCallback>> queued_callbacks_;  // AppendAsync's, by index
  uint64_t next_index_ = 0;
  uint64_t open_batch_ = 1;  // id of the batch being queued
  bool syncing_ = false;     // the syncer holds a batch (taken, not yet acknowledged)
  bool stop_syncer_ = false;
  size_t held_back_ = 0;     // writers waiting on cv_ for room in the queue
  // Every batch up to this one is durable; written by the syncer, read by
  // writers without mu_. failed_: sticky_ is set (read it under mu_).
  std::atomic<uint64_t> completed_batch_{0};
  std::atomic<bool> failed_{false};
  std::atomic<uint32_t> done_gen_[2] = {0, 0};  // bumped when a batch of that parity ends
  std::thread syncer_;
  // True until Open succeeds: a log whose Open failed half-way must not run
  // Close's side effects (checkpoint, tree.state) from its destructor.
  bool closed_ = true;
  bool recovery_recorded_ = false;
  Status sticky_;
  // Monitoring (mu_): the syncer's batch while it writes, and totals.
  uint64_t inflight_entries_ = 0, inflight_bytes_ = 0;
  uint64_t acked_ = 0, syncs_ = 0;
  std::atomic<uint64_t> checkpoints_signed_{0};

  // Held by the syncer while it writes, and by checkpointing.
  mutable std::mutex commit_mu_;
  uint64_t entries_size_ = 0;  // bytes in entries.log (commit_mu_)
  uint64_t reserved_end_ = 0;  // entries.log's size on disk with its reserved zeros (commit_mu_)
  uint64_t last_checkpoint_size_ = 0;
  int64_t last_checkpoint_time_ = 0;

  mutable std::mutex ckpt_mu_;  // guards checkpoints_
  std::vector<SignedCheckpoint> checkpoints_;
};

}  // namespace cloison::audit
