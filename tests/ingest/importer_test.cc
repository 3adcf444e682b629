#include "ingest/importer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crypto/secure_random.h"

namespace cloison::ingest {
namespace {

constexpr char kHeader[] =
    "structure,conseiller,nom,prenom,sexe,date_naissance,nir,ft_id,email,telephone,date_inscription,statut\n";

class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cloison-import-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    master_ = crypto::SecretBytes(32);
    crypto::SecureRandom::Instance().Fill({master_.mutable_data(), 32});
    store::SqliteOptions o;
    o.path = (dir_ / "db").string();
    auto s = store::OpenSqliteStore(o, FieldCatalog::Default(), master_, clock_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    Structure ml;
    ml.code = "ML-67-001";
    ml.name = "Mission locale de Strasbourg";
    ml.kind = StructureKind::kMissionLocale;
    auto ml_id = store_->UpsertStructure(ml);
    ASSERT_TRUE(ml_id.ok()) << ml_id.status();
    Structure ag;
    ag.code = "FT-AG-67-001";
    ag.name = "Agence de Strasbourg";
    ASSERT_TRUE(store_->UpsertStructure(ag).ok());
    Agent a;
    a.structure = *ml_id;
    a.username = "camille.martin";
    a.nom = "Martin";
    a.prenom = "Camille";
    a.roles = {Role::kCounsellor};
    ASSERT_TRUE(store_->UpsertAgent(a).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& content, const std::string& name = "people.csv") {
    auto p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  int64_t PersonCount() { return store_->Stats()->persons; }

  FakeClock clock_;
  std::filesystem::path dir_;
  crypto::SecretBytes master_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ImporterTest, RejectsBadLinesWithLineNumbersAndKeepsTheRest) {
  std::string csv = kHeader;
  csv += "ML-67-001,camille.martin,Dupont,Marie,F,2004-03-12,290082A00401217,12345678901,marie.dupont@example.fr,0612345678,2024-01-15,inscrit\n";  // 2 ok
  csv += "ML-67-001,,Durand,Paul,M,2003-05-01,185057800608492,12345678902,,,2024-01-15,inscrit\n";   // 3 bad NIR key
  csv += "ML-67-001,,Petit,Lea,F,2003-02-30,,12345678903,,,2024-01-15,inscrit\n";                   // 4 impossible date
  csv += "ML-99-999,,Roux,Jean,M,2003-05-01,,12345678904,,,2024-01-15,inscrit\n";                   // 5 unknown structure
  csv += "ML-67-001,,Morel,Ines,F,2003-05-01,,12345678905,ines@@example.fr,,2024-01-15,inscrit\n";  // 6 bad e-mail
  csv += "ML-67-001,,Faure,Hugo,M,1985-05-01,185057800608491,12345678906,,+33 7 12 34 56 78,2024-01-15,inscrit\n";  // 7 ok
  csv += "FT-AG-67-001,camille.martin,Blanc,Zoe,F,2001-01-01,,12345678907,,,2024-01-15,inscrit\n";  // 8 counsellor elsewhere
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  ASSERT_TRUE(imp.ok());
  auto report = imp->ImportFile(Write(csv), FileFormat::kCsv);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 7);
  EXPECT_EQ(report->inserted, 2);
  EXPECT_EQ(report->rejected, 5);
  ASSERT_EQ(report->errors.size(), 5u);
  EXPECT_EQ(report->errors[0].line, 3);
  EXPECT_EQ(report->errors[0].message, "field 'nir': NIR key does not match");
  EXPECT_EQ(report->errors[1].line, 4);
  EXPECT_NE(report->errors[1].message.find("impossible date"), std::string::npos);
  EXPECT_EQ(report->errors[2].line, 5);
  EXPECT_EQ(report->errors[2].message, "unknown structure 'ML-99-999'");
  EXPECT_EQ(report->errors[3].line, 6);
  EXPECT_EQ(report->errors[3].message, "field 'email': malformed e-mail address");
  EXPECT_EQ(report->errors[4].line, 8);
  // No message echoes a sensitive value.
  for (const auto& e : report->errors) EXPECT_EQ(e.message.find("185057800608492"), std::string::npos);
  EXPECT_EQ(PersonCount(), 2);

  // Stored canonical and findable: e-mail found by blind index (case-folded),
  // and line 7's "+33 7 12 34 56 78" stored in national form. The phone has
  // no blind index (the catalog gives it none), so that person is found by
  // its France Travail id and its phone read back.
  auto by_mail = store_->FindPersons("email", "Marie.Dupont@example.fr");
  ASSERT_TRUE(by_mail.ok()) << by_mail.status();
  ASSERT_EQ(by_mail->size(), 1u);
  auto p = store_->GetPerson((*by_mail)[0]);
  ASSERT_TRUE(p.ok());
  const auto& cat = FieldCatalog::Default();
  EXPECT_EQ(p->fields[*cat.IndexOf("nom")], "Dupont");
  EXPECT_EQ(p->fields[*cat.IndexOf("nir")], "290082A00401217");
  EXPECT_TRUE(p->referent_counsellor.has_value());

  auto by_ft = store_->FindPersons("ft_id", "12345678906");
  ASSERT_TRUE(by_ft.ok()) << by_ft.status();
  ASSERT_EQ(by_ft->size(), 1u);
  auto hugo = store_->GetPerson((*by_ft)[0]);
  ASSERT_TRUE(hugo.ok()) << hugo.status();
  EXPECT_EQ(hugo->fields[*cat.IndexOf("nom")], "Faure");
  EXPECT_EQ(hugo->fields[*cat.IndexOf("telephone")], "0712345678");
  // And not findable by phone: asking is a caller error, not an empty answer.
  EXPECT_EQ(store_->FindPersons("telephone", "0712345678").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ImporterTest, ReimportUpdatesNeverDuplicates) {
  std::string csv = kHeader;
  csv += "ML-67-001,,Dupont,Marie,F,2004-03-12,290082A00401217,12345678901,,,2024-01-15,inscrit\n";
  csv += "ML-67-001,,Faure,Hugo,M,1985-05-01,185057800608491,12345678906,,,2024-01-15,inscrit\n";
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  ASSERT_TRUE(imp.ok());
  auto path = Write(csv);
  ASSERT_EQ(imp->ImportFile(path, FileFormat::kCsv)->inserted, 2);
  auto again = imp->ImportFile(path, FileFormat::kCsv);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->inserted, 0);
  EXPECT_EQ(again->updated, 2);
  EXPECT_EQ(PersonCount(), 2);
  // A changed status on re-import is an update of the same person.
  std::string changed = kHeader;
  changed += "ML-67-001,,Dupont,Marie,F,2004-03-12,290082A00401217,12345678901,,,2024-01-15,en_formation\n";
  ASSERT_EQ(imp->ImportFile(Write(changed, "changed.csv"), FileFormat::kCsv)->updated, 1);
  EXPECT_EQ(PersonCount(), 2);
  auto ids = store_->FindPersons("ft_id", "12345678901");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(store_->GetPerson((*ids)[0])->fields[*FieldCatalog::Default().IndexOf("statut")], "en_formation");
}

TEST_F(ImporterTest, IdentifiersOfTwoDifferentPeopleRejectOnlyThatLine) {
  std::string csv = kHeader;
  csv += "ML-67-001,,Dupont,Marie,F,2004-03-12,290082A00401217,12345678901,,,2024-01-15,inscrit\n";
  csv += "ML-67-001,,Faure,Hugo,M,1985-05-01,185057800608491,12345678906,,,2024-01-15,inscrit\n";
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  ASSERT_TRUE(imp->ImportFile(Write(csv), FileFormat::kCsv).ok());
  std::string clash = kHeader;
  clash += "ML-67-001,,Faure,Hugo,M,1985-05-01,185057800608491,12345678901,,,2024-01-15,inscrit\n";  // Hugo's NIR, Marie's id
  clash += "ML-67-001,,Petit,Lea,F,2003-02-03,,12345678903,,,2024-01-15,inscrit\n";
  auto r = imp->ImportFile(Write(clash, "clash.csv"), FileFormat::kCsv);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rejected, 1);
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].line, 2);
  EXPECT_EQ(r->inserted, 1);
  EXPECT_EQ(PersonCount(), 3);
}

// Several batches, read ahead on the helper thread or inline: the same
// counts, and the rejected lines of each batch (validation and store
// refusals) reported in file order.
TEST_F(ImporterTest, BatchesReadAheadReportInFileOrder) {
  auto person = [](const std::string& nom, const std::string& nir, int ft) {
    const bool hugo = nir == "185057800608491";
    return "ML-67-001,," + nom + (hugo ? ",Hugo,M,1985-05-01," : ",Marie,F,2004-03-12,") + nir + "," +
           std::to_string(10000000000LL + ft) + ",,,2024-01-15,inscrit\n";
  };
  const std::string bad_date = "ML-67-001,,Petit,Lea,F,2003-02-30,,19999999999,,,2024-01-15,inscrit\n";
  std::string csv = kHeader;
  csv += person("Un", "290082A00401217", 1);    // 2
  csv += person("Deux", "185057800608491", 2);  // 3
  csv += bad_date;                              // 4
  csv += person("Trois", "", 3);                // 5
  csv += person("Quatre", "", 4);               // 6  (batch 1: lines 2 3 5 6)
  csv += bad_date;                              // 7
  csv += person("Clash", "290082A00401217", 2); // 8  line 2's NIR, line 3's id: refused by the store
  csv += bad_date;                              // 9
  csv += person("Cinq", "", 5);                 // 10
  csv += person("Six", "", 6);                  // 11
  csv += person("Sept", "", 7);                 // 12 (batch 2: lines 8 10 11 12)
  csv += person("Huit", "", 8);                 // 13
  csv += person("Neuf", "", 9);                 // 14
  csv += person("Dix", "", 10);                 // 15 (batch 3, the last)
  const std::string path = Write(csv);
  const uint64_t file_size = std::filesystem::file_size(path);

  std::vector<ImportReport> reports;
  for (bool read_ahead : {true, false}) {
    SCOPED_TRACE(read_ahead ? "read ahead" : "inline");
    // A fresh store each time, so both imports insert.
    store::SqliteOptions o;
    o.path = (dir_ / (read_ahead ? "a.db" : "b.db")).string();
    auto st = store::OpenSqliteStore(o, FieldCatalog::Default(), master_, clock_);
    ASSERT_TRUE(st.ok()) << st.status();
    Structure ml;
    ml.code = "ML-67-001";
    ml.name = "Mission locale de Strasbourg";
    ml.kind = StructureKind::kMissionLocale;
    ASSERT_TRUE((*st)->UpsertStructure(ml).ok());
    auto imp = Importer::Create(**st, FieldCatalog::Default());
    ASSERT_TRUE(imp.ok());
    ImportOptions opts;
    opts.batch_size = 4;
    opts.read_ahead = read_ahead;
    std::vector<uint64_t> progress;
    opts.progress = [&](uint64_t done, uint64_t total) {
      EXPECT_EQ(total, file_size);
      progress.push_back(done);
    };
    auto r = imp->ImportFile(path, FileFormat::kCsv, opts);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->records, 14);
    EXPECT_EQ(r->inserted, 10);
    EXPECT_EQ(r->updated, 0);
    EXPECT_EQ(r->rejected, 4);
    std::vector<int64_t> lines;
    for (const auto& e : r->errors) lines.push_back(e.line);
    EXPECT_EQ(lines, (std::vector<int64_t>{4, 7, 8, 9}));
    ASSERT_EQ(progress.size(), 3u);  // one call per batch
    EXPECT_LT(progress[0], progress[1]);
    EXPECT_EQ(progress[2], file_size);
    EXPECT_EQ((*st)->Stats()->persons, 10);
    EXPECT_EQ((*st)->FindPersons("ft_id", "10000000010")->size(), 1u);
    reports.push_back(*r);
  }
  ASSERT_EQ(reports.size(), 2u);
  for (size_t i = 0; i < reports[0].errors.size(); ++i)
    EXPECT_EQ(reports[0].errors[i].message, reports[1].errors[i].message);

  // The error list is capped, keeping the first lines; the count is not.
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  ASSERT_TRUE(imp.ok());
  ImportOptions capped;
  capped.batch_size = 4;
  capped.max_errors = 2;
  auto r = imp->ImportFile(path, FileFormat::kCsv, capped);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rejected, 4);
  ASSERT_EQ(r->errors.size(), 2u);
  EXPECT_EQ(r->errors[0].line, 4);
  EXPECT_EQ(r->errors[1].line, 7);
}

// The store failing for good (not a line's fault) ends the import with that
// error while the reading thread is ahead of it: no hang, no batch written
// after the failure.
TEST_F(ImporterTest, StoreFailureEndsTheImportAndStopsTheReadingThread) {
  std::string csv = kHeader;
  for (int i = 0; i < 200; ++i)
    csv += "ML-67-001,,Nom,Prenom,F,2004-03-12,," + std::to_string(10000000000LL + i) + ",,,2024-01-15,inscrit\n";
  const std::string path = Write(csv);
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  ASSERT_TRUE(imp.ok());
  ImportOptions opts;
  opts.batch_size = 10;
  int batches = 0;
  // After the second batch, another connection takes the persons table away
  // (as a damaged or foreign-modified database would): every later write fails.
  opts.progress = [&](uint64_t, uint64_t) {
    if (++batches != 2) return;
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "db").string().c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "ALTER TABLE persons RENAME TO persons_gone", nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  };
  auto r = imp->ImportFile(path, FileFormat::kCsv, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(std::string(MessageOf(r.status())).find("persons"), std::string::npos) << r.status();
  EXPECT_EQ(batches, 2);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "db").string().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM persons_gone", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 20);  // the two batches before the failure
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// Mostly bad lines: batches also end after batch_size rejected lines (memory
// stays bounded), and every one is still counted in file order.
TEST_F(ImporterTest, ManyBadLinesAreReportedInBoundedBatches) {
  std::string csv = kHeader;
  for (int i = 0; i < 30; ++i) csv += "ML-67-001,,Petit,Lea,F,2003-02-30,,19999999999,,,2024-01-15,inscrit\n";
  csv += "ML-67-001,,Dupont,Marie,F,2004-03-12,,12345678901,,,2024-01-15,inscrit\n";  // line 32
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  ASSERT_TRUE(imp.ok());
  ImportOptions opts;
  opts.batch_size = 8;
  int calls = 0;
  opts.progress = [&](uint64_t, uint64_t) { ++calls; };
  auto r = imp->ImportFile(Write(csv), FileFormat::kCsv, opts);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 31);
  EXPECT_EQ(r->rejected, 30);
  EXPECT_EQ(r->inserted, 1);
  ASSERT_EQ(r->errors.size(), 30u);
  for (size_t i = 0; i < r->errors.size(); ++i) EXPECT_EQ(r->errors[i].line, static_cast<int64_t>(i) + 2);
  EXPECT_EQ(calls, 4);  // 8 + 8 + 8 rejected, then 6 rejected + 1 person at the end
  EXPECT_EQ(PersonCount(), 1);
}

TEST_F(ImporterTest, BadHeaderWritesNothing) {
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  auto r = imp->ImportFile(Write("structure,nom,prenom,colour\nML-67-001,a,b,c\n"), FileFormat::kCsv);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(MessageOf(r.status())).find(":1: unknown column 'colour'"), std::string::npos);
  r = imp->ImportFile(Write("structure,nom\nML-67-001,a\n", "b.csv"), FileFormat::kCsv);
  EXPECT_NE(std::string(MessageOf(r.status())).find("missing required column"), std::string::npos);
  EXPECT_EQ(PersonCount(), 0);
}

TEST_F(ImporterTest, JsonLinesImport) {
  std::string jl =
      R"({"structure":"ML-67-001","nom":"Dupont","prenom":"Marie","sexe":"F","date_naissance":"2004-03-12","ft_id":"12345678901","date_inscription":"2024-01-15","statut":"inscrit"})"
      "\n"
      R"({"structure":"ML-67-001","nom":"X","colour":"red"})"
      "\n";
  auto imp = Importer::Create(*store_, FieldCatalog::Default());
  auto r = imp->ImportFile(Write(jl, "p.jsonl"), FileFormat::kJsonLines);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->inserted, 1);
  EXPECT_EQ(r->rejected, 1);
  EXPECT_EQ(r->errors[0].line, 2);
  EXPECT_EQ(r->errors[0].message, "unknown field 'colour'");
}

}  // namespace
}  // namespace cloison::ingest
