#include "sim/network.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_set>

#include "core/random.h"
#include "core/strings.h"
#include "sim/reference.h"

namespace cloison::sim {

const Structure* Network::structure(StructureId id) const {
  const int64_t k = id.value() - 1;
  return k >= 0 && k < static_cast<int64_t>(structures.size()) ? &structures[k] : nullptr;
}
const Agent* Network::agent(AccountId id) const {
  const int64_t k = id.value() - 1;
  return k >= 0 && k < static_cast<int64_t>(agents.size()) ? &agents[k] : nullptr;
}
const TrainingSession* Network::session(TrainingSessionId id) const {
  const int64_t k = id.value() - 1;
  return k >= 0 && k < static_cast<int64_t>(sessions.size()) ? &sessions[k] : nullptr;
}
const Formation* Network::formation(FormationId id) const {
  const int64_t k = id.value() - 1;
  return k >= 0 && k < static_cast<int64_t>(formations.size()) ? &formations[k] : nullptr;
}

namespace {

struct FormationKind {
  const char* domain;
  const char* title;
  int min_days, max_days;
};
constexpr FormationKind kFormations[] = {
    {"numérique", "Développeur web et web mobile", 150, 270},
    {"numérique", "Technicien d'assistance informatique", 120, 240},
    {"numérique", "Administrateur d'infrastructures sécurisées", 180, 300},
    {"numérique", "Compétences numériques de base (CléA numérique)", 20, 60},
    {"BTP", "Maçon", 120, 240},
    {"BTP", "Électricien d'équipement du bâtiment", 150, 270},
    {"BTP", "Plombier chauffagiste", 150, 270},
    {"BTP", "Peintre en bâtiment", 90, 200},
    {"BTP", "Conducteur d'engins de travaux publics", 60, 150},
    {"sanitaire et social", "Aide-soignant", 180, 330},
    {"sanitaire et social", "Assistant de vie aux familles", 90, 200},
    {"sanitaire et social", "Accompagnant éducatif et social", 180, 330},
    {"logistique", "Préparateur de commandes en entrepôt", 40, 100},
    {"logistique", "Cariste d'entrepôt", 30, 90},
    {"transport", "Conducteur du transport routier de marchandises sur porteur", 60, 120},
    {"hôtellerie-restauration", "Commis de cuisine", 90, 180},
    {"hôtellerie-restauration", "Serveur en restauration", 60, 150},
    {"hôtellerie-restauration", "Réceptionniste en hôtellerie", 90, 180},
    {"commerce", "Employé commercial en magasin", 60, 150},
    {"commerce", "Vendeur conseil en magasin", 90, 200},
    {"industrie", "Soudeur", 120, 240},
    {"industrie", "Technicien de maintenance industrielle", 180, 300},
    {"industrie", "Agent de fabrication industrielle", 60, 120},
    {"tertiaire", "Secrétaire assistant", 120, 240},
    {"tertiaire", "Gestionnaire de paie", 150, 270},
    {"tertiaire", "Comptable assistant", 150, 270},
    {"remobilisation", "Savoirs de base et remise à niveau", 30, 90},
    {"remobilisation", "Français langue étrangère", 60, 150},
    {"remobilisation", "Prépa apprentissage", 20, 90},
    {"agriculture", "Ouvrier du paysage", 120, 240},
    {"agriculture", "Agent de production agricole", 90, 180},
};

std::string TimeZoneOf(std::string_view dep) {
  if (dep == "971") return "America/Guadeloupe";
  if (dep == "972") return "America/Martinique";
  if (dep == "973") return "America/Cayenne";
  if (dep == "974") return "Indian/Reunion";
  if (dep == "976") return "Indian/Mayotte";
  return "Europe/Paris";
}

std::string Padded(int64_t v, int width) {
  std::string s = StrCat(v);
  if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
  return s;
}

// "Paris 11e", "Lyon 1er" for the arrondissements; otherwise the commune name.
std::string PlaceName(const Commune& c) {
  if (c.name == "Paris" || c.name == "Lyon" || c.name == "Marseille") {
    const int arr = (c.postcode[3] - '0') * 10 + (c.postcode[4] - '0');
    if (arr >= 1 && arr <= 20) return StrCat(c.name, " ", arr, arr == 1 ? "er" : "e");
  }
  return std::string(c.name);
}

// "de Strasbourg", "d'Angers", "du Havre", "des Sables-d'Olonne".
std::string DeName(std::string_view name) {
  if (name.starts_with("Le ")) return StrCat("du ", name.substr(3));
  if (name.starts_with("Les ")) return StrCat("des ", name.substr(4));
  const unsigned char c = static_cast<unsigned char>(name[0]);
  const bool vowel = std::string_view("AEIOUYH").find(static_cast<char>(c)) != std::string_view::npos ||
                     name.starts_with("É") || name.starts_with("Î");
  return vowel ? StrCat("d'", name) : StrCat("de ", name);
}

// Spreads `count` items over départements in proportion to `weights`: one
// each and the rest by largest remainder when count >= n, else `count`
// distinct départements drawn by weight.
std::vector<int64_t> Allocate(int64_t count, const std::vector<uint64_t>& weights, Random& rng) {
  const size_t n = weights.size();
  std::vector<int64_t> out(n, 0);
  if (count <= 0 || n == 0) return out;
  if (count < static_cast<int64_t>(n)) {
    std::vector<uint64_t> w = weights;
    for (int64_t k = 0; k < count; ++k) {
      WeightedIndex idx(w);
      const size_t pick = idx.Sample(rng);
      out[pick] = 1;
      w[pick] = 0;
    }
    return out;
  }
  uint64_t total = 0;
  for (uint64_t w : weights) total += w;
  const int64_t extra = count - static_cast<int64_t>(n);
  std::vector<std::pair<double, size_t>> remainders;
  int64_t given = 0;
  for (size_t i = 0; i < n; ++i) {
    const double quota = static_cast<double>(extra) * static_cast<double>(weights[i]) / static_cast<double>(total);
    const int64_t whole = static_cast<int64_t>(std::floor(quota));
    out[i] = 1 + whole;
    given += whole;
    remainders.push_back({quota - static_cast<double>(whole), i});
  }
  std::sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t k = 0; given < extra; ++k, ++given) ++out[remainders[k % n].second];
  return out;
}

class Builder {
 public:
  Builder(const NetworkOptions& o, uint64_t seed) : opt_(o), rng_(seed ^ 0x6e6574776f726b21ULL), ref_(ReferenceData::Get()) {}

  Network Build() {
    for (const auto& d : ref_.departements())
      if (d.in_network) deps_.push_back(&d);
    for (const auto* d : deps_)
      if (std::find(regions_.begin(), regions_.end(), d->region) == regions_.end()) regions_.push_back(d->region);
    std::sort(regions_.begin(), regions_.end());

    const StructureId dg = AddStructure(StructureKind::kNationalOperator, std::nullopt, "FT-DG",
                                        "France Travail - Direction générale", "", 0);
    for (std::string_view r : regions_) {
      const Region* region = ref_.FindRegion(r);
      dr_[std::string(r)] = AddStructure(StructureKind::kRegionalDirection, dg, StrCat("FT-DR-", r),
                                         StrCat("Direction régionale France Travail ", region->name),
                                         MainDepartement(r), 0);
    }
    for (std::string_view r : regions_) {
      const Region* region = ref_.FindRegion(r);
      fin_[std::string(r)] = AddStructure(StructureKind::kFinancer, std::nullopt, StrCat("REG-", r),
                                          StrCat("Région ", region->name), MainDepartement(r), 0);
    }

    std::vector<uint64_t> pop;
    for (const auto* d : deps_) pop.push_back(d->population);
    const int64_t ml_people = static_cast<int64_t>(std::llround(static_cast<double>(opt_.people) * opt_.mission_locale_share));
    const int64_t ag_people = opt_.people - ml_people;
    auto agencies = Allocate(ag_people > 0 ? std::max<int64_t>(1, ag_people / opt_.people_per_agency) : 0, pop, rng_);
    auto mls = Allocate(ml_people > 0 ? std::max<int64_t>(1, ml_people / opt_.people_per_mission_locale) : 0, pop, rng_);
    auto ofs = Allocate(std::max<int64_t>(1, opt_.people / opt_.people_per_training_organisation), pop, rng_);
    // Every region with people gets a training organisation, so that
    // orientations stay within the region.
    for (std::string_view r : regions_) {
      bool has_people = false, has_of = false;
      size_t biggest = 0;
      uint64_t biggest_pop = 0;
      for (size_t i = 0; i < deps_.size(); ++i) {
        if (deps_[i]->region != r) continue;
        has_people |= agencies[i] + mls[i] > 0;
        has_of |= ofs[i] > 0;
        if (deps_[i]->population > biggest_pop) biggest_pop = deps_[i]->population, biggest = i;
      }
      if (has_people && !has_of) ofs[biggest] = 1;
    }
    uint64_t ag_pop = 0, ml_pop = 0;
    for (size_t i = 0; i < deps_.size(); ++i) {
      if (agencies[i]) ag_pop += pop[i];
      if (mls[i]) ml_pop += pop[i];
    }

    for (size_t i = 0; i < deps_.size(); ++i) {
      const Departement& d = *deps_[i];
      const StructureId dr = dr_[std::string(d.region)];
      const StructureId fin = fin_[std::string(d.region)];
      for (int64_t k = 0; k < agencies[i]; ++k) {
        const int64_t planned = std::llround(static_cast<double>(ag_people) * static_cast<double>(pop[i]) /
                                             static_cast<double>(ag_pop) / static_cast<double>(agencies[i]));
        AddStructure(StructureKind::kAgency, dr, StrCat("FT-AG-", d.code, "-", Padded(k + 1, 3)),
                     UniqueName(StrCat("Agence France Travail ", PlaceName(TownOf(d)))), d.code,
                     std::max<int64_t>(1, planned));
      }
      for (int64_t k = 0; k < mls[i]; ++k) {
        const int64_t planned = std::llround(static_cast<double>(ml_people) * static_cast<double>(pop[i]) /
                                             static_cast<double>(ml_pop) / static_cast<double>(mls[i]));
        const Commune& town = TownOf(d);
        AddStructure(StructureKind::kMissionLocale, dr, StrCat("ML-", d.code, "-", Padded(k + 1, 3)),
                     UniqueName(StrCat("Mission locale ", DeName(PlaceName(town)))), d.code,
                     std::max<int64_t>(1, planned));
      }
      for (int64_t k = 0; k < ofs[i]; ++k) {
        const StructureId of = AddStructure(StructureKind::kTrainingOrganisation, fin,
                                            StrCat("OF-", d.code, "-", Padded(k + 1, 4)), TrainingName(d, k),
                                            d.code, 0);
        AddFormations(of, d);
      }
    }
    AddAgents();
    return std::move(net_);
  }

 private:
  StructureId AddStructure(StructureKind kind, std::optional<StructureId> parent, std::string code,
                           std::string name, std::string_view dep, int64_t planned) {
    Structure s;
    s.id = StructureId(static_cast<int64_t>(net_.structures.size()) + 1);
    s.kind = kind;
    s.parent = parent;
    s.code = std::move(code);
    s.name = std::move(name);
    s.departement = std::string(dep);
    s.time_zone = TimeZoneOf(dep);
    switch (kind) {
      case StructureKind::kAgency:
        s.hours = {8 * 60 + 30, 16 * 60 + 30, 0b0011111};
        break;
      case StructureKind::kMissionLocale:
        s.hours = {rng_.Uniform(2) ? 9 * 60 : 8 * 60 + 30, 17 * 60 + 30, 0b0011111};
        break;
      case StructureKind::kTrainingOrganisation:
        s.hours = {8 * 60, 18 * 60, static_cast<uint8_t>(rng_.Uniform(5) == 0 ? 0b0111111 : 0b0011111)};
        break;
      default:
        s.hours = {8 * 60 + 30, 17 * 60 + 30, 0b0011111};
    }
    net_.structures.push_back(std::move(s));
    net_.planned_people.push_back(planned);
    return net_.structures.back().id;
  }

  // Most populous département of a region.
  std::string_view MainDepartement(std::string_view region) const {
    const Departement* best = nullptr;
    for (const auto* d : deps_)
      if (d->region == region && (!best || d->population > best->population)) best = d;
    return best ? best->code : std::string_view();
  }

  // A town of the département for a structure: drawn by population among its
  // 25 biggest communes, so big cities get several structures.
  const Commune& TownOf(const Departement& d) {
    auto& top = top_[d.code];
    if (top.empty()) {
      std::vector<size_t> idx;
      for (size_t i = d.first_commune; i < d.end_commune; ++i) idx.push_back(i);
      std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
        return ref_.communes()[a].population > ref_.communes()[b].population;
      });
      idx.resize(std::min<size_t>(idx.size(), 25));
      top = idx;
    }
    std::vector<uint64_t> w;
    for (size_t i : top) w.push_back(ref_.communes()[i].population);
    return ref_.communes()[top[WeightedIndex(w).Sample(rng_)]];
  }

  std::string UniqueName(std::string base) {
    static constexpr const char* kSuffixes[] = {" Centre", " Nord", " Sud", " Est", " Ouest"};
    int& n = name_count_[base];
    ++n;
    if (n == 1) return base;
    if (n - 2 < 5) return StrCat(base, kSuffixes[n - 2]);
    return StrCat(base, " ", n - 5);
  }

  std::string TrainingName(const Departement& d, int64_t k) {
    const Commune& town = TownOf(d);
    if (k == 0) return StrCat("GRETA ", d.name);
    switch (rng_.Uniform(6)) {
      case 0: return StrCat("Centre AFPA ", DeName(PlaceName(town)));
      case 1: return StrCat("CFA ", PlaceName(town));
      case 2: return StrCat("Institut de formation ", DeName(PlaceName(town)));
      case 3: return StrCat("École de la deuxième chance ", DeName(PlaceName(town)));
      case 4: return StrCat(ref_.surnames()[ref_.surname_weights().Sample(rng_)].display, " Formation");
      default: return StrCat("Form'Avenir ", PlaceName(town));
    }
  }

  void AddFormations(StructureId of, const Departement& d) {
    const Structure& s = net_.structures[static_cast<size_t>(of.value() - 1)];
    // 1-10 formations, most organisations offering a handful.
    const int n = rng_.Uniform(5) == 0 ? 5 + static_cast<int>(rng_.Uniform(6)) : 1 + static_cast<int>(rng_.Uniform(4));
    const int64_t today = opt_.today.ToDays();
    for (int f = 0; f < n; ++f) {
      const FormationKind& kind = kFormations[rng_.Uniform(std::size(kFormations))];
      Formation form;
      form.id = FormationId(static_cast<int64_t>(net_.formations.size()) + 1);
      form.organisation = of;
      form.code = StrCat(s.code, "-F", Padded(f + 1, 2));
      form.title = kind.title;
      form.domain = kind.domain;
      const int sessions = 1 + static_cast<int>(rng_.Uniform(4));
      for (int k = 0; k < sessions; ++k) {
        TrainingSession ts;
        ts.id = TrainingSessionId(static_cast<int64_t>(net_.sessions.size()) + 1);
        ts.formation = form.id;
        ts.code = StrCat(form.code, "-S", Padded(k + 1, 2));
        const int64_t start = today - 540 + static_cast<int64_t>(rng_.Uniform(720));
        const int64_t len = kind.min_days + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(kind.max_days - kind.min_days + 1)));
        ts.start = Date::FromDays(start);
        ts.end = Date::FromDays(start + len);
        ts.place = std::string(ref_.communes()[ref_.commune_by_population().SampleRange(rng_, d.first_commune, d.end_commune)].name);
        net_.sessions.push_back(std::move(ts));
      }
      net_.formations.push_back(std::move(form));
    }
  }

  void AddAgent(const Structure& s, std::vector<Role> roles) {
    Agent a;
    a.id = AccountId(static_cast<int64_t>(net_.agents.size()) + 1);
    a.structure = s.id;
    const bool female = rng_.Uniform(100) < 55;  // the network's staff is mostly female
    const Name& prenom = female ? ref_.female_first_names()[ref_.female_first_name_weights().Sample(rng_)]
                                : ref_.male_first_names()[ref_.male_first_name_weights().Sample(rng_)];
    const Name& nom = ref_.surnames()[ref_.surname_weights().Sample(rng_)];
    a.prenom = std::string(prenom.display);
    a.nom = std::string(nom.display);
    std::string suffix;
    for (char c : s.code)
      if (c != '-') suffix.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    std::string base = StrCat(prenom.ascii, ".", nom.ascii, ".", suffix);
    std::string username = base;
    for (int k = 2; !usernames_.insert(username).second; ++k) username = StrCat(base, k);
    a.username = std::move(username);
    a.roles = std::move(roles);
    net_.agents.push_back(std::move(a));
  }

  void AddAgents() {
    for (size_t k = 0; k < net_.structures.size(); ++k) {
      const Structure& s = net_.structures[k];
      const int64_t planned = net_.planned_people[k];
      switch (s.kind) {
        case StructureKind::kNationalOperator:
          AddAgent(s, {Role::kAccessManager});
          AddAgent(s, {Role::kSecurityOfficer});
          AddAgent(s, {Role::kSecurityOfficer});
          AddAgent(s, {Role::kDpo});
          AddAgent(s, {Role::kAuditor});
          AddAgent(s, {Role::kAuditor});
          break;
        case StructureKind::kRegionalDirection:
          AddAgent(s, {Role::kAccessManager});
          AddAgent(s, {Role::kSecurityOfficer});
          AddAgent(s, {Role::kDpo});
          break;
        case StructureKind::kAgency:
        case StructureKind::kMissionLocale: {
          const int caseload = s.kind == StructureKind::kAgency ? opt_.caseload_agency : opt_.caseload_mission_locale;
          const int64_t counsellors = std::max<int64_t>(1, (planned + caseload - 1) / caseload);
          AddAgent(s, {Role::kAccessManager});
          for (int64_t c = 0; c < counsellors; ++c) AddAgent(s, {Role::kCounsellor});
          break;
        }
        case StructureKind::kTrainingOrganisation: {
          const int n = 1 + static_cast<int>(rng_.Uniform(3));
          for (int c = 0; c < n; ++c) AddAgent(s, {Role::kPartnerUser});
          break;
        }
        case StructureKind::kFinancer:
          AddAgent(s, {Role::kPartnerUser});
          break;
      }
    }
  }

  const NetworkOptions& opt_;
  DeterministicRandom rng_;
  const ReferenceData& ref_;
  Network net_;
  std::vector<const Departement*> deps_;
  std::vector<std::string_view> regions_;
  std::map<std::string, StructureId> dr_, fin_;
  std::map<std::string_view, std::vector<size_t>> top_;
  std::map<std::string, int> name_count_;
  std::unordered_set<std::string> usernames_;
};

}  // namespace

StatusOr<Network> GenerateNetwork(const NetworkOptions& options, uint64_t seed) {
  if (options.people < 1) return InvalidArgument("network: people must be at least 1");
  if (!(options.mission_locale_share >= 0.0 && options.mission_locale_share <= 1.0))
    return InvalidArgument("network: mission_locale_share must be in [0, 1]");
  if (options.people_per_agency < 1 || options.people_per_mission_locale < 1 ||
      options.people_per_training_organisation < 1 || options.caseload_agency < 1 ||
      options.caseload_mission_locale < 1)
    return InvalidArgument("network: sizes and caseloads must be positive");
  Builder b(options, seed);
  return b.Build();
}

}  // namespace cloison::sim
