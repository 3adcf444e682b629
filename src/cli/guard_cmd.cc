// `cloison guard alerts [--json] [--since DATE] [--account USERNAME]`: the
// guard's alerts from the audit log, without a running server.
//
// Every verdict of the guard at or above "alert" (alert, step_up, throttle,
// suspend) is a `guard_action` entry of the audit log (access::Gate writes
// it with the explanation, score and signals). This command reads
// DATA/audit/entries.log directly, without the log's lock, so it also works
// next to a running server (which holds the lock); entries being written
// at that moment may be missed. Like the guard's own list (GET /v1/alerts),
// repeated verdicts of the same action for the same account within one
// window (10 minutes) are folded into the first: `repeats`, `last_time`,
// and the highest score with its explanation.
//
// Output, in log order: one line per alert
//   2025-10-09T08:53:20Z  jean.dupont (1001)  suspend  score 10.40  <explanation>  [+3 until 2025-10-09T08:55:02Z]
// or with --json one JSON object per line (JSON Lines):
//   {"audit_index":..,"time":"..","last_time":"..","account_id":..,"username":"..","action":"..",
//    "score":..,"explanation":"..","signals":[..],"repeats":..,"context":".."}
// Exit codes: 0 (also when there is no alert), 2 bad --since or unknown
// --account, 3 no audit log or store, or a read error.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/guard_support.h"
#include "audit/event.h"
#include "audit/file.h"
#include "audit/record.h"
#include "cli/common.h"
#include "cli/context.h"
#include "core/strings.h"
#include "guard/guard.h"
#include "iam/repository.h"

namespace cloison::cli {

namespace {

constexpr int64_t kFoldMicros = 600LL * 1'000'000;  // the guard's window (default)

struct AlertRow {
  uint64_t index = 0;  // audit leaf index of the first verdict
  UnixMicros time = 0, last_time = 0;
  AccountId account;
  guard::Action action = guard::Action::kAlert;
  double score = 0;
  std::string explanation, context;
  std::vector<std::string> signals;
  uint64_t repeats = 0;
};

std::string Iso(UnixMicros t) {
  std::time_t s = static_cast<std::time_t>(t / 1'000'000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

struct ReadOutcome {
  std::vector<AlertRow> alerts;
  uint64_t entries = 0;
  std::optional<uint64_t> stopped_at;  // byte offset of an unreadable frame
};

// Reads every guard_action entry >= alert, folding repeats.
StatusOr<ReadOutcome> ReadAlerts(const std::string& audit_dir) {
  audit::FileSystem& fs = audit::FileSystem::Default();
  const std::string path = audit_dir + "/entries.log";
  if (!fs.Exists(path)) return NotFound(StrCat("no audit log in ", audit_dir));
  CLOISON_ASSIGN_OR_RETURN(auto file, fs.Open(path, false));
  std::vector<uint8_t> magic(audit::kFileHeaderSize);
  size_t got = 0;
  CLOISON_RETURN_IF_ERROR(file->ReadAt(0, magic, &got));
  const std::string_view header(reinterpret_cast<const char*>(magic.data()), got);
  const bool tagged = header == audit::kEntriesMagic;  // format 2: payload = leaf || tag
  if (got != magic.size() || (!tagged && header != audit::kEntriesMagicV1))
    return Corruption(StrCat(path, " is not a Cloison audit log"));
  ReadOutcome out;
  std::map<int64_t, size_t> last;  // account -> index in out.alerts of its latest alert
  audit::FrameReader reader(*file, audit::kFileHeaderSize);
  for (uint64_t index = 0;; ++index) {
    std::string_view payload;
    uint64_t offset = 0;
    StatusOr<bool> more = reader.Next(&payload, &offset);
    if (!more.ok()) {
      out.stopped_at = reader.offset();
      break;
    }
    if (!*more) break;
    ++out.entries;
    if (tagged) {
      std::span<const uint8_t> tag;
      std::string_view leaf;
      if (!audit::SplitTaggedPayload(payload, &leaf, &tag)) continue;
      payload = leaf;
    }
    StatusOr<audit::Event> e = audit::DecodeEvent(payload);
    if (!e.ok() || e->kind != audit::EventKind::kGuardAction) continue;
    std::optional<guard::Action> action = guard::ParseAction(e->decision);
    if (!action || *action < guard::Action::kAlert) continue;  // record, or a quota refusal ("deny")
    double score = 0;
    if (auto it = e->details.find("score"); it != e->details.end()) score = std::strtod(it->second.c_str(), nullptr);
    auto prev = last.find(e->account.value());
    if (prev != last.end()) {
      AlertRow& a = out.alerts[prev->second];
      if (a.action == *action && e->time - a.last_time <= kFoldMicros) {
        ++a.repeats;
        a.last_time = std::max(a.last_time, e->time);
        if (score > a.score) {
          a.score = score;
          a.explanation = e->reason;
        }
        continue;
      }
    }
    AlertRow a;
    a.index = index;
    a.time = a.last_time = e->time;
    a.account = e->account;
    a.action = *action;
    a.score = score;
    a.explanation = e->reason;
    if (auto it = e->details.find("signals"); it != e->details.end()) a.signals = SplitComma(it->second);
    if (auto it = e->details.find("context"); it != e->details.end()) a.context = it->second;
    last[a.account.value()] = out.alerts.size();
    out.alerts.push_back(std::move(a));
  }
  return out;
}

struct AlertsArgs {
  bool json = false;
  std::string since;
  std::string account;
};

void RunAlerts(Context& ctx, const AlertsArgs& args) {
  auto fail = [&](const Status& s) { Fail(ctx, "guard alerts", s); };
  UnixMicros since = 0;
  if (!args.since.empty()) {
    auto t = api::ParseIsoTime(args.since);
    if (!t)
      return fail(InvalidArgument(
          "--since must be a date or a UTC time in ISO 8601, e.g. 2025-10-09 or 2025-10-09T12:00:00Z"));
    since = *t;
  }
  // Usernames come from iam's tables (no master key needed: nothing secret
  // is read). Never create a database where there is none.
  if (!audit::FileSystem::Default().Exists(ctx.db_path()))
    return fail(IOError(StrCat("no store in ", ctx.data_dir, " (", ctx.db_path(), ")")));
  auto repo = iam::OpenSqliteAccountRepository(ctx.db_path());
  if (!repo.ok()) return fail(repo.status());
  auto accounts = (*repo)->ListAccounts();
  if (!accounts.ok()) return fail(accounts.status());
  std::map<int64_t, std::string> names;
  for (const iam::Account& a : *accounts) names[a.id.value()] = a.username;
  std::optional<AccountId> only;
  if (!args.account.empty()) {
    std::string wanted = args.account;  // iam keeps usernames lower-case
    for (char& ch : wanted) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (const iam::Account& a : *accounts)
      if (a.username == wanted) only = a.id;
    if (!only) return fail(InvalidArgument(StrCat("no account named '", args.account, "'")));
  }

  auto read = ReadAlerts(ctx.audit_dir());
  if (!read.ok()) {
    Fail(ctx, "guard alerts", read.status());
    if (read.status().code() == absl::StatusCode::kNotFound) ctx.exit_code = 3;  // no log: the environment
    return;
  }
  if (read->stopped_at)
    *ctx.err << "cloison: guard alerts: stopped at an unreadable entry at byte " << *read->stopped_at
             << " of the audit log (a write in progress, or damage: see cloison audit verify)\n";
  int64_t shown = 0;
  for (const AlertRow& a : read->alerts) {
    if (only && a.account != *only) continue;
    if (std::max(a.time, a.last_time) < since) continue;
    ++shown;
    auto it = names.find(a.account.value());
    const std::string user = it == names.end() ? std::string() : it->second;
    if (args.json) {
      nlohmann::json j = {{"audit_index", a.index},
                          {"time", Iso(a.time)},
                          {"last_time", Iso(a.last_time)},
                          {"account_id", a.account.value()},
                          {"username", user.empty() ? nlohmann::json(nullptr) : nlohmann::json(user)},
                          {"action", std::string(guard::ActionName(a.action))},
                          {"score", std::round(a.score * 100) / 100},
                          {"explanation", a.explanation},
                          {"signals", a.signals},
                          {"repeats", a.repeats},
                          {"context", a.context}};
      *ctx.out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      continue;
    }
    char score[32];
    std::snprintf(score, sizeof score, "%.2f", a.score);
    *ctx.out << Iso(a.time) << "  " << (user.empty() ? "?" : user) << " (" << a.account.value() << ")  "
             << guard::ActionName(a.action) << "  score " << score << "  " << a.explanation;
    if (a.repeats > 0) *ctx.out << "  [+" << a.repeats << " until " << Iso(a.last_time) << "]";
    *ctx.out << "\n";
  }
  if (!args.json && shown == 0)
    *ctx.out << "no guard alerts" << (only || since > 0 ? " matching" : "") << " in "
             << Thousands(static_cast<int64_t>(read->entries)) << " audit entries\n";
}

}  // namespace

void AddGuardCommands(CLI::App& app, Context& ctx) {
  auto* g = app.add_subcommand("guard", "The guard: inline detection of data extraction (docs/guard.md)");
  g->require_subcommand(1);
  auto args = std::make_shared<AlertsArgs>();
  auto* al = g->add_subcommand("alerts", "The guard's alerts, from the audit log (works without a running server)");
  al->add_flag("--json", args->json, "One JSON object per line (JSON Lines)");
  al->add_option("--since", args->since, "Only alerts at or after this date or UTC time (2025-10-09, 2025-10-09T12:00:00Z)");
  al->add_option("--account", args->account, "Only this account (username)");
  al->callback([&ctx, args] { RunAlerts(ctx, *args); });
}

}  // namespace cloison::cli
