// SHA-256 (OpenSSL EVP) for the audit log's Merkle tree. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace cloison::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::span<const uint8_t> data);
// SHA-256(prefix || a || b) without concatenating: the Merkle node and leaf hashes.
Sha256Digest Sha256Prefixed(uint8_t prefix, std::span<const uint8_t> a, std::span<const uint8_t> b = {});

}  // namespace cloison::crypto
