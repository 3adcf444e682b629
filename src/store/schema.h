// Versioned schema of the SQLite store (see docs/storage-format.md).
//
// The schema version lives in PRAGMA user_version. Migration step k turns a
// version k-1 database into version k; Migrate applies the missing steps in
// order, each in its own transaction together with the user_version bump, so
// a crash leaves the database at a whole version. A database newer than this
// binary is refused (FailedPrecondition) rather than guessed at.
//
// Catalog-driven columns (f_<field>, bi_<field>) are not part of the
// versioned DDL: they follow the field catalog and are added by
// SyncCatalogColumns on every open.
#pragma once

#include <string>
#include <vector>

#include "core/field_catalog.h"
#include "core/status.h"
#include "store/sqlite_util.h"

namespace cloison::store::internal {

// The version a freshly migrated database has.
constexpr int kSchemaVersion = 3;

// Brings the database to kSchemaVersion.
Status Migrate(Db& db);

// Column names for a catalog field.
std::string ValueColumn(const FieldDef& def);  // f_<name>
std::string BlindColumn(const FieldDef& def);  // bi_<name>

// Adds the columns (and registry rows) for catalog fields the database does
// not have yet, and refuses a field whose protection changed (a personal
// field become sensitive, or back) since that needs a data migration.
// When `create_indexes` is false, the persons secondary indexes are left to
// CreatePersonIndexes (bulk loads build them once, at the end).
Status SyncCatalogColumns(Db& db, const FieldCatalog& catalog, int64_t now_micros);

// Creates (IF NOT EXISTS) the persons secondary indexes: one per blind-index
// column (UNIQUE for unique fields) and one on key_id. A UNIQUE index that
// cannot be built because two rows share a value is reported as Corruption.
Status CreatePersonIndexes(Db& db, const FieldCatalog& catalog);
// Drops the blind-index ones (bulk loads into an empty table) and makes sure
// the key_id one exists: a bulk load appends to it in order (ascending ids,
// one key), which is cheaper than sorting it afterwards.
Status DropPersonIndexes(Db& db, const FieldCatalog& catalog);

}  // namespace cloison::store::internal
