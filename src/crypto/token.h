// Bearer secrets handed to a person or a program exactly once (API keys,
// session tokens, recovery codes) and stored only as keyed hashes.
//
// A token is 32 bytes from the CSPRNG (256 bits: no need for a slow hash),
// printed as "<prefix>" + base64url. The database keeps
// TokenHasher::Hash(token) = keyed BLAKE2b-256 under a key derived from the
// master key, so a stolen database alone cannot even confirm a guessed token,
// and lookups stay an exact index match. Comparisons of digests are
// constant-time.
//
// Thread-safety: TokenHasher is immutable and thread-safe; the generators
// take a Random& that must not be shared between threads unless it is
// thread-safe (SecureRandom is).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/random.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::crypto {

using TokenDigest = std::array<uint8_t, 32>;

// "<prefix>" + base64url(32 random bytes), e.g. "clk_3q2+...". The prefix lets
// secret scanners and humans tell key kinds apart; it carries no secret.
SecretBytes NewToken(Random& random, std::string_view prefix);

// A one-time recovery code: 10 characters from a 32-letter alphabet without
// look-alikes, shown as "xxxxx-xxxxx" (50 bits; attempts are throttled).
SecretBytes NewRecoveryCode(Random& random);
// Lower-cases and drops separators/spaces so "ABCDE-FGHIJ" == "abcdefghij".
SecretBytes NormalizeRecoveryCode(const SecretBytes& code);

// A random password of `length` characters drawn from letters and digits
// (initial passwords handed over once, then changed by their owner).
SecretBytes NewRandomPassword(Random& random, size_t length = 20);

class TokenHasher {
 public:
  // `key` must be 32 bytes (see FromMaster).
  explicit TokenHasher(SecretBytes key) : key_(std::move(key)) {}
  // Key = DeriveSubkey(master, 4, "cloistok").
  static TokenHasher FromMaster(const SecretBytes& master);
  // Keyed BLAKE2b-256 over a domain label and the token: the same token used
  // as an API key and as a session token gives unrelated digests.
  TokenDigest Hash(std::string_view domain, const SecretBytes& token) const;

 private:
  SecretBytes key_;
};

// Constant-time equality of two digests.
bool DigestEquals(const TokenDigest& a, const TokenDigest& b);

}  // namespace cloison::crypto
