// GuardConfig: the [guard] section of the policy file.
#include <cmath>
#include <cstdio>
#include <functional>

#include <toml++/toml.h>

#include "core/strings.h"
#include "guard/guard.h"

namespace cloison::guard {
namespace internal {
extern const char kDefaultPolicyText[];
}

namespace {

struct Key {
  std::string_view name;
  bool integer;  // must be an integer (else any number)
  double min, max;
  std::function<void(GuardConfig&, double)> set;
};

#define DKEY(n, lo, hi) Key{#n, false, lo, hi, [](GuardConfig& c, double v) { c.n = v; }}
#define IKEY(n, lo, hi) \
  Key{#n, true, lo, hi, [](GuardConfig& c, double v) { c.n = static_cast<decltype(c.n)>(v); }}

const std::vector<Key>& Keys() {
  static const std::vector<Key> keys = {
      DKEY(record_at, 0, 1e6), DKEY(alert_at, 0, 1e6), DKEY(step_up_at, 0, 1e6), DKEY(throttle_at, 0, 1e6),
      DKEY(suspend_at, 0, 1e6),
      IKEY(window_seconds, 60, 86'400), IKEY(baseline_days, 5, 365), IKEY(min_history_days, 0, 365),
      IKEY(min_history_windows, 1, 1e6), IKEY(peer_min_windows, 1, 1e9),
      IKEY(related_accounts_seconds, 0, 1e9), IKEY(under_alert_seconds, 0, 1e9),
      IKEY(refusal_episodes_to_suspend, 0, 1000), IKEY(escalation_seconds, 0, 1e9),
      DKEY(min_reference, 1, 1e7), DKEY(volume_weight, 0, 1e3), DKEY(volume_factor, 1, 1e3),
      DKEY(list_ratio, 1, 1e3), DKEY(list_min_reference, 1, 1e7),
      DKEY(novelty_weight, 0, 1e3), IKEY(novelty_min_people, 0, 1e6), IKEY(novelty_full_people, 1, 1e6),
      DKEY(off_hours_weight, 0, 1e3), DKEY(night_weight, 0, 1e3), IKEY(night_start_hour, 0, 23),
      IKEY(night_end_hour, 0, 23),
      DKEY(denied_weight, 0, 1e3), IKEY(denied_free, 0, 1e6),
      DKEY(sequential_weight, 0, 1e3), IKEY(sequential_free, 0, 1e6), IKEY(sequential_max_gap, 1, 1000),
      DKEY(paging_weight, 0, 1e3), IKEY(paging_free, 0, 1e6),
      DKEY(search_weight, 0, 1e3), IKEY(search_free, 0, 1e6),
      IKEY(spread_window_seconds, 60, 30 * 86'400), IKEY(spread_free, 0, 1e6), DKEY(spread_weight, 0, 1e3),
      DKEY(new_network_weight, 0, 1e3), IKEY(new_network_seconds, 0, 1e9),
      IKEY(new_account_days, 0, 3650), DKEY(new_account_multiplier, 1, 100), DKEY(probation_multiplier, 1, 100),
      IKEY(technical_new_days, 0, 3650), DKEY(technical_new_multiplier, 1, 100),
      DKEY(new_technical_reference, 1, 1e7),
      DKEY(creator_under_alert_multiplier, 1, 100), DKEY(creator_under_alert_points, 0, 1e3),
      DKEY(max_multiplier, 1, 1000),
      IKEY(max_seen_people, 16, 10'000'000), IKEY(max_networks, 1, 10'000),
  };
  return keys;
}
#undef DKEY
#undef IKEY

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// "peer_prior" key: "role:structure_kind", "technical:structure_kind" or "*".
bool ValidPeerKey(std::string_view k) {
  if (k == "*") return true;
  size_t colon = k.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view role = k.substr(0, colon), kind = k.substr(colon + 1);
  if (role != "technical" && role != "*" && !ParseRole(role)) return false;
  return kind == "*" || ParseStructureKind(kind).has_value();
}

}  // namespace

StatusOr<GuardConfig> GuardConfig::FromPolicyText(std::string_view text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(
        StrCat(source_name, ":", static_cast<int64_t>(e.source().begin.line), ": ", std::string_view(e.description())));
  }
  auto at = [&](const toml::node& n) { return StrCat(source_name, ":", static_cast<int64_t>(n.source().begin.line), ": "); };
  GuardConfig c;
  const toml::node* gnode = root.get("guard");
  if (!gnode) return c;
  const toml::table* g = gnode->as_table();
  if (!g) return InvalidArgument(StrCat(at(*gnode), "'guard' must be a table [guard]"));
  for (auto&& [k, v] : *g) {
    std::string_view name = k.str();
    if (name == "peer_prior") {
      const toml::table* t = v.as_table();
      if (!t) return InvalidArgument(StrCat(at(v), "guard.peer_prior must be a table [guard.peer_prior]"));
      for (auto&& [pk, pv] : *t) {
        std::string_view key = pk.str();
        if (!ValidPeerKey(key))
          return InvalidArgument(StrCat(at(pv), "guard.peer_prior: bad peer group '", key,
                                        "' (expected \"role:structure_kind\", \"technical:structure_kind\" or \"*\")"));
        std::optional<double> d = pv.value<double>();
        if (!d || !(pv.is_integer() || pv.is_floating_point()))
          return InvalidArgument(StrCat(at(pv), "guard.peer_prior.\"", key, "\" must be a number"));
        if (!(*d >= 1 && *d <= 1e7))
          return InvalidArgument(StrCat(at(pv), "guard.peer_prior.\"", key, "\" must be between 1 and 10000000"));
        c.peer_priors.emplace_back(std::string(key), *d);
      }
      continue;
    }
    const Key* key = nullptr;
    for (const Key& kk : Keys())
      if (kk.name == name) key = &kk;
    if (!key) return InvalidArgument(StrCat(at(v), "guard: unknown key '", name, "'"));
    double d;
    if (key->integer) {
      if (!v.is_integer()) return InvalidArgument(StrCat(at(v), "guard.", name, " must be an integer"));
      d = static_cast<double>(v.as_integer()->get());
    } else {
      if (!v.is_integer() && !v.is_floating_point())
        return InvalidArgument(StrCat(at(v), "guard.", name, " must be a number"));
      d = *v.value<double>();
    }
    if (!(d >= key->min && d <= key->max))
      return InvalidArgument(
          StrCat(at(v), "guard.", name, " must be between ", Num(key->min), " and ", Num(key->max)));
    key->set(c, d);
  }
  // Cross-key checks.
  if (!(c.record_at <= c.alert_at && c.alert_at <= c.step_up_at && c.step_up_at <= c.throttle_at &&
        c.throttle_at <= c.suspend_at))
    return InvalidArgument(StrCat(at(*gnode),
                                  "guard: thresholds must increase: record_at <= alert_at <= step_up_at <= "
                                  "throttle_at <= suspend_at"));
  if (c.window_seconds % 60 != 0)
    return InvalidArgument(StrCat(at(*g->get("window_seconds")), "guard.window_seconds must be a multiple of 60"));
  if (c.min_history_days > c.baseline_days)
    return InvalidArgument(StrCat(at(*gnode), "guard.min_history_days must not exceed guard.baseline_days"));
  if (c.novelty_min_people > c.novelty_full_people)
    return InvalidArgument(StrCat(at(*gnode), "guard.novelty_min_people must not exceed guard.novelty_full_people"));
  return c;
}

const GuardConfig& GuardConfig::Default() {
  static const GuardConfig config = [] {
    auto c = FromPolicyText(internal::kDefaultPolicyText, "config/policy.toml");
    if (!c.ok()) {
      // Cannot happen with a tested build (tests/guard checks it); fall back
      // to the member defaults, which equal the shipped file.
      std::fprintf(stderr, "guard: compiled-in policy: %s\n", std::string(MessageOf(c.status())).c_str());
      return GuardConfig{};
    }
    return *std::move(c);
  }();
  return config;
}

}  // namespace cloison::guard
