#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/field_catalog.h"
#include "core/strings.h"
#include "crypto/keys.h"
#include "crypto/secure_random.h"
#include "store/store.h"

namespace cloison::store {
namespace {

namespace fs = std::filesystem;

crypto::SecretBytes RandomMasterKey() {
  crypto::SecretBytes k(crypto::kMasterKeySize);
  crypto::SecureRandom::Instance().Fill(std::span<uint8_t>(k.mutable_data(), k.size()));
  return k;
}

std::string Digits(int64_t v, int width) {
  std::string s = std::to_string(v);
  return std::string(static_cast<size_t>(std::max<int>(0, width - static_cast<int>(s.size()))), '0') + s;
}

// A blind-index tag as stores before schema 4 kept it: 32 bytes, of which
// only the first 16 (today's tag) are used after migration 4; the rest is
// filler here.
std::vector<uint8_t> LegacyTag(std::string_view field, std::string_view canonical, const crypto::SecretBytes& master) {
  const auto tag = crypto::BlindIndexer::FromMaster(master).Tag(field, canonical);
  std::vector<uint8_t> out(tag.begin(), tag.end());
  out.resize(32, 0xEE);
  return out;
}

// Raw SQLite access for the tests that look under the store.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK); }
  ~RawDb() { sqlite3_close(db_); }
  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "") << "\n" << sql;
  }
  std::string Text(const std::string& sql) {
    std::string v;
    ForFirstRow(sql, [&](sqlite3_stmt* s) { v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0)); });
    return v;
  }
  int64_t Int(const std::string& sql) {
    int64_t v = -1;
    ForFirstRow(sql, [&](sqlite3_stmt* s) { v = sqlite3_column_int64(s, 0); });
    return v;
  }
  std::set<std::string> Columns(const std::string& table) {
    std::set<std::string> out;
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, ("PRAGMA table_info(" + table + ")").c_str(), -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) out.insert(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
    sqlite3_finalize(s);
    return out;
  }
  std::vector<int64_t> Ints(const std::string& sql) {
    std::vector<int64_t> out;
    ForEachRow(sql, [&](sqlite3_stmt* s) { out.push_back(sqlite3_column_int64(s, 0)); });
    return out;
  }
  std::vector<uint8_t> Blob(const std::string& sql) {
    std::vector<uint8_t> v;
    ForFirstRow(sql, [&](sqlite3_stmt* s) {
      const auto* b = static_cast<const uint8_t*>(sqlite3_column_blob(s, 0));
      v.assign(b, b + sqlite3_column_bytes(s, 0));
    });
    return v;
  }
  // Runs an INSERT/UPDATE with blob parameters.
  void ExecBlobs(const std::string& sql, const std::vector<std::vector<uint8_t>>& blobs) {
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    for (size_t i = 0; i < blobs.size(); ++i)
      sqlite3_bind_blob(s, static_cast<int>(i + 1), blobs[i].data(), static_cast<int>(blobs[i].size()),
                        SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(s), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(s);
  }

 private:
  template <typename F>
  void ForEachRow(const std::string& sql, F on_row, bool first_only = false) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db_) << "\n" << sql;
    while (s && sqlite3_step(s) == SQLITE_ROW) {
      on_row(s);
      if (first_only) break;
    }
    sqlite3_finalize(s);
  }
  template <typename F>
  void ForFirstRow(const std::string& sql, F on_row) {
    ForEachRow(sql, on_row, /*first_only=*/true);
  }

  sqlite3* db_ = nullptr;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    dir_ = fs::temp_directory_path() /
           StrCat("cloison_store_test_", crypto::SecureRandom::Instance().Next64());
    fs::create_directories(dir_);
    path_ = (dir_ / "cloison.db").string();
    master_ = RandomMasterKey();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  const FieldCatalog& catalog() const { return FieldCatalog::Default(); }
  size_t F(std::string_view name) const { return *catalog().IndexOf(name); }

  std::unique_ptr<Store> Open(bool bulk = false, const FieldCatalog* cat = nullptr) {
    SqliteOptions o;
    o.path = path_;
    o.bulk = bulk;
    o.cache_mib = 16;
    auto s = OpenSqliteStore(o, cat ? *cat : catalog(), master_, clock_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // A person with distinct identifiers derived from i.
  Person MakePerson(int64_t i, const FieldCatalog* cat = nullptr) const {
    const FieldCatalog& c = cat ? *cat : catalog();
    Person p;
    p.referent_structure = StructureId(1 + i % 3);
    if (i % 2) p.referent_counsellor = AccountId(10 + i % 5);
    if (i % 4 == 0) p.other_structures = {StructureId(7), StructureId(8)};
    p.fields.resize(c.size());
    auto set = [&](std::string_view name, std::string v) {
      if (auto idx = c.IndexOf(name)) p.fields[*idx] = std::move(v);
    };
    set("nom", StrCat("Nom", i));
    set("prenom", "Camille");
    set("sexe", i % 2 ? "F" : "M");
    set("date_naissance", "1999-04-0" + std::to_string(1 + i % 9));
    set("nir", StrCat("2990467", Digits(i, 6), "42"));
    set("ft_id", Digits(90000000000 + i, 11));
    if (i % 3 == 0) set("ft_id_legacy", StrCat(Digits(i % 10000000, 7), "X"));
    set("email", StrCat("camille.nom", i, "@exemple.fr"));
    set("telephone", StrCat("06", Digits(i, 8)));
    set("adresse", StrCat(i % 100, " rue des Lilas"));
    set("code_postal", "67000");
    set("commune", "Strasbourg");
    set("date_inscription", "2024-01-15");
    set("statut", "inscrit");
    return p;
  }

  std::vector<Person> MakePeople(int64_t from, int64_t count) const {
    std::vector<Person> out;
    for (int64_t i = from; i < from + count; ++i) out.push_back(MakePerson(i));
    return out;
  }

  // 1,500 people over three pipeline chunks, two of whom come again later
  // in the same call: person 4 renamed, and person 601, whose first row
  // had no NIR (matched by ft_id). Upserts them and checks the matches.
  UpsertResult UpsertBatchWithLaterDuplicates(Store& st, std::vector<Person>& batch) const {
    batch = MakePeople(1, 1500);
    batch[1400] = MakePerson(4);
    batch[1400].fields[F("nom")] = "Renommee";
    batch[600].fields[F("nir")] = "";
    batch[1499] = MakePerson(601);
    auto r = st.UpsertPersons(batch);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    EXPECT_EQ(r->inserted, 1498);
    EXPECT_EQ(r->updated, 2);
    EXPECT_EQ(r->ids[1400], r->ids[3]);
    EXPECT_EQ(r->ids[1499], r->ids[600]);
    return std::move(*r);
  }

  // Rewrites every persons row as the code of schema 4 and before wrote it:
  // each value carries its own key id and nonce (key id || nonce ||
  // ciphertext || tag, under the active key), and there is no nonce_prefix
  // column. The values come from reading the store, so the rows keep their
  // content; the schema version is left to the caller.
  void RewriteAsLegacyRows() {
    std::vector<Person> people;
    {
      auto st = Open();
      ASSERT_TRUE(st);
      for (int64_t id : RawDb(path_).Ints("SELECT id FROM persons ORDER BY id")) {
        auto p = st->GetPerson(PersonId(id));
        ASSERT_TRUE(p.ok()) << p.status();
        people.push_back(std::move(*p));
      }
    }
    RawDb raw(path_);
    std::vector<crypto::WrappedKey> keys;
    for (int64_t id : raw.Ints("SELECT key_id FROM keys ORDER BY key_id"))
      keys.push_back({static_cast<uint32_t>(id), raw.Blob(StrCat("SELECT wrapped FROM keys WHERE key_id = ", id))});
    const uint32_t active = static_cast<uint32_t>(raw.Int("SELECT key_id FROM keys WHERE active = 1"));
    auto ring = crypto::KeyRing::Open(master_, keys, active);
    ASSERT_TRUE(ring.ok()) << ring.status();
    for (const Person& p : people) {
      for (size_t f = 0; f < catalog().size(); ++f) {
        const FieldDef& def = catalog().at(f);
        if (!def.encrypted() || p.fields[f].empty()) continue;
        std::vector<uint8_t> blob = {static_cast<uint8_t>(active >> 24), static_cast<uint8_t>(active >> 16),
                                     static_cast<uint8_t>(active >> 8), static_cast<uint8_t>(active)};
        ring->active().EncryptTo(crypto::AsBytes(p.fields[f]),
                                 crypto::AsBytes(FieldAssociatedData(p.id, def.name, active)), blob);
        raw.ExecBlobs(StrCat("UPDATE persons SET f_", def.name, " = ?, key_id = ", active, " WHERE id = ",
                             p.id.value()),
                      {blob});
      }
    }
    raw.Exec("ALTER TABLE persons DROP COLUMN nonce_prefix");
  }

  fs::path dir_;
  std::string path_;
  crypto::SecretBytes master_;
  FakeClock clock_;
};

void ExpectSamePerson(const Person& want, const Person& got) {
  EXPECT_EQ(want.referent_structure, got.referent_structure);
  EXPECT_EQ(want.referent_counsellor, got.referent_counsellor);
  EXPECT_EQ(want.other_structures, got.other_structures);
  EXPECT_EQ(want.fields, got.fields);
}

TEST_F(StoreTest, FreshStoreIsMigratedAndHasKeyOne) {
  auto st = Open();
  ASSERT_TRUE(st);
  auto stats = st->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->schema_version, 5);
  EXPECT_EQ(stats->active_key_id, 1u);
  EXPECT_EQ(stats->persons, 0);
  st.reset();
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("PRAGMA user_version"), 5);
  EXPECT_TRUE(raw.Columns("persons").count("nonce_prefix"));
  EXPECT_EQ(raw.Int("PRAGMA page_size"), 16384) << "new databases get 16 KiB pages";
  EXPECT_EQ(raw.Int("SELECT count(*) FROM keys WHERE active = 1"), 1);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM decoys"), 0);
  const auto cols = raw.Columns("persons");
  for (const char* c : {"id", "referent_structure_id", "referent_counsellor_id", "other_structures", "f_nom",
                        "f_nir", "bi_nir", "bi_ft_id", "bi_ft_id_legacy", "bi_email", "f_telephone"})
    EXPECT_TRUE(cols.count(c)) << c;
  EXPECT_FALSE(cols.count("bi_telephone"));
  // Blind indexes: a table per field, keyed on the tag alone for a unique
  // field, kept by three triggers each.
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='blind_nir' "
                    "AND sql LIKE '%PRIMARY KEY(tag))%'"),
            1);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='blind_email' "
                    "AND sql LIKE '%PRIMARY KEY(tag, person_id))%'"),
            1);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'blind_%'"), 12);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='index' AND name LIKE 'persons_bi_%'"), 0);
}

// Opening a store sets SQLite's process settings first: memory statistics
// off (no global mutex per allocation), so SQLite counts nothing however much
// it allocates. ctest runs each test in its own process, so this open is the
// process's first use of SQLite.
TEST_F(StoreTest, OpeningAStoreTurnsSqliteMemoryStatisticsOff) {
  auto st = Open();
  ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 50)).ok());
  EXPECT_TRUE(ConfigureSqliteForProcess());
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

// The triggers keep each blind-index table equal to the persons column
// through inserts, updates (re-imports that change a value) and deletes, and
// a unique field's table refuses a second person even when a write goes
// around the store's own checks.
TEST_F(StoreTest, BlindIndexTablesFollowEveryWrite) {
  auto st = Open();
  auto people = MakePeople(1, 5);
  auto r = st->UpsertPersons(people);
  ASSERT_TRUE(r.ok()) << r.status();
  const std::string old_email = people[2].fields[F("email")];
  people[2].id = r->ids[2];
  people[2].fields[F("email")] = "nouvelle.adresse@exemple.fr";
  people[2].fields[F("ft_id")] = "";
  ASSERT_TRUE(st->UpsertPersons(std::span<const Person>(&people[2], 1)).ok());
  EXPECT_TRUE(st->FindPersons("email", old_email)->empty());
  EXPECT_EQ(*st->FindPersons("email", "Nouvelle.Adresse@exemple.fr"), std::vector<PersonId>{r->ids[2]});
  EXPECT_TRUE(st->FindPersons("ft_id", MakePerson(3).fields[F("ft_id")])->empty());
  EXPECT_EQ(*st->FindPersons("nir", people[2].fields[F("nir")]), std::vector<PersonId>{r->ids[2]});
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_nir"), 5);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_ft_id"), 4);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_email"), 5);
    // Around the store: person 2 takes person 1's NIR tag. Refused.
    char* err = nullptr;
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const std::string sql = "UPDATE persons SET bi_nir = (SELECT bi_nir FROM persons WHERE id = " +
                            std::to_string(r->ids[0].value()) + ") WHERE id = " + std::to_string(r->ids[1].value());
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_CONSTRAINT);
    sqlite3_free(err);
    sqlite3_close(db);
    raw.Exec("DELETE FROM persons WHERE id = " + std::to_string(r->ids[4].value()));
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_nir"), 4);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_email"), 4);
  }
  EXPECT_TRUE(st->FindPersons("nir", people[4].fields[F("nir")])->empty());
}

// A store from before blind-index tables (persons_bi_* indexes on the
// columns) gets its tables built from the columns on open, and the old
// indexes dropped.
TEST_F(StoreTest, StoreWithColumnIndexesGetsBlindIndexTables) {
  std::vector<PersonId> ids;
  {
    auto st = Open();
    auto r = st->UpsertPersons(MakePeople(1, 40));
    ASSERT_TRUE(r.ok());
    ids = r->ids;
  }
  {
    RawDb raw(path_);
    // As such a store is: no tables, no triggers. (For e-mail, the table
    // alone is dropped: its left-over triggers must not make the new, empty
    // table look complete.)
    for (const char* f : {"nir", "ft_id", "ft_id_legacy"}) {
      raw.Exec(StrCat("DROP TABLE blind_", f));
      for (const char* t : {"insert", "update", "delete"}) raw.Exec(StrCat("DROP TRIGGER blind_", f, "_", t));
    }
    raw.Exec("DROP TABLE blind_email");
    raw.Exec("CREATE UNIQUE INDEX persons_bi_nir ON persons(bi_nir); CREATE INDEX persons_bi_email ON persons(bi_email)");
  }
  auto st = Open();
  ASSERT_TRUE(st);
  EXPECT_EQ(*st->FindPersons("nir", MakePerson(17).fields[F("nir")]), std::vector<PersonId>{ids[16]});
  EXPECT_EQ(*st->FindPersons("email", MakePerson(40).fields[F("email")]), std::vector<PersonId>{ids[39]});
  // Re-importing still matches (through the rebuilt tables), never duplicates.
  auto again = st->UpsertPersons(MakePeople(1, 40));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->updated, 40);
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_nir"), 40);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='index' AND name LIKE 'persons_bi_%'"), 0);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'blind_%'"), 12);
}

TEST_F(StoreTest, PersonsRoundTripAndMaskLimitsDecryption) {
  auto st = Open();
  auto people = MakePeople(1, 5);
  auto r = st->UpsertPersons(people);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->inserted, 5);
  EXPECT_EQ(r->updated, 0);
  ASSERT_EQ(r->ids.size(), 5u);
  for (size_t i = 0; i < people.size(); ++i) {
    auto got = st->GetPerson(r->ids[i]);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->id, r->ids[i]);
    ExpectSamePerson(people[i], *got);
  }
  FieldMask mask;
  mask.include.assign(catalog().size(), false);
  mask.include[F("nom")] = true;
  mask.include[F("email")] = true;
  auto partial = st->GetPerson(r->ids[0], mask);
  ASSERT_TRUE(partial.ok());
  for (size_t f = 0; f < catalog().size(); ++f) {
    if (f == F("nom") || f == F("email")) EXPECT_EQ(partial->fields[f], people[0].fields[f]);
    else EXPECT_EQ(partial->fields[f], "") << catalog().at(f).name;
  }
  EXPECT_EQ(partial->referent_structure, people[0].referent_structure);

  auto missing = st->GetPerson(PersonId(9999));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);

  // Reopen: same values.
  st.reset();
  st = Open();
  auto again = st->GetPerson(r->ids[4]);
  ASSERT_TRUE(again.ok());
  ExpectSamePerson(people[4], *again);
}

TEST_F(StoreTest, WrongFieldCountIsInvalidArgument) {
  auto st = Open();
  Person p = MakePerson(1);
  p.fields.pop_back();
  auto r = st->UpsertPersons(std::span<const Person>(&p, 1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, FindPersonsThroughBlindIndexWithCanonicalisation) {
  auto st = Open();
  auto people = MakePeople(1, 20);
  auto r = st->UpsertPersons(people);
  ASSERT_TRUE(r.ok());
  const Person& p = people[7];
  const PersonId want = r->ids[7];
  for (const char* field : {"nir", "ft_id", "email"}) {
    auto found = st->FindPersons(field, p.fields[F(field)]);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(*found, std::vector<PersonId>{want}) << field;
  }
  // Non-canonical inputs: spaced NIR in lower case, upper-case e-mail.
  std::string nir = p.fields[F("nir")];
  std::string spaced = StrCat(nir.substr(0, 1), " ", nir.substr(1, 2), " ", nir.substr(3, 2), " ", nir.substr(5));
  auto by_nir = st->FindPersons("nir", spaced);
  ASSERT_TRUE(by_nir.ok());
  EXPECT_EQ(*by_nir, std::vector<PersonId>{want});
  std::string email = p.fields[F("email")];
  for (char& c : email) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto by_email = st->FindPersons("email", email);
  ASSERT_TRUE(by_email.ok());
  EXPECT_EQ(*by_email, std::vector<PersonId>{want});

  auto none = st->FindPersons("nir", "199999999999999");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(st->FindPersons("telephone", "0600000001").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st->FindPersons("no_such_field", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ReimportMatchesOnUniqueFieldsAndUpdates) {
  auto st = Open();
  auto people = MakePeople(1, 10);
  auto first = st->UpsertPersons(people);
  ASSERT_TRUE(first.ok());
  // Same people again, one with a new phone number: all updates, same ids.
  people[3].fields[F("telephone")] = "0799999999";
  auto second = st->UpsertPersons(people);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->inserted, 0);
  EXPECT_EQ(second->updated, 10);
  EXPECT_EQ(second->ids, first->ids);
  auto p3 = st->GetPerson(first->ids[3]);
  ASSERT_TRUE(p3.ok());
  EXPECT_EQ(p3->fields[F("telephone")], "0799999999");
  EXPECT_EQ(st->Stats()->persons, 10);

  // Matched on ft_id alone (no NIR given): still an update.
  Person only_ft = people[5];
  only_ft.fields[F("nir")] = "";
  auto third = st->UpsertPersons(std::span<const Person>(&only_ft, 1));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->updated, 1);
  EXPECT_EQ(third->ids[0], first->ids[5]);
  EXPECT_EQ(st->GetPerson(first->ids[5])->fields[F("nir")], "");
  // The NIR it released is free again for someone else.
  auto nir_lookup = st->FindPersons("nir", people[5].fields[F("nir")]);
  ASSERT_TRUE(nir_lookup.ok());
  EXPECT_TRUE(nir_lookup->empty());
}

TEST_F(StoreTest, ConflictingMatchesRejectTheWholeBatch) {
  auto st = Open();
  auto people = MakePeople(1, 3);
  auto first = st->UpsertPersons(people);
  ASSERT_TRUE(first.ok());
  // A new person, then one whose NIR is person 1's and ft_id person 2's.
  std::vector<Person> batch = {MakePerson(50), MakePerson(1)};
  batch[1].fields[F("ft_id")] = people[1].fields[F("ft_id")];
  auto r = st->UpsertPersons(batch);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(MessageOf(r.status()));
  EXPECT_NE(msg.find("nir"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ft_id"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(people[0].fields[F("nir")]), std::string::npos) << "message leaks a NIR";
  EXPECT_EQ(msg.find(people[1].fields[F("ft_id")]), std::string::npos) << "message leaks an ft_id";
  // Nothing written: the new person is absent, person 1 unchanged.
  EXPECT_EQ(st->Stats()->persons, 3);
  EXPECT_TRUE(st->FindPersons("nir", batch[0].fields[F("nir")])->empty());
  ExpectSamePerson(people[0], *st->GetPerson(first->ids[0]));

  // An explicit id whose unique value belongs to someone else.
  Person clash = MakePerson(60);
  clash.id = PersonId(500);
  clash.fields[F("nir")] = people[2].fields[F("nir")];
  EXPECT_EQ(st->UpsertPersons(std::span<const Person>(&clash, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st->Stats()->persons, 3);
}

// Store::BeginReadBatch: the reads of a batch share one read transaction
// (so they see one snapshot: a commit by another connection in between is not
// seen until the batch's transaction ends), a write through the store ends
// that transaction first (the write, and the reads after it, see the latest
// state), and EndReadBatch returns to one transaction per read.
TEST_F(StoreTest, ReadBatchSharesOneSnapshotUntilAWriteOrItsEnd) {
  auto st = Open();
  auto other = Open();  // another connection to the same file (the CLI, say)
  auto r = st->UpsertPersons(MakePeople(1, 3));
  ASSERT_TRUE(r.ok()) << r.status();
  const PersonId a = r->ids[0], b = r->ids[1], c = r->ids[2];
  auto rename = [&](Store& via, PersonId id, int64_t i, std::string name) {
    Person p = MakePerson(i);
    p.id = id;
    p.fields[F("nom")] = std::move(name);
    auto u = via.UpsertPersons(std::span<const Person>(&p, 1));
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_EQ(u->updated, 1);
  };
  auto nom = [&](PersonId id) {
    auto p = st->GetPerson(id);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->fields[F("nom")] : std::string("?");
  };

  st->BeginReadBatch();
  EXPECT_EQ(nom(a), "Nom1");            // the batch's snapshot is taken here
  rename(*other, b, 2, "Commit ailleurs");
  EXPECT_EQ(nom(b), "Nom2");            // same snapshot: the other commit is not seen yet
  rename(*st, c, 3, "Ecrit ici");      // a write ends the batch's transaction first...
  EXPECT_EQ(nom(c), "Ecrit ici");       // ...so it, and the reads after it, see the latest state
  EXPECT_EQ(nom(b), "Commit ailleurs");
  rename(*other, a, 1, "Encore ailleurs");
  EXPECT_EQ(nom(a), "Nom1");            // a new snapshot was taken at the read after the write
  st->EndReadBatch();
  EXPECT_EQ(nom(a), "Encore ailleurs");  // out of the batch: every read sees the latest commit
  rename(*other, a, 1, "Derniere");
  EXPECT_EQ(nom(a), "Derniere");

  // A transaction the caller opens inside a batch is its own, not nested in
  // the batch's read: its writes commit.
  st->BeginReadBatch();
  EXPECT_EQ(nom(b), "Commit ailleurs");
  Status s = st->RunInTransaction([&] {
    Person p = MakePerson(2);
    p.id = b;
    p.fields[F("nom")] = "Dans une transaction";
    return st->UpsertPersons(std::span<const Person>(&p, 1)).status();
  });
  ASSERT_TRUE(s.ok()) << s;
  st->EndReadBatch();
  auto seen = other->GetPerson(b);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->fields[F("nom")], "Dans une transaction");
}

TEST_F(StoreTest, ExplicitIdsAreKept) {
  auto st = Open();
  std::vector<Person> batch = {MakePerson(1), MakePerson(2)};
  batch[0].id = PersonId(1000);
  auto r = st->UpsertPersons(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ids[0], PersonId(1000));
  EXPECT_GT(r->ids[1].value(), 1000);
  EXPECT_EQ(r->inserted, 2);
  // Writing under an existing id updates it.
  Person again = MakePerson(1);
  again.id = PersonId(1000);
  again.fields[F("nom")] = "Autre";
  auto u = st->UpsertPersons(std::span<const Person>(&again, 1));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->updated, 1);
  EXPECT_EQ(st->GetPerson(PersonId(1000))->fields[F("nom")], "Autre");
}

TEST_F(StoreTest, DecoysAreRecordedApartAndOnlyForExistingPersons) {
  auto st = Open();
  auto r = st->UpsertPersons(std::vector<Person>{MakePerson(1), MakePerson(2), MakePerson(3)});
  ASSERT_TRUE(r.ok()) << r.status();
  const PersonId two = r->ids[1], three = r->ids[2];
  ASSERT_TRUE(st->MarkDecoys(std::vector<PersonId>{three, two}).ok());
  ASSERT_TRUE(st->MarkDecoys(std::vector<PersonId>{two}).ok());  // again: no-op
  auto d = st->ListDecoys();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, (std::vector<PersonId>{std::min(two, three), std::max(two, three)}));
  // An id that is nobody: refused, and nothing of the batch is marked.
  EXPECT_EQ(st->MarkDecoys(std::vector<PersonId>{r->ids[0], PersonId(999999)}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st->ListDecoys()->size(), 2u);
  // A decoy reads like anybody: nothing in its row says what it is.
  EXPECT_TRUE(st->GetPerson(two).ok());
  st.reset();
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM decoys"), 2);
}

TEST_F(StoreTest, LargeBatchMatchesDuplicatesAcrossPipelineChunks) {
  auto st = Open();
  std::vector<Person> batch;
  UpsertResult r = UpsertBatchWithLaterDuplicates(*st, batch);
  ASSERT_EQ(r.ids.size(), batch.size());
  EXPECT_EQ(st->Stats()->persons, 1498);
  EXPECT_EQ(st->GetPerson(r.ids[3])->fields[F("nom")], "Renommee");
  EXPECT_EQ(*st->FindPersons("nir", MakePerson(601).fields[F("nir")]), std::vector<PersonId>{r.ids[600]});
  for (size_t i : {0, 511, 512, 1023, 1024, 1498}) {
    auto p = st->GetPerson(r.ids[i]);
    ASSERT_TRUE(p.ok()) << i;
    ExpectSamePerson(batch[i], *p);
  }
}

// In a bulk load the one map of written tags answers both "earlier in this
// call" and "an earlier call": a duplicate within a call, one across calls,
// a person re-keyed by a call (its old value then matches nobody) and a
// value another person holds (refused) all resolve exactly.
TEST_F(StoreTest, BulkLoadMatchesDuplicatesWithinAndAcrossCalls) {
  auto st = Open(/*bulk=*/true);
  std::vector<Person> batch;
  UpsertResult a = UpsertBatchWithLaterDuplicates(*st, batch);
  ASSERT_EQ(a.ids.size(), batch.size());
  // Next call: person 10 takes a new ft_id (matched by its NIR); then a new
  // person comes with person 10's old ft_id, which 10 no longer holds once
  // this call is written: it must not match 10, and goes in as itself.
  Person ten = MakePerson(10), newcomer = MakePerson(5000);
  const std::string old_ft = ten.fields[F("ft_id")];
  ten.fields[F("ft_id")] = MakePerson(90000).fields[F("ft_id")];
  newcomer.fields[F("ft_id")] = old_ft;
  auto b = st->UpsertPersons(std::vector<Person>{ten, newcomer, MakePerson(2000)});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->ids[0], a.ids[9]);
  EXPECT_NE(b->ids[1], a.ids[9]);
  EXPECT_EQ(b->inserted, 2);
  EXPECT_EQ(b->updated, 1);
  // A value held by another person in the table is still refused.
  Person clash = MakePerson(30);  // its NIR says 30, its ft_id says 20
  clash.fields[F("ft_id")] = MakePerson(20).fields[F("ft_id")];
  EXPECT_EQ(st->UpsertPersons(std::vector<Person>{clash}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(st->FinishBulkLoad().ok());
  EXPECT_EQ(st->Stats()->persons, 1500);
  EXPECT_EQ(*st->FindPersons("ft_id", old_ft), std::vector<PersonId>{b->ids[1]});
  EXPECT_EQ(*st->FindPersons("ft_id", ten.fields[F("ft_id")]), std::vector<PersonId>{a.ids[9]});
  EXPECT_EQ(st->GetPerson(a.ids[3])->fields[F("nom")], "Renommee");
  EXPECT_EQ(*st->FindPersons("nir", MakePerson(601).fields[F("nir")]), std::vector<PersonId>{a.ids[600]});
  EXPECT_EQ(*st->FindPersons("nir", MakePerson(2000).fields[F("nir")]), std::vector<PersonId>{b->ids[2]});
}

TEST_F(StoreTest, BulkLoadDefersIndexesAndStillMatches) {
  {
    auto st = Open(/*bulk=*/true);
    {
      RawDb raw(path_);
      EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'blind_%'"), 0);
      // Kept: appended to in order during the load.
      EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='index' AND name = 'persons_key_id'"), 1);
    }
    auto a = st->UpsertPersons(MakePeople(1, 700));
    ASSERT_TRUE(a.ok()) << a.status();
    auto b = st->UpsertPersons(MakePeople(501, 700));  // 200 re-imports
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->inserted, 500);
    EXPECT_EQ(b->updated, 200);
    EXPECT_EQ(b->ids[0], a->ids[500]);
    // Conflicts are caught without indexes too, and roll back.
    std::vector<Person> bad = {MakePerson(5000), MakePerson(2)};
    bad[1].fields[F("ft_id")] = MakePerson(3).fields[F("ft_id")];
    EXPECT_EQ(st->UpsertPersons(bad).status().code(), absl::StatusCode::kInvalidArgument);
    // A rolled-back person left no trace that would match later.
    auto c = st->UpsertPersons(MakePeople(5000, 1));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->inserted, 1);
    // FindPersons works (by scanning) before the indexes exist.
    EXPECT_EQ(*st->FindPersons("nir", MakePerson(10).fields[F("nir")]), std::vector<PersonId>{a->ids[9]});
    ASSERT_TRUE(st->FinishBulkLoad().ok());
    ASSERT_TRUE(st->FinishBulkLoad().ok());  // idempotent
    EXPECT_EQ(st->Stats()->persons, 1201);
    EXPECT_EQ(*st->FindPersons("email", MakePerson(1000).fields[F("email")]), std::vector<PersonId>{b->ids[499]});
    auto d = st->UpsertPersons(MakePeople(1, 2));  // normal path after the load
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->updated, 2);
  }
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'blind_%'"), 12);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_nir"), 1201);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_nir WHERE person_id NOT IN (SELECT id FROM persons)"), 0);
}

// A bulk load into an empty store writes its pages once, with a rollback
// journal instead of the WAL, and returns to WAL when it finishes; a failed
// call still rolls back. With another connection open it cannot switch,
// and loads in WAL mode as before.
TEST_F(StoreTest, BulkLoadUsesARollbackJournalAndReturnsToWal) {
  {
    auto st = Open(/*bulk=*/true);
    EXPECT_EQ(RawDb(path_).Text("PRAGMA journal_mode"), "wal") << "until the first batch of people";
    ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 300)).ok());
    EXPECT_EQ(RawDb(path_).Text("PRAGMA journal_mode"), "delete") << "not in WAL mode during the load";
    std::vector<Person> bad = {MakePerson(900), MakePerson(2)};
    bad[1].fields[F("ft_id")] = MakePerson(3).fields[F("ft_id")];
    EXPECT_EQ(st->UpsertPersons(bad).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(RawDb(path_).Int("SELECT count(*) FROM persons"), 300) << "the failed call left nothing";
    ASSERT_TRUE(st->FinishBulkLoad().ok());
    EXPECT_EQ(RawDb(path_).Text("PRAGMA journal_mode"), "wal");
    ASSERT_TRUE(st->UpsertPersons(MakePeople(301, 10)).ok());
  }
  EXPECT_EQ(RawDb(path_).Text("PRAGMA journal_mode"), "wal");
  auto st = Open();
  EXPECT_EQ(st->Stats()->persons, 310);
}

TEST_F(StoreTest, BulkLoadStaysInWalWhenAnotherConnectionHasTheStoreOpen) {
  { auto st = Open(); }  // create the schema
  RawDb other(path_);
  ASSERT_EQ(other.Int("SELECT count(*) FROM persons"), 0);
  {
    auto st = Open(/*bulk=*/true);
    EXPECT_EQ(other.Text("PRAGMA journal_mode"), "wal");
    ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 200)).ok());
    EXPECT_EQ(other.Int("SELECT count(*) FROM persons"), 200);  // readable meanwhile, as in WAL
    ASSERT_TRUE(st->FinishBulkLoad().ok());
  }
  EXPECT_EQ(other.Int("SELECT count(*) FROM blind_nir"), 200);
}

// The index build (FinishBulkLoad) runs with its own connection settings
// (temp file spills, small sort runs): a failure in the middle must leave the
// store usable and the build retryable.
TEST_F(StoreTest, BulkIndexBuildFailureIsCorruptionAndCanBeRetried) {
  auto st = Open(/*bulk=*/true);
  auto a = st->UpsertPersons(MakePeople(1, 300));
  ASSERT_TRUE(a.ok()) << a.status();
  const std::string p2 = std::to_string(a->ids[1].value());
  {
    // Another connection writes behind the store's back: a person holding
    // person 1's NIR tag. (The store then cannot trust the tags it kept in
    // memory and scans the table, which finds the duplicate.)
    RawDb raw(path_);
    raw.Exec("INSERT INTO persons(id, referent_structure_id, key_id, bi_nir) SELECT 999999, "
             "referent_structure_id, key_id, bi_nir FROM persons WHERE id = " +
             std::to_string(a->ids[0].value()));
  }
  Status s = st->FinishBulkLoad();
  EXPECT_TRUE(IsCorruption(s)) << s;
  EXPECT_NE(s.message().find("'nir'"), std::string::npos) << s;
  // Still usable: reads, and a further load under the bulk rules.
  auto p = st->GetPerson(a->ids[10]);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(st->UpsertPersons(MakePeople(301, 50)).ok());
  {
    RawDb raw(path_);
    raw.Exec("DELETE FROM persons WHERE id = 999999");
  }
  ASSERT_TRUE(st->FinishBulkLoad().ok());
  EXPECT_EQ(*st->FindPersons("nir", MakePerson(2).fields[F("nir")]), std::vector<PersonId>{a->ids[1]});
  EXPECT_EQ(st->FindPersons("nir", MakePerson(340).fields[F("nir")]).value().size(), 1u);
}

// A load of new people only (the common case) builds the tables from the
// tags it kept while writing, not from a second read of the table; a batch
// that was rolled back must leave no entry behind.
TEST_F(StoreTest, BulkLoadOfNewPeopleBuildsTablesEqualToTheColumns) {
  auto st = Open(/*bulk=*/true);
  ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 900)).ok());
  std::vector<Person> bad = MakePeople(2000, 300);
  bad[250].fields[F("nir")] = MakePerson(3).fields[F("nir")];  // person 3's NIR, person 4's ft_id:
  bad[250].fields[F("ft_id")] = MakePerson(4).fields[F("ft_id")];  // two people match, the batch is refused
  EXPECT_EQ(st->UpsertPersons(bad).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(st->UpsertPersons(MakePeople(901, 100)).ok());
  ASSERT_TRUE(st->FinishBulkLoad().ok());
  RawDb raw(path_);
  for (const char* f : {"nir", "ft_id", "ft_id_legacy", "email"}) {
    const std::string col = StrCat("bi_", f), table = StrCat("blind_", f);
    const int64_t in_column = raw.Int(StrCat("SELECT count(*) FROM persons WHERE ", col, " IS NOT NULL"));
    EXPECT_GT(in_column, 0) << f;
    EXPECT_EQ(raw.Int(StrCat("SELECT count(*) FROM ", table)), in_column) << f;
    EXPECT_EQ(raw.Int(StrCat("SELECT count(*) FROM persons p JOIN ", table, " b ON b.person_id = p.id AND b.tag = p.",
                             col)),
              in_column)
        << f;
  }
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'blind_%'"), 12);
  EXPECT_EQ(*st->FindPersons("nir", MakePerson(950).fields[F("nir")]), std::vector<PersonId>{PersonId(950)});
  EXPECT_TRUE(st->FindPersons("nir", MakePerson(2100).fields[F("nir")])->empty());  // rolled back
}

TEST_F(StoreTest, BulkLoadWithoutFinishIsCompletedByDestructorOrNextOpen) {
  {
    auto st = Open(/*bulk=*/true);
    ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 100)).ok());
  }  // destructor builds the indexes
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'blind_%'"), 12);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_email"), 100);
    // Simulate a crashed load: triggers gone, tables empty or partial.
    raw.Exec("DROP TRIGGER blind_nir_insert; DELETE FROM blind_nir; DROP TRIGGER blind_email_update;"
             "DELETE FROM blind_email WHERE person_id > 50");
  }
  auto st = Open();
  RawDb raw(path_);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type='trigger' AND name LIKE 'blind_%'"), 12);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_nir"), 100);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_email"), 100);
  EXPECT_EQ(st->FindPersons("nir", MakePerson(5).fields[F("nir")])->size(), 1u);
}

TEST_F(StoreTest, CiphertextMovedToAnotherRowOrFieldIsCorruption) {
  {
    auto st = Open();
    ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 3)).ok());
  }
  {
    RawDb raw(path_);
    raw.Exec("UPDATE persons SET f_email = (SELECT f_email FROM persons WHERE id = 2) WHERE id = 1");
    raw.Exec("UPDATE persons SET f_telephone = f_adresse WHERE id = 3");
  }
  auto st = Open();
  auto moved_row = st->GetPerson(PersonId(1));
  EXPECT_TRUE(IsCorruption(moved_row.status())) << moved_row.status();
  auto moved_field = st->GetPerson(PersonId(3));
  EXPECT_TRUE(IsCorruption(moved_field.status())) << moved_field.status();
  // A mask without the damaged field still reads.
  FieldMask mask;
  mask.include.assign(catalog().size(), true);
  mask.include[F("email")] = false;
  EXPECT_TRUE(st->GetPerson(PersonId(1), mask).ok());
  // Person 2 is intact.
  EXPECT_TRUE(st->GetPerson(PersonId(2)).ok());
}

TEST_F(StoreTest, UnknownKeyIdAndMalformedBlobAreCorruption) {
  {
    auto st = Open();
    ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 2)).ok());
  }
  {
    RawDb raw(path_);
    raw.Exec("UPDATE persons SET key_id = 9 WHERE id = 1");
    raw.Exec("UPDATE persons SET f_email = X'0001' WHERE id = 2");
  }
  auto st = Open();
  auto unknown = st->GetPerson(PersonId(1));
  EXPECT_TRUE(IsCorruption(unknown.status())) << unknown.status();
  EXPECT_NE(MessageOf(unknown.status()).find("unknown key id 9"), std::string_view::npos);
  auto short_value = st->GetPerson(PersonId(2));
  EXPECT_TRUE(IsCorruption(short_value.status())) << short_value.status();
  EXPECT_NE(MessageOf(short_value.status()).find("field 'email': encrypted value is too short"), std::string_view::npos)
      << short_value.status();
}

// An envelope row's values hang on its nonce prefix and key id: a prefix
// cut short, a prefix taken from another row, a value moved to another
// index or a key id relabelled to another existing key all read as
// Corruption, never as another value; the other rows are untouched.
TEST_F(StoreTest, EnvelopeRowTamperingIsCorruption) {
  {
    auto st = Open();
    ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 6)).ok());
    ASSERT_EQ(*st->AddKeyAndActivate(), 2u);  // key 2 exists; every row stays under key 1
  }
  {
    RawDb raw(path_);
    raw.Exec("UPDATE persons SET nonce_prefix = substr(nonce_prefix, 1, 15) WHERE id = 1");
    raw.Exec("UPDATE persons SET nonce_prefix = (SELECT nonce_prefix FROM persons WHERE id = 6) WHERE id = 2");
    raw.Exec("UPDATE persons SET f_nir = X'07' || substr(f_nir, 2) WHERE id = 3");
    raw.Exec("UPDATE persons SET key_id = 2 WHERE id = 4");
  }
  auto st = Open();
  auto cut = st->GetPerson(PersonId(1));
  EXPECT_TRUE(IsCorruption(cut.status())) << cut.status();
  EXPECT_NE(MessageOf(cut.status()).find("nonce prefix is 15 bytes"), std::string_view::npos) << cut.status();
  for (int64_t id : {2, 3, 4}) {
    auto got = st->GetPerson(PersonId(id));
    EXPECT_TRUE(IsCorruption(got.status())) << "person " << id << ": " << got.status();
  }
  // Person 3's other fields still read one by one through a mask.
  FieldMask mask;
  mask.include.assign(catalog().size(), true);
  mask.include[F("nir")] = false;
  EXPECT_TRUE(st->GetPerson(PersonId(3), mask).ok());
  EXPECT_TRUE(st->GetPerson(PersonId(5)).ok());
  EXPECT_TRUE(st->GetPerson(PersonId(6)).ok());
}

TEST_F(StoreTest, WrongMasterKeyIsPermissionDenied) {
  { ASSERT_TRUE(Open()); }
  SqliteOptions o;
  o.path = path_;
  auto st = OpenSqliteStore(o, catalog(), RandomMasterKey(), clock_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(MessageOf(st.status()), "master key does not match this store");
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(StoreTest, NoPlaintextSensitiveValueInDatabaseOrWal) {
  auto people = MakePeople(1, 200);
  auto st = Open();
  ASSERT_TRUE(st->UpsertPersons(people).ok());
  // Rewrite some, so old row versions also pass through the WAL.
  std::vector<Person> again(people.begin(), people.begin() + 50);
  ASSERT_TRUE(st->UpsertPersons(again).ok());
  auto scan = [&](const std::string& what) {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir_)) files.push_back(ReadFile(e.path()));
    std::string all;
    for (auto& f : files) all += f;
    ASSERT_FALSE(all.empty());
    // The scan works: a personal (clear) field is there.
    EXPECT_NE(all.find(people[17].fields[F("nom")]), std::string::npos) << what;
    for (const Person& p : people) {
      for (const char* field : {"nir", "email", "telephone", "ft_id", "date_naissance", "adresse"}) {
        const std::string& v = p.fields[F(field)];
        if (v.size() < 8) continue;
        ASSERT_EQ(all.find(v), std::string::npos) << what << ": plaintext " << field << " found";
      }
    }
  };
  ASSERT_TRUE(fs::exists(path_ + "-wal"));
  EXPECT_GT(fs::file_size(path_ + "-wal"), 0u);
  scan("open store (db + wal)");
  st.reset();
  scan("closed store");
}

// The v1 schema exactly as shipped (kept here, not shared with the code, so
// that editing a shipped migration breaks this test).
constexpr const char* kV1Ddl = R"sql(
CREATE TABLE structures(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, parent_id INTEGER, code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL, time_zone TEXT NOT NULL, open_minute INTEGER NOT NULL, close_minute INTEGER NOT NULL,
  weekdays INTEGER NOT NULL, departement TEXT NOT NULL);
CREATE TABLE agents(id INTEGER PRIMARY KEY, structure_id INTEGER NOT NULL, username TEXT NOT NULL UNIQUE,
  nom TEXT NOT NULL, prenom TEXT NOT NULL, roles TEXT NOT NULL);
CREATE TABLE formations(id INTEGER PRIMARY KEY, organisation_id INTEGER NOT NULL, code TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL, domain TEXT NOT NULL);
CREATE TABLE training_sessions(id INTEGER PRIMARY KEY, formation_id INTEGER NOT NULL, code TEXT NOT NULL UNIQUE,
  start_day INTEGER NOT NULL, end_day INTEGER NOT NULL, place TEXT NOT NULL);
CREATE TABLE orientations(id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL, session_id INTEGER NOT NULL,
  counsellor_id INTEGER NOT NULL, status TEXT NOT NULL, proposed_day INTEGER NOT NULL, decided_day INTEGER,
  enrolled_day INTEGER, ended_day INTEGER);
CREATE INDEX orientations_person ON orientations(person_id);
CREATE TABLE persons(id INTEGER PRIMARY KEY, referent_structure_id INTEGER NOT NULL, referent_counsellor_id INTEGER,
  other_structures TEXT, key_id INTEGER NOT NULL);
CREATE TABLE keys(key_id INTEGER PRIMARY KEY, wrapped BLOB NOT NULL, created_at INTEGER NOT NULL,
  active INTEGER NOT NULL);
PRAGMA user_version = 1;
)sql";

// A version-3 store, as the code of then wrote it: every bi_<name> column
// and blind_<name> table held 32-byte tags, whose first 16 bytes are
// today's tag (the rest stands for the hash's other half).
TEST_F(StoreTest, MigratesVersionThreeTagsToSixteenBytes) {
  {
    auto st = Open();
    ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 50)).ok());
  }
  RewriteAsLegacyRows();
  {
    RawDb raw(path_);
    // (|| makes text of blobs: cast back, or length() counts characters.)
    for (const char* c : {"bi_nir", "bi_email", "bi_ft_id", "bi_ft_id_legacy"})
      raw.Exec(StrCat("UPDATE persons SET ", c, " = CAST(", c, " || x'EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE' AS BLOB)"));
    for (const char* t : {"blind_nir", "blind_email", "blind_ft_id", "blind_ft_id_legacy"})
      raw.Exec(StrCat("DELETE FROM ", t, "; INSERT INTO ", t, "(tag, person_id) SELECT bi_", t + 6,
                      ", id FROM persons WHERE bi_", t + 6, " IS NOT NULL"));
    raw.Exec("PRAGMA user_version = 3");
    ASSERT_EQ(raw.Int("SELECT count(*) FROM persons WHERE length(bi_nir) = 32"), 50);
    ASSERT_EQ(raw.Int("SELECT count(*) FROM blind_nir WHERE length(tag) = 32"), 50);
  }
  auto st = Open();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->Stats()->schema_version, 5);
  for (int64_t i = 1; i <= 50; ++i) ExpectSamePerson(MakePerson(i), *st->GetPerson(PersonId(i)));
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM persons WHERE length(bi_nir) = 16"), 50);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_nir WHERE length(tag) = 16"), 50);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM blind_email WHERE length(tag) = 16"), 50);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'blind%'"), 12)
        << "the tables are trusted again";
  }
  // Lookups, matching on re-import and uniqueness work on the shortened tags.
  const Person p7 = MakePerson(7);
  EXPECT_EQ(*st->FindPersons("nir", p7.fields[F("nir")]), std::vector<PersonId>{PersonId(7)});
  EXPECT_EQ(*st->FindPersons("email", p7.fields[F("email")]), std::vector<PersonId>{PersonId(7)});
  auto again = st->UpsertPersons(MakePeople(1, 50));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->updated, 50);
  EXPECT_EQ(again->inserted, 0);
  std::vector<Person> clash = {MakePerson(900)};
  clash[0].id = PersonId(900);
  clash[0].fields[F("nir")] = p7.fields[F("nir")];
  EXPECT_FALSE(st->UpsertPersons(clash).ok()) << "a second person with person 7's NIR";
  EXPECT_EQ(st->Stats()->persons, 50);
}

TEST_F(StoreTest, MigratesVersionOneDatabaseKeepingData) {
  const std::string email = "ancien.format@exemple.fr";
  {
    RawDb raw(path_);
    raw.Exec(kV1Ddl);
    // A v1 store as the v1 code left it: catalog columns added by sync.
    raw.Exec("ALTER TABLE persons ADD COLUMN f_nom TEXT; ALTER TABLE persons ADD COLUMN f_email BLOB;"
             "ALTER TABLE persons ADD COLUMN bi_email BLOB;");
    raw.Exec("INSERT INTO structures VALUES(1, 'mission_locale', NULL, 'ML-67-001', 'Mission locale', "
             "'Europe/Paris', 510, 1050, 31, '67')");
    crypto::WrappedKey k = crypto::KeyRing::NewWrappedKey(master_, 1);
    raw.ExecBlobs("INSERT INTO keys VALUES(1, ?, 0, 1)", {k.wrapped});
    auto ring = crypto::KeyRing::Open(master_, {k}, 1);
    ASSERT_TRUE(ring.ok());
    std::vector<uint8_t> blob = {0, 0, 0, 1};
    ring->active().EncryptTo(crypto::AsBytes(email),
                             crypto::AsBytes(FieldAssociatedData(PersonId(42), "email", 1)), blob);
    raw.ExecBlobs("INSERT INTO persons(id, referent_structure_id, referent_counsellor_id, other_structures, key_id, "
                  "f_nom, f_email, bi_email) VALUES(42, 1, NULL, '3;4', 1, 'Durand', ?, ?)",
                  {blob, LegacyTag("email", email, master_)});
  }
  auto st = Open();
  ASSERT_TRUE(st);
  auto stats = st->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->schema_version, 5);
  EXPECT_EQ(stats->persons, 1);
  EXPECT_EQ(stats->structures, 1);
  auto p = st->GetPerson(PersonId(42));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->fields[F("nom")], "Durand");
  EXPECT_EQ(p->fields[F("email")], email);
  EXPECT_EQ(p->fields[F("nir")], "");
  EXPECT_EQ(p->other_structures, (std::vector<StructureId>{StructureId(3), StructureId(4)}));
  EXPECT_EQ(*st->FindPersons("email", "Ancien.Format@exemple.fr"), std::vector<PersonId>{PersonId(42)});
  EXPECT_EQ(st->GetStructure(StructureId(1))->code, "ML-67-001");
  // The store is writable after migration.
  ASSERT_TRUE(st->UpsertPersons(MakePeople(1, 3)).ok());
  st.reset();
  RawDb raw(path_);
  EXPECT_TRUE(raw.Columns("persons").count("updated_at"));
  EXPECT_EQ(raw.Int("SELECT count(*) FROM catalog_fields"), static_cast<int64_t>(catalog().size()));
  EXPECT_EQ(raw.Int("SELECT encrypted FROM catalog_fields WHERE name = 'email'"), 1);
}

// A version-4 store (every value with its own key id and nonce) opens as
// version 5 with its rows as they were: read one by one or together, they
// give the same people, and Stats counts their values by their own key id.
// A row written again becomes one envelope (16-byte nonce prefix, values of
// index || ciphertext || tag: 27 bytes shorter each); a rotation converts
// every remaining row.
TEST_F(StoreTest, VersionFourRowsReadAndRotateIntoEnvelopes) {
  const std::vector<Person> people = MakePeople(1, 30);
  int64_t values = 0;
  for (const Person& p : people)
    for (size_t f = 0; f < catalog().size(); ++f)
      if (catalog().at(f).encrypted() && !p.fields[f].empty()) ++values;
  int64_t envelope_bytes = 0;
  {
    auto st = Open();
    ASSERT_TRUE(st->UpsertPersons(people).ok());
    envelope_bytes = RawDb(path_).Int("SELECT sum(length(f_nir) + length(f_email)) FROM persons");
  }
  RewriteAsLegacyRows();
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Int("SELECT sum(length(f_nir) + length(f_email)) FROM persons"), envelope_bytes + 27 * 2 * 30);
    raw.Exec("PRAGMA user_version = 4");
  }
  auto st = Open();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->Stats()->schema_version, 5);
  EXPECT_EQ(RawDb(path_).Int("SELECT count(*) FROM persons WHERE nonce_prefix IS NULL"), 30);
  FieldMask one;
  one.include.assign(catalog().size(), false);
  one.include[F("email")] = true;
  for (size_t i = 0; i < people.size(); ++i) {
    ExpectSamePerson(people[i], *st->GetPerson(PersonId(static_cast<int64_t>(i + 1))));
    EXPECT_EQ(st->GetPerson(PersonId(static_cast<int64_t>(i + 1)), one)->fields[F("email")],
              people[i].fields[F("email")]);
  }
  EXPECT_EQ(st->Stats()->values_per_key, (std::vector<std::pair<uint32_t, int64_t>>{{1, values}}));

  // Ten people written again: envelopes, the others untouched.
  ASSERT_TRUE(st->UpsertPersons(std::span<const Person>(people.data(), 10)).ok());
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM persons WHERE nonce_prefix IS NULL"), 20);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM persons WHERE length(nonce_prefix) = 16"), 10);
  }
  EXPECT_EQ(st->Stats()->values_per_key, (std::vector<std::pair<uint32_t, int64_t>>{{1, values}}));
  for (size_t i = 0; i < people.size(); ++i)
    ExpectSamePerson(people[i], *st->GetPerson(PersonId(static_cast<int64_t>(i + 1))));

  ASSERT_EQ(*st->AddKeyAndActivate(), 2u);
  while (*st->ReencryptBatch(7) != 0) {
  }
  {
    RawDb raw(path_);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM persons WHERE nonce_prefix IS NULL"), 0);
    EXPECT_EQ(raw.Int("SELECT sum(length(f_nir) + length(f_email)) FROM persons"), envelope_bytes);
  }
  EXPECT_EQ(st->Stats()->values_per_key, (std::vector<std::pair<uint32_t, int64_t>>{{2, values}}));
  for (size_t i = 0; i < people.size(); ++i)
    ExpectSamePerson(people[i], *st->GetPerson(PersonId(static_cast<int64_t>(i + 1))));
}

TEST_F(StoreTest, NewerSchemaIsRefused) {
  { ASSERT_TRUE(Open()); }
  { RawDb(path_).Exec("PRAGMA user_version = 99"); }
  SqliteOptions o;
  o.path = path_;
  auto st = OpenSqliteStore(o, catalog(), master_, clock_);
  EXPECT_EQ(st.status().code(), absl::StatusCode::kFailedPrecondition);
}

StatusOr<FieldCatalog> CatalogWithExtraFields(std::string_view extra) {
  std::ifstream in(std::string(CLOISON_SOURCE_DIR) + "/config/field_catalog.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text += extra;
  return FieldCatalog::Parse(text, "test_catalog.toml");
}

// The default catalog plus a personal field and a sensitive, uniquely
// blind-indexed one.
StatusOr<FieldCatalog> CatalogWithTwoMoreFields() {
  return CatalogWithExtraFields(R"toml(
[[field]]
name = "niveau_etude"
label = "Niveau d'étude"
type = "text"
category = "pathway"
sensitivity = "personal"

[[field]]
name = "telephone_secours"
label = "Téléphone de secours"
type = "phone"
category = "contact"
sensitivity = "sensitive"
blind_index = true
unique = true
)toml");
}

TEST_F(StoreTest, CatalogGainingFieldsAddsColumns) {
  std::vector<Person> people = MakePeople(1, 4);
  PersonId first;
  {
    auto st = Open();
    auto r = st->UpsertPersons(people);
    ASSERT_TRUE(r.ok());
    first = r->ids[0];
  }
  auto bigger = CatalogWithTwoMoreFields();
  ASSERT_TRUE(bigger.ok()) << bigger.status();
  auto st = Open(false, &*bigger);
  ASSERT_TRUE(st);
  {
    RawDb raw(path_);
    const auto cols = raw.Columns("persons");
    EXPECT_TRUE(cols.count("f_niveau_etude"));
    EXPECT_TRUE(cols.count("f_telephone_secours"));
    EXPECT_TRUE(cols.count("bi_telephone_secours"));
    EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE name = 'blind_telephone_secours'"), 1);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_master WHERE name LIKE 'blind_telephone_secours_%'"), 3);
  }
  auto old = st->GetPerson(first);
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_EQ(old->fields.size(), bigger->size());
  EXPECT_EQ(old->fields[*bigger->IndexOf("nom")], people[0].fields[F("nom")]);
  EXPECT_EQ(old->fields[*bigger->IndexOf("telephone_secours")], "");
  Person p = MakePerson(100, &*bigger);
  p.fields[*bigger->IndexOf("niveau_etude")] = "bac";
  p.fields[*bigger->IndexOf("telephone_secours")] = "0611223344";
  auto r = st->UpsertPersons(std::span<const Person>(&p, 1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*st->FindPersons("telephone_secours", "06 11 22 33 44"), std::vector<PersonId>{r->ids[0]});
  EXPECT_EQ(st->GetPerson(r->ids[0])->fields[*bigger->IndexOf("niveau_etude")], "bac");
}

// A sensitive field dropped from the catalog keeps its values, unread,
// until a row is written again: the row's new envelope could not open them,
// so writing or re-encrypting the row clears them. Put back in the catalog,
// the field reads from the rows never rewritten and is absent (not
// Corruption) in the others.
TEST_F(StoreTest, DroppedSensitiveFieldIsClearedWhenItsRowIsRewritten) {
  auto bigger = CatalogWithTwoMoreFields();
  ASSERT_TRUE(bigger.ok()) << bigger.status();
  const size_t extra = *bigger->IndexOf("telephone_secours");
  std::vector<Person> people;
  for (int64_t i = 1; i <= 3; ++i) {
    people.push_back(MakePerson(i, &*bigger));
    people.back().fields[extra] = StrCat("061122334", i);
  }
  {
    auto st = Open(false, &*bigger);
    ASSERT_TRUE(st->UpsertPersons(people).ok());
  }
  {
    auto st = Open();  // the default catalog: no telephone_secours
    ASSERT_TRUE(st);
    EXPECT_EQ(RawDb(path_).Int("SELECT count(f_telephone_secours) FROM persons"), 3) << "kept while unread";
    ASSERT_EQ(*st->AddKeyAndActivate(), 2u);
    Person again = MakePerson(1);  // written under key 2
    ASSERT_TRUE(st->UpsertPersons(std::span<const Person>(&again, 1)).ok());
    ASSERT_EQ(*st->ReencryptBatch(1), 1);  // person 2 re-encrypted, person 3 not yet
    RawDb raw(path_);
    EXPECT_EQ(raw.Ints("SELECT id FROM persons WHERE f_telephone_secours IS NOT NULL"), std::vector<int64_t>{3});
  }
  auto st = Open(false, &*bigger);
  ASSERT_TRUE(st);
  for (int64_t id : {1, 2}) {
    auto p = st->GetPerson(PersonId(id));
    ASSERT_TRUE(p.ok()) << "person " << id << ": " << p.status();
    EXPECT_EQ(p->fields[extra], "") << "person " << id;
  }
  auto kept = st->GetPerson(PersonId(3));
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->fields[extra], "0611223343");
}

TEST_F(StoreTest, ChangingAFieldsProtectionIsRefused) {
  { ASSERT_TRUE(Open()); }
  std::ifstream in(std::string(CLOISON_SOURCE_DIR) + "/config/field_catalog.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Make "prenom" sensitive.
  const std::string from = "name = \"prenom\"\nlabel = \"Prénom\"\ntype = \"text\"\ncategory = \"identity\"\n"
                           "sensitivity = \"personal\"";
  const size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), "name = \"prenom\"\nlabel = \"Prénom\"\ntype = \"text\"\ncategory = \"identity\"\n"
                                "sensitivity = \"sensitive\"");
  auto changed = FieldCatalog::Parse(text, "changed.toml");
  ASSERT_TRUE(changed.ok()) << changed.status();
  SqliteOptions o;
  o.path = path_;
  auto st = OpenSqliteStore(o, *changed, master_, clock_);
  EXPECT_EQ(st.status().code(), absl::StatusCode::kFailedPrecondition) << st.status();
}

TEST_F(StoreTest, KeyRotationReencryptsInBatchesWhileUsable) {
  auto st = Open();
  auto people = MakePeople(1, 250);
  auto r = st->UpsertPersons(people);
  ASSERT_TRUE(r.ok());
  int64_t values = 0;
  for (const Person& p : people)
    for (size_t f = 0; f < catalog().size(); ++f)
      if (catalog().at(f).encrypted() && !p.fields[f].empty()) ++values;
  auto before = st->Stats();
  EXPECT_EQ(before->values_per_key, (std::vector<std::pair<uint32_t, int64_t>>{{1, values}}));

  auto k = st->AddKeyAndActivate();
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(*k, 2u);
  EXPECT_EQ(st->Stats()->active_key_id, 2u);
  int batches = 0;
  int64_t extra = 0;
  for (;;) {
    auto remaining = st->ReencryptBatch(60);
    ASSERT_TRUE(remaining.ok()) << remaining.status();
    ++batches;
    // Reads and writes between batches.
    ExpectSamePerson(people[batches * 7], *st->GetPerson(r->ids[batches * 7]));
    Person p = MakePerson(1000 + batches);
    ASSERT_TRUE(st->UpsertPersons(std::span<const Person>(&p, 1)).ok());
    for (size_t f = 0; f < catalog().size(); ++f)
      if (catalog().at(f).encrypted() && !p.fields[f].empty()) ++extra;
    if (*remaining == 0) break;
    ASSERT_LT(batches, 10);
  }
  EXPECT_EQ(batches, 5);  // 250 people, 60 a batch
  auto after = st->Stats();
  EXPECT_EQ(after->values_per_key, (std::vector<std::pair<uint32_t, int64_t>>{{2, values + extra}}));
  for (size_t i = 0; i < people.size(); ++i) ExpectSamePerson(people[i], *st->GetPerson(r->ids[i]));
  EXPECT_EQ(*st->ReencryptBatch(10), 0);
}

TEST_F(StoreTest, HalfDoneRotationReopens) {
  auto people = MakePeople(1, 100);
  std::vector<PersonId> ids;
  {
    auto st = Open();
    ids = st->UpsertPersons(people)->ids;
    ASSERT_TRUE(st->AddKeyAndActivate().ok());
    auto remaining = st->ReencryptBatch(30);
    ASSERT_TRUE(remaining.ok());
    EXPECT_EQ(*remaining, 70);
  }
  auto st = Open();
  auto stats = st->Stats();
  EXPECT_EQ(stats->active_key_id, 2u);
  ASSERT_EQ(stats->values_per_key.size(), 2u);
  EXPECT_EQ(stats->values_per_key[0].first, 1u);
  EXPECT_EQ(stats->values_per_key[1].first, 2u);
  for (size_t i = 0; i < people.size(); ++i) ExpectSamePerson(people[i], *st->GetPerson(ids[i]));
  int64_t remaining = -1;
  while (remaining != 0) remaining = *st->ReencryptBatch(40);
  ASSERT_EQ(st->Stats()->values_per_key.size(), 1u);
  EXPECT_EQ(st->Stats()->values_per_key[0].first, 2u);
  // Rotating again to key 3 works too.
  EXPECT_EQ(*st->AddKeyAndActivate(), 3u);
}

// A running server holds one Store for hours while `cloison keys rotate`
// runs in another process: two Store instances (two connections) on the same
// file stand for the two processes. The server's key ring must follow.
TEST_F(StoreTest, RotationByAnotherConnectionKeepsEveryRecordReadable) {
  auto server = Open();
  auto people = MakePeople(1, 200);
  auto r = server->UpsertPersons(people);
  ASSERT_TRUE(r.ok()) << r.status();
  for (size_t i = 0; i < people.size(); ++i) ExpectSamePerson(people[i], *server->GetPerson(r->ids[i]));

  auto rotator = Open();
  ASSERT_EQ(*rotator->AddKeyAndActivate(), 2u);
  int batches = 0;
  for (;;) {
    auto remaining = rotator->ReencryptBatch(50);
    ASSERT_TRUE(remaining.ok()) << remaining.status();
    ++batches;
    // Between batches the server reads people already moved to key 2 (ids
    // from the front) and people still under key 1 (from the back).
    const size_t moved = std::min<size_t>(people.size() - 1, static_cast<size_t>(batches) * 50 - 1);
    for (size_t i : {size_t{0}, moved, people.size() - 1}) {
      auto got = server->GetPerson(r->ids[i]);
      ASSERT_TRUE(got.ok()) << "batch " << batches << " person " << i << ": " << got.status();
      ExpectSamePerson(people[i], *got);
    }
    if (*remaining == 0) break;
    ASSERT_LT(batches, 10);
  }
  for (size_t i = 0; i < people.size(); ++i) {
    auto got = server->GetPerson(r->ids[i]);
    ASSERT_TRUE(got.ok()) << "person " << i << ": " << got.status();
    ExpectSamePerson(people[i], *got);
  }

  // The server's writes follow the key the database says is active: a
  // person it writes now is under key 2, so the rotation stays complete.
  Person late = MakePerson(5000);
  auto w = server->UpsertPersons(std::span<const Person>(&late, 1));
  ASSERT_TRUE(w.ok()) << w.status();
  auto stats = server->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->active_key_id, 2u);
  ASSERT_EQ(stats->values_per_key.size(), 1u);
  EXPECT_EQ(stats->values_per_key[0].first, 2u);
  EXPECT_EQ(*rotator->ReencryptBatch(10), 0);

  // A second rotation, and this time the server writes before it reads.
  ASSERT_EQ(*rotator->AddKeyAndActivate(), 3u);
  while (*rotator->ReencryptBatch(80) != 0) {
  }
  Person later = MakePerson(5001);
  ASSERT_TRUE(server->UpsertPersons(std::span<const Person>(&later, 1)).ok());
  // Nothing under key 2 on disk: the server's write went under key 3 (a
  // further ReencryptBatch would hide a stale write, so look at the blobs).
  auto on_disk = rotator->Stats();
  ASSERT_TRUE(on_disk.ok()) << on_disk.status();
  ASSERT_EQ(on_disk->values_per_key.size(), 1u);
  EXPECT_EQ(on_disk->values_per_key[0].first, 3u);
  EXPECT_EQ(*rotator->ReencryptBatch(10), 0);
  for (size_t i = 0; i < people.size(); ++i) ExpectSamePerson(people[i], *server->GetPerson(r->ids[i]));
  ExpectSamePerson(late, *server->GetPerson(w->ids[0]));

  // A key id that is in no table is still Corruption after the reload.
  {
    RawDb raw(path_);
    raw.Exec(StrCat("UPDATE persons SET key_id = 99 WHERE id = ", r->ids[3].value()));
  }
  auto bad = server->GetPerson(r->ids[3]);
  EXPECT_TRUE(IsCorruption(bad.status())) << bad.status();
  EXPECT_NE(MessageOf(bad.status()).find("unknown key id 99"), std::string_view::npos) << bad.status();
  EXPECT_TRUE(server->GetPerson(r->ids[4]).ok());
}

// The other process added a key wrapped under a different master key (a
// misconfigured rotation): the reader refuses it as stored-data corruption,
// and what it could read before stays readable.
TEST_F(StoreTest, KeyAddedUnderAnotherMasterKeyIsCorruptionNotGarbage) {
  auto server = Open();
  auto people = MakePeople(1, 3);
  auto r = server->UpsertPersons(people);
  ASSERT_TRUE(r.ok());
  {
    const crypto::SecretBytes other = RandomMasterKey();
    crypto::WrappedKey k = crypto::KeyRing::NewWrappedKey(other, 2);
    RawDb raw(path_);
    raw.ExecBlobs("INSERT INTO keys(key_id, wrapped, created_at, active) VALUES(2, ?, 0, 0)", {k.wrapped});
    raw.Exec("UPDATE persons SET f_nir = X'00000002' || substr(f_nir, 5) WHERE id = 1");
  }
  auto bad = server->GetPerson(PersonId(1));
  EXPECT_TRUE(IsCorruption(bad.status())) << bad.status();
  ExpectSamePerson(people[1], *server->GetPerson(r->ids[1]));
}

TEST_F(StoreTest, RunInTransactionCommitsTogetherOrNotAtAll) {
  auto st = Open();
  auto structure = [](std::string code) {
    Structure s;
    s.kind = StructureKind::kAgency;
    s.code = std::move(code);
    s.name = "Agence";
    s.departement = "67";
    return s;
  };
  // fn fails after two writes: neither remains.
  Status failed = st->RunInTransaction([&]() -> Status {
    EXPECT_TRUE(st->UpsertStructure(structure("FT-67-001")).ok());
    EXPECT_TRUE(st->UpsertStructure(structure("FT-67-002")).ok());
    return InvalidArgument("stop");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(st->ListStructures()->empty());
  EXPECT_EQ(RawDb(path_).Int("SELECT count(*) FROM structures"), 0);

  // A call that fails inside undoes only itself; the rest commits at the end.
  Status ok = st->RunInTransaction([&]() -> Status {
    CLOISON_RETURN_IF_ERROR(st->UpsertStructure(structure("FT-67-001")).status());
    Structure clash = structure("FT-67-001");
    clash.id = StructureId(77);  // the code belongs to another id: AlreadyExists
    EXPECT_EQ(st->UpsertStructure(clash).status().code(), absl::StatusCode::kAlreadyExists);
    std::vector<Person> bad = {MakePerson(1), MakePerson(2), MakePerson(3)};
    bad[2].fields[F("nir")] = bad[0].fields[F("nir")];  // person 1's NIR and person 2's France Travail id
    bad[2].fields[F("ft_id")] = bad[1].fields[F("ft_id")];
    EXPECT_EQ(st->UpsertPersons(bad).status().code(), absl::StatusCode::kInvalidArgument);
    CLOISON_RETURN_IF_ERROR(st->UpsertPersons(MakePeople(10, 3)).status());
    EXPECT_EQ(RawDb(path_).Int("SELECT count(*) FROM structures"), 0) << "nothing visible before the commit";
    return st->UpsertStructure(structure("FT-67-003")).status();
  });
  ASSERT_TRUE(ok.ok()) << ok;
  EXPECT_EQ(RawDb(path_).Int("SELECT count(*) FROM structures"), 2);
  EXPECT_EQ(st->Stats()->persons, 3);
  // Outside, calls are their own transactions again.
  ASSERT_TRUE(st->UpsertStructure(structure("FT-67-004")).ok());
  EXPECT_EQ(RawDb(path_).Int("SELECT count(*) FROM structures"), 3);
}

TEST_F(StoreTest, NetworkUpsertsMatchNaturalKeys) {
  auto st = Open();
  Structure ml;
  ml.kind = StructureKind::kMissionLocale;
  ml.code = "ML-67-001";
  ml.name = "Mission locale de Strasbourg";
  ml.departement = "67";
  auto id = st->UpsertStructure(ml);
  ASSERT_TRUE(id.ok()) << id.status();
  Structure agency = ml;
  agency.kind = StructureKind::kAgency;
  agency.code = "FT-67-010";
  agency.parent = *id;
  agency.hours.weekdays = 0b11111;
  auto aid = st->UpsertStructure(agency);
  ASSERT_TRUE(aid.ok());
  ml.name = "Mission locale de Strasbourg et environs";
  auto again = st->UpsertStructure(ml);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *id);
  EXPECT_EQ(st->GetStructure(*id)->name, ml.name);
  EXPECT_EQ(st->GetStructure(*aid)->parent, std::optional<StructureId>(*id));
  EXPECT_EQ(st->GetStructure(StructureId(99)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(**st->FindStructureByCode("FT-67-010"), *aid);
  EXPECT_FALSE(st->FindStructureByCode("nope")->has_value());
  Structure clash = ml;
  clash.id = *aid;  // agency's id with the mission locale's code
  EXPECT_EQ(st->UpsertStructure(clash).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(st->ListStructures()->size(), 2u);

  Agent a;
  a.structure = *id;
  a.username = "camille.martin.ml67001";
  a.nom = "Martin";
  a.prenom = "Camille";
  a.roles = {Role::kCounsellor, Role::kAccessManager};
  auto agent = st->UpsertAgent(a);
  ASSERT_TRUE(agent.ok());
  a.nom = "Martin-Durand";
  EXPECT_EQ(*st->UpsertAgent(a), *agent);
  auto agents = st->ListAgents();
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].nom, "Martin-Durand");
  EXPECT_EQ((*agents)[0].roles, a.roles);
  EXPECT_EQ(**st->FindAgentByUsername(a.username), *agent);

  Formation f;
  f.organisation = *aid;
  f.code = "F-001";
  f.title = "Développeur web";
  f.domain = "numérique";
  auto fid = st->UpsertFormation(f);
  ASSERT_TRUE(fid.ok());
  TrainingSession s;
  s.formation = *fid;
  s.code = "S-001";
  s.start = *Date::Parse("2025-03-01");
  s.end = *Date::Parse("2025-06-30");
  s.place = "Strasbourg";
  auto sid = st->UpsertTrainingSession(s);
  ASSERT_TRUE(sid.ok());
  EXPECT_EQ(*st->UpsertTrainingSession(s), *sid);
  EXPECT_EQ(st->ListFormations()->at(0).title, f.title);
  EXPECT_EQ(st->ListTrainingSessions()->at(0).end, s.end);

  auto persons = st->UpsertPersons(MakePeople(1, 3));
  ASSERT_TRUE(persons.ok());
  Orientation o1;
  o1.person = persons->ids[0];
  o1.session = *sid;
  o1.counsellor = *agent;
  o1.proposed_on = *Date::Parse("2025-01-10");
  Orientation o2 = o1;
  o2.id = OrientationId(77);
  o2.person = persons->ids[1];
  o2.status = OrientationStatus::kAccepted;
  o2.decided_on = Date::Parse("2025-01-12");
  ASSERT_TRUE(st->PutOrientations(std::vector<Orientation>{o1, o2}).ok());
  o2.status = OrientationStatus::kEnrolled;
  o2.enrolled_on = Date::Parse("2025-03-01");
  ASSERT_TRUE(st->PutOrientations(std::span<const Orientation>(&o2, 1)).ok());
  auto of1 = st->OrientationsOfPerson(persons->ids[1]);
  ASSERT_EQ(of1->size(), 1u);
  EXPECT_EQ((*of1)[0].id, OrientationId(77));
  EXPECT_EQ((*of1)[0].status, OrientationStatus::kEnrolled);
  EXPECT_EQ((*of1)[0].decided_on, o2.decided_on);
  EXPECT_EQ((*of1)[0].enrolled_on, o2.enrolled_on);
  EXPECT_FALSE((*of1)[0].ended_on.has_value());
  int n = 0;
  ASSERT_TRUE(st->ForEachOrientation([&](const Orientation&) { ++n; }).ok());
  EXPECT_EQ(n, 2);

  // Single-row reads and AddOrientation (the API's write path).
  EXPECT_EQ(st->GetTrainingSession(*sid)->code, "S-001");
  EXPECT_EQ(st->GetTrainingSession(*sid)->formation, *fid);
  EXPECT_EQ(st->GetFormation(*fid)->organisation, *aid);
  EXPECT_TRUE(IsNotFound(st->GetTrainingSession(TrainingSessionId(999)).status()));
  EXPECT_TRUE(IsNotFound(st->GetFormation(FormationId(999)).status()));
  EXPECT_EQ(st->GetOrientation(OrientationId(77))->status, OrientationStatus::kEnrolled);
  EXPECT_TRUE(IsNotFound(st->GetOrientation(OrientationId(78)).status()));
  Orientation o3 = o1;
  o3.person = persons->ids[2];
  auto oid = st->AddOrientation(o3);
  ASSERT_TRUE(oid.ok()) << oid.status();
  EXPECT_EQ(*oid, OrientationId(78));  // after the largest id
  auto got = st->GetOrientation(*oid);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->person, persons->ids[2]);
  EXPECT_EQ(got->status, OrientationStatus::kProposed);
  EXPECT_EQ(got->proposed_on, o1.proposed_on);
  EXPECT_FALSE(got->decided_on.has_value());
  o3.id = OrientationId(5);
  EXPECT_TRUE(IsInvalidArgument(st->AddOrientation(o3).status()));
  o3.id = OrientationId();
  ASSERT_TRUE(st->AddOrientation(o3).ok());  // a second orientation of the same person
  n = 0;
  ASSERT_TRUE(st->ForEachOrientation([&](const Orientation&) { ++n; }).ok());
  EXPECT_EQ(n, 4);

  std::vector<std::tuple<PersonId, StructureId, std::optional<AccountId>>> rel;
  ASSERT_TRUE(st->ForEachPersonRelation([&](PersonId p, StructureId s, std::optional<AccountId> c) {
                  rel.emplace_back(p, s, c);
                }).ok());
  ASSERT_EQ(rel.size(), 3u);
  EXPECT_EQ(std::get<1>(rel[1]), MakePerson(2).referent_structure);
  EXPECT_EQ(std::get<2>(rel[0]), MakePerson(1).referent_counsellor);

  auto stats = st->Stats();
  EXPECT_EQ(stats->structures, 2);
  EXPECT_EQ(stats->agents, 1);
  EXPECT_EQ(stats->formations, 1);
  EXPECT_EQ(stats->training_sessions, 1);
  EXPECT_EQ(stats->orientations, 4);
  EXPECT_EQ(stats->persons, 3);
}

TEST(FieldBlobTest, AssociatedDataAndKeyIdPrefix) {
  EXPECT_EQ(FieldAssociatedData(PersonId(12), "nir", 3), "p:12|f:nir|k:3");
  std::vector<uint8_t> blob(kKeyIdPrefixSize + 40, 0);
  blob[2] = 1;
  blob[3] = 2;
  EXPECT_EQ(*BlobKeyId(blob), 258u);
  blob.resize(10);
  EXPECT_TRUE(IsCorruption(BlobKeyId(blob).status()));
}

}  // namespace
}  // namespace cloison::store
