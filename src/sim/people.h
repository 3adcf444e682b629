// Synthetic people followed by a generated Network.
//
// Counter-based: person i is a pure function of (seed, i, network, options);
// it does not depend on persons 0..i-1, so a population can be generated in
// any order or split across threads and still come out identical. Each person
// draws from its own DeterministicRandom seeded with splitmix(seed, i).
//
// Unique identifiers without a set: ft_id, ft_id_legacy and the NIR are
// derived from i through keyed bijections (Feistel permutations), so two
// indices never share one. For the NIR the permutation runs over "birth
// slots": each birth place (commune, or country for the ~3% born abroad) owns
// a number of slots proportional to its population, a slot fixing the sex,
// the birth month and the order number; hence persons of the same birth place
// never share (sex, month, order) and NIRs are unique for up to capacity()
// people (~3.3 million).
//
// Thread-safety: a PeopleGenerator is immutable after Create(); Generate() is
// const and may be called from many threads at once. It keeps a pointer to the
// Network, which must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/domain.h"
#include "core/field_catalog.h"
#include "core/status.h"
#include "sim/network.h"

namespace cloison::sim {

struct PeopleOptions {
  Date today{2025, 6, 1};             // ages, registration and orientation dates are relative to it
  double orientation_rate_mission_locale = 0.45;  // people with at least one orientation
  double orientation_rate_agency = 0.12;
};

// One person and the orientations proposed to them. Person::id is i + 1;
// orientation ids are 2 * i + k + 1 (k < 2): sparse but unique and
// counter-based (the store assigns its own on import).
struct GeneratedPerson {
  Person person;
  std::vector<Orientation> orientations;
};

class PeopleGenerator {
 public:
  // Fails when the catalog lacks a field the generator must fill (a required
  // field it does not know) or when the network has no agency nor mission
  // locale with counsellors.
  static StatusOr<std::unique_ptr<PeopleGenerator>> Create(const Network& network, const FieldCatalog& catalog,
                                                           uint64_t seed, const PeopleOptions& options = {});
  ~PeopleGenerator();

  // Fills `out` with person `index` (< capacity()), reusing its buffers: a
  // loop over one GeneratedPerson allocates almost nothing after the first
  // few persons.
  void Generate(uint64_t index, GeneratedPerson* out) const;
  GeneratedPerson Generate(uint64_t index) const;

  // How many distinct people this generator can produce (NIR uniqueness).
  uint64_t capacity() const;
  const Network& network() const;
  const FieldCatalog& catalog() const;

 private:
  struct Impl;
  explicit PeopleGenerator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloison::sim
