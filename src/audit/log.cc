#include "audit/log.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "audit/crc32c.h"
#include "audit/record.h"
#include "core/strings.h"
#include "crypto/secure_random.h"

namespace cloison::audit {
namespace {

// Sleeps while *word == expected (or until a wake). A direct futex rather
// than std::atomic::wait: libstdc++'s wait spins and calls sched_yield
// first, which with 64 writers on 2 cores costs more than it saves.
void FutexWait(std::atomic<uint32_t>& word, uint32_t expected) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void FutexWakeAll(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}


constexpr std::string_view kStateMagic = "cloison-audit-tree-state 1";

struct TreeState {
  uint64_t count = 0;
  uint64_t offset = kFileHeaderSize;
};

// tree.state is a cache; a state that cannot be right is ignored (rebuild).
std::optional<TreeState> ParseState(std::string_view s) {
  // "<magic>\n<count>\n<offset>\n"
  if (s.substr(0, kStateMagic.size()) != kStateMagic || s.size() < kStateMagic.size() + 1) return std::nullopt;
  s.remove_prefix(kStateMagic.size() + 1);
  TreeState st;
  for (uint64_t* v : {&st.count, &st.offset}) {
    const auto nl = s.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;
    auto r = std::from_chars(s.data(), s.data() + nl, *v);
    if (r.ec != std::errc() || r.ptr != s.data() + nl) return std::nullopt;
    s.remove_prefix(nl + 1);
  }
  // Each entry takes at least a frame header and one byte.
  if (st.offset < kFileHeaderSize || st.count > (st.offset - kFileHeaderSize) / (kFrameHeaderSize + 1)) {
    return std::nullopt;
  }
  return st;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char(uint8_t(v >> (8 * i))));
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string DefaultOrigin() {
  uint8_t r[4];
  crypto::SecureRandom::Instance().Fill(r);
  static const char* kHex = "0123456789abcdef";
  std::string s = "cloison.local/audit/";
  for (uint8_t b : r) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& dir, const LogOptions& options) {
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->dir_ = dir;
  log->options_ = options;
  log->fs_ = options.fs ? options.fs : &FileSystem::Default();
  log->clock_ = options.clock ? options.clock : &SystemClock::Instance();
  FileSystem& fs = *log->fs_;
  if (!fs.Exists(dir)) {
    if (!options.create_if_missing) return NotFound(StrCat("no audit log in ", dir));
    CLOISON_RETURN_IF_ERROR(fs.CreateDir(dir));
  }
  CLOISON_ASSIGN_OR_RETURN(log->lock_, fs.Lock(dir + "/LOCK"));
  {
    // Who holds the log, for the message of a process refused it. One line.
    std::string owner = options.lock_owner;
    for (char& c : owner) if (c == '\n' || c == '\r') c = ' ';
    CLOISON_RETURN_IF_ERROR(log->lock_->SetHolder(StrCat(::getpid(), owner.empty() ? "" : " ", owner, "\n")));
  }

  const std::string key_path = dir + "/signing.key";
  if (fs.Exists(key_path)) {
    CLOISON_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(key_path));
    auto signer = NoteSigner::FromPrivateKey(text);
    std::fill(text.begin(), text.end(), '\0');
    if (!signer.ok()) return signer.status();
    log->signer_ = std::make_unique<NoteSigner>(std::move(*signer));
  } else {
    if (fs.Exists(dir + "/checkpoints.log")) {
      return FailedPrecondition(StrCat(key_path, " is missing but checkpoints exist: restore the key"));
    }
    CLOISON_ASSIGN_OR_RETURN(NoteSigner signer,
                             NoteSigner::Generate(options.origin.empty() ? DefaultOrigin() : options.origin));
    std::string priv = signer.PrivateKey() + "\n";
    Status s = fs.WriteFileAtomic(key_path, priv, 0600);
    std::fill(priv.begin(), priv.end(), '\0');
    CLOISON_RETURN_IF_ERROR(s);
    CLOISON_RETURN_IF_ERROR(fs.WriteFileAtomic(dir + "/verifier.key", signer.VerifierKey() + "\n", 0644));
    log->signer_ = std::make_unique<NoteSigner>(std::move(signer));
  }
  log->origin_ = log->signer_->name();

  CLOISON_ASSIGN_OR_RETURN(log->entries_, fs.Open(dir + "/entries.log", true));
  CLOISON_ASSIGN_OR_RETURN(log->format_, CheckOrWriteEntriesHeader(*log->entries_, dir + "/entries.log"));
  if (log->format_ >= 2) log->tagger_ = std::make_unique<EntryTagger>(*log->signer_);
  log->recovery_.format = log->format_;
  CLOISON_ASSIGN_OR_RETURN(log->index_, fs.Open(dir + "/entries.idx", true));
  CLOISON_ASSIGN_OR_RETURN(log->checkpoints_file_, fs.Open(dir + "/checkpoints.log", true));
  CLOISON_RETURN_IF_ERROR(CheckOrWriteHeader(*log->checkpoints_file_, kCheckpointsMagic, dir + "/checkpoints.log"));
  CLOISON_RETURN_IF_ERROR(fs.SyncDir(dir));
  CLOISON_RETURN_IF_ERROR(log->LoadCheckpoints());
  CLOISON_RETURN_IF_ERROR(log->Recover());

  // The entries must still match every checkpoint this log signed.
  const uint64_t n = log->tree_->size();
  for (const auto& c : log->Checkpoints()) {
    if (c.checkpoint.size > n) {
      return Corruption(StrCat("entries.log holds ", n, " entries but a checkpoint was signed at size ",
                               c.checkpoint.size, ": acknowledged entries are missing"));
    }
    CLOISON_ASSIGN_OR_RETURN(Hash root, audit::RootAt(*log->tree_, c.checkpoint.size));
    if (root != c.checkpoint.root) {
      return Corruption(StrCat("entries do not match the checkpoint signed at size ", c.checkpoint.size,
                               ": the log was rewritten"));
    }
  }
  if (auto latest = log->LatestCheckpoint()) {
    log->last_checkpoint_size_ = latest->checkpoint.size;
  }
  log->recovery_.last_checkpoint_size = log->last_checkpoint_size_;
  log->recovery_.uncovered_entries = n - log->last_checkpoint_size_;
  log->last_checkpoint_time_ = log->clock_->NowMicros();
  if (options.checkpoint_on_open && (n > log->last_checkpoint_size_ || !log->LatestCheckpoint())) {
    std::lock_guard<std::mutex> c(log->commit_mu_);
    CLOISON_RETURN_IF_ERROR(log->IssueCheckpointLocked().status());
    log->recovery_.uncovered_signed_at_open = log->recovery_.uncovered_entries > 0;
  }
  {
    std::lock_guard<std::mutex> l(log->mu_);
    log->closed_ = false;  // open for appends; from here on the destructor closes
  }
  AuditLog* raw = log.get();
  log->syncer_ = std::thread([raw] { raw->SyncLoop(); });
  return log;
}

Status AuditLog::LoadCheckpoints() {
  CLOISON_ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::FromVerifierKey(signer_->VerifierKey()));
  CLOISON_ASSIGN_OR_RETURN(uint64_t file_size, checkpoints_file_->Size());
  FrameReader reader(*checkpoints_file_, kFileHeaderSize, 1 << 16);
  while (true) {
    std::string_view payload;
    uint64_t off = 0;
    auto next = reader.Next(&payload, &off);
    if (!next.ok()) {
      if (!IsCorruption(next.status())) return next.status();
      // Only the last checkpoint can be torn (each is synced before the next).
      const uint64_t bad = reader.offset();
      if (file_size - bad > kFrameHeaderSize + 4096) {
        return Corruption(StrCat("checkpoints.log: ", MessageOf(next.status())));
      }
      CLOISON_RETURN_IF_ERROR(checkpoints_file_->Truncate(bad));
      CLOISON_RETURN_IF_ERROR(checkpoints_file_->Sync());
      recovery_.torn_checkpoint_bytes_cut = file_size - bad;
      break;
    }
    if (!*next) {
      // Only zeros after the last checkpoint (a crash while the file grew):
      // cut them, or the next checkpoint would follow them.
      if (reader.offset() < file_size) {
        CLOISON_RETURN_IF_ERROR(checkpoints_file_->Truncate(reader.offset()));
        CLOISON_RETURN_IF_ERROR(checkpoints_file_->Sync());
        recovery_.torn_checkpoint_bytes_cut = file_size - reader.offset();
      }
      break;
    }
    CLOISON_RETURN_IF_ERROR(verifier.Verify(payload));
    CLOISON_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpoint(payload));
    if (c.origin != origin_) return Corruption("checkpoints.log: checkpoint of another origin");
    if (!checkpoints_.empty() && c.size < checkpoints_.back().checkpoint.size) {
      return Corruption("checkpoints.log: checkpoint sizes go backwards");
    }
    checkpoints_.push_back({c, std::string(payload)});
  }
  return OkStatus();
}

Status AuditLog::Recover() {
  TreeState st;
  if (fs_->Exists(dir_ + "/tree.state")) {
    CLOISON_ASSIGN_OR_RETURN(std::string text, fs_->ReadFile(dir_ + "/tree.state"));
    if (auto parsed = ParseState(text)) st = *parsed;
  }
  CLOISON_ASSIGN_OR_RETURN(uint64_t file_size, entries_->Size());
  if (st.offset > file_size) {
    return Corruption(StrCat("entries.log is shorter (", file_size, " bytes) than its synced part (", st.offset,
                             " bytes): acknowledged entries are missing"));
  }
  // Everything up to here was synced: a bad frame before it is damage.
  const uint64_t synced_offset = st.offset;
  CLOISON_ASSIGN_OR_RETURN(uint64_t idx_size, index_->Size());
  const uint64_t covered = checkpoints_.empty() ? 0 : checkpoints_.back().checkpoint.size;
  if (tagger_ && st.count > covered) {
    // The caches hold entries no checkpoint covers: re-read those from
    // entries.log to check their tags, from the latest checkpoint on. The
    // cached offset is only a hint: if it does not point at a frame, rebuild.
    std::optional<uint64_t> from;
    if (covered == 0) {
      from = kFileHeaderSize;
    } else if (idx_size >= (covered + 1) * 8) {
      uint8_t b[8];
      size_t got = 0;
      CLOISON_RETURN_IF_ERROR(index_->ReadAt(covered * 8, b, &got));
      const uint64_t off = got == 8 ? GetU64(b) : 0;
      if (off >= kFileHeaderSize && off < st.offset) {
        FrameReader probe(*entries_, off, 64 << 10);
        std::string_view p;
        uint64_t o = 0;
        auto ok = probe.Next(&p, &o);
        if (ok.ok() && *ok) from = off;
      }
    }
    st = from ? TreeState{covered, *from} : TreeState{};
  }
  auto tree = TreeFiles::Open(*fs_, dir_, st.count);
  if (idx_size < st.count * 8 || !tree.ok()) {
    // Caches are unusable: rebuild them from the start.
    st = TreeState{};
    tree = TreeFiles::Open(*fs_, dir_, 0);
    if (!tree.ok()) return tree.status();
  }
  tree_ = std::move(*tree);
  CLOISON_RETURN_IF_ERROR(index_->Truncate(st.count * 8));
  index_behind_.Reset(st.count);

  FrameReader reader(*entries_, st.offset);
  std::vector<Hash> hashes;
  std::string offsets;
  uint64_t rehashed = 0;
  auto flush = [&]() -> Status {
    CLOISON_RETURN_IF_ERROR(AppendIndex(offsets));
    CLOISON_RETURN_IF_ERROR(tree_->Append(hashes));
    offsets.clear();
    hashes.clear();
    return OkStatus();
  };
  while (true) {
    std::string_view payload;
    uint64_t off = 0;
    auto next = reader.Next(&payload, &off);
    if (!next.ok()) {
      if (!IsCorruption(next.status())) return next.status();
      const uint64_t bad = reader.offset();
      // What is cut is data up to the last non-zero byte; zeros after it
      // are reserved space (LogOptions::reserve_bytes), not entries.
      CLOISON_ASSIGN_OR_RETURN(const uint64_t data_end, EndOfData(*entries_, bad, file_size));
      const uint64_t rest = data_end - bad;
      if (bad < synced_offset || rest > options_.max_batch_bytes + kMaxPayload + kFrameHeaderSize) {
        return Corruption(StrCat("entries.log: ", MessageOf(next.status()), ", with ", rest,
                                 " bytes after it: damage, not a torn tail; run `cloison audit verify`"));
      }
      CLOISON_RETURN_IF_ERROR(entries_->Truncate(bad));
      CLOISON_RETURN_IF_ERROR(entries_->Sync());
      recovery_.torn_bytes_cut = rest;
      recovery_.torn_offset = bad;
      recovery_.torn_reason = std::string(MessageOf(next.status()));
      file_size = bad;
      break;
    }
    if (!*next) {
      // The end of the frames; zeros after it (space reserved by the
      // process that wrote last, which did not close the log) are released
      // here and reserved again by the next commit. Nothing is lost: no
      // entry is in them.
      if (reader.offset() < synced_offset) {
        return Corruption(StrCat("entries.log: zeros from offset ", reader.offset(), ", below its synced part (",
                                 synced_offset, " bytes): acknowledged entries are missing"));
      }
      if (reader.offset() < file_size) {
        CLOISON_RETURN_IF_ERROR(entries_->Truncate(reader.offset()));
        CLOISON_RETURN_IF_ERROR(entries_->Sync());
        file_size = reader.offset();
      }
      break;
    }
    const uint64_t index = tree_->size() + hashes.size();
    std::string_view leaf = payload;
    std::span<const uint8_t> tag;
    if (tagger_ && !SplitTaggedPayload(payload, &leaf, &tag)) {
      return Corruption(StrCat("entries.log: entry ", index, " (offset ", off, ") is too short for its tag"));
    }
    const Hash h = HashLeaf({reinterpret_cast<const uint8_t*>(leaf.data()), leaf.size()});
    if (tagger_ && index >= covered && !tagger_->Matches(index, h, tag)) {
      return Corruption(StrCat("entries.log: entry ", index, " (offset ", off, "), after the latest checkpoint (size ",
                               covered, "), does not carry this log's authentication tag: it was not written by this "
                               "log (forged, replayed or damaged), so nothing is signed over it; run `cloison audit "
                               "verify`"));
    }
    hashes.push_back(h);
    PutU64(offsets, off);
    ++rehashed;
    if (hashes.size() >= 65536) CLOISON_RETURN_IF_ERROR(flush());
  }
  CLOISON_RETURN_IF_ERROR(flush());
  entries_size_ = file_size;
  next_index_ = tree_->size();
  recovery_.entries = tree_->size();
  recovery_.rehashed = rehashed;
  return OkStatus();
}

AuditLog::~AuditLog() {
  (void)Close();
  StopSyncer();
}

void AuditLog::StopSyncer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_syncer_ = true;
  }
  syncer_cv_.notify_one();
  if (syncer_.joinable()) syncer_.join();
}

Status AuditLog::Close() {
  {
    std::unique_lock<std::mutex> l(mu_);
    if (closed_) return OkStatus();
    closed_ = true;
    cv_.wait(l, [&] { return !syncing_ && queued_frames_.empty(); });
  }
  StopSyncer();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!sticky_.ok()) return sticky_;
  }
  std::lock_guard<std::mutex> c(commit_mu_);
  if (!tree_) return OkStatus();
  if (options_.checkpoint_on_close && tree_->size() > last_checkpoint_size_) {
    CLOISON_RETURN_IF_ERROR(IssueCheckpointLocked().status());
  }
  CLOISON_RETURN_IF_ERROR(FlushIndex());
  CLOISON_RETURN_IF_ERROR(index_->Sync());
  CLOISON_RETURN_IF_ERROR(tree_->Sync());
  CLOISON_RETURN_IF_ERROR(WriteState());
  if (reserved_end_ > entries_size_) {
    // A closed log's entries.log ends with its last frame (the next Open
    // would release the reservation anyway, but copies of a closed log
    // should not carry zeros).
    CLOISON_RETURN_IF_ERROR(entries_->Truncate(entries_size_));
    CLOISON_RETURN_IF_ERROR(entries_->Sync());
    reserved_end_ = entries_size_;
  }
  return OkStatus();
}

StatusOr<uint64_t> AuditLog::Append(const Event& e) { return AppendEncoded(EncodeEvent(e)); }

StatusOr<uint64_t> AuditLog::AppendEncoded(std::string_view entry) {
  CLOISON_ASSIGN_OR_RETURN(const Queued q, Enqueue(entry, nullptr));
  std::atomic<uint32_t>& word = done_gen_[q.batch % 2];
  for (;;) {
    const uint32_t gen = word.load(std::memory_order_acquire);
    if (completed_batch_.load(std::memory_order_acquire) >= q.batch) return q.index;
    if (failed_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> l(mu_);
      return sticky_;
    }
    FutexWait(word, gen);
  }
}

void AuditLog::AppendAsync(const Event& e, AppendCallback done) { AppendEncodedAsync(EncodeEvent(e), std::move(done)); }

void AuditLog::AppendEncodedAsync(std::string_view entry, AppendCallback done) {
  StatusOr<Queued> q = Enqueue(entry, &done);
  if (!q.ok()) done(q.status());  // refused before it was queued: at once, on this thread
}

StatusOr<AuditLog::Queued> AuditLog::Enqueue(std::string_view entry, AppendCallback* done) {
  if (entry.empty() || entry.size() > MaxLeafSize(format_)) {
    return InvalidArgument(StrCat("audit entry must be 1 to ", MaxLeafSize(format_), " bytes"));
  }
  // Framing and hashing happen here, in the caller's thread, in parallel;
  // only the tag, which depends on the index, is left for the queue's lock.
  std::string plain;
  TaggedFrame tagged;
  if (tagger_) {
    tagged = StartTaggedFrame(entry);
  } else {
    plain.reserve(entry.size() + kFrameHeaderSize);
    AppendFrame(plain, entry);
  }
  const Hash leaf = HashLeaf({reinterpret_cast<const uint8_t*>(entry.data()), entry.size()});

  Queued q;
  bool wake_syncer = false;
  {
    std::unique_lock<std::mutex> l(mu_);
    if (sticky_.ok() && !closed_ && queued_frames_.size() >= options_.max_batch_bytes) {
      ++held_back_;
      cv_.wait(l, [&] { return !sticky_.ok() || closed_ || queued_frames_.size() < options_.max_batch_bytes; });
      --held_back_;
    }
    if (!sticky_.ok()) return sticky_;
    if (closed_) return FailedPrecondition("audit log is closed");
    q.index = next_index_++;
    q.batch = open_batch_;
    if (tagger_) SealTaggedFrame(tagged, tagger_->Tag(q.index, leaf));
    const std::string& frame = tagger_ ? tagged.bytes : plain;
    wake_syncer = queued_hashes_.empty() && !syncing_;
    queued_frames_.append(frame);
    queued_hashes_.push_back(leaf);
    queued_sizes_.push_back(static_cast<uint32_t>(frame.size()));
    if (done != nullptr) queued_callbacks_.emplace_back(q.index, std::move(*done));
  }
  // (A syncer busy with the previous batch takes this one when it is done.)
  if (wake_syncer) syncer_cv_.notify_one();
  return q;
}

void AuditLog::SyncLoop() {
  std::string frames;
  std::vector<Hash> hashes;
  std::vector<uint32_t> sizes;
  std::vector<std::pair<uint64_t, AppendCallback>> callbacks, dropped;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    syncer_cv_.wait(l, [&] { return stop_syncer_ || !queued_hashes_.empty(); });
    if (queued_hashes_.empty()) return;  // stop_syncer_, nothing left
    // Take everything queued so far and commit it with one sync.
    frames.clear();
    hashes.clear();
    sizes.clear();
    frames.swap(queued_frames_);
    hashes.swap(queued_hashes_);
    sizes.swap(queued_sizes_);
    callbacks.swap(queued_callbacks_);
    const uint64_t batch = open_batch_++;
    syncing_ = true;
    inflight_entries_ = hashes.size();
    inflight_bytes_ = frames.size();
    if (held_back_) cv_.notify_all();  // writers held back by max_batch_bytes may queue again
    Status s = sticky_;
    l.unlock();
    if (s.ok()) s = CommitBatch(frames, hashes, sizes);
    l.lock();
    syncing_ = false;
    if (s.ok()) {
      acked_ += inflight_entries_;
      ++syncs_;
    } else if (sticky_.ok()) {
      sticky_ = s;
    }
    inflight_entries_ = inflight_bytes_ = 0;
    if (!sticky_.ok()) {
      // Nothing queued will be written now: drop it before its writers are
      // woken (they return the error), so the backlog is empty when they do.
      queued_frames_.clear();
      queued_hashes_.clear();
      queued_sizes_.clear();
      dropped.swap(queued_callbacks_);
      failed_.store(true, std::memory_order_release);
    }
    const Status failure = sticky_;
    if (s.ok()) completed_batch_.store(batch, std::memory_order_release);
    // Wake this batch's writers only (on failure, every writer: the log is failed).
    l.unlock();
    for (int parity = 0; parity < 2; ++parity) {
      if (s.ok() && parity != static_cast<int>(batch % 2)) continue;
      done_gen_[parity].fetch_add(1, std::memory_order_release);
      FutexWakeAll(done_gen_[parity]);
    }
    // Asynchronous appenders (AppendAsync), in index order, outside the lock.
    for (auto& [index, done] : callbacks) s.ok() ? done(index) : done(failure);
    for (auto& [index, done] : dropped) done(failure);
    callbacks.clear();
    dropped.clear();
    l.lock();
    cv_.notify_all();  // Close, held-back writers (they see sticky_)
  }
}

Status AuditLog::CommitBatch(std::string& frames, std::vector<Hash>& leaf_hashes, std::vector<uint32_t>& sizes) {
  std::lock_guard<std::mutex> c(commit_mu_);
  Status s;
  if (options_.reserve_bytes > 0 && entries_size_ + frames.size() > reserved_end_) {
    // Grow the file ahead of the appends, a chunk at a time (see
    // File::Reserve): the batches' syncs then write data only.
    const uint64_t chunk = std::max<uint64_t>(options_.reserve_bytes, frames.size());
    s = entries_->Reserve(chunk);
    if (s.ok()) reserved_end_ = entries_size_ + chunk;
  }
  if (s.ok()) s = entries_->Append(frames);
  if (s.ok()) s = entries_->Sync();
  if (!s.ok()) return s;  // nothing of this batch is acknowledged

  // The entries are durable from here on: acknowledge them whatever happens
  // to the caches, but stop taking appends if those fail.
  std::string offsets;
  offsets.reserve(sizes.size() * 8);
  uint64_t off = entries_size_;
  for (uint32_t sz : sizes) {
    PutU64(offsets, off);
    off += sz;
  }
  entries_size_ = off;
  Status cache = AppendIndex(offsets);
  if (cache.ok()) cache = tree_->Append(leaf_hashes);
  if (cache.ok()) {
    const uint64_t n = tree_->size();
    const int64_t now = clock_->NowMicros();
    const bool by_count =
        options_.checkpoint_every_entries && n - last_checkpoint_size_ >= options_.checkpoint_every_entries;
    const bool by_time = options_.checkpoint_every_micros && n > last_checkpoint_size_ &&
                         now - last_checkpoint_time_ >= options_.checkpoint_every_micros;
    if (by_count || by_time) cache = IssueCheckpointLocked().status();
  }
  if (!cache.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    sticky_ = cache;
  }
  return OkStatus();
}

Status AuditLog::AppendIndex(std::string_view offsets) {
  std::lock_guard<std::mutex> l(index_mu_);
  index_behind_.Add(offsets);
  return index_behind_.ChunkReady() ? index_behind_.Flush(*index_) : OkStatus();
}

Status AuditLog::FlushIndex() {
  std::lock_guard<std::mutex> l(index_mu_);
  return index_behind_.Flush(*index_);
}

Status AuditLog::WriteState() {
  return fs_->WriteFileAtomic(dir_ + "/tree.state",
                              StrCat(kStateMagic, "\n", tree_->size(), "\n", entries_size_, "\n"), 0600);
}

StatusOr<SignedCheckpoint> AuditLog::IssueCheckpoint() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!sticky_.ok()) return sticky_;
  }
  std::lock_guard<std::mutex> c(commit_mu_);
  return IssueCheckpointLocked();
}

StatusOr<SignedCheckpoint> AuditLog::IssueCheckpointLocked() {
  const uint64_t n = tree_->size();
  const Hash root = tree_->Root();
  const auto latest = LatestCheckpoint();
  if (latest) {
    const Checkpoint& prev = latest->checkpoint;
    // Never sign two inconsistent checkpoints: prove the new tree extends
    // the last signed one before signing.
    if (prev.size > n) return Internal("refusing to sign a checkpoint smaller than the last one");
    if (prev.size == n) {
      if (prev.root != root) return Internal("refusing to sign a different root at the same size");
      return *latest;
    }
    if (prev.size > 0) {
      CLOISON_ASSIGN_OR_RETURN(auto proof, audit::ConsistencyProof(*tree_, prev.size, n));
      Status s = VerifyConsistency(prev.size, n, prev.root, root, proof);
      if (!s.ok()) return Internal(StrCat("refusing to sign an inconsistent checkpoint: ", MessageOf(s)));
    }
  }
  // Make the caches durable up to n first, so the next open rehashes only
  // what came after this checkpoint.
  CLOISON_RETURN_IF_ERROR(FlushIndex());
  CLOISON_RETURN_IF_ERROR(index_->Sync());
  CLOISON_RETURN_IF_ERROR(tree_->Sync());
  CLOISON_RETURN_IF_ERROR(WriteState());

  SignedCheckpoint sc;
  sc.checkpoint = Checkpoint{origin_, n, root};
  sc.note = signer_->Sign(CheckpointBody(sc.checkpoint));
  std::string frame;
  AppendFrame(frame, sc.note);
  CLOISON_RETURN_IF_ERROR(checkpoints_file_->Append(frame));
  CLOISON_RETURN_IF_ERROR(checkpoints_file_->Sync());
  {
    std::lock_guard<std::mutex> l(ckpt_mu_);
    checkpoints_.push_back(sc);
  }
  last_checkpoint_size_ = n;
  last_checkpoint_time_ = clock_->NowMicros();
  checkpoints_signed_.fetch_add(1, std::memory_order_relaxed);
  return sc;
}

StatusOr<std::optional<uint64_t>> AuditLog::AppendRecoveryEvent() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (recovery_recorded_ || !recovery_.Eventful()) return std::optional<uint64_t>();
    recovery_recorded_ = true;
  }
  const RecoveryReport& r = recovery_;
  Event e;
  e.kind = EventKind::kSystem;
  e.time = clock_->NowMicros();
  e.decision = "recovered";
  e.reason = r.torn_bytes_cut || r.torn_checkpoint_bytes_cut
                 ? "audit log recovery at open: torn tail cut"
                 : "audit log recovery at open: entries after the latest checkpoint found and signed";
  e.numbers["entries"] = static_cast<int64_t>(r.entries);
  e.numbers["format"] = r.format;
  e.numbers["last_checkpoint_size"] = static_cast<int64_t>(r.last_checkpoint_size);
  e.numbers["uncovered_entries"] = static_cast<int64_t>(r.uncovered_entries);
  if (r.torn_bytes_cut) {
    e.numbers["torn_bytes_cut"] = static_cast<int64_t>(r.torn_bytes_cut);
    e.numbers["torn_offset"] = static_cast<int64_t>(r.torn_offset);
    e.details["torn_reason"] = r.torn_reason;
  }
  if (r.torn_checkpoint_bytes_cut) e.numbers["torn_checkpoint_bytes_cut"] = static_cast<int64_t>(r.torn_checkpoint_bytes_cut);
  if (r.uncovered_entries) {
    e.details["uncovered"] = StrCat(r.format >= 2 ? "authenticated by their tags" : "not authenticated (format 1)",
                                    r.uncovered_signed_at_open ? ", signed at open" : ", not signed yet");
  }
  auto idx = Append(e);
  if (!idx.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    recovery_recorded_ = false;  // nothing was recorded: a later call may try again
    return idx.status();
  }
  return std::optional<uint64_t>(*idx);
}

LogStats AuditLog::stats() const {
  LogStats s;
  std::lock_guard<std::mutex> l(mu_);
  s.appends = acked_;
  s.syncs = syncs_;
  s.backlog_entries = queued_hashes_.size() + inflight_entries_;
  s.backlog_bytes = queued_frames_.size() + inflight_bytes_;
  s.checkpoints_signed = checkpoints_signed_.load(std::memory_order_relaxed);
  s.size = tree_ ? tree_->size() : 0;
  return s;
}

std::vector<SignedCheckpoint> AuditLog::Checkpoints() const {
  std::lock_guard<std::mutex> l(ckpt_mu_);
  return checkpoints_;
}

std::optional<SignedCheckpoint> AuditLog::LatestCheckpoint() const {
  std::lock_guard<std::mutex> l(ckpt_mu_);
  if (checkpoints_.empty()) return std::nullopt;
  return checkpoints_.back();
}

uint64_t AuditLog::size() const { return tree_->size(); }

StatusOr<Hash> AuditLog::RootAt(uint64_t n) const {
  if (n > size()) return InvalidArgument(StrCat("tree size ", n, " is above the log size ", size()));
  return audit::RootAt(*tree_, n);
}

StatusOr<std::vector<Hash>> AuditLog::InclusionProof(uint64_t index, uint64_t n) const {
  if (n > size()) return InvalidArgument(StrCat("tree size ", n, " is above the log size ", size()));
  return audit::InclusionProof(*tree_, index, n);
}

StatusOr<std::vector<Hash>> AuditLog::ConsistencyProof(uint64_t m, uint64_t n) const {
  if (n > size()) return InvalidArgument(StrCat("tree size ", n, " is above the log size ", size()));
  return audit::ConsistencyProof(*tree_, m, n);
}

StatusOr<Hash> AuditLog::LeafHash(uint64_t index) const {
  if (index >= size()) return InvalidArgument(StrCat("no entry ", index, " (log size ", size(), ")"));
  return tree_->Node(0, index);
}

StatusOr<std::string> AuditLog::ReadEntry(uint64_t index) const {
  if (index >= size()) return InvalidArgument(StrCat("no entry ", index, " (log size ", size(), ")"));
  uint8_t b[8];
  size_t got = 0;
  bool pending = false;
  {
    // An offset below written() is in entries.idx for good.
    std::lock_guard<std::mutex> l(index_mu_);
    if (index >= index_behind_.written()) {
      if (!index_behind_.ReadPending(index, b)) return Corruption(StrCat("entry ", index, ": offset missing"));
      pending = true;
    }
  }
  if (!pending) {
    CLOISON_RETURN_IF_ERROR(index_->ReadAt(index * 8, b, &got));
    if (got != 8) return Corruption("entries.idx is short");
  }
  const uint64_t off = GetU64(b);
  uint8_t h[kFrameHeaderSize];
  CLOISON_RETURN_IF_ERROR(entries_->ReadAt(off, h, &got));
  if (got != kFrameHeaderSize) return Corruption(StrCat("entry ", index, ": short frame"));
  const uint32_t len = h[4] | (h[5] << 8) | (h[6] << 16) | (uint32_t(h[7]) << 24);
  if (len == 0 || len > kMaxPayload) return Corruption(StrCat("entry ", index, ": bad frame length"));
  std::string payload(len, '\0');
  CLOISON_RETURN_IF_ERROR(entries_->ReadAt(off + kFrameHeaderSize,
                                           {reinterpret_cast<uint8_t*>(payload.data()), len}, &got));
  if (got != len) return Corruption(StrCat("entry ", index, ": short frame"));
  uint32_t crc = crc32c::Value(h + 4, 4);
  crc = crc32c::Extend(crc, reinterpret_cast<const uint8_t*>(payload.data()), len);
  const uint32_t stored = h[0] | (h[1] << 8) | (h[2] << 16) | (uint32_t(h[3]) << 24);
  if (crc32c::Unmask(stored) != crc) return Corruption(StrCat("entry ", index, ": checksum mismatch"));
  if (format_ >= 2) {
    // The tag was checked when the entry was written or at Open; callers want the leaf.
    if (len <= kEntryTagSize) return Corruption(StrCat("entry ", index, ": too short for its tag"));
    payload.resize(len - kEntryTagSize);
  }
  return payload;
}

}  // namespace cloison::audit
