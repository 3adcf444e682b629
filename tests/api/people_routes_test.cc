// People and orientations endpoints (src/api/people_routes.cc), through the
// networking-free Handler: caseload, scoped search, create/update, the
// orientation lifecycle and partners' enrolment confirmation, and hostile
// input in every parameter.
#include <set>
#include <string>
#include <vector>

#include "api_fixture.h"
#include "crypto/totp.h"

namespace cloison::api {
namespace {

using nlohmann::json;

constexpr const char* kNir301 = "185056748212337";   // valid key
constexpr const char* kNewNir = "204056712304560";   // valid key
constexpr const char* kBadNir = "204056712304561";   // key off by one

// The shared fixture plus a partner side: training organisations OF-67-001
// (5) and OF-67-002 (6), sessions 1 (OF 5, running), 2 (OF 6, running),
// 3 (OF 5, ended); 30 people 301..330 at ML-67-003 whose referent is the
// `counsellor` account; orientations 101 -> session 1 and 201 -> session 2
// (both proposed); accounts partner (OF 5), partner2 (OF 6), counsellor4
// (ML-67-004), manager (access manager, ML-67-003).
class PeopleRoutesTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    if (HasFatalFailure()) return;
    AddPartnerSide();
  }

  void AddPartnerSide() {
    for (int64_t id : {5, 6}) {
      Structure s;
      s.id = StructureId(id);
      s.kind = StructureKind::kTrainingOrganisation;
      s.code = id == 5 ? "OF-67-001" : "OF-67-002";
      s.name = s.code;
      ASSERT_TRUE(store_->UpsertStructure(s).ok());
    }
    for (int64_t id : {1, 2}) {
      Formation f;
      f.id = FormationId(id);
      f.organisation = StructureId(id == 1 ? 5 : 6);
      f.code = StrCat("F-", id);
      f.title = "Développeur web";
      f.domain = "numérique";
      ASSERT_TRUE(store_->UpsertFormation(f).ok());
    }
    auto session = [&](int64_t id, int64_t formation, const char* start, const char* end) {
      TrainingSession s;
      s.id = TrainingSessionId(id);
      s.formation = FormationId(formation);
      s.code = StrCat("S-", id);
      s.start = *Date::Parse(start);
      s.end = *Date::Parse(end);
      s.place = "Strasbourg";
      ASSERT_TRUE(store_->UpsertTrainingSession(s).ok());
    };
    session(1, 1, "2025-11-03", "2026-03-31");
    session(2, 2, "2025-11-03", "2026-03-31");
    session(3, 1, "2025-01-06", "2025-06-30");

    const FieldCatalog& cat = FieldCatalog::Default();
    std::vector<Person> people;
    for (int64_t id = 301; id <= 330; ++id) {
      Person p;
      p.id = PersonId(id);
      p.referent_structure = StructureId(3);
      p.referent_counsellor = counsellor_;
      p.fields.assign(cat.size(), "");
      const char* noms[] = {"DUPONT", "Dupré", "Lefèvre"};
      p.fields[*cat.IndexOf("nom")] = noms[id % 3];
      p.fields[*cat.IndexOf("prenom")] = "Jean";
      p.fields[*cat.IndexOf("sexe")] = "M";
      p.fields[*cat.IndexOf("date_naissance")] = id == 301 ? "2004-05-01" : "2003-01-15";
      p.fields[*cat.IndexOf("ft_id")] = StrCat("2000000", id, "0");
      p.fields[*cat.IndexOf("date_inscription")] = "2025-01-06";
      p.fields[*cat.IndexOf("statut")] = "en_accompagnement";
      if (id % 2 == 0) p.fields[*cat.IndexOf("code_postal")] = "67000";
      if (id == 301) p.fields[*cat.IndexOf("nir")] = kNir301;
      people.push_back(p);
    }
    auto up = store_->UpsertPersons(people);
    ASSERT_TRUE(up.ok()) << up.status();

    partner_ = AddHuman("partner", 5, 200, {Role::kPartnerUser});
    AddHuman("partner2", 6, 200, {Role::kPartnerUser});
    AddHuman("counsellor4", 4, 200);
    AddHuman("manager", 3, 0, {Role::kAccessManager});
    EnrollTotp("manager");

    Orientation o1;
    o1.id = OrientationId(1);
    o1.person = PersonId(101);
    o1.session = TrainingSessionId(1);
    o1.counsellor = counsellor_;
    o1.proposed_on = *Date::Parse("2025-10-01");
    Orientation o2 = o1;
    o2.id = OrientationId(2);
    o2.person = PersonId(201);
    o2.session = TrainingSessionId(2);
    ASSERT_TRUE(store_->PutOrientations(std::vector<Orientation>{o1, o2}).ok());
    RebuildIndexAndHandler();
  }

  // A new relation index and Handler over the same store, log and iam.

  // Privileged roles log in with a second factor.
  void EnrollTotp(const std::string& username) {
    iam::LoginRequest lr{username, crypto::SecretBytes::FromString(kPassword), {}, "10.0.0.1"};
    auto en = iam_->BeginTotpEnrollment(lr);
    ASSERT_TRUE(en.ok()) << en.status();
    auto secret = crypto::TotpSecretFromBase32(en->secret_base32);
    ASSERT_TRUE(secret.ok());
    lr.second_factor = crypto::SecretBytes::FromString(*crypto::TotpGenerate(*secret, clock_.NowSeconds()));
    ASSERT_TRUE(iam_->ConfirmTotpEnrollment(lr).ok());
    manager_totp_ = std::move(*secret);
  }
  std::string LoginManager() {
    clock_.AdvanceSeconds(30);
    Response r = Call("POST", "/v1/sessions",
                      json{{"username", "manager"}, {"password", kPassword},
                           {"totp", *crypto::TotpGenerate(manager_totp_, clock_.NowSeconds())}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return J(r).value("token", "");
  }

  Response Get(const std::string& token, const std::string& target) { return Call("GET", target, "", Bearer(token)); }
  Response Post(const std::string& token, const std::string& target, const json& body) {
    return Call("POST", target, body.dump(), Bearer(token));
  }

  static std::set<int64_t> Ids(const json& arr) {
    std::set<int64_t> out;
    for (const auto& e : arr) out.insert(e["id"].get<int64_t>());
    return out;
  }

  json NewPerson() {
    return json{{"nom", "Nouvel"},       {"prenom", "Inès"},          {"sexe", "F"},
                {"date_naissance", "2004-05-01"}, {"ft_id", "30000000001"}, {"date_inscription", "2025-10-09"},
                {"statut", "inscrit"},     {"nir", kNewNir}};
  }

  AccountId partner_;
  crypto::SecretBytes manager_totp_;
};

// ---------------------------------------------------------------- caseload

TEST_F(PeopleRoutesTest, CaseloadPaginatesWithinThePageCap) {
  const std::string t = Login("counsellor");
  Response r = Get(t, "/v1/people/caseload");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = J(r);
  EXPECT_EQ(j["total"], 30);
  EXPECT_EQ(j["page_size"], 20);
  EXPECT_EQ(j["people"].size(), 20u);
  const json& first = j["people"][0];
  EXPECT_EQ(first["id"], 301);
  EXPECT_EQ(first["prenom"], "Jean");
  // Minimal fields only: never a sensitive one.
  for (const auto& p : j["people"])
    for (const auto& [k, v] : p.items()) EXPECT_TRUE(k == "id" || k == "nom" || k == "prenom" || k == "purpose") << k;
  r = Get(t, "/v1/people/caseload?page=2&page_size=20");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["people"].size(), 10u);
  EXPECT_EQ(J(r)["people"][0]["id"], 321);
  r = Get(t, "/v1/people/caseload?page=3&page_size=20");
  EXPECT_EQ(J(r)["people"].size(), 0u);
  // The counsellor's [quota.counsellor] page_size is 50.
  EXPECT_EQ(Get(t, "/v1/people/caseload?page_size=50").status, 200);
  r = Get(t, "/v1/people/caseload?page_size=51");
  ExpectError(r, 400, "invalid_parameter");
  EXPECT_NE(J(r)["error"]["message"].get<std::string>().find("50"), std::string::npos);
  ExpectError(Get(t, "/v1/people/caseload?page=0"), 400, "invalid_parameter");
  ExpectError(Get(t, "/v1/people/caseload?page_size=0"), 400, "invalid_parameter");
  ExpectError(Get(t, "/v1/people/caseload?sort=nom"), 400, "invalid_parameter");

  // Each page is audited before it is sent: persons = the page's ids.
  bool found = false;
  for (const audit::Event& e : AuditEvents())
    if (e.kind == audit::EventKind::kRead && e.details.count("kind") && e.details.at("kind") == "list" &&
        e.numbers.count("page") && e.numbers.at("page") == 2) {
      EXPECT_FALSE(e.details.count("page"));  // a machine integer: numbers, not a string
      found = true;
      EXPECT_EQ(e.persons.size(), 10u);
      EXPECT_EQ(e.fields, (std::vector<std::string>{"nom", "prenom"}));
      EXPECT_EQ(e.details.at("query"), "caseload");
    }
  EXPECT_TRUE(found);
}

TEST_F(PeopleRoutesTest, PartnerCaseloadListsOnlyItsCandidates) {
  const std::string t = Login("partner");
  Response r = Get(t, "/v1/people/caseload");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = J(r);
  ASSERT_EQ(j["total"], 1) << r.body;
  EXPECT_EQ(j["people"][0]["id"], 101);
  EXPECT_EQ(j["people"][0]["nom"], "MARTIN");
  EXPECT_EQ(j["people"][0]["orientation"]["id"], 1);
  EXPECT_EQ(j["people"][0]["orientation"]["session_code"], "S-1");
  EXPECT_EQ(j["people"][0]["orientation"]["status"], "proposed");
  // The partner page-size cap is 25.
  ExpectError(Get(t, "/v1/people/caseload?page_size=26"), 400, "invalid_parameter");
  // Someone else's candidates are not there.
  r = Get(Login("partner2"), "/v1/people/caseload");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Ids(J(r)["people"]), std::set<int64_t>{201});
  // An access manager has no caseload.
  ExpectError(Get(LoginManager(), "/v1/people/caseload"), 403, "forbidden");
}

// ------------------------------------------------------------------ search

TEST_F(PeopleRoutesTest, SearchByNamePrefixIsScopedToWhatTheCallerMayRead) {
  const std::string t = Login("counsellor");
  Response r = Get(t, "/v1/people/search?q=ma&purpose=accompaniment");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = J(r);
  EXPECT_EQ(j["query"], "nom:ma");
  // 201 (MARTIN too) is followed by ML-67-004: never in this counsellor's results.
  EXPECT_EQ(Ids(j["results"]), (std::set<int64_t>{101, 102, 103, 104}));
  // Case- and accent-insensitive.
  r = Get(t, "/v1/people/search?q=nom:DUPR%C3%89&purpose=accompaniment");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["query"], "nom:dupre");
  EXPECT_EQ(J(r)["total"], 10);
  r = Get(t, "/v1/people/search?q=lefe&purpose=accompaniment");
  EXPECT_EQ(J(r)["total"], 10);
  const json lefevre = J(r);  // a range-for over a temporary's member would dangle
  for (const auto& p : lefevre["results"]) EXPECT_EQ(p["nom"], "Lefèvre");

  // The other mission locale's counsellor sees 201 only.
  r = Get(Login("counsellor4"), "/v1/people/search?q=martin&purpose=accompaniment");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{201});
  // A partner finds its own candidate for training_orientation, nobody else.
  r = Get(Login("partner"), "/v1/people/search?q=ma&purpose=training_orientation");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{101});
  r = Get(Login("partner"), "/v1/people/search?q=ma&purpose=accompaniment");
  EXPECT_EQ(J(r)["total"], 0);
  // Readers only.
  ExpectError(Get(LoginManager(), "/v1/people/search?q=ma&purpose=accompaniment"), 403, "forbidden");

  // Audited with the kind and a keyed digest of the normalised query.
  const std::string dupre = access::QueryDigester(access::QueryDigester::KeyFromMaster(master_)).Digest("nom", "dupre");
  bool found = false;
  for (const audit::Event& e : AuditEvents())
    if (e.details.count("kind") && e.details.at("kind") == "search" && e.details.at("query") == dupre) {
      found = true;
      EXPECT_EQ(e.persons.size(), 10u);
      EXPECT_EQ(e.purpose, "accompaniment");
    }
  EXPECT_TRUE(found);
}

TEST_F(PeopleRoutesTest, SearchRefusesWildcardsAndOneLetter) {
  const std::string t = Login("counsellor");
  for (const char* q : {"m", "*", "%25", "_", "***", "%20%20", "m*", "ma%25", "d_p", "%25%25%20_", "a%20"}) {
    Response r = Get(t, StrCat("/v1/people/search?purpose=accompaniment&q=", q));
    ExpectError(r, 400, "invalid_parameter");
  }
  ExpectError(Get(t, "/v1/people/search?purpose=accompaniment"), 400, "invalid_parameter");
  ExpectError(Get(t, "/v1/people/search?q=martin"), 400, "invalid_parameter");
  ExpectError(Get(t, "/v1/people/search?q=martin&purpose=nope"), 400, "unknown_purpose");
  ExpectError(Get(t, "/v1/people/search?q=martin&purpose=statistics"), 400, "invalid_parameter");
  ExpectError(Get(t, "/v1/people/search?q=martin&purpose=investigation"), 400, "invalid_parameter");
  ExpectError(Get(t, "/v1/people/search?q=martin&purpose=accompaniment&page_size=51"), 400, "invalid_parameter");
}

TEST_F(PeopleRoutesTest, SearchByExactIdentifiers) {
  const std::string t = Login("counsellor");
  Response r = Get(t, StrCat("/v1/people/search?purpose=accompaniment&q=", kNir301));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["query"], "nir");  // never the value
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{301});
  // Spaced and prefixed forms.
  r = Get(t, "/v1/people/search?purpose=accompaniment&q=nir:1%2085%2005%2067%20482%20123%2037");
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{301});
  // An invalid NIR key is refused, without echoing it.
  r = Get(t, StrCat("/v1/people/search?purpose=accompaniment&q=", kBadNir));
  ExpectError(r, 400, "invalid_parameter");
  EXPECT_EQ(r.body.find(kBadNir), std::string::npos);
  // Out of scope: the NIR exists but another structure follows the person.
  r = Get(Login("counsellor4"), StrCat("/v1/people/search?purpose=accompaniment&q=", kNir301));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(J(r)["total"], 0);
  // France Travail id, postcode, birth date.
  r = Get(t, "/v1/people/search?purpose=accompaniment&q=20000003020");
  EXPECT_EQ(J(r)["query"], "ft_id");
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{302});
  r = Get(t, "/v1/people/search?purpose=accompaniment&q=cp:67000&page_size=50");
  EXPECT_EQ(J(r)["query"], "cp:67000");
  EXPECT_EQ(J(r)["total"], 15);
  r = Get(t, "/v1/people/search?purpose=accompaniment&q=2004-05-01");
  EXPECT_EQ(J(r)["query"], "dn:2004-05-01");
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{301});
  ExpectError(Get(t, "/v1/people/search?purpose=accompaniment&q=dn:2004-02-30"), 400, "invalid_parameter");
  ExpectError(Get(t, "/v1/people/search?purpose=accompaniment&q=123"), 400, "invalid_parameter");
  // A partner may not search on a field its purpose does not release.
  r = Get(Login("partner"), "/v1/people/search?purpose=training_orientation&q=2004-03-02");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(J(r)["total"], 0);
}

TEST_F(PeopleRoutesTest, SearchAuditEntriesHoldAKeyedDigestNeverTheValue) {
  const std::string t = Login("counsellor");
  // Two searches for the same postcode, one for another, a birth date, a
  // name prefix, a NIR and a France Travail id.
  for (const char* q : {"cp:67000", "67000", "cp:67100", "2004-05-01", "nom:Dup", kNir301, "20000003020"})
    ASSERT_EQ(Get(t, StrCat("/v1/people/search?purpose=accompaniment&q=", q)).status, 200) << q;
  std::vector<std::string> queries;
  for (const audit::Event& e : AuditEvents()) {
    if (e.kind != audit::EventKind::kRead || !e.details.count("kind") || e.details.at("kind") != "search") continue;
    const std::string& q = e.details.at("query");
    queries.push_back(q);
    const size_t hash = q.find(":#");
    ASSERT_NE(hash, std::string::npos) << q;
    EXPECT_EQ(q.size() - hash - 2, 16u) << q;
    EXPECT_EQ(q.find_first_not_of("0123456789abcdef", hash + 2), std::string::npos) << q;
    // No plain value anywhere in the entry (its canonical bytes).
    const std::string bytes = audit::EncodeEvent(e);
    for (const char* plain : {"67000", "67100", "2004-05-01", "dup", "Dup", kNir301, "20000003020"})
      EXPECT_EQ(bytes.find(plain), std::string::npos) << plain << " in " << bytes;
  }
  ASSERT_EQ(queries.size(), 7u);
  EXPECT_EQ(queries[0].substr(0, 4), "cp:#");
  EXPECT_EQ(queries[0], queries[1]);  // the same postcode, however typed: the same digest
  EXPECT_NE(queries[0], queries[2]);  // another postcode: another digest
  EXPECT_EQ(queries[2].substr(0, 4), "cp:#");
  EXPECT_EQ(queries[3].substr(0, 4), "dn:#");
  EXPECT_EQ(queries[4].substr(0, 5), "nom:#");
  EXPECT_EQ(queries[5].substr(0, 5), "nir:#");
  EXPECT_EQ(queries[6].substr(0, 7), "ft_id:#");
  // Keyed: another data directory's key gives other digests for the same value.
  crypto::SecretBytes other(32);
  EXPECT_NE(access::QueryDigester(access::QueryDigester::KeyFromMaster(other)).Digest("cp", "67000"), queries[0]);
  EXPECT_EQ(access::QueryDigester(access::QueryDigester::KeyFromMaster(master_)).Digest("cp", "67000"), queries[0]);
}

TEST_F(PeopleRoutesTest, SearchResultsAreCapped) {
  Limits l;
  l.search_max_results = 12;
  RebuildIndexAndHandler(l);
  const std::string t = Login("counsellor");
  Response r = Get(t, "/v1/people/search?purpose=accompaniment&q=jean&page_size=50");
  // "jean" is a first name: no nom starts with it.
  EXPECT_EQ(J(r)["total"], 0);
  r = Get(t, "/v1/people/search?purpose=accompaniment&q=du&page_size=50");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["total"], 12);
  EXPECT_EQ(J(r)["truncated"], true);
  EXPECT_EQ(J(r)["results"].size(), 12u);
  r = Get(t, "/v1/people/search?purpose=accompaniment&q=du&page_size=10&page=2");
  EXPECT_EQ(J(r)["results"].size(), 2u);
  r = Get(t, "/v1/people/search?purpose=accompaniment&q=lef&page_size=50");
  EXPECT_EQ(J(r)["total"], 10);
  EXPECT_EQ(J(r)["truncated"], false);
}

// ----------------------------------------------------------- create/update

TEST_F(PeopleRoutesTest, CreatePersonValidatesLikeTheImporter) {
  const std::string t = Login("counsellor");
  Response r = Post(t, "/v1/people", NewPerson());
  ASSERT_EQ(r.status, 201) << r.body;
  const int64_t id = J(r)["id"].get<int64_t>();
  EXPECT_EQ(J(r)["referent_counsellor"], counsellor_.value());
  // Followed at once by the caller's structure, with the caller as referent.
  r = Get(t, StrCat("/v1/people/", id, "?purpose=accompaniment"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["fields"]["prenom"], "Inès");
  EXPECT_EQ(Ids(J(Get(t, "/v1/people/caseload?page_size=50"))["people"]).count(id), 1u);
  ExpectError(Get(Login("counsellor4"), StrCat("/v1/people/", id, "?purpose=accompaniment")), 403, "forbidden");
  // Found by NIR.
  r = Get(t, StrCat("/v1/people/search?purpose=accompaniment&q=", kNewNir));
  EXPECT_EQ(Ids(J(r)["results"]), std::set<int64_t>{id});

  // The same NIR again: 409, and nobody's record is touched.
  json again = NewPerson();
  again["ft_id"] = "30000000002";
  ExpectError(Post(t, "/v1/people", again), 409, "already_exists");
  // Invalid NIR key, unknown fields, missing required field, bad enum.
  json bad = NewPerson();
  bad["nir"] = kBadNir;
  bad["ft_id"] = "30000000003";
  r = Post(t, "/v1/people", bad);
  ExpectError(r, 400, "invalid_parameter");
  EXPECT_NE(r.body.find("nir"), std::string::npos);
  EXPECT_EQ(r.body.find(kBadNir), std::string::npos);
  json unknown = NewPerson();
  unknown["iban"] = "FR76";
  unknown["ssn"] = "x";
  r = Post(t, "/v1/people", unknown);
  ExpectError(r, 400, "unknown_field");
  EXPECT_NE(r.body.find("iban"), std::string::npos);
  EXPECT_NE(r.body.find("ssn"), std::string::npos);
  json missing = NewPerson();
  missing.erase("nom");
  ExpectError(Post(t, "/v1/people", missing), 400, "invalid_parameter");
  json enum_bad = NewPerson();
  enum_bad["statut"] = "vip";
  ExpectError(Post(t, "/v1/people", enum_bad), 400, "invalid_parameter");
  json typed = NewPerson();
  typed["nom"] = 42;
  ExpectError(Post(t, "/v1/people", typed), 400, "invalid_parameter");
  ExpectError(Call("POST", "/v1/people", "[1,2]", Bearer(t)), 400, "invalid_json");
  ExpectError(Call("POST", "/v1/people", NewPerson().dump(), {{"authorization", "Bearer " + t}, {"content-type", "text/plain"}}),
              415, "unsupported_media_type");
  // Partners and access managers do not register people.
  ExpectError(Post(Login("partner"), "/v1/people", NewPerson()), 403, "forbidden");
  ExpectError(Post(LoginManager(), "/v1/people", NewPerson()), 403, "forbidden");

  bool audited = false;
  for (const audit::Event& e : AuditEvents())
    if (e.decision == "create" && e.details.count("action") && e.details.at("action") == "create_person") {
      audited = true;
      EXPECT_EQ(e.persons, std::vector<PersonId>{PersonId(id)});
      EXPECT_EQ(e.account, counsellor_);
    }
  EXPECT_TRUE(audited);
}

TEST_F(PeopleRoutesTest, UpdatePerson) {
  const std::string t = Login("counsellor");
  Response r = Call("PATCH", "/v1/people/302", json{{"commune", "Illkirch"}, {"code_postal", "67400"}}.dump(), Bearer(t));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["updated"].size(), 2u);
  r = Get(t, "/v1/people/302?purpose=accompaniment");
  EXPECT_EQ(J(r)["fields"]["commune"], "Illkirch");
  EXPECT_EQ(J(r)["fields"]["code_postal"], "67400");
  EXPECT_EQ(J(r)["fields"]["nom"], "Lefèvre");  // untouched
  // Cleared.
  r = Call("PATCH", "/v1/people/302", json{{"commune", nullptr}}.dump(), Bearer(t));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(Get(t, "/v1/people/302?purpose=accompaniment"))["fields"].value("commune", ""), "");
  // A required field cannot be cleared; unknown fields; bad values; nothing.
  ExpectError(Call("PATCH", "/v1/people/302", json{{"nom", ""}}.dump(), Bearer(t)), 400, "invalid_parameter");
  ExpectError(Call("PATCH", "/v1/people/302", json{{"salary", "1"}}.dump(), Bearer(t)), 400, "unknown_field");
  ExpectError(Call("PATCH", "/v1/people/302", json{{"code_postal", "6700"}}.dump(), Bearer(t)), 400,
              "invalid_parameter");
  ExpectError(Call("PATCH", "/v1/people/302", "{}", Bearer(t)), 400, "invalid_parameter");
  // Another person's identifier.
  ExpectError(Call("PATCH", "/v1/people/302", json{{"nir", kNir301}}.dump(), Bearer(t)), 409, "already_exists");
  // Not in scope: answered like an unknown id.
  r = Call("PATCH", "/v1/people/201", json{{"commune", "Sélestat"}}.dump(), Bearer(t));
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_relation");
  r = Call("PATCH", "/v1/people/99999", json{{"commune", "Sélestat"}}.dump(), Bearer(t));
  ExpectError(r, 403, "forbidden");
  EXPECT_EQ(J(r)["error"]["reason"], "no_relation");
  bool audited = false;
  for (const audit::Event& e : AuditEvents())
    if (e.decision == "update" && e.persons == std::vector<PersonId>{PersonId(302)}) audited = true;
  EXPECT_TRUE(audited);
}

// ------------------------------------------------------------ orientations

TEST_F(PeopleRoutesTest, OrientationLifecycle) {
  const std::string t = Login("counsellor");
  const std::string pt = Login("partner");
  // The partner does not see 302 before the orientation.
  EXPECT_EQ(Get(pt, "/v1/people/302?purpose=training_orientation").status, 403);
  Response r = Post(t, "/v1/orientations", json{{"person", 302}, {"session", 1}});
  ASSERT_EQ(r.status, 201) << r.body;
  const int64_t oid = J(r)["id"].get<int64_t>();
  EXPECT_EQ(J(r)["status"], "proposed");
  EXPECT_EQ(J(r)["session_code"], "S-1");
  // The relation index reflects it at once: the partner now may read the candidate.
  EXPECT_EQ(Get(pt, "/v1/people/302?purpose=training_orientation").status, 200);
  EXPECT_EQ(Ids(J(Get(pt, "/v1/people/caseload"))["people"]), (std::set<int64_t>{101, 302}));
  // Twice: 409. Ended session: 409. Unknown session: 404. Out of scope person: 403.
  ExpectError(Post(t, "/v1/orientations", json{{"person", 302}, {"session", 1}}), 409, "already_exists");
  ExpectError(Post(t, "/v1/orientations", json{{"person", 303}, {"session", 3}}), 409, "failed_precondition");
  ExpectError(Post(t, "/v1/orientations", json{{"person", 303}, {"session", 99}}), 404, "not_found");
  ExpectError(Post(t, "/v1/orientations", json{{"person", 201}, {"session", 1}}), 403, "forbidden");
  ExpectError(Post(t, "/v1/orientations", json{{"person", "302"}, {"session", 1}}), 400, "invalid_parameter");
  ExpectError(Post(t, "/v1/orientations", json{{"person", 302}}), 400, "invalid_parameter");
  ExpectError(Post(t, "/v1/orientations", json{{"person", 302}, {"session", 1}, {"x", 1}}), 400, "unknown_field");
  ExpectError(Post(pt, "/v1/orientations", json{{"person", 302}, {"session", 1}}), 403, "forbidden");

  const std::string status = StrCat("/v1/orientations/", oid, "/status");
  // Invalid transitions answer 409 naming the possible ones.
  r = Post(t, status, json{{"status", "finished"}});
  ExpectError(r, 409, "failed_precondition");
  EXPECT_NE(J(r)["error"]["message"].get<std::string>().find("accepted or refused"), std::string::npos);
  ExpectError(Post(t, status, json{{"status", "done"}}), 400, "invalid_parameter");
  // Enrolment is the training organisation's.
  ExpectError(Post(t, status, json{{"status", "enrolled"}}), 403, "forbidden");
  r = Post(t, status, json{{"status", "accepted"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["status"], "accepted");
  EXPECT_EQ(J(r)["decided_on"], "2025-10-09");
  ExpectError(Post(t, status, json{{"status", "accepted"}}), 409, "failed_precondition");
  ExpectError(Post(t, StrCat("/v1/orientations/", oid, "/confirm-enrolment"), json::object()), 403, "forbidden");
  r = Call("POST", StrCat("/v1/orientations/", oid, "/confirm-enrolment"), "", Bearer(pt));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["status"], "enrolled");
  EXPECT_EQ(J(r)["enrolled_on"], "2025-10-09");
  ExpectError(Call("POST", StrCat("/v1/orientations/", oid, "/confirm-enrolment"), "", Bearer(pt)), 409,
              "failed_precondition");
  // The enrolled candidate: the partner reads enrolment fields now.
  EXPECT_EQ(Get(pt, "/v1/people/302?purpose=training_enrolment").status, 200);
  r = Post(pt, status, json{{"status", "finished"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["ended_on"], "2025-10-09");
  ExpectError(Post(t, status, json{{"status", "abandoned"}}), 409, "failed_precondition");

  // A refused orientation is final too.
  r = Post(t, "/v1/orientations", json{{"person", 303}, {"session", 1}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string status2 = StrCat("/v1/orientations/", J(r)["id"].get<int64_t>(), "/status");
  ASSERT_EQ(Post(pt, status2, json{{"status", "refused"}}).status, 200);
  ExpectError(Post(t, status2, json{{"status", "accepted"}}), 409, "failed_precondition");

  // Listing a person's orientations.
  r = Get(t, "/v1/orientations?person=302");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(J(r)["orientations"].size(), 1u);
  EXPECT_EQ(J(r)["orientations"][0]["status"], "finished");
  ExpectError(Get(t, "/v1/orientations?person=201"), 403, "forbidden");
  ExpectError(Get(t, "/v1/orientations"), 400, "invalid_parameter");
  r = Get(pt, "/v1/orientations");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(r)["total"], 3);  // 101's, 302's, 303's

  bool audited = false;
  for (const audit::Event& e : AuditEvents())
    if (e.details.count("action") && e.details.at("action") == "confirm_enrolment") {
      audited = true;
      EXPECT_EQ(e.details.at("from"), "accepted");
      EXPECT_EQ(e.details.at("to"), "enrolled");
    }
  EXPECT_TRUE(audited);
}

TEST_F(PeopleRoutesTest, PartnerConfirmsOnlyItsOwnCandidates) {
  const std::string t = Login("counsellor");
  const std::string t4 = Login("counsellor4");
  // Orientation 1 (101 -> OF 5) and 2 (201 -> OF 6), both accepted.
  ASSERT_EQ(Post(t, "/v1/orientations/1/status", json{{"status", "accepted"}}).status, 200);
  ASSERT_EQ(Post(t4, "/v1/orientations/2/status", json{{"status", "accepted"}}).status, 200);
  // The counsellor of another structure cannot move 1.
  ExpectError(Post(t4, "/v1/orientations/1/status", json{{"status", "abandoned"}}), 404, "not_found");
  const std::string pt = Login("partner");
  // Not its candidate: answered like an unknown orientation.
  Response r = Call("POST", "/v1/orientations/2/confirm-enrolment", "", Bearer(pt));
  ExpectError(r, 404, "not_found");
  ExpectError(Call("POST", "/v1/orientations/999/confirm-enrolment", "", Bearer(pt)), 404, "not_found");
  ExpectError(Post(pt, "/v1/orientations/2/status", json{{"status", "abandoned"}}), 404, "not_found");
  EXPECT_EQ(Get(pt, "/v1/orientations?person=201").status, 403);
  EXPECT_EQ(Call("POST", "/v1/orientations/1/confirm-enrolment", "", Bearer(pt)).status, 200);
  EXPECT_EQ(Call("POST", "/v1/orientations/2/confirm-enrolment", "", Bearer(Login("partner2"))).status, 200);
}

// --------------------------------------------------------- hostile input

TEST_F(PeopleRoutesTest, InjectionStringsInEveryParameterAnswer4xx) {
  const std::string t = Login("counsellor");
  const std::vector<std::string> raw = {"' OR 1=1 --", "../../etc/passwd", "<script>alert(1)</script>",
                                        std::string("a\0b", 3), "\xff\xfe", "%00", "1; DROP TABLE persons"};
  auto pct = [](const std::string& s) {
    std::string out;
    for (unsigned char ch : s) out += StrCat("%", "0123456789ABCDEF"[ch >> 4], "0123456789ABCDEF"[ch & 15]);
    return out;
  };
  auto check = [&](const Response& r, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    ExpectError(r, r.status);
    EXPECT_EQ(r.body.find("<script>"), std::string::npos);
    EXPECT_EQ(r.body.find("etc/passwd"), std::string::npos);
  };
  for (const std::string& s : raw) {
    const std::string e = pct(s);
    check(Get(t, "/v1/people/search?purpose=accompaniment&q=" + e), "q");
    check(Get(t, "/v1/people/search?q=martin&purpose=" + e), "purpose");
    check(Get(t, "/v1/people/search?q=martin&purpose=accompaniment&page=" + e), "page");
    check(Get(t, "/v1/people/search?q=martin&purpose=accompaniment&page_size=" + e), "page_size");
    check(Get(t, "/v1/people/caseload?page=" + e), "caseload page");
    check(Get(t, "/v1/people/caseload?" + e + "=1"), "caseload key");
    check(Get(t, "/v1/orientations?person=" + e), "person");
    check(Call("PATCH", "/v1/people/" + e, json{{"commune", "x"}}.dump(), Bearer(t)), "patch id");
    check(Post(t, "/v1/orientations/" + e + "/status", json{{"status", "accepted"}}), "orientation id");
    check(Call("POST", "/v1/orientations/" + e + "/confirm-enrolment", "", Bearer(t)), "confirm id");
    // In bodies (JSON-escaped where the string is valid UTF-8; raw bytes otherwise).
    const bool utf8 = IsValidUtf8(s);
    const std::string js = utf8 ? json(s).dump() : "\"" + s + "\"";
    check(Call("PATCH", "/v1/people/302", "{\"code_postal\":" + js + "}", Bearer(t)), "patch value");
    check(Call("PATCH", "/v1/people/302", "{" + js + ":\"x\"}", Bearer(t)), "patch key");
    check(Call("POST", "/v1/people", "{\"nom\":" + js + "}", Bearer(t)), "create value");
    check(Post(t, "/v1/orientations/1/status", utf8 ? json{{"status", s}} : json::object()), "status value");
    check(Call("POST", "/v1/orientations", "{\"person\":" + js + ",\"session\":1}", Bearer(t)), "person body");
  }
  // Free text in a name field is stored as text, never interpreted.
  Response r = Call("PATCH", "/v1/people/302", json{{"commune", "' OR 1=1 --"}}.dump(), Bearer(t));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(J(Get(t, "/v1/people/302?purpose=accompaniment"))["fields"]["commune"], "' OR 1=1 --");
  // Still working.
  r = Get(t, "/v1/people/search?q=ma&purpose=accompaniment");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(J(r)["total"], 4);
  EXPECT_EQ(Get(t, "/v1/people/caseload").status, 200);
}

TEST_F(PeopleRoutesTest, OpenApiDescribesTheEndpoints) {
  json doc = J(Call("GET", "/openapi.json"));
  ASSERT_TRUE(doc.is_object());
  for (const char* path : {"/v1/people/caseload", "/v1/people/search", "/v1/people", "/v1/orientations",
                           "/v1/orientations/{id}/status", "/v1/orientations/{id}/confirm-enrolment"})
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  EXPECT_TRUE(doc["paths"]["/v1/people/{id}"].contains("patch"));
  EXPECT_TRUE(doc["paths"]["/v1/people/{id}"].contains("get"));
}

}  // namespace
}  // namespace cloison::api
