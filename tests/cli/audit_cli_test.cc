// End-to-end tests of `cloison audit ...`, as an operator and an auditor run
// them: checkpoints, proofs in RFC 6962 JSON, stand-alone proof checking with
// exit codes 0/1/2, verify against a kept checkpoint, verify's answer on
// entries after the latest checkpoint (authentic, unauthenticated, forged),
// export (which records itself), syslog, recovery recorded in the log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/record.h"
#include "cli_test_util.h"
#include "crypto/aead.h"
#include "crypto/base64.h"

namespace cloison::testing {
namespace {

void Write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

class AuditCliTest : public ::testing::Test {
 protected:
  AuditCliTest() : dir_("cli-audit"), data_(dir_ / "data") {}
  RunResult Audit(const std::string& args) { return RunCloison("--data " + data_ + " audit " + args); }
  TempDir dir_;
  std::string data_;
};

TEST_F(AuditCliTest, CheckpointProofVerifyProof) {
  auto r = Audit("append-test-events 40 --threads 4");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Audit("checkpoint");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\n40\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\xE2\x80\x94 cloison.local/audit/"), std::string::npos);
  Write(dir_ / "cp40.txt", r.output);
  Write(dir_ / "vkey", FirstLine(*std::make_unique<std::string>([&] {
          std::ifstream in(data_ + "/audit/verifier.key");
          std::stringstream ss;
          ss << in.rdbuf();
          return ss.str();
        }())));

  // Inclusion of leaf 17, with the leaf hash taken from the export.
  r = Audit("proof --index 17");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto proof = nlohmann::json::parse(r.output);
  EXPECT_EQ(proof["leaf_index"], 17);
  EXPECT_TRUE(proof["audit_path"].is_array());
  Write(dir_ / "inc.json", r.output);
  r = Audit("export --from 17 --to 18");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto line = nlohmann::json::parse(r.output);
  const std::string leaf_hash = line["leaf_hash"];
  r = RunCloison("audit verify-proof --sth " + (dir_ / "cp40.txt") + " --inclusion " + (dir_ / "inc.json") +
                 " --leaf-hash " + leaf_hash + " --verifier-key " + (dir_ / "vkey"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The same leaf input from a file.
  std::string input;
  {
    auto j = nlohmann::json::parse(Audit("export --from 17 --to 18").output);
    input = j["event"].dump();  // canonical JSON: dump() of a sorted object gives the same bytes here
  }
  Write(dir_ / "leaf17", input);
  r = RunCloison("audit verify-proof --sth " + (dir_ / "cp40.txt") + " --inclusion " + (dir_ / "inc.json") +
                 " --leaf-input " + (dir_ / "leaf17"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Another leaf: the proof does not hold (exit 1, one line).
  r = RunCloison("audit verify-proof --sth " + (dir_ / "cp40.txt") + " --inclusion " + (dir_ / "inc.json") +
                 " --leaf-hash 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("does not hold"), std::string::npos);
  // Malformed input: exit 2.
  Write(dir_ / "bad.json", "{\"leaf_index\": -1, \"audit_path\": []}");
  r = RunCloison("audit verify-proof --sth " + (dir_ / "cp40.txt") + " --inclusion " + (dir_ / "bad.json") +
                 " --leaf-hash " + leaf_hash);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = RunCloison("audit verify-proof --sth " + (dir_ / "inc.json") + " --inclusion " + (dir_ / "inc.json") +
                 " --leaf-hash " + leaf_hash);
  EXPECT_EQ(r.exit_code, 2) << r.output;

  // Grow the log; consistency 40 -> N with a get-sth-shaped tree head (N:
  // the 50 new entries, and the export events the two exports recorded).
  ASSERT_EQ(Audit("append-test-events 50").exit_code, 0);
  r = Audit("checkpoint");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const size_t nl1 = r.output.find('\n'), nl2 = r.output.find('\n', nl1 + 1);
  const uint64_t n_new = std::stoull(r.output.substr(nl1 + 1, nl2 - nl1 - 1));
  EXPECT_EQ(n_new, 40u + 2 * 2 + 50) << r.output;  // each export: started + completed
  const std::string root90 = r.output.substr(nl2 + 1, 44);
  const std::string cp40 = [&] {
    std::ifstream in(dir_ / "cp40.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  const std::string root40 = cp40.substr(cp40.find("\n40\n") + 4, 44);
  Write(dir_ / "sth.json", nlohmann::json({{"tree_size", n_new}, {"timestamp", 1}, {"sha256_root_hash", root90},
                                           {"tree_head_signature", ""}})
                               .dump());
  r = Audit("proof --from 40 --to " + std::to_string(n_new));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Write(dir_ / "cons.json", r.output);
  r = RunCloison("audit verify-proof --sth " + (dir_ / "sth.json") + " --consistency " + (dir_ / "cons.json") +
                 " --old-size 40 --old-root " + root40);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = RunCloison("audit verify-proof --sth " + (dir_ / "sth.json") + " --consistency " + (dir_ / "cons.json") +
                 " --old-size 41 --old-root " + root40);
  EXPECT_EQ(r.exit_code, 1) << r.output;

  // verify, and verify against the kept checkpoint.
  r = Audit("verify --checkpoint " + (dir_ / "cp40.txt"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("OK"), std::string::npos);
  // Truncation since then is detected.
  std::filesystem::resize_file(data_ + "/audit/entries.log", 16);
  r = Audit("verify --checkpoint " + (dir_ / "cp40.txt"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
}

// A tree of identical leaves: every complete subtree of a level has the same
// hash, so proofs for trees of any size are cheap to build here.
class UniformTree final : public audit::NodeSource {
 public:
  StatusOr<audit::Hash> Node(int level, uint64_t) const override {
    audit::Hash h = audit::HashLeaf(crypto::AsBytes("same"));
    for (int l = 0; l < level; ++l) h = audit::HashChildren(h, h);
    return h;
  }
};

TEST_F(AuditCliTest, VerifyProofAtRealCtLogSizesAndBeyond) {
  UniformTree t;
  for (uint64_t n : {uint64_t(1'234'567'891), (uint64_t(1) << 63) + 5}) {
    const uint64_t i = n - 2;
    const auto root = *audit::RootAt(t, n);
    Write(dir_ / "sth.json", nlohmann::json({{"tree_size", n}, {"sha256_root_hash", crypto::Base64Encode(root)}}).dump());
    auto path = *audit::InclusionProof(t, i, n);
    nlohmann::json p = {{"leaf_index", i}, {"audit_path", nlohmann::json::array()}};
    for (const auto& h : path) p["audit_path"].push_back(crypto::Base64Encode(h));
    Write(dir_ / "p.json", p.dump());
    Write(dir_ / "leaf", "same");
    auto r = RunCloison("audit verify-proof --sth " + (dir_ / "sth.json") + " --inclusion " + (dir_ / "p.json") +
                        " --leaf-input " + (dir_ / "leaf"));
    EXPECT_EQ(r.exit_code, 0) << n << ": " << r.output;
    const uint64_t m = n / 3;
    auto c = *audit::ConsistencyProof(t, m, n);
    nlohmann::json cj = {{"consistency", nlohmann::json::array()}};
    for (const auto& h : c) cj["consistency"].push_back(crypto::Base64Encode(h));
    Write(dir_ / "c.json", cj.dump());
    r = RunCloison("audit verify-proof --sth " + (dir_ / "sth.json") + " --consistency " + (dir_ / "c.json") +
                   " --old-size " + std::to_string(m) + " --old-root " + crypto::Base64Encode(*audit::RootAt(t, m)));
    EXPECT_EQ(r.exit_code, 0) << n << ": " << r.output;
  }
  auto r = RunCloison("audit verify-proof --sth /nonexistent --inclusion /nonexistent --leaf-hash AAAA");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST_F(AuditCliTest, ExportToSyslogOverLoopback) {
  ASSERT_EQ(Audit("append-test-events 5").exit_code, 0);
  const int srv = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(srv, reinterpret_cast<sockaddr*>(&addr), &len);
  ::listen(srv, 1);
  std::string received;
  std::thread t([&] {
    const int c = ::accept(srv, nullptr, nullptr);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(c, buf, sizeof buf)) > 0) received.append(buf, static_cast<size_t>(n));
    ::close(c);
  });
  auto r = Audit("export --syslog 127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  t.join();
  ::close(srv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Octet-counted RFC 5424 frames: "<len> <110>1 <time> <host> cloison - audit - {json}".
  size_t pos = 0;
  int frames = 0;
  while (pos < received.size()) {
    const size_t sp = received.find(' ', pos);
    const size_t n = std::stoul(received.substr(pos, sp - pos));
    const std::string msg = received.substr(sp + 1, n);
    EXPECT_EQ(msg.rfind("<110>1 ", 0), 0u) << msg;
    auto j = nlohmann::json::parse(msg.substr(msg.find(" - audit - ") + 11));
    EXPECT_EQ(j["index"], frames);
    pos = sp + 1 + n;
    ++frames;
  }
  EXPECT_EQ(frames, 5);
}

// Entries after the latest checkpoint: authentic ones (a writer stopped
// before its next checkpoint) are a warning, exit 0 (--strict: 1); a frame
// appended by someone without the signing key fails verify (exit 1) and the
// log refuses to sign over it; an auditor without the private key is told
// the uncovered entries cannot be authenticated (exit 0, --strict: 1).
TEST_F(AuditCliTest, VerifyOnEntriesAfterTheLatestCheckpoint) {
  ASSERT_EQ(Audit("append-test-events 5").exit_code, 0);
  {
    audit::LogOptions o;
    o.checkpoint_on_open = o.checkpoint_on_close = false;
    auto log = audit::AuditLog::Open(data_ + "/audit", o);
    ASSERT_TRUE(log.ok()) << log.status();
    audit::Event e;
    e.time = 1;
    for (int i = 0; i < 2; ++i) ASSERT_TRUE((*log)->Append(e).ok());
  }
  auto r = Audit("verify");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("uncovered entries: 2 (authenticated by their tags: 2, not authenticated: 0, forged: 0)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("WARNING: 2 entries after the latest checkpoint are not signed yet"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("OK (see the warning)"), std::string::npos) << r.output;
  EXPECT_EQ(Audit("verify --strict").exit_code, 1);
  r = Audit("verify --no-signing-key");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("could not be authenticated here (no signing key)"), std::string::npos) << r.output;

  // A forged frame: a valid checksum and event, a made-up tag.
  std::string frame;
  audit::AppendFrame(frame, "{\"kind\":\"read\",\"time\":1,\"v\":2}" + std::string(audit::kEntryTagSize, 'x'));
  std::ofstream(data_ + "/audit/entries.log", std::ios::app | std::ios::binary) << frame;
  r = Audit("verify");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("1 entry after the latest checkpoint (size 5), from entry 7, does not carry this log's "
                          "authentication tag"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("FAILED"), std::string::npos) << r.output;
  r = Audit("verify --no-signing-key");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("WARNING: 3 entries after the latest checkpoint are covered by no signature"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(Audit("verify --no-signing-key --strict").exit_code, 1);
  // Nothing signs over it.
  r = Audit("checkpoint --new");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("authentication tag"), std::string::npos) << r.output;
}

// A command that opens the log and finds a torn tail cuts it and records
// that in the log (kind system, decision recovered).
TEST_F(AuditCliTest, TornTailCutByACommandIsRecordedInTheLog) {
  ASSERT_EQ(Audit("append-test-events 3").exit_code, 0);
  std::ofstream(data_ + "/audit/entries.log", std::ios::app | std::ios::binary)
      << std::string("\x01\x02\x03\x04\x64\x00\x00\x00hello", 13);
  auto r = Audit("proof --index 0 --size 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = Audit("export");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  int recovered = 0;
  for (std::string l; std::getline(lines, l);) {
    auto j = nlohmann::json::parse(l);
    if (j["event"]["kind"] == "system" && j["event"].value("decision", "") == "recovered") {
      ++recovered;
      EXPECT_EQ(j["index"], 3);
      EXPECT_EQ(j["event"]["numbers"]["torn_bytes_cut"], 13);
    }
  }
  EXPECT_EQ(recovered, 1);
  r = Audit("verify");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("uncovered entries: 0\n"), std::string::npos) << r.output;
}

TEST_F(AuditCliTest, HelpAndExitCodes) {
  for (const char* sub : {"checkpoint", "proof", "verify", "verify-proof", "export", "query"}) {
    auto r = RunCloison(std::string("audit ") + sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub << r.output;
  }
  EXPECT_EQ(Audit("verify").exit_code, 3);  // no log
  EXPECT_EQ(Audit("proof").exit_code, 2);
}

}  // namespace
}  // namespace cloison::testing
