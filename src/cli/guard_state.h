// The running server's guard across restarts (docs/guard.md, "In the
// server"): the state file DATA/guard/state, and the replay of the audit
// log entries it does not cover, so that waiting for a restart does not
// reset what the guard learnt (baselines, windows, suspensions, alerts).
//
// The file is one header line naming the audit log position the snapshot
// covers, then Guard::SaveState's own format verbatim:
//
//   CLOISON-SERVER-GUARD 1 <audit entries covered> <hex Merkle root of the log at that size>\n
//   CLOISON-GUARD-STATE 1 <checksum>\n{...}
//
// The root ties the snapshot to this log: a state file from another data
// directory, or a log that does not extend the one it was saved against,
// is refused like a damaged one. Written with mode 0600 to a temporary
// file, synced, renamed over the old one, directory synced: after a crash
// it is the old or the new state, never a mix.
//
// The audit log is authoritative: a damaged or mismatched state is set
// aside (renamed to state.damaged), reported, and the guard is rebuilt from
// the whole log; the server never starts silently with an empty guard.
//
// Thread-safety: free functions; the guard and the log are thread-safe, so
// SaveGuardState may run while requests are served (each account's
// snapshot is consistent; see CoveredSize below for the boundary).
#pragma once

#include <cstdint>
#include <string>

#include "audit/log.h"
#include "cli/context.h"
#include "core/status.h"
#include "guard/guard.h"

namespace cloison::cli {

// DATA/guard/state.
std::string GuardStatePath(const Context& ctx);

// The [guard] section of `policy_file` (GuardConfig::FromPolicyText on its
// text), or GuardConfig::Default() for the compiled-in policy ("").
StatusOr<guard::GuardConfig> GuardConfigFor(const std::string& policy_file);

// Snapshots `guard` with the position of `log` it covers and writes it to
// `path` atomically (mode 0600; the directory is created 0700). The log size
// is read *before* the snapshot: every entry below it was appended after its
// access was scored, so the snapshot includes it; entries appended during
// the snapshot may be both in it and replayed after a restart (counted
// twice: the guard errs towards suspicion, never towards forgetting).
Status SaveGuardState(const guard::Guard& guard, const audit::AuditLog& log, const std::string& path);

struct GuardLoad {
  bool found = false;     // a state file existed
  bool loaded = false;    // and was loaded into the guard
  uint64_t covered = 0;   // audit entries the loaded state covers: replay from here (0 if not loaded)
  std::string problem;    // found but not loaded: why, in one sentence (no personal data)
};

// Loads `path` into `guard` if it exists. A damaged file (bad header,
// checksum, shape: Guard::LoadState's Corruption) or one that does not match
// `log` is renamed to `path` + ".damaged" and reported in `problem`; the
// guard is then left as it was (covered = 0: replay the whole log). IOError
// only when the file exists but cannot be read.
StatusOr<GuardLoad> LoadGuardState(guard::Guard& guard, const audit::AuditLog& log, const std::string& path);

struct Replay {
  uint64_t entries = 0;   // audit entries read
  uint64_t accesses = 0;  // of which were accesses observed by the guard
};

// Feeds the entries [from, log.size()) that record accesses
// (api::GuardAccessOf) to Guard::Observe, in log order. Entries that are not
// decodable events are skipped (the audit log's own verification reports
// them). IOError when the log cannot be read.
StatusOr<Replay> ReplayAuditLog(guard::Guard& guard, const audit::AuditLog& log, uint64_t from);

}  // namespace cloison::cli
