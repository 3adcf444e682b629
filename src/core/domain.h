// The domain model shared by every module: the network of structures, the
// agents who work there, the people they follow, training offers and
// orientations.
//
// Vocabulary (French terms kept where they are the real names):
//  - mission locale: local public body that follows young people aged 16-25;
//  - France Travail: the public employment service (national operator,
//    regional directions, agencies);
//  - NIR: numéro d'inscription au répertoire, the social security number;
//  - organisme de formation: training organisation, offers Formations with
//    sessions; a counsellor *orients* a person to a session (Ouiform/Kairos).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/ids.h"

namespace cloison {

enum class StructureKind {
  kNationalOperator,       // France Travail direction générale
  kRegionalDirection,      // direction régionale
  kAgency,                 // agence France Travail
  kMissionLocale,          // mission locale
  kTrainingOrganisation,   // organisme de formation (partner)
  kFinancer,               // financeur, e.g. a Région
};
std::string_view StructureKindName(StructureKind k);  // "agency", "mission_locale", ...
std::optional<StructureKind> ParseStructureKind(std::string_view s);

// Weekly opening hours in the structure's local time zone.
struct OpeningHours {
  int open_minute = 8 * 60 + 30;    // minutes after local midnight
  int close_minute = 17 * 60 + 30;
  uint8_t weekdays = 0b0011111;     // bit 0 = Monday ... bit 6 = Sunday
};

struct Structure {
  StructureId id;
  StructureKind kind = StructureKind::kAgency;
  std::optional<StructureId> parent;
  std::string code;   // stable external code, e.g. "ML-67-001"; unique
  std::string name;
  std::string time_zone = "Europe/Paris";
  OpeningHours hours;
  std::string departement;  // INSEE département code ("67", "2A", "971"), empty if national
};

enum class Role {
  kCounsellor,        // conseiller: follows people
  kAccessManager,     // gestionnaire des accès: manages accounts of its structure
  kSecurityOfficer,   // alerts, approvals
  kDpo,               // délégué à la protection des données: breach reports
  kPartnerUser,       // training organisation staff
  kAuditor,           // verifies the audit log, reads no files
};
std::string_view RoleName(Role r);  // "counsellor", "access_manager", ...
std::optional<Role> ParseRole(std::string_view s);

// A human account of a structure (the technical accounts come with iam).
struct Agent {
  AccountId id;
  StructureId structure;
  std::string username;  // unique login, e.g. "camille.martin.ml67001"
  std::string nom;
  std::string prenom;
  std::vector<Role> roles;
};

enum class PersonStatus { kRegistered, kActive, kSuspended, kClosed };

// A person followed by the network. Catalog fields (nom, NIR, e-mail, ...) are
// held by value in `fields`, indexed like FieldCatalog::fields(); an empty
// string means "absent". Values are plaintext in memory: only the store
// encrypts, and only it ever sees ciphertext.
struct Person {
  PersonId id;
  StructureId referent_structure;         // main follow-up structure
  std::vector<StructureId> other_structures;  // further referent structures, if any
  std::optional<AccountId> referent_counsellor;
  std::vector<std::string> fields;
};

struct Formation {
  FormationId id;
  StructureId organisation;  // the training organisation
  std::string code;          // unique external code
  std::string title;
  std::string domain;        // e.g. "numérique", "BTP"
};

struct TrainingSession {
  TrainingSessionId id;
  FormationId formation;
  std::string code;  // unique external code
  Date start;
  Date end;
  std::string place;  // commune name
};

enum class OrientationStatus { kProposed, kAccepted, kRefused, kEnrolled, kFinished, kAbandoned };
std::string_view OrientationStatusName(OrientationStatus s);
std::optional<OrientationStatus> ParseOrientationStatus(std::string_view s);
// proposed -> accepted|refused; accepted -> enrolled|abandoned; enrolled -> finished|abandoned.
bool IsAllowedTransition(OrientationStatus from, OrientationStatus to);

struct Orientation {
  OrientationId id;
  PersonId person;
  TrainingSessionId session;
  AccountId counsellor;  // who oriented
  OrientationStatus status = OrientationStatus::kProposed;
  Date proposed_on;
  std::optional<Date> decided_on;   // accepted/refused
  std::optional<Date> enrolled_on;
  std::optional<Date> ended_on;     // finished/abandoned
};

}  // namespace cloison
