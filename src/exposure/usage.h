// What accounts actually read over a window: the "used" side of the exposure
// report (docs/exposure.md, "Used vs reachable").
//
// The audit log is the source: audit_usage.h turns each of its `read`
// entries into one UsageBuilder::AddRead call (plain ids and the entry's
// `details.kind`); the rules of what counts live here, once, for the CLI
// (`cloison exposure`) and the API (`GET /v1/exposure`) alike. This header
// itself stays free of audit types, so the rules are testable on plain ids.
//
// What counts as "used" (the people whose record the account opened):
//   - an audit `read` entry without `details.kind`, or with kind `read` or
//     `reveal`: a person's record (or a sensitive field) released to the
//     account — the API's single reads and reveals, and its writes
//     (create / update a person, orient one), which need the same relation;
//   - listing and search pages (`details.kind` `list`, `search`, or any other
//     kind) are NOT "used": a page shows a few fields (names) of many people
//     so that the reader can find the one to open. Counting every name shown
//     would make a counsellor who scrolls its structure's list look as if its
//     work needed structure-wide access, which is exactly what least
//     privilege questions. Those people are reported apart, as "listed"
//     (shown in a page, never opened in the window), so that mass listing —
//     the 2025 extraction pattern — stays visible.
//
// Thread-safety: plain values; a UsageBuilder is used from one thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ids.h"

namespace cloison::exposure {

// What accounts read over a window. An account absent from `people_read` is
// "unknown" (no audit data for it); present with 0: it read nobody.
struct Usage {
  std::string window;  // e.g. "2025-09-01..2025-09-30", echoed in the report
  // Account id -> number of distinct people it opened in the window.
  std::unordered_map<int64_t, int64_t> people_read;
  // Account id -> distinct people shown to it in listing / search pages and
  // not opened in the window. Absent = 0.
  std::unordered_map<int64_t, int64_t> people_listed;
  // Account id -> the distinct people it opened, sorted. Optional: when
  // present the analysis counts how many of them are still within today's
  // reach (the narrowing keeps exactly those); when absent it assumes all.
  std::unordered_map<int64_t, std::vector<PersonId>> opened;
};

enum class ReadKind { kOpened, kListed };
// The kind of one audit `read` entry, from its `details.kind` ("" if absent).
ReadKind ClassifyRead(std::string_view details_kind);

class UsageBuilder {
 public:
  explicit UsageBuilder(std::string window) { usage_.window = std::move(window); }

  // Makes `account`'s usage known (0 until reads are added): call it for
  // every account the log covers, so that "read nobody" is not "unknown".
  void AddAccount(AccountId account);
  // One `read` entry of `account` releasing `persons`. The caller has already
  // restricted entries to the window.
  void AddRead(AccountId account, ReadKind kind, std::span<const PersonId> persons);

  Usage Finish() &&;

 private:
  struct Seen {
    std::unordered_set<int64_t> opened, listed;
  };
  Usage usage_;
  std::unordered_map<int64_t, Seen> seen_;
};

}  // namespace cloison::exposure
