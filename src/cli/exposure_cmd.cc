// cloison exposure
#include "cli/exposure_cmd.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/log.h"
#include "audit/query_index.h"
#include "cli/common.h"
#include "core/clock.h"
#include "core/strings.h"
#include "exposure/audit_usage.h"
#include "exposure/exposure.h"
#include "exposure/report_json.h"
#include "iam/repository.h"
#include "policy/policy.h"
#include "policy/relation_index.h"

namespace cloison::cli {

namespace {

struct ExposureArgs {
  bool json = false;
  int64_t top = -1;
  std::string account;
  std::string date;
  std::string policy_file;
  int64_t window_days = 30;
};

// What `used` rests on, for the report's header line.
struct UsageSource {
  std::optional<exposure::Usage> usage;
  std::string note;   // why there is none, or where it comes from
  bool busy = false;  // the log exists but another process holds it
};

// The audit log of the data directory, read for the usage window. Missing
// log or a log held by a running server: no usage (the report still stands
// on reachability) and a note saying why; any other failure is an error.
StatusOr<UsageSource> LoadUsage(const Context& ctx, const std::vector<exposure::AccountInput>& in, Date today,
                                int64_t days, UnixMicros now) {
  UsageSource out;
  if (days == 0) {
    out.note = "usage not read (--window 0)";
    return out;
  }
  if (!std::filesystem::exists(ctx.audit_dir() + "/entries.log")) {
    out.note = StrCat("no audit log in ", ctx.audit_dir(), ": used unknown");
    return out;
  }
  audit::LogOptions o;  // read side: never sign a checkpoint as a side effect
  o.create_if_missing = false;
  o.checkpoint_on_open = false;
  o.checkpoint_on_close = false;
  o.checkpoint_every_entries = 0;
  o.checkpoint_every_micros = 0;
  auto log = audit::AuditLog::Open(ctx.audit_dir(), o);
  if (!log.ok()) {
    if (log.status().code() == absl::StatusCode::kFailedPrecondition) {
      // One process holds the log (its LOCK): normally the server. It has
      // the same report with usage: GET /v1/exposure.
      out.note = StrCat("audit log busy (", MessageOf(log.status()),
                        "; a running server? ask it: GET /v1/exposure): used unknown");
      out.busy = true;
      return out;
    }
    return log.status();
  }
  CLOISON_ASSIGN_OR_RETURN(auto index, audit::QueryIndex::Open(ctx.audit_dir() + "/index.db"));
  CLOISON_ASSIGN_OR_RETURN(exposure::Usage u,
                           exposure::UsageFromAuditLog(**log, *index, in, exposure::UsageWindowEnding(today, days, now)));
  out.note = StrCat("used: distinct people opened over ", u.window, " (", days, " days; listings apart), from ",
                    ctx.audit_dir());
  out.usage = std::move(u);
  CLOISON_RETURN_IF_ERROR((*log)->Close());
  return out;
}

std::string UsedCell(const exposure::AccountExposure& e) {
  if (!e.used_people) return e.directory_only ? "- (not in iam)" : "unknown (no audit data)";
  std::string s = Thousands(*e.used_people);
  if (e.listed_people && *e.listed_people > 0) s += StrCat(" (+", Thousands(*e.listed_people), " listed)");
  return s;
}

std::string Roles(const exposure::AccountExposure& e, const std::map<int64_t, std::string>& purposes) {
  if (e.kind == iam::AccountKind::kTechnical) {
    auto it = purposes.find(e.account.value());
    return it == purposes.end() || it->second.empty() ? "-" : StrCat("purpose ", it->second);
  }
  std::string out;
  for (Role r : e.roles) out += (out.empty() ? "" : ",") + std::string(RoleName(r));
  return out.empty() ? "-" : out;
}

std::string KindCell(const exposure::AccountExposure& e) {
  std::string k(iam::AccountKindName(e.kind));
  if (e.status != iam::AccountStatus::kActive) k += StrCat(" (", iam::AccountStatusName(e.status), ")");
  else if (!e.can_authenticate) k += " (expired)";
  if (e.probation) k += " (probation)";
  if (e.directory_only) k += " (store only)";
  return k;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

void PrintTable(std::ostream& out, const std::vector<std::pair<int64_t, const exposure::AccountExposure*>>& rows,
                const std::map<int64_t, std::string>& purposes) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"rank", "account", "kind", "structure", "roles", "direct people", "categories", "indirect alone",
                   "with one approver", "used", "narrowing"});
  for (const auto& [rank, e] : rows) {
    std::string direct = Thousands(e->direct_people);
    if (e->second_approver_people > 0) direct += StrCat(" (+", Thousands(e->second_approver_people), " bg)");
    std::string alone = Thousands(e->indirect_alone_people);
    if (e->indirect_alone_after_probation_people > 0)
      alone += StrCat(" (", Thousands(e->indirect_alone_after_probation_people), " after probation)");
    std::string approver = Thousands(e->with_one_approver_people);
    if (!e->with_one_approver.empty()) approver += StrCat(" via ", e->with_one_approver);
    std::vector<std::string> cats;
    for (const auto& c : e->categories) cats.push_back(c == "nir (reveal-only)" ? "nir(reveal)" : c);
    cells.push_back({std::to_string(rank), e->username, KindCell(*e), e->structure_code, Roles(*e, purposes), direct,
                     cats.empty() ? "-" : Join(cats, ","), alone, approver, UsedCell(*e), e->narrowing});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells)
    for (size_t i = 0; i + 1 < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

Status Run(Context& ctx, const ExposureArgs& a) {
  std::unique_ptr<policy::Policy> loaded;
  const policy::Policy* pol = &policy::Policy::Default();
  if (!a.policy_file.empty()) {
    CLOISON_ASSIGN_OR_RETURN(policy::Policy p, policy::Policy::LoadFile(a.policy_file));
    loaded = std::make_unique<policy::Policy>(std::move(p));
    pol = loaded.get();
  }
  const UnixMicros now = ctx.clock->NowMicros();
  // UTC, like the API's GET /v1/exposure.
  Date today = Date::FromDays(now / (86400LL * 1'000'000));
  if (!a.date.empty()) {
    auto d = Date::Parse(a.date);
    if (!d) return InvalidArgument(StrCat("--date '", a.date, "' is not YYYY-MM-DD"));
    today = *d;
  }
  CLOISON_ASSIGN_OR_RETURN(auto store, OpenStore(ctx));
  CLOISON_ASSIGN_OR_RETURN(auto index, policy::RelationIndex::Build(*store));
  CLOISON_ASSIGN_OR_RETURN(std::vector<Agent> agents, store->ListAgents());
  CLOISON_ASSIGN_OR_RETURN(auto repo, iam::OpenSqliteAccountRepository(ctx.db_path()));
  CLOISON_ASSIGN_OR_RETURN(std::vector<iam::Account> accounts, repo->ListAccounts());

  // iam is authoritative; store agents without an iam account yet are what
  // `account import-agents` would make of them: active, no probation.
  std::vector<exposure::AccountInput> in = exposure::InputsFrom(std::move(accounts), agents);
  const std::map<int64_t, std::string> purposes = exposure::TechnicalPurposes(in);

  // Usage costs one read per audit entry in the window: with --account, only
  // that account's entries are read (ranks do not depend on usage).
  std::vector<exposure::AccountInput> wanted;
  if (!a.account.empty())
    for (const auto& i : in)
      if (i.account.username == a.account) wanted.push_back(i);
  CLOISON_ASSIGN_OR_RETURN(UsageSource usage,
                           LoadUsage(ctx, a.account.empty() ? in : wanted, today, a.window_days, now));

  exposure::Options opts;
  opts.now = now;
  opts.today = today;
  opts.usage = usage.usage ? &*usage.usage : nullptr;
  CLOISON_ASSIGN_OR_RETURN(exposure::Report report, exposure::Analyse(*pol, *index, in, opts));

  std::vector<std::pair<int64_t, const exposure::AccountExposure*>> rows;
  for (size_t i = 0; i < report.accounts.size(); ++i)
    if (a.account.empty() || report.accounts[i].username == a.account)
      rows.push_back({static_cast<int64_t>(i) + 1, &report.accounts[i]});
  if (!a.account.empty() && rows.empty()) return NotFound(StrCat("no account '", a.account, "'"));
  const int64_t top = a.top >= 0 ? a.top : (a.json ? -1 : 20);
  if (top >= 0 && static_cast<int64_t>(rows.size()) > top) rows.resize(static_cast<size_t>(top));

  if (a.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [rank, e] : rows) arr.push_back(exposure::AccountJson(*e, rank, purposes, report.usage_window));
    *ctx.out << arr.dump(2) << "\n";
    // The array is the contract. No audit log (or --window 0) is what
    // `used_people: null` already says; a log that exists but could not be
    // read is worth a line on stderr.
    if (usage.busy) *ctx.err << "cloison: exposure: " << usage.note << "\n";
    return OkStatus();
  }
  *ctx.out << "exposure as of " << today.ToString() << ", policy " << pol->source() << ": "
           << Thousands(report.people_total) << " people, " << report.accounts.size() << " accounts (" << rows.size()
           << " shown, ranked by people reachable alone)\n"
           << usage.note << "\n\n";
  PrintTable(*ctx.out, rows, purposes);
  *ctx.out << "\ndirect: people its rules reach today (bg: break-glass, only with a second approver per read);"
              " indirect alone: through accounts it can create by itself (in probation they read only their\n"
              "referent caseload, empty at creation; 'after probation': if nobody reviews the accounts it created"
              " within 14 days); with one approver: what an independent security officer colluding would open.\n"
              "used: people whose record it opened in the window (listed: only seen in list/search pages); narrowing:"
              " what least privilege would take out of its direct reach.\n";
  return OkStatus();
}

}  // namespace

void AddExposureCommands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ExposureArgs>();
  CLI::App* c = app.add_subcommand("exposure", "Who could reach whom: accounts ranked by blast radius");
  c->add_flag("--json", args->json, "JSON array instead of a table");
  c->add_option("--top", args->top, "Show only the N first accounts (table default 20)");
  c->add_option("--account", args->account, "Only this account (username)");
  c->add_option("--date", args->date,
                "Orientation windows (and the usage window's end) as of this date, YYYY-MM-DD (default: today, UTC)");
  c->add_option("--policy", args->policy_file, "Policy file (default: the compiled-in config/policy.toml)");
  c->add_option("--window", args->window_days,
                "Usage window in days ending with --date, read from the audit log (0: do not read it)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{3660}));
  c->callback([&ctx, args] {
    Status s = Run(ctx, *args);
    if (!s.ok()) Fail(ctx, "exposure", s);
  });
}

}  // namespace cloison::cli
