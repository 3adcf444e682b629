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


// The scan reads 8 bytes at a time: every byte value, at every offset of a
// string longer than a few words, is escaped exactly as one byte at a time.
std::string ByteByByte(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

TEST(JsonTextTest, EveryByteAtEveryOffsetOfALongString) {
  for (int c = 0; c < 0x100; ++c) {
    for (size_t at = 0; at < 41; ++at) {
      std::string s(41, 'a');
      s[at] = static_cast<char>(c);
      ASSERT_EQ(Quoted(s), ByteByByte(s)) << "byte " << c << " at " << at;
      s.assign(at + 1, 'z');  // the byte last, after 0 to 5 whole words
      s[at] = static_cast<char>(c);
      ASSERT_EQ(Quoted(s), ByteByByte(s)) << "byte " << c << " ending a string of " << at + 1;
    }
  }
  // Several escapes, high bytes beside them, words straddled.
  const std::string mixed = std::string("\xff\x80\x1f\"abcdefgh\\\xc3\xa9\x00", 17) + std::string(20, '\x7f') + "\n";
  EXPECT_EQ(Quoted(mixed), ByteByByte(mixed));
}

}  // namespace
}  // namespace cloison
