#include "crypto/signer.h"

#include <sodium.h>

#include <cstring>

#include "crypto/secure_random.h"

namespace cloison::crypto {

StatusOr<std::unique_ptr<Ed25519Verifier>> Ed25519Verifier::Create(std::span<const uint8_t> public_key) {
  if (public_key.size() != kPublicKeySize) return InvalidArgument("Ed25519 public key must be 32 bytes");
  auto v = std::make_unique<Ed25519Verifier>();
  std::memcpy(v->public_key_.data(), public_key.data(), kPublicKeySize);
  return v;
}

Status Ed25519Verifier::Verify(std::span<const uint8_t> message, std::span<const uint8_t> signature) const {
  if (signature.size() != kSignatureSize) return Unauthenticated("signature has the wrong length");
  if (crypto_sign_verify_detached(signature.data(), message.data(), message.size(), public_key_.data()) != 0) {
    return Unauthenticated("signature does not verify");
  }
  return OkStatus();
}

std::unique_ptr<Ed25519Signer> Ed25519Signer::Generate() {
  (void)InitCrypto();
  SecretBytes seed(kSeedSize);
  randombytes_buf(seed.mutable_data(), seed.size());
  return std::move(FromSeed(seed)).value();
}

StatusOr<std::unique_ptr<Ed25519Signer>> Ed25519Signer::FromSeed(const SecretBytes& seed) {
  if (seed.size() != kSeedSize) return InvalidArgument("Ed25519 seed must be 32 bytes");
  CLOISON_RETURN_IF_ERROR(InitCrypto());
  std::unique_ptr<Ed25519Signer> s(new Ed25519Signer());
  s->seed_ = seed;
  s->secret_key_ = SecretBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(s->public_key_.data(), s->secret_key_.mutable_data(), seed.data());
  return s;
}

std::vector<uint8_t> Ed25519Signer::Sign(std::span<const uint8_t> message) const {
  std::vector<uint8_t> sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return sig;
}

}  // namespace cloison::crypto
