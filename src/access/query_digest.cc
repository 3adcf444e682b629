#include "access/query_digest.h"

#include "crypto/secure_random.h"

namespace cloison::access {

crypto::SecretBytes QueryDigester::KeyFromMaster(const crypto::SecretBytes& master) {
  return crypto::DeriveSubkey(master, kSubkeyId, kContext);
}

QueryDigester QueryDigester::WithRandomKey() {
  crypto::SecretBytes key(32);
  crypto::SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  return QueryDigester(std::move(key));
}

std::string QueryDigester::Digest(std::string_view kind, std::string_view canonical_value) const {
  std::string domain = "search:";
  domain.append(kind);
  const auto tag = indexer_.Tag(domain, canonical_value);
  std::string out(kind);
  out += ":#";
  out += crypto::ToHex(std::span<const uint8_t>(tag.data(), 8));  // 64 bits name a query well enough
  return out;
}

}  // namespace cloison::access
