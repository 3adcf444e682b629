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

// One value of a group encrypted together (see Aead::EncryptGroup). `out`
// must have room for plaintext.size() + the implementation's overhead
// (XChaCha20Poly1305::kOverhead); it receives the same layout as Encrypt.
struct AeadItem {
  std::span<const uint8_t> plaintext;
  std::span<const uint8_t> associated_data;
  uint8_t* out = nullptr;
};

// One value of a group opened together (see Aead::DecryptGroup).
struct AeadOpenItem {
  std::span<const uint8_t> ciphertext;
  std::span<const uint8_t> associated_data;
};

// One value of an envelope opened together (see Aead::OpenEnvelope):
// `ciphertext` is ciphertext || tag (no nonce), `index` the value's place in
// the envelope it was sealed in.
struct EnvelopeOpenItem {
  std::span<const uint8_t> ciphertext;
  std::span<const uint8_t> associated_data;
  uint8_t index = 0;
};

// Size of an envelope's nonce prefix (see Aead::SealEnvelope).
constexpr size_t kEnvelopePrefixSize = 16;

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
  // Encrypts each item, as Encrypt would, into its `out`. Meant for values
  // written together (the sensitive fields of one person): an implementation
  // may share per-message setup between them, never a nonce.
  virtual void EncryptGroup(std::span<const AeadItem> items) const = 0;
  // Decrypts each item exactly as Decrypt would (same results, same errors),
  // in order. Meant for values read together (one person's fields): an
  // implementation may share per-message setup between them.
  virtual std::vector<StatusOr<std::string>> DecryptGroup(std::span<const AeadOpenItem> items) const {
    std::vector<StatusOr<std::string>> out;
    out.reserve(items.size());
    for (const AeadOpenItem& it : items) out.push_back(Decrypt(it.ciphertext, it.associated_data));
    return out;
  }
  // An envelope: values written together (one person's sensitive fields)
  // whose nonces are one random prefix, drawn here and written to `prefix`,
  // followed by the value's index in `items` (the nonce is stored once by
  // the caller, not once per value). Each `out` must have room for
  // plaintext.size() + the tag (XChaCha20Poly1305::kTagSize) and receives
  // ciphertext || tag. At most 256 items (the index is one byte):
  // InvalidArgument otherwise, with nothing written.
  virtual Status SealEnvelope(std::span<const AeadItem> items,
                              std::span<uint8_t, kEnvelopePrefixSize> prefix) const = 0;
  // Opens values sealed by SealEnvelope with `prefix`, any subset, in any
  // order; each result is the plaintext or Corruption (wrong key, prefix,
  // index or associated data, or modified bytes), as Decrypt reports it.
  virtual std::vector<StatusOr<std::string>> OpenEnvelope(
      std::span<const EnvelopeOpenItem> items, std::span<const uint8_t, kEnvelopePrefixSize> prefix) const = 0;
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
  // XChaCha20 derives a subkey from the first 16 nonce bytes (HChaCha20,
  // about a fifth of the cost of encrypting a short value). The items of a
  // group share one random 16-byte prefix, so the subkey is derived once,
  // and differ in the last 8 bytes (item index, little-endian): every 24-byte
  // nonce is still distinct (prefixes are random 128-bit values), and each
  // ciphertext is exactly what Encrypt would give with that nonce (the
  // composition is the one draft-irtf-cfrg-xchacha defines and libsodium's
  // own XChaCha20-Poly1305 performs; the subkey is wiped after the group).
  // Groups of more than kMaxGroup items take a new prefix every kMaxGroup.
  static constexpr size_t kMaxGroup = 256;
  void EncryptGroup(std::span<const AeadItem> items) const override;
  // Derives the subkey once for each run of items whose nonces share their
  // first 16 bytes (values written by one EncryptGroup), then opens each
  // with libsodium's ChaCha20-Poly1305 (which checks the tag in constant
  // time before releasing anything).
  std::vector<StatusOr<std::string>> DecryptGroup(std::span<const AeadOpenItem> items) const override;
  // Envelope of items.size() <= kMaxGroup values: the same ciphertexts as
  // EncryptGroupWithPrefix under a fresh random prefix, without the nonce
  // in front of each (the one HChaCha20 derivation serves the envelope).
  Status SealEnvelope(std::span<const AeadItem> items,
                      std::span<uint8_t, kEnvelopePrefixSize> prefix) const override;
  // Derives the subkey once for the envelope, then opens each value as
  // DecryptGroup does (tag checked in constant time before any release).
  std::vector<StatusOr<std::string>> OpenEnvelope(
      std::span<const EnvelopeOpenItem> items, std::span<const uint8_t, kEnvelopePrefixSize> prefix) const override;
  // SealEnvelope with the caller's prefix, for known-answer tests only.
  Status SealEnvelopeWithPrefix(std::span<const AeadItem> items,
                                std::span<const uint8_t, kEnvelopePrefixSize> prefix) const;
  // Deterministic variant for known-answer tests only: caller supplies the nonce.
  std::vector<uint8_t> EncryptWithNonce(std::span<const uint8_t> plaintext, std::span<const uint8_t> ad,
                                        std::span<const uint8_t, kNonceSize> nonce) const;
  // EncryptGroup of at most kMaxGroup items (the rest are left alone) with
  // the caller's 16-byte prefix, for known-answer tests only.
  void EncryptGroupWithPrefix(std::span<const AeadItem> items, std::span<const uint8_t, 16> prefix) const;

 private:
  explicit XChaCha20Poly1305(SecretBytes key) : key_(std::move(key)) {}
  // Seals at most kMaxGroup items under one subkey; item i's nonce is
  // prefix || le64(i). With `with_nonce` each out starts with that nonce
  // (Encrypt's layout), otherwise it is ciphertext || tag alone.
  void SealWithPrefix(std::span<const AeadItem> items, std::span<const uint8_t, 16> prefix, bool with_nonce) const;
  SecretBytes key_;
};

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace cloison::crypto
