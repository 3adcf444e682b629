#include "crypto/aead.h"

#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "core/strings.h"
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

namespace {

// ChaCha20-Poly1305 (IETF, RFC 8439 section 2.8) for one short value, from
// libsodium's own ChaCha20 and Poly1305: the same bytes as
// crypto_aead_chacha20poly1305_ietf_encrypt_detached (the tests compare them
// for every length up to and past the limits below), in one keystream call
// and one MAC call instead of two and seven. For a person's 10-20-byte
// values libsodium's per-call set-up, not the cipher, was most of a bulk
// load's encryption time. Values or associated data longer than the
// buffers take libsodium's AEAD function.
constexpr size_t kShortValue = 192;
constexpr size_t kShortAd = 128;

void SealShort(uint8_t* ct, uint8_t* tag, std::span<const uint8_t> pt, std::span<const uint8_t> ad,
               const uint8_t* nonce12, const uint8_t* key) {
  // Block 0 of the keystream gives the one-time Poly1305 key; the value is
  // XORed with the keystream from block 1 on.
  alignas(16) uint8_t stream[64 + kShortValue];
  std::memset(stream, 0, 64);
  if (!pt.empty()) std::memcpy(stream + 64, pt.data(), pt.size());
  crypto_stream_chacha20_ietf_xor_ic(stream, stream, 64 + pt.size(), nonce12, 0, key);
  if (!pt.empty()) std::memcpy(ct, stream + 64, pt.size());
  // MAC input: ad || pad16 || ciphertext || pad16 || le64(|ad|) || le64(|ct|).
  alignas(16) uint8_t mac[kShortAd + 15 + kShortValue + 15 + 16];
  size_t n = 0;
  auto put = [&](const uint8_t* p, size_t len) {
    if (len != 0) std::memcpy(mac + n, p, len);
    n += len;
    const size_t pad = (16 - len % 16) % 16;
    std::memset(mac + n, 0, pad);
    n += pad;
  };
  put(ad.data(), ad.size());
  put(stream + 64, pt.size());
  for (uint64_t len : {static_cast<uint64_t>(ad.size()), static_cast<uint64_t>(pt.size())})
    for (int b = 0; b < 8; ++b) mac[n++] = static_cast<uint8_t>(len >> (8 * b));
  crypto_onetimeauth_poly1305(tag, mac, n, stream);
  sodium_memzero(stream, 64 + pt.size());
}

// Opens ciphertext || tag (at least the tag's 16 bytes, checked by the
// caller) with ChaCha20-Poly1305-IETF under an HChaCha20 subkey; the tag is
// checked in constant time before anything is released.
StatusOr<std::string> OpenDetached(std::span<const uint8_t> sealed, std::span<const uint8_t> ad,
                                   const uint8_t* nonce12, const uint8_t* subkey) {
  const size_t len = sealed.size() - crypto_aead_chacha20poly1305_ietf_ABYTES;
  std::string pt(len, '\0');
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(reinterpret_cast<uint8_t*>(pt.data()), nullptr,
                                                         sealed.data(), len, sealed.data() + len, ad.data(),
                                                         ad.size(), nonce12, subkey) != 0)
    return Corruption("ciphertext does not authenticate (wrong key, tampered, or moved)");
  return pt;
}

}  // namespace

void XChaCha20Poly1305::EncryptGroupWithPrefix(std::span<const AeadItem> items,
                                               std::span<const uint8_t, 16> prefix) const {
  SealWithPrefix(items, prefix, /*with_nonce=*/true);
}

Status XChaCha20Poly1305::SealEnvelope(std::span<const AeadItem> items,
                                       std::span<uint8_t, kEnvelopePrefixSize> prefix) const {
  if (items.size() > kMaxGroup)
    return InvalidArgument(StrCat("an envelope holds at most ", kMaxGroup, " values, not ", items.size()));
  FillNonce(prefix.data(), prefix.size());
  SealWithPrefix(items, prefix, /*with_nonce=*/false);
  return OkStatus();
}

Status XChaCha20Poly1305::SealEnvelopeWithPrefix(std::span<const AeadItem> items,
                                                 std::span<const uint8_t, kEnvelopePrefixSize> prefix) const {
  if (items.size() > kMaxGroup)
    return InvalidArgument(StrCat("an envelope holds at most ", kMaxGroup, " values, not ", items.size()));
  SealWithPrefix(items, prefix, /*with_nonce=*/false);
  return OkStatus();
}

std::vector<StatusOr<std::string>> XChaCha20Poly1305::OpenEnvelope(
    std::span<const EnvelopeOpenItem> items, std::span<const uint8_t, kEnvelopePrefixSize> prefix) const {
  std::vector<StatusOr<std::string>> out;
  out.reserve(items.size());
  if (items.empty()) return out;
  uint8_t subkey[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
  crypto_core_hchacha20(subkey, prefix.data(), key_.data(), nullptr);
  // Inner nonce: 4 zero bytes || le64(index).
  uint8_t inner[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
  for (const EnvelopeOpenItem& it : items) {
    const std::span<const uint8_t> ct = it.ciphertext;
    if (ct.size() < kTagSize) {
      out.push_back(Corruption("ciphertext too short"));
      continue;
    }
    inner[4] = it.index;
    out.push_back(OpenDetached(ct, it.associated_data, inner, subkey));
  }
  sodium_memzero(subkey, sizeof subkey);
  return out;
}

void XChaCha20Poly1305::SealWithPrefix(std::span<const AeadItem> items, std::span<const uint8_t, 16> prefix,
                                       bool with_nonce) const {
  static_assert(kMaxGroup <= 256, "the item index must fit the nonce's counter byte");
  if (items.empty()) return;
  uint8_t subkey[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
  crypto_core_hchacha20(subkey, prefix.data(), key_.data(), nullptr);
  // ChaCha20-Poly1305-IETF nonce for XChaCha: 4 zero bytes || nonce[16..24).
  uint8_t inner[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
  const size_t n = std::min(items.size(), kMaxGroup);
  for (size_t i = 0; i < n; ++i) {
    const AeadItem& it = items[i];
    inner[4] = static_cast<uint8_t>(i);  // le64(i): i < 256, the other bytes stay 0
    uint8_t* ct = it.out;
    if (with_nonce) {
      std::memcpy(ct, prefix.data(), 16);
      std::memcpy(ct + 16, inner + 4, 8);
      ct += kNonceSize;
    }
    uint8_t* tag = ct + it.plaintext.size();
    if (it.plaintext.size() <= kShortValue && it.associated_data.size() <= kShortAd) {
      SealShort(ct, tag, it.plaintext, it.associated_data, inner, subkey);
    } else {
      crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, tag, nullptr, it.plaintext.data(), it.plaintext.size(),
                                                         it.associated_data.data(), it.associated_data.size(),
                                                         nullptr, inner, subkey);
    }
  }
  sodium_memzero(subkey, sizeof subkey);
}

std::vector<StatusOr<std::string>> XChaCha20Poly1305::DecryptGroup(std::span<const AeadOpenItem> items) const {
  std::vector<StatusOr<std::string>> out;
  out.reserve(items.size());
  uint8_t subkey[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
  uint8_t prefix[16];
  bool have_subkey = false;
  uint8_t inner[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {0};
  for (const AeadOpenItem& it : items) {
    const std::span<const uint8_t> ct = it.ciphertext;
    if (ct.size() < kOverhead) {
      out.push_back(Corruption("ciphertext too short"));
      continue;
    }
    if (!have_subkey || std::memcmp(prefix, ct.data(), 16) != 0) {
      std::memcpy(prefix, ct.data(), 16);
      crypto_core_hchacha20(subkey, prefix, key_.data(), nullptr);
      have_subkey = true;
    }
    std::memcpy(inner + 4, ct.data() + 16, 8);
    out.push_back(OpenDetached(ct.subspan(kNonceSize), it.associated_data, inner, subkey));
  }
  sodium_memzero(subkey, sizeof subkey);
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
