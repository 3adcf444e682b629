#include "exposure/audit_usage.h"

#include <algorithm>
#include <limits>

#include "audit/event.h"
#include "core/date.h"
#include "core/strings.h"

namespace cloison::exposure {

namespace {
constexpr int64_t kDayUs = 86400LL * 1'000'000;
std::string DayOf(UnixMicros t) { return Date::FromDays(t / kDayUs).ToString(); }
}  // namespace

UsageWindow UsageWindowEnding(Date today, int64_t days, UnixMicros now) {
  const UnixMicros end_of_today = (today.ToDays() + 1) * kDayUs;
  UsageWindow w;
  w.to = std::min(now + 1, end_of_today);
  w.from = (today.ToDays() - std::max<int64_t>(days, 1) + 1) * kDayUs;
  if (w.to < w.from) w.to = w.from;
  return w;
}

StatusOr<Usage> UsageFromAuditLog(const audit::AuditLog& log, audit::QueryIndex& index,
                                            const std::vector<AccountInput>& accounts, UsageWindow w) {
  CLOISON_RETURN_IF_ERROR(index.CatchUp(log));
  std::string label = StrCat(DayOf(w.from), "..", DayOf(std::max(w.from, w.to - 1)));
  if (log.size() > 0) {
    // Entries are appended in time order, so the first one says where the
    // log's coverage starts; a window reaching earlier is partly blind.
    CLOISON_ASSIGN_OR_RETURN(std::string first, log.ReadEntry(0));
    auto e = audit::DecodeEvent(first);
    if (e.ok() && e->time > w.from) label += StrCat(" (log starts ", DayOf(e->time), ")");
  } else {
    label += " (empty log)";
  }
  UsageBuilder builder(std::move(label));
  // No page limit: an account's window is read whole (a month of a busy
  // counsellor is a few thousand entries).
  constexpr size_t kAll = static_cast<size_t>(std::numeric_limits<int64_t>::max());
  for (const AccountInput& in : accounts) {
    if (in.directory_only) continue;
    const AccountId id = in.account.id;
    builder.AddAccount(id);
    CLOISON_ASSIGN_OR_RETURN(std::vector<uint64_t> leaves, index.ByAccount(id, w.from, w.to, kAll));
    for (uint64_t leaf : leaves) {
      CLOISON_ASSIGN_OR_RETURN(std::string bytes, log.ReadEntry(leaf));
      auto e = audit::DecodeEvent(bytes);
      if (!e.ok()) continue;  // the index skips undecodable entries too
      if (e->kind != audit::EventKind::kRead || e->account != id) continue;
      auto kind = e->details.find("kind");
      builder.AddRead(id, ClassifyRead(kind == e->details.end() ? std::string_view() : kind->second),
                      e->persons);
    }
  }
  return std::move(builder).Finish();
}

}  // namespace cloison::exposure
