#include "exposure/report_json.h"

#include <unordered_set>

#include "core/strings.h"

namespace cloison::exposure {

using nlohmann::json;

std::vector<AccountInput> InputsFrom(std::vector<iam::Account> accounts, const std::vector<Agent>& agents) {
  std::vector<AccountInput> in;
  in.reserve(accounts.size() + agents.size());
  std::unordered_set<int64_t> known;
  for (auto& acc : accounts) {
    known.insert(acc.id.value());
    in.push_back({std::move(acc), false});
  }
  for (const Agent& ag : agents) {
    if (known.count(ag.id.value())) continue;
    iam::Account acc;
    acc.id = ag.id;
    acc.kind = iam::AccountKind::kHuman;
    acc.structure = ag.structure;
    acc.username = ag.username;
    acc.display_name = StrCat(ag.prenom, " ", ag.nom);
    acc.roles = ag.roles;
    acc.status = iam::AccountStatus::kActive;
    in.push_back({std::move(acc), true});
  }
  return in;
}

std::map<int64_t, std::string> TechnicalPurposes(const std::vector<AccountInput>& inputs) {
  std::map<int64_t, std::string> out;
  for (const AccountInput& i : inputs)
    if (i.account.kind == iam::AccountKind::kTechnical) out[i.account.id.value()] = i.account.technical.purpose;
  return out;
}

json AccountJson(const AccountExposure& e, int64_t rank, const std::map<int64_t, std::string>& purposes,
                 std::string_view usage_window) {
  json j;
  j["rank"] = rank;
  j["account"] = e.username;
  j["account_id"] = e.account.value();
  j["kind"] = std::string(iam::AccountKindName(e.kind));
  j["status"] = std::string(iam::AccountStatusName(e.status));
  j["can_authenticate"] = e.can_authenticate;
  j["probation"] = e.probation;
  j["source"] = e.directory_only ? "store" : "iam";
  j["structure"] = e.structure_code;
  json roles = json::array();
  for (Role r : e.roles) roles.push_back(std::string(RoleName(r)));
  j["roles"] = roles;
  auto p = purposes.find(e.account.value());
  j["purpose"] = (e.kind == iam::AccountKind::kTechnical && p != purposes.end()) ? json(p->second) : json(nullptr);
  j["direct_people"] = e.direct_people;
  j["categories"] = e.categories;
  j["second_approver_people"] = e.second_approver_people;
  j["indirect_alone_people"] = e.indirect_alone_people;
  j["indirect_alone_after_probation_people"] = e.indirect_alone_after_probation_people;
  j["with_one_approver_people"] = e.with_one_approver_people;
  j["with_one_approver"] = e.with_one_approver.empty() ? json(nullptr) : json(e.with_one_approver);
  j["used_people"] = e.used_people ? json(*e.used_people) : json(nullptr);
  j["listed_people"] = e.listed_people ? json(*e.listed_people) : json(nullptr);
  j["used_outside_reach_people"] = e.used_outside_reach_people ? json(*e.used_outside_reach_people) : json(nullptr);
  j["usage_window"] = e.used_people && !usage_window.empty() ? json(usage_window) : json(nullptr);
  j["narrowing_people"] = e.narrowing_people;
  j["narrowing"] = e.narrowing;
  j["blast_radius"] = e.blast_radius;
  json rules = json::array();
  for (const auto& r : e.rules)
    rules.push_back({{"rule", r.rule},
                     {"purpose", r.purpose},
                     {"relation", std::string(policy::RelationName(r.relation))},
                     {"people", r.people},
                     {"second_approver", r.second_approver}});
  j["rules"] = rules;
  json paths = json::array();
  for (const auto& x : e.paths)
    paths.push_back({{"kind", std::string(PathKindName(x.kind))},
                     {"what", x.what},
                     {"alone", x.alone},
                     {"needs", x.needs.empty() ? json(nullptr) : json(x.needs)},
                     {"people", x.people},
                     {"people_after_probation", x.people_after_probation}});
  j["paths"] = paths;
  return j;
}

}  // namespace cloison::exposure
