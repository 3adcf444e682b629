#include "crypto/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crypto/secure_random.h"

namespace cloison::crypto {
namespace {

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kMasterKeyEnv);
    dir_ = std::filesystem::temp_directory_path() /
           ("cloison-keys-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(KeysTest, CreateThenLoad) {
  const std::string p = dir_ / "master.key";
  ASSERT_TRUE(CreateMasterKeyFile(p).ok());
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto k = LoadMasterKey(p);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->size(), 32u);
  EXPECT_EQ(CreateMasterKeyFile(p).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(KeysTest, RefusesWorldReadableFileAndBadContent) {
  const std::string p = dir_ / "master.key";
  ASSERT_TRUE(CreateMasterKeyFile(p).ok());
  ::chmod(p.c_str(), 0644);
  auto k = LoadMasterKey(p);
  EXPECT_EQ(k.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(k.status().message().find("chmod 600"), std::string::npos);

  const std::string q = dir_ / "bad.key";
  {
    std::ofstream(q) << "not-a-key-but-a-secret-looking-string";
  }
  ::chmod(q.c_str(), 0600);
  k = LoadMasterKey(q);
  EXPECT_EQ(k.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(k.status().message().find("secret-looking"), std::string::npos);
  EXPECT_EQ(LoadMasterKey(dir_ / "missing.key").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(KeysTest, MalformedEnvironmentVariableIsAnEnvironmentError) {
  const std::string p = dir_ / "master.key";
  ASSERT_TRUE(CreateMasterKeyFile(p).ok());
  // Too short, then the right length but not hexadecimal: refused even though
  // a good file exists (the variable wins, it is never silently ignored).
  std::string not_hex(64, 'a');
  not_hex[63] = 'g';
  for (const std::string& bad : {std::string("0123456789abcdef"), not_hex}) {
    ::setenv(kMasterKeyEnv, bad.c_str(), 1);
    auto k = LoadMasterKey(p);
    ::unsetenv(kMasterKeyEnv);
    EXPECT_EQ(k.status().code(), absl::StatusCode::kFailedPrecondition) << bad;
    EXPECT_NE(k.status().message().find(kMasterKeyEnv), std::string::npos) << k.status();
    EXPECT_EQ(k.status().message().find(bad), std::string::npos) << "the value must not be echoed";
  }
}

TEST_F(KeysTest, EnvironmentVariableWins) {
  const std::string hex(64, 'a');
  ::setenv(kMasterKeyEnv, hex.c_str(), 1);
  auto k = LoadMasterKey(dir_ / "missing.key");
  ::unsetenv(kMasterKeyEnv);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->data()[0], 0xaa);
}

TEST_F(KeysTest, KeyRingUnwrapsWithRightMasterOnly) {
  SecretBytes master(32), other(32);
  SecureRandom::Instance().Fill({master.mutable_data(), 32});
  SecureRandom::Instance().Fill({other.mutable_data(), 32});
  std::vector<WrappedKey> keys = {KeyRing::NewWrappedKey(master, 1), KeyRing::NewWrappedKey(master, 2)};
  auto ring = KeyRing::Open(master, keys, 2);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active_id(), 2u);
  auto ct = ring->Find(1)->Encrypt(AsBytes("x"), {});
  EXPECT_EQ(*ring->Find(1)->Decrypt(ct, {}), "x");
  EXPECT_FALSE(ring->Find(2)->Decrypt(ct, {}).ok());
  auto wrong = KeyRing::Open(other, keys, 2);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(wrong.status().message(), "master key does not match this store");
  // A wrapped key relabelled with another id fails: the id is bound as AD.
  keys[0].key_id = 3;
  EXPECT_FALSE(KeyRing::Open(master, keys, 2).ok());
}

TEST_F(KeysTest, BlindIndexIsKeyedAndFieldSeparated) {
  SecretBytes m1(32), m2(32);
  SecureRandom::Instance().Fill({m1.mutable_data(), 32});
  SecureRandom::Instance().Fill({m2.mutable_data(), 32});
  auto a = BlindIndexer::FromMaster(m1), b = BlindIndexer::FromMaster(m2);
  EXPECT_EQ(a.Tag("nir", "185057800608491"), a.Tag("nir", "185057800608491"));
  EXPECT_NE(a.Tag("nir", "185057800608491"), b.Tag("nir", "185057800608491"));
  EXPECT_NE(a.Tag("nir", "185057800608491"), a.Tag("ft_id", "185057800608491"));
  EXPECT_NE(a.Tag("ab", "c"), a.Tag("a", "bc"));
}

// Known answers, computed independently with Python's hashlib:
//   blake2b(bytes([len(f)]) + f + v, key=bytes(range(32)), digest_size=32)[:16]
// (field names longer than 255 bytes are cut to 255; the tag is the first 16
// bytes of the 32-byte hash, not a 16-byte BLAKE2b). Stored blind indexes
// depend on these bytes: a change here is a format change.
TEST_F(KeysTest, BlindIndexKnownAnswers) {
  std::vector<uint8_t> k(32);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  BlindIndexer bi{SecretBytes(std::span<const uint8_t>(k))};
  EXPECT_EQ(ToHex(bi.Tag("nir", "185057800608491")),
            "9084aa84eb3af77319952eb2098155d9");
  EXPECT_EQ(ToHex(bi.Tag("email", std::string(200, 'a'))),
            "d95a47cfc0d69d2581cf384eeef99286");
  EXPECT_EQ(ToHex(bi.Tag(std::string(300, 'x'), "v")),
            "b3eb230bfef38fde0f3561c390a0d0f9");
  EXPECT_EQ(ToHex(bi.ForField("nir").Tag("185057800608491")),
            "9084aa84eb3af77319952eb2098155d9");
}

// A field's tagger gives exactly Tag(field, value), for values of every
// length around the 128-byte block, reused many times and after a move.
TEST_F(KeysTest, FieldTaggerMatchesTag) {
  SecretBytes m(32);
  SecureRandom::Instance().Fill({m.mutable_data(), 32});
  auto bi = BlindIndexer::FromMaster(m);
  for (const std::string& field : std::vector<std::string>{"nir", "ft_id", "", std::string(127, 'f'), std::string(400, 'g')}) {
    auto first = bi.ForField(field);
    BlindIndexer::FieldTagger t = std::move(first);
    for (size_t len : {0u, 1u, 15u, 64u, 110u, 111u, 112u, 127u, 128u, 129u, 255u, 256u, 257u, 1000u}) {
      std::string v(len, '\0');
      for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>('0' + (i * 7 + len) % 75);
      EXPECT_EQ(t.Tag(v), bi.Tag(field, v)) << field.size() << " " << len;
      EXPECT_EQ(t.Tag(v), t.Tag(v));  // the tagger's state is not consumed
    }
    if (field.size() < 255) {
      EXPECT_NE(t.Tag("1"), bi.Tag(field + "x", "1"));  // (longer names are cut to 255)
    }
  }
}

}  // namespace
}  // namespace cloison::crypto
