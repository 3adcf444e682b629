// Signed checkpoints in the C2SP formats (c2sp.org/signed-note and
// c2sp.org/tlog-checkpoint), so that generic transparency-log tooling can
// read and check them:
//
//   <origin>\n                      e.g. "cloison.local/audit/5f3a9c21"
//   <tree size, decimal>\n
//   <root hash, standard base64>\n
//   \n
//   — <key name> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>\n
//
// The signed message is the body: the first three lines with their newlines.
// key hash = first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key).
// Key strings (as Go's golang.org/x/mod/sumdb/note):
//   verifier key  "<name>+<key hash, 8 hex>+<base64(0x01 || public key)>"
//   private key   "PRIVATE+KEY+<name>+<key hash>+<base64(0x01 || seed)>"
//
// Thread-safety: NoteSigner and NoteVerifier are immutable; use from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "audit/merkle.h"
#include "core/status.h"
#include "crypto/secret.h"
#include "crypto/signer.h"

namespace cloison::audit {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// "<origin>\n<size>\n<base64 root>\n"
std::string CheckpointBody(const Checkpoint& c);
// Parses a body or a whole note (signatures ignored); Corruption when the
// three lines are not origin, decimal size without leading zeros, 32-byte root.
StatusOr<Checkpoint> ParseCheckpoint(std::string_view note_or_body);

// Key hash of an Ed25519 key under `name`.
std::array<uint8_t, 4> NoteKeyHash(std::string_view name, std::span<const uint8_t> public_key);
// A key name must be non-empty UTF-8 without spaces, newlines or '+'.
bool IsValidKeyName(std::string_view name);

class NoteSigner {
 public:
  // A fresh Ed25519 key named `name` (InvalidArgument for a bad name).
  static StatusOr<NoteSigner> Generate(std::string_view name);
  // From a "PRIVATE+KEY+..." string (Corruption when malformed; the message
  // never contains key material).
  static StatusOr<NoteSigner> FromPrivateKey(std::string_view key);

  const std::string& name() const { return name_; }
  std::string VerifierKey() const;  // "<name>+<hash>+<base64>"
  std::string PrivateKey() const;   // to be stored 0600, never printed
  // The full note: body, blank line, one signature line.
  std::string Sign(std::string_view body) const;
  // A 32-byte key derived from the private key (libsodium crypto_kdf:
  // BLAKE2b keyed with the Ed25519 seed; `context` is 8 characters), for
  // secrets that must live and die with the signing key (entry_tag.h).
  crypto::SecretBytes DeriveKey(uint64_t id, std::string_view context) const;

 private:
  std::string name_;
  std::shared_ptr<const crypto::Ed25519Signer> signer_;
};

class NoteVerifier {
 public:
  // From a verifier key string; InvalidArgument when malformed.
  static StatusOr<NoteVerifier> FromVerifierKey(std::string_view key);
  const std::string& name() const { return name_; }
  // OK when `note` carries a valid signature by this key over its body.
  // Corruption for a malformed note; Unauthenticated when no signature line
  // of this key verifies.
  Status Verify(std::string_view note) const;

 private:
  std::string name_;
  std::array<uint8_t, 4> key_hash_{};
  std::shared_ptr<const crypto::Ed25519Verifier> verifier_;
};

}  // namespace cloison::audit
