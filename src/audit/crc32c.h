// CRC-32C (Castagnoli), the checksum of the audit log's frames. Uses the
// SSE4.2 instruction when the CPU has it, a table otherwise; both give the
// same values. Not a security measure: it catches torn writes and bit rot;
// tampering is caught by the Merkle tree and the signed checkpoints.
//
// Stored checksums are masked as in LevelDB, so that a CRC computed over data
// that itself contains CRCs stays well distributed.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cloison::audit::crc32c {

// CRC of data[0, n) continuing from `init` (0 to start).
uint32_t Extend(uint32_t init, const uint8_t* data, size_t n);
inline uint32_t Value(const uint8_t* data, size_t n) { return Extend(0, data, n); }

constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t Unmask(uint32_t masked) {
  const uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace cloison::audit::crc32c
