// Reach counting on the hand-built network of tests/policy/fixture.h, checked
// against policy::Engine::Decide person by person (the brute force the
// analysis exists to avoid).
#include "exposure/exposure.h"

#include <gtest/gtest.h>

#include <set>

#include "../policy/fixture.h"
#include "iam/policy_principal.h"

namespace cloison::exposure {
namespace {

using namespace policy::testing;
constexpr int64_t kDayUs = 86400LL * 1'000'000;
constexpr UnixMicros kNow = 1'760'000'000LL * 1'000'000;  // 2025-10-09

iam::Account Human(int64_t id, const char* name, int64_t structure, std::vector<Role> roles) {
  iam::Account a;
  a.id = AccountId(id);
  a.kind = iam::AccountKind::kHuman;
  a.structure = StructureId(structure);
  a.username = name;
  a.roles = std::move(roles);
  a.status = iam::AccountStatus::kActive;
  return a;
}

iam::Account Tech(int64_t id, const char* name, int64_t structure, const char* purpose) {
  iam::Account a = Human(id, name, structure, {});
  a.kind = iam::AccountKind::kTechnical;
  a.technical.purpose = purpose;
  a.technical.scopes = {"orientations:read"};
  a.technical.networks = {"10.0.0.0/8"};
  a.technical.expires_at = kNow + 30 * kDayUs;
  return a;
}

class ExposureTest : public ::testing::Test {
 protected:
  void SetUp() override { BuildNetwork(index_); }

  Report Run(const std::vector<iam::Account>& accounts, const char* today = "2025-10-15",
             const policy::Policy& policy = policy::Policy::Default(), const Usage* usage = nullptr) {
    std::vector<AccountInput> in;
    for (const auto& a : accounts) in.push_back({a, false});
    Options o;
    o.now = kNow;
    o.today = D(today);
    o.usage = usage;
    auto r = Analyse(policy, index_, in, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : Report{};
  }

  static const AccountExposure& Of(const Report& r, const std::string& name) {
    for (const auto& e : r.accounts)
      if (e.username == name) return e;
    ADD_FAILURE() << "no account " << name;
    static AccountExposure none;
    return none;
  }

  // People the account can read today according to the engine itself, over
  // every non-aggregate purpose without a second approver.
  int64_t BruteForce(const iam::Account& a, const char* today, const policy::Policy& policy = policy::Policy::Default()) {
    policy::Engine engine(policy, index_);
    const policy::Principal p = iam::ToPolicyPrincipal(a, kNow);
    std::set<int64_t> people;
    for (size_t i = 0; i < policy.purposes().size(); ++i) {
      const auto& pd = policy.purposes()[i];
      if (pd.aggregates_only || pd.break_glass || pd.dual_control) continue;
      for (int64_t person = 100; person <= 110; ++person)
        if (engine.Decide(p, PersonId(person), static_cast<policy::PurposeId>(i), D(today)).allowed)
          people.insert(person);
    }
    return static_cast<int64_t>(people.size());
  }

  policy::RelationIndex index_;
};

TEST_F(ExposureTest, CounsellorCaseloadAndStructureOverlapCountedOnce) {
  // 1001 at ML-67-003: followed there are 101 (its own case) and 103 (also
  // followed by FT-67-001); its caseload is 101 and 104 (moved to ML-67-004).
  const auto c = Human(kCounsellorMl3, "c.ml3", kMl3, {Role::kCounsellor});
  Report r = Run({c});
  const AccountExposure& e = Of(r, "c.ml3");
  EXPECT_EQ(r.people_total, 6);
  EXPECT_EQ(e.direct_people, 3);  // {101, 103} ∪ {101, 104}
  EXPECT_EQ(e.direct_people, BruteForce(c, "2025-10-15"));
  EXPECT_EQ(e.categories, (std::vector<std::string>{"identity", "contact", "pathway", "nir (reveal-only)"}));
  EXPECT_EQ(e.narrowing_people, 1);
  EXPECT_NE(e.narrowing.find("own caseload 2"), std::string::npos) << e.narrowing;
  EXPECT_FALSE(e.used_people.has_value());
  EXPECT_EQ(e.indirect_alone_people, 0);
  // Anybody may request a bulk export of its structure: with one approver.
  EXPECT_EQ(e.with_one_approver_people, 2);  // a bulk export of ML-67-003: {101, 103}
}

TEST_F(ExposureTest, ProbationCounsellorReachesOnlyItsCaseloadAndANewOneNobody) {
  auto c = Human(kCounsellorMl3, "c.ml3", kMl3, {Role::kCounsellor});
  c.probation_until = kNow + 14 * kDayUs;
  auto fresh = Human(1009, "new.ml3", kMl3, {Role::kCounsellor});
  fresh.probation_until = kNow + 14 * kDayUs;
  Report r = Run({c, fresh});
  EXPECT_TRUE(Of(r, "c.ml3").probation);
  EXPECT_EQ(Of(r, "c.ml3").direct_people, 2);
  EXPECT_EQ(Of(r, "c.ml3").direct_people, BruteForce(c, "2025-10-15"));
  EXPECT_EQ(Of(r, "new.ml3").direct_people, 0);
  EXPECT_EQ(BruteForce(fresh, "2025-10-15"), 0);
  EXPECT_TRUE(Of(r, "new.ml3").categories.empty());
}

TEST_F(ExposureTest, PartnerActiveAndExpiredOrientations) {
  const auto p = Human(kPartnerOf12, "p.of12", kOf12, {Role::kPartnerUser});
  const auto t = Tech(kTechOf12, "sync.of12", kOf12, "enrolment_sync");
  // 102 accepted, 105 proposed (session ends 2025-12-31); 106 at the site (a
  // child structure, not covered); 101 refused.
  for (const char* day : {"2025-08-01", "2025-09-03", "2025-10-15", "2026-01-15", "2026-02-15"}) {
    Report r = Run({p, t}, day);
    EXPECT_EQ(Of(r, "p.of12").direct_people, BruteForce(p, day)) << day;
    EXPECT_EQ(Of(r, "sync.of12").direct_people, BruteForce(t, day)) << day;
  }
  EXPECT_EQ(Of(Run({p}, "2025-10-15"), "p.of12").direct_people, 2);
  EXPECT_EQ(Of(Run({p}, "2026-01-15"), "p.of12").direct_people, 1);  // enrolment grace only
  EXPECT_EQ(Of(Run({p}, "2026-02-15"), "p.of12").direct_people, 0);  // all expired
  EXPECT_EQ(Of(Run({t}, "2025-10-15"), "sync.of12").direct_people, 1);
  // A pending or expired technical account reads nothing.
  auto pending = t;
  pending.status = iam::AccountStatus::kPending;
  EXPECT_EQ(Of(Run({pending}), "sync.of12").direct_people, 0);
  auto expired = t;
  expired.technical.expires_at = kNow - 1;
  EXPECT_FALSE(Of(Run({expired}), "sync.of12").can_authenticate);
  EXPECT_EQ(Of(Run({expired}), "sync.of12").direct_people, 0);
}

TEST_F(ExposureTest, AccessManagerReachesNobodyAloneAndNeedsAnApproverAbove) {
  const auto am = Human(kAccessManagerMl3, "am.ml3", kMl3, {Role::kAccessManager});
  const auto so = Human(kSecurityOfficer, "so.dr", kDr, {Role::kSecurityOfficer});
  Report r = Run({am, so});
  const AccountExposure& e = Of(r, "am.ml3");
  EXPECT_EQ(e.direct_people, 0);
  EXPECT_EQ(e.indirect_alone_people, 0);
  EXPECT_EQ(e.indirect_alone_after_probation_people, 2);  // a counsellor it creates, 14 days later
  EXPECT_EQ(e.with_one_approver_people, 2);               // F(ML-67-003)
  EXPECT_EQ(e.with_one_approver, "security officer at DR-GE (so.dr)");
  EXPECT_EQ(e.blast_radius, 0);
  bool create = false;
  for (const auto& p : e.paths)
    if (p.kind == PathKind::kCreateCounsellor) {
      create = true;
      EXPECT_TRUE(p.alone);
      EXPECT_EQ(p.people, 0);
    } else {
      EXPECT_FALSE(p.alone);
    }
  EXPECT_TRUE(create);
  // An approver created by the access manager is not independent.
  auto tied = so;
  tied.created_by = am.id;
  EXPECT_EQ(Of(Run({am, tied}), "am.ml3").with_one_approver, "security officer at DR-GE or above (none eligible today)");
}

TEST_F(ExposureTest, SecurityOfficerBreakGlassAndApprovePaths) {
  const auto so = Human(kSecurityOfficer, "so.dr", kDr, {Role::kSecurityOfficer});
  Report r = Run({so});
  const AccountExposure& e = Of(r, "so.dr");
  EXPECT_EQ(e.direct_people, 0);
  EXPECT_EQ(e.second_approver_people, 6);  // investigation: relation any
  EXPECT_EQ(e.indirect_alone_people, 0);
  EXPECT_EQ(e.with_one_approver_people, 6);  // everybody followed below DR-GE
  EXPECT_EQ(e.narrowing, "reads only with a second approver (break-glass)");
}

TEST_F(ExposureTest, SubtreeRuleCountsEachPersonOnce) {
  const char* kPolicy = R"(
version = 1
[purpose.accompaniment]
[role.counsellor]
read_people = true
[[rule]]
id = "direction-wide"
role = "counsellor"
relation = "followed"
purpose = "accompaniment"
include_child_structures = true
categories = ["identity"]
[[rule]]
id = "of-wide"
role = "partner_user"
relation = "orientation"
purpose = "accompaniment"
include_child_structures = true
orientation_statuses = ["accepted", "enrolled", "proposed"]
categories = ["identity"]
[role.partner_user]
read_people = true
)";
  auto policy = policy::Policy::Parse(kPolicy, "test.toml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  const auto dr = Human(kCounsellorDr, "c.dr", kDr, {Role::kCounsellor});
  const auto nat = Human(7001, "c.nat", kNat, {Role::kCounsellor});
  const auto ml4 = Human(kCounsellorMl4, "c.ml4", kMl4, {Role::kCounsellor});
  const auto of12 = Human(kPartnerOf12, "p.of12", kOf12, {Role::kPartnerUser});
  Report r = Run({dr, nat, ml4, of12}, "2025-10-15", *policy);
  // 103 is followed by FT-67-001 and ML-67-003, both below DR-GE: once.
  EXPECT_EQ(Of(r, "c.dr").direct_people, 6);
  EXPECT_EQ(Of(r, "c.nat").direct_people, 6);
  EXPECT_EQ(Of(r, "c.ml4").direct_people, 3);
  EXPECT_EQ(Of(r, "p.of12").direct_people, 3);  // 102, 105 and 106 at its site
  for (const auto& a : {dr, nat, ml4, of12})
    EXPECT_EQ(Of(r, a.username).direct_people, BruteForce(a, "2025-10-15", *policy)) << a.username;
}

TEST_F(ExposureTest, UsageGivesTheNarrowingAndRankingIsByBlastRadius) {
  const auto c = Human(kCounsellorMl3, "c.ml3", kMl3, {Role::kCounsellor});
  const auto p = Human(kPartnerOf12, "p.of12", kOf12, {Role::kPartnerUser});
  const auto am = Human(kAccessManagerMl3, "am.ml3", kMl3, {Role::kAccessManager});
  Usage u;
  u.window = "2025-10-01..2025-10-15";
  u.people_read[kCounsellorMl3] = 1;
  Report r = Run({am, p, c}, "2025-10-15", policy::Policy::Default(), &u);
  ASSERT_EQ(r.accounts.size(), 3u);
  EXPECT_EQ(r.accounts[0].username, "c.ml3");
  EXPECT_EQ(r.accounts[1].username, "p.of12");
  EXPECT_EQ(r.accounts[2].username, "am.ml3");
  EXPECT_EQ(r.accounts[0].used_people, 1);
  EXPECT_EQ(r.accounts[0].narrowing_people, 2);
  EXPECT_FALSE(r.accounts[1].used_people.has_value());
}

TEST(UsageTest, SingleReadsAreOpenedPagesAreListed) {
  EXPECT_EQ(ClassifyRead(""), ReadKind::kOpened);        // GET /v1/people/{id}, writes
  EXPECT_EQ(ClassifyRead("read"), ReadKind::kOpened);
  EXPECT_EQ(ClassifyRead("reveal"), ReadKind::kOpened);
  EXPECT_EQ(ClassifyRead("list"), ReadKind::kListed);    // caseload, orientations pages
  EXPECT_EQ(ClassifyRead("search"), ReadKind::kListed);
  EXPECT_EQ(ClassifyRead("export"), ReadKind::kListed);  // an unknown page kind is not "opened"
}

TEST_F(ExposureTest, UsageFromReadsKeepsOpenedPeopleInReachAndListsApart) {
  const auto c = Human(kCounsellorMl3, "c.ml3", kMl3, {Role::kCounsellor});
  const auto p = Human(kPartnerOf12, "p.of12", kOf12, {Role::kPartnerUser});
  const auto so = Human(kSecurityOfficer, "so.dr", kDr, {Role::kSecurityOfficer});
  const auto am = Human(kAccessManagerMl3, "am.ml3", kMl3, {Role::kAccessManager});
  const AccountId cid(kCounsellorMl3), sid(kSecurityOfficer);
  auto ids = [](std::initializer_list<int64_t> v) {
    std::vector<PersonId> out;
    for (int64_t x : v) out.emplace_back(x);
    return out;
  };
  UsageBuilder b("2025-09-16..2025-10-15");
  for (const auto* a : {&c, &p, &so}) b.AddAccount(a->id);  // am: not covered, stays unknown
  b.AddRead(cid, ClassifyRead(""), ids({101}));
  b.AddRead(cid, ClassifyRead("reveal"), ids({101}));  // the same person again: counted once
  b.AddRead(cid, ClassifyRead(""), ids({105}));         // ML-67-004's, no longer in its reach
  b.AddRead(cid, ClassifyRead("list"), ids({101, 103, 106}));
  b.AddRead(cid, ClassifyRead("search"), ids({106, 102}));
  b.AddRead(sid, ClassifyRead(""), ids({104}));  // a break-glass read
  const Usage u = std::move(b).Finish();
  EXPECT_EQ(u.people_read.at(kCounsellorMl3), 2);
  EXPECT_EQ(u.people_listed.at(kCounsellorMl3), 3);  // 103, 106, 102: 101 was opened
  EXPECT_EQ(u.people_read.at(kPartnerOf12), 0);
  EXPECT_EQ(u.people_listed.count(kPartnerOf12), 0u);
  EXPECT_EQ(u.people_read.count(kAccessManagerMl3), 0u);

  Report r = Run({c, p, so, am}, "2025-10-15", policy::Policy::Default(), &u);
  EXPECT_EQ(r.usage_window, "2025-09-16..2025-10-15");
  const AccountExposure& ce = Of(r, "c.ml3");
  ASSERT_EQ(ce.direct_people, 3);  // {101, 103, 104}
  EXPECT_EQ(ce.used_people, 2);
  EXPECT_EQ(ce.listed_people, 3);
  EXPECT_EQ(ce.used_outside_reach_people, 1);  // 105
  // Only 101 of its reach was needed: the other two go. (Counting 105 as
  // "kept" would have cut one person too few.)
  EXPECT_EQ(ce.narrowing_people, 2);
  EXPECT_EQ(ce.narrowing,
            "read 2 of 3 in 2025-09-16..2025-10-15: least privilege would cut 2; 3 more only seen in listings; "
            "1 of those read are out of its reach today");

  const AccountExposure& pe = Of(r, "p.of12");
  EXPECT_EQ(pe.used_people, 0);
  EXPECT_EQ(pe.listed_people, 0);
  EXPECT_EQ(pe.narrowing_people, pe.direct_people);
  EXPECT_GT(pe.direct_people, 0);
  EXPECT_NE(pe.narrowing.find("read 0 of "), std::string::npos) << pe.narrowing;

  const AccountExposure& se = Of(r, "so.dr");
  EXPECT_EQ(se.direct_people, 0);
  EXPECT_EQ(se.used_people, 1);
  EXPECT_EQ(se.used_outside_reach_people, 0);  // inside its break-glass reach
  EXPECT_EQ(se.narrowing, "reads only with a second approver (break-glass); read 1 in 2025-09-16..2025-10-15");

  const AccountExposure& ae = Of(r, "am.ml3");
  EXPECT_FALSE(ae.used_people.has_value());
  EXPECT_FALSE(ae.listed_people.has_value());
  EXPECT_EQ(ae.narrowing, "reads nothing");
}

TEST(PolicyPrincipalTest, ConvertsAuthenticatedPrincipals) {
  iam::Principal h;
  h.id = AccountId(7);
  h.structure = StructureId(3);
  h.roles = {Role::kCounsellor};
  h.in_probation = true;
  policy::Principal p = iam::ToPolicyPrincipal(h);
  EXPECT_EQ(p.account, AccountId(7));
  EXPECT_EQ(p.kind, policy::AccountKind::kHuman);
  EXPECT_TRUE(p.HasRole(Role::kCounsellor));
  EXPECT_TRUE(p.probation);
  iam::Principal t;
  t.id = AccountId(8);
  t.kind = iam::AccountKind::kTechnical;
  t.roles = {Role::kCounsellor};  // ignored
  t.purpose = "enrolment_sync";
  p = iam::ToPolicyPrincipal(t);
  EXPECT_EQ(p.kind, policy::AccountKind::kTechnical);
  EXPECT_TRUE(p.roles.empty());
  EXPECT_TRUE(p.HoldsIntegrationPurpose("enrolment_sync"));
  t.purpose.clear();
  EXPECT_TRUE(iam::ToPolicyPrincipal(t).integration_purposes.empty());
}

}  // namespace
}  // namespace cloison::exposure
