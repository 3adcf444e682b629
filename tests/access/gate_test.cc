// access::Gate: the order of the read path and what each stage does, with a
// real store, policy, relation index and audit log, and a scripted guard.
#include "access/gate.h"

#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "audit/event.h"
#include "core/clock.h"
#include "core/strings.h"
#include "crypto/secure_random.h"
#include "store/sqlite_store.h"

namespace cloison::access {
namespace {

// A guard whose verdicts the test scripts; it records what it was asked.
class ScriptedGuard final : public guard::Guard {
 public:
  std::deque<guard::Verdict> next;  // consumed by Assess; empty: allow
  std::vector<std::pair<guard::AccessKind, std::vector<PersonId>>> seen;
  std::vector<std::string> queries;

  void RegisterAccount(const guard::AccountProfile&) override {}
  void AddHoneytoken(PersonId) override {}
  bool IsHoneytoken(PersonId) const override { return false; }
  guard::Verdict Assess(const guard::Access& a) override {
    seen.emplace_back(a.kind, std::vector<PersonId>(a.persons.begin(), a.persons.end()));
    queries.emplace_back(a.query);
    if (next.empty()) return {};
    guard::Verdict v = next.front();
    next.pop_front();
    return v;
  }
  void Observe(const guard::Access&) override {}
  bool UnderAlert(AccountId) const override { return false; }
  std::vector<guard::Alert> Alerts(UnixMicros) const override { return {}; }
  void Clear(AccountId) override {}
  Status SaveState(std::string*) const override { return OkStatus(); }
  Status LoadState(std::string_view) override { return OkStatus(); }
};

class RecordingControl final : public AccountControl {
 public:
  std::vector<std::pair<AccountId, std::string>> suspended;
  void Suspend(AccountId a, std::string_view reason) override { suspended.emplace_back(a, std::string(reason)); }
};

guard::Verdict VerdictOf(guard::Action a, std::vector<AccountId> also = {}) {
  guard::Verdict v;
  v.action = a;
  v.score = 9;
  v.explanation = "read 40 distinct people in 10 minutes; its peers' p99 is 12";
  v.signals = {"volume"};
  v.also_suspend = std::move(also);
  return v;
}

class GateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    ASSERT_TRUE(crypto::InitCrypto().ok());
    dir_ = std::filesystem::temp_directory_path() /
           StrCat("cloison_gate_test_", static_cast<int64_t>(::getpid()), "_", counter.fetch_add(1));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    master_ = crypto::SecretBytes(32);
    for (size_t i = 0; i < 32; ++i) master_.mutable_data()[i] = static_cast<uint8_t>(i * 7 + 1);
    store::SqliteOptions so;
    so.path = (dir_ / "cloison.db").string();
    auto st = store::OpenSqliteStore(so, FieldCatalog::Default(), master_, clock_);
    ASSERT_TRUE(st.ok()) << st.status();
    store_ = std::move(*st);
    Structure dg;
    dg.id = StructureId(1);
    dg.kind = StructureKind::kNationalOperator;
    dg.code = dg.name = "FT-DG";
    Structure ml = dg;
    ml.id = StructureId(3);
    ml.kind = StructureKind::kMissionLocale;
    ml.parent = StructureId(1);
    ml.code = ml.name = "ML-67-003";
    Structure ml2 = ml;
    ml2.id = StructureId(4);
    ml2.code = ml2.name = "ML-67-004";
    for (const Structure& s : {dg, ml, ml2}) ASSERT_TRUE(store_->UpsertStructure(s).ok());
    const FieldCatalog& cat = FieldCatalog::Default();
    std::vector<Person> people;
    for (int64_t id : {101, 102, 103, 104, 201}) {
      Person p;
      p.id = PersonId(id);
      p.referent_structure = StructureId(id == 201 ? 4 : 3);
      p.fields.assign(cat.size(), "");
      p.fields[*cat.IndexOf("nom")] = "MARTIN";
      p.fields[*cat.IndexOf("prenom")] = "Léa";
      p.fields[*cat.IndexOf("sexe")] = "F";
      p.fields[*cat.IndexOf("date_naissance")] = "2004-03-02";
      p.fields[*cat.IndexOf("date_inscription")] = "2025-01-06";
      p.fields[*cat.IndexOf("statut")] = "en_accompagnement";
      p.fields[*cat.IndexOf("email")] = StrCat("p", id, "@example.org");
      people.push_back(p);
    }
    ASSERT_TRUE(store_->UpsertPersons(people).ok());
    auto index = policy::RelationIndex::Build(*store_);
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    audit::LogOptions lo;
    lo.clock = &clock_;
    auto log = audit::AuditLog::Open((dir_ / "audit").string(), lo);
    ASSERT_TRUE(log.ok()) << log.status();
    audit_ = std::move(*log);

    caller_.principal.account = AccountId(7);
    caller_.principal.kind = policy::AccountKind::kHuman;
    caller_.principal.roles = {Role::kCounsellor};
    caller_.principal.structure = StructureId(3);
    caller_.session = "s-1";
    caller_.source = "10.0.0.9";
    caller_.quota = {100, 1000};
  }
  void TearDown() override {
    gate_.reset();
    if (audit_) audit_->Close().IgnoreError();
    audit_.reset();
    index_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Gate& MakeGate(bool with_guard = true) {
    GateDeps deps{store_.get(), &policy::Policy::Default(), index_.get(), audit_.get(),
                  with_guard ? &guard_ : nullptr, &control_};
    gate_ = std::make_unique<Gate>(deps);
    return *gate_;
  }

  ReadRequest Req(int64_t person, std::string_view purpose = "accompaniment") {
    ReadRequest r;
    r.person = PersonId(person);
    r.purpose = purpose;
    r.now = clock_.NowMicros();
    return r;
  }

  std::vector<audit::Event> Events() {
    std::vector<audit::Event> out;
    for (uint64_t i = 0; i < audit_->size(); ++i) {
      auto bytes = audit_->ReadEntry(i);
      EXPECT_TRUE(bytes.ok());
      if (!bytes.ok()) continue;
      auto e = audit::DecodeEvent(*bytes);
      EXPECT_TRUE(e.ok());
      if (e.ok()) out.push_back(*e);
    }
    return out;
  }

  std::filesystem::path dir_;
  crypto::SecretBytes master_;
  FakeClock clock_{1'760'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<policy::RelationIndex> index_;
  std::unique_ptr<audit::AuditLog> audit_;
  ScriptedGuard guard_;
  RecordingControl control_;
  Caller caller_;
  std::unique_ptr<Gate> gate_;
};

TEST_F(GateTest, AllowedReadIsAuditedThenReadWithOnlyReleasedFields) {
  Gate& g = MakeGate();
  ReadResult r = g.Read(caller_, Req(101));
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.message;
  ASSERT_FALSE(r.field_names.empty());
  ASSERT_EQ(r.fields.size(), r.field_names.size());
  // The accompaniment purpose does not release the NIR.
  for (const std::string& f : r.field_names) EXPECT_NE(f, "nir");
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, audit::EventKind::kRead);
  EXPECT_EQ(events[0].persons, std::vector<PersonId>{PersonId(101)});
  EXPECT_EQ(events[0].fields, r.field_names);
  EXPECT_EQ(events[0].session, "s-1");
  ASSERT_EQ(guard_.seen.size(), 1u);
  EXPECT_EQ(guard_.seen[0].first, guard::AccessKind::kRead);
}

TEST_F(GateTest, DenialIsAuditedAndToldToTheGuard) {
  Gate& g = MakeGate();
  ReadResult r = g.Read(caller_, Req(201));  // another mission locale's person
  EXPECT_EQ(r.outcome, Outcome::kDenied);
  EXPECT_EQ(r.deny_reason, "no_relation");
  EXPECT_TRUE(r.fields.empty());
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, audit::EventKind::kDenial);
  ASSERT_EQ(guard_.seen.size(), 1u);
  EXPECT_EQ(guard_.seen[0].first, guard::AccessKind::kDenied);
}

TEST_F(GateTest, BadPurposeAndFieldAreBadRequestsWithoutAuditOrGuard) {
  Gate& g = MakeGate();
  EXPECT_EQ(g.Read(caller_, Req(101, "nope")).outcome, Outcome::kBadRequest);
  EXPECT_EQ(g.Read(caller_, Req(101, "' OR 1=1 --")).outcome, Outcome::kBadRequest);
  ReadRequest rq = Req(101);
  const std::string field = "no_such_field";
  rq.reveal_field = &field;
  ReadResult r = g.Read(caller_, rq);
  EXPECT_EQ(r.outcome, Outcome::kBadRequest);
  EXPECT_NE(r.message.find("no_such_field"), std::string::npos);
  EXPECT_EQ(audit_->size(), 0u);
  EXPECT_TRUE(guard_.seen.empty());
}

TEST_F(GateTest, StaticQuotaRefusesTheThirdDistinctPersonButNotARereading) {
  Gate& g = MakeGate();
  caller_.quota = {2, 10};
  EXPECT_EQ(g.Read(caller_, Req(101)).outcome, Outcome::kOk);
  EXPECT_EQ(g.Read(caller_, Req(102)).outcome, Outcome::kOk);
  EXPECT_EQ(g.Read(caller_, Req(101)).outcome, Outcome::kOk);  // already counted
  ReadResult r = g.Read(caller_, Req(103));
  EXPECT_EQ(r.outcome, Outcome::kQuota);
  EXPECT_STREQ(r.quota.window, "hour");
  EXPECT_TRUE(r.fields.empty());
  auto events = Events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[3].kind, audit::EventKind::kGuardAction);
  EXPECT_EQ(events[3].reason, "quota_per_hour");
  // Machine integers are numbers (audit format 2), not redactable strings.
  EXPECT_EQ(events[3].numbers.at("limit"), 2);
  EXPECT_EQ(events[3].numbers.at("reset_at_micros"), r.quota.reset_at);
  EXPECT_GT(events[3].numbers.at("reset_at_micros"), clock_.NowMicros());
  EXPECT_FALSE(events[3].details.count("limit"));
  EXPECT_FALSE(events[3].details.count("reset_at_micros"));
}

TEST_F(GateTest, AMissingStoreRowForAnIndexedPersonIsAnInconsistencyNotANotFound) {
  // The relation index knows 999 (followed by the caller's structure), the
  // store has no row: the policy allows, the read entry is appended, then
  // the store read fails. That is the service's inconsistency, told apart
  // from "no such person" and from a failing store, and recorded.
  ASSERT_TRUE(index_->OnPersonFollowed(PersonId(999), StructureId(3), std::nullopt).ok());
  Gate& g = MakeGate();
  ReadResult r = g.Read(caller_, Req(999));
  EXPECT_EQ(r.outcome, Outcome::kMissingRecord);
  EXPECT_TRUE(r.decision.allowed);
  EXPECT_TRUE(r.fields.empty());
  EXPECT_NE(r.message.find("relation index"), std::string::npos) << r.message;
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, audit::EventKind::kRead);
  EXPECT_EQ(events[1].kind, audit::EventKind::kSystem);
  EXPECT_EQ(events[1].decision, "read_failed");
  EXPECT_EQ(events[1].reason, "record_missing");
  EXPECT_EQ(events[1].persons, std::vector<PersonId>{PersonId(999)});
  EXPECT_EQ(events[1].account, caller_.principal.account);
}

TEST_F(GateTest, GuardThrottleRefusesAndAuditsTheExplanation) {
  Gate& g = MakeGate();
  guard_.next.push_back(VerdictOf(guard::Action::kThrottle));
  ReadResult r = g.Read(caller_, Req(101));
  EXPECT_EQ(r.outcome, Outcome::kThrottled);
  EXPECT_TRUE(r.fields.empty());
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);  // the guard action, and no read entry
  EXPECT_EQ(events[0].kind, audit::EventKind::kGuardAction);
  EXPECT_EQ(events[0].decision, "throttle");
  EXPECT_NE(events[0].reason.find("40 distinct people"), std::string::npos);
  EXPECT_EQ(events[0].details.at("signals"), "volume");
  EXPECT_TRUE(control_.suspended.empty());
}

TEST_F(GateTest, AlertAndRecordLetTheReadThroughButAreAudited) {
  Gate& g = MakeGate();
  guard_.next.push_back(VerdictOf(guard::Action::kAlert));
  ReadResult r = g.Read(caller_, Req(101));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, audit::EventKind::kGuardAction);
  EXPECT_EQ(events[0].decision, "alert");
  EXPECT_EQ(events[1].kind, audit::EventKind::kRead);
}

TEST_F(GateTest, StepUpRefusesUnlessTheCallerJustProvedTotp) {
  Gate& g = MakeGate();
  guard_.next.push_back(VerdictOf(guard::Action::kStepUp));
  EXPECT_EQ(g.Read(caller_, Req(101)).outcome, Outcome::kStepUp);
  guard_.next.push_back(VerdictOf(guard::Action::kStepUp));
  caller_.step_up_done = true;
  EXPECT_EQ(g.Read(caller_, Req(101)).outcome, Outcome::kOk);
}

TEST_F(GateTest, SuspendSuspendsTheAccountAndTheAccountsItCreated) {
  Gate& g = MakeGate();
  guard_.next.push_back(VerdictOf(guard::Action::kSuspend, {AccountId(8), AccountId(9)}));
  ReadResult r = g.Read(caller_, Req(101));
  EXPECT_EQ(r.outcome, Outcome::kSuspended);
  EXPECT_TRUE(r.fields.empty());
  ASSERT_EQ(control_.suspended.size(), 3u);
  EXPECT_EQ(control_.suspended[0].first, AccountId(7));
  EXPECT_NE(control_.suspended[0].second.find("40 distinct people"), std::string::npos);
  EXPECT_EQ(control_.suspended[1].first, AccountId(8));
  EXPECT_EQ(control_.suspended[2].first, AccountId(9));
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].details.at("also_suspended"), "8,9");
}

TEST_F(GateTest, WithoutAGuardOnlyPolicyAndQuotaApply) {
  Gate& g = MakeGate(/*with_guard=*/false);
  EXPECT_EQ(g.Read(caller_, Req(101)).outcome, Outcome::kOk);
  EXPECT_TRUE(guard_.seen.empty());
}

TEST_F(GateTest, AuditFailureMeansNothingIsRead) {
  Gate& g = MakeGate();
  ASSERT_TRUE(audit_->Close().ok());
  ReadResult r = g.Read(caller_, Req(101));
  EXPECT_EQ(r.outcome, Outcome::kUnavailable);
  EXPECT_TRUE(r.fields.empty());
}

// Begin/Complete (the API's I/O thread): Begin appends nothing and reads
// nothing; what it hands over is the entry to make durable first.
PendingRead BeginPending(Gate& g, const Caller& caller, const ReadRequest& rq) {
  ReadResult done;
  PendingRead pending;
  EXPECT_FALSE(g.Begin(caller, rq, &done, &pending)) << "answered by Begin alone: " << done.message;
  return pending;
}

TEST_F(GateTest, BeginHandsOverTheEntryAndCompleteReadsOnlyAfterIt) {
  Gate& g = MakeGate();
  PendingRead pending = BeginPending(g, caller_, Req(101));
  EXPECT_EQ(audit_->size(), 0u) << "Begin appends nothing for an allowed read";
  EXPECT_EQ(pending.entry.kind, audit::EventKind::kRead);
  EXPECT_EQ(pending.entry.persons, std::vector<PersonId>{PersonId(101)});
  ASSERT_TRUE(audit_->Append(pending.entry).ok());
  ReadResult r = g.Complete(caller_, std::move(pending), OkStatus());
  ASSERT_EQ(r.outcome, Outcome::kOk) << r.message;
  EXPECT_EQ(r.fields.size(), r.field_names.size());
  EXPECT_FALSE(r.fields.empty());
  EXPECT_EQ(Events()[0].fields, r.field_names);
}

TEST_F(GateTest, CompleteAfterAFailedAppendReadsNothing) {
  Gate& g = MakeGate();
  ReadResult r = g.Complete(caller_, BeginPending(g, caller_, Req(101)), IOError("disk"));
  EXPECT_EQ(r.outcome, Outcome::kUnavailable);
  EXPECT_TRUE(r.fields.empty());
  EXPECT_EQ(audit_->size(), 0u);
}

TEST_F(GateTest, ADenialIsScoredByTheGuardOnlyInComplete) {
  Gate& g = MakeGate();
  PendingRead pending = BeginPending(g, caller_, Req(201));
  EXPECT_EQ(pending.entry.kind, audit::EventKind::kDenial);
  EXPECT_TRUE(guard_.seen.empty()) << "the probe is scored once it is recorded";
  ASSERT_TRUE(audit_->Append(pending.entry).ok());
  ReadResult r = g.Complete(caller_, std::move(pending), OkStatus());
  EXPECT_EQ(r.outcome, Outcome::kDenied);
  ASSERT_EQ(guard_.seen.size(), 1u);
  EXPECT_EQ(guard_.seen[0].first, guard::AccessKind::kDenied);
  // A bad request is answered by Begin alone.
  access::ReadRequest bad = Req(101);
  bad.purpose = "no_such_purpose";
  ReadResult done;
  EXPECT_TRUE(g.Begin(caller_, bad, &done, &pending));
  EXPECT_EQ(done.outcome, Outcome::kBadRequest);
}

TEST_F(GateTest, SimulatorModeDecidesAndAuditsWithoutReadingTheStore) {
  GateDeps deps{nullptr, &policy::Policy::Default(), index_.get(), audit_.get(), &guard_, &control_};
  GateOptions opts;
  opts.read_store = false;
  Gate g(deps, opts);
  ReadResult r = g.Read(caller_, Req(101));
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_FALSE(r.field_names.empty());
  EXPECT_TRUE(r.fields.empty());
  EXPECT_EQ(audit_->size(), 1u);
}

TEST_F(GateTest, ReleasePageIsScoredThenAudited) {
  Gate& g = MakeGate();
  const std::vector<PersonId> page = {PersonId(101), PersonId(102)};
  ReadResult r = g.ReleasePage(caller_, guard::AccessKind::kSearch, page, "nom:mar", 3, clock_.NowMicros());
  EXPECT_EQ(r.outcome, Outcome::kOk);
  ASSERT_EQ(guard_.seen.size(), 1u);
  EXPECT_EQ(guard_.seen[0].first, guard::AccessKind::kSearch);
  EXPECT_EQ(guard_.seen[0].second, page);
  EXPECT_EQ(guard_.queries[0], "nom:mar");
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].persons, page);
  EXPECT_EQ(events[0].details.at("query"), "nom:mar");
  EXPECT_EQ(events[0].numbers.at("page"), 3);
  EXPECT_FALSE(events[0].details.count("page"));

  guard_.next.push_back(VerdictOf(guard::Action::kSuspend));
  r = g.ReleasePage(caller_, guard::AccessKind::kList, page, "", 4, clock_.NowMicros());
  EXPECT_EQ(r.outcome, Outcome::kSuspended);
  EXPECT_EQ(audit_->size(), 2u);  // the guard action only; the page was not sent
}

TEST_F(GateTest, ReleasePageAppendsTheCallersEntryOnlyWhenThePageMayBeSent) {
  Gate& g = MakeGate();
  const std::vector<PersonId> page = {PersonId(101), PersonId(102)};
  audit::Event entry;
  entry.kind = audit::EventKind::kRead;
  entry.time = clock_.NowMicros();
  entry.account = caller_.principal.account;
  entry.persons = page;
  entry.fields = {"nom", "prenom"};
  entry.purpose = "accompaniment";
  entry.decision = "allow";
  entry.details = {{"kind", "search"}, {"query", "nom:mar"}};
  entry.numbers = {{"page", 4}};  // the API's 1-based page
  ReadResult r = g.ReleasePage(caller_, guard::AccessKind::kSearch, page, "nom:mar", 3, clock_.NowMicros(), &entry);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  ASSERT_EQ(guard_.seen.size(), 1u);
  EXPECT_EQ(guard_.queries[0], "nom:mar");
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], entry);  // as the caller shaped it, not the Gate's own

  guard_.next.push_back(VerdictOf(guard::Action::kThrottle));
  r = g.ReleasePage(caller_, guard::AccessKind::kSearch, page, "nom:mar", 4, clock_.NowMicros(), &entry);
  EXPECT_EQ(r.outcome, Outcome::kThrottled);
  events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, audit::EventKind::kGuardAction);  // the refusal only
  EXPECT_EQ(events[1].details.at("context"), "search");
}

TEST(QuotaLimitsForTest, RoleQuotasFromThePolicyTightenedByIam) {
  const policy::Policy& p = policy::Policy::Default();
  policy::Principal who;
  who.roles = {Role::kCounsellor};
  const auto q = p.quota(Role::kCounsellor);
  ASSERT_TRUE(q.has_value());
  QuotaLimits l = QuotaLimitsFor(p, who, 0);
  EXPECT_EQ(l.per_hour, q->people_per_hour);
  EXPECT_EQ(l.per_day, q->people_per_day);
  l = QuotaLimitsFor(p, who, 20);  // probation
  EXPECT_EQ(l.per_day, 20);
  l = QuotaLimitsFor(p, who, q->people_per_day + 1000);  // cannot loosen
  EXPECT_EQ(l.per_day, q->people_per_day);
  who.kind = policy::AccountKind::kTechnical;
  ASSERT_TRUE(p.technical_quota().has_value());
  EXPECT_EQ(QuotaLimitsFor(p, who, 0).per_hour, p.technical_quota()->people_per_hour);
}

}  // namespace
}  // namespace cloison::access
