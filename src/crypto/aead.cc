#include "crypto/aead.h"

#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "crypto/secure_random.h"

namespace cloison::crypto {

namespace {

// Nonces come from the OS CSPRNG, but one getrandom() call per encrypted
// value cost 15-18% of a bulk load, and drawing the pool itself from the
// kernel still cost 3% (its ChaCha20 is generic code). Each refill therefore
// takes a fresh 32-byte seed from the OS and expands it with libsodium's
// ChaCha20 (randombytes_buf_deterministic) into 4 KiB, handed out in slices;
// the seed is wiped at once, so no generator state outlives the refill.
// A forked child must never reuse its parent's buffered bytes (the same
// nonce under the same key breaks XChaCha20-Poly1305), so a fork bumps a
// generation counter that invalidates every buffer.
std::atomic<uint64_t> g_fork_generation{0};
void OnFork() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

void FillNonce(uint8_t* out, size_t size = XChaCha20Poly1305::kNonceSize) {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, &OnFork); });
  struct Pool {
    uint8_t bytes[4096 - 4096 % XChaCha20Poly1305::kNonceSize];
    size_t pos = sizeof bytes;
    uint64_t generation = 0;
    ~Pool() { sodium_memzero(bytes, sizeof bytes); }
  };
  thread_local Pool pool;
  const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
  if (pool.pos + size > sizeof pool.bytes || pool.generation != gen) {
    uint8_t seed[randombytes_SEEDBYTES];
    randombytes_buf(seed, sizeof seed);
    randombytes_buf_deterministic(pool.bytes, sizeof pool.bytes, seed);
    sodium_memzero(seed, sizeof seed);
    pool.pos = 0;
    pool.generation = gen;
  }
  std::memcpy(out, pool.bytes + pool.pos, size);
  // Wipe what was handed out: a nonce is not secret, but the pool's later
  // bytes must not be recoverable from the earlier ones either way.
  sodium_memzero(pool.bytes + pool.pos, size);
  pool.pos += size;
}

}  // namespace

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
  FillNonce(nonce);
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

void XChaCha20Poly1305::EncryptGroup(std::span<const AeadItem> items) const {
  uint8_t prefix[16];
  for (size_t off = 0; off < items.size(); off += kMaxGroup) {
    FillNonce(prefix, sizeof prefix);
    EncryptGroupWithPrefix(items.subspan(off, std::min(kMaxGroup, items.size() - off)), prefix);
  }
}

void XChaCha20Poly1305::EncryptGroupWithPrefix(std::span<const AeadItem> items,
                                               std::span<const uint8_t, 16> prefix) const {
  static_assert(kMaxGroup <= 256, "the item index must fit the nonce's counter byte");
  if (items.empty()) return;
  uint8_t subkey[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
  crypto_core_hchacha20(subkey, prefix.data(), key_.data(), nullptr);
  // ChaCha20-Poly1305-IETF nonce for XChaCha: 4 zero bytes || nonce[16..24).
  uint8_t inner[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
  const size_t n = std::min(items.size(), kMaxGroup);
  for (size_t i = 0; i < n; ++i) {
    const AeadItem& it = items[i];
    uint8_t* out = it.out;
    std::memcpy(out, prefix.data(), 16);
    std::memset(out + 16, 0, 8);
    out[16] = static_cast<uint8_t>(i);
    std::memcpy(inner + 4, out + 16, 8);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(out + kNonceSize, out + kNonceSize + it.plaintext.size(),
                                                       nullptr, it.plaintext.data(), it.plaintext.size(),
                                                       it.associated_data.data(), it.associated_data.size(),
                                                       nullptr, inner, subkey);
  }
  sodium_memzero(subkey, sizeof subkey);
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
