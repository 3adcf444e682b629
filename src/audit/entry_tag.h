// Authentication tags of audit entries (entries.log format 2; see
// docs/audit-format.md, "Entry tags"): what tells an entry the log wrote
// from one someone appended, for the entries a signed checkpoint does not
// cover yet (a crash between an append and the next checkpoint leaves some).
//
//   K   = crypto_kdf_derive_from_key(32, subkey 1, context "cloisaud", Ed25519 seed)
//   tag = first 16 bytes of BLAKE2b-256(key K,
//                                       0x13 || "cloison-audit-entry" || u64 LE index || leaf hash)
//
// The key lives and dies with the signing key: whoever can forge a tag can
// sign checkpoints anyway, and whoever cannot sign (write access to the files
// only) cannot make a tag. The index binds each tag to its position, so an
// authentic entry copied, moved or replayed elsewhere does not verify.
// Checking a tag needs the private key: auditors holding only the verifier
// key rely on checkpoints, and see uncovered entries as unauthenticated.
//
// Thread-safety: immutable after construction; Tag/Matches from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/record.h"
#include "core/status.h"
#include "crypto/token.h"

namespace cloison::audit {

using EntryTag = std::array<uint8_t, kEntryTagSize>;

class EntryTagger {
 public:
  explicit EntryTagger(const NoteSigner& signer);
  // From the "PRIVATE+KEY+..." text of signing.key (Corruption when malformed).
  static StatusOr<EntryTagger> FromPrivateKey(std::string_view key);

  EntryTag Tag(uint64_t index, const Hash& leaf_hash) const;
  // Constant-time check of a stored tag.
  bool Matches(uint64_t index, const Hash& leaf_hash, std::span<const uint8_t> tag) const;

 private:
  explicit EntryTagger(crypto::SecretBytes key) : hasher_(std::move(key)) {}
  crypto::TokenHasher hasher_;
};

}  // namespace cloison::audit
