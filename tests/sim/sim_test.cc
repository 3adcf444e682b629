// Tests of the synthetic-data generator: determinism, realism checks that
// the importer relies on (NIR, catalog validity, uniqueness), network shape
// and the file writers.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "core/field_catalog.h"
#include "core/identifiers.h"
#include "core/random.h"
#include "sim/network.h"
#include "sim/people.h"
#include "sim/reference.h"
#include "sim/writers.h"

namespace cloison::sim {
namespace {

const Date kToday{2025, 6, 1};

const Network& SmallNetwork() {
  static const Network* net = [] {
    NetworkOptions o;
    o.people = 20000;
    o.today = kToday;
    auto n = GenerateNetwork(o, 42);
    EXPECT_TRUE(n.ok()) << n.status();
    return new Network(*std::move(n));
  }();
  return *net;
}

// Sized like the 1.6M benchmark run (network only: it is cheap).
const Network& LargeNetwork() {
  static const Network* net = [] {
    NetworkOptions o;
    o.people = 1'600'000;
    o.today = kToday;
    auto n = GenerateNetwork(o, 7);
    EXPECT_TRUE(n.ok()) << n.status();
    return new Network(*std::move(n));
  }();
  return *net;
}

std::unique_ptr<PeopleGenerator> Generator(const Network& net, uint64_t seed) {
  PeopleOptions po;
  po.today = kToday;
  auto g = PeopleGenerator::Create(net, FieldCatalog::Default(), seed, po);
  EXPECT_TRUE(g.ok()) << g.status();
  return *std::move(g);
}

size_t Field(std::string_view name) { return *FieldCatalog::Default().IndexOf(name); }

std::string CsvOf(const PeopleGenerator& g, const Network& net, uint64_t begin, uint64_t end) {
  PeopleRowFormatter fmt(net, FieldCatalog::Default());
  std::string out;
  GeneratedPerson p;
  for (uint64_t i = begin; i < end; ++i) {
    g.Generate(i, &p);
    fmt.AppendCsvRow(p, &out);
  }
  return out;
}

// ---------------------------------------------------------------- reference

TEST(ReferenceData, Loads) {
  const auto& r = ReferenceData::Get();
  EXPECT_GT(r.communes().size(), 34000u);
  EXPECT_GT(r.surnames().size(), 200u);
  EXPECT_GT(r.female_first_names().size(), 100u);
  EXPECT_GT(r.male_first_names().size(), 100u);
  EXPECT_GT(r.street_names().size(), 50u);
  const Departement* d67 = r.FindDepartement("67");
  ASSERT_NE(d67, nullptr);
  EXPECT_EQ(d67->name, "Bas-Rhin");
  EXPECT_GT(d67->population, 1'000'000u);
  size_t in_network = 0;
  for (const auto& d : r.departements()) {
    if (!d.in_network) continue;
    ++in_network;
    EXPECT_LT(d.first_commune, d.end_commune) << d.code;
    for (size_t i = d.first_commune; i < d.end_commune; ++i) {
      EXPECT_EQ(r.communes()[i].departement, d.code);
      EXPECT_TRUE(r.communes()[i].insee.starts_with(d.code)) << r.communes()[i].insee;
      EXPECT_TRUE(IsValidPostcode(r.communes()[i].postcode)) << r.communes()[i].postcode;
    }
  }
  EXPECT_EQ(in_network, 101u);  // 96 metropolitan + 5 DROM
}

TEST(ReferenceData, WeightedIndexFindMatchesBinarySearch) {
  std::vector<uint64_t> w;
  DeterministicRandom rng(3);
  for (int i = 0; i < 5000; ++i) w.push_back(rng.Uniform(4) == 0 ? 0 : rng.Uniform(100000));
  WeightedIndex idx(w);
  std::vector<uint64_t> cum;
  uint64_t sum = 0;
  for (uint64_t x : w) cum.push_back(sum += x);
  for (int k = 0; k < 200000; ++k) {
    const uint64_t point = k < 100 ? sum - 1 - static_cast<uint64_t>(k) : rng.Uniform(sum);
    const size_t expected = static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), point) - cum.begin());
    ASSERT_EQ(idx.Find(point), expected) << point;
    ASSERT_GT(w[expected], 0u);
  }
  for (size_t i = 0; i < cum.size(); ++i) ASSERT_EQ(idx.Find(cum[i] - (w[i] ? 1 : 0)), std::upper_bound(cum.begin(), cum.end(), cum[i] - (w[i] ? 1 : 0)) - cum.begin());
}

TEST(ReferenceData, AsciiFold) {
  EXPECT_EQ(AsciiFold("Jean-François"), "jean-francois");
  EXPECT_EQ(AsciiFold("Le Gall"), "legall");
  EXPECT_EQ(AsciiFold("N'Diaye"), "ndiaye");
  EXPECT_EQ(AsciiFold("Éloïse"), "eloise");
  EXPECT_EQ(AsciiFold("Lætitia Œuvray"), "laetitiaoeuvray");
  for (const auto& n : ReferenceData::Get().surnames()) EXPECT_FALSE(n.ascii.empty()) << n.display;
}

// ------------------------------------------------------------------ network

TEST(Network, Deterministic) {
  NetworkOptions o;
  o.people = 5000;
  auto a = GenerateNetwork(o, 1), b = GenerateNetwork(o, 1), c = GenerateNetwork(o, 2);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto ja = NetworkToJson(*a), jb = NetworkToJson(*b), jc = NetworkToJson(*c);
  ASSERT_TRUE(ja.ok() && jb.ok() && jc.ok());
  EXPECT_EQ(*ja, *jb);
  EXPECT_NE(*ja, *jc);
}

TEST(Network, RejectsBadOptions) {
  NetworkOptions o;
  o.people = 0;
  EXPECT_FALSE(GenerateNetwork(o, 1).ok());
  o.people = 10;
  o.mission_locale_share = 1.5;
  EXPECT_FALSE(GenerateNetwork(o, 1).ok());
}

void CheckShape(const Network& net) {
  std::set<std::string> codes, usernames, formation_codes, session_codes;
  std::map<int64_t, int> counsellors, managers;
  ASSERT_EQ(net.planned_people.size(), net.structures.size());
  for (size_t k = 0; k < net.structures.size(); ++k) {
    const Structure& s = net.structures[k];
    EXPECT_EQ(s.id.value(), static_cast<int64_t>(k) + 1);
    EXPECT_TRUE(codes.insert(s.code).second) << "duplicate code " << s.code;
    EXPECT_FALSE(s.name.empty());
    if (s.parent) {
      const Structure* p = net.structure(*s.parent);
      ASSERT_NE(p, nullptr) << s.code;
      switch (s.kind) {
        case StructureKind::kRegionalDirection: EXPECT_EQ(p->kind, StructureKind::kNationalOperator); break;
        case StructureKind::kAgency:
        case StructureKind::kMissionLocale: EXPECT_EQ(p->kind, StructureKind::kRegionalDirection); break;
        case StructureKind::kTrainingOrganisation: EXPECT_EQ(p->kind, StructureKind::kFinancer); break;
        default: ADD_FAILURE() << s.code << " should have no parent";
      }
    } else {
      EXPECT_TRUE(s.kind == StructureKind::kNationalOperator || s.kind == StructureKind::kFinancer) << s.code;
    }
    if (s.kind != StructureKind::kNationalOperator) {
      EXPECT_NE(ReferenceData::Get().FindDepartement(s.departement), nullptr) << s.code;
    }
    if (s.departement == "974") { EXPECT_EQ(s.time_zone, "Indian/Reunion"); }
    if (s.departement == "67") { EXPECT_EQ(s.time_zone, "Europe/Paris"); }
  }
  for (size_t k = 0; k < net.agents.size(); ++k) {
    const Agent& a = net.agents[k];
    EXPECT_EQ(a.id.value(), static_cast<int64_t>(k) + 1);
    EXPECT_TRUE(usernames.insert(a.username).second) << "duplicate username " << a.username;
    ASSERT_NE(net.structure(a.structure), nullptr);
    ASSERT_FALSE(a.roles.empty());
    for (Role r : a.roles) {
      if (r == Role::kCounsellor) ++counsellors[a.structure.value()];
      if (r == Role::kAccessManager) ++managers[a.structure.value()];
    }
  }
  int auditors = 0, dpos = 0, security = 0;
  for (const Agent& a : net.agents)
    for (Role r : a.roles) auditors += r == Role::kAuditor, dpos += r == Role::kDpo, security += r == Role::kSecurityOfficer;
  EXPECT_GE(auditors, 2);
  EXPECT_GE(dpos, 1);
  EXPECT_GE(security, 2);
  for (size_t k = 0; k < net.structures.size(); ++k) {
    const Structure& s = net.structures[k];
    if (s.kind == StructureKind::kMissionLocale || s.kind == StructureKind::kAgency) {
      EXPECT_GE(counsellors[s.id.value()], 1) << s.code;
      EXPECT_EQ(managers[s.id.value()], 1) << s.code;
      // Caseloads: ~120 per agency counsellor, ~100 in missions locales.
      const double caseload = static_cast<double>(net.planned_people[k]) / counsellors[s.id.value()];
      EXPECT_LE(caseload, s.kind == StructureKind::kAgency ? 120.0 : 100.0) << s.code;
    }
  }
  for (const Formation& f : net.formations) {
    EXPECT_TRUE(formation_codes.insert(f.code).second) << f.code;
    const Structure* of = net.structure(f.organisation);
    ASSERT_NE(of, nullptr);
    EXPECT_EQ(of->kind, StructureKind::kTrainingOrganisation);
  }
  for (const TrainingSession& t : net.sessions) {
    EXPECT_TRUE(session_codes.insert(t.code).second) << t.code;
    ASSERT_NE(net.formation(t.formation), nullptr);
    EXPECT_LT(t.start, t.end);
    EXPECT_FALSE(t.place.empty());
  }
}

TEST(Network, ShapeSmall) { CheckShape(SmallNetwork()); }

TEST(Network, ShapeLarge) {
  const Network& net = LargeNetwork();
  CheckShape(net);
  std::map<std::string, int> ml_per_dep, ag_per_dep, of_per_org;
  int ml = 0, dr = 0, fin = 0;
  for (const Structure& s : net.structures) {
    if (s.kind == StructureKind::kMissionLocale) ++ml, ++ml_per_dep[s.departement];
    if (s.kind == StructureKind::kAgency) ++ag_per_dep[s.departement];
    dr += s.kind == StructureKind::kRegionalDirection;
    fin += s.kind == StructureKind::kFinancer;
  }
  EXPECT_EQ(dr, 18);  // 13 metropolitan + 5 overseas regions
  EXPECT_EQ(fin, 18);
  EXPECT_EQ(ml_per_dep.size(), 101u);  // at least one per département
  EXPECT_EQ(ag_per_dep.size(), 101u);
  EXPECT_GT(ml, 350);
  EXPECT_LT(ml, 550);
  EXPECT_GT(ag_per_dep["75"], ag_per_dep["48"]);  // Paris has more agencies than Lozère
  for (const Formation& f : net.formations) ++of_per_org[net.structure(f.organisation)->code];
  for (const auto& [code, n] : of_per_org) {
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 10);
  }
}

// ------------------------------------------------------------------- people

TEST(People, Deterministic) {
  const Network& net = SmallNetwork();
  auto g1 = Generator(net, 99), g2 = Generator(net, 99), g3 = Generator(net, 100);
  EXPECT_EQ(CsvOf(*g1, net, 0, 2000), CsvOf(*g2, net, 0, 2000));
  EXPECT_NE(CsvOf(*g1, net, 0, 2000), CsvOf(*g3, net, 0, 2000));
}

TEST(People, CounterBased) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 5);
  // Person i alone equals person i inside a sequence (whose buffers are reused).
  const std::string seq = CsvOf(*g, net, 0, 500);
  std::string alone;
  for (uint64_t i = 500; i-- > 0;) alone.insert(0, CsvOf(*g, net, i, i + 1));
  EXPECT_EQ(seq, alone);
  GeneratedPerson a = g->Generate(1234), b;
  g->Generate(7, &b);
  g->Generate(1234, &b);
  EXPECT_EQ(a.person.fields, b.person.fields);
  EXPECT_EQ(a.person.referent_structure, b.person.referent_structure);
  EXPECT_EQ(a.orientations.size(), b.orientations.size());
}

TEST(People, NirAgreesWithPerson) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 11);
  const auto& ref = ReferenceData::Get();
  std::set<std::string_view> insee;
  for (const auto& c : ref.communes()) insee.insert(c.insee);
  std::set<std::string_view> countries;
  for (const auto& c : ref.countries()) countries.insert(c.code);
  int corsica = 0, abroad = 0, overseas = 0, with_nir = 0;
  GeneratedPerson p;
  constexpr int kN = 100'000;
  for (int i = 0; i < kN; ++i) {
    g->Generate(static_cast<uint64_t>(i), &p);
    const std::string& nir = p.person.fields[Field("nir")];
    if (nir.empty()) continue;
    ++with_nir;
    ASSERT_TRUE(ValidateNir(nir).ok()) << i << ": " << ValidateNir(nir);
    const std::string& sexe = p.person.fields[Field("sexe")];
    EXPECT_EQ(nir[0], sexe == "F" ? '2' : '1');
    const Date birth = *Date::Parse(p.person.fields[Field("date_naissance")]);
    EXPECT_EQ(nir.substr(1, 2), birth.ToString().substr(2, 2));
    EXPECT_EQ(nir.substr(3, 2), birth.ToString().substr(5, 2));
    const std::string place = nir.substr(5, 5);
    if (place.starts_with("99")) {
      ++abroad;
      EXPECT_TRUE(countries.count(place.substr(2))) << place;
    } else {
      EXPECT_TRUE(insee.count(place)) << place;
      corsica += place.starts_with("2A") || place.starts_with("2B");
      overseas += place.starts_with("97");
    }
  }
  EXPECT_GT(with_nir, kN * 9 / 10);
  EXPECT_GT(corsica, 100);  // ~0.5% of the population
  EXPECT_GT(overseas, 1000);
  EXPECT_GT(abroad, with_nir * 2 / 100);
  EXPECT_LT(abroad, with_nir * 4 / 100);
}

TEST(People, AgesFitStructures) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 12);
  GeneratedPerson p;
  int ml = 0, ag = 0, female = 0, with_cp = 0, other_dep_cp = 0;
  for (int i = 0; i < 50'000; ++i) {
    g->Generate(static_cast<uint64_t>(i), &p);
    const Structure* s = net.structure(p.person.referent_structure);
    ASSERT_NE(s, nullptr);
    const Date birth = *Date::Parse(p.person.fields[Field("date_naissance")]);
    const int age = birth.AgeOn(kToday);
    if (s->kind == StructureKind::kMissionLocale) {
      ++ml;
      EXPECT_GE(age, 16);
      EXPECT_LE(age, 25);
    } else {
      ASSERT_EQ(s->kind, StructureKind::kAgency);
      ++ag;
      EXPECT_GE(age, 18);
      EXPECT_LE(age, 64);
    }
    const Date inscription = *Date::Parse(p.person.fields[Field("date_inscription")]);
    EXPECT_GE(inscription.ToDays(), (Date{birth.year + 16, birth.month, std::min(birth.day, 28)}.ToDays()));
    EXPECT_LT(inscription, kToday);
    if (p.person.referent_counsellor) {
      const Agent* a = net.agent(*p.person.referent_counsellor);
      ASSERT_NE(a, nullptr);
      EXPECT_EQ(a->structure, p.person.referent_structure);
    }
    // Residence in the structure's département (a few communes have a
    // neighbouring département's postcode, as La Poste assigns them).
    const std::string& cp = p.person.fields[Field("code_postal")];
    if (!cp.empty() && s->departement.size() == 2 && s->departement[0] != '2') {
      ++with_cp;
      other_dep_cp += cp.substr(0, 2) != s->departement;
    }
    // Prénom agrees with sexe.
    const auto& names = p.person.fields[Field("sexe")] == "F" ? ReferenceData::Get().female_first_names()
                                                                : ReferenceData::Get().male_first_names();
    bool found = false;
    for (const auto& n : names) found |= n.display == p.person.fields[Field("prenom")];
    EXPECT_TRUE(found) << p.person.fields[Field("prenom")];
    female += p.person.fields[Field("sexe")] == "F";
  }
  EXPECT_GT(ml, 50'000 * 18 / 100);
  EXPECT_LT(ml, 50'000 * 32 / 100);
  EXPECT_GT(ag, 0);
  EXPECT_NEAR(female, 25'000, 1'000);
  EXPECT_LT(other_dep_cp, with_cp / 100);
}

TEST(People, AllValuesValidPerCatalog) {
  const Network& net = LargeNetwork();
  auto g = Generator(net, 13);
  const FieldCatalog& cat = FieldCatalog::Default();
  GeneratedPerson p;
  std::vector<int> present(cat.size(), 0);
  int mobile = 0, phones = 0;
  constexpr int kN = 100'000;
  for (int i = 0; i < kN; ++i) {
    g->Generate(static_cast<uint64_t>(i) * 13, &p);
    ASSERT_EQ(p.person.fields.size(), cat.size());
    for (size_t f = 0; f < cat.size(); ++f) {
      const std::string& v = p.person.fields[f];
      ASSERT_TRUE(ValidateFieldValue(cat.at(f), v).ok()) << cat.at(f).name << " = '" << v << "': "
                                                         << ValidateFieldValue(cat.at(f), v);
      EXPECT_EQ(CanonicalizeFieldValue(cat.at(f), v), v) << cat.at(f).name;
      present[f] += !v.empty();
    }
    const std::string& tel = p.person.fields[Field("telephone")];
    if (!tel.empty()) ++phones, mobile += IsMobilePhone(tel);
  }
  EXPECT_NEAR(present[Field("ft_id_legacy")], kN * 0.6, kN * 0.02);
  EXPECT_GT(present[Field("email")], kN * 8 / 10);
  EXPECT_NEAR(mobile, phones * 0.85, phones * 0.02);
}

TEST(People, IdentifiersUnique) {
  const Network& net = LargeNetwork();
  auto g = Generator(net, 14);
  std::unordered_set<std::string> nirs, ft_ids, legacy;
  GeneratedPerson p;
  constexpr int kN = 200'000;
  nirs.reserve(kN);
  ft_ids.reserve(kN);
  legacy.reserve(kN);
  for (int i = 0; i < kN; ++i) {
    g->Generate(static_cast<uint64_t>(i), &p);
    const auto& f = p.person.fields;
    if (!f[Field("nir")].empty()) { ASSERT_TRUE(nirs.insert(f[Field("nir")]).second) << "NIR of " << i; }
    ASSERT_TRUE(ft_ids.insert(f[Field("ft_id")]).second) << "ft_id of " << i;
    if (!f[Field("ft_id_legacy")].empty()) {
      ASSERT_TRUE(legacy.insert(f[Field("ft_id_legacy")]).second) << "legacy of " << i;
    }
  }
  EXPECT_GE(g->capacity(), 1'600'000u);
}

TEST(People, OrientationsConsistent) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 15);
  GeneratedPerson p;
  int with = 0, ml_with = 0, ml = 0;
  std::map<OrientationStatus, int> statuses;
  constexpr int kN = 50'000;
  for (int i = 0; i < kN; ++i) {
    g->Generate(static_cast<uint64_t>(i), &p);
    const Structure* s = net.structure(p.person.referent_structure);
    const bool is_ml = s->kind == StructureKind::kMissionLocale;
    ml += is_ml;
    if (p.orientations.empty()) continue;
    ++with;
    ml_with += is_ml;
    const Date inscription = *Date::Parse(p.person.fields[Field("date_inscription")]);
    bool enrolled = false;
    for (const Orientation& o : p.orientations) {
      ++statuses[o.status];
      EXPECT_EQ(o.person, p.person.id);
      const TrainingSession* ts = net.session(o.session);
      ASSERT_NE(ts, nullptr);
      // Same region as the person's structure.
      const Structure* of = net.structure(net.formation(ts->formation)->organisation);
      EXPECT_EQ(ReferenceData::Get().FindDepartement(of->departement)->region,
                ReferenceData::Get().FindDepartement(s->departement)->region);
      const Agent* c = net.agent(o.counsellor);
      ASSERT_NE(c, nullptr);
      EXPECT_EQ(c->structure, p.person.referent_structure);
      // Dates in order, none in the future, none before registration.
      EXPECT_GE(o.proposed_on, inscription);
      EXPECT_LE(o.proposed_on, kToday);
      EXPECT_LT(o.proposed_on, ts->start);
      Date last = o.proposed_on;
      for (const auto& d : {o.decided_on, o.enrolled_on, o.ended_on}) {
        if (!d) continue;
        EXPECT_LE(last, *d);
        EXPECT_LE(*d, kToday);
        last = *d;
      }
      // The status agrees with the dates, and the path to it is allowed.
      switch (o.status) {
        case OrientationStatus::kProposed:
          EXPECT_FALSE(o.decided_on || o.enrolled_on || o.ended_on);
          break;
        case OrientationStatus::kAccepted:
          EXPECT_TRUE(o.decided_on && !o.enrolled_on && !o.ended_on);
          EXPECT_TRUE(IsAllowedTransition(OrientationStatus::kProposed, OrientationStatus::kAccepted));
          break;
        case OrientationStatus::kRefused:
          EXPECT_TRUE(o.decided_on && !o.enrolled_on && !o.ended_on);
          break;
        case OrientationStatus::kEnrolled:
          EXPECT_TRUE(o.decided_on && o.enrolled_on && !o.ended_on);
          EXPECT_EQ(*o.enrolled_on, ts->start);
          enrolled = true;
          break;
        case OrientationStatus::kFinished:
          EXPECT_TRUE(o.decided_on && o.enrolled_on && o.ended_on);
          EXPECT_EQ(*o.ended_on, ts->end);
          EXPECT_TRUE(IsAllowedTransition(OrientationStatus::kEnrolled, OrientationStatus::kFinished));
          break;
        case OrientationStatus::kAbandoned:
          EXPECT_TRUE(o.decided_on && o.ended_on);
          EXPECT_TRUE(IsAllowedTransition(o.enrolled_on ? OrientationStatus::kEnrolled : OrientationStatus::kAccepted,
                                          OrientationStatus::kAbandoned));
          break;
      }
    }
    if (enrolled) { EXPECT_EQ(p.person.fields[Field("statut")], "en_formation"); }
  }
  EXPECT_GT(with, kN * 15 / 100);
  EXPECT_LT(with, kN * 25 / 100);
  EXPECT_GT(ml_with * 2, with);  // mostly young people of missions locales
  for (auto st : {OrientationStatus::kProposed, OrientationStatus::kAccepted, OrientationStatus::kRefused,
                  OrientationStatus::kEnrolled, OrientationStatus::kFinished, OrientationStatus::kAbandoned})
    EXPECT_GT(statuses[st], 0) << OrientationStatusName(st);
}

// ------------------------------------------------------------------ writers

// A minimal RFC 4180 reader for the tests.
std::vector<std::vector<std::string>> ParseCsv(std::string_view text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false, row_open = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') cell.push_back('"'), ++i;
      else if (c == '"') quoted = false;
      else cell.push_back(c);
    } else if (c == '"') {
      quoted = true;
      row_open = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(cell));
      cell.clear();
      row_open = true;
    } else if (c == '\n') {
      rows.back().push_back(std::move(cell));
      cell.clear();
      rows.emplace_back();
      row_open = false;
    } else {
      cell.push_back(c);
      row_open = true;
    }
  }
  if (row_open) rows.back().push_back(std::move(cell));
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST(Writers, CsvCellQuoting) {
  std::string out;
  AppendCsvCell("plain", &out);
  EXPECT_EQ(out, "plain");
  out.clear();
  AppendCsvCell("12 rue Victor Hugo, bât. A", &out);
  EXPECT_EQ(out, "\"12 rue Victor Hugo, bât. A\"");
  out.clear();
  AppendCsvCell("dit \"le grand\"", &out);
  EXPECT_EQ(out, "\"dit \"\"le grand\"\"\"");
  out.clear();
  AppendCsvCell("ligne1\nligne2\r", &out);
  EXPECT_EQ(out, "\"ligne1\nligne2\r\"");
}

TEST(Writers, CsvRoundTrip) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 16);
  PeopleRowFormatter fmt(net, FieldCatalog::Default());
  std::string text;
  fmt.AppendCsvHeader(&text);
  std::vector<GeneratedPerson> people;
  for (int i = 0; i < 300; ++i) people.push_back(g->Generate(static_cast<uint64_t>(i)));
  people[3].person.fields[Field("adresse")] = "3, \"impasse\"\ndes Lilas";
  people[4].person.fields[Field("nom")] = "O'Neil, \"Jr\"";
  for (const auto& p : people) fmt.AppendCsvRow(p, &text);
  auto rows = ParseCsv(text);
  ASSERT_EQ(rows.size(), 301u);
  EXPECT_EQ(rows[0], fmt.columns());
  const auto& cols = fmt.columns();
  for (size_t r = 1; r < rows.size(); ++r) {
    const GeneratedPerson& p = people[r - 1];
    ASSERT_EQ(rows[r].size(), cols.size()) << r;
    EXPECT_EQ(rows[r][0], net.structure(p.person.referent_structure)->code);
    if (p.person.referent_counsellor) { EXPECT_EQ(rows[r][1], net.agent(*p.person.referent_counsellor)->username); }
    for (size_t f = 0; f < FieldCatalog::Default().size(); ++f) EXPECT_EQ(rows[r][3 + f], p.person.fields[f]);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Writers, FilesIdenticalAcrossThreadCounts) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 17);
  const std::string dir = testing::TempDir();
  WriteOptions one, three;
  three.threads = 3;
  one.orientations_path = dir + "/sim_o1.jsonl";
  three.orientations_path = dir + "/sim_o3.jsonl";
  ASSERT_TRUE(WritePeopleFile(dir + "/sim_1.csv", PeopleFormat::kCsv, *g, 20000, one).ok());
  ASSERT_TRUE(WritePeopleFile(dir + "/sim_3.csv", PeopleFormat::kCsv, *g, 20000, three).ok());
  const std::string a = ReadFile(dir + "/sim_1.csv"), b = ReadFile(dir + "/sim_3.csv");
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n') - 0, 20001 + std::count(a.begin(), a.end(), '"') * 0);
  EXPECT_EQ(ReadFile(one.orientations_path), ReadFile(three.orientations_path));
  EXPECT_FALSE(ReadFile(one.orientations_path).empty());
  std::string expected;
  PeopleRowFormatter fmt(net, FieldCatalog::Default());
  fmt.AppendCsvHeader(&expected);
  expected += CsvOf(*g, net, 0, 20000);
  EXPECT_EQ(a, expected);
  for (const char* f : {"/sim_1.csv", "/sim_3.csv", "/sim_o1.jsonl", "/sim_o3.jsonl"}) std::remove((dir + f).c_str());
}

TEST(Writers, FilesAreCreatedPrivate) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 18);
  const std::string people = testing::TempDir() + "/sim_private.csv";
  const std::string network = testing::TempDir() + "/sim_private_network.json";
  const mode_t old = ::umask(0);  // the most permissive umask: the writer must not rely on it
  ASSERT_TRUE(WritePeopleFile(people, PeopleFormat::kCsv, *g, 10).ok());
  ASSERT_TRUE(WriteNetworkJson(network, net).ok());
  ::umask(old);
  for (const std::string& p : {people, network}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
    std::remove(p.c_str());
  }
}

TEST(Writers, JsonLines) {
  const Network& net = SmallNetwork();
  auto g = Generator(net, 18);
  const std::string path = testing::TempDir() + "/sim_people.jsonl";
  ASSERT_TRUE(WritePeopleFile(path, PeopleFormat::kJsonLines, *g, 1000).ok());
  const std::string text = ReadFile(path);
  std::remove(path.c_str());
  std::istringstream in(text);
  std::string line;
  int n = 0;
  PeopleRowFormatter fmt(net, FieldCatalog::Default());
  while (std::getline(in, line)) {
    GeneratedPerson p = g->Generate(static_cast<uint64_t>(n));
    std::string expected;
    ASSERT_TRUE(fmt.AppendJsonLine(p, &expected).ok());
    EXPECT_EQ(line + "\n", expected);
    EXPECT_NE(line.find("\"structure\":\"" + net.structure(p.person.referent_structure)->code + "\""),
              std::string::npos);
    EXPECT_NE(line.find("\"ft_id\":\"" + p.person.fields[Field("ft_id")] + "\""), std::string::npos);
    ++n;
  }
  EXPECT_EQ(n, 1000);
}

TEST(Writers, NetworkJson) {
  const Network& net = SmallNetwork();
  auto j = NetworkToJson(net);
  ASSERT_TRUE(j.ok());
  EXPECT_NE(j->find("\"code\": \"FT-DG\""), std::string::npos);
  EXPECT_NE(j->find("\"kind\": \"mission_locale\""), std::string::npos);
  EXPECT_NE(j->find("\"sessions\""), std::string::npos);
  EXPECT_FALSE(WriteNetworkJson("/nonexistent-dir/network.json", net).ok());
}

TEST(Writers, SampleRowForDocs) {
  const Network& net = LargeNetwork();
  auto g = Generator(net, 2025);
  PeopleRowFormatter fmt(net, FieldCatalog::Default());
  std::string out;
  fmt.AppendCsvHeader(&out);
  out += CsvOf(*g, net, 0, 8);
  std::printf("%s", out.c_str());
}

}  // namespace
}  // namespace cloison::sim
