#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "guard/guard.h"

namespace cloison::guard {
namespace {

using ::testing::HasSubstr;

TEST(GuardConfigTest, DefaultComesFromShippedPolicyFile) {
  const GuardConfig& c = GuardConfig::Default();
  const GuardConfig members;
  EXPECT_EQ(c.alert_at, members.alert_at);
  EXPECT_EQ(c.suspend_at, members.suspend_at);
  EXPECT_EQ(c.window_seconds, members.window_seconds);
  EXPECT_EQ(c.volume_weight, members.volume_weight);
  EXPECT_EQ(c.max_seen_people, members.max_seen_people);
  ASSERT_FALSE(c.peer_priors.empty());
  bool fallback = false;
  for (const auto& [k, v] : c.peer_priors) fallback |= k == "*";
  EXPECT_TRUE(fallback);
}

TEST(GuardConfigTest, FileWithoutGuardSectionGivesDefaults) {
  auto c = GuardConfig::FromPolicyText("version = 1\n", "p.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->alert_at, 4);
}

TEST(GuardConfigTest, ParsesValues) {
  auto c = GuardConfig::FromPolicyText(
      "[guard]\nalert_at = 5\nstep_up_at = 7.5\nwindow_seconds = 300\n[guard.peer_prior]\n\"counsellor:agency\" = 12\n",
      "p.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->alert_at, 5);
  EXPECT_EQ(c->step_up_at, 7.5);
  EXPECT_EQ(c->window_seconds, 300);
  ASSERT_EQ(c->peer_priors.size(), 1u);
  EXPECT_EQ(c->peer_priors[0].first, "counsellor:agency");
  EXPECT_EQ(c->peer_priors[0].second, 12);
}

struct BadCase {
  const char* text;
  const char* message;
};

TEST(GuardConfigTest, ErrorsNameFileLineAndKey) {
  const BadCase cases[] = {
      {"version = 1\n[guard]\nalert_at = \"high\"\n", "p.toml:3: guard.alert_at must be a number"},
      {"[guard]\nrecord_at = 1\nwindow_seconds = 600.5\n", "p.toml:3: guard.window_seconds must be an integer"},
      {"[guard]\nalert_att = 4\n", "p.toml:2: guard: unknown key 'alert_att'"},
      {"[guard]\nvolume_weight = -1\n", "p.toml:2: guard.volume_weight must be between 0 and 1000"},
      {"[guard]\nwindow_seconds = 90\n", "p.toml:2: guard.window_seconds must be a multiple of 60"},
      {"[guard]\nalert_at = 12\n", "guard: thresholds must increase"},
      {"[guard.peer_prior]\n\"counselor:agency\" = 10\n", "p.toml:2: guard.peer_prior: bad peer group 'counselor:agency'"},
      {"[guard.peer_prior]\n\"*\" = \"ten\"\n", "p.toml:2: guard.peer_prior.\"*\" must be a number"},
      {"guard = 3\n", "p.toml:1: 'guard' must be a table [guard]"},
      {"[guard\n", "p.toml:1: "},
  };
  for (const BadCase& bc : cases) {
    auto c = GuardConfig::FromPolicyText(bc.text, "p.toml");
    ASSERT_FALSE(c.ok()) << bc.text;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(MessageOf(c.status())), HasSubstr(bc.message)) << bc.text;
  }
}

TEST(GuardConfigTest, ActionAndKindNames) {
  for (Action a : {Action::kAllow, Action::kRecord, Action::kAlert, Action::kStepUp, Action::kThrottle,
                   Action::kSuspend})
    EXPECT_EQ(ParseAction(ActionName(a)), a);
  EXPECT_EQ(ActionName(Action::kStepUp), "step_up");
  EXPECT_FALSE(ParseAction("ban").has_value());
  EXPECT_EQ(AccessKindName(AccessKind::kDenied), "denied");
}

}  // namespace
}  // namespace cloison::guard
