// Importing people files into a Store.
//
// Each line is validated on its own (catalog types, NIR key, dates, e-mail,
// structure and counsellor references); a rejected line writes nothing and
// is reported with its line number, the rest goes in. Lines are written in
// batches (one transaction each); if the store refuses a batch (two unique
// identifiers matching two different people), the batch is retried line by
// line so that only the offending lines are rejected.
//
// Idempotent: people are matched on their unique identifiers (see
// Store::UpsertPersons), so importing a file twice updates, never duplicates.
//
// Messages never contain the values of sensitive fields: they name the line,
// the field and the problem.
//
// Thread-safety: one Importer per thread; it uses the Store from its thread
// only. ImportFile reads and validates on a helper thread of its own (see
// ImportOptions::read_ahead), joined before it returns.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/field_catalog.h"
#include "core/status.h"
#include "ingest/person_file.h"
#include "store/store.h"

namespace cloison::ingest {

struct LineError {
  int64_t line = 0;
  std::string message;  // e.g. "field 'nir': NIR key does not match"
};

struct ImportReport {
  int64_t records = 0;   // records read (not counting the CSV header)
  int64_t inserted = 0;
  int64_t updated = 0;
  int64_t rejected = 0;
  std::vector<LineError> errors;  // the first `max_errors` rejected lines, in file order
};

// Lines read and validated, waiting for the store (internal to ImportFile).
struct ParsedBatch {
  std::vector<Person> people;
  std::vector<int64_t> lines;        // the line of each person
  std::vector<LineError> rejected;   // refused by validation, in line order
  int64_t records = 0;               // records read into this batch
  uint64_t bytes_read = 0;           // file position after it, for progress
  bool last = false;                 // end of file (or a read failure) reached
  Status status;                     // a read failure: the import fails
};

struct ImportOptions {
  size_t batch_size = 20000;  // people per store transaction (0 counts as 1)
  size_t max_errors = 1000;
  // Read and validate the file on a second thread, up to two batches ahead
  // of the store's writes (same report, same order; false: all on the
  // caller's thread).
  bool read_ahead = true;
  // Called every batch with (bytes read, file size) for a progress bar.
  std::function<void(uint64_t, uint64_t)> progress;
};

class Importer {
 public:
  // Loads the structure codes and counsellor usernames from `store` once.
  static StatusOr<Importer> Create(store::Store& store, const FieldCatalog& catalog);

  // Fails as a whole (nothing written) only for an unreadable file or an
  // unusable CSV header (unknown or missing required column); line problems
  // are in the report.
  StatusOr<ImportReport> ImportFile(const std::string& path, FileFormat format, const ImportOptions& options = {});

  // Validates one record into a Person; the error names the problem. Exposed for tests.
  Status ToPerson(const RawRecord& record, Person& person) const;

 private:
  Importer(store::Store& store, const FieldCatalog& catalog) : store_(&store), catalog_(&catalog) {}
  Status CheckColumns(const std::vector<std::string>& names) const;
  // Writes a batch and adds its counts and rejected lines to `report`.
  Status Flush(ParsedBatch& batch, ImportReport& report, const ImportOptions& options);
  // Reads up to `batch_size` valid people (and the rejected lines between them).
  ParsedBatch ReadBatch(PersonFileReader& reader, size_t batch_size) const;

  // Two lookups per record (structure code, counsellor's username) in
  // tables of 10^3-10^4 names: a SwissTable probes one group of control
  // bytes and usually one slot, where std::unordered_map chased a bucket and
  // a node (two cache misses; 4% of an import). Lookups take string_view
  // without building a std::string per cell.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct NameEq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  template <typename V>
  using NameMap = absl::flat_hash_map<std::string, V, NameHash, NameEq>;

  store::Store* store_;
  const FieldCatalog* catalog_;
  NameMap<StructureId> structures_;
  struct AgentRef {
    AccountId id;
    StructureId structure;
  };
  NameMap<AgentRef> agents_;
  // The catalog index of the value at each position of the last record (a
  // file's records name their fields in the same order): saves a catalog
  // lookup per value. Touched only by the thread running ToPerson.
  mutable std::vector<std::pair<std::string, size_t>> position_index_;
};

}  // namespace cloison::ingest
