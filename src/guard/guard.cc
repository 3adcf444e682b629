// Stub; filled in by the guard helper.
#include "guard/guard.h"

namespace cloison::guard {

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kAllow: return "allow";
    case Action::kRecord: return "record";
    case Action::kAlert: return "alert";
    case Action::kStepUp: return "step_up";
    case Action::kThrottle: return "throttle";
    case Action::kSuspend: return "suspend";
  }
  return "allow";
}

std::optional<Action> ParseAction(std::string_view s) {
  for (Action a : {Action::kAllow, Action::kRecord, Action::kAlert, Action::kStepUp, Action::kThrottle,
                   Action::kSuspend})
    if (ActionName(a) == s) return a;
  return std::nullopt;
}

std::string_view AccessKindName(AccessKind k) {
  switch (k) {
    case AccessKind::kRead: return "read";
    case AccessKind::kReveal: return "reveal";
    case AccessKind::kSearch: return "search";
    case AccessKind::kList: return "list";
    case AccessKind::kDenied: return "denied";
  }
  return "read";
}

StatusOr<GuardConfig> GuardConfig::FromPolicyText(std::string_view, std::string_view) { return GuardConfig{}; }
const GuardConfig& GuardConfig::Default() {
  static const GuardConfig c;
  return c;
}

namespace {
class NullGuard final : public Guard {
 public:
  void RegisterAccount(const AccountProfile&) override {}
  void AddHoneytoken(PersonId) override {}
  bool IsHoneytoken(PersonId) const override { return false; }
  Verdict Assess(const Access&) override { return {}; }
  void Observe(const Access&) override {}
  bool UnderAlert(AccountId) const override { return false; }
  std::vector<Alert> Alerts(UnixMicros) const override { return {}; }
  void Clear(AccountId) override {}
  Status SaveState(std::string* out) const override { out->clear(); return OkStatus(); }
  Status LoadState(std::string_view) override { return OkStatus(); }
};
}  // namespace

std::unique_ptr<Guard> Guard::Create(GuardConfig, const Clock&) { return std::make_unique<NullGuard>(); }

}  // namespace cloison::guard
