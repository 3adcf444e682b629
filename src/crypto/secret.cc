#include "crypto/secret.h"

#include <sodium.h>

namespace cloison::crypto {

void SecretBytes::Wipe() {
  if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
  // Shrinking to zero keeps no stale copy: the vector's buffer was just zeroed.
  bytes_.clear();
}

bool SecretBytes::Equals(const SecretBytes& o) const {
  if (bytes_.size() != o.bytes_.size()) return false;
  if (bytes_.empty()) return true;
  return sodium_memcmp(bytes_.data(), o.bytes_.data(), bytes_.size()) == 0;
}

}  // namespace cloison::crypto
