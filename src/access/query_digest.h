// access::QueryDigester: what a people search becomes in the audit log and
// for the guard. A search names a personal value (a birth date, a postcode,
// the first letters of a name, a NIR); the log must not hold it, yet the
// guard must still count how many *distinct* queries of one kind an account
// makes (the search-sweep signal) and replay that count from the log after a
// restart. So a query is kept as its kind and a keyed, non-reversible digest
// of its canonical value:
//
//   "cp:67000"      -> "cp:#1f0c9a3b5d27e844"
//   "dn:2004-05-01" -> "dn:#..."      "nom:dup" -> "nom:#..."
//   a NIR / France Travail id -> "nir:#...", "ft_id:#...", "ft_id_legacy:#..."
//
// The same value gives the same digest under one key, two values two
// digests (64 bits: collisions are negligible for counting); without the key
// nobody can test a guessed value against the log (a postcode has only
// ~40 000 values, so an unkeyed hash would be reversible by enumeration).
//
// Key: DeriveSubkey(master, 5, "cloisqry"), next to the other subkeys of the
// master key (crypto/keys.h: KEK 1, blind index 2, iam 3, tokens 4). It is a
// separate key from the store's blind index on purpose: a digest in the
// audit log must not be comparable with a blind-index tag in the database.
// The digest is the first 8 bytes of crypto::BlindIndexer's keyed BLAKE2b-256
// over ("search:" + kind, value), in lower-case hex.
//
// Thread-safety: immutable after construction; Digest may be called from any
// thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/keys.h"
#include "crypto/secret.h"

namespace cloison::access {

class QueryDigester {
 public:
  static constexpr uint64_t kSubkeyId = 5;
  static constexpr const char* kContext = "cloisqry";  // exactly 8 characters (crypto_kdf)

  // The digest key of the data directory whose master key is `master`.
  static crypto::SecretBytes KeyFromMaster(const crypto::SecretBytes& master);
  // A digester with a fresh random key: digests then match only within this
  // process (a Handler built without a key; tests). Needs crypto::InitCrypto.
  static QueryDigester WithRandomKey();

  explicit QueryDigester(crypto::SecretBytes key) : indexer_(std::move(key)) {}

  // "<kind>:#<16 lower-case hex digits>". `kind` is a short label chosen by
  // the caller ("nom", "cp", "dn", "nir", "ft_id", ...), kept in clear so
  // that the guard can group queries by kind.
  std::string Digest(std::string_view kind, std::string_view canonical_value) const;

 private:
  crypto::BlindIndexer indexer_;
};

}  // namespace cloison::access
