#include "sim/people.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "core/identifiers.h"
#include "core/random.h"
#include "core/strings.h"
#include "sim/reference.h"

namespace cloison::sim {

namespace {

inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Keyed bijection of [0, n): a 4-round balanced Feistel network over the
// smallest even power of two >= n, with cycle walking back into [0, n). Not
// cryptographic; it only has to scatter indices and never collide.
class Feistel {
 public:
  Feistel() = default;
  Feistel(uint64_t n, uint64_t key) : n_(n) {
    int bits = 2;
    while (bits < 64 && (uint64_t{1} << bits) < n) ++bits;
    half_ = (bits + 1) / 2;
    mask_ = (uint64_t{1} << half_) - 1;
    for (auto& k : keys_) k = Mix64(key += 0x9e3779b97f4a7c15ULL);
  }
  uint64_t operator()(uint64_t x) const {
    do x = Round(x);
    while (x >= n_);
    return x;
  }
  uint64_t size() const { return n_; }

 private:
  uint64_t Round(uint64_t x) const {
    uint64_t l = x >> half_, r = x & mask_;
    for (uint64_t k : keys_) {
      const uint64_t t = l ^ (Mix64(r ^ k) & mask_);
      l = r;
      r = t;
    }
    return (l << half_) | r;
  }
  uint64_t n_ = 1;
  int half_ = 1;
  uint64_t mask_ = 1;
  std::array<uint64_t, 4> keys_{};
};

// A NIR's (sex, month, order) triple per birth place: 2 * 12 * 999 slots.
constexpr uint64_t kSlotsPerPlace = 2 * 12 * 999;
constexpr double kBornAbroadShare = 0.03;
constexpr uint64_t kFtIdBase = 10'000'000'000ULL;  // 11 digits, no leading zero
constexpr uint64_t kLegacySpace = 10'000'000ULL * 26;

inline void AppendDigits(std::string& s, uint64_t v, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  s.append(buf, static_cast<size_t>(width));
}

inline bool Chance(Random& rng, uint32_t percent) { return FastUniform(rng, 100) < percent; }

constexpr std::string_view kEmailDomains[] = {"gmail.com",  "hotmail.fr", "orange.fr", "yahoo.fr", "outlook.fr",
                                              "laposte.net", "free.fr",   "sfr.fr",    "icloud.com", "wanadoo.fr"};
constexpr uint32_t kEmailDomainWeights[] = {40, 14, 11, 8, 7, 5, 5, 4, 3, 3};

// Age weights, ages 16..25 for missions locales and 18..64 for agencies.
constexpr uint32_t kMlAgeWeights[] = {4, 7, 10, 12, 13, 13, 12, 11, 10, 8};

enum Statut { kInscrit, kEnAccompagnement, kEnFormation, kEnEmploi, kSorti, kStatutCount };
constexpr std::string_view kStatutNames[] = {"inscrit", "en_accompagnement", "en_formation", "en_emploi", "sorti"};

// Telephone prefixes by département: landline and mobile.
struct PhonePlan {
  std::string_view landline;  // "01".."05", or 4 digits overseas ("0590")
  std::string_view mobile_a, mobile_b;
};

PhonePlan PhonePlanOf(std::string_view dep, std::string_view region) {
  if (dep == "971") return {"0590", "0690", "0691"};
  if (dep == "972") return {"0596", "0696", "0697"};
  if (dep == "973") return {"0594", "0694", "0694"};
  if (dep == "974") return {"0262", "0692", "0693"};
  if (dep == "976") return {"0269", "0639", "0639"};
  std::string_view fixed = "04";
  if (region == "11") fixed = "01";
  else if (region == "24" || region == "28" || region == "52" || region == "53") fixed = "02";
  else if (region == "27" || region == "32" || region == "44") fixed = "03";
  else if (region == "75") fixed = "05";
  else if (region == "76")
    fixed = (dep == "11" || dep == "30" || dep == "34" || dep == "48" || dep == "66") ? "04" : "05";
  return {fixed, "06", "07"};
}

// What the generator knows about a structure that follows people.
struct Follower {
  StructureId id;
  bool mission_locale = false;
  size_t first_commune = 0, end_commune = 0;  // its département's communes
  PhonePlan phone;
  size_t counsellors_begin = 0, counsellors_end = 0;  // into Impl::counsellors
  size_t sessions_begin = 0, sessions_end = 0;        // into Impl::region_sessions
  size_t agencies_begin = 0, agencies_end = 0;        // same-département agencies, into Impl::dep_agencies
};

}  // namespace

struct PeopleGenerator::Impl {
  const Network* network = nullptr;
  const FieldCatalog* catalog = nullptr;
  const ReferenceData* ref = nullptr;
  uint64_t seed = 0;
  PeopleOptions options;
  int64_t today = 0;

  std::vector<Follower> followers;
  WeightedIndex ml_followers, agency_followers;  // over `followers`, by planned people
  std::vector<size_t> ml_index, agency_index;    // sample position -> followers index
  uint32_t ml_share_permille = 0;
  std::vector<AccountId> counsellors;
  std::vector<uint32_t> region_sessions;  // session vector indices, grouped by region
  std::vector<StructureId> dep_agencies;

  // Birth places: communes then countries, weighted by slot count.
  WeightedIndex birth_slots;
  Feistel nir_perm, ft_perm, legacy_perm;
  WeightedIndex email_domains;
  WeightedIndex ml_ages, agency_ages;

  // Field indices in the catalog, or -1 when absent.
  int f_nom = -1, f_prenom = -1, f_sexe = -1, f_naissance = -1, f_nir = -1, f_ft_id = -1, f_legacy = -1,
      f_email = -1, f_tel = -1, f_adresse = -1, f_cp = -1, f_commune = -1, f_inscription = -1, f_statut = -1;
  std::array<std::string, kStatutCount> statut_values;

  Status Init();
  void Generate(uint64_t index, GeneratedPerson* out) const;
  void BirthPlace(uint64_t slot, std::string& nir13, int& sex, int& month) const;
  void AddOrientations(uint64_t index, Random& rng, const Follower& f, AccountId counsellor, int64_t inscription,
                       GeneratedPerson* out) const;
};

Status PeopleGenerator::Impl::Init() {
  ref = &ReferenceData::Get();
  today = options.today.ToDays();
  auto idx = [&](std::string_view name) {
    auto i = catalog->IndexOf(name);
    return i ? static_cast<int>(*i) : -1;
  };
  f_nom = idx("nom"), f_prenom = idx("prenom"), f_sexe = idx("sexe"), f_naissance = idx("date_naissance");
  f_nir = idx("nir"), f_ft_id = idx("ft_id"), f_legacy = idx("ft_id_legacy"), f_email = idx("email");
  f_tel = idx("telephone"), f_adresse = idx("adresse"), f_cp = idx("code_postal"), f_commune = idx("commune");
  f_inscription = idx("date_inscription"), f_statut = idx("statut");
  static constexpr std::string_view kKnown[] = {"nom",  "prenom", "sexe", "date_naissance", "nir",
                                                "ft_id", "ft_id_legacy", "email", "telephone", "adresse",
                                                "code_postal", "commune", "date_inscription", "statut"};
  for (const FieldDef& def : catalog->fields()) {
    if (!def.required) continue;
    if (std::find(std::begin(kKnown), std::end(kKnown), def.name) == std::end(kKnown))
      return FailedPrecondition(StrCat("people generator: catalog requires field '", def.name,
                                       "' which the generator does not know"));
  }
  if (f_statut >= 0) {
    const FieldDef& def = catalog->at(static_cast<size_t>(f_statut));
    for (int s = 0; s < kStatutCount; ++s) {
      const bool known = def.type != FieldType::kEnum ||
                         std::find(def.values.begin(), def.values.end(), kStatutNames[s]) != def.values.end();
      statut_values[s] = known ? std::string(kStatutNames[s]) : def.values[static_cast<size_t>(s) % def.values.size()];
    }
  }

  // Sessions grouped by region (of the training organisation's département).
  std::map<std::string_view, std::vector<uint32_t>> by_region;
  for (size_t k = 0; k < network->sessions.size(); ++k) {
    const Formation* f = network->formation(network->sessions[k].formation);
    const Structure* of = f ? network->structure(f->organisation) : nullptr;
    const Departement* d = of ? ref->FindDepartement(of->departement) : nullptr;
    if (d) by_region[d->region].push_back(static_cast<uint32_t>(k));
  }
  std::map<std::string_view, std::pair<size_t, size_t>> region_range;
  for (auto& [region, list] : by_region) {
    region_range[region] = {region_sessions.size(), region_sessions.size() + list.size()};
    region_sessions.insert(region_sessions.end(), list.begin(), list.end());
  }
  // Agencies by département, for the few young people also followed by one.
  std::map<std::string_view, std::pair<size_t, size_t>> dep_agency_range;
  {
    std::map<std::string_view, std::vector<StructureId>> by_dep;
    for (const auto& s : network->structures)
      if (s.kind == StructureKind::kAgency) by_dep[s.departement].push_back(s.id);
    for (auto& [dep, list] : by_dep) {
      dep_agency_range[dep] = {dep_agencies.size(), dep_agencies.size() + list.size()};
      dep_agencies.insert(dep_agencies.end(), list.begin(), list.end());
    }
  }
  // Counsellors by structure.
  std::vector<std::vector<AccountId>> by_structure(network->structures.size());
  for (const auto& a : network->agents)
    if (std::find(a.roles.begin(), a.roles.end(), Role::kCounsellor) != a.roles.end() && network->structure(a.structure))
      by_structure[static_cast<size_t>(a.structure.value() - 1)].push_back(a.id);

  std::vector<uint64_t> ml_w, ag_w;
  uint64_t ml_total = 0, ag_total = 0;
  for (size_t k = 0; k < network->structures.size(); ++k) {
    const Structure& s = network->structures[k];
    if (s.kind != StructureKind::kAgency && s.kind != StructureKind::kMissionLocale) continue;
    const int64_t planned = k < network->planned_people.size() ? network->planned_people[k] : 0;
    const Departement* d = ref->FindDepartement(s.departement);
    if (planned <= 0 || by_structure[k].empty() || !d || d->end_commune == d->first_commune) continue;
    Follower f;
    f.id = s.id;
    f.mission_locale = s.kind == StructureKind::kMissionLocale;
    f.first_commune = d->first_commune;
    f.end_commune = d->end_commune;
    f.phone = PhonePlanOf(d->code, d->region);
    f.counsellors_begin = counsellors.size();
    counsellors.insert(counsellors.end(), by_structure[k].begin(), by_structure[k].end());
    f.counsellors_end = counsellors.size();
    if (auto it = region_range.find(d->region); it != region_range.end())
      std::tie(f.sessions_begin, f.sessions_end) = it->second;
    if (auto it = dep_agency_range.find(d->code); it != dep_agency_range.end())
      std::tie(f.agencies_begin, f.agencies_end) = it->second;
    (f.mission_locale ? ml_index : agency_index).push_back(followers.size());
    (f.mission_locale ? ml_w : ag_w).push_back(static_cast<uint64_t>(planned));
    (f.mission_locale ? ml_total : ag_total) += static_cast<uint64_t>(planned);
    followers.push_back(f);
  }
  if (followers.empty())
    return FailedPrecondition("people generator: the network has no agency or mission locale with counsellors");
  ml_followers = WeightedIndex(ml_w);
  agency_followers = WeightedIndex(ag_w);
  ml_share_permille = static_cast<uint32_t>(1000 * ml_total / (ml_total + ag_total));

  // Birth slots: each place gets slots in proportion to its population, the
  // most populous one exactly kSlotsPerPlace.
  const auto& communes = ref->communes();
  uint64_t total_pop = 0, max_pop = 0, country_weights = 0;
  for (const auto& c : communes) total_pop += c.population, max_pop = std::max<uint64_t>(max_pop, c.population);
  for (const auto& c : ref->countries()) country_weights += c.weight;
  const double abroad_pop = static_cast<double>(total_pop) * kBornAbroadShare / (1.0 - kBornAbroadShare);
  std::vector<double> pops;
  for (const auto& c : communes) pops.push_back(c.population);
  for (const auto& c : ref->countries()) pops.push_back(abroad_pop * c.weight / static_cast<double>(country_weights));
  double max_place = 0;
  for (double p : pops) max_place = std::max(max_place, p);
  std::vector<uint64_t> slots;
  for (double p : pops) slots.push_back(static_cast<uint64_t>(std::floor(p * kSlotsPerPlace / max_place)));
  birth_slots = WeightedIndex(slots);

  nir_perm = Feistel(birth_slots.total(), Mix64(seed ^ 0x6e69720000000001ULL));
  ft_perm = Feistel(uint64_t{1} << 36, Mix64(seed ^ 0x667400000000002ULL));
  legacy_perm = Feistel(kLegacySpace, Mix64(seed ^ 0x6c65670000000003ULL));
  email_domains = WeightedIndex(std::vector<uint64_t>(std::begin(kEmailDomainWeights), std::end(kEmailDomainWeights)));
  ml_ages = WeightedIndex(std::vector<uint64_t>(std::begin(kMlAgeWeights), std::end(kMlAgeWeights)));
  std::vector<uint64_t> ag;
  for (int a = 18; a <= 64; ++a) ag.push_back(a < 25 ? 20 : a < 50 ? 24 : 18);
  agency_ages = WeightedIndex(ag);
  return OkStatus();
}

// Decodes a birth slot: the NIR's place code (5 characters) and order number
// (3 digits), and the sex and birth month the slot stands for. Distinct slots
// of one place differ in (sex, month, order), so NIRs never collide.
void PeopleGenerator::Impl::BirthPlace(uint64_t slot, std::string& place_and_order, int& sex, int& month) const {
  const size_t place = birth_slots.Find(slot);
  const uint64_t o = slot - birth_slots.begin_of(place);
  // Rotating by the place index spreads small places over sexes and months.
  sex = 1 + static_cast<int>((o + place) & 1);
  month = 1 + static_cast<int>(((o >> 1) + place) % 12);
  const uint64_t order = 1 + o / 24;
  place_and_order.clear();
  const auto& communes = ref->communes();
  if (place < communes.size()) {
    place_and_order.append(communes[place].insee);
  } else {
    place_and_order.append("99");
    place_and_order.append(ref->countries()[place - communes.size()].code);
  }
  AppendDigits(place_and_order, order, 3);
}

void PeopleGenerator::Impl::Generate(uint64_t index, GeneratedPerson* out) const {
  uint64_t s = seed ^ Mix64(index + 0x2545f4914f6cdd1dULL);
  DeterministicRandom rng(Mix64(s));
  Person& p = out->person;
  p.id = PersonId(static_cast<int64_t>(index) + 1);
  p.other_structures.clear();
  out->orientations.clear();
  p.fields.resize(catalog->size());
  for (auto& f : p.fields) f.clear();

  // Structure and counsellor.
  const bool ml = agency_index.empty() ||
                  (!ml_index.empty() && FastUniform(rng, 1000) < ml_share_permille);
  const Follower& f = ml ? followers[ml_index[ml_followers.Sample(rng)]]
                         : followers[agency_index[agency_followers.Sample(rng)]];
  p.referent_structure = f.id;
  p.referent_counsellor.reset();
  AccountId counsellor = counsellors[f.counsellors_begin + FastUniform(rng, f.counsellors_end - f.counsellors_begin)];
  if (!Chance(rng, 3)) p.referent_counsellor = counsellor;
  if (ml && f.agencies_end > f.agencies_begin && Chance(rng, 5))
    p.other_structures.push_back(dep_agencies[f.agencies_begin + FastUniform(rng, f.agencies_end - f.agencies_begin)]);

  // Birth: the NIR slot fixes place, sex and month; the age fits the structure.
  std::string place_order;  // small: fits the SSO buffer
  int sex = 1, month = 1;
  BirthPlace(nir_perm(index % nir_perm.size()), place_order, sex, month);
  const Date t = options.today;
  int age = ml ? 16 + static_cast<int>(ml_ages.Sample(rng)) : 18 + static_cast<int>(agency_ages.Sample(rng));
  int day = 1 + static_cast<int>(FastUniform(rng, static_cast<uint64_t>(Date::DaysInMonth(2000, month))));
  if (ml && age == 16 && month == t.month && day == t.day) age = 17;  // registered after the 16th birthday
  auto year_for = [&](int d) { return t.year - age - ((month > t.month || (month == t.month && d > t.day)) ? 1 : 0); };
  int year = year_for(day);
  if (!Date::IsValid(year, month, day)) {
    day = 28;
    year = year_for(day);
  }
  const Date birth{year, month, day};

  const ReferenceData& r = *ref;
  const bool female = sex == 2;
  const Name& prenom = female ? r.female_first_names()[r.female_first_name_weights().Sample(rng)]
                              : r.male_first_names()[r.male_first_name_weights().Sample(rng)];
  const Name& nom = r.surnames()[r.surname_weights().Sample(rng)];
  if (f_nom >= 0) p.fields[f_nom].assign(nom.display);
  if (f_prenom >= 0) p.fields[f_prenom].assign(prenom.display);
  if (f_sexe >= 0) p.fields[f_sexe].assign(female ? "F" : "M");
  auto put_date = [&](int field, const Date& d) {
    if (field < 0) return;
    std::string& v = p.fields[field];
    AppendDigits(v, static_cast<uint64_t>(d.year), 4);
    v.push_back('-');
    AppendDigits(v, static_cast<uint64_t>(d.month), 2);
    v.push_back('-');
    AppendDigits(v, static_cast<uint64_t>(d.day), 2);
  };
  put_date(f_naissance, birth);

  // NIR: S YY MM place(5) order(3) key(2).
  if (f_nir >= 0 && !Chance(rng, 6)) {
    std::string& v = p.fields[f_nir];
    v.push_back(static_cast<char>('0' + sex));
    AppendDigits(v, static_cast<uint64_t>(year % 100), 2);
    AppendDigits(v, static_cast<uint64_t>(month), 2);
    v.append(place_order);
    const auto key = NirKey(v);
    AppendDigits(v, static_cast<uint64_t>(key.value_or(0)), 2);
  }

  // France Travail identifiers: bijections of the index.
  if (f_ft_id >= 0) AppendDigits(p.fields[f_ft_id], kFtIdBase + ft_perm(index % ft_perm.size()), 11);
  if (f_legacy >= 0 && Chance(rng, 60)) {
    const uint64_t v = legacy_perm(index % legacy_perm.size());
    AppendDigits(p.fields[f_legacy], v % 10'000'000ULL, 7);
    p.fields[f_legacy].push_back(static_cast<char>('A' + v / 10'000'000ULL));
  }

  // Residence in the structure's département.
  const bool has_residence = !Chance(rng, 2);
  if (has_residence) {
    const Commune& c = r.communes()[r.commune_by_population().SampleRange(rng, f.first_commune, f.end_commune)];
    if (f_cp >= 0) p.fields[f_cp].assign(c.postcode);
    if (f_commune >= 0) p.fields[f_commune].assign(c.name);
    if (f_adresse >= 0 && !Chance(rng, 6)) {
      std::string& v = p.fields[f_adresse];
      const uint64_t number = Chance(rng, 60) ? 1 + FastUniform(rng, 30) : 1 + FastUniform(rng, 250);
      AppendDigits(v, number, number >= 100 ? 3 : number >= 10 ? 2 : 1);
      if (Chance(rng, 5)) v.append(" bis");
      v.push_back(' ');
      v.append(r.street_types()[r.street_type_weights().Sample(rng)]);
      v.push_back(' ');
      v.append(r.street_names()[FastUniform(rng, r.street_names().size())]);
      if (Chance(rng, 4)) {
        v.append(", bât. ");
        v.push_back(static_cast<char>('A' + FastUniform(rng, 6)));
      }
    }
  }

  // Telephone: mostly mobiles.
  if (f_tel >= 0 && !Chance(rng, 7)) {
    std::string& v = p.fields[f_tel];
    if (Chance(rng, 85)) {
      v.append(FastUniform(rng, 2) ? f.phone.mobile_a : f.phone.mobile_b);
    } else {
      v.append(f.phone.landline);
    }
    if (v.size() == 2 && v[1] == '7') v.push_back(static_cast<char>('5' + FastUniform(rng, 4)));  // 075-078
    AppendDigits(v, FastUniform(rng, 100'000'000ULL), static_cast<int>(10 - v.size()));
  }

  // E-mail: prenom.nom and variants, lower-case ASCII.
  if (f_email >= 0 && !Chance(rng, 12)) {
    std::string& v = p.fields[f_email];
    const uint64_t variant = FastUniform(rng, 100);
    if (variant < 38) {
      v.append(prenom.ascii).append(".").append(nom.ascii);
    } else if (variant < 58) {
      v.append(prenom.ascii).append(".").append(nom.ascii);
      AppendDigits(v, static_cast<uint64_t>(year % 100), 2);
    } else if (variant < 73) {
      v.append(prenom.ascii).append(nom.ascii);
      AppendDigits(v, 1 + FastUniform(rng, 999), 3);
    } else if (variant < 83) {
      v.push_back(prenom.ascii.empty() ? 'x' : prenom.ascii[0]);
      v.append(".").append(nom.ascii);
    } else if (variant < 93) {
      v.append(nom.ascii).append(".").append(prenom.ascii);
    } else {
      v.append(prenom.ascii).append("_").append(nom.ascii);
      AppendDigits(v, 1 + FastUniform(rng, 99), 2);
    }
    v.push_back('@');
    v.append(kEmailDomains[email_domains.Sample(rng)]);
  }

  // Registration: after the 16th birthday, before today, mostly recent.
  const int64_t b16 = Date{birth.year + 16, birth.month, birth.month == 2 && birth.day == 29 ? 28 : birth.day}.ToDays();
  const int64_t window = ml ? 3 * 365 : 8 * 365;
  const int64_t lo = std::max(b16, today - window), hi = today - 1;
  const int64_t span = hi - lo + 1;
  const uint64_t back = std::min(FastUniform(rng, static_cast<uint64_t>(span)), FastUniform(rng, static_cast<uint64_t>(span)));
  const int64_t inscription = hi - static_cast<int64_t>(back);
  put_date(f_inscription, Date::FromDays(inscription));

  // Orientations, then the pathway status that agrees with them.
  const uint32_t rate = static_cast<uint32_t>(
      1000 * (ml ? options.orientation_rate_mission_locale : options.orientation_rate_agency));
  if (f.sessions_end > f.sessions_begin && FastUniform(rng, 1000) < rate)
    AddOrientations(index, rng, f, p.referent_counsellor.value_or(counsellor), inscription, out);
  if (f_statut >= 0) {
    Statut st;
    bool enrolled = false;
    for (const auto& o : out->orientations) enrolled |= o.status == OrientationStatus::kEnrolled;
    if (enrolled) st = kEnFormation;
    else if (today - inscription < 30) st = kInscrit;
    else {
      const uint64_t u = FastUniform(rng, 100);
      st = u < 62 ? kEnAccompagnement : u < 80 ? kEnEmploi : u < 92 ? kSorti : u < 96 ? kInscrit : kEnFormation;
    }
    p.fields[f_statut].assign(statut_values[st]);
  }
}

void PeopleGenerator::Impl::AddOrientations(uint64_t index, Random& rng, const Follower& f, AccountId counsellor,
                                            int64_t inscription, GeneratedPerson* out) const {
  const int wanted = Chance(rng, 15) ? 2 : 1;
  const uint64_t n = f.sessions_end - f.sessions_begin;
  for (int tries = 0; tries < 6 && static_cast<int>(out->orientations.size()) < wanted; ++tries) {
    const uint32_t k = region_sessions[f.sessions_begin + FastUniform(rng, n)];
    const TrainingSession& ts = network->sessions[k];
    bool dup = false;
    for (const auto& o : out->orientations) dup |= o.session == ts.id;
    if (dup) continue;
    const int64_t start = ts.start.ToDays(), end = ts.end.ToDays();
    const int64_t proposed = start - 7 - static_cast<int64_t>(FastUniform(rng, 60));
    if (proposed < inscription || proposed > today) continue;
    Orientation o;
    o.id = OrientationId(static_cast<int64_t>(2 * index + out->orientations.size() + 1));
    o.person = out->person.id;
    o.session = ts.id;
    o.counsellor = counsellor;
    o.proposed_on = Date::FromDays(proposed);
    o.status = OrientationStatus::kProposed;
    const int64_t decided = proposed + 2 + static_cast<int64_t>(FastUniform(rng, static_cast<uint64_t>(std::min<int64_t>(19, start - proposed - 2) + 1)));
    if (decided <= today) {
      o.decided_on = Date::FromDays(decided);
      if (Chance(rng, 22)) {
        o.status = OrientationStatus::kRefused;
      } else if (start > today) {
        o.status = OrientationStatus::kAccepted;
      } else if (Chance(rng, 8)) {
        o.status = OrientationStatus::kAbandoned;  // dropped out before the start
        o.ended_on = Date::FromDays(decided + static_cast<int64_t>(FastUniform(rng, static_cast<uint64_t>(start - decided + 1))));
      } else {
        o.enrolled_on = ts.start;
        if (end <= today) {
          if (Chance(rng, 85)) {
            o.status = OrientationStatus::kFinished;
            o.ended_on = ts.end;
          } else {
            o.status = OrientationStatus::kAbandoned;
            o.ended_on = Date::FromDays(start + static_cast<int64_t>(FastUniform(rng, static_cast<uint64_t>(end - start))));
          }
        } else if (Chance(rng, 10)) {
          o.status = OrientationStatus::kAbandoned;
          o.ended_on = Date::FromDays(start + static_cast<int64_t>(FastUniform(rng, static_cast<uint64_t>(today - start + 1))));
        } else {
          o.status = OrientationStatus::kEnrolled;
        }
      }
    }
    out->orientations.push_back(o);
  }
}

PeopleGenerator::PeopleGenerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PeopleGenerator::~PeopleGenerator() = default;

StatusOr<std::unique_ptr<PeopleGenerator>> PeopleGenerator::Create(const Network& network,
                                                                   const FieldCatalog& catalog, uint64_t seed,
                                                                   const PeopleOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->network = &network;
  impl->catalog = &catalog;
  impl->seed = seed;
  impl->options = options;
  CLOISON_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<PeopleGenerator>(new PeopleGenerator(std::move(impl)));
}

void PeopleGenerator::Generate(uint64_t index, GeneratedPerson* out) const { impl_->Generate(index, out); }

GeneratedPerson PeopleGenerator::Generate(uint64_t index) const {
  GeneratedPerson p;
  impl_->Generate(index, &p);
  return p;
}

uint64_t PeopleGenerator::capacity() const {
  return std::min<uint64_t>(impl_->birth_slots.total(), uint64_t{1} << 36);
}
const Network& PeopleGenerator::network() const { return *impl_->network; }
const FieldCatalog& PeopleGenerator::catalog() const { return *impl_->catalog; }

}  // namespace cloison::sim
