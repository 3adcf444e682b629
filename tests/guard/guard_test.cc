// Behaviour of guard::Guard: each signal fires and is explained, ordinary
// traffic stays quiet, cold start protects, containment and persistence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "core/date.h"
#include "core/strings.h"
#include "guard/guard.h"

namespace cloison::guard {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr int64_t kMin = 60'000'000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

// UTC time in micros.
UnixMicros Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return (Date{y, mo, d}.ToDays() * 86400 + h * 3600 + mi * 60 + s) * 1'000'000;
}
// Monday 2024-01-15 (winter: Paris = UTC+1).
const UnixMicros kMonday = Utc(2024, 1, 15, 0, 0);
// Paris local hh:mm on day `day` after kMonday.
UnixMicros Paris(int day, int h, int mi = 0) { return kMonday + day * kDay + (h - 1) * kHour + mi * kMin; }

class GuardTest : public ::testing::Test {
 protected:
  GuardTest() : guard_(Guard::Create(GuardConfig::Default(), clock_)) {}

  AccountProfile Counsellor(int64_t id, UnixMicros created_at = Utc(2023, 1, 1, 0, 0)) {
    AccountProfile p;
    p.account = AccountId(id);
    p.structure = StructureId(1);
    p.structure_kind = StructureKind::kMissionLocale;
    p.roles = {Role::kCounsellor};
    p.created_at = created_at;
    p.created_by = AccountId(9000);
    return p;
  }
  AccountProfile Technical(int64_t id, UnixMicros created_at) {
    AccountProfile p;
    p.account = AccountId(id);
    p.technical = true;
    p.structure = StructureId(2);
    p.structure_kind = StructureKind::kTrainingOrganisation;
    p.created_at = created_at;
    return p;
  }

  Verdict Do(int64_t account, UnixMicros t, AccessKind kind, std::vector<PersonId> persons,
             std::string_view source = "10.1.2.3", std::string_view query = "", int64_t page = 0) {
    persons_ = std::move(persons);
    Access a;
    a.time = t;
    a.account = AccountId(account);
    a.kind = kind;
    a.source = source;
    a.persons = persons_;
    a.query = query;
    a.page = page;
    return guard_->Assess(a);
  }
  Verdict Read(int64_t account, UnixMicros t, int64_t person, std::string_view source = "10.1.2.3") {
    return Do(account, t, AccessKind::kRead, {PersonId(person)}, source);
  }
  // A read of a person whose referent counsellor is `referent`.
  Verdict ReadOf(int64_t account, UnixMicros t, int64_t person, int64_t referent, std::string_view source = "10.1.2.3",
                 bool step_up_done = false) {
    persons_ = {PersonId(person)};
    Access a;
    a.time = t;
    a.account = AccountId(account);
    a.source = source;
    a.persons = persons_;
    a.referent = AccountId(referent);
    a.step_up_done = step_up_done;
    return guard_->Assess(a);
  }

  // Ordinary counsellor days: `per_day` reads of its own caseload (ids
  // base..base+caseload) during opening hours in small clusters; returns the
  // worst verdict.
  Verdict OrdinaryDays(int64_t account, int first_day, int days, int64_t base, int caseload, std::mt19937& rng,
                       int per_day_min = 20, int per_day_max = 60) {
    Verdict worst;
    for (int d = first_day; d < first_day + days; ++d) {
      if ((d % 7) >= 5) continue;  // weekend
      int n = std::uniform_int_distribution<int>(per_day_min, per_day_max)(rng);
      std::vector<UnixMicros> times;
      for (int i = 0; i < n; ++i)
        times.push_back(Paris(d, 9) + std::uniform_int_distribution<int64_t>(0, 8 * 3600 - 1)(rng) * 1'000'000);
      std::sort(times.begin(), times.end());
      for (UnixMicros t : times) {
        int64_t person = base + std::uniform_int_distribution<int>(0, caseload - 1)(rng);
        Verdict v = Read(account, t, person);
        if (v.score > worst.score) worst = v;
      }
    }
    return worst;
  }

  FakeClock clock_;
  std::unique_ptr<Guard> guard_;
  std::vector<PersonId> persons_;
};

std::vector<PersonId> Range(int64_t first, int n) {
  std::vector<PersonId> v;
  for (int i = 0; i < n; ++i) v.push_back(PersonId(first + i));
  return v;
}

TEST_F(GuardTest, OrdinaryCounsellorTrafficStaysBelowAlert) {
  std::mt19937 rng(42);
  int records = 0;
  Verdict worst;
  for (int64_t c = 1; c <= 20; ++c) {
    guard_->RegisterAccount(Counsellor(c));
    // Four ordinary weeks, then a start-of-school-year week at 2.5x.
    Verdict v = OrdinaryDays(c, 0, 28, c * 1000, 150, rng);
    if (v.score > worst.score) worst = v;
    v = OrdinaryDays(c, 28, 7, c * 1000, 150, rng, 50, 150);
    if (v.score > worst.score) worst = v;
    // A caseload listing (3 pages of 50) and a few name searches.
    for (int p = 0; p < 3; ++p) {
      Verdict lv = Do(c, Paris(36, 10, p), AccessKind::kList, Range(c * 1000 + 50 * p, 50), "10.1.2.3", "", p);
      records += lv.action >= Action::kRecord;
      EXPECT_EQ(lv.action, Action::kAllow) << lv.explanation;
    }
    for (int q = 0; q < 5; ++q) {
      Verdict sv = Do(c, Paris(36, 11, q), AccessKind::kSearch, {PersonId(c * 1000 + q)}, "10.1.2.3",
                      q % 2 ? "nom:dupont" : "nom:martin");
      records += sv.action >= Action::kRecord;
      EXPECT_EQ(sv.action, Action::kAllow) << sv.explanation;
    }
    // A little off-hours work at 18:30 from home: record, no alert.
    Verdict late = Read(c, Paris(37, 18, 30), c * 1000 + 7, "82.64.1.20");
    EXPECT_EQ(late.action, Action::kRecord) << late.explanation;
    EXPECT_THAT(late.signals, Contains("off_hours"));
    EXPECT_THAT(late.signals, Contains("new_network"));
  }
  EXPECT_LT(worst.score, GuardConfig::Default().alert_at) << worst.explanation;
  EXPECT_EQ(records, 0);
  EXPECT_TRUE(guard_->Alerts().empty());
  for (const Alert& a : guard_->Alerts()) ADD_FAILURE() << a.account << " " << a.score << " " << a.explanation;
}

TEST_F(GuardTest, ColdStartSuspendsBrandNewTechnicalAccountBeforeFiftyPeople) {
  const UnixMicros night = Utc(2024, 1, 16, 2, 0);  // 03:00 in Paris
  guard_->RegisterAccount(Technical(500, night - kHour));
  int released = 0;
  Verdict v;
  for (int i = 0; i < 60; ++i) {
    v = Read(500, night + i * 5'000'000, 70'000 + i * 37);
    if (v.action >= Action::kThrottle) break;
    ++released;
  }
  // No baseline of its own: a new integration's own small reference (5),
  // not its peers' prior (20), so it is stopped within a dozen people.
  EXPECT_LT(released, 12);
  // It keeps going: suspension follows quickly.
  for (int i = 60; i < 120 && v.action != Action::kSuspend; ++i) v = Read(500, night + i * 5'000'000, 70'000 + i * 37);
  EXPECT_EQ(v.action, Action::kSuspend) << v.explanation;
  EXPECT_TRUE(guard_->UnderAlert(AccountId(500)));
  const auto alerts = guard_->Alerts();
  ASSERT_FALSE(alerts.empty());
  EXPECT_THAT(alerts.back().explanation, HasSubstr("distinct people in 10 minutes"));
  EXPECT_THAT(alerts.back().explanation, HasSubstr("a new technical account may read 5 per 10 minutes"));
  EXPECT_THAT(alerts.back().explanation, HasSubstr("a technical account created 0 days ago"));
  // Integrations run at any hour: no off-hours signal for a technical account.
  EXPECT_THAT(alerts.back().signals, Not(Contains("off_hours")));
}

TEST_F(GuardTest, ANewIntegrationsFirstNightlySyncOfAFewPeopleIsQuiet) {
  const UnixMicros night = Utc(2024, 1, 16, 22, 0);  // 23:00 in Paris
  guard_->RegisterAccount(Technical(502, night - 10 * kMin));
  for (int i = 0; i < 4; ++i) {
    const Verdict v = Read(502, night + i * kMin, 80'000 + i * 101);
    EXPECT_EQ(v.action, Action::kAllow) << v.explanation;
  }
}

TEST_F(GuardTest, ColdStartRefusesHugePagesOfANewTechnicalAccount) {
  guard_->RegisterAccount(Technical(501, Utc(2024, 1, 1, 0, 0)));
  Verdict v;
  int page = 0;
  for (; page < 10 && v.action != Action::kSuspend; ++page) {
    v = Do(501, Utc(2024, 1, 16, 2, 0) + page * 1'000'000, AccessKind::kList, Range(1 + 200 * page, 200), "10.9.9.9",
           "", page);
    EXPECT_GE(v.action, Action::kThrottle) << v.explanation;  // no page of 200 is released
  }
  EXPECT_EQ(v.action, Action::kSuspend);
  EXPECT_LE(page, 3);
  EXPECT_THAT(v.explanation, HasSubstr("people in search results and listings"));
}

TEST_F(GuardTest, HoneytokenSuspendsAtOnceAndClearLiftsIt) {
  guard_->RegisterAccount(Counsellor(1));
  guard_->AddHoneytoken(PersonId(666));
  EXPECT_TRUE(guard_->IsHoneytoken(PersonId(666)));
  EXPECT_FALSE(guard_->IsHoneytoken(PersonId(665)));
  EXPECT_EQ(Read(1, Paris(0, 10), 100).action, Action::kAllow);
  // Shown in a search result (a search by birth date may show it to
  // anybody) or tried and denied (a mistyped id): not yet a suspension.
  EXPECT_LT(Do(1, Paris(0, 10, 1), AccessKind::kSearch, {PersonId(665), PersonId(666)}, "10.1.2.3", "dn:#1").action,
            Action::kAlert);
  EXPECT_LT(Do(1, Paris(0, 10, 2), AccessKind::kDenied, {PersonId(666)}).action, Action::kAlert);
  // Opened: suspended.
  Verdict v = Read(1, Paris(0, 10, 5), 666);
  EXPECT_EQ(v.action, Action::kSuspend);
  EXPECT_THAT(v.signals, Contains("honeytoken"));
  EXPECT_THAT(v.explanation, HasSubstr("honeytoken"));
  EXPECT_TRUE(guard_->UnderAlert(AccountId(1)));
  // Every later access is refused, cheaply.
  Verdict again = Read(1, Paris(3, 10), 101);
  EXPECT_EQ(again.action, Action::kSuspend);
  EXPECT_THAT(again.signals, Contains("suspended"));
  guard_->Clear(AccountId(1));
  EXPECT_FALSE(guard_->UnderAlert(AccountId(1)));
  EXPECT_EQ(Read(1, Paris(3, 10, 1), 101).action, Action::kAllow);
  // A bulk listing page that shows it: suspended too.
  const Verdict listed = Do(1, Paris(3, 11), AccessKind::kList, {PersonId(660), PersonId(666)}, "10.1.2.3", "", 0);
  EXPECT_EQ(listed.action, Action::kSuspend);
}

TEST_F(GuardTest, SuspensionListsAccountsCreatedOrApprovedRecently) {
  const UnixMicros t = Paris(10, 10);
  AccountProfile manager = Counsellor(100);
  guard_->RegisterAccount(manager);
  AccountProfile b = Counsellor(101, t - 3 * kDay);
  b.created_by = AccountId(100);
  AccountProfile c = Technical(102, t - 2 * kDay);
  c.created_by = AccountId(7);
  c.approved_by = AccountId(100);
  AccountProfile old = Counsellor(103, t - 60 * kDay);
  old.created_by = AccountId(100);
  AccountProfile other = Counsellor(104, t - kDay);
  other.created_by = AccountId(9);
  for (const auto& p : {b, c, old, other}) guard_->RegisterAccount(p);
  guard_->AddHoneytoken(PersonId(666));
  Verdict v = Read(100, t, 666);
  ASSERT_EQ(v.action, Action::kSuspend);
  EXPECT_THAT(v.also_suspend, UnorderedElementsAre(AccountId(101), AccountId(102)));
  EXPECT_TRUE(guard_->UnderAlert(AccountId(101)));
  EXPECT_EQ(Read(101, t + kMin, 5).action, Action::kSuspend);
  EXPECT_FALSE(guard_->UnderAlert(AccountId(103)));
}

TEST_F(GuardTest, AccountCreatedByAnAccountUnderAlertScoresHigher) {
  AccountProfile creator = Counsellor(200);
  guard_->RegisterAccount(creator);
  AccountProfile x = Counsellor(201);
  x.created_by = AccountId(200);
  AccountProfile y = Counsellor(202);
  y.created_by = AccountId(300);  // not under alert
  guard_->RegisterAccount(x);
  guard_->RegisterAccount(y);
  guard_->AddHoneytoken(PersonId(666));
  ASSERT_EQ(Read(200, Paris(0, 10), 666).action, Action::kSuspend);
  // The same mild access (18:30) for both.
  Verdict vx = Read(201, Paris(0, 18, 30), 10);
  Verdict vy = Read(202, Paris(0, 18, 30), 10);
  EXPECT_GT(vx.score, vy.score);
  EXPECT_GE(vx.action, Action::kAlert) << vx.explanation;
  EXPECT_THAT(vx.signals, Contains("creator_under_alert"));
  EXPECT_THAT(vx.explanation, HasSubstr("account 200, which is under alert"));
  EXPECT_THAT(vy.signals, Not(Contains("creator_under_alert")));
}

TEST_F(GuardTest, OffHoursFollowsDstAndOverseasZones) {
  AccountProfile paris = Counsellor(1);
  guard_->RegisterAccount(paris);
  // 07:15 UTC: 08:15 in winter (before opening), 09:15 in summer (open).
  Verdict winter = Read(1, Utc(2024, 1, 16, 7, 15), 1);
  EXPECT_EQ(winter.action, Action::kRecord);
  EXPECT_THAT(winter.signals, Contains("off_hours"));
  EXPECT_THAT(winter.explanation, HasSubstr("Tuesday 08:15 local time, Europe/Paris"));
  EXPECT_EQ(Read(1, Utc(2024, 7, 16, 7, 15), 2).action, Action::kAllow);
  // 16:00 UTC: 17:00 in winter (open), 18:00 in summer (closed).
  EXPECT_EQ(Read(1, Utc(2024, 1, 17, 16, 0), 3).action, Action::kAllow);
  EXPECT_THAT(Read(1, Utc(2024, 7, 17, 16, 0), 4).signals, Contains("off_hours"));

  AccountProfile cayenne = Counsellor(2);
  cayenne.time_zone = "America/Cayenne";
  guard_->RegisterAccount(cayenne);
  EXPECT_EQ(Read(2, Utc(2024, 1, 16, 12, 0), 1).action, Action::kAllow);  // 09:00 local
  Verdict late = Read(2, Utc(2024, 1, 16, 21, 0), 2);                      // 18:00 local
  EXPECT_THAT(late.signals, Contains("off_hours"));
  EXPECT_THAT(late.explanation, HasSubstr("18:00 local time, America/Cayenne"));
  EXPECT_THAT(Read(2, Utc(2024, 1, 16, 11, 0), 3).signals, Contains("off_hours"));  // 08:00 local

  AccountProfile noumea = Counsellor(3);
  noumea.time_zone = "Pacific/Noumea";
  guard_->RegisterAccount(noumea);
  EXPECT_EQ(Read(3, Utc(2024, 1, 15, 23, 0), 1).action, Action::kAllow);  // Tuesday 10:00 local
  EXPECT_THAT(Read(3, Utc(2024, 1, 15, 12, 0), 2).signals, Contains("off_hours"));  // 23:00 local

  AccountProfile unknown = Counsellor(4);
  unknown.time_zone = "Atlantis/Capital";
  guard_->RegisterAccount(unknown);
  Verdict u = Read(4, Utc(2024, 1, 16, 21, 0), 1);
  EXPECT_THAT(u.explanation, HasSubstr("Europe/Paris, its zone 'Atlantis/Capital' being unknown"));
  EXPECT_THAT(u.explanation, HasSubstr("at night"));
}

TEST_F(GuardTest, NewNetworkIsMildAndFirstNetworkIsNotNew) {
  guard_->RegisterAccount(Counsellor(1));
  EXPECT_EQ(Read(1, Paris(0, 10), 1, "10.1.2.3:5555").action, Action::kAllow);
  EXPECT_EQ(Read(1, Paris(0, 10, 1), 2, "10.1.2.77").action, Action::kAllow);  // same /24
  Verdict v = Read(1, Paris(0, 10, 2), 3, "192.168.7.1");
  EXPECT_EQ(v.action, Action::kRecord);
  EXPECT_THAT(v.signals, Contains("new_network"));
  EXPECT_THAT(v.explanation, HasSubstr("never used before"));
  // Once known for a while it is not new any more.
  EXPECT_EQ(Read(1, Paris(1, 10), 4, "192.168.7.9").action, Action::kAllow);

  guard_->RegisterAccount(Counsellor(2));
  EXPECT_EQ(Read(2, Paris(0, 10), 1, "[2001:db8:1::1]:443").action, Action::kAllow);
  EXPECT_EQ(Read(2, Paris(0, 10, 1), 2, "2001:db8:1:ffff::2").action, Action::kAllow);  // same /48
  EXPECT_THAT(Read(2, Paris(0, 10, 2), 3, "2001:db8:2::1").signals, Contains("new_network"));
}

TEST_F(GuardTest, SequentialIdsAreEnumeration) {
  guard_->RegisterAccount(Counsellor(1));
  Verdict v;
  int i = 0;
  for (; i < 40 && v.action < Action::kAlert; ++i) v = Read(1, Paris(0, 10) + i * 10'000'000, 50'000 + i);
  EXPECT_LE(i, 12);
  EXPECT_THAT(v.signals, Contains("sequential_ids"));
  EXPECT_THAT(v.explanation, HasSubstr("person ids in sequence"));
}

TEST_F(GuardTest, ExhaustivePagingIsEnumeration) {
  guard_->RegisterAccount(Counsellor(1));
  Verdict v;
  int page = 0;
  for (; page < 40 && v.action < Action::kAlert; ++page)
    v = Do(1, Paris(0, 10) + page * 10'000'000, AccessKind::kList, Range(1000 + page * 5, 5), "10.1.2.3", "", page);
  EXPECT_LE(page, 12);
  EXPECT_THAT(v.signals, Contains("paging"));
  EXPECT_THAT(v.explanation, HasSubstr("consecutive pages"));
}

TEST_F(GuardTest, SearchSweepIsEnumeration) {
  guard_->RegisterAccount(Counsellor(1));
  Verdict v;
  int q = 0;
  for (; q < 60 && v.action < Action::kAlert; ++q) {
    std::string query = "cp:" + std::to_string(67000 + q * 10);
    v = Do(1, Paris(0, 10) + q * 5'000'000, AccessKind::kSearch, {PersonId(9000 + q)}, "10.1.2.3", query);
  }
  EXPECT_LE(q, 25);
  EXPECT_THAT(v.signals, Contains("search_sweep"));
  EXPECT_THAT(v.explanation, HasSubstr("distinct 'cp:' searches"));
}

TEST_F(GuardTest, DeniedProbesAreCounted) {
  guard_->RegisterAccount(Counsellor(1));
  Verdict v;
  int i = 0;
  for (; i < 40 && v.action < Action::kAlert; ++i)
    v = Do(1, Paris(0, 10) + i * 10'000'000, AccessKind::kDenied, {PersonId(1000 + i * 97)});
  EXPECT_LE(i, 10);
  EXPECT_THAT(v.signals, Contains("denied"));
  EXPECT_THAT(v.explanation, HasSubstr("denied attempts"));
}

TEST_F(GuardTest, VolumeAgainstOwnBaselineAndNovelty) {
  std::mt19937 rng(7);
  guard_->RegisterAccount(Counsellor(1));
  OrdinaryDays(1, 0, 21, 1000, 150, rng);
  // Day 21 (a Monday), 10:00: reads 60 people outside its caseload.
  Verdict v;
  int released = 0;
  for (int i = 0; i < 100 && v.action < Action::kThrottle; ++i, ++released)
    v = Read(1, Paris(21, 10) + i * 8'000'000, 500'000 + i * 131);
  EXPECT_LT(released, 50);
  EXPECT_THAT(v.signals, Contains("volume"));
  EXPECT_THAT(v.signals, Contains("novelty"));
  EXPECT_THAT(v.explanation, HasSubstr("its own 30-day p99 is"));
  EXPECT_THAT(v.explanation, HasSubstr("never read before by this account"));
}

TEST_F(GuardTest, ProbationAndNewAccountsWeighUp) {
  const UnixMicros t = Paris(2, 19);
  AccountProfile fresh = Counsellor(1, t - 2 * kDay);
  fresh.probation = true;
  AccountProfile veteran = Counsellor(2);
  guard_->RegisterAccount(fresh);
  guard_->RegisterAccount(veteran);
  Verdict vf = Read(1, t, 10), vv = Read(2, t, 10);
  EXPECT_GT(vf.score, vv.score);
  EXPECT_THAT(vf.signals, Contains("probation"));
  EXPECT_THAT(vf.signals, Contains("new_account"));
  EXPECT_THAT(vf.explanation, HasSubstr("created 2 days ago"));
}

TEST_F(GuardTest, TechnicalAccountsAreThrottledInsteadOfSteppedUp) {
  guard_->RegisterAccount(Technical(1, Utc(2020, 1, 1, 0, 0)));
  bool saw_step_up = false, saw_throttle = false;
  for (int i = 0; i < 200; ++i) {
    Verdict v = Read(1, Utc(2024, 1, 16, 10, 0) + i * 1'000'000, 10'000 + i * 53);
    saw_step_up |= v.action == Action::kStepUp;
    saw_throttle |= v.action == Action::kThrottle;
    if (v.action == Action::kSuspend) break;
  }
  EXPECT_FALSE(saw_step_up);
  EXPECT_TRUE(saw_throttle);
}

TEST_F(GuardTest, AlertsAreListedAndRepeatsFolded) {
  guard_->RegisterAccount(Counsellor(1));
  for (int i = 0; i < 30; ++i) Do(1, Paris(0, 10) + i * 10'000'000, AccessKind::kDenied, {PersonId(1000 + i * 97)});
  const auto alerts = guard_->Alerts();
  ASSERT_FALSE(alerts.empty());
  for (const Alert& a : alerts) {
    EXPECT_EQ(a.account, AccountId(1));
    EXPECT_GE(a.action, Action::kAlert);
    EXPECT_GE(a.score, GuardConfig::Default().alert_at);
    EXPECT_FALSE(a.explanation.empty());
    EXPECT_FALSE(a.signals.empty());
    EXPECT_GT(a.id, 0u);
  }
  EXPECT_LT(alerts.size(), 10u);  // 30 denied probes, a handful of alerts
  uint64_t repeats = 0;
  for (const Alert& a : alerts) repeats += a.repeats;
  EXPECT_GT(repeats, 0u);
  EXPECT_TRUE(guard_->Alerts(Paris(1, 0)).empty());
}

TEST_F(GuardTest, ObserveUpdatesStateWithoutScoring) {
  guard_->RegisterAccount(Counsellor(1));
  for (int i = 0; i < 100; ++i) {
    persons_ = {PersonId(1000 + i * 7)};
    Access a;
    a.time = Paris(0, 3) + i * 1'000'000;
    a.account = AccountId(1);
    a.persons = persons_;
    guard_->Observe(a);
  }
  EXPECT_TRUE(guard_->Alerts().empty());
  EXPECT_FALSE(guard_->UnderAlert(AccountId(1)));
  Verdict v = Read(1, Paris(0, 3) + 101 * 1'000'000, 5);
  EXPECT_GE(v.action, Action::kSuspend);
  EXPECT_THAT(v.explanation, HasSubstr("read 101 distinct people"));
}

TEST_F(GuardTest, SaveLoadKeepsBaselinesAndSuspensions) {
  std::mt19937 rng(3);
  guard_->RegisterAccount(Counsellor(1));
  guard_->RegisterAccount(Counsellor(2));
  OrdinaryDays(1, 0, 21, 1000, 150, rng);
  guard_->AddHoneytoken(PersonId(666));
  ASSERT_EQ(Read(2, Paris(20, 10), 666).action, Action::kSuspend);
  std::string saved;
  ASSERT_TRUE(guard_->SaveState(&saved).ok());

  auto restored = Guard::Create(GuardConfig::Default(), clock_);
  ASSERT_TRUE(restored->LoadState(saved).ok());
  EXPECT_TRUE(restored->UnderAlert(AccountId(2)));
  EXPECT_TRUE(restored->IsHoneytoken(PersonId(666)));
  EXPECT_EQ(restored->Alerts().size(), guard_->Alerts().size());
  // Same burst, same verdict: the baselines and seen people came back.
  auto burst = [&](Guard& g) {
    Verdict v;
    for (int i = 0; i < 40; ++i) {
      persons_ = {PersonId(1000 + i)};
      Access a;
      a.time = Paris(21, 10) + i * 8'000'000;
      a.account = AccountId(1);
      a.source = "10.1.2.3";
      a.persons = persons_;
      v = g.Assess(a);
    }
    return v;
  };
  Verdict a = burst(*guard_), b = burst(*restored);
  EXPECT_EQ(a.action, b.action);
  EXPECT_DOUBLE_EQ(a.score, b.score);
  EXPECT_EQ(a.explanation, b.explanation);
  persons_ = {PersonId(5)};
  Access s;
  s.time = Paris(22, 10);
  s.account = AccountId(2);
  s.persons = persons_;
  EXPECT_EQ(restored->Assess(s).action, Action::kSuspend);
  // Saving the restored guard gives a loadable state again.
  std::string again;
  ASSERT_TRUE(restored->SaveState(&again).ok());
  EXPECT_TRUE(Guard::Create(GuardConfig::Default(), clock_)->LoadState(again).ok());
}

TEST_F(GuardTest, PacingAroundTheThrottleIsSuspendedOnTheSecondRefusalEpisode) {
  guard_->RegisterAccount(Technical(510, Utc(2023, 1, 1, 0, 0)));  // established: no cold-start reference
  // Episode 1: a burst at 14:00 until refused.
  Verdict v;
  int64_t person = 1, released = 0;
  UnixMicros t = Paris(1, 14);
  for (; person < 200; ++person, t += 2'000'000) {
    v = Read(510, t, person * 11);
    if (v.action >= Action::kThrottle) break;
    ++released;
  }
  ASSERT_EQ(v.action, Action::kThrottle) << v.explanation;
  // Still refused while it insists (the same episode, not a new one).
  EXPECT_EQ(Read(510, t + 60'000'000, person * 11).action, Action::kThrottle);
  // It waits for the window to empty, then resumes the same way.
  t += 20 * kMin;
  Verdict resumed = Read(510, t, person * 11);
  EXPECT_LT(resumed.action, Action::kThrottle) << resumed.explanation;
  const int64_t first_episode = released;
  for (++person, t += 2'000'000; person < 400; ++person, t += 2'000'000) {
    v = Read(510, t, person * 11);
    if (v.action >= Action::kThrottle) break;
    ++released;
  }
  EXPECT_EQ(v.action, Action::kSuspend) << v.explanation;
  EXPECT_THAT(v.signals, Contains("repeat"));
  EXPECT_THAT(v.explanation, HasSubstr("it resumed after each pause"));
  EXPECT_LE(released, 2 * first_episode + 1);
  // Reinstated (Clear): the episodes start again from zero.
  guard_->Clear(AccountId(510));
  t += 30 * kMin;
  for (int i = 0; i < 200; ++i, t += 2'000'000) {
    v = Read(510, t, 5000 + i);
    if (v.action >= Action::kThrottle) break;
  }
  EXPECT_EQ(v.action, Action::kThrottle) << v.explanation;
}

TEST_F(GuardTest, ASatisfiedStepUpIsNotARefusalEpisode) {
  guard_->RegisterAccount(Counsellor(520));
  std::mt19937 rng(7);
  OrdinaryDays(520, 0, 14, 520'000, 100, rng);
  // Twice in a day it reads a burst of new people, proving TOTP each time
  // it is asked: step-ups are satisfied, nothing escalates to suspension.
  for (int burst = 0; burst < 2; ++burst) {
    UnixMicros t = Paris(15, 10 + 3 * burst);
    Verdict worst;
    for (int i = 0; i < 32; ++i, t += 15'000'000) {
      persons_ = {PersonId(900'000 + burst * 5000 + i * 37)};
      Access a;
      a.time = t;
      a.account = AccountId(520);
      a.source = "10.1.2.3";
      a.persons = persons_;
      a.step_up_done = true;
      Verdict v = guard_->Assess(a);
      if (v.action > worst.action) worst = v;
    }
    EXPECT_EQ(worst.action, Action::kStepUp) << worst.score << " " << worst.explanation;
  }
  EXPECT_FALSE(guard_->Alerts().empty());
  for (const Alert& al : guard_->Alerts()) EXPECT_NE(al.action, Action::kSuspend) << al.explanation;
}

TEST_F(GuardTest, AFlaggedNewAccountPutsItsCreatorUnderAlertAndItsSiblingsScoreHigher) {
  const UnixMicros created = Paris(3, 13, 50);
  AccountProfile a = Technical(601, created), b = Technical(602, created + kMin);
  a.created_by = b.created_by = AccountId(77);   // one access manager
  a.approved_by = b.approved_by = AccountId(88);  // one approver
  guard_->RegisterAccount(a);
  guard_->RegisterAccount(b);
  Verdict v;
  UnixMicros t = Paris(3, 14, 5);
  for (int i = 0; i < 60 && v.action < Action::kAlert; ++i, t += 2'000'000) v = Read(601, t, 100 + i);
  ASSERT_GE(v.action, Action::kAlert);
  // Its own alert does not feed on itself: no creator_under_alert on 601.
  EXPECT_THAT(v.signals, Not(Contains("creator_under_alert")));
  EXPECT_TRUE(guard_->UnderAlert(AccountId(77)));
  EXPECT_TRUE(guard_->UnderAlert(AccountId(88)));
  // The sibling is stopped after fewer people than the first one.
  int sibling = 0;
  for (int i = 0; i < 60; ++i, t += 2'000'000) {
    v = Read(602, t, 5000 + i);
    if (v.action >= Action::kThrottle) break;
    ++sibling;
  }
  EXPECT_GE(v.action, Action::kThrottle);
  EXPECT_LE(sibling, 6);
  EXPECT_THAT(v.signals, Contains("creator_under_alert"));
  EXPECT_THAT(v.explanation, HasSubstr("under alert since account 601"));
}

TEST_F(GuardTest, ReadingFilesOfManyColleaguesCaseloadsIsSpread) {
  std::mt19937 rng(11);
  guard_->RegisterAccount(Counsellor(530));
  guard_->RegisterAccount(Counsellor(531));
  // The colleagues: counsellors of the same structure. A referent the guard
  // does not know in this structure is nobody's colleague.
  for (int64_t id : {700, 701, 702, 799}) guard_->RegisterAccount(Counsellor(id));
  for (int64_t id = 1000; id < 1040; ++id) guard_->RegisterAccount(Counsellor(id));
  // Two weeks of ordinary work on its own caseload, a colleague's person now and then.
  for (int d = 0; d < 14; ++d) {
    if (d % 7 >= 5) continue;
    for (int i = 0; i < 30; ++i) {
      const UnixMicros t = Paris(d, 9) + i * 12 * kMin;
      EXPECT_LT(ReadOf(530, t, 530'000 + i % 80, 530).action, Action::kRecord);
      EXPECT_LT(ReadOf(531, t, 531'000 + i % 80, 531).action, Action::kRecord);
    }
    EXPECT_LT(ReadOf(530, Paris(d, 15), 600'000 + d, 700 + d % 3).action, Action::kRecord);
  }
  // Taking over one departing colleague's caseload: 60 files, one colleague.
  for (int i = 0; i < 60; ++i) {
    const Verdict v = ReadOf(531, Paris(14, 9) + i * 5 * kMin, 800'000 + i, 799);
    EXPECT_LT(v.action, Action::kRecord) << v.explanation;
  }
  // A stolen account reading the structure's files a few an hour, each from
  // a different colleague's caseload, never more than 4 in 10 minutes.
  Verdict v;
  int released = 0;
  for (int i = 0; i < 40; ++i) {
    v = ReadOf(530, Paris(14, 9) + i * 4 * kMin, 900'000 + i * 13, 1000 + i);
    if (v.action >= Action::kThrottle) break;
    ++released;
  }
  EXPECT_GE(v.action, Action::kThrottle) << v.explanation;
  EXPECT_LE(released, 25);
  EXPECT_THAT(v.signals, Contains("spread"));
  EXPECT_THAT(v.explanation, HasSubstr("read files from the caseloads of"));
  EXPECT_THAT(v.explanation, HasSubstr("different colleagues in 24 hours"));
}

TEST_F(GuardTest, SpreadCountsOnlyColleaguesOfTheSameStructure) {
  guard_->RegisterAccount(Counsellor(560));
  AccountProfile elsewhere = Counsellor(0);
  elsewhere.structure = StructureId(77);
  for (int64_t id = 2000; id < 2040; ++id) {
    elsewhere.account = AccountId(id);
    guard_->RegisterAccount(elsewhere);
  }
  // 40 files a few an hour, each followed by a counsellor of another structure
  // (or by nobody the guard knows): not the spread across one's colleagues.
  for (int i = 0; i < 40; ++i) {
    const int64_t referent = i % 2 == 0 ? 2000 + i : 5000 + i;
    const Verdict v = ReadOf(560, Paris(14, 9) + i * 4 * kMin, 910'000 + i * 13, referent);
    EXPECT_THAT(v.signals, Not(Contains("spread"))) << v.explanation;
  }
}

TEST_F(GuardTest, AnotherAccountFromTheNetworkOfAFlaggedOneScoresHigher) {
  for (int64_t id : {540, 541, 542}) guard_->RegisterAccount(Counsellor(id));
  std::mt19937 rng(5);
  for (int64_t id : {540, 541, 542}) OrdinaryDays(id, 0, 10, id * 1000, 100, rng);
  // 540 reads a burst from a network it never used, at night: flagged.
  Verdict v;
  UnixMicros t = Paris(10, 23);
  for (int i = 0; i < 40 && v.action < Action::kAlert; ++i, t += 30'000'000) v = Read(540, t, 700'000 + i, "193.32.162.9");
  ASSERT_GE(v.action, Action::kAlert) << v.explanation;
  // 541 shows up from the same /24, also new to it: the same hands?
  const Verdict w = Read(541, t + kMin, 541'000, "193.32.162.44");
  EXPECT_THAT(w.signals, Contains("network_under_alert")) << w.explanation;
  EXPECT_THAT(w.explanation, HasSubstr("from which account 540 was flagged"));
  // 542 from its usual network: nothing of the kind.
  EXPECT_THAT(Read(542, t + kMin, 542'000).signals, Not(Contains("network_under_alert")));
  // The flagged network survives a save/load.
  std::string saved;
  ASSERT_TRUE(guard_->SaveState(&saved).ok());
  auto restored = Guard::Create(GuardConfig::Default(), clock_);
  ASSERT_TRUE(restored->LoadState(saved).ok());
  persons_ = {PersonId(542'001)};
  Access a;
  a.time = t + 2 * kMin;
  a.account = AccountId(542);
  a.source = "193.32.162.77";
  a.persons = persons_;
  EXPECT_THAT(restored->Assess(a).signals, Contains("network_under_alert"));
}

TEST_F(GuardTest, SaveLoadKeepsEpisodesAndSpread) {
  guard_->RegisterAccount(Technical(550, Utc(2023, 1, 1, 0, 0)));
  guard_->RegisterAccount(Counsellor(551));
  for (int64_t id : {400, 401, 402, 403, 404, 600, 601, 602}) guard_->RegisterAccount(Counsellor(id));
  // 550: one refusal episode; 551: a day of reading several colleagues' files.
  Verdict v;
  UnixMicros t = Paris(1, 14);
  int i = 0;
  for (; i < 200 && v.action < Action::kThrottle; ++i, t += 2'000'000) v = Read(550, t, 10 + i * 7);
  ASSERT_EQ(v.action, Action::kThrottle);
  for (int k = 0; k < 5; ++k) ReadOf(551, Paris(1, 10) + k * kHour, 300 + k * 41, 400 + k);
  std::string saved;
  ASSERT_TRUE(guard_->SaveState(&saved).ok());
  auto restored = Guard::Create(GuardConfig::Default(), clock_);
  ASSERT_TRUE(restored->LoadState(saved).ok());
  for (Guard* g : {guard_.get(), restored.get()}) {
    // 550 resumes after the pause: its second episode suspends, also after a restart.
    UnixMicros u = t + 30 * kMin;
    Verdict w;
    for (int k = 0; k < 200 && w.action < Action::kThrottle; ++k, u += 2'000'000) {
      persons_ = {PersonId(50'000 + k)};
      Access a;
      a.time = u;
      a.account = AccountId(550);
      a.source = "10.1.2.3";
      a.persons = persons_;
      w = g->Assess(a);
    }
    EXPECT_EQ(w.action, Action::kSuspend) << w.explanation;
    // 551's colleagues of the day are remembered: three more make 8.
    Verdict last;
    for (int k = 0; k < 3; ++k) {
      persons_ = {PersonId(2000 + k * 53)};
      Access b;
      b.time = Paris(1, 16) + k * 20 * kMin;
      b.account = AccountId(551);
      b.source = "10.1.2.3";
      b.persons = persons_;
      b.referent = AccountId(600 + k);
      last = g->Assess(b);
    }
    EXPECT_THAT(last.signals, Contains("spread"));
    EXPECT_THAT(last.explanation, HasSubstr("caseloads of 8 different colleagues")) << last.explanation;
  }
}

TEST_F(GuardTest, CorruptStateIsDataLossNotACrash) {
  guard_->RegisterAccount(Counsellor(1));
  Read(1, Paris(0, 10), 1);
  std::string saved;
  ASSERT_TRUE(guard_->SaveState(&saved).ok());
  std::vector<std::string> bad = {"", "garbage", "CLOISON-GUARD-STATE 1 0000000000000000\n{}",
                                  saved.substr(0, saved.size() / 2), "CLOISON-GUARD-STATE 9 00\n{}"};
  std::string flipped = saved;
  flipped[flipped.size() - 10] ^= 0x20;
  bad.push_back(flipped);
  // A valid checksum over a body of the wrong shape.
  auto fnv = [](std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
  };
  for (std::string body : {std::string("{\"version\":1}"), std::string("[1,2,3]"), std::string("{\"version\":\"x\"}")}) {
    char hdr[64];
    std::snprintf(hdr, sizeof hdr, "CLOISON-GUARD-STATE 1 %016llx\n", static_cast<unsigned long long>(fnv(body)));
    bad.push_back(hdr + body);
  }
  auto fresh = Guard::Create(GuardConfig::Default(), clock_);
  for (const std::string& in : bad) {
    Status st = fresh->LoadState(in);
    EXPECT_TRUE(IsCorruption(st)) << in.substr(0, 60) << " -> " << st;
  }
  // A failed load leaves the guard usable and empty.
  EXPECT_FALSE(fresh->UnderAlert(AccountId(1)));
  EXPECT_TRUE(fresh->LoadState(saved).ok());
}

// Many threads assessing the same account and others at once (the server's
// handler threads): no update is lost under the shard locks.
TEST_F(GuardTest, ConcurrentAccessesToOneAccountAreAllCounted) {
  guard_->RegisterAccount(Counsellor(1));
  for (int64_t other = 2; other <= 8; ++other) guard_->RegisterAccount(Counsellor(other));
  constexpr int kThreads = 4, kEach = 50;
  const UnixMicros t = Paris(0, 10);
  std::vector<std::thread> ts;
  for (int th = 0; th < kThreads; ++th) {
    ts.emplace_back([&, th] {
      for (int i = 0; i < kEach; ++i) {
        const PersonId p(100'000 + th * kEach + i);  // distinct people across threads
        Access a;
        a.time = t;
        a.account = AccountId(1);
        a.persons = std::span<const PersonId>(&p, 1);
        guard_->Observe(a);
        Access b = a;  // and another account, through another shard most likely
        b.account = AccountId(2 + (i % 7));
        guard_->Observe(b);
      }
    });
  }
  for (auto& x : ts) x.join();
  Verdict v = Read(1, t, 999'999);
  EXPECT_THAT(v.explanation, HasSubstr(StrCat("read ", kThreads * kEach + 1, " distinct people")));
}

}  // namespace
}  // namespace cloison::guard
