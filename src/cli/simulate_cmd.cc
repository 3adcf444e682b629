// cloison simulate [--json] [--scenario FILE]... [--days N] [--agents N] [--seed S] [--policy FILE]
//
// Runs a month of synthetic normal traffic through the real read path
// (access::Gate + guard::Guard, in-process, simulated clock), then each attack
// scenario mixed into it, and prints per scenario the records released
// before containment, the seconds from the first malicious access to
// containment and the alerts, then the false alerts of the normal traffic.
// Exit 0 whether or not the goals are met (they are printed); 2 on bad input.
#include "cli/simulate_cmd.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "core/strings.h"
#include "guard/guard.h"
#include "policy/policy.h"
#include "sim/scenario.h"
#include "sim/traffic.h"

namespace cloison::cli {

namespace {

// Goals of the guard's issue.
constexpr int64_t kMaxRecordsReleased = 50;
constexpr double kMaxFalseAlertsPer1000 = 1.0;

struct SimulateArgs {
  bool json = false;
  std::vector<std::string> scenarios;
  int days = 30;
  int warmup = 7;
  int honeytokens = 3;
  int64_t agents = 2000;
  uint64_t seed = 2025;
  std::string policy_file;
};

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

Status Run(Context& ctx, const SimulateArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  // Policy (and the guard's thresholds from its [guard] section).
  std::optional<policy::Policy> own_policy;
  const policy::Policy* policy = &policy::Policy::Default();
  std::string policy_text, policy_source = "config/policy.toml";
  guard::GuardConfig guard_config = guard::GuardConfig::Default();
  if (!a.policy_file.empty()) {
    std::ifstream in(a.policy_file, std::ios::binary);
    if (!in) return NotFound(StrCat(a.policy_file, ": cannot open policy file"));
    std::stringstream ss;
    ss << in.rdbuf();
    policy_text = ss.str();
    policy_source = a.policy_file;
    CLOISON_ASSIGN_OR_RETURN(own_policy, policy::Policy::LoadFile(a.policy_file));
    policy = &*own_policy;
    CLOISON_ASSIGN_OR_RETURN(guard_config, guard::GuardConfig::FromPolicyText(policy_text, a.policy_file));
  }
  // Scenarios: the files given, else the compiled-in ones.
  std::vector<sim::Scenario> scenarios;
  if (!a.scenarios.empty()) {
    for (const std::string& f : a.scenarios) {
      CLOISON_ASSIGN_OR_RETURN(sim::Scenario s, sim::LoadScenarioFile(f));
      scenarios.push_back(std::move(s));
    }
  } else {
    for (const auto& b : sim::BuiltinScenarios()) {
      CLOISON_ASSIGN_OR_RETURN(sim::Scenario s, sim::ParseScenario(b.text, b.file));
      scenarios.push_back(std::move(s));
    }
  }

  sim::TrafficOptions opts;
  opts.agents = a.agents;
  opts.days = a.days;
  opts.seed = a.seed;
  opts.warmup_days = a.warmup;
  opts.honeytokens_per_structure = a.honeytokens;
  CLOISON_ASSIGN_OR_RETURN(auto world, sim::World::Generate(opts));
  sim::Simulator simulator(*world, *policy, policy_text, policy_source, guard_config);
  CLOISON_ASSIGN_OR_RETURN(sim::NormalResult normal, simulator.RunNormal());
  std::vector<sim::ScenarioResult> results;
  for (const auto& s : scenarios) {
    CLOISON_ASSIGN_OR_RETURN(sim::ScenarioResult r, simulator.RunScenario(s));
    results.push_back(std::move(r));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  auto met = [](const sim::ScenarioResult& r) { return r.contained && r.records_released <= kMaxRecordsReleased; };
  const bool alerts_met = normal.false_alerts_per_1000_agent_days <= kMaxFalseAlertsPer1000;
  const bool suspensions_met = normal.false_suspensions == 0;

  if (a.json) {
    nlohmann::json out;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : results) {
      nlohmann::json j;
      j["name"] = r.name;
      j["records_released"] = r.records_released;
      j["seconds_to_containment"] = r.seconds_to_containment;
      j["alerts"] = r.alerts;
      j["contained"] = r.contained;
      j["goal_met"] = met(r);
      j["people_listed"] = r.people_listed;
      j["reach"] = r.reach;
      j["attempts"] = r.attempts;
      j["refusals"] = r.refusals;
      j["attacker_accounts"] = r.attacker_accounts;
      j["attacker_accounts_suspended"] = r.suspended_accounts;
      j["attacker_structure"] = r.attacker_structure;
      j["day"] = r.day;
      j["seconds_to_first_alert"] = r.seconds_to_first_alert;
      j["first_alert"] = r.first_alert;
      j["signals"] = r.signals;
      j["other_accounts_suspended"] = r.other_accounts_suspended;
      list.push_back(std::move(j));
    }
    out["scenarios"] = std::move(list);
    out["agents"] = normal.agents;
    out["days"] = normal.days;
    out["false_alerts_per_1000_agent_days"] = normal.false_alerts_per_1000_agent_days;
    out["false_suspensions"] = normal.false_suspensions;
    *ctx.out << out.dump(2) << "\n";
    return OkStatus();
  }

  std::ostream& o = *ctx.out;
  o << "Cloison traffic simulation: " << Thousands(normal.agents) << " agents + "
    << Thousands(normal.technical_accounts) << " technical accounts, " << normal.days << " days from "
    << opts.start.ToString() << " (after " << a.warmup << " days of replayed history), seed " << a.seed
    << "\n\n";
  o << "Attack scenarios (goal: contained, at most " << kMaxRecordsReleased << " people's records released)\n";
  for (const auto& r : results) {
    o << "  " << r.name << "  (" << r.attacker_accounts << " account" << (r.attacker_accounts > 1 ? "s" : "")
      << " at " << r.attacker_structure << ", day " << r.day << ", " << Thousands(r.reach) << " people reachable)\n";
    o << "    records released before containment: " << Thousands(r.records_released);
    if (r.people_listed > 0) o << " (and " << Thousands(r.people_listed) << " names shown in listings/searches)";
    o << "\n";
    if (r.contained) {
      o << "    seconds from first malicious access to containment: " << Fixed(r.seconds_to_containment, 0) << "\n";
    } else {
      o << "    NOT contained; the attack ran " << Fixed(r.seconds_to_containment, 0) << " seconds\n";
    }
    o << "    alerts: " << r.alerts;
    if (r.alerts > 0) o << " (first after " << Fixed(r.seconds_to_first_alert, 0) << " s: " << r.first_alert << ")";
    o << "\n    goal " << (met(r) ? "met" : "NOT met") << "\n";
  }
  o << "\nNormal traffic\n";
  o << "  agents: " << Thousands(normal.agents) << " (+ " << Thousands(normal.technical_accounts)
    << " technical accounts), days: " << normal.days << ", accesses: " << Thousands(normal.accesses) << "\n";
  o << "  actionable false alerts per 1,000 agent-days: " << Fixed(normal.false_alerts_per_1000_agent_days, 2)
    << " (" << normal.false_alerts << " alerts; goal <= " << Fixed(kMaxFalseAlertsPer1000, 0) << ": "
    << (alerts_met ? "met" : "NOT met") << ")\n";
  o << "  false suspensions: " << normal.false_suspensions << " (goal 0: " << (suspensions_met ? "met" : "NOT met")
    << ")\n";
  for (const auto& s : normal.sample_alerts) o << "    e.g. " << s << "\n";
  o << "\nrun time: " << Fixed(seconds, 1) << " s\n";
  return OkStatus();
}

}  // namespace

void AddSimulateCommands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<SimulateArgs>();
  CLI::App* c = app.add_subcommand(
      "simulate", "Simulate a month of normal traffic and attack scenarios through the guard (docs/simulation.md)");
  c->add_flag("--json", args->json, "JSON object instead of text");
  c->add_option("--scenario", args->scenarios,
                "Attack scenario file (repeatable; default: every scenario shipped in scenarios/)");
  c->add_option("--days", args->days, "Simulated days")->capture_default_str()->check(CLI::Range(1, 366));
  c->add_option("--agents", args->agents, "Human agents in the synthetic network")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{20}, int64_t{200000}));
  c->add_option("--warmup", args->warmup,
                "Days of history replayed into the guard before the first measured day (0: cold start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 60));
  c->add_option("--honeytokens", args->honeytokens,
                "Decoy people per agency and mission locale (0: measure the guard without them)")
      ->capture_default_str()
      ->check(CLI::Range(0, 50));
  c->add_option("--seed", args->seed, "Seed (same seed, same run)")->capture_default_str();
  c->add_option("--policy", args->policy_file, "Policy file (default: the compiled-in config/policy.toml)");
  c->callback([&ctx, args] {
    Status s = Run(ctx, *args);
    if (!s.ok()) Fail(ctx, "simulate", s);
  });
}

}  // namespace cloison::cli
