// Offline verification of a log directory: recomputes the Merkle tree from
// entries.log alone (the caches are not trusted) and checks every stored
// checkpoint's signature and root, and optionally a checkpoint an auditor
// kept earlier. Detects any changed, dropped, swapped, reordered or inserted
// entry before the latest checkpoint, and truncation below any checkpoint.
//
// Entries after the latest checkpoint are not covered by any signature.
// In a format-2 log each carries a tag only the signing key can make
// (entry_tag.h): with the private key (signing.key in the directory, as on
// the server), verify checks them, counts the authentic ones as
// uncovered-but-authenticated and reports any other as a problem (appended,
// replayed or damaged); without it (an auditor's copy) they are reported as
// unauthenticated, which is not a failure by itself (see the CLI's --strict).
//
// Reads without the log's lock, so it can run next to a live log (a frame
// being written shows as a torn tail).
// Thread-safety: a free function, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/file.h"
#include "core/status.h"

namespace cloison::audit {

struct VerifyOptions {
  FileSystem* fs = nullptr;            // nullptr: default
  std::string verifier_key;            // empty: read <dir>/verifier.key
  std::optional<std::string> external_checkpoint;  // a note (signed) or bare body
  bool decode_events = false;          // also check each entry is a canonical event
  // The log's private key text, to check the tags of uncovered entries.
  // Empty: <dir>/signing.key when `use_signing_key` and it is readable.
  std::string signing_key;
  bool use_signing_key = true;
  // Also check the tags of entries a checkpoint covers (slower; a wrong tag
  // there means the frame was altered after signing while the leaf, which
  // the checkpoints vouch for, was not).
  bool check_every_tag = false;
};

struct VerifyReport {
  uint64_t entries = 0;
  uint64_t checkpoints_checked = 0;
  uint64_t latest_checkpoint_size = 0;
  uint64_t uncovered_entries = 0;      // entries after the latest checkpoint
  uint64_t uncovered_authenticated = 0;    // ... whose tag this log's key made
  uint64_t uncovered_unauthenticated = 0;  // ... not checkable here (format 1, or no private key)
  uint64_t forged_entries = 0;         // ... with a wrong tag (a problem)
  uint64_t bad_covered_tags = 0;       // check_every_tag: covered entries with a wrong tag (a problem)
  int format = 0;                      // entries.log format
  bool signing_key_used = false;       // tags were checked
  uint64_t torn_tail_bytes = 0;        // unreadable bytes at the end (cut at next open)
  uint64_t entry_bytes = 0;
  double seconds = 0;
  std::vector<std::string> problems;   // empty: the log verifies
  bool ok() const { return problems.empty(); }
};

// IOError/NotFound when the directory cannot be read at all; otherwise a
// report whose `problems` lists every failed check.
StatusOr<VerifyReport> VerifyLog(const std::string& dir, const VerifyOptions& options = {});

}  // namespace cloison::audit
