#include "store/sqlite_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <new>
#include <thread>

#include <sys/mman.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"

#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "store/schema.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace cloison::store {

void AppendFieldAssociatedData(PersonId person, std::string_view field, uint32_t key_id, std::string& out) {
  ::cloison::internal::AppendPiece(out, "p:");
  ::cloison::internal::AppendPiece(out, person.value());
  ::cloison::internal::AppendPiece(out, "|f:");
  ::cloison::internal::AppendPiece(out, field);
  ::cloison::internal::AppendPiece(out, "|k:");
  ::cloison::internal::AppendPiece(out, key_id);
}

StatusOr<uint32_t> BlobKeyId(std::span<const uint8_t> blob) {
  if (blob.size() < kKeyIdPrefixSize + crypto::XChaCha20Poly1305::kOverhead)
    return Corruption("encrypted value is too short");
  return (uint32_t{blob[0]} << 24) | (uint32_t{blob[1]} << 16) | (uint32_t{blob[2]} << 8) | uint32_t{blob[3]};
}

StatusOr<uint8_t> EnvelopeIndex(std::span<const uint8_t> blob) {
  if (blob.size() < kEnvelopeIndexSize + crypto::XChaCha20Poly1305::kTagSize)
    return Corruption("encrypted value is too short");
  return blob[0];
}

namespace {

constexpr const char* kLoadKeysSql = "SELECT key_id, wrapped, active FROM keys ORDER BY key_id";

using internal::Db;
using internal::ScopedReset;
using internal::Stmt;
using internal::Txn;

constexpr size_t kTagSize = crypto::BlindIndexer::kTagSize;
// People per pipeline chunk: large enough to amortise the hand-off between
// threads, small enough that a 20,000-person import batch has ~40 stages to
// overlap.
constexpr size_t kChunkSize = 512;
// SQLite page cache while a bulk load appends to an empty table (see Open).
constexpr int64_t kBulkCacheMib = 16;

// One background thread running tasks in submission order. Started on first
// use; if the thread cannot be created, tasks run inline on the caller.
class Worker {
 public:
  Worker() = default;
  ~Worker() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  std::future<void> Submit(std::function<void()> fn) {
    std::packaged_task<void()> task(std::move(fn));
    std::future<void> f = task.get_future();
    if (!started_) {
      started_ = true;
      try {
        thread_ = std::thread([this] { Loop(); });
      } catch (...) {
        inline_ = true;
      }
    }
    if (inline_) {
      task();
      return f;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return f;
  }

 private:
  void Loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stop_ = false;
  bool started_ = false;
  bool inline_ = false;
  std::thread thread_;
};

uint64_t TagPrefix(const uint8_t* tag) {
  uint64_t v;
  std::memcpy(&v, tag, sizeof v);
  return v;
}

// The bulk map's key for a unique field's tag (fields mixed in, so that
// equal prefixes in two fields do not share a probe chain).
uint64_t UniqueKey(size_t slot, const uint8_t* tag) { return TagPrefix(tag) ^ (slot * 0x9e3779b97f4a7c15ULL); }

// An open-addressing multimap from a 64-bit tag prefix to person ids. A hit
// is only a candidate: the caller verifies the full tag. Used for uniqueness
// during bulk loads (no SQL index yet) and for people written earlier in the
// same UpsertPersons call (not yet in the table).
//
// A key and its id share one 16-byte slot, so a probe touches one cache
// line. A bulk load's map outgrows every cache (4.8 M entries for 1.6 M
// people: 256 MiB) and each lookup is a cache and a TLB miss, so a large
// table is mapped on its own and asked for transparent huge pages (2 MiB
// pages: one TLB entry covers 128 K slots; where THP is off, plain pages).
// Not thread-safe; the store uses it from the caller's thread only.
class PrefixMap {
 public:
  PrefixMap() = default;
  PrefixMap(const PrefixMap&) = delete;
  PrefixMap& operator=(const PrefixMap&) = delete;
  ~PrefixMap() { Release(); }

  // Empties the map and keeps its slots for the next use.
  void Clear() {
    if (size_ != 0) std::memset(static_cast<void*>(region_.slots), 0, region_.cap * sizeof(Slot));
    size_ = 0;
  }
  // Empties the map and gives the memory back.
  void Release() {
    Free(region_);
    size_ = 0;
  }
  void Insert(uint64_t key, int64_t id) {
    if (key == 0) key = 1;  // 0 marks an empty slot
    if ((size_ + 1) * 2 > region_.cap) Grow();
    size_t i = key & (region_.cap - 1);
    while (region_.slots[i].key != 0) {
      if (region_.slots[i].key == key && region_.slots[i].id == id) return;
      i = (i + 1) & (region_.cap - 1);
    }
    region_.slots[i] = {key, id};
    ++size_;
  }
  // Starts loading the slot `key` hashes to, for a lookup a little later.
  void Prefetch(uint64_t key) const {
    if (region_.cap == 0) return;
    if (key == 0) key = 1;
    const Slot* slot = region_.slots + (key & (region_.cap - 1));
#if defined(__x86_64__) || defined(__i386__)
    // Not __builtin_prefetch: GCC 12 deletes a loop whose body only
    // prefetches (no side effect), and ResolveChunk's loop over the unique
    // fields is one; an asm volatile stays.
    asm volatile("prefetcht0 %0" : : "m"(*slot));
#else
    __builtin_prefetch(slot);
#endif
  }
  template <typename F>
  void ForEach(uint64_t key, F&& f) const {
    if (region_.cap == 0) return;
    if (key == 0) key = 1;
    for (size_t i = key & (region_.cap - 1); region_.slots[i].key != 0; i = (i + 1) & (region_.cap - 1))
      if (region_.slots[i].key == key) f(region_.slots[i].id);
  }

 private:
  struct Slot {
    uint64_t key;
    int64_t id;
  };
  static constexpr size_t kHugePage = size_t{2} << 20;

  // The slots and, when they are mmap'ed, the mapping that holds them.
  struct Region {
    Slot* slots = nullptr;
    size_t cap = 0;  // a power of two, or 0
    void* map_base = nullptr;
    size_t map_len = 0;
  };

  // Zeroed slots for `n` entries. Throws std::bad_alloc as std::vector did.
  static Region Allocate(size_t n) {
    const size_t bytes = n * sizeof(Slot);
    if (bytes >= 2 * kHugePage) {
      // Over-map by one huge page so that the slots start on a 2 MiB
      // boundary (THP only backs aligned ranges); mmap's memory is zero.
      const size_t len = bytes + kHugePage;
      void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base != MAP_FAILED) {
        const uintptr_t aligned = (reinterpret_cast<uintptr_t>(base) + kHugePage - 1) & ~(kHugePage - 1);
        (void)madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // a hint: no THP, no harm
        return {reinterpret_cast<Slot*>(aligned), n, base, len};
      }
    }
    void* p = std::calloc(n, sizeof(Slot));
    if (p == nullptr) throw std::bad_alloc();
    return {static_cast<Slot*>(p), n, nullptr, 0};
  }
  static void Free(Region& r) {
    if (r.map_base != nullptr) munmap(r.map_base, r.map_len);
    else std::free(r.slots);
    r = Region{};
  }
  void Grow() {
    Region old = region_;
    region_ = Allocate(std::max<size_t>(1024, old.cap * 2));
    size_ = 0;
    for (size_t i = 0; i < old.cap; ++i)
      if (old.slots[i].key != 0) Insert(old.slots[i].key, old.slots[i].id);
    Free(old);
  }

  Region region_;
  size_t size_ = 0;
};

// Work area for kChunkSize people going through the upsert pipeline.
struct Chunk {
  size_t begin = 0, end = 0;      // range in the input span
  std::vector<uint8_t> tags;      // [row][bi slot] kTagSize bytes
  std::vector<uint8_t> has_tag;   // [row][bi slot]
  std::vector<int64_t> ids;       // resolved person id per row
  std::vector<uint8_t> blobs;     // encrypted values, back to back
  std::vector<uint32_t> blob_off; // [row][enc slot]
  std::vector<uint32_t> blob_len; // [row][enc slot]; 0 = absent
  std::vector<uint8_t> prefixes;  // [row] envelope nonce prefix, kEnvelopePrefixSize bytes
  std::vector<uint8_t> sealed;    // [row] 1 once the row's envelope is sealed
};

// A stage over the rows of a chunk that both threads can work on: each
// claims grains of rows through an atomic cursor, so the caller thread helps
// the worker whenever it has no SQLite work, whatever the machine's load.
struct RowJob {
  static constexpr size_t kGrain = 16;
  size_t rows = 0;
  std::function<void(size_t, size_t)> fn;  // processes rows [begin, end)
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};

  void Work() {
    for (;;) {
      const size_t b = next.fetch_add(kGrain, std::memory_order_relaxed);
      if (b >= rows) return;
      const size_t e = std::min(rows, b + kGrain);
      fn(b, e);
      done.fetch_add(e - b, std::memory_order_release);
    }
  }
  // Helps until every row is claimed, then waits for the other thread's
  // last grain (at most kGrain rows).
  void WorkAndWait() {
    Work();
    while (done.load(std::memory_order_acquire) < rows) std::this_thread::yield();
  }
};

std::string RolesToText(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out.push_back(',');
    out.append(RoleName(r));
  }
  return out;
}

void AppendIdList(const std::vector<StructureId>& ids, std::string& out) {
  for (StructureId id : ids) {
    if (!out.empty()) out.push_back(';');
    ::cloison::internal::AppendPiece(out, id.value());
  }
}

std::vector<StructureId> ParseIdList(std::string_view s) {
  std::vector<StructureId> out;
  while (!s.empty()) {
    const size_t semi = s.find(';');
    std::string_view part = s.substr(0, semi);
    int64_t v = 0;
    std::from_chars(part.data(), part.data() + part.size(), v);
    if (v > 0) out.emplace_back(v);
    if (semi == std::string_view::npos) break;
    s.remove_prefix(semi + 1);
  }
  return out;
}

class SqliteStore final : public Store {
 public:
  SqliteStore(const SqliteOptions& options, const FieldCatalog& catalog, const crypto::SecretBytes& master,
              const Clock& clock)
      : options_(options),
        catalog_(catalog),
        master_(master),
        clock_(clock) {}

  ~SqliteStore() override {
    if (bulk_deferred_) (void)FinishBulkLoad();  // best effort; loaders call it themselves
  }

  Status Open();

  StatusOr<StructureId> UpsertStructure(const Structure& s) override;
  StatusOr<Structure> GetStructure(StructureId id) override;
  StatusOr<std::optional<StructureId>> FindStructureByCode(std::string_view code) override;
  StatusOr<std::vector<Structure>> ListStructures() override;
  StatusOr<AccountId> UpsertAgent(const Agent& a) override;
  StatusOr<std::optional<AccountId>> FindAgentByUsername(std::string_view username) override;
  StatusOr<std::vector<Agent>> ListAgents() override;
  StatusOr<FormationId> UpsertFormation(const Formation& f) override;
  StatusOr<TrainingSessionId> UpsertTrainingSession(const TrainingSession& s) override;
  StatusOr<std::vector<Formation>> ListFormations() override;
  StatusOr<std::vector<TrainingSession>> ListTrainingSessions() override;

  Status PutOrientations(std::span<const Orientation> orientations) override;
  StatusOr<std::vector<Orientation>> OrientationsOfPerson(PersonId person) override;
  Status ForEachOrientation(const std::function<void(const Orientation&)>& fn) override;
  StatusOr<OrientationId> AddOrientation(const Orientation& o) override;
  StatusOr<Orientation> GetOrientation(OrientationId id) override;
  StatusOr<TrainingSession> GetTrainingSession(TrainingSessionId id) override;
  StatusOr<Formation> GetFormation(FormationId id) override;

  StatusOr<UpsertResult> UpsertPersons(std::span<const Person> persons) override;
  StatusOr<Person> GetPerson(PersonId id, const FieldMask& mask) override;
  void BeginReadBatch() override { db_.WantReadBatch(true); }
  void EndReadBatch() override { db_.WantReadBatch(false); }
  StatusOr<std::vector<PersonId>> FindPersons(std::string_view field, std::string_view value) override;
  Status ForEachPersonRelation(
      const std::function<void(PersonId, StructureId, std::optional<AccountId>)>& fn) override;
  Status MarkDecoys(std::span<const PersonId> persons) override;
  StatusOr<std::vector<PersonId>> ListDecoys() override;

  StatusOr<uint32_t> AddKeyAndActivate() override;
  StatusOr<int64_t> ReencryptBatch(int64_t max_persons) override;
  StatusOr<StoreStats> Stats() override;
  Status FinishBulkLoad() override;
  Status RunInTransaction(const std::function<Status()>& fn) override {
    Txn txn(db_);
    CLOISON_RETURN_IF_ERROR(txn.Begin());
    CLOISON_RETURN_IF_ERROR(fn());
    return txn.Commit();
  }

 private:
  Status PrepareStatements();
  // The blind-index tables and the key_id index (internal::CreatePersonIndexes).
  Status BuildPersonIndexes();
  // Bulk mode: refills bulk_map_ from the persons table (after a failed build).
  Status RefillBulkMap();
  // FinishBulkLoad's build: from bulk_entries_ when they are exact, else by
  // scanning (BuildPersonIndexes).
  Status BuildBlindIndexesAfterBulkLoad();
  StatusOr<std::vector<crypto::WrappedKey>> LoadKeys(uint32_t& active);
  Status OpenKeyRing();
  // Re-reads the keys table and rebuilds ring_ if another connection (another
  // process running `cloison keys rotate`) added or activated a key since.
  // Cheap when nothing changed: one small SELECT, no unwrapping.
  Status RefreshKeyRing();
  // Inside a write transaction: makes ring_'s active key the one the
  // database says is active, so that a long-lived store (the server) writes
  // new values under the key a rotation elsewhere activated. One indexed
  // SELECT per transaction; a refresh only when it differs.
  Status SyncActiveKey();

  // Pipeline stages (see UpsertPersons).
  void ComputeTags(std::span<const Person> persons, Chunk& c) const;
  // Assigns every encrypted value of the chunk its slot in c.blobs (caller thread).
  void LayoutBlobs(std::span<const Person> persons, Chunk& c) const;
  // Encrypts rows [row_begin, row_end) into their slots; any thread.
  void EncryptRows(std::span<const Person> persons, Chunk& c, const crypto::Aead& aead, uint32_t key_id,
                   size_t row_begin, size_t row_end) const;
  Status ResolveChunk(std::span<const Person> persons, Chunk& c, UpsertResult& result);
  Status WriteChunk(std::span<const Person> persons, const Chunk& c, uint32_t key_id);
  StatusOr<int64_t> LookupUnique(size_t slot, const uint8_t* tag);
  StatusOr<bool> PersonExists(int64_t id);

  // Overlay: blind-index tags of the people this UpsertPersons call has
  // assigned so far (they may not be in the table yet). Authoritative over
  // the table for those ids.
  const uint8_t* OverlayTags(int64_t id) const {
    auto it = overlay_index_.find(id);
    return it == overlay_index_.end() ? nullptr : overlay_.data() + it->second;
  }
  static bool SameTag(const uint8_t* entry, size_t slot, const uint8_t* tag) {
    const uint8_t* e = entry + slot * (kTagSize + 1);
    return e[0] && std::memcmp(e + 1, tag, kTagSize) == 0;
  }

  // Where a row's encrypted values take their key and nonce from (layouts in
  // sqlite_store.h): the row's key id and nonce prefix for an envelope row,
  // each value's own prefix for a legacy row.
  struct RowSeal {
    uint32_t key_id = 0;              // persons.key_id
    bool envelope = false;            // persons.nonce_prefix is not NULL
    std::span<const uint8_t> prefix;  // persons.nonce_prefix
  };
  // Opens one stored value of person `id`. A key id the ring does not hold
  // triggers one RefreshKeyRing (a rotation in another process) before it is
  // Corruption, as is a damaged or moved value (the message names the person
  // and the field, never the value).
  StatusOr<std::string> Decrypt(PersonId id, const FieldDef& def, std::span<const uint8_t> blob,
                                const RowSeal& seal);
  // Opens values of an envelope row together (one subkey derivation).
  StatusOr<std::vector<std::string>> OpenEnvelopeValues(PersonId id, const RowSeal& seal,
                                                        std::span<const FieldDef* const> defs,
                                                        std::span<const std::span<const uint8_t>> blobs);
  // The data key `key_id`, reloading the ring once if this process does not
  // have it yet (a rotation by another process); Corruption if unknown.
  StatusOr<const crypto::Aead*> DataKey(PersonId id, uint32_t key_id);
  StatusOr<Structure> ReadStructure(const Stmt& s) const;
  Orientation ReadOrientation(const Stmt& s) const;

  SqliteOptions options_;
  const FieldCatalog catalog_;  // a copy: the layout below is derived from it
  const crypto::SecretBytes master_;  // wraps new data keys on rotation
  const Clock& clock_;
  std::shared_ptr<const crypto::KeyRing> ring_;

  std::vector<size_t> enc_fields_;  // catalog indexes of encrypted fields
  std::vector<size_t> bi_fields_;   // catalog indexes of blind-indexed fields (slot order)
  // The blind-index tagger of each, by slot (keyed from master_).
  std::vector<crypto::BlindIndexer::FieldTagger> bi_taggers_;
  std::vector<int> bi_slot_of_;     // catalog index -> bi slot or -1
  std::vector<size_t> unique_slots_;

  bool bulk_deferred_ = false;  // persons indexes dropped; bulk_map_ enforces uniqueness
  PrefixMap bulk_map_;          // (tag prefix ^ slot) -> person id, bulk loads only
  // Bulk loads: every (tag, person) this store wrote, per bi slot, so that
  // FinishBulkLoad fills the blind-index tables without reading the table
  // back. Trusted only while bulk_written_ == the rows in persons and no
  // person was written twice (bulk_exact_); otherwise the build scans.
  std::vector<std::vector<internal::BlindEntry>> bulk_entries_;
  int64_t bulk_written_ = 0;
  bool bulk_exact_ = true;
  // The load runs with a rollback journal (UseRollbackJournalForBulkLoad);
  // FinishBulkLoad returns to WAL.
  bool bulk_rollback_journal_ = false;
  bool bulk_journal_tried_ = false;
  Status SetJournalMode(std::string_view mode);
  Status UseRollbackJournalForBulkLoad();

  // Per-UpsertPersons state, kept to reuse allocations. call_map_ holds
  // this call's unique tags outside bulk loads (in one, bulk_map_ does).
  PrefixMap call_map_;
  PrefixMap& UniqueMap() { return bulk_deferred_ ? bulk_map_ : call_map_; }
  absl::flat_hash_map<int64_t, uint32_t> overlay_index_;  // reserved per call: no node per person
  std::vector<uint8_t> overlay_;
  std::vector<Chunk> chunks_;
  int64_t next_id_ = 1;
  // The largest id in persons when this UpsertPersons call began (it holds
  // the write transaction): a larger id is new unless this call wrote it,
  // and then it is in the overlay. Saves a SELECT per person for callers
  // that bring their own ids (generate: 1.6 M point queries).
  int64_t table_max_id_ = 0;
  std::string scratch_;

  Worker worker_;

  // Declared before the statements so that it is destroyed after them.
  Db db_;
  Stmt upsert_person_, get_person_, person_exists_, person_tags_by_id_, max_person_id_;
  // Per bi slot: through the blind-index table; by scanning persons' column
  // (bulk loads, while the tables are empty).
  std::vector<Stmt> find_by_tag_, find_by_column_;
  Stmt person_relations_, stale_persons_, count_stale_, get_encrypted_, update_encrypted_;
  Stmt load_keys_, active_key_;
  Stmt structure_by_code_, upsert_structure_, get_structure_, list_structures_;
  Stmt agent_by_username_, upsert_agent_, list_agents_;
  Stmt formation_by_code_, upsert_formation_, list_formations_;
  Stmt session_by_code_, upsert_session_, list_sessions_;
  Stmt put_orientation_, orientations_of_person_, all_orientations_;
  Stmt add_orientation_, get_orientation_, get_session_, get_formation_;
};

Status SqliteStore::Open() {
  CLOISON_RETURN_IF_ERROR(crypto::InitCrypto());
  const crypto::BlindIndexer indexer = crypto::BlindIndexer::FromMaster(master_);
  for (size_t i = 0; i < catalog_.size(); ++i) {
    const FieldDef& def = catalog_.at(i);
    if (def.encrypted()) enc_fields_.push_back(i);
    bi_slot_of_.push_back(-1);
    if (def.blind_index) {
      bi_slot_of_[i] = static_cast<int>(bi_fields_.size());
      if (def.unique) unique_slots_.push_back(bi_fields_.size());
      bi_fields_.push_back(i);
      bi_taggers_.push_back(indexer.ForField(def.name));
    }
  }
  // A person's sensitive values are one envelope, indexed by one byte.
  if (enc_fields_.size() > crypto::XChaCha20Poly1305::kMaxGroup)
    return InvalidArgument(StrCat("the catalog has ", enc_fields_.size(), " sensitive fields; at most ",
                                  crypto::XChaCha20Poly1305::kMaxGroup, " are supported"));

  CLOISON_RETURN_IF_ERROR(db_.Open(options_.path));
  // 16 KiB pages: a person row was ~650 bytes when measured (encrypted
  // values carried 44 bytes of overhead each; envelopes now carry 17, plus
  // 16 per row); against 8 KiB, half the pages, page writes and
  // splits for a bulk load (1.6 M people: 4% faster; 32 KiB gained only 1%
  // more, for twice the WAL bytes per small online transaction). Only takes
  // effect on a new, empty database.
  CLOISON_RETURN_IF_ERROR(db_.Exec("PRAGMA page_size=16384", "configure database"));
  {
    CLOISON_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("PRAGMA journal_mode=WAL", "set WAL mode"));
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "set WAL mode"));
    if (!row || s.ColumnText(0) != "wal") return IOError(StrCat("cannot use WAL mode on ", options_.path));
  }
  CLOISON_RETURN_IF_ERROR(db_.Exec(StrCat("PRAGMA synchronous=", options_.bulk ? "OFF" : "NORMAL",
                                          "; PRAGMA cache_size=-", options_.cache_mib * 1024,
                                          "; PRAGMA temp_store=MEMORY; PRAGMA threads=2"),
                                   "configure database"));
  CLOISON_RETURN_IF_ERROR(internal::Migrate(db_));
  CLOISON_RETURN_IF_ERROR(internal::SyncCatalogColumns(db_, catalog_, clock_.NowMicros()));
  CLOISON_RETURN_IF_ERROR(OpenKeyRing());

  bool empty = false;
  {
    CLOISON_ASSIGN_OR_RETURN(int64_t any, db_.QueryInt("SELECT EXISTS(SELECT 1 FROM persons)", "count persons"));
    empty = any == 0;
  }
  if (options_.bulk && empty) {
    CLOISON_RETURN_IF_ERROR(internal::DropPersonIndexes(db_, catalog_));
    bulk_deferred_ = true;
    // A load into an empty table only appends: it needs the B-trees' right
    // edges, not 256 MiB of pages it will never read again (which were
    // 240 MB of a 1.6 M-person import's 640 MB peak, each page faulted in
    // fresh). FinishBulkLoad gives the cache its configured size back.
    CLOISON_RETURN_IF_ERROR(db_.Exec(StrCat("PRAGMA cache_size=-", std::min<int64_t>(options_.cache_mib, kBulkCacheMib) * 1024),
                                     "configure database"));
    bulk_entries_.assign(bi_fields_.size(), {});
    bulk_written_ = 0;
    bulk_exact_ = true;
  } else {
    CLOISON_RETURN_IF_ERROR(BuildPersonIndexes());
  }
  return PrepareStatements();
}

StatusOr<std::vector<crypto::WrappedKey>> SqliteStore::LoadKeys(uint32_t& active) {
  Stmt local;
  if (!load_keys_) {  // during Open, before PrepareStatements
    CLOISON_ASSIGN_OR_RETURN(local, db_.Prepare(kLoadKeysSql, "read keys"));
  }
  const Stmt& s = load_keys_ ? load_keys_ : local;
  ScopedReset reset(s);
  std::vector<crypto::WrappedKey> keys;
  active = 0;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "read keys"));
    if (!row) break;
    crypto::WrappedKey k;
    k.key_id = static_cast<uint32_t>(s.ColumnInt(0));
    auto w = s.ColumnBlob(1);
    k.wrapped.assign(w.begin(), w.end());
    if (s.ColumnInt(2) != 0) active = k.key_id;
    keys.push_back(std::move(k));
  }
  return keys;
}

Status SqliteStore::OpenKeyRing() {
  uint32_t active = 0;
  CLOISON_ASSIGN_OR_RETURN(auto keys, LoadKeys(active));
  if (keys.empty()) {
    // A new store: key id 1. Inserted under the write lock, re-checked, so
    // two processes creating the same store agree on one key.
    Txn txn(db_);
    CLOISON_RETURN_IF_ERROR(txn.Begin());
    CLOISON_ASSIGN_OR_RETURN(int64_t n, db_.QueryInt("SELECT count(*) FROM keys", "count keys"));
    if (n == 0) {
      crypto::WrappedKey k = crypto::KeyRing::NewWrappedKey(master_, 1);
      CLOISON_ASSIGN_OR_RETURN(
          Stmt ins, db_.Prepare("INSERT INTO keys(key_id, wrapped, created_at, active) VALUES(1, ?, ?, 1)",
                                "write key"));
      ins.BindBlob(1, k.wrapped);
      ins.BindInt(2, clock_.NowMicros());
      CLOISON_RETURN_IF_ERROR(db_.StepDone(ins, "write key"));
    }
    CLOISON_RETURN_IF_ERROR(txn.Commit());
    CLOISON_ASSIGN_OR_RETURN(keys, LoadKeys(active));
  }
  if (active == 0) return Corruption("no active data key in the keys table");
  CLOISON_ASSIGN_OR_RETURN(crypto::KeyRing ring, crypto::KeyRing::Open(master_, keys, active));
  ring_ = std::make_shared<const crypto::KeyRing>(std::move(ring));
  return OkStatus();
}

Status SqliteStore::RefreshKeyRing() {
  uint32_t active = 0;
  CLOISON_ASSIGN_OR_RETURN(auto keys, LoadKeys(active));
  if (active == 0) return Corruption("no active data key in the keys table");
  bool same = active == ring_->active_id();
  if (same) {
    const std::vector<uint32_t> held = ring_->ids();
    same = held.size() == keys.size();
    for (size_t i = 0; same && i < keys.size(); ++i) same = held[i] == keys[i].key_id;
  }
  if (same) return OkStatus();
  auto ring = crypto::KeyRing::Open(master_, keys, active);
  if (!ring.ok()) {
    // The store opened with this master key, so a key it cannot unwrap was
    // written by someone holding another one: stored data, not environment.
    if (IsIOError(ring.status())) return ring.status();
    return Corruption(StrCat("cannot load the data keys added since this store was opened: ",
                             MessageOf(ring.status())));
  }
  // Threads of an UpsertPersons in flight hold their own reference to the old
  // ring; the store itself is used from one thread at a time (store.h).
  ring_ = std::make_shared<const crypto::KeyRing>(std::move(*ring));
  return OkStatus();
}

Status SqliteStore::SyncActiveKey() {
  ScopedReset reset(active_key_);
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(active_key_, "read active key"));
  if (!row) return Corruption("no active data key in the keys table");
  if (static_cast<uint32_t>(active_key_.ColumnInt(0)) == ring_->active_id()) return OkStatus();
  return RefreshKeyRing();
}

Status SqliteStore::PrepareStatements() {
  auto prep = [&](Stmt& out, std::string_view sql) -> Status {
    CLOISON_ASSIGN_OR_RETURN(out, db_.Prepare(sql, "prepare statement"));
    return OkStatus();
  };
  // persons: column order id, referent_structure_id, referent_counsellor_id,
  // other_structures, key_id, updated_at, nonce_prefix, f_* (catalog order),
  // bi_* (slot order). A rewritten row is a new envelope: the values of
  // fields the catalog dropped could not be opened under it, so they go.
  CLOISON_ASSIGN_OR_RETURN(const std::vector<std::string> orphans, internal::OrphanEncryptedColumns(db_, catalog_));
  std::string cols = "id, referent_structure_id, referent_counsellor_id, other_structures, key_id, updated_at, "
                     "nonce_prefix";
  std::string sets =
      "referent_structure_id=excluded.referent_structure_id, referent_counsellor_id=excluded.referent_counsellor_id, "
      "other_structures=excluded.other_structures, key_id=excluded.key_id, updated_at=excluded.updated_at, "
      "nonce_prefix=excluded.nonce_prefix";
  for (const std::string& c : orphans) sets += StrCat(", ", c, "=NULL");
  std::string fcols, bcols, params = "?, ?, ?, ?, ?, ?, ?";
  for (const FieldDef& def : catalog_.fields()) {
    const std::string c = StrCat("\"", internal::ValueColumn(def), "\"");
    cols += ", " + c;
    fcols += (fcols.empty() ? "" : ", ") + c;
    sets += StrCat(", ", c, "=excluded.", c);
    params += ", ?";
  }
  for (size_t slot : bi_fields_) {
    const std::string c = StrCat("\"", internal::BlindColumn(catalog_.at(slot)), "\"");
    cols += ", " + c;
    bcols += (bcols.empty() ? "" : ", ") + c;
    sets += StrCat(", ", c, "=excluded.", c);
    params += ", ?";
  }
  CLOISON_RETURN_IF_ERROR(prep(upsert_person_, StrCat("INSERT INTO persons(", cols, ") VALUES(", params,
                                                      ") ON CONFLICT(id) DO UPDATE SET ", sets)));
  CLOISON_RETURN_IF_ERROR(prep(get_person_, StrCat("SELECT referent_structure_id, referent_counsellor_id, "
                                                   "other_structures, key_id, nonce_prefix",
                                                   fcols.empty() ? "" : ", ", fcols,
                                                   " FROM persons WHERE id = ?")));
  CLOISON_RETURN_IF_ERROR(prep(person_exists_, "SELECT 1 FROM persons WHERE id = ?"));
  CLOISON_RETURN_IF_ERROR(prep(max_person_id_, "SELECT coalesce(max(id), 0) FROM persons"));
  if (!bi_fields_.empty())
    CLOISON_RETURN_IF_ERROR(prep(person_tags_by_id_, StrCat("SELECT ", bcols, " FROM persons WHERE id = ?")));
  find_by_tag_.resize(bi_fields_.size());
  find_by_column_.resize(bi_fields_.size());
  for (size_t slot = 0; slot < bi_fields_.size(); ++slot) {
    const FieldDef& def = catalog_.at(bi_fields_[slot]);
    CLOISON_RETURN_IF_ERROR(prep(find_by_tag_[slot], StrCat("SELECT person_id FROM \"", internal::BlindTable(def),
                                                            "\" WHERE tag = ? ORDER BY person_id")));
    CLOISON_RETURN_IF_ERROR(prep(find_by_column_[slot], StrCat("SELECT id FROM persons WHERE \"",
                                                               internal::BlindColumn(def), "\" = ? ORDER BY id")));
  }
  CLOISON_RETURN_IF_ERROR(prep(person_relations_, "SELECT id, referent_structure_id, referent_counsellor_id "
                                                  "FROM persons ORDER BY id"));
  CLOISON_RETURN_IF_ERROR(prep(load_keys_, kLoadKeysSql));
  CLOISON_RETURN_IF_ERROR(prep(active_key_, "SELECT key_id FROM keys WHERE active = 1 ORDER BY key_id LIMIT 1"));
  CLOISON_RETURN_IF_ERROR(prep(stale_persons_, "SELECT id FROM persons WHERE key_id <> ? ORDER BY id LIMIT ?"));
  CLOISON_RETURN_IF_ERROR(prep(count_stale_, "SELECT count(*) FROM persons WHERE key_id <> ?"));
  if (!enc_fields_.empty()) {
    std::string ecols, esets;
    for (size_t f : enc_fields_) {
      const std::string c = StrCat("\"", internal::ValueColumn(catalog_.at(f)), "\"");
      ecols += ", " + c;
      esets += c + " = ?, ";
    }
    for (const std::string& c : orphans) esets += c + " = NULL, ";
    CLOISON_RETURN_IF_ERROR(
        prep(get_encrypted_, StrCat("SELECT key_id, nonce_prefix", ecols, " FROM persons WHERE id = ?")));
    CLOISON_RETURN_IF_ERROR(prep(update_encrypted_, StrCat("UPDATE persons SET ", esets,
                                                           "key_id = ?, nonce_prefix = ? WHERE id = ?")));
  }

  const char* kStructureCols = "id, kind, parent_id, code, name, time_zone, open_minute, close_minute, weekdays, "
                               "departement";
  CLOISON_RETURN_IF_ERROR(prep(structure_by_code_, "SELECT id FROM structures WHERE code = ?"));
  CLOISON_RETURN_IF_ERROR(prep(
      upsert_structure_,
      StrCat("INSERT INTO structures(", kStructureCols, ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
             "ON CONFLICT(id) DO UPDATE SET kind=excluded.kind, parent_id=excluded.parent_id, code=excluded.code, "
             "name=excluded.name, time_zone=excluded.time_zone, open_minute=excluded.open_minute, "
             "close_minute=excluded.close_minute, weekdays=excluded.weekdays, departement=excluded.departement "
             "RETURNING id")));
  CLOISON_RETURN_IF_ERROR(prep(get_structure_, StrCat("SELECT ", kStructureCols, " FROM structures WHERE id = ?")));
  CLOISON_RETURN_IF_ERROR(prep(list_structures_, StrCat("SELECT ", kStructureCols, " FROM structures ORDER BY id")));

  CLOISON_RETURN_IF_ERROR(prep(agent_by_username_, "SELECT id FROM agents WHERE username = ?"));
  CLOISON_RETURN_IF_ERROR(prep(
      upsert_agent_, "INSERT INTO agents(id, structure_id, username, nom, prenom, roles) VALUES(?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT(id) DO UPDATE SET structure_id=excluded.structure_id, username=excluded.username, "
                     "nom=excluded.nom, prenom=excluded.prenom, roles=excluded.roles RETURNING id"));
  CLOISON_RETURN_IF_ERROR(
      prep(list_agents_, "SELECT id, structure_id, username, nom, prenom, roles FROM agents ORDER BY id"));

  CLOISON_RETURN_IF_ERROR(prep(formation_by_code_, "SELECT id FROM formations WHERE code = ?"));
  CLOISON_RETURN_IF_ERROR(prep(
      upsert_formation_, "INSERT INTO formations(id, organisation_id, code, title, domain) VALUES(?, ?, ?, ?, ?) "
                         "ON CONFLICT(id) DO UPDATE SET organisation_id=excluded.organisation_id, "
                         "code=excluded.code, title=excluded.title, domain=excluded.domain RETURNING id"));
  CLOISON_RETURN_IF_ERROR(
      prep(list_formations_, "SELECT id, organisation_id, code, title, domain FROM formations ORDER BY id"));

  CLOISON_RETURN_IF_ERROR(prep(session_by_code_, "SELECT id FROM training_sessions WHERE code = ?"));
  CLOISON_RETURN_IF_ERROR(prep(
      upsert_session_, "INSERT INTO training_sessions(id, formation_id, code, start_day, end_day, place) "
                       "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET formation_id=excluded.formation_id, "
                       "code=excluded.code, start_day=excluded.start_day, end_day=excluded.end_day, "
                       "place=excluded.place RETURNING id"));
  CLOISON_RETURN_IF_ERROR(prep(
      list_sessions_, "SELECT id, formation_id, code, start_day, end_day, place FROM training_sessions ORDER BY id"));

  const char* kOrientationCols =
      "id, person_id, session_id, counsellor_id, status, proposed_day, decided_day, enrolled_day, ended_day";
  CLOISON_RETURN_IF_ERROR(prep(
      put_orientation_,
      StrCat("INSERT INTO orientations(", kOrientationCols, ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) "
             "ON CONFLICT(id) DO UPDATE SET person_id=excluded.person_id, session_id=excluded.session_id, "
             "counsellor_id=excluded.counsellor_id, status=excluded.status, proposed_day=excluded.proposed_day, "
             "decided_day=excluded.decided_day, enrolled_day=excluded.enrolled_day, ended_day=excluded.ended_day")));
  CLOISON_RETURN_IF_ERROR(prep(orientations_of_person_, StrCat("SELECT ", kOrientationCols,
                                                               " FROM orientations WHERE person_id = ? ORDER BY id")));
  CLOISON_RETURN_IF_ERROR(
      prep(all_orientations_, StrCat("SELECT ", kOrientationCols, " FROM orientations ORDER BY id")));
  CLOISON_RETURN_IF_ERROR(prep(
      add_orientation_,
      "INSERT INTO orientations(person_id, session_id, counsellor_id, status, proposed_day, decided_day, "
      "enrolled_day, ended_day) VALUES(?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  CLOISON_RETURN_IF_ERROR(
      prep(get_orientation_, StrCat("SELECT ", kOrientationCols, " FROM orientations WHERE id = ?")));
  CLOISON_RETURN_IF_ERROR(prep(
      get_session_, "SELECT id, formation_id, code, start_day, end_day, place FROM training_sessions WHERE id = ?"));
  CLOISON_RETURN_IF_ERROR(
      prep(get_formation_, "SELECT id, organisation_id, code, title, domain FROM formations WHERE id = ?"));
  return OkStatus();
}

// ---------------------------------------------------------------- network

// Shared shape of the natural-key upserts: `by_key` finds the row owning the
// natural key; a caller id that disagrees with it is AlreadyExists.
template <typename Bind>
StatusOr<int64_t> UpsertByNaturalKey(Db& db, const Stmt& by_key, const Stmt& upsert, std::string_view what,
                                     std::string_view key, int64_t given_id, Bind&& bind) {
  if (key.empty()) return InvalidArgument(StrCat(what, ": empty code"));
  Txn txn(db);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  int64_t existing = 0;
  {
    ScopedReset r(by_key);
    by_key.BindText(1, key);
    CLOISON_ASSIGN_OR_RETURN(bool row, db.StepRow(by_key, what));
    if (row) existing = by_key.ColumnInt(0);
  }
  if (existing != 0 && given_id > 0 && given_id != existing)
    return AlreadyExists(StrCat(what, " '", key, "' already belongs to id ", existing));
  const int64_t target = existing != 0 ? existing : given_id;
  int64_t id = 0;
  {
    ScopedReset r(upsert);
    if (target > 0) upsert.BindInt(1, target); else upsert.BindNull(1);
    bind(upsert);
    CLOISON_ASSIGN_OR_RETURN(bool row, db.StepRow(upsert, what));
    if (!row) return Internal(StrCat(what, ": upsert returned no id"));
    id = upsert.ColumnInt(0);
    CLOISON_RETURN_IF_ERROR(db.StepDone(upsert, what));
  }
  CLOISON_RETURN_IF_ERROR(txn.Commit());
  return id;
}

StatusOr<StructureId> SqliteStore::UpsertStructure(const Structure& s) {
  CLOISON_ASSIGN_OR_RETURN(
      int64_t id, UpsertByNaturalKey(db_, structure_by_code_, upsert_structure_, "structure code", s.code,
                                     s.id.value(), [&](const Stmt& st) {
                                       st.BindText(2, StructureKindName(s.kind));
                                       if (s.parent && s.parent->valid()) st.BindInt(3, s.parent->value());
                                       else st.BindNull(3);
                                       st.BindText(4, s.code);
                                       st.BindText(5, s.name);
                                       st.BindText(6, s.time_zone);
                                       st.BindInt(7, s.hours.open_minute);
                                       st.BindInt(8, s.hours.close_minute);
                                       st.BindInt(9, s.hours.weekdays);
                                       st.BindText(10, s.departement);
                                     }));
  return StructureId(id);
}

StatusOr<Structure> SqliteStore::ReadStructure(const Stmt& s) const {
  Structure out;
  out.id = StructureId(s.ColumnInt(0));
  auto kind = ParseStructureKind(s.ColumnText(1));
  if (!kind) return Corruption(StrCat("structure ", out.id.value(), ": unknown kind"));
  out.kind = *kind;
  if (!s.ColumnIsNull(2)) out.parent = StructureId(s.ColumnInt(2));
  out.code = std::string(s.ColumnText(3));
  out.name = std::string(s.ColumnText(4));
  out.time_zone = std::string(s.ColumnText(5));
  out.hours.open_minute = static_cast<int>(s.ColumnInt(6));
  out.hours.close_minute = static_cast<int>(s.ColumnInt(7));
  out.hours.weekdays = static_cast<uint8_t>(s.ColumnInt(8));
  out.departement = std::string(s.ColumnText(9));
  return out;
}

StatusOr<Structure> SqliteStore::GetStructure(StructureId id) {
  ScopedReset r(get_structure_);
  get_structure_.BindInt(1, id.value());
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(get_structure_, "read structure"));
  if (!row) return NotFound(StrCat("structure ", id.value(), " does not exist"));
  return ReadStructure(get_structure_);
}

StatusOr<std::optional<StructureId>> SqliteStore::FindStructureByCode(std::string_view code) {
  ScopedReset r(structure_by_code_);
  structure_by_code_.BindText(1, code);
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(structure_by_code_, "find structure"));
  if (!row) return std::optional<StructureId>();
  return std::optional<StructureId>(StructureId(structure_by_code_.ColumnInt(0)));
}

StatusOr<std::vector<Structure>> SqliteStore::ListStructures() {
  ScopedReset r(list_structures_);
  std::vector<Structure> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(list_structures_, "list structures"));
    if (!row) break;
    CLOISON_ASSIGN_OR_RETURN(Structure s, ReadStructure(list_structures_));
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<AccountId> SqliteStore::UpsertAgent(const Agent& a) {
  const std::string roles = RolesToText(a.roles);
  CLOISON_ASSIGN_OR_RETURN(int64_t id, UpsertByNaturalKey(db_, agent_by_username_, upsert_agent_, "agent username",
                                                          a.username, a.id.value(), [&](const Stmt& st) {
                                                            st.BindInt(2, a.structure.value());
                                                            st.BindText(3, a.username);
                                                            st.BindText(4, a.nom);
                                                            st.BindText(5, a.prenom);
                                                            st.BindText(6, roles);
                                                          }));
  return AccountId(id);
}

StatusOr<std::optional<AccountId>> SqliteStore::FindAgentByUsername(std::string_view username) {
  ScopedReset r(agent_by_username_);
  agent_by_username_.BindText(1, username);
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(agent_by_username_, "find agent"));
  if (!row) return std::optional<AccountId>();
  return std::optional<AccountId>(AccountId(agent_by_username_.ColumnInt(0)));
}

StatusOr<std::vector<Agent>> SqliteStore::ListAgents() {
  ScopedReset r(list_agents_);
  std::vector<Agent> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(list_agents_, "list agents"));
    if (!row) break;
    Agent a;
    a.id = AccountId(list_agents_.ColumnInt(0));
    a.structure = StructureId(list_agents_.ColumnInt(1));
    a.username = std::string(list_agents_.ColumnText(2));
    a.nom = std::string(list_agents_.ColumnText(3));
    a.prenom = std::string(list_agents_.ColumnText(4));
    std::string_view roles = list_agents_.ColumnText(5);
    while (!roles.empty()) {
      const size_t comma = roles.find(',');
      auto role = ParseRole(roles.substr(0, comma));
      if (!role) return Corruption(StrCat("agent ", a.id.value(), ": unknown role"));
      a.roles.push_back(*role);
      if (comma == std::string_view::npos) break;
      roles.remove_prefix(comma + 1);
    }
    out.push_back(std::move(a));
  }
  return out;
}

StatusOr<FormationId> SqliteStore::UpsertFormation(const Formation& f) {
  CLOISON_ASSIGN_OR_RETURN(int64_t id, UpsertByNaturalKey(db_, formation_by_code_, upsert_formation_,
                                                          "formation code", f.code, f.id.value(),
                                                          [&](const Stmt& st) {
                                                            st.BindInt(2, f.organisation.value());
                                                            st.BindText(3, f.code);
                                                            st.BindText(4, f.title);
                                                            st.BindText(5, f.domain);
                                                          }));
  return FormationId(id);
}

StatusOr<TrainingSessionId> SqliteStore::UpsertTrainingSession(const TrainingSession& s) {
  CLOISON_ASSIGN_OR_RETURN(int64_t id, UpsertByNaturalKey(db_, session_by_code_, upsert_session_,
                                                          "training session code", s.code, s.id.value(),
                                                          [&](const Stmt& st) {
                                                            st.BindInt(2, s.formation.value());
                                                            st.BindText(3, s.code);
                                                            st.BindInt(4, s.start.ToDays());
                                                            st.BindInt(5, s.end.ToDays());
                                                            st.BindText(6, s.place);
                                                          }));
  return TrainingSessionId(id);
}

StatusOr<std::vector<Formation>> SqliteStore::ListFormations() {
  ScopedReset r(list_formations_);
  std::vector<Formation> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(list_formations_, "list formations"));
    if (!row) break;
    Formation f;
    f.id = FormationId(list_formations_.ColumnInt(0));
    f.organisation = StructureId(list_formations_.ColumnInt(1));
    f.code = std::string(list_formations_.ColumnText(2));
    f.title = std::string(list_formations_.ColumnText(3));
    f.domain = std::string(list_formations_.ColumnText(4));
    out.push_back(std::move(f));
  }
  return out;
}

StatusOr<std::vector<TrainingSession>> SqliteStore::ListTrainingSessions() {
  ScopedReset r(list_sessions_);
  std::vector<TrainingSession> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(list_sessions_, "list training sessions"));
    if (!row) break;
    TrainingSession s;
    s.id = TrainingSessionId(list_sessions_.ColumnInt(0));
    s.formation = FormationId(list_sessions_.ColumnInt(1));
    s.code = std::string(list_sessions_.ColumnText(2));
    s.start = Date::FromDays(list_sessions_.ColumnInt(3));
    s.end = Date::FromDays(list_sessions_.ColumnInt(4));
    s.place = std::string(list_sessions_.ColumnText(5));
    out.push_back(std::move(s));
  }
  return out;
}

// ----------------------------------------------------------- orientations

Status SqliteStore::PutOrientations(std::span<const Orientation> orientations) {
  Txn txn(db_);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  auto bind_date = [](const Stmt& s, int i, const std::optional<Date>& d) {
    if (d) s.BindInt(i, d->ToDays()); else s.BindNull(i);
  };
  for (const Orientation& o : orientations) {
    ScopedReset r(put_orientation_);
    if (o.id.valid()) put_orientation_.BindInt(1, o.id.value()); else put_orientation_.BindNull(1);
    put_orientation_.BindInt(2, o.person.value());
    put_orientation_.BindInt(3, o.session.value());
    put_orientation_.BindInt(4, o.counsellor.value());
    put_orientation_.BindText(5, OrientationStatusName(o.status));
    put_orientation_.BindInt(6, o.proposed_on.ToDays());
    bind_date(put_orientation_, 7, o.decided_on);
    bind_date(put_orientation_, 8, o.enrolled_on);
    bind_date(put_orientation_, 9, o.ended_on);
    CLOISON_RETURN_IF_ERROR(db_.StepDone(put_orientation_, "write orientation"));
  }
  return txn.Commit();
}

Orientation SqliteStore::ReadOrientation(const Stmt& s) const {
  auto date = [&](int i) { return s.ColumnIsNull(i) ? std::optional<Date>() : Date::FromDays(s.ColumnInt(i)); };
  Orientation o;
  o.id = OrientationId(s.ColumnInt(0));
  o.person = PersonId(s.ColumnInt(1));
  o.session = TrainingSessionId(s.ColumnInt(2));
  o.counsellor = AccountId(s.ColumnInt(3));
  o.status = ParseOrientationStatus(s.ColumnText(4)).value_or(OrientationStatus::kProposed);
  o.proposed_on = Date::FromDays(s.ColumnInt(5));
  o.decided_on = date(6);
  o.enrolled_on = date(7);
  o.ended_on = date(8);
  return o;
}

StatusOr<std::vector<Orientation>> SqliteStore::OrientationsOfPerson(PersonId person) {
  ScopedReset r(orientations_of_person_);
  orientations_of_person_.BindInt(1, person.value());
  std::vector<Orientation> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(orientations_of_person_, "read orientations"));
    if (!row) break;
    out.push_back(ReadOrientation(orientations_of_person_));
  }
  return out;
}

Status SqliteStore::ForEachOrientation(const std::function<void(const Orientation&)>& fn) {
  ScopedReset r(all_orientations_);
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(all_orientations_, "read orientations"));
    if (!row) break;
    fn(ReadOrientation(all_orientations_));
  }
  return OkStatus();
}

StatusOr<OrientationId> SqliteStore::AddOrientation(const Orientation& o) {
  if (o.id.valid()) return InvalidArgument("AddOrientation: the id must be zero (the store assigns it)");
  Txn txn(db_);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  auto bind_date = [](const Stmt& s, int i, const std::optional<Date>& d) {
    if (d) s.BindInt(i, d->ToDays()); else s.BindNull(i);
  };
  int64_t id = 0;
  {
    ScopedReset r(add_orientation_);
    add_orientation_.BindInt(1, o.person.value());
    add_orientation_.BindInt(2, o.session.value());
    add_orientation_.BindInt(3, o.counsellor.value());
    add_orientation_.BindText(4, OrientationStatusName(o.status));
    add_orientation_.BindInt(5, o.proposed_on.ToDays());
    bind_date(add_orientation_, 6, o.decided_on);
    bind_date(add_orientation_, 7, o.enrolled_on);
    bind_date(add_orientation_, 8, o.ended_on);
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(add_orientation_, "add orientation"));
    if (!row) return IOError("add orientation: no id returned");
    id = add_orientation_.ColumnInt(0);
  }
  CLOISON_RETURN_IF_ERROR(txn.Commit());
  return OrientationId(id);
}

StatusOr<Orientation> SqliteStore::GetOrientation(OrientationId id) {
  ScopedReset r(get_orientation_);
  get_orientation_.BindInt(1, id.value());
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(get_orientation_, "read orientation"));
  if (!row) return NotFound(StrCat("orientation ", id.value(), " does not exist"));
  return ReadOrientation(get_orientation_);
}

StatusOr<TrainingSession> SqliteStore::GetTrainingSession(TrainingSessionId id) {
  ScopedReset r(get_session_);
  get_session_.BindInt(1, id.value());
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(get_session_, "read training session"));
  if (!row) return NotFound(StrCat("training session ", id.value(), " does not exist"));
  TrainingSession s;
  s.id = TrainingSessionId(get_session_.ColumnInt(0));
  s.formation = FormationId(get_session_.ColumnInt(1));
  s.code = std::string(get_session_.ColumnText(2));
  s.start = Date::FromDays(get_session_.ColumnInt(3));
  s.end = Date::FromDays(get_session_.ColumnInt(4));
  s.place = std::string(get_session_.ColumnText(5));
  return s;
}

StatusOr<Formation> SqliteStore::GetFormation(FormationId id) {
  ScopedReset r(get_formation_);
  get_formation_.BindInt(1, id.value());
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(get_formation_, "read formation"));
  if (!row) return NotFound(StrCat("formation ", id.value(), " does not exist"));
  Formation f;
  f.id = FormationId(get_formation_.ColumnInt(0));
  f.organisation = StructureId(get_formation_.ColumnInt(1));
  f.code = std::string(get_formation_.ColumnText(2));
  f.title = std::string(get_formation_.ColumnText(3));
  f.domain = std::string(get_formation_.ColumnText(4));
  return f;
}

// ----------------------------------------------------------------- people

void SqliteStore::ComputeTags(std::span<const Person> persons, Chunk& c) const {
  const size_t nbi = bi_fields_.size();
  const size_t rows = c.end - c.begin;
  c.tags.resize(rows * nbi * kTagSize);
  c.has_tag.assign(rows * nbi, 0);
  for (size_t r = 0; r < rows; ++r) {
    const Person& p = persons[c.begin + r];
    for (size_t slot = 0; slot < nbi; ++slot) {
      const FieldDef& def = catalog_.at(bi_fields_[slot]);
      const std::string& v = p.fields[bi_fields_[slot]];
      if (v.empty()) continue;
      std::string canon = CanonicalizeFieldValue(def, v);
      const auto tag = bi_taggers_[slot].Tag(canon);
      std::fill(canon.begin(), canon.end(), '\0');  // no plaintext copy left behind in freed memory
      std::memcpy(c.tags.data() + (r * nbi + slot) * kTagSize, tag.data(), kTagSize);
      c.has_tag[r * nbi + slot] = 1;
    }
  }
}

void SqliteStore::LayoutBlobs(std::span<const Person> persons, Chunk& c) const {
  const size_t nenc = enc_fields_.size();
  const size_t rows = c.end - c.begin;
  c.blob_off.resize(rows * nenc);
  c.blob_len.assign(rows * nenc, 0);
  size_t total = 0;
  for (size_t r = 0; r < rows; ++r) {
    const Person& p = persons[c.begin + r];
    for (size_t e = 0; e < nenc; ++e) {
      const size_t n = p.fields[enc_fields_[e]].size();
      if (n == 0) continue;
      const size_t len = kEnvelopeIndexSize + crypto::XChaCha20Poly1305::kTagSize + n;
      c.blob_off[r * nenc + e] = static_cast<uint32_t>(total);
      c.blob_len[r * nenc + e] = static_cast<uint32_t>(len);
      total += len;
    }
  }
  c.blobs.resize(total);
  c.prefixes.resize(rows * crypto::kEnvelopePrefixSize);
  c.sealed.assign(rows, 0);
}

void SqliteStore::EncryptRows(std::span<const Person> persons, Chunk& c, const crypto::Aead& aead,
                              uint32_t key_id, size_t row_begin, size_t row_end) const {
  // One envelope per person: its values are sealed together (one subkey
  // derivation, see Aead::SealEnvelope) straight into their slots.
  thread_local std::vector<std::string> ads;
  thread_local std::vector<crypto::AeadItem> items;
  const size_t nenc = enc_fields_.size();
  if (ads.size() < nenc) ads.resize(nenc);
  for (size_t r = row_begin; r < row_end; ++r) {
    const Person& p = persons[c.begin + r];
    items.clear();
    for (size_t e = 0; e < nenc; ++e) {
      const uint32_t len = c.blob_len[r * nenc + e];
      if (len == 0) continue;
      const FieldDef& def = catalog_.at(enc_fields_[e]);
      const std::string& v = p.fields[enc_fields_[e]];
      std::string& ad = ads[e];
      ad.clear();
      AppendFieldAssociatedData(PersonId(c.ids[r]), def.name, key_id, ad);
      uint8_t* slot = c.blobs.data() + c.blob_off[r * nenc + e];
      // LayoutBlobs sized the slot as index + value + tag. Open checked
      // that a person has at most 256 sensitive fields.
      slot[0] = static_cast<uint8_t>(items.size());
      items.push_back({crypto::AsBytes(v), crypto::AsBytes(ad), slot + kEnvelopeIndexSize});
    }
    const std::span<uint8_t, crypto::kEnvelopePrefixSize> prefix(
        c.prefixes.data() + r * crypto::kEnvelopePrefixSize, crypto::kEnvelopePrefixSize);
    c.sealed[r] = aead.SealEnvelope(items, prefix).ok() ? 1 : 0;
  }
}

StatusOr<bool> SqliteStore::PersonExists(int64_t id) {
  ScopedReset r(person_exists_);
  person_exists_.BindInt(1, id);
  return db_.StepRow(person_exists_, "read person");
}

// The id of the person holding `tag` in unique slot `slot`, as the table
// will be once this call's earlier people are written; 0 if none.
StatusOr<int64_t> SqliteStore::LookupUnique(size_t slot, const uint8_t* tag) {
  const uint64_t key = UniqueKey(slot, tag);
  // One probe of the map ResolveChunk fills as it assigns: call_map_ holds
  // this call's tags; in a bulk load bulk_map_ holds every tag written since
  // the load began, this call's included. 1. People assigned earlier in this
  // call: their overlay tags are current, and win. 2. The others are the
  // table's; an id in the overlay is being rewritten by this call, and
  // step 1 showed its new values do not hold the tag.
  const PrefixMap& map = UniqueMap();
  absl::InlinedVector<int64_t, 8> candidates;  // table ids sharing the key's prefix
  int64_t found = 0;
  map.ForEach(key, [&](int64_t id) {
    if (found != 0) return;
    if (const uint8_t* o = OverlayTags(id)) {
      if (SameTag(o, slot, tag)) found = id;
    } else {
      candidates.push_back(id);
    }
  });
  if (found != 0) return found;
  if (bulk_deferred_) {
    // The blind-index tables are not built yet: check each candidate's row.
    for (int64_t id : candidates) {
      ScopedReset r(person_tags_by_id_);
      person_tags_by_id_.BindInt(1, id);
      CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(person_tags_by_id_, "read blind index"));
      if (!row) continue;  // stale entry from a rolled-back batch
      auto stored = person_tags_by_id_.ColumnBlob(static_cast<int>(slot));
      if (stored.size() == kTagSize && std::memcmp(stored.data(), tag, kTagSize) == 0) return id;
    }
    return 0;
  }
  // 2. The table (its blind-index tables are current outside bulk loads).
  const Stmt& s = find_by_tag_[slot];
  ScopedReset r(s);
  s.BindBlob(1, std::span<const uint8_t>(tag, kTagSize));
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "find by blind index"));
    if (!row) return 0;
    const int64_t id = s.ColumnInt(0);
    if (!OverlayTags(id)) return id;
  }
}

Status SqliteStore::ResolveChunk(std::span<const Person> persons, Chunk& c, UpsertResult& result) {
  const size_t nbi = bi_fields_.size();
  const size_t rows = c.end - c.begin;
  const size_t entry_size = nbi * (kTagSize + 1);
  c.ids.resize(rows);
  // The bulk map's slots for a few rows ahead are fetched while this row is
  // resolved, so that their cache misses overlap.
  constexpr size_t kPrefetchAhead = 4;
  auto prefetch = [&](size_t r) {
    if (!bulk_deferred_ || r >= rows) return;
    for (size_t slot : unique_slots_)
      if (c.has_tag[r * nbi + slot]) bulk_map_.Prefetch(UniqueKey(slot, c.tags.data() + (r * nbi + slot) * kTagSize));
  };
  for (size_t r = 0; r < kPrefetchAhead; ++r) prefetch(r);
  for (size_t r = 0; r < rows; ++r) {
    prefetch(r + kPrefetchAhead);
    const Person& p = persons[c.begin + r];
    const uint8_t* tags = c.tags.data() + r * nbi * kTagSize;
    const uint8_t* has = c.has_tag.data() + r * nbi;
    int64_t match = 0;
    size_t match_slot = 0;
    for (size_t slot : unique_slots_) {
      if (!has[slot]) continue;
      CLOISON_ASSIGN_OR_RETURN(int64_t id, LookupUnique(slot, tags + slot * kTagSize));
      if (id == 0) continue;
      if (p.id.valid() && id != p.id.value())
        return InvalidArgument(StrCat("person ", p.id.value(), ": unique field '",
                                      catalog_.at(bi_fields_[slot]).name, "' already belongs to another person"));
      if (match != 0 && id != match)
        return InvalidArgument(StrCat("person at position ", c.begin + r, ": unique fields '",
                                      catalog_.at(bi_fields_[match_slot]).name, "' and '",
                                      catalog_.at(bi_fields_[slot]).name, "' match different people"));
      if (match == 0) {
        match = id;
        match_slot = slot;
      }
    }
    int64_t id = 0;
    bool update = false;
    if (p.id.valid()) {
      id = p.id.value();
      if (OverlayTags(id)) {
        update = true;
      } else if (id <= table_max_id_) {
        CLOISON_ASSIGN_OR_RETURN(update, PersonExists(id));
      }
      next_id_ = std::max(next_id_, id + 1);
    } else if (match != 0) {
      id = match;
      update = true;
    } else {
      id = next_id_++;
    }
    c.ids[r] = id;
    result.ids.emplace_back(id);
    ++(update ? result.updated : result.inserted);
    if (bulk_deferred_) {
      if (update) {
        bulk_exact_ = false;  // its earlier entries are stale: the build will scan
      } else if (bulk_exact_) {
        for (size_t slot = 0; slot < nbi; ++slot) {
          if (!has[slot]) continue;
          internal::BlindEntry& e = bulk_entries_[slot].emplace_back();
          std::memcpy(e.tag, tags + slot * kTagSize, kTagSize);
          e.person_id = id;
        }
      }
    }

    // Record the person's new tags as authoritative for the rest of the call.
    auto [it, inserted] = overlay_index_.try_emplace(id, static_cast<uint32_t>(overlay_.size()));
    if (inserted) overlay_.resize(overlay_.size() + entry_size);
    uint8_t* o = overlay_.data() + it->second;
    for (size_t slot = 0; slot < nbi; ++slot) {
      o[slot * (kTagSize + 1)] = has[slot];
      std::memcpy(o + slot * (kTagSize + 1) + 1, tags + slot * kTagSize, kTagSize);
    }
    for (size_t slot : unique_slots_) {
      if (!has[slot]) continue;
      const uint64_t key = UniqueKey(slot, tags + slot * kTagSize);
      UniqueMap().Insert(key, id);
    }
  }
  return OkStatus();
}

Status SqliteStore::WriteChunk(std::span<const Person> persons, const Chunk& c, uint32_t key_id) {
  const size_t nbi = bi_fields_.size();
  const size_t nenc = enc_fields_.size();
  const size_t rows = c.end - c.begin;
  const int64_t now = clock_.NowMicros();
  const Stmt& s = upsert_person_;
  for (size_t r = 0; r < rows; ++r) {
    const Person& p = persons[c.begin + r];
    ScopedReset reset(s);
    s.BindInt(1, c.ids[r]);
    s.BindInt(2, p.referent_structure.value());
    if (p.referent_counsellor && p.referent_counsellor->valid()) s.BindInt(3, p.referent_counsellor->value());
    else s.BindNull(3);
    scratch_.clear();
    AppendIdList(p.other_structures, scratch_);
    s.BindTextOrNull(4, scratch_);
    if (!c.sealed[r]) return Internal(StrCat("the encrypted values of person ", c.ids[r], " could not be sealed"));
    s.BindInt(5, key_id);
    s.BindInt(6, now);
    s.BindBlob(7, std::span<const uint8_t>(c.prefixes.data() + r * crypto::kEnvelopePrefixSize,
                                           crypto::kEnvelopePrefixSize));
    int col = 8;
    size_t e = 0;
    for (size_t f = 0; f < catalog_.size(); ++f, ++col) {
      if (catalog_.at(f).encrypted()) {
        const uint32_t len = c.blob_len[r * nenc + e];
        if (len == 0) s.BindNull(col);
        else s.BindBlob(col, std::span<const uint8_t>(c.blobs.data() + c.blob_off[r * nenc + e], len));
        ++e;
      } else {
        s.BindTextOrNull(col, p.fields[f]);
      }
    }
    for (size_t slot = 0; slot < nbi; ++slot, ++col) {
      if (c.has_tag[r * nbi + slot]) s.BindBlob(col, std::span<const uint8_t>(c.tags.data() + (r * nbi + slot) * kTagSize, kTagSize));
      else s.BindNull(col);
    }
    CLOISON_RETURN_IF_ERROR(db_.StepDone(s, "write person"));
  }
  return OkStatus();
}

// The batch runs as a two-thread pipeline over chunks of kChunkSize people:
//   worker: T(i) blind-index tags   E(i) encryption (needs the ids)
//   caller: R(i) resolve ids        W(i) write rows
// in the order T0 T1 R0 E0 T2 R1 W0 E1 ... so that the caller writes chunk
// i-1 while the worker encrypts chunk i. The caller owns the SQLite
// connection; the worker touches only the chunk buffers it is handed.
StatusOr<UpsertResult> SqliteStore::UpsertPersons(std::span<const Person> persons) {
  for (size_t i = 0; i < persons.size(); ++i)
    if (persons[i].fields.size() != catalog_.size())
      return InvalidArgument(StrCat("person at position ", i, " has ", persons[i].fields.size(),
                                    " fields; the catalog has ", catalog_.size()));
  UpsertResult result;
  if (persons.empty()) return result;
  result.ids.reserve(persons.size());

  // At the first batch, not at open: one-row writes before it (network
  // upserts outside RunInTransaction: one autocommit each) are cheaper in
  // WAL mode than with a journal created and truncated for each.
  if (bulk_deferred_ && !bulk_journal_tried_) {
    bulk_journal_tried_ = true;
    CLOISON_RETURN_IF_ERROR(UseRollbackJournalForBulkLoad());
  }
  Txn txn(db_);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  CLOISON_RETURN_IF_ERROR(SyncActiveKey());
  {
    ScopedReset r(max_person_id_);
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(max_person_id_, "read max person id"));
    table_max_id_ = row ? max_person_id_.ColumnInt(0) : 0;
    next_id_ = table_max_id_ + 1;
  }
  call_map_.Clear();
  overlay_index_.clear();
  overlay_index_.reserve(persons.size());
  overlay_.clear();
  std::vector<size_t> entries_before;
  for (const auto& v : bulk_entries_) entries_before.push_back(v.size());

  const size_t n = (persons.size() + kChunkSize - 1) / kChunkSize;
  if (chunks_.size() < std::min<size_t>(n, 4)) chunks_.resize(std::min<size_t>(n, 4));
  // Chunk i uses buffer i % 4: at most T(i+2), E(i+1)/R(i+1), W(i) are live.
  auto chunk = [&](size_t i) -> Chunk& { return chunks_[i % chunks_.size()]; };
  const std::shared_ptr<const crypto::KeyRing> ring = ring_;
  const crypto::Aead& aead = ring->active();
  const uint32_t key_id = ring->active_id();
  const bool threaded = n > 1;
  std::vector<std::future<void>> tag_done(n), enc_task(n);
  std::vector<std::unique_ptr<RowJob>> enc_job(n);
  auto submit_tags = [&](size_t i) {
    Chunk& c = chunk(i);
    c.begin = i * kChunkSize;
    c.end = std::min(persons.size(), c.begin + kChunkSize);
    if (threaded) {
      tag_done[i] = worker_.Submit([this, persons, &c] { ComputeTags(persons, c); });
    } else {
      ComputeTags(persons, c);
    }
  };
  Status status;
  submit_tags(0);
  if (n > 1) submit_tags(1);
  for (size_t i = 0; i < n; ++i) {
    if (tag_done[i].valid()) tag_done[i].get();
    Chunk& c = chunk(i);
    status = ResolveChunk(persons, c, result);
    if (!status.ok()) break;
    LayoutBlobs(persons, c);
    enc_job[i] = std::make_unique<RowJob>();
    RowJob* job = enc_job[i].get();
    job->rows = c.end - c.begin;
    job->fn = [this, persons, &c, &aead, key_id](size_t b, size_t e) {
      EncryptRows(persons, c, aead, key_id, b, e);
    };
    if (threaded) enc_task[i] = worker_.Submit([job] { job->Work(); });
    if (i + 2 < n) submit_tags(i + 2);
    if (i > 0) {
      status = WriteChunk(persons, chunk(i - 1), key_id);
      if (!status.ok()) break;
    }
    job->WorkAndWait();
  }
  if (status.ok()) status = WriteChunk(persons, chunk(n - 1), key_id);
  // Never return while the worker may still touch the chunks, the jobs or `persons`.
  for (auto& f : tag_done)
    if (f.valid()) f.wait();
  for (auto& f : enc_task)
    if (f.valid()) f.wait();
  call_map_.Clear();
  overlay_index_.clear();
  overlay_.clear();
  if (status.ok()) status = txn.Commit();
  if (bulk_deferred_) {
    if (status.ok()) {
      bulk_written_ += result.inserted;
    } else {
      // Rolled back: forget this call's entries.
      for (size_t slot = 0; slot < bulk_entries_.size(); ++slot) bulk_entries_[slot].resize(entries_before[slot]);
    }
  }
  CLOISON_RETURN_IF_ERROR(status);
  return result;
}

StatusOr<const crypto::Aead*> SqliteStore::DataKey(PersonId id, uint32_t key_id) {
  const crypto::Aead* aead = ring_->Find(key_id);
  if (!aead) {
    // Not on the hot path: only the first read after a rotation elsewhere
    // (or a damaged row) gets here. The caller's blobs stay valid: they
    // belong to its statement, which is neither stepped nor reset by the
    // reload.
    CLOISON_RETURN_IF_ERROR(RefreshKeyRing());
    aead = ring_->Find(key_id);
  }
  if (!aead) return Corruption(StrCat("person ", id.value(), ": unknown key id ", key_id));
  return aead;
}

StatusOr<std::string> SqliteStore::Decrypt(PersonId id, const FieldDef& def, std::span<const uint8_t> blob,
                                           const RowSeal& seal) {
  if (seal.envelope) {
    const FieldDef* defs[] = {&def};
    const std::span<const uint8_t> blobs[] = {blob};
    CLOISON_ASSIGN_OR_RETURN(std::vector<std::string> v, OpenEnvelopeValues(id, seal, defs, blobs));
    return std::move(v[0]);
  }
  auto key_id = BlobKeyId(blob);
  if (!key_id.ok())
    return Corruption(StrCat("person ", id.value(), " field '", def.name, "': ", MessageOf(key_id.status())));
  auto aead = DataKey(id, *key_id);
  if (!aead.ok()) {
    if (!IsCorruption(aead.status())) return aead.status();  // the ring's reload failed
    return Corruption(StrCat("person ", id.value(), " field '", def.name, "': unknown key id ", *key_id));
  }
  std::string ad;
  AppendFieldAssociatedData(id, def.name, *key_id, ad);
  auto pt = (*aead)->Decrypt(blob.subspan(kKeyIdPrefixSize), crypto::AsBytes(ad));
  if (!pt.ok())
    return Corruption(StrCat("person ", id.value(), " field '", def.name, "': ", MessageOf(pt.status())));
  return pt;
}

StatusOr<std::vector<std::string>> SqliteStore::OpenEnvelopeValues(PersonId id, const RowSeal& seal,
                                                                   std::span<const FieldDef* const> defs,
                                                                   std::span<const std::span<const uint8_t>> blobs) {
  if (seal.prefix.size() != crypto::kEnvelopePrefixSize)
    return Corruption(StrCat("person ", id.value(), ": nonce prefix is ", seal.prefix.size(), " bytes, not ",
                             crypto::kEnvelopePrefixSize));
  CLOISON_ASSIGN_OR_RETURN(const crypto::Aead* aead, DataKey(id, seal.key_id));
  // Every value's associated data back to back in one buffer (one
  // allocation per read, not one per field); items point into it once it
  // is complete.
  std::string ads;
  ads.reserve(defs.size() * 40);
  absl::InlinedVector<size_t, 16> ad_end;
  absl::InlinedVector<crypto::EnvelopeOpenItem, 16> items(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    auto index = EnvelopeIndex(blobs[i]);
    if (!index.ok())
      return Corruption(StrCat("person ", id.value(), " field '", defs[i]->name, "': ", MessageOf(index.status())));
    AppendFieldAssociatedData(id, defs[i]->name, seal.key_id, ads);
    ad_end.push_back(ads.size());
    items[i].ciphertext = blobs[i].subspan(kEnvelopeIndexSize);
    items[i].index = *index;
  }
  for (size_t i = 0, start = 0; i < defs.size(); start = ad_end[i], ++i)
    items[i].associated_data = crypto::AsBytes(std::string_view(ads).substr(start, ad_end[i] - start));
  std::vector<StatusOr<std::string>> opened = aead->OpenEnvelope(
      items, std::span<const uint8_t, crypto::kEnvelopePrefixSize>(seal.prefix.data(), crypto::kEnvelopePrefixSize));
  std::vector<std::string> out(defs.size());
  for (size_t i = 0; i < defs.size(); ++i) {
    if (!opened[i].ok())
      return Corruption(StrCat("person ", id.value(), " field '", defs[i]->name, "': ", MessageOf(opened[i].status())));
    out[i] = std::move(*opened[i]);
  }
  return out;
}

StatusOr<Person> SqliteStore::GetPerson(PersonId id, const FieldMask& mask) {
  // Columns: referent_structure_id, referent_counsellor_id, other_structures,
  // key_id, nonce_prefix, then the catalog's fields.
  constexpr int kFirstField = 5;
  db_.JoinReadBatch();  // a no-op outside BeginReadBatch
  const Stmt& s = get_person_;
  ScopedReset r(s);
  s.BindInt(1, id.value());
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "read person"));
  if (!row) return NotFound(StrCat("person ", id.value(), " does not exist"));
  Person p;
  p.id = id;
  p.referent_structure = StructureId(s.ColumnInt(0));
  if (!s.ColumnIsNull(1)) p.referent_counsellor = AccountId(s.ColumnInt(1));
  p.other_structures = ParseIdList(s.ColumnText(2));
  p.fields.resize(catalog_.size());
  const RowSeal seal{static_cast<uint32_t>(s.ColumnInt(3)), !s.ColumnIsNull(4), s.ColumnBlob(4)};
  absl::InlinedVector<size_t, 16> sealed;
  std::optional<uint32_t> one_key;
  bool mixed_keys = false;
  for (size_t f = 0; f < catalog_.size(); ++f) {
    if (!mask.has(f)) continue;
    const int col = static_cast<int>(kFirstField + f);
    if (s.ColumnIsNull(col)) continue;
    const FieldDef& def = catalog_.at(f);
    if (def.encrypted()) {
      if (!seal.envelope) {
        auto key_id = BlobKeyId(s.ColumnBlob(col));
        if (!key_id.ok() || (one_key && *one_key != *key_id)) mixed_keys = true;
        else one_key = *key_id;
      }
      sealed.push_back(f);
    } else {
      p.fields[f] = std::string(s.ColumnText(col));
    }
  }
  if (sealed.empty()) return p;
  if (seal.envelope) {
    // One envelope per person: one subkey derivation for all its values.
    absl::InlinedVector<const FieldDef*, 16> defs;
    absl::InlinedVector<std::span<const uint8_t>, 16> blobs;
    for (size_t f : sealed) {
      defs.push_back(&catalog_.at(f));
      blobs.push_back(s.ColumnBlob(static_cast<int>(kFirstField + f)));
    }
    CLOISON_ASSIGN_OR_RETURN(std::vector<std::string> values, OpenEnvelopeValues(id, seal, defs, blobs));
    for (size_t i = 0; i < sealed.size(); ++i) p.fields[sealed[i]] = std::move(values[i]);
    return p;
  }
  // A legacy row: its values are opened together when they are under one
  // key (always, outside a rotation in progress): written together, they
  // share a nonce prefix, so XChaCha20's subkey is derived once.
  const crypto::Aead* aead = one_key && !mixed_keys ? ring_->Find(*one_key) : nullptr;
  if (aead == nullptr || sealed.size() < 2) {
    // A rotation half done, an unknown key or a damaged blob: one by one,
    // with Decrypt's own reload and messages.
    for (size_t f : sealed) {
      CLOISON_ASSIGN_OR_RETURN(p.fields[f],
                               Decrypt(id, catalog_.at(f), s.ColumnBlob(static_cast<int>(kFirstField + f)), seal));
    }
    return p;
  }
  std::vector<std::string> ads(sealed.size());
  std::vector<crypto::AeadOpenItem> items(sealed.size());
  for (size_t i = 0; i < sealed.size(); ++i) {
    AppendFieldAssociatedData(id, catalog_.at(sealed[i]).name, *one_key, ads[i]);
    items[i] = {s.ColumnBlob(static_cast<int>(kFirstField + sealed[i])).subspan(kKeyIdPrefixSize),
                crypto::AsBytes(ads[i])};
  }
  std::vector<StatusOr<std::string>> opened = aead->DecryptGroup(items);
  for (size_t i = 0; i < sealed.size(); ++i) {
    if (!opened[i].ok())
      return Corruption(StrCat("person ", id.value(), " field '", catalog_.at(sealed[i]).name, "': ",
                               MessageOf(opened[i].status())));
    p.fields[sealed[i]] = std::move(*opened[i]);
  }
  return p;
}

StatusOr<std::vector<PersonId>> SqliteStore::FindPersons(std::string_view field, std::string_view value) {
  const auto index = catalog_.IndexOf(field);
  if (!index) return InvalidArgument(StrCat("unknown field '", field, "'"));
  const int slot = bi_slot_of_[*index];
  if (slot < 0) return InvalidArgument(StrCat("field '", field, "' has no blind index"));
  const FieldDef& def = catalog_.at(*index);
  std::string canon = CanonicalizeFieldValue(def, value);
  const auto tag = bi_taggers_[static_cast<size_t>(slot)].Tag(canon);
  std::fill(canon.begin(), canon.end(), '\0');
  const Stmt& s = (bulk_deferred_ ? find_by_column_ : find_by_tag_)[static_cast<size_t>(slot)];
  ScopedReset r(s);
  s.BindBlob(1, tag);
  std::vector<PersonId> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "find by blind index"));
    if (!row) break;
    out.emplace_back(s.ColumnInt(0));
  }
  return out;
}

Status SqliteStore::ForEachPersonRelation(
    const std::function<void(PersonId, StructureId, std::optional<AccountId>)>& fn) {
  const Stmt& s = person_relations_;
  ScopedReset r(s);
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "read person relations"));
    if (!row) break;
    std::optional<AccountId> counsellor;
    if (!s.ColumnIsNull(2)) counsellor = AccountId(s.ColumnInt(2));
    fn(PersonId(s.ColumnInt(0)), StructureId(s.ColumnInt(1)), counsellor);
  }
  return OkStatus();
}

// ----------------------------------------------------------------- decoys

Status SqliteStore::MarkDecoys(std::span<const PersonId> persons) {
  Txn txn(db_);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  CLOISON_ASSIGN_OR_RETURN(Stmt exists, db_.Prepare("SELECT 1 FROM persons WHERE id = ?", "check decoy"));
  CLOISON_ASSIGN_OR_RETURN(
      Stmt ins, db_.Prepare("INSERT OR IGNORE INTO decoys(person_id, planted_at) VALUES(?, ?)", "mark decoy"));
  const int64_t now = clock_.NowMicros();
  for (PersonId p : persons) {
    sqlite3_reset(exists.get());
    exists.BindInt(1, p.value());
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(exists, "check decoy"));
    if (!row) return InvalidArgument(StrCat("decoy ", p.value(), " is not a person of this store"));
    sqlite3_reset(ins.get());
    ins.BindInt(1, p.value());
    ins.BindInt(2, now);
    CLOISON_RETURN_IF_ERROR(db_.StepDone(ins, "mark decoy"));
  }
  return txn.Commit();
}

StatusOr<std::vector<PersonId>> SqliteStore::ListDecoys() {
  CLOISON_ASSIGN_OR_RETURN(Stmt s, db_.Prepare("SELECT person_id FROM decoys ORDER BY person_id", "list decoys"));
  std::vector<PersonId> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "list decoys"));
    if (!row) break;
    out.emplace_back(s.ColumnInt(0));
  }
  return out;
}

// ------------------------------------------------------------------- keys

StatusOr<uint32_t> SqliteStore::AddKeyAndActivate() {
  Txn txn(db_);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  uint32_t active = 0;
  CLOISON_ASSIGN_OR_RETURN(auto keys, LoadKeys(active));
  uint32_t new_id = 1;
  for (const auto& k : keys) new_id = std::max(new_id, k.key_id + 1);
  keys.push_back(crypto::KeyRing::NewWrappedKey(master_, new_id));
  // Build the new ring before writing anything: a failure leaves the store as it was.
  CLOISON_ASSIGN_OR_RETURN(crypto::KeyRing ring, crypto::KeyRing::Open(master_, keys, new_id));
  CLOISON_ASSIGN_OR_RETURN(Stmt ins, db_.Prepare("INSERT INTO keys(key_id, wrapped, created_at, active) "
                                                 "VALUES(?, ?, ?, 0)",
                                                 "write key"));
  ins.BindInt(1, new_id);
  ins.BindBlob(2, keys.back().wrapped);
  ins.BindInt(3, clock_.NowMicros());
  CLOISON_RETURN_IF_ERROR(db_.StepDone(ins, "write key"));
  CLOISON_RETURN_IF_ERROR(db_.Exec(StrCat("UPDATE keys SET active = (key_id = ", new_id, ")"), "activate key"));
  CLOISON_RETURN_IF_ERROR(txn.Commit());
  ring_ = std::make_shared<const crypto::KeyRing>(std::move(ring));
  return new_id;
}

StatusOr<int64_t> SqliteStore::ReencryptBatch(int64_t max_persons) {
  if (max_persons <= 0) return InvalidArgument("ReencryptBatch needs a positive batch size");
  Txn txn(db_);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  // Another process may have rotated again since this one's AddKeyAndActivate.
  CLOISON_RETURN_IF_ERROR(SyncActiveKey());
  const std::shared_ptr<const crypto::KeyRing> ring = ring_;
  const uint32_t active = ring->active_id();
  std::vector<int64_t> ids;
  {
    ScopedReset r(stale_persons_);
    stale_persons_.BindInt(1, active);
    stale_persons_.BindInt(2, max_persons);
    for (;;) {
      CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(stale_persons_, "find people to re-encrypt"));
      if (!row) break;
      ids.push_back(stale_persons_.ColumnInt(0));
    }
  }
  const size_t nenc = enc_fields_.size();
  std::vector<std::string> pts(nenc);
  std::vector<uint8_t> present(nenc);
  std::vector<std::string> ads(nenc);
  std::vector<std::pair<size_t, size_t>> spans(nenc);
  std::vector<uint8_t> blobs;
  std::vector<crypto::AeadItem> items;
  std::array<uint8_t, crypto::kEnvelopePrefixSize> prefix{};
  const crypto::Aead& aead = ring->active();
  for (int64_t id : ids) {
    {
      ScopedReset r(get_encrypted_);
      get_encrypted_.BindInt(1, id);
      CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(get_encrypted_, "read person"));
      if (!row) continue;
      const RowSeal seal{static_cast<uint32_t>(get_encrypted_.ColumnInt(0)), !get_encrypted_.ColumnIsNull(1),
                         get_encrypted_.ColumnBlob(1)};
      for (size_t e = 0; e < nenc; ++e) {
        present[e] = 0;
        const int col = static_cast<int>(2 + e);
        if (get_encrypted_.ColumnIsNull(col)) continue;
        CLOISON_ASSIGN_OR_RETURN(pts[e], Decrypt(PersonId(id), catalog_.at(enc_fields_[e]),
                                                 get_encrypted_.ColumnBlob(col), seal));
        present[e] = 1;
      }
    }
    // The row becomes one envelope under the active key (a legacy row is
    // converted on the way).
    size_t total = 0;
    for (size_t e = 0; e < nenc; ++e) {
      spans[e] = {total, present[e] ? kEnvelopeIndexSize + pts[e].size() + crypto::XChaCha20Poly1305::kTagSize : 0};
      total += spans[e].second;
    }
    blobs.assign(total, 0);
    items.clear();
    for (size_t e = 0; e < nenc; ++e) {
      if (!present[e]) continue;
      ads[e].clear();
      AppendFieldAssociatedData(PersonId(id), catalog_.at(enc_fields_[e]).name, active, ads[e]);
      uint8_t* slot = blobs.data() + spans[e].first;
      slot[0] = static_cast<uint8_t>(items.size());
      items.push_back({crypto::AsBytes(pts[e]), crypto::AsBytes(ads[e]), slot + kEnvelopeIndexSize});
    }
    const Status sealed = aead.SealEnvelope(items, prefix);
    for (std::string& pt : pts) std::fill(pt.begin(), pt.end(), '\0');
    CLOISON_RETURN_IF_ERROR(sealed);
    ScopedReset r(update_encrypted_);
    for (size_t e = 0; e < nenc; ++e) {
      if (spans[e].second == 0) update_encrypted_.BindNull(static_cast<int>(e + 1));
      else update_encrypted_.BindBlob(static_cast<int>(e + 1),
                                      std::span<const uint8_t>(blobs.data() + spans[e].first, spans[e].second));
    }
    update_encrypted_.BindInt(static_cast<int>(nenc + 1), active);
    update_encrypted_.BindBlob(static_cast<int>(nenc + 2), prefix);
    update_encrypted_.BindInt(static_cast<int>(nenc + 3), id);
    CLOISON_RETURN_IF_ERROR(db_.StepDone(update_encrypted_, "re-encrypt person"));
  }
  int64_t remaining = 0;
  {
    ScopedReset r(count_stale_);
    count_stale_.BindInt(1, active);
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(count_stale_, "count people to re-encrypt"));
    if (row) remaining = count_stale_.ColumnInt(0);
  }
  CLOISON_RETURN_IF_ERROR(txn.Commit());
  return remaining;
}

StatusOr<StoreStats> SqliteStore::Stats() {
  StoreStats st;
  CLOISON_ASSIGN_OR_RETURN(st.structures, db_.QueryInt("SELECT count(*) FROM structures", "count structures"));
  CLOISON_ASSIGN_OR_RETURN(st.agents, db_.QueryInt("SELECT count(*) FROM agents", "count agents"));
  CLOISON_ASSIGN_OR_RETURN(st.persons, db_.QueryInt("SELECT count(*) FROM persons", "count persons"));
  CLOISON_ASSIGN_OR_RETURN(st.decoys, db_.QueryInt("SELECT count(*) FROM decoys", "count decoys"));
  st.persons -= st.decoys;
  CLOISON_ASSIGN_OR_RETURN(st.formations, db_.QueryInt("SELECT count(*) FROM formations", "count formations"));
  CLOISON_ASSIGN_OR_RETURN(st.training_sessions,
                           db_.QueryInt("SELECT count(*) FROM training_sessions", "count training sessions"));
  CLOISON_ASSIGN_OR_RETURN(st.orientations, db_.QueryInt("SELECT count(*) FROM orientations", "count orientations"));
  CLOISON_ASSIGN_OR_RETURN(int64_t version, db_.QueryInt("PRAGMA user_version", "read schema version"));
  st.schema_version = static_cast<int>(version);
  CLOISON_RETURN_IF_ERROR(RefreshKeyRing());  // report what the database says, not this process's memory
  st.active_key_id = ring_->active_id();
  if (!enc_fields_.empty()) {
    // Read from each value's own layout, so this reports what is on disk:
    // an envelope row's values are under the row's key, a legacy value
    // under the key id in its first 4 bytes.
    // One scan, counted here: a GROUP BY over every value (14 M for 1.6 M
    // people) went through SQLite's sorter and took half a minute.
    std::string sql = "SELECT key_id, nonce_prefix IS NOT NULL";
    for (size_t e = 0; e < enc_fields_.size(); ++e)
      sql += StrCat(", substr(\"", internal::ValueColumn(catalog_.at(enc_fields_[e])), "\", 1, 4)");
    sql += " FROM persons";
    CLOISON_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(sql, "count values per key"));
    std::map<uint32_t, int64_t> per_key;
    for (;;) {
      CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "count values per key"));
      if (!row) break;
      const uint32_t row_key = static_cast<uint32_t>(s.ColumnInt(0));
      const bool envelope = s.ColumnInt(1) != 0;
      for (size_t e = 0; e < enc_fields_.size(); ++e) {
        const int col = static_cast<int>(2 + e);
        if (s.ColumnIsNull(col)) continue;
        if (envelope) {
          ++per_key[row_key];
          continue;
        }
        auto k = s.ColumnBlob(col);
        if (k.size() != kKeyIdPrefixSize) return Corruption("encrypted value is too short");
        ++per_key[(uint32_t{k[0]} << 24) | (uint32_t{k[1]} << 16) | (uint32_t{k[2]} << 8) | uint32_t{k[3]}];
      }
    }
    for (const auto& [id, count] : per_key) st.values_per_key.emplace_back(id, count);
  }
  return st;
}

Status SqliteStore::BuildPersonIndexes() { return internal::CreatePersonIndexes(db_, catalog_); }

Status SqliteStore::BuildBlindIndexesAfterBulkLoad() {
  CLOISON_ASSIGN_OR_RETURN(int64_t rows, db_.QueryInt("SELECT count(*) FROM persons", "count persons"));
  // Another connection may have written people meanwhile (nothing stops it):
  // then only a scan sees them.
  if (!bulk_exact_ || rows != bulk_written_ || bi_fields_.empty()) {
    std::vector<std::vector<internal::BlindEntry>>().swap(bulk_entries_);
    bulk_exact_ = false;  // from now on (a retry, more writes) the build scans
    return BuildPersonIndexes();
  }
  std::vector<const FieldDef*> fields;
  for (size_t f : bi_fields_) fields.push_back(&catalog_.at(f));
  Txn txn(db_);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  // The entries are consumed (sorted, then freed) by the fill: a failure
  // falls back to the scan next time.
  Status filled = internal::FillBlindTables(db_, fields, bulk_entries_);
  std::vector<std::vector<internal::BlindEntry>>().swap(bulk_entries_);
  bulk_exact_ = false;
  CLOISON_RETURN_IF_ERROR(filled);
  CLOISON_RETURN_IF_ERROR(txn.Commit());
  return BuildPersonIndexes();  // the key_id index, and nothing else to rebuild
}

Status SqliteStore::RefillBulkMap() {
  bulk_map_.Release();
  if (unique_slots_.empty()) return OkStatus();
  std::string cols;
  for (size_t slot : unique_slots_) cols += StrCat(", \"", internal::BlindColumn(catalog_.at(bi_fields_[slot])), "\"");
  CLOISON_ASSIGN_OR_RETURN(Stmt scan, db_.Prepare(StrCat("SELECT id", cols, " FROM persons"), "read blind index"));
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(scan, "read blind index"));
    if (!row) break;
    for (size_t u = 0; u < unique_slots_.size(); ++u) {
      auto tag = scan.ColumnBlob(static_cast<int>(u + 1));
      if (tag.size() != kTagSize) continue;
      bulk_map_.Insert(TagPrefix(tag.data()) ^ (unique_slots_[u] * 0x9e3779b97f4a7c15ULL), scan.ColumnInt(0));
    }
  }
  return OkStatus();
}

Status SqliteStore::SetJournalMode(std::string_view mode) {
  CLOISON_ASSIGN_OR_RETURN(Stmt s, db_.Prepare(StrCat("PRAGMA journal_mode=", mode), "set journal mode"));
  CLOISON_ASSIGN_OR_RETURN(bool row, db_.StepRow(s, "set journal mode"));
  if (!row || s.ColumnText(0) != mode)
    return IOError(StrCat("cannot set journal mode ", mode, " on ", options_.path,
                          " (another connection has it open?)"));
  return OkStatus();
}

Status SqliteStore::UseRollbackJournalForBulkLoad() {
  // In WAL mode every page of a load is written twice (to the WAL, then by
  // checkpoints to the database): for 1.6 M people, 1.4 GB more to copy and
  // 2 s of CPU. With a rollback journal the pages go to the database once,
  // and the journal holds only the few pages that existed before each
  // transaction (appends touch the last leaf and interior pages). A process
  // that dies mid-load leaves a hot journal that the next open rolls back,
  // as the WAL would have been; as before, synchronous=OFF means an OS crash
  // can lose or damage the load. The switch needs the database to itself: if
  // another connection (a running server) has it open, the load stays in WAL
  // mode, unchanged.
  Status st = SetJournalMode("truncate");
  if (!st.ok()) {
    CLOISON_RETURN_IF_ERROR(SetJournalMode("wal"));  // still WAL; make sure
    return OkStatus();
  }
  bulk_rollback_journal_ = true;
  return OkStatus();
}

Status SqliteStore::FinishBulkLoad() {
  if (!options_.bulk) return OkStatus();
  if (bulk_deferred_) {
    // The tables are built from the persons rows; the in-memory uniqueness
    // map is not needed for that, so it is freed first (lower peak memory).
    // A failed build keeps bulk mode, and the map is rebuilt from the table.
    bulk_map_.Release();
    Status built = BuildBlindIndexesAfterBulkLoad();
    if (!built.ok()) {
      CLOISON_RETURN_IF_ERROR(RefillBulkMap());
      return built;
    }
    bulk_deferred_ = false;
    CLOISON_RETURN_IF_ERROR(db_.Exec(StrCat("PRAGMA cache_size=-", options_.cache_mib * 1024), "configure database"));
  }
  if (bulk_rollback_journal_) {
    CLOISON_RETURN_IF_ERROR(SetJournalMode("wal"));
    bulk_rollback_journal_ = false;
  }
  CLOISON_RETURN_IF_ERROR(db_.Exec("PRAGMA synchronous=NORMAL", "configure database"));
  CLOISON_RETURN_IF_ERROR(db_.Exec("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint"));
  options_.bulk = false;
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options, const FieldCatalog& catalog,
                                                 const crypto::SecretBytes& master_key, const Clock& clock) {
  if (options.path.empty()) return InvalidArgument("store path is empty");
  if (master_key.size() != crypto::kMasterKeySize) return InvalidArgument("master key must be 32 bytes");
  auto store = std::make_unique<SqliteStore>(options, catalog, master_key, clock);
  CLOISON_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace cloison::store
