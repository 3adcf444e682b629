#include "core/json_text.h"

#include <cstdint>
#include <cstring>

namespace cloison {

namespace {

// Whether any of the 8 bytes of `x` needs an escape: below 0x20, '"' or
// '\\'. The classic exact "has zero byte" / "has byte less than" tests
// (Hacker's Delight 6-1): for a yes/no answer they have no false positives.
inline bool WordNeedsEscape(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t below_space = (x - kOnes * 0x20) & ~x;
  const uint64_t q = x ^ (kOnes * '"');
  const uint64_t b = x ^ (kOnes * '\\');
  return ((below_space | ((q - kOnes) & ~q) | ((b - kOnes) & ~b)) & kHigh) != 0;
}

inline bool ByteNeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

}  // namespace

void AppendJsonQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Most names and values need no escape at all: find the first byte that
  // does, 8 bytes at a time, and copy everything before it at once.
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, sizeof word);
    if (WordNeedsEscape(word)) break;
  }
  while (i < s.size() && !ByteNeedsEscape(static_cast<unsigned char>(s[i]))) ++i;
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  out.append(s.data(), i);
  size_t run = i;  // bytes before this are in `out`
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!ByteNeedsEscape(c)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace cloison
