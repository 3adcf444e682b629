// Digital signatures behind small Tink-style interfaces: a Signer holds a
// private key and signs; a Verifier holds a public key and checks. The only
// implementation is Ed25519 (libsodium, RFC 8032), used by the audit log to
// sign its checkpoints.
//
// Ownership: an Ed25519Signer owns its key in SecretBytes (zeroed on
// destruction); keys never appear in messages or logs.
// Thread-safety: Sign/Verify are const and safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::crypto {

class Verifier {
 public:
  virtual ~Verifier() = default;
  // OK when `signature` is a valid signature of `message`; Unauthenticated
  // otherwise (including a signature of the wrong length).
  virtual Status Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const = 0;
};

class Signer {
 public:
  virtual ~Signer() = default;
  virtual std::vector<uint8_t> Sign(std::span<const uint8_t> message) const = 0;
};

class Ed25519Verifier final : public Verifier {
 public:
  static constexpr size_t kPublicKeySize = 32;
  static constexpr size_t kSignatureSize = 64;
  // InvalidArgument unless the key is 32 bytes.
  static StatusOr<std::unique_ptr<Ed25519Verifier>> Create(std::span<const uint8_t> public_key);
  Status Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const override;
  const std::array<uint8_t, kPublicKeySize>& public_key() const { return public_key_; }

 private:
  std::array<uint8_t, kPublicKeySize> public_key_{};
};

class Ed25519Signer final : public Signer {
 public:
  static constexpr size_t kSeedSize = 32;
  // A fresh key from the OS CSPRNG.
  static std::unique_ptr<Ed25519Signer> Generate();
  // The key derived from a 32-byte seed (RFC 8032 private key); InvalidArgument otherwise.
  static StatusOr<std::unique_ptr<Ed25519Signer>> FromSeed(const SecretBytes& seed);

  std::vector<uint8_t> Sign(std::span<const uint8_t> message) const override;
  const std::array<uint8_t, Ed25519Verifier::kPublicKeySize>& public_key() const { return public_key_; }
  // The 32-byte seed, for storing the key in a 0600 file.
  const SecretBytes& seed() const { return seed_; }

 private:
  Ed25519Signer() = default;
  SecretBytes seed_;
  SecretBytes secret_key_;  // libsodium's 64-byte form (seed || public key)
  std::array<uint8_t, Ed25519Verifier::kPublicKeySize> public_key_{};
};

}  // namespace cloison::crypto
