// Access decisions: may this account read this person, for this purpose, and
// which fields?
//
//   Engine engine(policy, index);
//   Decision d = engine.Decide(principal, person, *policy.FindPurpose("accompaniment"), today);
//   if (!d.allowed) return PermissionDenied(engine.Reason(d));
//   store.GetPerson(person, d.fields.ToFieldMask(policy.catalog().size()));
//
// Default deny. The rules of the purpose are tried in file order; the first
// whose account kind/role and structure kind fit the principal and whose
// relation holds decides; it releases exactly its `fields`, plus the reveal-only
// fields asked for in a RevealRequest with a written justification. No rule
// that holds: denied, with the reason (the closest rule and why its relation
// does not hold).
//
// A Decision is a plain value (no allocation on the decision path); its
// reason is rendered on demand by Reason()/Explain() from stored codes.
// Rendered reasons name structure codes, never a person's personal data. They
// are meant for the account's own structure and for audit; an API answering
// an outside caller should not echo "unknown person" distinctly from "no
// relation" (it would confirm that an id exists).
//
// Thread-safety: Decide, Reason and Explain may be called concurrently from
// any number of threads, also while the RelationIndex is being updated. The
// Engine holds references to `policy` and `index`, which must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/date.h"
#include "core/domain.h"
#include "policy/field_bits.h"
#include "policy/policy.h"
#include "policy/principal.h"
#include "policy/relation_index.h"

namespace cloison::policy {

// What the caller adds to a plain read: a written justification, fields to
// reveal (the NIR), and for dual-control purposes the second account that
// approved (iam checked the approval itself; the policy checks it is there and
// is not the reader).
struct RevealRequest {
  FieldBits fields;                 // reveal-only fields asked for; may be empty
  std::string_view justification;   // free text; at least Policy::min_justification_chars
  AccountId approved_by;            // dual control; 0 = none
};

enum class DenyReason : uint8_t {
  kNone,
  kUnknownPurpose,            // purpose id not in the policy
  kProbation,                 // purpose refused to accounts on probation, or no `referent` rule for it (probation reads only through `referent`)
  kRoleCannotRead,            // none of the account's roles may read people (access manager, auditor)
  kNoRuleForRole,             // roles may read, but no rule for them and this purpose
  kTechnicalNoIntegration,    // technical account without an integration rule for this purpose
  kStructureKind,             // rules exist for the role, not for the account's kind of structure
  kUnknownPerson,             // the person is not in the relation index
  kNoRelation,                // no relation between the account and the person
  kOrientationStatus,         // an orientation to the account's organisation exists, in a status the rule excludes
  kOrientationExpired,        // ... in a good status but outside its validity window
  kJustificationRequired,     // purpose or reveal needs a written justification
  kDualControlRequired,       // purpose needs a second account's approval
  kRevealNotAllowed,          // reveal of fields the rule does not list under `reveal`
  kRevealOnProbation,         // accounts on probation reveal nothing
};
std::string_view DenyReasonName(DenyReason r);  // "no_relation", ...

struct Decision {
  bool allowed = false;
  DenyReason deny = DenyReason::kNone;
  // Released fields (including the revealed ones); empty when denied.
  FieldBits fields;
  FieldBits revealed;
  // The statistics kind of purpose: the fields may only be aggregated.
  bool aggregates_only = false;
  // The rule that allowed, or for a denial the closest rule tried; -1 none.
  int32_t rule = -1;
  PurposeId purpose{};
  // Who and whom.
  PersonId person;
  AccountId account;
  StructureId account_structure;
  // The relation path (what held, or what came closest for a denial).
  Relation relation = Relation::kFollowed;
  StructureId via_structure;  // followed: the follow-up structure; denial: the person's referent structure
  bool via_other_structure = false;  // followed through a further (non-referent) follow-up structure
  OrientationId orientation;
  TrainingSessionId session;
  StructureId organisation;  // the session's training organisation
  OrientationStatus orientation_status = OrientationStatus::kProposed;
  int32_t window_from_days = 0;  // orientation validity window, days since epoch, inclusive
  int32_t window_to_days = 0;
  FieldBits refused_reveal;  // kRevealNotAllowed: the fields asked for that the rule cannot reveal
};

class Engine {
 public:
  Engine(const Policy& policy, const RelationIndex& index) : policy_(policy), index_(index) {}

  // Decides one read. `today` is the reader's local date (orientation
  // windows are whole days). Never fails: anything unexpected is a denial.
  Decision Decide(const Principal& who, PersonId person, PurposeId purpose, Date today,
                  const RevealRequest* reveal = nullptr) const;

  // One line: the relation path that allowed, or why it was denied, e.g.
  // "rule 'ml-accompaniment': person 123 is followed by structure ML-67-003 (yours)".
  std::string Reason(const Decision& d) const;
  // Several lines for `cloison policy explain`: verdict, rule and its source
  // line, purpose, relation path, released and revealed fields.
  std::string Explain(const Decision& d) const;

  const Policy& policy() const { return policy_; }
  const RelationIndex& index() const { return index_; }

 private:
  std::string RelationPath(const Decision& d) const;
  std::string DenialText(const Decision& d) const;

  const Policy& policy_;
  const RelationIndex& index_;
};

}  // namespace cloison::policy
