// Synthetic French network: France Travail (direction générale, regional
// directions, agencies), missions locales, training organisations with their
// formations and sessions, and the Régions as financers; the agents of each
// structure.
//
// Shape (parents):
//   FT-DG                    national operator, no parent
//   FT-DR-<region>           regional direction          -> FT-DG
//   REG-<region>             financer (the Région)       -> none
//   FT-AG-<dep>-<nnn>        agency                      -> FT-DR of its region
//   ML-<dep>-<nnn>           mission locale              -> FT-DR of its region
//   OF-<dep>-<nnnn>          training organisation       -> REG of its region
// Missions locales hang under the France Travail regional direction because,
// since the 2024 "réseau pour l'emploi", that direction coordinates the
// regional network and its security officers oversee every structure that
// follows people; the Région is their financer, not their supervisor.
//
// The network is sized from the planned number of people (agencies ~1 500
// people, missions locales ~900, counsellors 120 / 100 people each). Large
// runs have at least one agency and one mission locale per département; tiny
// runs (tests) cover fewer départements, drawn by population.
//
// Deterministic: the same options and seed give the same network. Ids are
// dense from 1 in vector order (structures[k].id == k + 1, and so on).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/domain.h"
#include "core/status.h"

namespace cloison::sim {

struct NetworkOptions {
  int64_t people = 10000;             // planned population size
  double mission_locale_share = 0.25; // share of people followed by a mission locale
  Date today{2025, 6, 1};             // sessions are placed around this date
  int64_t people_per_agency = 1500;
  int64_t people_per_mission_locale = 900;
  int64_t people_per_training_organisation = 2500;
  int caseload_agency = 120;          // people per counsellor
  int caseload_mission_locale = 100;
};

struct Network {
  std::vector<Structure> structures;
  std::vector<Agent> agents;
  std::vector<Formation> formations;
  std::vector<TrainingSession> sessions;
  // Parallel to `structures`: how many people the structure was sized for
  // (0 for those that follow nobody). The person generator assigns people to
  // agencies and missions locales in these proportions.
  std::vector<int64_t> planned_people;

  // Lookups by id (ids are dense); nullptr when out of range.
  const Structure* structure(StructureId id) const;
  const Agent* agent(AccountId id) const;
  const TrainingSession* session(TrainingSessionId id) const;
  const Formation* formation(FormationId id) const;
};

// Fails with InvalidArgument on nonsensical options (people < 1, share
// outside [0, 1], non-positive sizes).
StatusOr<Network> GenerateNetwork(const NetworkOptions& options, uint64_t seed);

}  // namespace cloison::sim
