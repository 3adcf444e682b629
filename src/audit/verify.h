// Offline verification of a log directory: recomputes the Merkle tree from
// entries.log alone (the caches are not trusted) and checks every stored
// checkpoint's signature and root, and optionally a checkpoint an auditor
// kept earlier. Detects any changed, dropped, swapped, reordered or inserted
// entry before the latest checkpoint, and truncation below any checkpoint.
//
// Reads without the log's lock, so it can run next to a live log; entries
// appended after the latest checkpoint are reported as not yet covered.
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
};

struct VerifyReport {
  uint64_t entries = 0;
  uint64_t checkpoints_checked = 0;
  uint64_t latest_checkpoint_size = 0;
  uint64_t uncovered_entries = 0;      // entries after the latest checkpoint
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
