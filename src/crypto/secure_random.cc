#include "crypto/secure_random.h"

#include <sodium.h>

namespace cloison::crypto {

Status InitCrypto() {
  static const int rc = sodium_init();  // thread-safe static init; -1 only on failure
  if (rc < 0) return Internal("libsodium could not be initialised");
  return OkStatus();
}

void SecureRandom::Fill(std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); }

uint64_t SecureRandom::Next64() {
  uint64_t v;
  randombytes_buf(&v, sizeof v);
  return v;
}

SecureRandom& SecureRandom::Instance() {
  static SecureRandom r;
  return r;
}

}  // namespace cloison::crypto
