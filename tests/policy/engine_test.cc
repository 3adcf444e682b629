#include "policy/engine.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "core/strings.h"
#include "fixture.h"

namespace cloison::policy {
namespace {

using namespace testing;
using OS = OrientationStatus;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { BuildNetwork(index_); }
  PurposeId P(const char* name) const {
    auto p = policy_.FindPurpose(name);
    EXPECT_TRUE(p) << name;
    return p.value_or(PurposeId{});
  }
  FieldBits Fields(std::vector<std::string> names) const { return *policy_.FieldsNamed(names); }
  Decision Decide(const Principal& who, int64_t person, const char* purpose, const char* today = "2025-10-15",
                  const RevealRequest* r = nullptr) const {
    return engine_.Decide(who, PersonId(person), P(purpose), D(today), r);
  }

  const Policy& policy_ = Policy::Default();
  RelationIndex index_;
  Engine engine_{policy_, index_};
};

// --- Each role x relation x purpose, against the shipped default policy. -----

// For one role: the principal, and one person related to it only through each
// relation (0 = no such person for that role's structure).
struct RoleCase {
  Role role;
  int64_t account;
  int64_t structure;
};

TEST_F(EngineTest, EveryRoleRelationPurposeOfTheDefaultPolicy) {
  // Fresh people so that each is related to the principal through exactly one relation.
  // 201 followed by ML-67-003; 202 referent counsellor 1001 but followed by ML-67-004;
  // 203 accepted orientation to OF-67-0012's session, followed by FT-67-002; 204 unrelated (FT-67-002).
  ASSERT_TRUE(index_.OnPersonFollowed(PersonId(201), StructureId(kMl3), std::nullopt).ok());
  ASSERT_TRUE(index_.OnPersonFollowed(PersonId(202), StructureId(kMl4), AccountId(kCounsellorMl3)).ok());
  ASSERT_TRUE(index_.OnPersonFollowed(PersonId(203), StructureId(kFt2), std::nullopt).ok());
  ASSERT_TRUE(index_.OnOrientationChanged(O(90, 203, 1, OS::kAccepted, "2025-09-01")).ok());
  ASSERT_TRUE(index_.OnPersonFollowed(PersonId(204), StructureId(kFt2), std::nullopt).ok());

  // Each role is given the same account id and a structure in turn, so that
  // every relation can hold: ML-67-003 (followed, referent) and OF-67-0012 (orientation).
  const std::map<std::string, int64_t> person_of = {
      {"followed", 201}, {"referent", 202}, {"orientation", 203}, {"none", 204}};
  const std::string purposes[] = {"accompaniment", "training_orientation", "training_enrolment",
                                  "statistics",    "investigation",        "enrolment_sync"};
  const Role roles[] = {Role::kCounsellor, Role::kAccessManager, Role::kSecurityOfficer,
                        Role::kDpo,        Role::kPartnerUser,   Role::kAuditor};
  // Expected allowed (role, relation, purpose) -> rule id. Everything else is denied.
  const std::map<std::tuple<std::string, std::string, std::string>, std::string> allowed = {
      {{"counsellor", "followed", "accompaniment"}, "counsellor-accompaniment"},
      {{"counsellor", "referent", "accompaniment"}, "counsellor-referent-accompaniment"},
      {{"counsellor", "followed", "training_orientation"}, "counsellor-training-orientation"},
      {{"counsellor", "followed", "statistics"}, "counsellor-statistics"},
      {{"partner_user", "orientation", "training_enrolment"}, "partner-enrolment"},
      // Break-glass needs no relation.
      {{"security_officer", "followed", "investigation"}, "security-investigation"},
      {{"security_officer", "referent", "investigation"}, "security-investigation"},
      {{"security_officer", "orientation", "investigation"}, "security-investigation"},
      {{"security_officer", "none", "investigation"}, "security-investigation"},
  };
  RevealRequest just;
  just.justification = "incident 2025-117: suspected account takeover";
  just.approved_by = AccountId(kSecurityOfficer2);
  int checked = 0;
  for (Role role : roles) {
    for (const auto& [relation, person] : person_of) {
      // Orientation relations are held by a training organisation; the others by ML-67-003.
      const int64_t structure = relation == "orientation" ? kOf12 : kMl3;
      const Principal who = Human(kCounsellorMl3, structure, {role});
      for (const std::string& purpose : purposes) {
        const Decision d = engine_.Decide(who, PersonId(person), P(purpose.c_str()), D("2025-10-15"), &just);
        auto it = allowed.find({std::string(RoleName(role)), relation, purpose});
        SCOPED_TRACE(StrCat(RoleName(role), " x ", relation, " x ", purpose, ": ", engine_.Reason(d)));
        ++checked;
        if (it == allowed.end()) {
          EXPECT_FALSE(d.allowed);
          EXPECT_TRUE(d.fields.empty());
          continue;
        }
        ASSERT_TRUE(d.allowed);
        ASSERT_GE(d.rule, 0);
        const Rule& rule = policy_.rules()[d.rule];
        EXPECT_EQ(rule.id, it->second);
        // Exactly the rule's fields: the reveal-only ones are not released without a reveal.
        EXPECT_EQ(d.fields, rule.fields);
        EXPECT_EQ(d.aggregates_only, purpose == "statistics");
      }
    }
  }
  EXPECT_EQ(checked, 6 * 4 * 6);
}

// --- Relations and their reasons. --------------------------------------------

TEST_F(EngineTest, CounsellorReadsPeopleFollowedByItsStructure) {
  const Principal c = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  Decision d = Decide(c, 101, "accompaniment");
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_EQ(engine_.Reason(d),
            "rule 'counsellor-accompaniment': person 101 is followed by structure ML-67-003 (yours)");
  EXPECT_FALSE(d.fields.has(*policy_.catalog().IndexOf("nir")));
  EXPECT_TRUE(d.fields.has(*policy_.catalog().IndexOf("email")));

  // Followed through a further follow-up structure.
  d = Decide(c, 103, "accompaniment");
  ASSERT_TRUE(d.allowed);
  EXPECT_TRUE(d.via_other_structure);
  EXPECT_NE(engine_.Reason(d).find("person 103 is also followed by structure ML-67-003 (yours)"), std::string::npos);
}

TEST_F(EngineTest, CounsellorOfAnotherStructureIsDeniedWithTheReason) {
  const Principal c = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  const Decision d = Decide(c, 102, "accompaniment");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kNoRelation);
  EXPECT_EQ(engine_.Reason(d), "rule 'counsellor-accompaniment': no relation: person 102 is followed by ML-67-004, "
                               "not by your structure ML-67-003");
}

TEST_F(EngineTest, ReferentCounsellorKeepsAccessButCannotRevealThroughThatRule) {
  const Principal c = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  Decision d = Decide(c, 104, "accompaniment");
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_EQ(policy_.rules()[d.rule].id, "counsellor-referent-accompaniment");
  EXPECT_NE(engine_.Reason(d).find("is the referent counsellor of person 104"), std::string::npos);
  RevealRequest r;
  r.fields = Fields({"nir"});
  r.justification = "the person asked for her certificate";
  d = Decide(c, 104, "accompaniment", "2025-10-15", &r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kRevealNotAllowed);
  EXPECT_EQ(d.refused_reveal, Fields({"nir"}));
}

TEST_F(EngineTest, NirOnlyThroughAnExplicitJustifiedReveal) {
  const Principal c = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  const size_t nir = *policy_.catalog().IndexOf("nir");
  RevealRequest r;
  r.fields = Fields({"nir"});
  Decision d = Decide(c, 101, "accompaniment", "2025-10-15", &r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kJustificationRequired);
  r.justification = "   too short    ";
  EXPECT_EQ(Decide(c, 101, "accompaniment", "2025-10-15", &r).deny, DenyReason::kJustificationRequired);
  r.justification = "CAF file requires the NIR for the RSA application";
  d = Decide(c, 101, "accompaniment", "2025-10-15", &r);
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_TRUE(d.fields.has(nir));
  EXPECT_EQ(d.revealed, Fields({"nir"}));
  EXPECT_NE(engine_.Explain(d).find("revealed: nir"), std::string::npos);
  // Reveal of something the rule does not list under reveal.
  r.fields = Fields({"nir", "email"});
  EXPECT_EQ(Decide(c, 101, "accompaniment", "2025-10-15", &r).deny, DenyReason::kRevealNotAllowed);
  // On probation: no reveal at all.
  Principal newbie = c;
  newbie.probation = true;
  r.fields = Fields({"nir"});
  EXPECT_EQ(Decide(newbie, 101, "accompaniment", "2025-10-15", &r).deny, DenyReason::kRevealOnProbation);
  EXPECT_TRUE(Decide(newbie, 101, "accompaniment").allowed);  // plain reads stay allowed
}

// --- Partners: own candidates only, enrolment fields only, inside the window. --

TEST_F(EngineTest, PartnerSeesOnlyItsOwnCandidatesAndOnlyTheEnrolmentFields) {
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  const Principal of99 = Human(kPartnerOf99, kOf99, {Role::kPartnerUser});
  Decision d = Decide(of12, 102, "training_enrolment");
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_EQ(d.fields, Fields({"nom", "prenom", "date_naissance", "ft_id", "email", "telephone"}));
  EXPECT_EQ(engine_.Reason(d),
            "rule 'partner-enrolment': active orientation 55 (accepted) of person 102 to session OF-67-0012-S3 of "
            "your organisation OF-67-0012, valid 2025-09-01..2026-01-30");
  // Not another organisation's candidate.
  d = Decide(of99, 102, "training_enrolment");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kNoRelation);
  EXPECT_NE(engine_.Reason(d).find("has no orientation to a session of your organisation OF-67-0099"),
            std::string::npos);
  EXPECT_TRUE(Decide(of99, 104, "training_enrolment").allowed);
  EXPECT_FALSE(Decide(of12, 104, "training_enrolment").allowed);
  // Not for any other purpose, and never the NIR.
  for (const char* p : {"accompaniment", "statistics", "investigation", "enrolment_sync"})
    EXPECT_FALSE(Decide(of12, 102, p).allowed) << p;
  RevealRequest r;
  r.fields = Fields({"nir"});
  r.justification = "we need it for the training contract";
  EXPECT_EQ(Decide(of12, 102, "training_enrolment", "2025-10-15", &r).deny, DenyReason::kRevealNotAllowed);
  // People not oriented to it at all.
  for (int64_t person : {101, 103, 999})
    EXPECT_FALSE(Decide(of12, person, "training_enrolment").allowed) << person;
}

TEST_F(EngineTest, ProposedCandidateVisibleForOrientationOnlyWithFewerFields) {
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  Decision d = Decide(of12, 105, "training_orientation");
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_EQ(d.fields, Fields({"nom", "prenom", "commune"}));
  d = Decide(of12, 105, "training_enrolment");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kOrientationStatus);
  EXPECT_NE(engine_.Reason(d).find("is proposed"), std::string::npos);
}

TEST_F(EngineTest, RefusedOrientationIsDenied) {
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  const Decision d = Decide(of12, 101, "training_enrolment");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kOrientationStatus);
  EXPECT_EQ(d.orientation, OrientationId(56));
  EXPECT_NE(engine_.Reason(d).find("orientation 56 of person 101 to session OF-67-0012-S3 is refused"),
            std::string::npos);
  EXPECT_FALSE(Decide(of12, 101, "training_orientation").allowed);
}

TEST_F(EngineTest, ExpiredOrientationIsDenied) {
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  // Session ends 2025-12-31, the rule adds 30 days: the last day is 2026-01-30.
  EXPECT_TRUE(Decide(of12, 102, "training_enrolment", "2026-01-30").allowed);
  Decision d = Decide(of12, 102, "training_enrolment", "2026-01-31");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kOrientationExpired);
  EXPECT_NE(engine_.Reason(d).find("outside its validity window 2025-09-01..2026-01-30"), std::string::npos);
  // Before it was proposed.
  EXPECT_EQ(Decide(of12, 102, "training_enrolment", "2025-08-31").deny, DenyReason::kOrientationExpired);
}

TEST_F(EngineTest, OrientationUpdatesApplyImmediately) {
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  ASSERT_TRUE(Decide(of12, 102, "training_enrolment").allowed);
  ASSERT_TRUE(index_.OnOrientationChanged(O(55, 102, 1, OS::kAbandoned, "2025-09-01")).ok());
  EXPECT_EQ(Decide(of12, 102, "training_enrolment").deny, DenyReason::kOrientationStatus);
  ASSERT_TRUE(index_.OnOrientationChanged(O(55, 102, 1, OS::kEnrolled, "2025-09-01")).ok());
  EXPECT_TRUE(Decide(of12, 102, "training_enrolment").allowed);
  EXPECT_EQ(index_.orientation_count(), 5u);
}

TEST_F(EngineTest, FollowUpUpdatesApplyImmediately) {
  const Principal c3 = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  const Principal c4 = Human(kCounsellorMl4, kMl4, {Role::kCounsellor});
  ASSERT_TRUE(Decide(c4, 102, "accompaniment").allowed);
  ASSERT_TRUE(index_.OnPersonFollowed(PersonId(102), StructureId(kMl3), std::nullopt).ok());
  EXPECT_TRUE(Decide(c3, 102, "accompaniment").allowed);
  EXPECT_FALSE(Decide(c4, 102, "accompaniment").allowed);
  // Replacing the further follow-up structures drops the old ones, keeps orientations.
  ASSERT_TRUE(index_.OnPersonFollowed(PersonId(103), StructureId(kFt1), std::nullopt).ok());
  EXPECT_FALSE(Decide(c3, 103, "accompaniment").allowed);
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  EXPECT_TRUE(Decide(of12, 102, "training_enrolment").allowed);
}

TEST_F(EngineTest, ChildStructuresOnlyWhereTheRuleSaysSo) {
  // A counsellor of the regional direction: statistics over its agencies and
  // missions locales (include_child_structures), but no file reading.
  const Principal dr = Human(kCounsellorDr, kDr, {Role::kCounsellor});
  Decision d = Decide(dr, 101, "statistics");
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_TRUE(d.aggregates_only);
  EXPECT_EQ(d.fields, Fields({"sexe", "date_naissance", "date_inscription", "statut"}));
  EXPECT_EQ(engine_.Reason(d),
            "rule 'direction-statistics': person 101 is followed by structure ML-67-003 (a child structure of yours, "
            "DR-GE)");
  // No file reading: the followed rules are for agencies and missions locales
  // only; the closest rule left is the referent one, which does not hold.
  d = Decide(dr, 101, "accompaniment");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kNoRelation);
  EXPECT_EQ(policy_.rules()[d.rule].id, "counsellor-referent-accompaniment");
  EXPECT_EQ(Decide(dr, 101, "training_orientation").deny, DenyReason::kStructureKind);
  // A partner role given to an account of a mission locale gets nothing either.
  EXPECT_EQ(Decide(Human(7, kMl3, {Role::kPartnerUser}), 101, "training_enrolment").deny, DenyReason::kStructureKind);
  // The national operator too (two levels down).
  EXPECT_TRUE(Decide(Human(9, kNat, {Role::kCounsellor}), 106, "statistics").allowed);
  // A mission locale's counsellor: its own people only, not its sibling's.
  const Principal c3 = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  EXPECT_TRUE(Decide(c3, 101, "statistics").allowed);
  EXPECT_FALSE(Decide(c3, 102, "statistics").allowed);
  // Statistics never release contact fields.
  EXPECT_FALSE(Decide(c3, 101, "statistics").fields.has(*policy_.catalog().IndexOf("email")));
}

TEST_F(EngineTest, PartnerDoesNotSeeItsSitesCandidatesWithoutIncludeChildStructures) {
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  EXPECT_EQ(Decide(of12, 106, "training_enrolment").deny, DenyReason::kNoRelation);
  const Principal site = Human(2003, kOf12Site, {Role::kPartnerUser});
  EXPECT_TRUE(Decide(site, 106, "training_enrolment").allowed);
}

// --- Roles that read nothing. --------------------------------------------------

TEST_F(EngineTest, AccessManagerCannotReadAFile) {
  const Principal am = Human(kAccessManagerMl3, kMl3, {Role::kAccessManager});
  for (const PurposeDef& p : policy_.purposes()) {
    const Decision d = Decide(am, 101, p.name.c_str());
    EXPECT_FALSE(d.allowed) << p.name;
    EXPECT_EQ(d.deny, DenyReason::kRoleCannotRead) << p.name;
    EXPECT_TRUE(d.fields.empty());
  }
  EXPECT_NE(engine_.Reason(Decide(am, 101, "accompaniment")).find("read_people = false"), std::string::npos);
  EXPECT_FALSE(policy_.role(Role::kAccessManager).read_people);
  EXPECT_TRUE(policy_.role(Role::kAccessManager).manage_accounts);
  // Auditor and DPO neither.
  EXPECT_EQ(Decide(Human(kAuditor, kNat, {Role::kAuditor}), 101, "investigation").deny, DenyReason::kRoleCannotRead);
  EXPECT_EQ(Decide(Human(kDpo, kNat, {Role::kDpo}), 101, "statistics").deny, DenyReason::kRoleCannotRead);
}

TEST_F(EngineTest, SecondRoleGrantsOnlyItsOwnRules) {
  // An access manager who is also a counsellor reads as a counsellor.
  const Principal both = Human(kAccessManagerMl3, kMl3, {Role::kAccessManager, Role::kCounsellor});
  EXPECT_TRUE(Decide(both, 101, "accompaniment").allowed);
  EXPECT_FALSE(Decide(both, 102, "accompaniment").allowed);
}

// --- Technical accounts. ------------------------------------------------------

TEST_F(EngineTest, TechnicalAccountWithoutIntegrationRuleReadsNothing) {
  // No integration purpose granted: nothing, whatever the purpose or roles.
  Principal tech = Technical(kTechOf12, kOf12, {});
  tech.roles = {Role::kCounsellor, Role::kPartnerUser};  // roles are ignored for technical accounts
  for (const PurposeDef& p : policy_.purposes())
    for (int64_t person : {101, 102, 103, 104, 105, 106}) {
      const Decision d = Decide(tech, person, p.name.c_str());
      EXPECT_FALSE(d.allowed) << p.name << " " << person;
      EXPECT_EQ(d.deny, DenyReason::kTechnicalNoIntegration) << p.name;
    }
  // Granted an integration purpose: reads exactly its rule's fields through it, and nothing else.
  tech.integration_purposes = {"enrolment_sync"};
  Decision d = Decide(tech, 102, "enrolment_sync");
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_EQ(d.fields, Fields({"nom", "prenom", "date_naissance", "ft_id"}));
  EXPECT_FALSE(Decide(tech, 104, "enrolment_sync").allowed);  // another organisation's candidate
  EXPECT_EQ(Decide(tech, 102, "training_enrolment").deny, DenyReason::kTechnicalNoIntegration);
  // A human cannot use an integration purpose.
  EXPECT_FALSE(Decide(Human(kPartnerOf12, kOf12, {Role::kPartnerUser}), 102, "enrolment_sync").allowed);
  // A technical account holding a purpose name that has no rule.
  tech.integration_purposes = {"accompaniment"};
  EXPECT_EQ(Decide(tech, 101, "accompaniment").deny, DenyReason::kTechnicalNoIntegration);
}

// --- Break-glass. -------------------------------------------------------------

TEST_F(EngineTest, InvestigationNeedsJustificationAndASecondAccount) {
  const Principal so = Human(kSecurityOfficer, kNat, {Role::kSecurityOfficer});
  EXPECT_EQ(Decide(so, 102, "investigation").deny, DenyReason::kJustificationRequired);
  RevealRequest r;
  r.justification = "incident 2025-117: partner account exfiltration";
  EXPECT_EQ(Decide(so, 102, "investigation", "2025-10-15", &r).deny, DenyReason::kDualControlRequired);
  r.approved_by = AccountId(kSecurityOfficer);  // approving oneself does not count
  EXPECT_EQ(Decide(so, 102, "investigation", "2025-10-15", &r).deny, DenyReason::kDualControlRequired);
  r.approved_by = AccountId(kSecurityOfficer2);
  Decision d = Decide(so, 102, "investigation", "2025-10-15", &r);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.relation, Relation::kAny);
  EXPECT_NE(engine_.Reason(d).find("break-glass"), std::string::npos);
  r.fields = Fields({"nir"});
  EXPECT_TRUE(Decide(so, 102, "investigation", "2025-10-15", &r).revealed.has(*policy_.catalog().IndexOf("nir")));
  // Unknown people stay unknown.
  EXPECT_EQ(Decide(so, 424242, "investigation", "2025-10-15", &r).deny, DenyReason::kUnknownPerson);
  // Not on probation.
  Principal newbie = so;
  newbie.probation = true;
  EXPECT_EQ(Decide(newbie, 102, "investigation", "2025-10-15", &r).deny, DenyReason::kProbation);
  // Security officers read nothing outside break-glass.
  EXPECT_EQ(Decide(so, 102, "accompaniment").deny, DenyReason::kNoRuleForRole);
}

TEST_F(EngineTest, UnknownThingsAreDenied) {
  const Principal c = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  EXPECT_EQ(Decide(c, 0, "accompaniment").deny, DenyReason::kUnknownPerson);
  EXPECT_EQ(Decide(c, -5, "accompaniment").deny, DenyReason::kUnknownPerson);
  EXPECT_EQ(Decide(c, int64_t{1} << 40, "accompaniment").deny, DenyReason::kUnknownPerson);
  EXPECT_EQ(engine_.Decide(c, PersonId(101), static_cast<PurposeId>(63), D("2025-10-15")).deny,
            DenyReason::kUnknownPurpose);
  // An account of a structure the index does not know.
  EXPECT_FALSE(Decide(Human(77, 999, {Role::kCounsellor}), 101, "accompaniment").allowed);
  // No roles at all.
  EXPECT_EQ(Decide(Human(78, kMl3, {}), 101, "accompaniment").deny, DenyReason::kRoleCannotRead);
}

TEST_F(EngineTest, ExplainNamesRuleSourceLineAndFields) {
  const Principal c = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  const std::string e = engine_.Explain(Decide(c, 101, "accompaniment"));
  EXPECT_NE(e.find("ALLOWED"), std::string::npos) << e;
  EXPECT_NE(e.find("counsellor-accompaniment (config/policy.toml:"), std::string::npos) << e;
  EXPECT_NE(e.find("fields:   nom, prenom"), std::string::npos) << e;
  EXPECT_NE(e.find("reveal-only"), std::string::npos) << e;
  const std::string e2 = engine_.Explain(Decide(c, 102, "accompaniment"));
  EXPECT_NE(e2.find("DENIED"), std::string::npos) << e2;
  EXPECT_NE(e2.find("reason:   no relation: person 102 is followed by ML-67-004, not by your structure ML-67-003 [no_relation]"), std::string::npos) << e2;
}

TEST_F(EngineTest, ConcurrentDecisionsWhileTheIndexChanges) {
  const Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  const PurposeId enrol = P("training_enrolment");
  std::atomic<bool> stop{false};
  std::atomic<int64_t> decisions{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&] {
      while (!stop.load()) {
        const Decision d = engine_.Decide(of12, PersonId(102), enrol, D("2025-10-15"));
        // Either state of the orientation is fine; a torn one would release the wrong fields.
        if (d.allowed) {
          EXPECT_EQ(d.fields, Fields({"nom", "prenom", "date_naissance", "ft_id", "email", "telephone"}));
        }
        decisions.fetch_add(1);
      }
    });
  while (decisions.load() == 0) std::this_thread::yield();
  for (int i = 0; i < 2000 || decisions.load() < 1000; ++i) {
    EXPECT_TRUE(index_.OnOrientationChanged(O(55, 102, 1, i % 2 ? OS::kAccepted : OS::kRefused, "2025-09-01")).ok());
    EXPECT_TRUE(index_.OnPersonFollowed(PersonId(10000 + i), StructureId(kMl3), std::nullopt).ok());  // grows persons_
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_GT(decisions.load(), 0);
}


// --- Probation: only the `referent` relation (docs/policy.md). -------------------

class ProbationTest : public EngineTest {};

TEST_F(ProbationTest, CounsellorOnProbationReadsOnlyItsOwnCaseload) {
  Principal c = Human(kCounsellorMl3, kMl3, {Role::kCounsellor});
  // Out of probation: 103 is reachable structure-wide (also followed by ML-67-003).
  ASSERT_TRUE(Decide(c, 103, "accompaniment").allowed);
  c.probation = true;
  // Its own referent people stay readable, through the referent rule.
  Decision d = Decide(c, 101, "accompaniment");
  ASSERT_TRUE(d.allowed) << engine_.Reason(d);
  EXPECT_EQ(policy_.rules()[d.rule].id, "counsellor-referent-accompaniment");
  EXPECT_EQ(d.relation, Relation::kReferent);
  EXPECT_TRUE(Decide(c, 104, "accompaniment").allowed);  // referent, followed elsewhere
  // Structure-wide (followed) is closed: 103 is followed by ML-67-003 but not its case.
  d = Decide(c, 103, "accompaniment");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.deny, DenyReason::kNoRelation);
  EXPECT_EQ(d.relation, Relation::kReferent);
  // A purpose with only `followed` rules: nothing at all, reported as probation.
  d = Decide(c, 101, "training_orientation");
  EXPECT_EQ(d.deny, DenyReason::kProbation);
  EXPECT_NE(engine_.Reason(d).find("referent counsellor"), std::string::npos) << engine_.Reason(d);
  EXPECT_EQ(Decide(c, 101, "statistics").deny, DenyReason::kProbation);
}

TEST_F(ProbationTest, PartnerAndTechnicalOnProbationReadNothingThroughOrientations) {
  Principal of12 = Human(kPartnerOf12, kOf12, {Role::kPartnerUser});
  ASSERT_TRUE(Decide(of12, 102, "training_enrolment").allowed);
  of12.probation = true;
  EXPECT_EQ(Decide(of12, 102, "training_enrolment").deny, DenyReason::kProbation);
  EXPECT_EQ(Decide(of12, 105, "training_orientation").deny, DenyReason::kProbation);
  Principal tech = Technical(kTechOf12, kOf12, {"enrolment_sync"});
  ASSERT_TRUE(Decide(tech, 102, "enrolment_sync").allowed);
  tech.probation = true;  // iam never sets it for technical accounts; the engine still honours it
  EXPECT_EQ(Decide(tech, 102, "enrolment_sync").deny, DenyReason::kProbation);
}

TEST_F(ProbationTest, DenialOrderIsUnchangedForRolesThatCannotRead) {
  Principal am = Human(kAccessManagerMl3, kMl3, {Role::kAccessManager});
  am.probation = true;
  EXPECT_EQ(Decide(am, 101, "accompaniment").deny, DenyReason::kRoleCannotRead);
  Principal dr = Human(kCounsellorDr, kDr, {Role::kCounsellor});
  dr.probation = true;
  // The structure kind fails before probation is considered.
  EXPECT_EQ(Decide(dr, 101, "training_orientation").deny, DenyReason::kStructureKind);
}

}  // namespace
}  // namespace cloison::policy
