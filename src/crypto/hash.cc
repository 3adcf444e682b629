#include "crypto/hash.h"

#include <openssl/sha.h>

namespace cloison::crypto {

// The low-level SHA256_* calls are deprecated in OpenSSL 3 in favour of EVP,
// but for 32..100-byte inputs EVP's per-call context allocation costs more than
// the hash itself; SHA256_CTX lives on the stack.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest out;
  ::SHA256(data.data(), data.size(), out.data());
  return out;
}

Sha256Digest Sha256Prefixed(uint8_t prefix, std::span<const uint8_t> a, std::span<const uint8_t> b) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, a.data(), a.size());
  if (!b.empty()) SHA256_Update(&ctx, b.data(), b.size());
  Sha256Digest out;
  SHA256_Final(out.data(), &ctx);
  return out;
}
#pragma GCC diagnostic pop

}  // namespace cloison::crypto
