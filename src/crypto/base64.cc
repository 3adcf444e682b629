#include "crypto/base64.h"

#include <sodium.h>

namespace cloison::crypto {

std::string Base64Encode(std::span<const uint8_t> bytes) {
  const size_t cap = sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  std::string out(cap, '\0');
  sodium_bin2base64(out.data(), cap, bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(cap - 1);  // drop the NUL terminator
  return out;
}

StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return InvalidArgument("base64: length is not a multiple of 4");
  std::vector<uint8_t> out(text.size() / 4 * 3 + 1);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), /*ignore=*/nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgument("base64: invalid encoding");
  }
  out.resize(len);
  // Reject non-canonical encodings (non-zero padding bits) so that one byte
  // string has exactly one text form.
  if (Base64Encode(out) != text) return InvalidArgument("base64: non-canonical encoding");
  return out;
}

}  // namespace cloison::crypto
