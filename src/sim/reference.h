// Reference data for the synthetic-data generator: French communes,
// départements, régions, countries of birth, first names, surnames and street
// names. The data are compiled into the binary from data/ (see data/README.md
// for sources and licences), parsed once on first use.
//
// Thread-safety: ReferenceData::Get() is safe from any thread; the returned
// object is immutable and lives until the process ends. String views point
// into the embedded literals and stay valid for the whole process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/random.h"

namespace cloison::sim {

struct Commune {
  std::string_view insee;        // 5 characters: "67482", "2A004", "97411", "75111"
  std::string_view name;         // "Strasbourg" (Paris/Lyon/Marseille: the city, per arrondissement)
  std::string_view departement;  // "67", "2A", "974"
  std::string_view region;       // INSEE region code, "44"
  std::string_view postcode;     // first postcode of the commune, "67000"
  uint32_t population = 0;
};

struct Departement {
  std::string_view code;    // "67"
  std::string_view name;    // "Bas-Rhin"
  std::string_view region;  // "44"
  uint64_t population = 0;  // sum over its communes
  // Its communes are communes()[first_commune, end_commune) (contiguous:
  // communes are sorted by INSEE code, which starts with the département).
  size_t first_commune = 0;
  size_t end_commune = 0;
  // Served by France Travail and missions locales: metropolitan + DROM
  // (971-974, 976). COM (975, 977, 978, 98x) are not.
  bool in_network = false;
};

struct Region {
  std::string_view code;  // "44"
  std::string_view name;  // "Grand Est"
  bool overseas = false;
};

struct Country {
  std::string_view code;  // INSEE 3-digit country code after "99": "350" (Maroc)
  std::string_view name;
  uint32_t weight = 0;    // relative share among people born abroad
};

// A name with its e-mail/login form: lower-case ASCII, accents folded, spaces
// and apostrophes dropped, hyphens kept ("Jean-François" -> "jean-francois").
struct Name {
  std::string_view display;
  std::string ascii;
};

// Uniform integer in [0, bound), bound > 0, by Lemire's multiply-shift: no
// division, and a bias below bound / 2^64 (irrelevant for synthetic data).
inline uint64_t FastUniform(Random& rng, uint64_t bound) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rng.Next64()) * bound) >> 64);
}

// Samples indices in proportion to integer weights (cumulative table and a
// binary search: O(log n), no allocation).
class WeightedIndex {
 public:
  WeightedIndex() = default;
  explicit WeightedIndex(const std::vector<uint64_t>& weights);
  // Index in [0, size()); requires total() > 0.
  size_t Sample(Random& rng) const;
  // Index in [begin, end) weighted like the whole table restricted to that
  // range; requires a positive weight in the range.
  size_t SampleRange(Random& rng, size_t begin, size_t end) const;
  uint64_t total() const { return cum_.empty() ? 0 : cum_.back(); }
  size_t size() const { return cum_.size(); }
  // Index whose cumulative slice contains `point` (< total()).
  size_t Find(uint64_t point) const;
  uint64_t begin_of(size_t index) const { return index == 0 ? 0 : cum_[index - 1]; }

 private:
  std::vector<uint64_t> cum_;  // cum_[i] = sum of weights[0..i]
  // Guide table: guide_[b] = Find(b << shift_), so Find only searches
  // between two neighbouring guides (big tables miss the cache otherwise).
  std::vector<uint32_t> guide_;
  int shift_ = 0;
};

class ReferenceData {
 public:
  static const ReferenceData& Get();

  const std::vector<Commune>& communes() const { return communes_; }
  const std::vector<Departement>& departements() const { return departements_; }
  const std::vector<Region>& regions() const { return regions_; }
  const std::vector<Country>& countries() const { return countries_; }
  const std::vector<Name>& female_first_names() const { return prenoms_f_; }
  const std::vector<Name>& male_first_names() const { return prenoms_m_; }
  const std::vector<Name>& surnames() const { return noms_; }
  const std::vector<std::string_view>& street_types() const { return voie_types_; }
  const std::vector<std::string_view>& street_names() const { return voie_noms_; }

  // Weighted by population / frequency.
  const WeightedIndex& commune_by_population() const { return commune_weights_; }
  const WeightedIndex& female_first_name_weights() const { return prenom_f_weights_; }
  const WeightedIndex& male_first_name_weights() const { return prenom_m_weights_; }
  const WeightedIndex& surname_weights() const { return nom_weights_; }
  const WeightedIndex& street_type_weights() const { return voie_type_weights_; }

  // nullptr when unknown.
  const Departement* FindDepartement(std::string_view code) const;
  const Region* FindRegion(std::string_view code) const;

 private:
  ReferenceData() = default;
  void Load();

  std::vector<Commune> communes_;
  std::vector<Departement> departements_;
  std::vector<Region> regions_;
  std::vector<Country> countries_;
  std::vector<Name> prenoms_f_, prenoms_m_, noms_;
  std::vector<std::string_view> voie_types_, voie_noms_;
  WeightedIndex commune_weights_, prenom_f_weights_, prenom_m_weights_, nom_weights_, voie_type_weights_;
};

// Lower-case ASCII form of a French name (see Name::ascii).
std::string AsciiFold(std::string_view utf8);

}  // namespace cloison::sim
