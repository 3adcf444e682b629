// Versioned schema of the SQLite store (see docs/storage-format.md).
//
// The schema version lives in PRAGMA user_version. Migration step k turns a
// version k-1 database into version k; Migrate applies the missing steps in
// order, each in its own transaction together with the user_version bump, so
// a crash leaves the database at a whole version. A database newer than this
// binary is refused (FailedPrecondition) rather than guessed at.
//
// Catalog-driven columns (f_<field>, bi_<field>) and blind-index tables
// (blind_<field>) are not part of the versioned DDL: they follow the field
// catalog and are added by SyncCatalogColumns on every open.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/field_catalog.h"
#include "core/status.h"
#include "store/sqlite_util.h"

namespace cloison::store::internal {

// The version a freshly migrated database has.
constexpr int kSchemaVersion = 5;

// Brings the database to kSchemaVersion.
Status Migrate(Db& db);

// Column names for a catalog field.
std::string ValueColumn(const FieldDef& def);  // f_<name>
std::string BlindColumn(const FieldDef& def);  // bi_<name>
std::string BlindTable(const FieldDef& def);   // blind_<name>

// Adds the columns (and registry rows) for catalog fields the database does
// not have yet, and refuses a field whose protection changed (a personal
// field become sensitive, or back) since that needs a data migration.
// When `create_indexes` is false, the persons secondary indexes are left to
// CreatePersonIndexes (bulk loads build them once, at the end).
Status SyncCatalogColumns(Db& db, const FieldCatalog& catalog, int64_t now_micros);

// The value columns of encrypted fields that this catalog no longer has
// (registered encrypted, or BLOB columns from before the registry), quoted
// for SQL. A row rewritten under a new envelope clears them: their values
// were sealed under the row's previous nonce prefix and could not be opened
// again (docs/storage-format.md, "Catalog changes").
StatusOr<std::vector<std::string>> OrphanEncryptedColumns(Db& db, const FieldCatalog& catalog);

// Blind indexes. Each blind-indexed field has a table blind_<name>(tag,
// person_id), WITHOUT ROWID, keyed on tag (PRIMARY KEY(tag) for a unique
// field, so a second person with the same tag is refused; (tag, person_id)
// otherwise), kept equal to persons' bi_<name> column by three triggers
// (insert, update of the column, delete). The table exists from
// SyncCatalogColumns on; its content is trustworthy exactly when its
// triggers exist.
//
// CreatePersonIndexes rebuilds, in one transaction, the table of every field
// whose triggers are missing (a bulk load, a load that crashed, a store from
// before blind-index tables, whose persons_bi_<name> indexes it drops), then
// creates the triggers; and creates the key_id index if missing. Two people
// sharing a unique field's tag are reported as Corruption and nothing is
// changed.
Status CreatePersonIndexes(Db& db, const FieldCatalog& catalog);
// One blind-index entry: a person's tag for one field.
struct BlindEntry {
  uint8_t tag[16];  // crypto::BlindIndexer::kTagSize
  int64_t person_id;
};

// Sorts `v` by (tag in memcmp order, person id): the order of the blind
// tables' primary keys, so that FillBlindTables appends. Exposed for tests.
void SortBlindEntries(std::vector<BlindEntry>& v);

// Replaces the content of each field's blind-index table with `entries[i]`
// (any order; sorted here, and emptied as it goes), drops the field's old
// persons_bi_<name> index and creates its triggers. Two entries with the
// same tag for a unique field: Corruption, and the caller's transaction must
// be rolled back. Call inside a write transaction. A bulk load that kept
// every tag it wrote uses this instead of scanning the table again.
Status FillBlindTables(Db& db, const std::vector<const FieldDef*>& fields,
                       std::vector<std::vector<BlindEntry>>& entries);

// For a bulk load into an empty persons table: drops the triggers and
// empties the blind-index tables (CreatePersonIndexes rebuilds them in one
// sorted pass at the end), and makes sure the key_id index exists: a bulk
// load appends to it in order (ascending ids, one key), which is cheaper
// than sorting it afterwards.
Status DropPersonIndexes(Db& db, const FieldCatalog& catalog);

}  // namespace cloison::store::internal
