// Key hierarchy.
//
//   master key (32 bytes, from a 0600 file or CLOISON_MASTER_KEY; never stored
//   │           in the database, never logged)
//   ├─ KEK   = KDF(master, 1, "cloiskek"): wraps data-encryption keys
//   ├─ BIX   = KDF(master, 2, "cloisbix"): keys the blind indexes
//   ├─ IAM   = KDF(master, 3, "cloisiam"): encrypts TOTP secrets (src/iam)
//   ├─ TOK   = KDF(master, 4, "cloistok"): keys the hashes of API keys, session
//   │          tokens and login-attempt keys (src/iam)
//   └─ (audit signing keys are separate files, see src/audit)
//
//   data-encryption keys (DEKs): random 32-byte keys with a numeric key id,
//   stored in the database only wrapped by the KEK (AEAD, associated data
//   "cloison-dek:<id>"). A wrong master key fails to unwrap them: a clear
//   error, never garbage.
//
// The KeyRing holds the unwrapped DEKs in memory and says which one is active
// for new encryptions. Thread-safety: a KeyRing is immutable once built; key
// rotation builds a new one.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "crypto/aead.h"
#include "crypto/secret.h"

namespace cloison::crypto {

constexpr size_t kMasterKeySize = 32;
constexpr const char* kMasterKeyEnv = "CLOISON_MASTER_KEY";

// Reads the master key: from the environment variable CLOISON_MASTER_KEY if
// set (64 hex characters), else from `path` (64 hex characters, optional
// trailing newline). The file must be a regular file readable by its owner
// only (mode 0600 or 0400): anything wider is refused with a message saying
// so. Errors never contain key material. Every failure to obtain a usable
// key — missing file, wide permissions, malformed content in the file or the
// variable — is FailedPrecondition (an environment problem: exit 3 in the
// CLI), IOError when the OS fails; never InvalidArgument.
StatusOr<SecretBytes> LoadMasterKey(const std::string& path);
// Creates a new random master key file with mode 0600. Fails if it exists.
Status CreateMasterKeyFile(const std::string& path);
StatusOr<SecretBytes> ParseHexKey(std::string_view hex);
std::string ToHex(std::span<const uint8_t> bytes);

// Derives a 32-byte subkey (libsodium crypto_kdf, BLAKE2b). `context` is exactly 8 characters.
SecretBytes DeriveSubkey(const SecretBytes& master, uint64_t subkey_id, std::string_view context);

struct WrappedKey {
  uint32_t key_id = 0;
  std::vector<uint8_t> wrapped;  // AEAD(KEK, dek, "cloison-dek:<id>")
};

class KeyRing {
 public:
  // Unwraps `keys` with the KEK derived from `master`. Corruption-free
  // failure: PermissionDenied("master key does not match this store") when the
  // master key is wrong. `active_id` must be one of them.
  static StatusOr<KeyRing> Open(const SecretBytes& master, const std::vector<WrappedKey>& keys, uint32_t active_id);
  // Makes a fresh random DEK wrapped under `master`.
  static WrappedKey NewWrappedKey(const SecretBytes& master, uint32_t key_id);

  uint32_t active_id() const { return active_id_; }
  const Aead& active() const { return *keys_.at(active_id_); }
  // nullptr if unknown.
  const Aead* Find(uint32_t key_id) const;
  std::vector<uint32_t> ids() const;

 private:
  uint32_t active_id_ = 0;
  std::map<uint32_t, std::shared_ptr<const Aead>> keys_;
};

// Keyed BLAKE2b-256 over (field name, canonical value), so equal values in
// different fields give unrelated tags and nobody without the key can test a
// guessed NIR against the table. Thread-safe.
//
// A tag is the first 16 bytes of that hash: 128 bits keep accidental
// collisions out of reach (about 2^-88 for 1.6 M values in one field) and
// cost half the bytes in every row and blind-index table. Stores of schema
// version 3 and before held the whole 32 bytes; their first 16 bytes are
// exactly today's tag, which is how migration 4 converts them.
class BlindIndexer {
 public:
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kHashSize = 32;  // the BLAKE2b output the tag is cut from
  explicit BlindIndexer(SecretBytes key) : key_(std::move(key)) {}
  static BlindIndexer FromMaster(const SecretBytes& master);
  std::array<uint8_t, kTagSize> Tag(std::string_view field, std::string_view canonical_value) const;

  // The tags of one field, exactly Tag(field, value), for loops that tag one
  // field many times (a bulk load): the keyed hash's state after the key
  // block and the field name is computed once, here, so each tag costs one
  // BLAKE2b compression instead of two. The state is key material: it is
  // zeroed on destruction, and the type neither copies nor prints it.
  // Thread-safety: Tag is const and may be called from many threads.
  class FieldTagger {
   public:
    FieldTagger(FieldTagger&& other) noexcept;
    FieldTagger& operator=(FieldTagger&&) = delete;
    FieldTagger(const FieldTagger&) = delete;
    FieldTagger& operator=(const FieldTagger&) = delete;
    ~FieldTagger();
    std::array<uint8_t, kTagSize> Tag(std::string_view canonical_value) const;

   private:
    friend class BlindIndexer;
    FieldTagger() = default;
    // A crypto_generichash_state, kept opaque so that this header does not
    // bring libsodium to its includers (size and alignment checked in keys.cc).
    alignas(64) uint8_t state_[384] = {};
  };
  FieldTagger ForField(std::string_view field) const;

 private:
  SecretBytes key_;
};

}  // namespace cloison::crypto
