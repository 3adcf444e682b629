// The SQLite implementation of Store (entry point: OpenSqliteStore in
// store.h). This header only exposes the on-disk encoding of encrypted
// values, which is a format (docs/storage-format.md) that tests and
// migrations must reproduce byte for byte.
//
// Encrypted field values, as stored in persons.f_<field>, come in two
// layouts, told apart by the row's persons.nonce_prefix column:
//   envelope (nonce_prefix is 16 bytes; every row written since schema 5):
//     index (1 byte) || ciphertext || tag (16)
//     XChaCha20-Poly1305 under the data key persons.key_id, nonce
//     nonce_prefix || le64(index) (crypto::Aead::SealEnvelope)
//   legacy (nonce_prefix NULL; rows not rewritten since):
//     key id (4 bytes, big-endian) || nonce (24) || ciphertext || tag (16)
// Both with associated data "p:<person id>|f:<field name>|k:<key id>", so a
// value copied to another person, another field, or relabelled with another
// key id fails to decrypt (Corruption); an envelope value also fails under
// another index or another row's prefix.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "core/status.h"

namespace cloison::store {

constexpr size_t kKeyIdPrefixSize = 4;     // legacy layout
constexpr size_t kEnvelopeIndexSize = 1;   // envelope layout

// Appends the associated data for (person, field, key id) to `out`.
void AppendFieldAssociatedData(PersonId person, std::string_view field, uint32_t key_id, std::string& out);
inline std::string FieldAssociatedData(PersonId person, std::string_view field, uint32_t key_id) {
  std::string out;
  AppendFieldAssociatedData(person, field, key_id, out);
  return out;
}

// Reads the key id prefix of a legacy-layout blob; Corruption if it is too
// short to hold a prefix and an AEAD ciphertext.
StatusOr<uint32_t> BlobKeyId(std::span<const uint8_t> blob);

// Reads the index of an envelope-layout blob; Corruption if it is too short
// to hold an index and a tag.
StatusOr<uint8_t> EnvelopeIndex(std::span<const uint8_t> blob);

// Process-wide SQLite settings, applied once before SQLite initialises:
// memory statistics off (SQLITE_CONFIG_MEMSTATUS), so that SQLite's every
// allocation and free does not take its global memory mutex; Cloison never
// reads those statistics nor sets a soft heap limit. Idempotent and
// thread-safe. Every store open calls it; main() calls it first, because
// other modules' connections (accounts, audit index) initialise SQLite too
// and a setting after initialisation is refused. Returns whether the
// setting is in effect (false if SQLite was initialised before the call).
bool ConfigureSqliteForProcess();

}  // namespace cloison::store
