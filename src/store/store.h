// The records store: one interface, SQLite now (sqlite_store.h), PostgreSQL
// later. Callers never see SQL.
//
// Protection at rest is the store's job: it encrypts every field the catalog
// marks sensitive (FieldDef::encrypted()) with the key ring's active
// data-encryption key, binding each ciphertext to (person id, field name, key
// id) as associated data, and maintains keyed blind indexes for the fields
// with blind_index = true. No plaintext sensitive value is ever written to a
// table, an index, the WAL, a log line or an error message.
//
// Ids: a caller may supply ids (the generator does, so that its orientations
// can refer to its people); a zero id means "assign one".
//
// Thread-safety: a Store is used from one thread at a time (the server holds
// one and serialises calls with a mutex); implementations may use threads
// inside.
// Several processes: other processes may open the same database at the same
// time (`cloison keys rotate` next to a running `cloison serve`). Keys they
// add are picked up without reopening: a read that meets a key id this
// store's in-memory key ring does not hold reloads the ring from the
// database once (only then: the common read costs nothing more), and every
// write transaction checks which key the database marks active, so new
// values always go under it.
// Failure: IOError for environment failures (disk full, locked database),
// Corruption for stored data that fails a check (bad ciphertext, unknown key
// id), InvalidArgument for caller input, NotFound / AlreadyExists as named.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/domain.h"
#include "core/field_catalog.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::store {

// Which of a person's catalog fields to read (and so decrypt). Reading only
// what a purpose releases keeps plaintext out of memory it has no business in.
struct FieldMask {
  std::vector<bool> include;  // indexed like FieldCatalog::fields(); empty = all fields
  static FieldMask All() { return {}; }
  bool has(size_t i) const { return include.empty() || (i < include.size() && include[i]); }
};

struct StoreStats {
  int64_t structures = 0;
  int64_t agents = 0;
  int64_t persons = 0;  // real people: the persons rows that are not decoys
  int64_t decoys = 0;   // honeytokens (the decoys table)
  int64_t formations = 0;
  int64_t training_sessions = 0;
  int64_t orientations = 0;
  uint32_t active_key_id = 0;
  // Number of encrypted field values per key id (rotation progress).
  std::vector<std::pair<uint32_t, int64_t>> values_per_key;
  int schema_version = 0;
};

// What UpsertPersons did with each input person, in input order.
struct UpsertResult {
  std::vector<PersonId> ids;
  int64_t inserted = 0;
  int64_t updated = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- Network. Upserts match on the natural key (code / username).
  virtual StatusOr<StructureId> UpsertStructure(const Structure& s) = 0;
  virtual StatusOr<Structure> GetStructure(StructureId id) = 0;
  virtual StatusOr<std::optional<StructureId>> FindStructureByCode(std::string_view code) = 0;
  virtual StatusOr<std::vector<Structure>> ListStructures() = 0;
  virtual StatusOr<AccountId> UpsertAgent(const Agent& a) = 0;
  virtual StatusOr<std::optional<AccountId>> FindAgentByUsername(std::string_view username) = 0;
  virtual StatusOr<std::vector<Agent>> ListAgents() = 0;
  virtual StatusOr<FormationId> UpsertFormation(const Formation& f) = 0;
  virtual StatusOr<TrainingSessionId> UpsertTrainingSession(const TrainingSession& s) = 0;
  virtual StatusOr<std::vector<Formation>> ListFormations() = 0;
  virtual StatusOr<std::vector<TrainingSession>> ListTrainingSessions() = 0;

  // --- Orientations (one transaction per call).
  virtual Status PutOrientations(std::span<const Orientation> orientations) = 0;
  virtual StatusOr<std::vector<Orientation>> OrientationsOfPerson(PersonId person) = 0;
  // Calls fn for every orientation (for in-memory relation indexes).
  virtual Status ForEachOrientation(const std::function<void(const Orientation&)>& fn) = 0;
  // Inserts one new orientation (its id must be zero) and returns the id the
  // store assigned; the API's "orient a person" writes through this.
  virtual StatusOr<OrientationId> AddOrientation(const Orientation& o) = 0;
  // One orientation by id; NotFound if absent.
  virtual StatusOr<Orientation> GetOrientation(OrientationId id) = 0;
  // One session / formation by id; NotFound if absent.
  virtual StatusOr<TrainingSession> GetTrainingSession(TrainingSessionId id) = 0;
  virtual StatusOr<Formation> GetFormation(FormationId id) = 0;

  // --- People.
  // Inserts or updates `persons` in one transaction. A person with a valid id
  // is written under that id; otherwise it is matched on its unique
  // blind-indexed fields (NIR, France Travail id, ...): a match updates that
  // person (idempotent re-import), no match inserts. Two unique fields that
  // match two different people is InvalidArgument naming the fields. Values
  // must already be validated and canonical (see ValidateFieldValue); the
  // store checks only shape (field count).
  virtual StatusOr<UpsertResult> UpsertPersons(std::span<const Person> persons) = 0;
  // Reads one person, decrypting only the fields in `mask`; the others are
  // left empty. NotFound if absent; Corruption if a ciphertext fails.
  virtual StatusOr<Person> GetPerson(PersonId id, const FieldMask& mask = FieldMask::All()) = 0;
  // Read batching: between BeginReadBatch and EndReadBatch, GetPerson calls
  // share one read transaction -- one snapshot, taken at the first of them
  // -- instead of paying for one each (in SQLite: the WAL read lock, two
  // fcntl calls, per statement). For a burst of reads that were all decided
  // before the batch began (the server's reads released by one audit sync);
  // never keep a batch open across a wait. A write through this store ends
  // the batch's transaction first, so writes always see the latest state,
  // and the reads after it see the write. Not reentrant; calls are
  // serialised by the caller like every other. The default does nothing.
  virtual void BeginReadBatch() {}
  virtual void EndReadBatch() {}
  // Exact lookup through the blind index of `field` (which must have
  // blind_index = true); `value` is canonicalised first.
  virtual StatusOr<std::vector<PersonId>> FindPersons(std::string_view field, std::string_view value) = 0;
  // Calls fn(id, referent structure, referent counsellor) for every person,
  // without decrypting anything (for in-memory relation indexes).
  virtual Status ForEachPersonRelation(
      const std::function<void(PersonId, StructureId, std::optional<AccountId>)>& fn) = 0;

  // --- Decoys (honeytokens, docs/guard.md): persons rows planted so that
  // only enumeration or bulk listing finds them. Recorded apart from the
  // persons table (nothing in a decoy's row differs from a real person's);
  // only the guard is told which they are. Marking an id that is no person
  // is InvalidArgument (nothing marked); marking twice is a no-op.
  virtual Status MarkDecoys(std::span<const PersonId> persons) = 0;
  virtual StatusOr<std::vector<PersonId>> ListDecoys() = 0;  // ascending ids

  // --- Keys. Rotation adds a new data key, makes it active for new writes,
  // then ReencryptBatch moves existing values to it a batch at a time (each
  // batch one short transaction) while the store stays readable and writable
  // — also by other Store instances and processes on the same database,
  // which reload their key ring when they meet the new key id (see above).
  // A key added by another process that this master key cannot unwrap makes
  // the reads that need it Corruption; the rest stays readable.
  virtual StatusOr<uint32_t> AddKeyAndActivate() = 0;
  // Re-encrypts up to `max_persons` people still holding values under an
  // older key; returns how many people remain after this batch.
  virtual StatusOr<int64_t> ReencryptBatch(int64_t max_persons) = 0;

  virtual StatusOr<StoreStats> Stats() = 0;

  // --- Grouping. Runs fn so that every write it makes through this store
  // commits together: one transaction, in which each call's own
  // transaction nests as a savepoint (a call that fails inside still undoes
  // only itself). If fn or the commit fails, nothing fn wrote remains. For
  // many small writes (a generated network: 20,000 upserts, one commit
  // instead of 20,000); other writers wait until it ends. Not reentrant.
  virtual Status RunInTransaction(const std::function<Status()>& fn) { return fn(); }

  // --- Bulk loads. Ends a bulk load (SqliteOptions::bulk): builds the
  // indexes that were deferred, restores durable syncing and checkpoints.
  // Idempotent; a no-op for a store not in bulk mode. The store also does
  // this when destroyed, but without a way to report failure, so loaders
  // call it and check the Status. Until it runs, FindPersons scans.
  virtual Status FinishBulkLoad() { return OkStatus(); }
};

struct SqliteOptions {
  std::string path;          // database file; created if missing
  int64_t cache_mib = 256;   // SQLite page cache
  // Bulk mode for large loads into a fresh store: synchronous=OFF during the
  // load (the load is re-runnable), indexes built at the end.
  // If the persons table is empty at open, its secondary indexes (blind
  // indexes, key id) are dropped and rebuilt by FinishBulkLoad (or the
  // destructor, or the next non-bulk open if the process died); uniqueness
  // is enforced meanwhile through an in-memory map of blind-index tags.
  // On a non-empty table only synchronous=OFF applies.
  bool bulk = false;
};

// Opens (creating and migrating as needed) a SQLite store. The master key
// unwraps the data keys; a wrong key fails with PermissionDenied("master key
// does not match this store"). A new store gets key id 1.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options, const FieldCatalog& catalog,
                                                 const crypto::SecretBytes& master_key, const Clock& clock);

}  // namespace cloison::store
