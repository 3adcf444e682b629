#include "ingest/person_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cloison::ingest {
namespace {

std::vector<std::string> Cells(std::string_view line, std::vector<std::string> more_lines = {}) {
  std::vector<std::string> cells;
  std::string error;
  size_t next = 0;
  EXPECT_TRUE(ParseCsvRecord(line, cells, error, [&](std::string& out) {
    if (next >= more_lines.size()) return false;
    out = more_lines[next++];
    return true;
  })) << error;
  return cells;
}

TEST(CsvTest, SplitsQuotedCells) {
  EXPECT_EQ(Cells("a,b,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Cells("a,,c"), (std::vector<std::string>{"a", "", "c"}));
  EXPECT_EQ(Cells("\"a,b\",\"say \"\"hi\"\"\",c"), (std::vector<std::string>{"a,b", "say \"hi\"", "c"}));
  EXPECT_EQ(Cells(""), (std::vector<std::string>{""}));
  EXPECT_EQ(Cells("a,"), (std::vector<std::string>{"a", ""}));
}

TEST(CsvTest, QuotedCellSpansLines) {
  EXPECT_EQ(Cells("1,\"12 rue", {"Victor Hugo\",x"}), (std::vector<std::string>{"1", "12 rue\nVictor Hugo", "x"}));
}

TEST(CsvTest, ReusedCellsAreResetEachRecord) {
  std::vector<std::string> cells = {"stale", "stale", "stale", "stale"};
  std::string error;
  auto none = [](std::string&) { return false; };
  ASSERT_TRUE(ParseCsvRecord("a,,\"b,c\"", cells, error, none));
  EXPECT_EQ(cells, (std::vector<std::string>{"a", "", "b,c"}));
  ASSERT_TRUE(ParseCsvRecord("", cells, error, none));
  EXPECT_EQ(cells, (std::vector<std::string>{""}));
  EXPECT_FALSE(ParseCsvRecord("x,\"y", cells, error, none));
  EXPECT_NE(error.find("unterminated"), std::string::npos);
  ASSERT_TRUE(ParseCsvRecord("z", cells, error, none));
  EXPECT_TRUE(error.empty());
  EXPECT_EQ(cells, (std::vector<std::string>{"z"}));
}

TEST(CsvTest, MalformedQuoting) {
  std::vector<std::string> cells;
  std::string error;
  auto none = [](std::string&) { return false; };
  EXPECT_FALSE(ParseCsvRecord("a,b\"c", cells, error, none));
  EXPECT_NE(error.find("stray quote"), std::string::npos);
  EXPECT_FALSE(ParseCsvRecord("\"ab\"c", cells, error, none));
  EXPECT_FALSE(ParseCsvRecord("\"unterminated", cells, error, none));
  EXPECT_NE(error.find("unterminated"), std::string::npos);
}

class ReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    auto dir = std::filesystem::temp_directory_path() / ("cloison-reader-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto p = (dir / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

TEST_F(ReaderTest, CsvRecordsCarryTheirLineNumbers) {
  auto p = Write("a.csv", "\xEF\xBB\xBFnom,prenom\r\nDupont,Marie\r\n\"Le\nGall\",Yann\nSolo\n");
  auto r = PersonFileReader::Open(p, FileFormat::kCsv);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->header(), (std::vector<std::string>{"nom", "prenom"}));
  RawRecord rec;
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 2);
  EXPECT_EQ(rec.values[0].second, "Dupont");
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 3);
  EXPECT_EQ(rec.values[0].second, "Le\nGall");
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 5);
  EXPECT_EQ(rec.parse_error, "expected 2 values, found 1");
  EXPECT_FALSE(*(*r)->Next(rec));
}

// One RawRecord reused across records of every shape (as the importer does):
// no value leaks from one record into the next.
TEST_F(ReaderTest, ReusedRecordCarriesOnlyItsOwnValues) {
  auto p = Write("b.csv",
                 "a,b,c\n"
                 "a-fairly-long-first-value-beyond-sso,x,\n"  // 2
                 "only,two\n"                                 // 3: wrong count
                 "\"q\"\"uoted\",\"multi\nline\",\"\"\n"      // 4-5
                 ",,\n"                                       // 6: all empty
                 "1,2,3\n");                                  // 7
  auto r = PersonFileReader::Open(p, FileFormat::kCsv);
  ASSERT_TRUE(r.ok()) << r.status();
  RawRecord rec;
  auto values = [&] {
    std::vector<std::string> v;
    for (const auto& [name, value] : rec.values) v.push_back(name + "=" + value);
    return v;
  };
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(values(), (std::vector<std::string>{"a=a-fairly-long-first-value-beyond-sso", "b=x", "c="}));
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 3);
  EXPECT_EQ(rec.parse_error, "expected 3 values, found 2");
  EXPECT_TRUE(rec.values.empty());
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 4);
  EXPECT_TRUE(rec.parse_error.empty());
  EXPECT_EQ(values(), (std::vector<std::string>{"a=q\"uoted", "b=multi\nline", "c="}));
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 6);
  EXPECT_EQ(values(), (std::vector<std::string>{"a=", "b=", "c="}));
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(values(), (std::vector<std::string>{"a=1", "b=2", "c=3"}));
  EXPECT_FALSE(*(*r)->Next(rec));
}

TEST_F(ReaderTest, JsonLines) {
  auto p = Write("a.jsonl", "{\"nom\":\"Dupont\",\"prenom\":null}\n\n{bad json\n[1,2]\n{\"nom\":3}\n");
  auto r = PersonFileReader::Open(p, FileFormat::kJsonLines);
  ASSERT_TRUE(r.ok());
  RawRecord rec;
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 1);
  EXPECT_TRUE(rec.parse_error.empty());
  ASSERT_EQ(rec.values.size(), 2u);
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.line, 3);
  EXPECT_EQ(rec.parse_error, "malformed JSON");
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.parse_error, "each line must be a JSON object");
  ASSERT_TRUE(*(*r)->Next(rec));
  EXPECT_EQ(rec.parse_error, "value of 'nom' must be a string");
  EXPECT_FALSE(*(*r)->Next(rec));
}

TEST_F(ReaderTest, OpenErrors) {
  EXPECT_EQ(PersonFileReader::Open("/nonexistent/x.csv", FileFormat::kCsv).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(PersonFileReader::Open(Write("empty.csv", ""), FileFormat::kCsv).ok());
  EXPECT_FALSE(FormatFromPath("people.txt").ok());
  EXPECT_EQ(*FormatFromPath("people.jsonl"), FileFormat::kJsonLines);
}

}  // namespace
}  // namespace cloison::ingest
