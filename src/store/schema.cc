#include "store/schema.h"

#include <set>

#include "core/strings.h"

namespace cloison::store::internal {

namespace {

// Migration step k (index k-1). Never edit a shipped step: add a new one.
const char* const kMigrations[] = {
    // 1: network, people (relation columns only), orientations, keys.
    R"sql(
CREATE TABLE structures(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  parent_id INTEGER,
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  open_minute INTEGER NOT NULL,
  close_minute INTEGER NOT NULL,
  weekdays INTEGER NOT NULL,
  departement TEXT NOT NULL);
CREATE TABLE agents(
  id INTEGER PRIMARY KEY,
  structure_id INTEGER NOT NULL,
  username TEXT NOT NULL UNIQUE,
  nom TEXT NOT NULL,
  prenom TEXT NOT NULL,
  roles TEXT NOT NULL);
CREATE TABLE formations(
  id INTEGER PRIMARY KEY,
  organisation_id INTEGER NOT NULL,
  code TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  domain TEXT NOT NULL);
CREATE TABLE training_sessions(
  id INTEGER PRIMARY KEY,
  formation_id INTEGER NOT NULL,
  code TEXT NOT NULL UNIQUE,
  start_day INTEGER NOT NULL,
  end_day INTEGER NOT NULL,
  place TEXT NOT NULL);
CREATE TABLE orientations(
  id INTEGER PRIMARY KEY,
  person_id INTEGER NOT NULL,
  session_id INTEGER NOT NULL,
  counsellor_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  proposed_day INTEGER NOT NULL,
  decided_day INTEGER,
  enrolled_day INTEGER,
  ended_day INTEGER);
CREATE INDEX orientations_person ON orientations(person_id);
CREATE TABLE persons(
  id INTEGER PRIMARY KEY,
  referent_structure_id INTEGER NOT NULL,
  referent_counsellor_id INTEGER,
  other_structures TEXT,
  key_id INTEGER NOT NULL);
CREATE TABLE keys(
  key_id INTEGER PRIMARY KEY,
  wrapped BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  active INTEGER NOT NULL);
)sql",
    // 2: last-modification time of a person; registry of the catalog
    // columns with the protection they were created with.
    R"sql(
ALTER TABLE persons ADD COLUMN updated_at INTEGER;
CREATE TABLE catalog_fields(
  name TEXT PRIMARY KEY,
  encrypted INTEGER NOT NULL,
  blind_index INTEGER NOT NULL,
  is_unique INTEGER NOT NULL,
  added_at INTEGER NOT NULL);
)sql",
    // 3: decoy people (honeytokens): which persons rows are decoys the guard
    // planted. Apart from persons so that nothing in a person's own row
    // tells a decoy from a real person.
    R"sql(
CREATE TABLE decoys(
  person_id INTEGER PRIMARY KEY,
  planted_at INTEGER NOT NULL);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

std::string IndexName(const FieldDef& def) { return StrCat("persons_bi_", def.name); }

struct ColumnInfo {
  std::string name;
  std::string type;
};

StatusOr<std::vector<ColumnInfo>> PersonColumns(Db& db) {
  CLOISON_ASSIGN_OR_RETURN(Stmt s, db.Prepare("PRAGMA table_info(persons)", "read persons columns"));
  std::vector<ColumnInfo> out;
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db.StepRow(s, "read persons columns"));
    if (!row) break;
    out.push_back({std::string(s.ColumnText(1)), std::string(s.ColumnText(2))});
  }
  return out;
}

}  // namespace

std::string ValueColumn(const FieldDef& def) { return StrCat("f_", def.name); }
std::string BlindColumn(const FieldDef& def) { return StrCat("bi_", def.name); }

Status Migrate(Db& db) {
  CLOISON_ASSIGN_OR_RETURN(int64_t version, db.QueryInt("PRAGMA user_version", "read schema version"));
  if (version > kSchemaVersion)
    return FailedPrecondition(StrCat("database schema version ", version, " is newer than this binary (",
                                     kSchemaVersion, "); upgrade cloison"));
  while (version < kSchemaVersion) {
    Txn txn(db);
    CLOISON_RETURN_IF_ERROR(txn.Begin());
    // Re-read under the write lock: another process may have migrated.
    CLOISON_ASSIGN_OR_RETURN(version, db.QueryInt("PRAGMA user_version", "read schema version"));
    if (version >= kSchemaVersion) break;
    const int step = static_cast<int>(version) + 1;
    CLOISON_RETURN_IF_ERROR(db.Exec(kMigrations[step - 1], StrCat("schema migration ", step)));
    CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("PRAGMA user_version = ", step), "write schema version"));
    CLOISON_RETURN_IF_ERROR(txn.Commit());
    version = step;
  }
  return OkStatus();
}

Status SyncCatalogColumns(Db& db, const FieldCatalog& catalog, int64_t now_micros) {
  Txn txn(db);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  CLOISON_ASSIGN_OR_RETURN(auto columns, PersonColumns(db));
  auto find_column = [&](const std::string& name) -> const ColumnInfo* {
    for (const auto& c : columns)
      if (c.name == name) return &c;
    return nullptr;
  };
  CLOISON_ASSIGN_OR_RETURN(Stmt get_reg,
                           db.Prepare("SELECT encrypted FROM catalog_fields WHERE name = ?", "read field registry"));
  CLOISON_ASSIGN_OR_RETURN(
      Stmt put_reg, db.Prepare("INSERT OR IGNORE INTO catalog_fields(name, encrypted, blind_index, is_unique, added_at) "
                               "VALUES(?, ?, ?, ?, ?)",
                               "write field registry"));
  for (const FieldDef& def : catalog.fields()) {
    const std::string vcol = ValueColumn(def);
    const std::string bcol = BlindColumn(def);
    std::optional<bool> registered_encrypted;
    {
      ScopedReset r(get_reg);
      get_reg.BindText(1, def.name);
      CLOISON_ASSIGN_OR_RETURN(bool row, db.StepRow(get_reg, "read field registry"));
      if (row) registered_encrypted = get_reg.ColumnInt(0) != 0;
    }
    const ColumnInfo* existing = find_column(vcol);
    if (!registered_encrypted && existing) {
      // A column from before the registry (schema v1): its declared type says
      // how it was created.
      registered_encrypted = existing->type == "BLOB";
    }
    if (registered_encrypted && *registered_encrypted != def.encrypted())
      return FailedPrecondition(StrCat("field '", def.name, "' was stored ",
                                       *registered_encrypted ? "encrypted" : "in clear", " and the catalog now says ",
                                       def.encrypted() ? "sensitive" : "personal",
                                       "; changing a field's protection needs a data migration"));
    if (!existing)
      CLOISON_RETURN_IF_ERROR(db.Exec(
          StrCat("ALTER TABLE persons ADD COLUMN \"", vcol, "\" ", def.encrypted() ? "BLOB" : "TEXT"),
          StrCat("add column for field '", def.name, "'")));
    if (def.blind_index && !find_column(bcol))
      CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("ALTER TABLE persons ADD COLUMN \"", bcol, "\" BLOB"),
                                      StrCat("add blind index column for field '", def.name, "'")));
    ScopedReset r(put_reg);
    put_reg.BindText(1, def.name);
    put_reg.BindInt(2, def.encrypted());
    put_reg.BindInt(3, def.blind_index);
    put_reg.BindInt(4, def.unique);
    put_reg.BindInt(5, now_micros);
    CLOISON_RETURN_IF_ERROR(db.StepDone(put_reg, "write field registry"));
  }
  return txn.Commit();
}

Status CreatePersonIndexes(Db& db, const FieldCatalog& catalog) {
  for (const FieldDef& def : catalog.fields()) {
    if (!def.blind_index) continue;
    Status s = db.Exec(StrCat("CREATE ", def.unique ? "UNIQUE " : "", "INDEX IF NOT EXISTS \"", IndexName(def),
                              "\" ON persons(\"", BlindColumn(def), "\")"),
                       StrCat("create blind index for field '", def.name, "'"));
    if (!s.ok() && s.code() == absl::StatusCode::kInvalidArgument)
      return Corruption(StrCat("two people share a value of unique field '", def.name, "'"));
    CLOISON_RETURN_IF_ERROR(s);
  }
  return db.Exec("CREATE INDEX IF NOT EXISTS persons_key_id ON persons(key_id)", "create key id index");
}

Status DropPersonIndexes(Db& db, const FieldCatalog& catalog) {
  for (const FieldDef& def : catalog.fields()) {
    if (!def.blind_index) continue;
    CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("DROP INDEX IF EXISTS \"", IndexName(def), "\""), "drop blind index"));
  }
  return db.Exec("CREATE INDEX IF NOT EXISTS persons_key_id ON persons(key_id)", "create key id index");
}

}  // namespace cloison::store::internal
