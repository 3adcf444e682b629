#include "crypto/aead.h"

#include <sodium.h>

#include "crypto/secure_random.h"

namespace cloison::crypto {

StatusOr<std::unique_ptr<XChaCha20Poly1305>> XChaCha20Poly1305::Create(const SecretBytes& key) {
  if (key.size() != kKeySize) return InvalidArgument("XChaCha20-Poly1305 key must be 32 bytes");
  CLOISON_RETURN_IF_ERROR(InitCrypto());
  return std::unique_ptr<XChaCha20Poly1305>(new XChaCha20Poly1305(key));
}

void XChaCha20Poly1305::EncryptTo(std::span<const uint8_t> pt, std::span<const uint8_t> ad,
                                  std::vector<uint8_t>& out) const {
  const size_t start = out.size();
  out.resize(start + kNonceSize + pt.size() + kTagSize);
  uint8_t* nonce = out.data() + start;
  randombytes_buf(nonce, kNonceSize);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceSize, &clen, pt.data(), pt.size(), ad.data(),
                                             ad.size(), nullptr, nonce, key_.data());
}

std::vector<uint8_t> XChaCha20Poly1305::Encrypt(std::span<const uint8_t> pt, std::span<const uint8_t> ad) const {
  std::vector<uint8_t> out;
  EncryptTo(pt, ad, out);
  return out;
}

std::vector<uint8_t> XChaCha20Poly1305::EncryptWithNonce(std::span<const uint8_t> pt, std::span<const uint8_t> ad,
                                                         std::span<const uint8_t, kNonceSize> nonce) const {
  std::vector<uint8_t> out(kNonceSize + pt.size() + kTagSize);
  std::copy(nonce.begin(), nonce.end(), out.begin());
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonceSize, &clen, pt.data(), pt.size(), ad.data(),
                                             ad.size(), nullptr, nonce.data(), key_.data());
  return out;
}

StatusOr<std::string> XChaCha20Poly1305::Decrypt(std::span<const uint8_t> ct, std::span<const uint8_t> ad) const {
  if (ct.size() < kOverhead) return Corruption("ciphertext too short");
  std::string pt(ct.size() - kOverhead, '\0');
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<uint8_t*>(pt.data()), &plen, nullptr,
                                                 ct.data() + kNonceSize, ct.size() - kNonceSize, ad.data(),
                                                 ad.size(), ct.data(), key_.data()) != 0) {
    return Corruption("ciphertext does not authenticate (wrong key, tampered, or moved)");
  }
  pt.resize(plen);
  return pt;
}

}  // namespace cloison::crypto
