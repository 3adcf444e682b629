#include "store/schema.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <optional>
#include <set>

#include "core/strings.h"
#include "crypto/keys.h"

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
    // 4: blind-index tags from 32 to 16 bytes: ShortenBlindTags (the
    // columns to rewrite depend on the catalog, so it is code, not SQL).
    "",
    // 5: per-person envelopes: the nonce prefix of a person's encrypted
    // values, stored once in the row (docs/storage-format.md). NULL marks
    // a row written before: its values keep their own key id and nonce
    // until they are next written or re-encrypted.
    "ALTER TABLE persons ADD COLUMN nonce_prefix BLOB;",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

// The index on persons(bi_<name>) of stores before blind-index tables.
std::string LegacyIndexName(const FieldDef& def) { return StrCat("persons_bi_", def.name); }

std::string Quoted(const std::string& name) { return StrCat("\"", name, "\""); }
std::string TriggerName(const FieldDef& def, std::string_view what) { return StrCat("blind_", def.name, "_", what); }

Status DropTriggers(Db& db, const FieldDef& def);

// Creates the table if missing. Its triggers, if some were left (the table
// was dropped by hand), are dropped with it, so that CreatePersonIndexes
// fills the new table instead of trusting it empty.
Status CreateBlindTable(Db& db, const FieldDef& def) {
  CLOISON_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                              "read schema"));
  const std::string name = BlindTable(def);  // bound SQLITE_STATIC: must outlive the step
  s.BindText(1, name);
  CLOISON_ASSIGN_OR_RETURN(bool exists, db.StepRow(s, "read schema"));
  if (exists) return OkStatus();
  CLOISON_RETURN_IF_ERROR(DropTriggers(db, def));
  return db.Exec(StrCat("CREATE TABLE IF NOT EXISTS ", Quoted(BlindTable(def)),
                        "(tag BLOB NOT NULL, person_id INTEGER NOT NULL, PRIMARY KEY(",
                        def.unique ? "tag" : "tag, person_id", ")) WITHOUT ROWID"),
                 StrCat("create blind index table for field '", def.name, "'"));
}

Status DropTriggers(Db& db, const FieldDef& def) {
  for (const char* what : {"insert", "update", "delete"})
    CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("DROP TRIGGER IF EXISTS ", Quoted(TriggerName(def, what))),
                                    StrCat("drop blind index trigger for field '", def.name, "'")));
  return OkStatus();
}

// The triggers that keep blind_<name> equal to persons' bi_<name> column
// from then on. A unique field's table refuses a second person with the
// same tag: the write fails with a constraint error, as a UNIQUE index did.
Status CreateTriggers(Db& db, const FieldDef& def) {
  const std::string t = Quoted(BlindTable(def));
  const std::string c = Quoted(BlindColumn(def));
  const std::string what = StrCat("create blind index trigger for field '", def.name, "'");
  CLOISON_RETURN_IF_ERROR(db.Exec(
      StrCat("CREATE TRIGGER ", Quoted(TriggerName(def, "insert")), " AFTER INSERT ON persons WHEN new.", c,
             " IS NOT NULL BEGIN INSERT INTO ", t, "(tag, person_id) VALUES(new.", c, ", new.id); END"),
      what));
  CLOISON_RETURN_IF_ERROR(db.Exec(
      StrCat("CREATE TRIGGER ", Quoted(TriggerName(def, "update")), " AFTER UPDATE OF ", c,
             " ON persons WHEN old.", c, " IS NOT new.", c, " BEGIN DELETE FROM ", t, " WHERE tag = old.", c,
             " AND person_id = old.id; INSERT INTO ", t, "(tag, person_id) SELECT new.", c,
             ", new.id WHERE new.", c, " IS NOT NULL; END"),
      what));
  return db.Exec(StrCat("CREATE TRIGGER ", Quoted(TriggerName(def, "delete")), " AFTER DELETE ON persons WHEN old.",
                        c, " IS NOT NULL BEGIN DELETE FROM ", t, " WHERE tag = old.", c,
                        " AND person_id = old.id; END"),
                 what);
}

// All three of the field's triggers exist.
StatusOr<bool> HasTriggers(Db& db, const FieldDef& def) {
  CLOISON_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                                              "name IN (?, ?, ?)",
                                              "read schema"));
  // Bound SQLITE_STATIC: the names must outlive the step.
  const std::string names[] = {TriggerName(def, "insert"), TriggerName(def, "update"), TriggerName(def, "delete")};
  for (int i = 0; i < 3; ++i) s.BindText(i + 1, names[i]);
  CLOISON_ASSIGN_OR_RETURN(bool row, db.StepRow(s, "read schema"));
  return row && s.ColumnInt(0) == 3;
}

static uint64_t LoadBigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];  // one bswap'd load at -O2
  return v;
}

// Inserts `v` (sorted) into def's table, replacing its content; drops the
// field's old column index and creates its triggers.
Status InsertSorted(Db& db, const FieldDef& def, const std::vector<BlindEntry>& v) {
  constexpr size_t kTag = crypto::BlindIndexer::kTagSize;
  if (def.unique)
    for (size_t i = 1; i < v.size(); ++i)
      if (std::memcmp(v[i].tag, v[i - 1].tag, kTag) == 0)
        return Corruption(StrCat("two people share a value of unique field '", def.name, "'"));
  CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("DELETE FROM ", Quoted(BlindTable(def))), "clear blind index"));
  // Many rows per statement: within one statement SQLite's cursor stays on
  // the B-tree's last leaf and each ascending key is appended there; a
  // statement per row would descend from the root every time (about 3x
  // slower).
  auto insert_sql = [&](size_t rows) {
    std::string sql = StrCat("INSERT INTO ", Quoted(BlindTable(def)), "(tag, person_id) VALUES");
    for (size_t i = 0; i < rows; ++i) sql += i == 0 ? "(?, ?)" : ",(?, ?)";
    return sql;
  };
  constexpr size_t kRowsPerInsert = 512;
  std::optional<Stmt> full;
  for (size_t begin = 0; begin < v.size(); begin += kRowsPerInsert) {
    const size_t rows = std::min(kRowsPerInsert, v.size() - begin);
    std::optional<Stmt> partial;
    if (rows == kRowsPerInsert && !full) {
      CLOISON_ASSIGN_OR_RETURN(Stmt st, db.Prepare(insert_sql(rows), "write blind index"));
      full.emplace(std::move(st));
    } else if (rows != kRowsPerInsert) {
      CLOISON_ASSIGN_OR_RETURN(Stmt st, db.Prepare(insert_sql(rows), "write blind index"));
      partial.emplace(std::move(st));
    }
    const Stmt& put = rows == kRowsPerInsert ? *full : *partial;
    ScopedReset r(put);
    for (size_t i = 0; i < rows; ++i) {
      put.BindBlob(static_cast<int>(2 * i + 1), std::span<const uint8_t>(v[begin + i].tag, kTag));
      put.BindInt(static_cast<int>(2 * i + 2), v[begin + i].person_id);
    }
    CLOISON_RETURN_IF_ERROR(db.StepDone(put, "write blind index"));
  }
  CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("DROP INDEX IF EXISTS ", Quoted(LegacyIndexName(def))),
                                  "drop old blind index"));
  return CreateTriggers(db, def);
}

static_assert(sizeof(BlindEntry::tag) == crypto::BlindIndexer::kTagSize, "BlindEntry holds one whole tag");

// Reads every tag of `fields` from persons' columns in one scan.
Status ScanBlindColumns(Db& db, const std::vector<const FieldDef*>& fields,
                        std::vector<std::vector<BlindEntry>>& entries) {
  constexpr size_t kTag = crypto::BlindIndexer::kTagSize;
  entries.assign(fields.size(), {});
  std::string cols;
  for (const FieldDef* def : fields) cols += StrCat(", ", Quoted(BlindColumn(*def)));
  CLOISON_ASSIGN_OR_RETURN(int64_t count, db.QueryInt("SELECT count(*) FROM persons", "count persons"));
  for (auto& e : entries) e.reserve(static_cast<size_t>(count));
  CLOISON_ASSIGN_OR_RETURN(Stmt scan, db.Prepare(StrCat("SELECT id", cols, " FROM persons"), "read blind index"));
  for (;;) {
    CLOISON_ASSIGN_OR_RETURN(bool row, db.StepRow(scan, "read blind index"));
    if (!row) break;
    const int64_t id = scan.ColumnInt(0);
    for (size_t f = 0; f < fields.size(); ++f) {
      if (scan.ColumnIsNull(static_cast<int>(f + 1))) continue;
      auto tag = scan.ColumnBlob(static_cast<int>(f + 1));
      if (tag.size() != kTag)
        return Corruption(StrCat("person ", id, ": blind index of field '", fields[f]->name, "' is ", tag.size(),
                                 " bytes, not ", kTag));
      BlindEntry& e = entries[f].emplace_back();
      std::memcpy(e.tag, tag.data(), kTag);
      e.person_id = id;
    }
  }
  return OkStatus();
}

}  // namespace

// Sorts by (tag, person id), tags in memcmp order. One radix pass on the
// tags' first two bytes scatters the entries into 65,536 buckets that each
// fit in L1 (a few dozen entries for 1.6 M people), then each bucket is
// sorted alone; comparisons read the first 8 bytes as one big-endian word
// (tags are uniformly random: the rest is almost never compared). A
// std::sort of the whole vector was a cache miss per swap: most of a 1.6 M
// person load's last second. Needs a second buffer the size of `v`.
void SortBlindEntries(std::vector<BlindEntry>& v) {
  constexpr size_t kTag = crypto::BlindIndexer::kTagSize;
  auto less = [](const BlindEntry& a, const BlindEntry& b) {
    const uint64_t x = LoadBigEndian64(a.tag), y = LoadBigEndian64(b.tag);
    if (x != y) return x < y;
    const int c = std::memcmp(a.tag + 8, b.tag + 8, kTag - 8);
    return c != 0 ? c < 0 : a.person_id < b.person_id;
  };
  if (v.size() < (1u << 16)) {
    std::sort(v.begin(), v.end(), less);
    return;
  }
  auto bucket = [](const BlindEntry& e) { return (size_t{e.tag[0]} << 8) | e.tag[1]; };
  std::vector<size_t> start((1u << 16) + 1, 0);
  for (const BlindEntry& e : v) ++start[bucket(e) + 1];
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  std::vector<BlindEntry> out(v.size());
  std::vector<size_t> next(start.begin(), start.end() - 1);
  for (const BlindEntry& e : v) out[next[bucket(e)]++] = e;
  for (size_t b = 0; b + 1 < start.size(); ++b) std::sort(out.begin() + start[b], out.begin() + start[b + 1], less);
  v.swap(out);
}

// Sorted in memory and inserted in key order, so each table is built by
// appending to its B-tree. (SQLite's own CREATE INDEX sorted through its
// external sorter: 2-3 s per field for 1.6 M people against about 1.5 s
// this way.) The next field is sorted on a helper thread while this one is
// inserted.
Status FillBlindTables(Db& db, const std::vector<const FieldDef*>& fields,
                       std::vector<std::vector<BlindEntry>>& entries) {
  if (entries.size() != fields.size()) return Internal("blind index entries do not match the fields");
  auto sort = [&entries](size_t f) { SortBlindEntries(entries[f]); };
  std::future<void> next;
  if (!fields.empty()) next = std::async(std::launch::async, sort, 0);
  Status status;
  for (size_t f = 0; f < fields.size() && status.ok(); ++f) {
    next.get();
    if (f + 1 < fields.size()) next = std::async(std::launch::async, sort, f + 1);
    status = InsertSorted(db, *fields[f], entries[f]);
    std::vector<BlindEntry>().swap(entries[f]);  // release before the next field's inserts
  }
  if (next.valid()) next.wait();  // never leave the helper touching `entries`
  return status;
}

// Refills the blind-index tables of `fields` from persons' columns.
static Status RebuildBlindTables(Db& db, const std::vector<const FieldDef*>& fields) {
  std::vector<std::vector<BlindEntry>> entries;
  CLOISON_RETURN_IF_ERROR(ScanBlindColumns(db, fields, entries));
  return FillBlindTables(db, fields, entries);
}

namespace {

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

// Migration 4. A tag is now the first 16 bytes of the keyed BLAKE2b-256 the
// older stores kept whole, so an old tag cut short is exactly the new one:
// no value is decrypted or re-hashed. The blind-index tables' triggers are
// dropped first (cheaper than letting them rewrite every entry): a table
// without its triggers is not trusted, and the open that follows refills
// each such table from the shortened columns (CreatePersonIndexes).
Status ShortenBlindTags(Db& db) {
  constexpr size_t kTag = crypto::BlindIndexer::kTagSize;
  std::vector<std::string> triggers;
  {
    CLOISON_ASSIGN_OR_RETURN(Stmt s, db.Prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                                                "tbl_name = 'persons' AND name LIKE 'blind\\_%' ESCAPE '\\'",
                                                "read schema"));
    for (;;) {
      CLOISON_ASSIGN_OR_RETURN(bool row, db.StepRow(s, "read schema"));
      if (!row) break;
      triggers.emplace_back(s.ColumnText(0));
    }
  }
  for (const std::string& t : triggers)
    CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("DROP TRIGGER IF EXISTS ", Quoted(t)), "schema migration 4"));
  CLOISON_ASSIGN_OR_RETURN(auto columns, PersonColumns(db));
  for (const ColumnInfo& c : columns) {
    if (c.name.rfind("bi_", 0) != 0) continue;
    const std::string q = Quoted(c.name);
    CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("UPDATE persons SET ", q, " = substr(", q, ", 1, ", kTag, ") WHERE length(",
                                           q, ") > ", kTag),
                                    "schema migration 4"));
  }
  return OkStatus();
}

}  // namespace

std::string ValueColumn(const FieldDef& def) { return StrCat("f_", def.name); }
std::string BlindColumn(const FieldDef& def) { return StrCat("bi_", def.name); }
std::string BlindTable(const FieldDef& def) { return StrCat("blind_", def.name); }

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
    if (step == 4) CLOISON_RETURN_IF_ERROR(ShortenBlindTags(db));
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
    if (def.blind_index) CLOISON_RETURN_IF_ERROR(CreateBlindTable(db, def));
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

StatusOr<std::vector<std::string>> OrphanEncryptedColumns(Db& db, const FieldCatalog& catalog) {
  CLOISON_ASSIGN_OR_RETURN(auto columns, PersonColumns(db));
  std::set<std::string> current;
  for (const FieldDef& def : catalog.fields()) current.insert(ValueColumn(def));
  std::vector<std::string> out;
  for (const ColumnInfo& c : columns)
    if (c.name.rfind("f_", 0) == 0 && c.type == "BLOB" && !current.count(c.name)) out.push_back(Quoted(c.name));
  return out;
}

Status CreatePersonIndexes(Db& db, const FieldCatalog& catalog) {
  std::vector<const FieldDef*> missing;
  for (const FieldDef& def : catalog.fields()) {
    if (!def.blind_index) continue;
    CLOISON_ASSIGN_OR_RETURN(bool has, HasTriggers(db, def));
    if (!has) missing.push_back(&def);
  }
  if (!missing.empty()) {
    Txn txn(db);
    CLOISON_RETURN_IF_ERROR(txn.Begin());
    for (const FieldDef* def : missing) CLOISON_RETURN_IF_ERROR(DropTriggers(db, *def));  // partial sets
    CLOISON_RETURN_IF_ERROR(RebuildBlindTables(db, missing));
    CLOISON_RETURN_IF_ERROR(txn.Commit());
  }
  return db.Exec("CREATE INDEX IF NOT EXISTS persons_key_id ON persons(key_id)", "create key id index");
}

Status DropPersonIndexes(Db& db, const FieldCatalog& catalog) {
  Txn txn(db);
  CLOISON_RETURN_IF_ERROR(txn.Begin());
  for (const FieldDef& def : catalog.fields()) {
    if (!def.blind_index) continue;
    CLOISON_RETURN_IF_ERROR(DropTriggers(db, def));
    CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("DELETE FROM ", Quoted(BlindTable(def))), "clear blind index"));
    CLOISON_RETURN_IF_ERROR(db.Exec(StrCat("DROP INDEX IF EXISTS ", Quoted(LegacyIndexName(def))),
                                    "drop old blind index"));
  }
  CLOISON_RETURN_IF_ERROR(
      db.Exec("CREATE INDEX IF NOT EXISTS persons_key_id ON persons(key_id)", "create key id index"));
  return txn.Commit();
}

}  // namespace cloison::store::internal
