// The audit log as the "used" side of the exposure report: for each account,
// the distinct people of its `read` entries over a window, classified by
// exposure::ClassifyRead (opened vs only listed; src/exposure/usage.h).
//
// Here, in cli, because the exposure module may not include audit
// (ARCHITECTURE.md); the counting rules themselves are exposure's.
//
// Cost: one query-index lookup per account (audit::QueryIndex, by account
// and time) and one entry read + decode per entry in the window; the index
// catches up with the log first (a cache, <audit dir>/index.db).
//
// Thread-safety: as QueryIndex: one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/log.h"
#include "audit/query_index.h"
#include "core/clock.h"
#include "core/date.h"
#include "core/status.h"
#include "exposure/exposure.h"

namespace cloison::cli {

struct UsageWindow {
  UnixMicros from = 0;  // inclusive
  UnixMicros to = 0;    // exclusive
};

// The window of `days` whole days ending with `today` (UTC), cut at `now`:
// [start of today - (days - 1), min(now, end of today)).
UsageWindow UsageWindowEnding(Date today, int64_t days, UnixMicros now);

// Usage of every iam account of `accounts` over `w` (store-only agents are
// left out: they cannot have logged in). Window label
// "YYYY-MM-DD..YYYY-MM-DD", with " (log starts YYYY-MM-DD)" when the log's
// first entry is later than the window's start. IOError / Corruption from
// the log or its index.
StatusOr<exposure::Usage> UsageFromAuditLog(const audit::AuditLog& log, audit::QueryIndex& index,
                                            const std::vector<exposure::AccountInput>& accounts, UsageWindow w);

}  // namespace cloison::cli
