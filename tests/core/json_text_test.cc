// AppendJsonQuoted: the escapes JSON requires, nothing more, and text any
// JSON parser reads back as the input.
#include "core/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cloison {
namespace {

std::string Quoted(std::string_view s) {
  std::string out = "x";
  AppendJsonQuoted(out, s);
  return out.substr(1);
}

TEST(JsonTextTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Quoted(""), "\"\"");
  EXPECT_EQ(Quoted("plain text"), "\"plain text\"");
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quoted("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
  EXPECT_EQ(Quoted(std::string_view("\0\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(Quoted("\x7f/é🙂"), "\"\x7f/é🙂\"") << "DEL, '/' and UTF-8 pass through";
}

TEST(JsonTextTest, EveryAsciiByteReadsBack) {
  for (int c = 0; c < 0x80; ++c) {
    const std::string s = "<" + std::string(1, static_cast<char>(c)) + ">";
    const std::string q = Quoted(s);
    EXPECT_EQ(nlohmann::json::parse(q).get<std::string>(), s) << "byte " << c << ": " << q;
  }
  const std::string mixed = "Émile \"Zola\"\n\tC:\\dossier\x01 日本";
  EXPECT_EQ(nlohmann::json::parse(Quoted(mixed)).get<std::string>(), mixed);
}

}  // namespace
}  // namespace cloison
