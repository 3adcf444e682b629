// cloison policy check | explain
#include "cli/policy_cmd.h"

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"
#include "core/strings.h"
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

Date LocalToday() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  return Date{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

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
  Date today = LocalToday();
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
  CLOISON_ASSIGN_OR_RETURN(std::optional<AccountId> id, store->FindAgentByUsername(a.account));
  if (!id) return NotFound(StrCat("no agent account '", a.account, "'"));
  if (!a.approved_by.empty()) {
    CLOISON_ASSIGN_OR_RETURN(std::optional<AccountId> approver, store->FindAgentByUsername(a.approved_by));
    if (!approver) return NotFound(StrCat("no agent account '", a.approved_by, "' (--approved-by)"));
    reveal.approved_by = *approver;
  }
  CLOISON_ASSIGN_OR_RETURN(std::vector<Agent> agents, store->ListAgents());
  const Agent* agent = nullptr;
  for (const Agent& ag : agents)
    if (ag.id == *id) agent = &ag;
  if (!agent) return NotFound(StrCat("agent account '", a.account, "' vanished while reading"));

  policy::Principal who;
  who.account = agent->id;
  who.kind = policy::AccountKind::kHuman;
  who.roles = agent->roles;
  who.structure = agent->structure;
  who.probation = a.probation;

  CLOISON_ASSIGN_OR_RETURN(auto index, policy::RelationIndex::Build(*store));
  const policy::Engine engine(*pol, *index);
  const bool any_reveal = !reveal.fields.empty() || !reveal.justification.empty() || reveal.approved_by.valid();
  const policy::Decision d = engine.Decide(who, PersonId(a.person), *purpose, today, any_reveal ? &reveal : nullptr);
  std::string roles;
  for (Role r : agent->roles) roles += (roles.empty() ? "" : ",") + std::string(RoleName(r));
  *ctx.out << "account " << agent->username << " (id " << agent->id.value() << ", roles " << (roles.empty() ? "-" : roles)
           << "), date " << today.ToString() << ", policy " << pol->source() << "\n"
           << engine.Explain(d);
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
  e->add_option("--account", ex->account, "Agent username (the reader)")->required();
  e->add_option("--person", ex->person, "Person id")->required();
  e->add_option("--purpose", ex->purpose, "Declared purpose, e.g. accompaniment")->required();
  e->add_option("--policy", ex->policy_file, "Policy file (default: the compiled-in config/policy.toml)");
  e->add_option("--date", ex->date, "Decide as of this date, YYYY-MM-DD (default: today)");
  e->add_option("--reveal", ex->reveal, "Reveal-only fields to ask for, e.g. nir")->delimiter(',');
  e->add_option("--justification", ex->justification, "Written justification (reveal, break-glass)");
  e->add_option("--approved-by", ex->approved_by, "Username of the second account (dual control)");
  e->add_flag("--probation", ex->probation, "Treat the account as on probation");
  e->callback([&ctx, ex] {
    bool allowed = false;
    Status s = Explain(ctx, *ex, allowed);
    if (!s.ok()) return Fail(ctx, "policy explain", s);
    ctx.exit_code = allowed ? 0 : 1;
  });
}

}  // namespace cloison::cli
