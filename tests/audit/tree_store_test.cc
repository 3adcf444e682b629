// TreeFiles: the tree's levels on disk with writes behind. Every node reads
// back the same whether it is still in memory or in its file, the files are
// written a whole chunk at a time, and Sync leaves files a reopen trusts.
#include "audit/tree_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/strings.h"

namespace cloison::audit {
namespace {

namespace fs = std::filesystem;

class TreeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / StrCat("cloison-tree-", ::getpid(), "-",
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  uint64_t FileSize(int level) const {
    const std::string p = StrCat(dir_, "/tree.", level < 10 ? "0" : "", level);
    return fs::exists(p) ? fs::file_size(p) : 0;
  }
  static Hash Leaf(uint64_t i) {
    const std::string s = StrCat("entry ", i);
    return HashLeaf({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  // Every node of every level of `t` against the in-memory reference.
  static void ExpectSameNodes(const TreeFiles& t, const MemoryTree& ref) {
    ASSERT_EQ(t.size(), ref.size());
    for (int level = 0; (ref.size() >> level) > 0; ++level) {
      for (uint64_t i = 0; i < (ref.size() >> level); ++i) {
        auto got = t.Node(level, i);
        ASSERT_TRUE(got.ok()) << level << "/" << i << ": " << got.status();
        ASSERT_EQ(*got, *ref.Node(level, i)) << "node " << level << "/" << i;
      }
    }
    EXPECT_EQ(t.Root(), ref.Root());
  }
  std::string dir_;
};

TEST_F(TreeStoreTest, NodesReadTheSameFromMemoryAndFromTheFiles) {
  auto t = TreeFiles::Open(FileSystem::Default(), dir_, 0);
  ASSERT_TRUE(t.ok()) << t.status();
  MemoryTree ref;
  constexpr uint64_t kPerChunk = TreeFiles::kFlushBytes / 32;
  uint64_t n = 0;
  uint64_t last_size[2] = {0, 0}, writes[2] = {0, 0};
  // Commits of 1 to 7 entries, as the log makes them, past several chunks
  // of level 0 and the first of level 1.
  for (uint64_t batch = 1; n < 3 * kPerChunk + 5; batch = batch % 7 + 1) {
    std::vector<Hash> leaves;
    for (uint64_t k = 0; k < batch; ++k, ++n) leaves.push_back(Leaf(n));
    ASSERT_TRUE((*t)->Append(leaves).ok());
    for (const Hash& h : leaves) ref.AppendLeafHash(h);
    // Behind: less than a chunk of a level is in memory, the rest in its
    // file, written a chunk (or a little more) at a time.
    for (int level = 0; level < 2; ++level) {
      const uint64_t in_file = FileSize(level), nodes = (n >> level) * 32;
      EXPECT_EQ(in_file % 32, 0u);
      EXPECT_LE(in_file, nodes);
      EXPECT_LT(nodes - in_file, TreeFiles::kFlushBytes) << "level " << level << " after " << n << " leaves";
      if (in_file != last_size[level]) ++writes[level];
      last_size[level] = in_file;
    }
    ExpectSameNodes(**t, ref);
  }
  EXPECT_LE(writes[0], n / kPerChunk) << "level 0 written once per chunk, not once per commit";
  EXPECT_LE(writes[1], (n / 2) / kPerChunk);
  EXPECT_GT(FileSize(0), 0u);
  EXPECT_EQ(FileSize(3), 0u) << "level 3 has fewer than a chunk of nodes: nothing written yet";
  EXPECT_FALSE((*t)->Node(0, n).ok()) << "a node beyond the tree";

  // Sync writes everything: the files then hold each level whole.
  ASSERT_TRUE((*t)->Sync().ok());
  for (int level = 0; (n >> level) > 0; ++level) EXPECT_EQ(FileSize(level), (n >> level) * 32) << "level " << level;
  ExpectSameNodes(**t, ref);
}

TEST_F(TreeStoreTest, AReopenTrustsWhatSyncWroteAndGoesOn) {
  MemoryTree ref;
  uint64_t n = 0;
  {
    auto t = TreeFiles::Open(FileSystem::Default(), dir_, 0);
    ASSERT_TRUE(t.ok());
    for (; n < 300; ++n) {
      const Hash h = Leaf(n);
      ASSERT_TRUE((*t)->Append(std::span<const Hash>(&h, 1)).ok());
      ref.AppendLeafHash(h);
    }
    ASSERT_TRUE((*t)->Sync().ok());
    // Appended after the Sync and never synced: a crash loses them (the
    // log re-hashes them from its entries); a reopen cuts them.
    for (uint64_t k = 0; k < 200; ++k) {
      const Hash h = Leaf(1000 + k);
      ASSERT_TRUE((*t)->Append(std::span<const Hash>(&h, 1)).ok());
    }
  }
  auto t = TreeFiles::Open(FileSystem::Default(), dir_, n);
  ASSERT_TRUE(t.ok()) << t.status();
  ExpectSameNodes(**t, ref);
  for (; n < 700; ++n) {
    const Hash h = Leaf(n);
    ASSERT_TRUE((*t)->Append(std::span<const Hash>(&h, 1)).ok());
    ref.AppendLeafHash(h);
  }
  ExpectSameNodes(**t, ref);

  // More leaves trusted than the files hold (a tree.state ahead of them):
  // Corruption, never a tree with holes.
  auto bad = TreeFiles::Open(FileSystem::Default(), dir_, 100000);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << bad.status();
}

}  // namespace
}  // namespace cloison::audit
