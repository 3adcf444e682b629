// The exposure report as JSON, shared by `cloison exposure --json` and
// `GET /v1/exposure` so that both print exactly the same keys per account
// (documented in docs/exposure.md, "JSON").
//
// Also the one place that turns iam's accounts plus the store's agents into
// the analysis input: iam is authoritative; an agent without an iam account
// yet is what `cloison account import-agents` would make of it (active, out
// of probation, with the agent's roles), marked directory_only.
//
// Thread-safety: plain functions over values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/domain.h"
#include "exposure/exposure.h"
#include "iam/account.h"

namespace cloison::exposure {

// iam's accounts first (in their order), then the agents that have none.
std::vector<AccountInput> InputsFrom(std::vector<iam::Account> accounts, const std::vector<Agent>& agents);

// Account id -> integration purpose, for the technical accounts of `inputs`.
std::map<int64_t, std::string> TechnicalPurposes(const std::vector<AccountInput>& inputs);

// One ranked account: rank, account, account_id, kind, status,
// can_authenticate, probation, source, structure, roles, purpose,
// direct_people, categories, second_approver_people, indirect_alone_people,
// indirect_alone_after_probation_people, with_one_approver_people,
// with_one_approver, used_people, listed_people, used_outside_reach_people,
// usage_window, narrowing_people, narrowing, blast_radius, rules[], paths[].
// `usage_window` is Report::usage_window (empty: no audit data); it is
// echoed on accounts whose usage is known.
nlohmann::json AccountJson(const AccountExposure& e, int64_t rank, const std::map<int64_t, std::string>& purposes,
                           std::string_view usage_window = {});

}  // namespace cloison::exposure
