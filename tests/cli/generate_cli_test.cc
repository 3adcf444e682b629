// `cloison generate` run in-process with an injected clock (Context::clock):
// its default --today comes from that clock, and the files it writes (clear
// NIRs, e-mails, phones) are owner-only.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "cli/common.h"
#include "cli/context.h"
#include "cli_test_util.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/field_catalog.h"
#include "crypto/keys.h"
#include "store/store.h"

namespace cloison::cli {
namespace {

using testing::TempDir;

// 2031-03-15 12:00 UTC: far from the real date and from the old fixed
// default (2025-06-01), so only the injected clock can have produced it.
constexpr int64_t kClockDays = 22353;  // 2031-03-15 (checked in SetUp)
constexpr UnixMicros kClockNow = (kClockDays * 86400 + 12 * 3600) * 1'000'000LL;

struct CliRun {
  int exit_code = 0;
  std::string out, err;
};

CliRun Cloison(const Clock& clock, const std::vector<std::string>& args) {
  CLI::App app{"cloison"};
  app.require_subcommand(1);
  app.fallthrough();
  std::ostringstream out, err;
  Context ctx;
  ctx.out = &out;
  ctx.err = &err;
  ctx.clock = &clock;
  app.add_option("--data", ctx.data_dir);
  AddGenerateCommands(app, ctx);
  std::vector<std::string> argv = args;
  std::reverse(argv.begin(), argv.end());  // CLI11 takes them last-first
  CliRun r;
  try {
    app.parse(argv);
    r.exit_code = ctx.exit_code;
  } catch (const CLI::ParseError& e) {
    r.exit_code = app.exit(e, out, err) == 0 ? 0 : 2;
  }
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class GenerateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(crypto::kMasterKeyEnv);  // the data directories get their own key files
    ASSERT_EQ(Date::FromDays(kClockDays).ToString(), "2031-03-15");
  }
  FakeClock clock_{kClockNow};
  TempDir dir_{"generate-cli"};
};

TEST_F(GenerateCliTest, DefaultTodayIsTheClocksDateAndOutputIsDeterministicForSeedAndToday) {
  const std::string a = dir_ / "a", b = dir_ / "b", c = dir_ / "c";
  CliRun r = Cloison(clock_, {"generate", "--persons", "80", "--seed", "5", "--no-store", "--out", a});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("today 2031-03-15 from the clock"), std::string::npos) << r.out;
  r = Cloison(clock_, {"generate", "--persons", "80", "--seed", "5", "--no-store", "--today", "2031-03-15", "--out", b});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = Cloison(clock_, {"generate", "--persons", "80", "--seed", "5", "--no-store", "--today", "2025-06-01", "--out", c});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  for (const char* f : {"/people.csv", "/people.jsonl", "/orientations.jsonl", "/network.json"}) {
    ASSERT_FALSE(Slurp(a + f).empty()) << f;
    EXPECT_EQ(Slurp(a + f), Slurp(b + f)) << f << ": the default must be the clock's date";
  }
  // And the date matters (inscriptions, ages, orientation dates): the old
  // fixed default would not have given the same people.
  EXPECT_NE(Slurp(a + "/people.csv"), Slurp(c + "/people.csv"));

  r = Cloison(clock_, {"generate", "--persons", "5", "--no-store", "--today", "2031-02-30", "--out", c});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--today must be a date YYYY-MM-DD"), std::string::npos) << r.err;
}

TEST_F(GenerateCliTest, ExportedFilesAreOwnerOnly) {
  // A directory generate creates: 0700, files 0600, whatever the umask.
  const mode_t old = ::umask(022);
  const std::string fresh = dir_ / "fresh/export";
  CliRun r = Cloison(clock_, {"generate", "--persons", "20", "--seed", "2", "--no-store", "--out", fresh});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Mode(fresh), 0700u);
  for (const char* f : {"/people.csv", "/people.jsonl", "/orientations.jsonl", "/network.json"})
    EXPECT_EQ(Mode(fresh + f), 0600u) << f;
  EXPECT_EQ(r.err.find("accessible by other users"), std::string::npos) << r.err;

  // An existing shared directory keeps its mode (it is the user's), with a
  // warning; a file left world-readable by an earlier run becomes 0600.
  const std::string shared = dir_ / "shared";
  std::filesystem::create_directories(shared);
  ::chmod(shared.c_str(), 0755);
  { std::ofstream(shared + "/people.csv") << "old\n"; }
  ::chmod((shared + "/people.csv").c_str(), 0644);
  r = Cloison(clock_, {"generate", "--persons", "20", "--seed", "2", "--no-store", "--out", shared});
  ::umask(old);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Mode(shared), 0755u);
  EXPECT_NE(r.err.find("is accessible by other users (mode 755)"), std::string::npos) << r.err;
  for (const char* f : {"/people.csv", "/people.jsonl", "/orientations.jsonl", "/network.json"})
    EXPECT_EQ(Mode(shared + f), 0600u) << f;
  EXPECT_EQ(Slurp(shared + "/people.csv"), Slurp(fresh + "/people.csv"));

  // A symlink planted in place of an output file is not followed.
  const std::string trap = dir_ / "trap";
  std::filesystem::create_directories(trap);
  std::filesystem::create_symlink(dir_ / "elsewhere.csv", trap + "/people.csv");
  r = Cloison(clock_, {"generate", "--persons", "5", "--no-store", "--out", trap});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "elsewhere.csv"));
}

// The bug this default fixes: a store made by `generate` alone, read on the
// day it was made, has live orientations (partners and technical accounts
// read someone); one generated for 2025-06-01 has none left by then.
TEST_F(GenerateCliTest, StoreGeneratedWithoutTodayHasLiveOrientationsOnTheClocksDate) {
  auto live_orientations = [&](const std::string& data) -> int64_t {
    auto master = crypto::LoadMasterKey(data + "/master.key");
    EXPECT_TRUE(master.ok()) << master.status();
    store::SqliteOptions o;
    o.path = data + "/cloison.db";
    auto st = store::OpenSqliteStore(o, FieldCatalog::Default(), *master, clock_);
    EXPECT_TRUE(st.ok()) << st.status();
    if (!st.ok()) return -1;
    auto sessions = (*st)->ListTrainingSessions();
    EXPECT_TRUE(sessions.ok());
    std::map<int64_t, Date> end;
    for (const auto& s : *sessions) end[s.id.value()] = s.end;
    int64_t n = 0;
    const int64_t today = kClockDays;
    EXPECT_TRUE((*st)->ForEachOrientation([&](const Orientation& x) {
                       // The shipped policy's partner-enrolment window: accepted or
                       // enrolled, proposed on or before today, until 30 days after the session.
                       if (x.status != OrientationStatus::kAccepted && x.status != OrientationStatus::kEnrolled) return;
                       if (x.proposed_on.ToDays() <= today && today <= end[x.session.value()].ToDays() + 30) ++n;
                     })
                    .ok());
    return n;
  };
  const std::string now = dir_ / "now", fixed = dir_ / "fixed";
  CliRun r = Cloison(clock_, {"--data", now, "generate", "--persons", "400", "--seed", "9", "--no-files"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = Cloison(clock_, {"--data", fixed, "generate", "--persons", "400", "--seed", "9", "--no-files", "--today",
                       "2025-06-01"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_GT(live_orientations(now), 0);
  EXPECT_EQ(live_orientations(fixed), 0);
}

TEST_F(GenerateCliTest, HoneytokensArePlantedInNobodysCaseloadScatteredAndNotExported) {
  const std::string data = dir_ / "decoys", out = dir_ / "decoys-out";
  CliRun r = Cloison(clock_, {"--data", data, "generate", "--persons", "1500", "--seed", "4", "--honeytokens", "2",
                              "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("honeytokens: "), std::string::npos) << r.out;
  auto master = crypto::LoadMasterKey(data + "/master.key");
  ASSERT_TRUE(master.ok()) << master.status();
  store::SqliteOptions o;
  o.path = data + "/cloison.db";
  auto st = store::OpenSqliteStore(o, FieldCatalog::Default(), *master, clock_);
  ASSERT_TRUE(st.ok()) << st.status();
  auto decoys = (*st)->ListDecoys();
  ASSERT_TRUE(decoys.ok()) << decoys.status();
  auto structures = (*st)->ListStructures();
  ASSERT_TRUE(structures.ok());
  std::map<int64_t, StructureKind> kind;
  size_t followers = 0;  // agencies and missions locales
  for (const auto& x : *structures) {
    kind[x.id.value()] = x.kind;
    followers += x.kind == StructureKind::kAgency || x.kind == StructureKind::kMissionLocale;
  }
  ASSERT_GT(followers, 0u);
  EXPECT_GT(decoys->size(), followers);  // 2 each (a structure too small to draw 2 from may get fewer)
  EXPECT_LE(decoys->size(), 2 * followers);
  std::map<int64_t, std::pair<int64_t, bool>> rel;  // person -> (structure, has counsellor)
  ASSERT_TRUE((*st)->ForEachPersonRelation([&](PersonId p, StructureId s, std::optional<AccountId> c) {
                      rel[p.value()] = {s.value(), c.has_value()};
                    })
                  .ok());
  EXPECT_EQ(rel.size(), 1500 + decoys->size());  // --persons real people, plus the decoys
  // Decoys take ids among the real people's, which fill the rest: ids run
  // 1..people+decoys without a gap (the load appends every row in id order).
  ASSERT_FALSE(rel.empty());
  EXPECT_EQ(rel.begin()->first, 1);
  EXPECT_EQ(rel.rbegin()->first, static_cast<int64_t>(1500 + decoys->size()));
  // The summary counts real people and decoys apart.
  EXPECT_NE(r.out.find("generated 1 500 people"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(Thousands(static_cast<int64_t>(decoys->size())) + " decoy people"), std::string::npos) << r.out;
  std::set<int64_t> with_orientation;
  ASSERT_TRUE((*st)->ForEachOrientation([&](const Orientation& x) { with_orientation.insert(x.person.value()); }).ok());
  int64_t below_half = 0;
  for (PersonId d : *decoys) {
    ASSERT_TRUE(rel.count(d.value())) << d;
    const auto [structure, counsellor] = rel[d.value()];
    EXPECT_TRUE(kind[structure] == StructureKind::kAgency || kind[structure] == StructureKind::kMissionLocale);
    EXPECT_FALSE(counsellor) << "decoy " << d << " is in a caseload";
    EXPECT_FALSE(with_orientation.count(d.value())) << "decoy " << d << " is some partner's candidate";
    below_half += d.value() <= 750;
    // A decoy reads like anyone.
    auto p = (*st)->GetPerson(d);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_FALSE(p->fields[*FieldCatalog::Default().IndexOf("nir")].empty());
  }
  EXPECT_GT(below_half, 0) << "the decoys' ids are scattered, not all past the real people";
  // Not in the exported files: 1500 data rows + the header; no decoy id.
  std::ifstream csv(out + "/people.csv");
  int64_t lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, 1501);
  // --honeytokens 0: none.
  r = Cloison(clock_, {"--data", dir_ / "none", "generate", "--persons", "300", "--honeytokens", "0", "--no-files"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("honeytokens: "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cloison::cli
