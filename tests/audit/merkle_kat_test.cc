// Known-answer tests from the published RFC 6962 vectors
// (transparency-dev/merkle testdata at commit 417fb0c, Apache-2.0), copied
// unchanged into tests/testdata/rfc6962 with their README (source note).
// Every case, good and bad, is run: a bad case passes when Cloison rejects it,
// either at parsing (a "hash" that is not 32 bytes) or at verification.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit/merkle.h"
#include "crypto/base64.h"

namespace cloison::audit {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(CLOISON_TESTDATA) / "rfc6962";

nlohmann::json Load(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

Bytes Raw(const nlohmann::json& j) {
  auto b = crypto::Base64Decode(j.get<std::string>());
  EXPECT_TRUE(b.ok());
  return b.ok() ? *b : Bytes{};
}
std::vector<Bytes> RawList(const nlohmann::json& j) {
  std::vector<Bytes> out;
  if (!j.is_null()) {
    for (const auto& e : j) out.push_back(Raw(e));
  }
  return out;
}

// A vector's base64 string as a 32-byte hash, or nullopt when it is not one.
std::optional<Hash> ToHash(const nlohmann::json& j) {
  auto bytes = crypto::Base64Decode(j.get<std::string>());
  if (!bytes.ok() || bytes->size() != 32) return std::nullopt;
  Hash h;
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

std::optional<std::vector<Hash>> ToHashes(const nlohmann::json& j) {
  std::vector<Hash> out;
  if (j.is_null()) return out;
  for (const auto& e : j) {
    auto h = ToHash(e);
    if (!h) return std::nullopt;
    out.push_back(*h);
  }
  return out;
}

std::vector<fs::path> Cases(const std::string& kind) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(kDir / kind)) {
    if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The 8 leaf inputs the vectors were built from (README.md).
std::vector<std::vector<uint8_t>> LeafInputs() {
  return {{},
          {0x00},
          {0x10},
          {0x20, 0x21},
          {0x30, 0x31},
          {0x40, 0x41, 0x42, 0x43},
          {0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
          {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f}};
}

TEST(MerkleKatTest, RootOfTheEightLeaves) {
  MemoryTree t;
  for (const auto& l : LeafInputs()) t.AppendEntry(l);
  EXPECT_EQ(HashToHex(t.Root()), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  EXPECT_EQ(HashToHex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MerkleKatTest, InclusionVectors) {
  const auto cases = Cases("inclusion");
  ASSERT_GT(cases.size(), 80u);
  int good = 0, bad = 0;
  for (const auto& p : cases) {
    SCOPED_TRACE(p.string());
    const auto j = Load(p);
    const bool want_err = j["wantErr"].get<bool>();
    const Status st = VerifyInclusionBytes(j["leafIdx"].get<uint64_t>(), j["treeSize"].get<uint64_t>(),
                                           Raw(j["leafHash"]), RawList(j["proof"]), Raw(j["root"]));
    EXPECT_EQ(!st.ok(), want_err) << j["desc"] << ": " << st;
    (want_err ? bad : good)++;
  }
  EXPECT_GT(good, 5);
  EXPECT_GT(bad, 50);
}

TEST(MerkleKatTest, ConsistencyVectors) {
  const auto cases = Cases("consistency");
  ASSERT_GT(cases.size(), 90u);
  int good = 0, bad = 0;
  for (const auto& p : cases) {
    SCOPED_TRACE(p.string());
    const auto j = Load(p);
    const bool want_err = j["wantErr"].get<bool>();
    const Status st = VerifyConsistencyBytes(j["size1"].get<uint64_t>(), j["size2"].get<uint64_t>(),
                                             Raw(j["root1"]), Raw(j["root2"]), RawList(j["proof"]));
    EXPECT_EQ(!st.ok(), want_err) << j["desc"] << ": " << st;
    (want_err ? bad : good)++;
  }
  EXPECT_GT(good, 4);
  EXPECT_GT(bad, 80);
}

// The vectors' happy paths are also what Cloison's generator produces.
TEST(MerkleKatTest, GeneratedProofsMatchVectors) {
  MemoryTree t;
  for (const auto& l : LeafInputs()) t.AppendEntry(l);
  int checked = 0;
  for (const auto& p : Cases("inclusion")) {
    const auto j = Load(p);
    if (j["wantErr"].get<bool>() || p.parent_path().filename() == "single-entry") continue;
    const uint64_t idx = j["leafIdx"], size = j["treeSize"];
    auto proof = InclusionProof(t, idx, size);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, *ToHashes(j["proof"])) << p;
    EXPECT_EQ(*RootAt(t, size), *ToHash(j["root"]));
    ++checked;
  }
  for (const auto& p : Cases("consistency")) {
    const auto j = Load(p);
    if (j["wantErr"].get<bool>() || p.parent_path().filename() == "additional") continue;
    auto proof = ConsistencyProof(t, j["size1"], j["size2"]);
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(*proof, *ToHashes(j["proof"])) << p;
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

// Cloison's rule for the size-0 cases (docs/audit-format.md, "Consistency
// from or between empty trees").
TEST(MerkleKatTest, SizeZeroRule) {
  const Hash empty = EmptyRoot();
  Hash other = empty;
  other[0] ^= 1;
  // 0 -> 0 with the empty-tree root on both sides and no proof: holds.
  EXPECT_TRUE(VerifyConsistency(0, 0, empty, empty, {}).ok());
  // 0 -> 0 between two equal roots that are not the empty-tree root: rejected
  // (the shared vector sizes-are-equal-zero-and-proof-is-empty is this case
  // with non-hash strings).
  EXPECT_TRUE(IsCorruption(VerifyConsistency(0, 0, other, other, {})));
  const Bytes dont_care = {'d', 'o', 'n', '\'', 't'};
  EXPECT_TRUE(IsCorruption(VerifyConsistencyBytes(0, 0, dont_care, dont_care, {})));
  EXPECT_TRUE(VerifyConsistencyBytes(0, 0, empty, empty, {}).ok());
  // 0 -> 0 with a non-empty proof: rejected.
  EXPECT_FALSE(VerifyConsistency(0, 0, empty, empty, std::vector<Hash>{empty}).ok());
  // 0 -> n: rejected as meaningless, whatever the proof.
  EXPECT_EQ(VerifyConsistency(0, 1, empty, other, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyConsistency(0, 1, empty, empty, std::vector<Hash>{empty}).code(),
            absl::StatusCode::kInvalidArgument);
  // The generator refuses 0 as an old size too.
  MemoryTree t;
  t.AppendEntry({});
  EXPECT_FALSE(ConsistencyProof(t, 0, 1).ok());
}

}  // namespace
}  // namespace cloison::audit
