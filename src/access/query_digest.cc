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
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kind);
  out += ":#";
  for (size_t i = 0; i < 8; ++i) {
    out.push_back(kHex[tag[i] >> 4]);
    out.push_back(kHex[tag[i] & 15]);
  }
  return out;
}

}  // namespace cloison::access
