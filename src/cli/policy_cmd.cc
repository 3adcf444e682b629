// cloison policy check | explain
#include "cli/policy_cmd.h"

#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"
#include "core/strings.h"
#include "iam/account.h"
#include "iam/policy_principal.h"
#include "iam/repository.h"
#include "policy/engine.h"
#include "policy/policy.h"
#include "policy/relation_index.h"

namespace cloison::cli {

namespace {

struct CheckArgs {
  std::string file;
};

void RunCheck(Context& ctx, const CheckArgs& a) {
  auto p = policy::Policy::LoadFile(a.file);
  if (!p.ok()) {
    // The message already reads "FILE:LINE: problem" (editors jump to it).
    *ctx.err << MessageOf(p.status()) << "\n";
    ctx.exit_code = ExitCodeFor(p.status());
    return;
  }
  int roles = 0;
  for (Role r : {Role::kCounsellor, Role::kAccessManager, Role::kSecurityOfficer, Role::kDpo, Role::kPartnerUser,
                 Role::kAuditor})
    roles += p->role(r).defined ? 1 : 0;
  *ctx.out << a.file << ": ok (" << p->purposes().size() << " purposes, " << roles << " roles, " << p->rules().size()
           << " rules; field catalog of " << p->catalog().size() << " fields)\n";
}

struct ExplainArgs {
  std::string account;
  int64_t person = 0;
  std::string purpose;
  std::string policy_file;
  std::string date;
  std::vector<std::string> reveal;
  std::string justification;
  std::string approved_by;
  bool probation = false;
};

// The reader as iam knows it. iam is authoritative (roles as granted,
// status, probation, technical accounts and their integration purpose); a
// store agent without an iam account yet is what `cloison account
// import-agents` would make of it — active, out of probation, the agent's
// roles — exactly as `cloison exposure` treats it.
struct Reader {
  iam::Account account;
  bool directory_only = false;
};

StatusOr<std::optional<Reader>> FindReader(iam::AccountRepository& repo, store::Store& store,
                                           std::string_view username) {
  CLOISON_ASSIGN_OR_RETURN(std::optional<iam::Account> acc, repo.FindAccountByUsername(username));
  if (acc) return std::optional<Reader>(Reader{std::move(*acc), false});
  CLOISON_ASSIGN_OR_RETURN(std::optional<AccountId> id, store.FindAgentByUsername(username));
  if (!id) return std::optional<Reader>();
  CLOISON_ASSIGN_OR_RETURN(std::vector<Agent> agents, store.ListAgents());
  for (const Agent& ag : agents) {
    if (ag.id != *id) continue;
    Reader r;
    r.directory_only = true;
    r.account.id = ag.id;
    r.account.kind = iam::AccountKind::kHuman;
    r.account.structure = ag.structure;
    r.account.username = ag.username;
    r.account.roles = ag.roles;
    r.account.status = iam::AccountStatus::kActive;
    return std::optional<Reader>(std::move(r));
  }
  return std::optional<Reader>();
}

std::string RolesText(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) out += (out.empty() ? "" : ",") + std::string(RoleName(r));
  return out.empty() ? "-" : out;
}

std::string DayOf(UnixMicros t) { return Date::FromDays(t / 1'000'000 / 86400).ToString(); }

Status Explain(Context& ctx, const ExplainArgs& a, bool& allowed) {
  std::unique_ptr<policy::Policy> loaded;
  const policy::Policy* pol = &policy::Policy::Default();
  if (!a.policy_file.empty()) {
    CLOISON_ASSIGN_OR_RETURN(policy::Policy p, policy::Policy::LoadFile(a.policy_file));
    loaded = std::make_unique<policy::Policy>(std::move(p));
    pol = loaded.get();
  }
  auto purpose = pol->FindPurpose(a.purpose);
  if (!purpose) {
    std::string known;
    for (const auto& p : pol->purposes()) known += (known.empty() ? "" : ", ") + p.name;
    return InvalidArgument(StrCat("unknown purpose '", a.purpose, "' (purposes: ", known, ")"));
  }
  const UnixMicros now = ctx.clock->NowMicros();
  // UTC, like the API (docs/api.md): explain answers what the server decides.
  Date today = Date::FromDays(now / 1'000'000 / 86400);
  if (!a.date.empty()) {
    auto d = Date::Parse(a.date);
    if (!d) return InvalidArgument(StrCat("--date '", a.date, "' is not YYYY-MM-DD"));
    today = *d;
  }
  policy::RevealRequest reveal;
  std::vector<std::string> reveal_names = a.reveal;
  auto fields = pol->FieldsNamed(reveal_names);
  if (!fields.ok()) return InvalidArgument(StrCat("--reveal: ", MessageOf(fields.status())));
  reveal.fields = *fields;
  reveal.justification = a.justification;

  CLOISON_ASSIGN_OR_RETURN(auto store, OpenStore(ctx));
  // Read-only use of iam's tables (in the store's database file; opening
  // creates them if this store never had an account).
  CLOISON_ASSIGN_OR_RETURN(auto repo, iam::OpenSqliteAccountRepository(ctx.db_path()));
  CLOISON_ASSIGN_OR_RETURN(std::optional<Reader> reader, FindReader(*repo, *store, a.account));
  if (!reader)
    return NotFound(StrCat("no account '", a.account, "' (neither an iam account nor a store agent)"));
  if (!a.approved_by.empty()) {
    CLOISON_ASSIGN_OR_RETURN(std::optional<Reader> approver, FindReader(*repo, *store, a.approved_by));
    if (!approver) return NotFound(StrCat("no account '", a.approved_by, "' (--approved-by)"));
    reveal.approved_by = approver->account.id;
  }
  const iam::Account& acc = reader->account;
  const bool technical = acc.kind == iam::AccountKind::kTechnical;
  const bool iam_probation = !reader->directory_only && acc.InProbation(now);

  *ctx.out << "account " << acc.username << " (id " << acc.id.value() << ", "
           << (reader->directory_only ? "store agent, no iam account yet: treated as imported, active"
                                      : StrCat("iam, ", iam::AccountKindName(acc.kind), ", ",
                                               iam::AccountStatusName(acc.status)));
  if (technical)
    *ctx.out << ", integration purpose " << (acc.technical.purpose.empty() ? "-" : acc.technical.purpose)
             << ", expires " << DayOf(acc.technical.expires_at);
  else
    *ctx.out << ", roles " << RolesText(acc.roles);
  if (iam_probation) *ctx.out << ", probation until " << DayOf(acc.probation_until);
  else if (a.probation) *ctx.out << ", probation forced by --probation";
  *ctx.out << "), date " << today.ToString() << ", policy " << pol->source() << "\n";

  // An account that cannot authenticate reads nothing, whatever the rules
  // would say; the policy is not consulted (as on the API's read path).
  const bool expired = technical && now >= acc.technical.expires_at;
  if (acc.status != iam::AccountStatus::kActive || expired) {
    const std::string why = acc.status == iam::AccountStatus::kActive ? std::string("expired")
                                                                       : std::string(iam::AccountStatusName(acc.status));
    *ctx.out << "DENIED  account " << acc.id.value() << ", person " << a.person << ", purpose " << a.purpose << "\n"
             << "  reason:   the account cannot authenticate (" << why << "): it reads nobody [" << why << "]\n";
    allowed = false;
    return OkStatus();
  }

  policy::Principal who = iam::ToPolicyPrincipal(acc, now);
  who.probation = iam_probation || a.probation;  // --probation can only add it (what-if)

  CLOISON_ASSIGN_OR_RETURN(auto index, policy::RelationIndex::Build(*store));
  const policy::Engine engine(*pol, *index);
  const bool any_reveal = !reveal.fields.empty() || !reveal.justification.empty() || reveal.approved_by.valid();
  const policy::Decision d = engine.Decide(who, PersonId(a.person), *purpose, today, any_reveal ? &reveal : nullptr);
  *ctx.out << engine.Explain(d);
  allowed = d.allowed;
  return OkStatus();
}

}  // namespace

void AddPolicyCommands(CLI::App& app, Context& ctx) {
  CLI::App* policy = app.add_subcommand("policy", "Check an access policy file, explain an access decision");
  policy->require_subcommand(1);

  auto check = std::make_shared<CheckArgs>();
  CLI::App* c = policy->add_subcommand("check", "Validate a policy file (exit 2 with FILE:LINE: problem)");
  c->add_option("FILE", check->file, "Policy file (TOML), e.g. config/policy.toml")->required();
  c->callback([&ctx, check] { RunCheck(ctx, *check); });

  auto ex = std::make_shared<ExplainArgs>();
  CLI::App* e = policy->add_subcommand("explain", "Decide one read and print the rule and relation path, or why not");
  e->add_option("--account", ex->account,
                "Username of the reader: an iam account (human or technical; its roles, status, probation and "
                "purpose are iam's), else a store agent not imported yet")
      ->required();
  e->add_option("--person", ex->person, "Person id")->required();
  e->add_option("--purpose", ex->purpose, "Declared purpose, e.g. accompaniment")->required();
  e->add_option("--policy", ex->policy_file, "Policy file (default: the compiled-in config/policy.toml)");
  e->add_option("--date", ex->date, "Decide as of this date, YYYY-MM-DD (default: today, UTC, as the API)");
  e->add_option("--reveal", ex->reveal, "Reveal-only fields to ask for, e.g. nir")->delimiter(',');
  e->add_option("--justification", ex->justification, "Written justification (reveal, break-glass)");
  e->add_option("--approved-by", ex->approved_by, "Username of the second account (dual control)");
  e->add_flag("--probation", ex->probation,
              "What-if: treat the account as on probation even if iam says it is not (iam's probation always applies)");
  e->callback([&ctx, ex] {
    bool allowed = false;
    Status s = Explain(ctx, *ex, allowed);
    if (!s.ok()) return Fail(ctx, "policy explain", s);
    ctx.exit_code = allowed ? 0 : 1;
  });
}

}  // namespace cloison::cli
