#include "crypto/token.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "crypto/keys.h"
#include "crypto/secure_random.h"

namespace cloison::crypto {

namespace {
// Crockford-like alphabet: no i, l, o, u (look-alikes and accidental words).
constexpr char kCodeAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr char kPasswordAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
}  // namespace

SecretBytes NewToken(Random& random, std::string_view prefix) {
  SecretBytes raw(32);
  random.Fill({raw.mutable_data(), raw.size()});
  const size_t b64_len = sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  SecretBytes out(prefix.size() + b64_len);
  std::copy(prefix.begin(), prefix.end(), out.mutable_data());
  sodium_bin2base64(reinterpret_cast<char*>(out.mutable_data() + prefix.size()), b64_len, raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  // b64_len counts the trailing NUL: drop it.
  SecretBytes trimmed(std::span<const uint8_t>(out.data(), out.size() - 1));
  return trimmed;
}

SecretBytes NewRecoveryCode(Random& random) {
  SecretBytes out(11);
  uint8_t* p = out.mutable_data();
  for (int i = 0, j = 0; i < 10; ++i) {
    if (i == 5) p[j++] = '-';
    p[j++] = static_cast<uint8_t>(kCodeAlphabet[random.Uniform(32)]);
  }
  return out;
}

SecretBytes NormalizeRecoveryCode(const SecretBytes& code) {
  SecretBytes out(code.size());
  size_t n = 0;
  for (uint8_t c : code.span()) {
    if (c == '-' || c == ' ') continue;
    out.mutable_data()[n++] = static_cast<uint8_t>(std::tolower(c));
  }
  SecretBytes trimmed(std::span<const uint8_t>(out.data(), n));
  return trimmed;
}

SecretBytes NewRandomPassword(Random& random, size_t length) {
  SecretBytes out(length);
  const uint64_t n = sizeof(kPasswordAlphabet) - 1;
  for (size_t i = 0; i < length; ++i) out.mutable_data()[i] = static_cast<uint8_t>(kPasswordAlphabet[random.Uniform(n)]);
  return out;
}

TokenHasher TokenHasher::FromMaster(const SecretBytes& master) {
  return TokenHasher(DeriveSubkey(master, 4, "cloistok"));
}

TokenDigest TokenHasher::Hash(std::string_view domain, const SecretBytes& token) const {
  TokenDigest out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), out.size());
  const uint8_t len = static_cast<uint8_t>(domain.size());
  crypto_generichash_update(&st, &len, 1);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
  if (!token.empty()) crypto_generichash_update(&st, token.data(), token.size());
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

bool DigestEquals(const TokenDigest& a, const TokenDigest& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cloison::crypto
