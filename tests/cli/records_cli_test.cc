// End-to-end tests of the records commands, as a user runs them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace cloison::testing {
namespace {

nlohmann::json StatsJson(const std::string& data) {
  auto r = RunCloison("--data " + data + " stats --json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output, nullptr, false);
}

TEST(RecordsCliTest, InitGenerateImportRotate) {
  TempDir dir("cli-records");
  const std::string data = dir / "data";
  auto r = RunCloison("--data " + data + " init");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st {};
  ASSERT_EQ(::stat((data + "/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  r = RunCloison("--data " + data + " generate --persons 3000 --seed 7 --today 2025-06-01 --out " + (dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto stats = StatsJson(data);
  EXPECT_EQ(stats["persons"], 3000);
  EXPECT_GT(stats["structures"].get<int>(), 5);
  EXPECT_GT(stats["orientations"].get<int>(), 0);
  ASSERT_TRUE(std::filesystem::exists(dir / "out/people.csv"));
  ASSERT_TRUE(std::filesystem::exists(dir / "out/people.jsonl"));

  // Re-importing what was generated updates, never duplicates.
  r = RunCloison("--data " + data + " import " + (dir / "out/people.csv"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 000 records read, 0 inserted, 3 000 updated, 0 rejected"), std::string::npos)
      << r.output;
  r = RunCloison("--data " + data + " import " + (dir / "out/people.jsonl"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(StatsJson(data)["persons"], 3000);

  // Rotation: every encrypted value ends under the new key.
  r = RunCloison("--data " + data + " keys rotate --batch 700");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  stats = StatsJson(data);
  EXPECT_EQ(stats["active_key_id"], 2);
  for (auto& [key, count] : stats["encrypted_values_per_key"].items()) {
    if (key != "2") {
      EXPECT_EQ(count, 0) << "key " << key;
    }
  }
  EXPECT_GT(stats["encrypted_values_per_key"]["2"].get<int64_t>(), 3000 * 5);

  // Same seed and date, same data: generating again into another store gives
  // the same CSV bytes (pinned: the default date is the day it runs).
  r = RunCloison("--data " + (dir / "data2") + " generate --persons 3000 --seed 7 --today 2025-06-01 --no-store --out " +
                 (dir / "out2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream a(dir / "out/people.csv"), b(dir / "out2/people.csv");
  std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(sa, sb);
}

TEST(RecordsCliTest, ImportReportsRejectedLinesAndExitsOne) {
  TempDir dir("cli-import");
  const std::string data = dir / "data";
  ASSERT_EQ(RunCloison("--data " + data + " generate --persons 50 --seed 3 --out " + (dir / "out")).exit_code, 0);
  // Take the header and first good line of the generated file, then add bad lines.
  std::ifstream in(dir / "out/people.csv");
  std::string header, good;
  std::getline(in, header);
  std::getline(in, good);
  std::ofstream out(dir / "bad.csv");
  out << header << "\n" << good << "\n" << "not,enough,cells\n";
  out.close();
  auto r = RunCloison("--data " + data + " import " + (dir / "bad.csv"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bad.csv:3: expected"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 rejected"), std::string::npos) << r.output;

  r = RunCloison("--data " + data + " import " + (dir / "missing.csv"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no such file"), std::string::npos) << r.output;
}

TEST(RecordsCliTest, WrongOrMissingMasterKeyIsAClearError) {
  TempDir dir("cli-keys");
  const std::string data = dir / "data";
  ASSERT_EQ(RunCloison("--data " + data + " init").exit_code, 0);
  const std::string wrong = "CLOISON_MASTER_KEY=" + std::string(64, 'b') + " ";
  auto r = RunCloison("--data " + data + " stats", wrong);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("master key does not match this store"), std::string::npos) << r.output;

  // A malformed key in the environment is an environment failure too (3),
  // not bad usage (2), and its value is not echoed.
  const std::string bad_value = std::string(40, 'c') + "not-hex";
  r = RunCloison("--data " + data + " stats", "CLOISON_MASTER_KEY=" + bad_value + " ");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("CLOISON_MASTER_KEY: master key must be 64 hexadecimal characters"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find(bad_value), std::string::npos) << r.output;

  std::filesystem::remove(data + "/master.key");
  r = RunCloison("--data " + data + " stats");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("master key file"), std::string::npos) << r.output;

  r = RunCloison("--data " + (dir / "nothing") + " stats");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("cloison init"), std::string::npos) << r.output;
}

TEST(RecordsCliTest, BadUsageExitsTwo) {
  EXPECT_EQ(RunCloison("generate --persons -5").exit_code, 2);
  EXPECT_EQ(RunCloison("no-such-command").exit_code, 2);
  auto r = RunCloison("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"init", "generate", "import", "keys", "demo", "stats"})
    EXPECT_NE(r.output.find("\n  " + std::string(cmd) + " "), std::string::npos) << cmd << "\n" << r.output;
  for (const char* cmd : {"init", "generate", "import", "keys rotate", "demo", "stats"}) {
    auto h = RunCloison(std::string(cmd) + " --help");
    EXPECT_EQ(h.exit_code, 0) << cmd;
    EXPECT_NE(h.output.find("Usage:"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace cloison::testing
