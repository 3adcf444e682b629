// Property test of `verify`: random logs of random sizes, closed (so a
// signed checkpoint covers every entry), then one random tampering of
// entries.log: a flipped bit (with or without a recomputed checksum), a
// swapped pair, a dropped entry, a reordering, an inserted entry,
// truncation, an appended entry (made up, or a replayed copy of an authentic
// one). Verify must fail on every one (problems, exit 1 in the CLI: an
// appended entry is after the latest checkpoint and its tag does not verify
// under the log's key); the untouched log verifies.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "audit/log.h"
#include "audit/record.h"
#include "audit/verify.h"
#include "core/random.h"

namespace cloison::audit {
namespace {

namespace fs = std::filesystem;

std::string Header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string h(kFileHeaderSize, '\0');
  in.read(h.data(), static_cast<std::streamsize>(h.size()));
  return h;
}

// Raw payloads: in format 2, leaf || tag.
std::vector<std::string> ReadFrames(const std::string& path) {
  auto f = FileSystem::Default().Open(path, false);
  FrameReader r(**f, kFileHeaderSize);
  std::vector<std::string> out;
  std::string_view p;
  uint64_t off;
  while (*r.Next(&p, &off)) out.emplace_back(p);
  return out;
}

void WriteFrames(const std::string& path, const std::vector<std::string>& frames) {
  std::string data = Header(path);
  for (const auto& p : frames) AppendFrame(data, p);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

TEST(VerifyTamperTest, EveryTamperingIsDetected) {
  const std::string dir = (fs::temp_directory_path() / ("cloison-tamper-" + std::to_string(::getpid()))).string();
  DeterministicRandom rnd(7);
  FakeClock clock;
  int detected = 0;
  constexpr int kRounds = 45;
  for (int round = 0; round < kRounds; ++round) {
    fs::remove_all(dir);
    const int n = 2 + static_cast<int>(rnd.Uniform(round < 30 ? 40 : 200));
    {
      LogOptions o;
      o.clock = &clock;
      o.checkpoint_every_entries = 1 + rnd.Uniform(n);
      auto log = AuditLog::Open(dir, o);
      ASSERT_TRUE(log.ok());
      for (int i = 0; i < n; ++i) {
        Event e;
        e.kind = EventKind::kRead;
        e.time = clock.NowMicros() + i;
        e.account = AccountId(1 + rnd.Uniform(5));
        e.persons = {PersonId(1 + rnd.Uniform(1000))};
        ASSERT_TRUE((*log)->Append(e).ok());
      }
    }
    auto clean = VerifyLog(dir);
    ASSERT_TRUE(clean.ok());
    ASSERT_TRUE(clean->ok()) << clean->problems[0];
    ASSERT_EQ(clean->entries, uint64_t(n));
    EXPECT_EQ(clean->uncovered_entries, 0u);

    const std::string path = dir + "/entries.log";
    auto frames = ReadFrames(path);
    const size_t i = rnd.Uniform(frames.size());
    const size_t j = (i + 1 + rnd.Uniform(frames.size() - 1)) % frames.size();
    const int kind = round % 9;
    bool raw_flip = false;
    bool flipped_tag = false;
    ASSERT_EQ(Header(path), kEntriesMagic);  // format 2: payload = leaf || 16-byte tag
    switch (kind) {
      case 0: {  // bit, CRC fixed
        const size_t at = rnd.Uniform(frames[i].size());
        flipped_tag = at >= frames[i].size() - kEntryTagSize;
        frames[i][at] ^= char(1 << rnd.Uniform(8));
        break;
      }
      case 1: std::swap(frames[i], frames[j]); break;
      case 2: frames.erase(frames.begin() + i); break;
      case 3: std::rotate(frames.begin() + std::min(i, j), frames.begin() + std::min(i, j) + 1,
                          frames.begin() + std::max(i, j) + 1); break;
      case 4: frames.insert(frames.begin() + i, frames[j]); break;  // inserted copy
      case 5: {  // appended: a well-formed event with a made-up tag
        std::string tag(kEntryTagSize, '\0');
        for (char& c : tag) c = char(rnd.Uniform(256));
        frames.push_back("{\"kind\":\"read\",\"time\":1,\"v\":2}" + tag);
        break;
      }
      case 6: frames.resize(i); break;  // truncated
      case 7: raw_flip = true; break;   // bit flipped on disk, CRC left as is
      case 8: frames.push_back(frames[j]); break;  // appended: a replayed authentic frame
    }
    if (raw_flip) {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      const auto size = fs::file_size(path);
      const uint64_t pos = kFileHeaderSize + rnd.Uniform(size - kFileHeaderSize);
      f.seekg(pos);
      char c = 0;
      f.get(c);
      f.seekp(pos);
      f.put(char(c ^ (1 << rnd.Uniform(8))));
    } else {
      WriteFrames(path, frames);
    }
    // A flipped tag bit of a covered entry leaves the leaf, hence every
    // root, intact: only checking every tag sees it.
    VerifyOptions vo;
    vo.check_every_tag = flipped_tag;
    auto rep = VerifyLog(dir, vo);
    ASSERT_TRUE(rep.ok());
    const bool caught = !rep->ok();
    EXPECT_TRUE(caught) << "round " << round << " kind " << kind << " n " << n;
    if (kind == 5 || kind == 8) {
      EXPECT_EQ(rep->uncovered_entries, 1u);
      EXPECT_EQ(rep->forged_entries, 1u);
      // Without the private key (an auditor's copy) the appended entry is
      // reported as not authenticated, which is not a failure by itself.
      VerifyOptions auditor;
      auditor.use_signing_key = false;
      auto arep = VerifyLog(dir, auditor);
      ASSERT_TRUE(arep.ok());
      EXPECT_TRUE(arep->ok());
      EXPECT_EQ(arep->uncovered_unauthenticated, 1u);
      // And the log refuses to open, so it never signs over the forgery.
      LogOptions o;
      o.clock = &clock;
      EXPECT_FALSE(AuditLog::Open(dir, o).ok()) << "round " << round << " kind " << kind;
    }
    // A log that lost synced bytes refuses to open (and so to sign anything).
    if (kind == 2 || kind == 6) {
      LogOptions o;
      o.clock = &clock;
      auto reopened = AuditLog::Open(dir, o);
      EXPECT_FALSE(reopened.ok()) << "round " << round << " kind " << kind;
    }
    detected += caught;
  }
  EXPECT_EQ(detected, kRounds);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cloison::audit
