#include "crypto/aead.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <thread>

#include "crypto/keys.h"
#include "crypto/secure_random.h"

namespace cloison::crypto {
namespace {

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  size_t len = 0;
  sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr);
  out.resize(len);
  return out;
}

// Known-answer vector from draft-irtf-cfrg-xchacha-03, appendix A.3.1
// (AEAD_XChaCha20_Poly1305).
TEST(XChaCha20Poly1305Test, KnownAnswer) {
  auto key = FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  auto nonce = FromHex("404142434445464748494a4b4c4d4e4f5051525354555657");
  auto ad = FromHex("50515253c0c1c2c3c4c5c6c7");
  std::string pt =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would "
      "be it.";
  auto aead = XChaCha20Poly1305::Create(SecretBytes(key));
  ASSERT_TRUE(aead.ok());
  std::span<const uint8_t, 24> n(nonce.data(), 24);
  auto ct = (*aead)->EncryptWithNonce(AsBytes(pt), ad, n);
  const std::string expected_ct_tag =
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c2"
      "16cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c"
      "68b13b52e"
      "c0875924c1c7987947deafd8780acf49";
  EXPECT_EQ(ToHex(std::span<const uint8_t>(ct).subspan(24)), expected_ct_tag);
  auto back = (*aead)->Decrypt(ct, ad);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, pt);
}

TEST(XChaCha20Poly1305Test, RoundTripAndTamperDetection) {
  SecretBytes key(32);
  SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  auto aead = *XChaCha20Poly1305::Create(key);
  auto ct = aead->Encrypt(AsBytes("185057800608491"), AsBytes("person:1|nir|k1"));
  EXPECT_EQ(ct.size(), 15 + XChaCha20Poly1305::kOverhead);
  EXPECT_EQ(*aead->Decrypt(ct, AsBytes("person:1|nir|k1")), "185057800608491");
  // Moved to another row or field: different associated data.
  EXPECT_TRUE(IsCorruption(aead->Decrypt(ct, AsBytes("person:2|nir|k1")).status()));
  EXPECT_TRUE(IsCorruption(aead->Decrypt(ct, AsBytes("person:1|email|k1")).status()));
  for (size_t i = 0; i < ct.size(); ++i) {
    auto bad = ct;
    bad[i] ^= 0x01;
    EXPECT_FALSE(aead->Decrypt(bad, AsBytes("person:1|nir|k1")).ok()) << "byte " << i;
  }
  EXPECT_TRUE(IsCorruption(aead->Decrypt(std::vector<uint8_t>(10), {}).status()));
  // Two encryptions of the same value differ (random nonces).
  EXPECT_NE(ct, aead->Encrypt(AsBytes("185057800608491"), AsBytes("person:1|nir|k1")));
}

TEST(XChaCha20Poly1305Test, RejectsWrongKeySize) {
  EXPECT_FALSE(XChaCha20Poly1305::Create(SecretBytes(16)).ok());
}

}  // namespace
}  // namespace cloison::crypto

namespace cloison::crypto {
namespace {

// Nonces are drawn from a per-thread pool; they must never repeat, within a
// thread, across threads, or between a parent and a forked child.
TEST(XChaCha20Poly1305Test, NoncesNeverRepeat) {
  SecretBytes key(32);
  auto aead = *XChaCha20Poly1305::Create(key);
  std::set<std::string> seen;
  auto nonce_of = [](const std::vector<uint8_t>& ct) { return std::string(ct.begin(), ct.begin() + 24); };
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(seen.insert(nonce_of(aead->Encrypt(AsBytes("x"), {}))).second);
  std::vector<std::string> other;
  std::thread t([&] {
    for (int i = 0; i < 1000; ++i) other.push_back(nonce_of(aead->Encrypt(AsBytes("x"), {})));
  });
  t.join();
  for (auto& n : other) EXPECT_TRUE(seen.insert(n).second);

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto n = nonce_of(aead->Encrypt(AsBytes("x"), {}));
    ssize_t w = ::write(fds[1], n.data(), n.size());
    ::_exit(w == 24 ? 0 : 1);
  }
  std::string child(24, '\0');
  ASSERT_EQ(::read(fds[0], child.data(), 24), 24);
  ::waitpid(pid, nullptr, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  const std::string parent_next = nonce_of(aead->Encrypt(AsBytes("x"), {}));
  EXPECT_NE(child, parent_next);
  EXPECT_TRUE(seen.insert(child).second);
}

}  // namespace
}  // namespace cloison::crypto

namespace cloison::crypto {
namespace {

// EncryptGroup composes HChaCha20 and ChaCha20-Poly1305-IETF itself: each
// item must come out exactly as libsodium's own XChaCha20-Poly1305 (checked
// against the draft's known answer above) gives it for that item's nonce,
// prefix || index || zeros.
TEST(XChaCha20Poly1305Test, GroupMatchesOneByOneEncryption) {
  auto key = FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  auto aead = *XChaCha20Poly1305::Create(SecretBytes(key));
  auto prefix = FromHex("404142434445464748494a4b4c4d4e4f");
  const std::vector<std::string> pts = {"", "1850578006084", std::string(200, 'x'), "jean.dupont@example.fr"};
  const std::vector<std::string> ads = {"person:7|a|k1", "", "person:7|c|k1", "person:7|email|k1"};
  std::vector<std::vector<uint8_t>> outs(pts.size());
  std::vector<AeadItem> items;
  for (size_t i = 0; i < pts.size(); ++i) {
    outs[i].assign(pts[i].size() + XChaCha20Poly1305::kOverhead, 0xee);
    items.push_back({AsBytes(pts[i]), AsBytes(ads[i]), outs[i].data()});
  }
  aead->EncryptGroupWithPrefix(items, std::span<const uint8_t, 16>(prefix.data(), 16));
  for (size_t i = 0; i < pts.size(); ++i) {
    std::vector<uint8_t> nonce = prefix;
    nonce.resize(24, 0);
    nonce[16] = static_cast<uint8_t>(i);
    EXPECT_EQ(ToHex(outs[i]), ToHex(aead->EncryptWithNonce(AsBytes(pts[i]), AsBytes(ads[i]),
                                                            std::span<const uint8_t, 24>(nonce.data(), 24))))
        << "item " << i;
    EXPECT_EQ(*aead->Decrypt(outs[i], AsBytes(ads[i])), pts[i]);
  }
  // Bound to its own associated data, like any other ciphertext.
  EXPECT_TRUE(IsCorruption(aead->Decrypt(outs[3], AsBytes(ads[0])).status()));
}

// The group path seals short values itself (one ChaCha20 call, one
// Poly1305 call) and long ones with libsodium's AEAD: both must give
// libsodium's XChaCha20-Poly1305 bytes, at every padding boundary of the
// plaintext and the associated data, on both sides of the short limits.
TEST(XChaCha20Poly1305Test, GroupMatchesLibsodiumAtEveryBoundary) {
  SecretBytes key(32);
  SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  auto aead = *XChaCha20Poly1305::Create(key);
  std::vector<uint8_t> prefix(16);
  SecureRandom::Instance().Fill(prefix);
  const size_t pt_lengths[] = {0, 1, 15, 16, 17, 31, 48, 63, 64, 65, 128, 191, 192, 193, 300, 1000};
  const size_t ad_lengths[] = {0, 1, 15, 16, 17, 40, 127, 128, 129, 200};
  for (size_t pl : pt_lengths) {
    for (size_t al : ad_lengths) {
      std::string pt(pl, '\0'), ad(al, '\0');
      for (size_t i = 0; i < pl; ++i) pt[i] = static_cast<char>(i * 7 + pl);
      for (size_t i = 0; i < al; ++i) ad[i] = static_cast<char>(i * 13 + al);
      std::vector<uint8_t> out(pl + XChaCha20Poly1305::kOverhead, 0xee);
      // Item 3 of a group: the nonce's index byte is not zero.
      std::vector<std::vector<uint8_t>> filler(3, std::vector<uint8_t>(1 + XChaCha20Poly1305::kOverhead));
      std::vector<AeadItem> items;
      for (auto& f : filler) items.push_back({AsBytes("x"), AsBytes("y"), f.data()});
      items.push_back({AsBytes(pt), AsBytes(ad), out.data()});
      aead->EncryptGroupWithPrefix(items, std::span<const uint8_t, 16>(prefix.data(), 16));
      std::vector<uint8_t> nonce = prefix;
      nonce.resize(24, 0);
      nonce[16] = 3;
      ASSERT_EQ(ToHex(out), ToHex(aead->EncryptWithNonce(AsBytes(pt), AsBytes(ad),
                                                         std::span<const uint8_t, 24>(nonce.data(), 24))))
          << "plaintext " << pl << " bytes, associated data " << al << " bytes";
      ASSERT_EQ(*aead->Decrypt(out, AsBytes(ad)), pt);
    }
  }
}

// DecryptGroup gives what Decrypt gives, item by item: across values of two
// groups and one written alone (three subkeys), with a tampered value, one
// under the wrong associated data and a truncated one failing in their own
// slots only.
TEST(XChaCha20Poly1305Test, DecryptGroupMatchesDecryptItemByItem) {
  SecretBytes key(32);
  SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  auto aead = *XChaCha20Poly1305::Create(key);
  const std::vector<std::string> pts = {"1850578006084", "", "jean.dupont@example.fr", std::string(300, 'y'), "0612345678"};
  std::vector<std::string> ads;
  for (size_t i = 0; i < pts.size(); ++i) ads.push_back("p:7|f:" + std::to_string(i) + "|k:1");
  std::vector<std::vector<uint8_t>> cts(pts.size());
  std::vector<AeadItem> first, second;
  for (size_t i = 0; i < pts.size(); ++i) {
    cts[i].assign(pts[i].size() + XChaCha20Poly1305::kOverhead, 0);
    (i < 3 ? first : second).push_back({AsBytes(pts[i]), AsBytes(ads[i]), cts[i].data()});
  }
  aead->EncryptGroup(first);
  aead->EncryptGroup(second);
  std::vector<uint8_t> alone = aead->Encrypt(AsBytes("seul"), AsBytes("p:7|f:alone|k:1"));
  std::vector<uint8_t> tampered = cts[0];
  tampered.back() ^= 1;
  const std::vector<uint8_t> truncated(cts[1].begin(), cts[1].begin() + XChaCha20Poly1305::kOverhead - 1);

  std::vector<AeadOpenItem> items;
  for (size_t i = 0; i < pts.size(); ++i) items.push_back({cts[i], AsBytes(ads[i])});
  items.push_back({alone, AsBytes("p:7|f:alone|k:1")});
  items.push_back({tampered, AsBytes(ads[0])});
  items.push_back({cts[2], AsBytes(ads[1])});  // moved to another field
  items.push_back({truncated, AsBytes(ads[1])});
  items.push_back({cts[4], AsBytes(ads[4])});  // back to the second group's prefix
  const auto opened = aead->DecryptGroup(items);
  ASSERT_EQ(opened.size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto one = aead->Decrypt(items[i].ciphertext, items[i].associated_data);
    ASSERT_EQ(opened[i].ok(), one.ok()) << "item " << i;
    if (one.ok()) EXPECT_EQ(*opened[i], *one) << "item " << i;
    else EXPECT_EQ(opened[i].status(), one.status()) << "item " << i;
  }
  for (size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(*opened[i], pts[i]);
  EXPECT_EQ(*opened[5], "seul");
  EXPECT_TRUE(IsCorruption(opened[6].status()));
  EXPECT_TRUE(IsCorruption(opened[7].status()));
  EXPECT_TRUE(IsCorruption(opened[8].status()));
  EXPECT_EQ(*opened[9], pts[4]);
}

// An envelope value is the group ciphertext without its nonce: item i under
// prefix P is exactly what libsodium's XChaCha20-Poly1305 gives for nonce
// P || le64(i), minus the 24 nonce bytes in front.
TEST(XChaCha20Poly1305Test, EnvelopeMatchesLibsodiumWithoutNonce) {
  auto key = FromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  auto aead = *XChaCha20Poly1305::Create(SecretBytes(key));
  auto prefix = FromHex("404142434445464748494a4b4c4d4e4f");
  const std::vector<std::string> pts = {"", "1850578006084", std::string(200, 'x'), "jean.dupont@example.fr"};
  const std::vector<std::string> ads = {"p:7|f:a|k:1", "", "p:7|f:c|k:1", "p:7|f:email|k:1"};
  std::vector<std::vector<uint8_t>> outs(pts.size());
  std::vector<AeadItem> items;
  for (size_t i = 0; i < pts.size(); ++i) {
    outs[i].assign(pts[i].size() + XChaCha20Poly1305::kTagSize, 0xee);
    items.push_back({AsBytes(pts[i]), AsBytes(ads[i]), outs[i].data()});
  }
  ASSERT_TRUE(aead->SealEnvelopeWithPrefix(items, std::span<const uint8_t, 16>(prefix.data(), 16)).ok());
  std::vector<EnvelopeOpenItem> open;
  for (size_t i = 0; i < pts.size(); ++i) {
    std::vector<uint8_t> nonce = prefix;
    nonce.resize(24, 0);
    nonce[16] = static_cast<uint8_t>(i);
    const auto full =
        aead->EncryptWithNonce(AsBytes(pts[i]), AsBytes(ads[i]), std::span<const uint8_t, 24>(nonce.data(), 24));
    EXPECT_EQ(ToHex(outs[i]), ToHex(std::vector<uint8_t>(full.begin() + 24, full.end()))) << "item " << i;
    open.push_back({outs[i], AsBytes(ads[i]), static_cast<uint8_t>(i)});
  }
  const auto opened = aead->OpenEnvelope(open, std::span<const uint8_t, 16>(prefix.data(), 16));
  ASSERT_EQ(opened.size(), pts.size());
  for (size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(*opened[i], pts[i]) << "item " << i;
}

// What binds an envelope value: its prefix, its index, its associated data
// and its bytes. Each change fails in its own slot with Corruption, a value
// shorter than a tag included; a subset opens in any order.
TEST(XChaCha20Poly1305Test, EnvelopeValueFailsAnywhereElse) {
  SecretBytes key(32);
  SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  auto aead = *XChaCha20Poly1305::Create(key);
  const std::vector<std::string> pts = {"1850578006084", "jean.dupont@example.fr", "0612345678"};
  const std::vector<std::string> ads = {"p:7|f:nir|k:1", "p:7|f:email|k:1", "p:7|f:telephone|k:1"};
  std::vector<std::vector<uint8_t>> cts(pts.size());
  std::vector<AeadItem> items;
  for (size_t i = 0; i < pts.size(); ++i) {
    cts[i].assign(pts[i].size() + XChaCha20Poly1305::kTagSize, 0);
    items.push_back({AsBytes(pts[i]), AsBytes(ads[i]), cts[i].data()});
  }
  std::array<uint8_t, kEnvelopePrefixSize> prefix{}, other{};
  ASSERT_TRUE(aead->SealEnvelope(items, prefix).ok());
  std::vector<uint8_t> resealed(pts[0].size() + XChaCha20Poly1305::kTagSize);
  const std::vector<AeadItem> again = {{AsBytes(pts[0]), AsBytes(ads[0]), resealed.data()}};
  ASSERT_TRUE(aead->SealEnvelope(again, other).ok());
  EXPECT_NE(ToHex(std::vector<uint8_t>(prefix.begin(), prefix.end())),
            ToHex(std::vector<uint8_t>(other.begin(), other.end())))
      << "each envelope draws its own prefix";
  std::vector<uint8_t> tampered = cts[1];
  tampered[0] ^= 1;
  const std::vector<uint8_t> short_ct(XChaCha20Poly1305::kTagSize - 1, 0);
  std::vector<EnvelopeOpenItem> open = {
      {cts[2], AsBytes(ads[2]), 2},     // a subset, out of order
      {cts[0], AsBytes(ads[0]), 0},
      {cts[0], AsBytes(ads[0]), 1},     // wrong index
      {cts[1], AsBytes(ads[0]), 1},     // moved to another field
      {tampered, AsBytes(ads[1]), 1},   // modified
      {short_ct, AsBytes(ads[1]), 1},   // truncated below a tag
  };
  const auto opened = aead->OpenEnvelope(open, prefix);
  ASSERT_EQ(opened.size(), open.size());
  EXPECT_EQ(*opened[0], pts[2]);
  EXPECT_EQ(*opened[1], pts[0]);
  for (size_t i = 2; i < opened.size(); ++i) EXPECT_TRUE(IsCorruption(opened[i].status())) << "item " << i;
  // Under the other envelope's prefix the first envelope's bytes do not
  // open (the value resealed there does), and under another key nothing does.
  EXPECT_TRUE(IsCorruption(aead->OpenEnvelope(open, other)[1].status()));
  const std::vector<EnvelopeOpenItem> moved = {{resealed, AsBytes(ads[0]), 0}};
  EXPECT_EQ(*aead->OpenEnvelope(moved, other)[0], pts[0]);
  EXPECT_TRUE(IsCorruption(aead->OpenEnvelope(moved, prefix)[0].status()));
  SecretBytes key2(32);
  SecureRandom::Instance().Fill(std::span<uint8_t>(key2.mutable_data(), key2.size()));
  auto aead2 = *XChaCha20Poly1305::Create(key2);
  EXPECT_TRUE(IsCorruption(aead2->OpenEnvelope(open, prefix)[0].status()));
  EXPECT_TRUE(aead->OpenEnvelope({}, prefix).empty());
}

// The index is one byte: an envelope of more than 256 values is refused
// before anything is written.
TEST(XChaCha20Poly1305Test, EnvelopeRefusesMoreThanMaxGroupValues) {
  SecretBytes key(32);
  SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  auto aead = *XChaCha20Poly1305::Create(key);
  const size_t n = XChaCha20Poly1305::kMaxGroup + 1;
  std::vector<std::vector<uint8_t>> outs(n, std::vector<uint8_t>(1 + XChaCha20Poly1305::kTagSize, 0xee));
  std::vector<AeadItem> items;
  for (size_t i = 0; i < n; ++i) items.push_back({AsBytes("v"), AsBytes("ad"), outs[i].data()});
  std::array<uint8_t, kEnvelopePrefixSize> prefix{};
  const Status s = aead->SealEnvelope(items, prefix);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  for (const auto& o : outs) EXPECT_EQ(o, std::vector<uint8_t>(1 + XChaCha20Poly1305::kTagSize, 0xee));
  items.pop_back();
  ASSERT_TRUE(aead->SealEnvelope(items, prefix).ok());
  const std::vector<EnvelopeOpenItem> last = {{outs[n - 2], AsBytes("ad"), static_cast<uint8_t>(n - 2)}};
  EXPECT_EQ(*aead->OpenEnvelope(last, prefix)[0], "v");
}

// Random prefixes: distinct nonces within a group, across groups, and past
// kMaxGroup items (a new prefix every kMaxGroup).
TEST(XChaCha20Poly1305Test, GroupNoncesNeverRepeat) {
  SecretBytes key(32);
  SecureRandom::Instance().Fill(std::span<uint8_t>(key.mutable_data(), key.size()));
  auto aead = *XChaCha20Poly1305::Create(key);
  const size_t n = XChaCha20Poly1305::kMaxGroup + 44;
  std::set<std::string> seen;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::vector<uint8_t>> outs(n, std::vector<uint8_t>(1 + XChaCha20Poly1305::kOverhead));
    std::vector<AeadItem> items;
    for (size_t i = 0; i < n; ++i) items.push_back({AsBytes("v"), AsBytes("ad"), outs[i].data()});
    aead->EncryptGroup(items);
    std::set<std::string> prefixes;
    for (auto& o : outs) {
      EXPECT_TRUE(seen.insert(std::string(o.begin(), o.begin() + 24)).second);
      prefixes.insert(std::string(o.begin(), o.begin() + 16));
      EXPECT_EQ(*aead->Decrypt(o, AsBytes("ad")), "v");
    }
    EXPECT_EQ(prefixes.size(), 2u);  // 300 items: two groups of at most 256
  }
}

}  // namespace
}  // namespace cloison::crypto
