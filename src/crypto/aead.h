// Authenticated encryption with associated data, behind a small interface
// (Tink's Aead). The only implementation is XChaCha20-Poly1305 (libsodium,
// IETF variant): 24-byte random nonces are safe to draw at random for any
// number of messages under one key.
//
// Ciphertext layout: nonce (24 bytes) || ciphertext || tag (16 bytes).
// Decrypt fails with Corruption when the tag does not verify: wrong key,
// modified bytes, or different associated data (a ciphertext moved to another
// row or field).
//
// Thread-safety: Encrypt/Decrypt are const and safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::crypto {

class Aead {
 public:
  virtual ~Aead() = default;
  virtual std::vector<uint8_t> Encrypt(std::span<const uint8_t> plaintext,
                                       std::span<const uint8_t> associated_data) const = 0;
  // Appends to `out` instead of allocating (hot path for bulk loads).
  virtual void EncryptTo(std::span<const uint8_t> plaintext, std::span<const uint8_t> associated_data,
                         std::vector<uint8_t>& out) const = 0;
  virtual StatusOr<std::string> Decrypt(std::span<const uint8_t> ciphertext,
                                        std::span<const uint8_t> associated_data) const = 0;
};

class XChaCha20Poly1305 final : public Aead {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 24;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = kNonceSize + kTagSize;

  // Fails with InvalidArgument unless key is 32 bytes.
  static StatusOr<std::unique_ptr<XChaCha20Poly1305>> Create(const SecretBytes& key);

  std::vector<uint8_t> Encrypt(std::span<const uint8_t> plaintext,
                               std::span<const uint8_t> associated_data) const override;
  void EncryptTo(std::span<const uint8_t> plaintext, std::span<const uint8_t> associated_data,
                 std::vector<uint8_t>& out) const override;
  StatusOr<std::string> Decrypt(std::span<const uint8_t> ciphertext,
                                std::span<const uint8_t> associated_data) const override;
  // Deterministic variant for known-answer tests only: caller supplies the nonce.
  std::vector<uint8_t> EncryptWithNonce(std::span<const uint8_t> plaintext, std::span<const uint8_t> ad,
                                        std::span<const uint8_t, kNonceSize> nonce) const;

 private:
  explicit XChaCha20Poly1305(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace cloison::crypto
