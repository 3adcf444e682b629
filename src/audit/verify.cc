#include "audit/verify.h"

#include <chrono>

#include "audit/entry_tag.h"
#include "audit/event.h"
#include "audit/merkle.h"
#include "audit/record.h"
#include "core/strings.h"

namespace cloison::audit {

StatusOr<VerifyReport> VerifyLog(const std::string& dir, const VerifyOptions& options) {
  FileSystem& fs = options.fs ? *options.fs : FileSystem::Default();
  const auto t0 = std::chrono::steady_clock::now();
  VerifyReport rep;
  std::string key = options.verifier_key;
  if (key.empty()) {
    CLOISON_ASSIGN_OR_RETURN(key, fs.ReadFile(dir + "/verifier.key"));
  }
  CLOISON_ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::FromVerifierKey(key));

  // Checkpoints, in file order; each must be validly signed.
  struct Expect {
    uint64_t size;
    Hash root;
    std::string what;
  };
  std::vector<Expect> expects;
  {
    CLOISON_ASSIGN_OR_RETURN(auto f, fs.Open(dir + "/checkpoints.log", false));
    CLOISON_RETURN_IF_ERROR(CheckOrWriteHeader(*f, kCheckpointsMagic, dir + "/checkpoints.log"));
    FrameReader r(*f, kFileHeaderSize, 1 << 16);
    uint64_t prev = 0;
    while (true) {
      std::string_view note;
      uint64_t off;
      auto next = r.Next(&note, &off);
      if (!next.ok()) {
        rep.problems.push_back(StrCat("checkpoints.log: ", MessageOf(next.status())));
        break;
      }
      if (!*next) break;
      const uint64_t i = expects.size();
      if (Status s = verifier.Verify(note); !s.ok()) {
        rep.problems.push_back(StrCat("checkpoint #", i, ": ", MessageOf(s)));
        continue;
      }
      auto c = ParseCheckpoint(note);
      if (!c.ok()) {
        rep.problems.push_back(StrCat("checkpoint #", i, ": ", MessageOf(c.status())));
        continue;
      }
      if (c->origin != verifier.name()) rep.problems.push_back(StrCat("checkpoint #", i, ": wrong origin"));
      if (c->size < prev) rep.problems.push_back(StrCat("checkpoint #", i, ": size goes backwards"));
      prev = c->size;
      expects.push_back({c->size, c->root, StrCat("checkpoint #", i, " (size ", c->size, ")")});
      rep.latest_checkpoint_size = std::max(rep.latest_checkpoint_size, c->size);
    }
  }
  if (options.external_checkpoint) {
    const std::string& text = *options.external_checkpoint;
    if (text.find("\n\n") != std::string::npos) {
      if (Status s = verifier.Verify(text); !s.ok()) {
        rep.problems.push_back(StrCat("external checkpoint: ", MessageOf(s)));
      }
    }
    auto c = ParseCheckpoint(text);
    if (!c.ok()) {
      rep.problems.push_back(StrCat("external checkpoint: ", MessageOf(c.status())));
    } else {
      if (c->origin != verifier.name()) {
        rep.problems.push_back(StrCat("external checkpoint is for origin ", c->origin, ", not ", verifier.name()));
      }
      expects.push_back({c->size, c->root, StrCat("external checkpoint (size ", c->size, ")")});
    }
  }
  std::sort(expects.begin(), expects.end(), [](const Expect& a, const Expect& b) { return a.size < b.size; });
  size_t next_expect = 0;
  TreeBuilder tree;
  auto check_due = [&]() {
    while (next_expect < expects.size() && expects[next_expect].size == tree.size()) {
      if (tree.Root() != expects[next_expect].root) {
        rep.problems.push_back(StrCat(expects[next_expect].what, ": root differs from the entries (rewritten log)"));
      }
      ++rep.checkpoints_checked;
      ++next_expect;
    }
  };
  check_due();  // size-0 checkpoints

  CLOISON_ASSIGN_OR_RETURN(auto entries, fs.Open(dir + "/entries.log", false));
  CLOISON_ASSIGN_OR_RETURN(rep.format, CheckOrWriteEntriesHeader(*entries, dir + "/entries.log"));
  CLOISON_ASSIGN_OR_RETURN(const uint64_t file_size, entries->Size());

  // The private key, when we have it, authenticates uncovered entries. It
  // must be the key of the verifier key checkpoints are checked with: a
  // swapped signing.key would otherwise vouch for frames it tagged itself.
  std::optional<EntryTagger> tagger;
  if (rep.format >= 2) {
    std::string sk = options.signing_key;
    if (sk.empty() && options.use_signing_key && fs.Exists(dir + "/signing.key")) {
      auto text = fs.ReadFile(dir + "/signing.key");
      if (text.ok()) sk = std::move(*text);  // unreadable (another user's 0600 file): check as an auditor
    }
    if (!sk.empty()) {
      auto signer = NoteSigner::FromPrivateKey(sk);
      std::fill(sk.begin(), sk.end(), '\0');
      if (!signer.ok()) {
        rep.problems.push_back(StrCat("signing key: ", MessageOf(signer.status())));
      } else if (std::string_view vk = key; signer->VerifierKey() != vk.substr(0, vk.find_last_not_of("\r\n") + 1)) {
        rep.problems.push_back("signing key does not match the verifier key: entry tags not checked");
      } else {
        tagger.emplace(*signer);
        rep.signing_key_used = true;
      }
    }
  }
  // Uncovered means after every stored checkpoint (an external checkpoint
  // only adds a check, it does not sign anything for the log).
  const uint64_t covered = rep.latest_checkpoint_size;
  uint64_t first_forged = 0, first_bad_covered = 0;
  FrameReader reader(*entries, kFileHeaderSize);
  while (true) {
    std::string_view payload;
    uint64_t off;
    auto next = reader.Next(&payload, &off);
    if (!next.ok()) {
      if (!IsCorruption(next.status())) return next.status();
      rep.torn_tail_bytes = file_size - reader.offset();
      // Unreadable bytes are only harmless after the last checkpoint (a torn
      // tail the next open will cut); below it they are damage.
      if (next_expect < expects.size()) {
        rep.problems.push_back(StrCat("entry ", tree.size(), ": ", MessageOf(next.status())));
      }
      break;
    }
    if (!*next) break;
    const uint64_t index = tree.size();
    std::string_view leaf = payload;
    std::span<const uint8_t> tag;
    if (rep.format >= 2 && !SplitTaggedPayload(payload, &leaf, &tag)) {
      rep.problems.push_back(StrCat("entry ", index, ": frame too short for its tag"));
      leaf = payload;
    }
    if (options.decode_events) {
      if (auto e = DecodeEvent(leaf); !e.ok()) {
        rep.problems.push_back(StrCat("entry ", index, ": ", MessageOf(e.status())));
      }
    }
    rep.entry_bytes += leaf.size();
    const Hash h = HashLeaf({reinterpret_cast<const uint8_t*>(leaf.data()), leaf.size()});
    // Tags only after the latest checkpoint: below it the signature is the
    // stronger proof, and checking every tag would halve verify's speed.
    if (index < covered) {
      if (tagger && options.check_every_tag && !(tag.size() == kEntryTagSize && tagger->Matches(index, h, tag))) {
        if (rep.bad_covered_tags++ == 0) first_bad_covered = index;
      }
    } else {
      if (!tagger) {
        ++rep.uncovered_unauthenticated;
      } else if (tag.size() == kEntryTagSize && tagger->Matches(index, h, tag)) {
        ++rep.uncovered_authenticated;
      } else {
        if (rep.forged_entries++ == 0) first_forged = index;
      }
    }
    tree.AppendLeafHash(h);
    if (next_expect < expects.size() && expects[next_expect].size == tree.size()) check_due();
  }
  rep.entries = tree.size();
  for (; next_expect < expects.size(); ++next_expect) {
    rep.problems.push_back(StrCat(expects[next_expect].what, ": the log holds only ", rep.entries,
                                  " entries (truncated)"));
  }
  rep.uncovered_entries = rep.entries > rep.latest_checkpoint_size ? rep.entries - rep.latest_checkpoint_size : 0;
  if (rep.bad_covered_tags > 0) {
    rep.problems.push_back(StrCat(rep.bad_covered_tags, " entries covered by checkpoints, from entry ", first_bad_covered,
                                  ", have a wrong tag: their frames were altered after they were written"));
  }
  if (rep.forged_entries > 0) {
    // One line, however many: an attacker could append millions.
    const bool one = rep.forged_entries == 1;
    rep.problems.push_back(StrCat(rep.forged_entries, one ? " entry" : " entries", " after the latest checkpoint (size ",
                                  covered, "), from entry ", first_forged, one ? ", does not" : ", do not",
                                  " carry this log's authentication tag: appended without the signing key "
                                  "(forged, replayed or moved) or damaged"));
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace cloison::audit
