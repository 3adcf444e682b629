#include "audit/entry_tag.h"

namespace cloison::audit {
namespace {
constexpr std::string_view kDomain = "cloison-audit-entry";  // TokenHasher prefixes its length (0x13)
constexpr std::string_view kKdfContext = "cloisaud";
constexpr uint64_t kKdfSubkey = 1;
}  // namespace

EntryTagger::EntryTagger(const NoteSigner& signer) : hasher_(signer.DeriveKey(kKdfSubkey, kKdfContext)) {}

StatusOr<EntryTagger> EntryTagger::FromPrivateKey(std::string_view key) {
  CLOISON_ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::FromPrivateKey(key));
  return EntryTagger(signer);
}

EntryTag EntryTagger::Tag(uint64_t index, const Hash& leaf_hash) const {
  // The message is not secret; SecretBytes is simply what TokenHasher takes.
  crypto::SecretBytes msg(8 + leaf_hash.size());
  for (int i = 0; i < 8; ++i) msg.mutable_data()[i] = static_cast<uint8_t>(index >> (8 * i));
  std::copy(leaf_hash.begin(), leaf_hash.end(), msg.mutable_data() + 8);
  const crypto::TokenDigest d = hasher_.Hash(kDomain, msg);
  EntryTag t;
  std::copy(d.begin(), d.begin() + kEntryTagSize, t.begin());
  return t;
}

bool EntryTagger::Matches(uint64_t index, const Hash& leaf_hash, std::span<const uint8_t> tag) const {
  if (tag.size() != kEntryTagSize) return false;
  const EntryTag want = Tag(index, leaf_hash);
  uint8_t diff = 0;
  for (size_t i = 0; i < kEntryTagSize; ++i) diff |= static_cast<uint8_t>(want[i] ^ tag[i]);
  return diff == 0;
}

}  // namespace cloison::audit
