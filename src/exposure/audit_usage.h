// The audit log as the "used" side of the exposure report: for each account,
// the distinct people of its `read` entries over a window, classified by
// exposure::ClassifyRead (opened vs only listed; src/exposure/usage.h).
//
// Shared by `cloison exposure` (the CLI, when no server holds the log) and
// `GET /v1/exposure` (the server, which holds it); the counting rules are
// usage.h's. The exposure module includes audit for this file only
// (ARCHITECTURE.md).
//
// Cost: one query-index lookup per account (audit::QueryIndex, by account
// and time) and one entry read + decode per entry in the window; the index
// catches up with the log first (a cache, <audit dir>/index.db).
//
// Thread-safety: as QueryIndex: one thread at a time per index (the server
// keeps its index behind a mutex of its own); the log is thread-safe.
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

namespace cloison::exposure {

struct UsageWindow {
  UnixMicros from = 0;  // inclusive
  UnixMicros to = 0;    // exclusive
};

// The window of `days` whole days ending with `today` (UTC), cut at `now`
// (inclusive: an entry appended in the same microsecond as the report, as a
// server's clock allows, is in it):
// [start of today - (days - 1), min(now + 1 µs, end of today)).
UsageWindow UsageWindowEnding(Date today, int64_t days, UnixMicros now);

// Usage of every iam account of `accounts` over `w` (store-only agents are
// left out: they cannot have logged in). Window label
// "YYYY-MM-DD..YYYY-MM-DD", with " (log starts YYYY-MM-DD)" when the log's
// first entry is later than the window's start. IOError / Corruption from
// the log or its index.
StatusOr<Usage> UsageFromAuditLog(const audit::AuditLog& log, audit::QueryIndex& index,
                                            const std::vector<AccountInput>& accounts, UsageWindow w);

}  // namespace cloison::exposure
