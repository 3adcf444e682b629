// The OS CSPRNG (libsodium randombytes) behind core's Random interface: for
// keys, nonces, tokens. Thread-safe.
#pragma once

#include "core/random.h"
#include "core/status.h"

namespace cloison::crypto {

// Must succeed once per process before any crypto is used; idempotent and
// thread-safe. Fails only if libsodium cannot initialise (no entropy source).
Status InitCrypto();

class SecureRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override;
  uint64_t Next64() override;
  static SecureRandom& Instance();
};

}  // namespace cloison::crypto
