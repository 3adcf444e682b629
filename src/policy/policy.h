// The access policy: purposes, role definitions, quotas and the rules that
// release fields, loaded from a TOML file (config/policy.toml is the shipped
// default, compiled in) and validated at load. Format: docs/policy.md.
//
// Default deny: a person's fields are released only by a rule that names the
// reader's role (or "technical" account kind), the relation that links the
// reader to the person, and the declared purpose; each rule lists the exact
// fields it releases. Fields a rule lists under `reveal` (the NIR) are released
// only by an explicit reveal carrying a written justification.
//
// Errors name the file, the line and the problem:
//   "config/policy.toml:42: rule 'ml-accompaniment': unknown field 'nirr'".
//
// Thread-safety: immutable after Parse/LoadFile; share by const reference
// between threads. Failure: InvalidArgument for a bad file, NotFound for a
// file that cannot be opened.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "core/field_catalog.h"
#include "core/status.h"
#include "policy/field_bits.h"

namespace cloison::policy {

// A purpose's index in Policy::purposes(). Obtain one with FindPurpose.
enum class PurposeId : uint8_t {};
inline constexpr size_t kMaxPurposes = 64;

struct PurposeDef {
  std::string name;   // "accompaniment", "investigation", ...
  std::string label;
  // Statistics: the released fields may only be aggregated (counts over a
  // population); a caller must never return them per person.
  bool aggregates_only = false;
  // Each decision needs a written justification (RevealRequest::justification).
  bool requires_justification = false;
  // Break-glass: may use relation "any" (no relation to the person needed);
  // logged and alerted on by the guard.
  bool break_glass = false;
  // A second account must have approved (RevealRequest::approved_by).
  bool dual_control = false;
  // Only technical accounts holding this purpose use it, through
  // account_kind = "technical" rules; human rules may not name it.
  bool integration = false;
  // False: refused to accounts on probation.
  bool allowed_on_probation = true;
  int line = 0;
};

// What a role may do besides reading people. iam reads these; the policy
// itself uses only read_people.
struct RoleDef {
  Role role = Role::kCounsellor;
  bool defined = false;          // has a [role.X] table
  bool read_people = false;      // may any rule release people's fields to it
  bool manage_accounts = false;  // create/disable agent accounts of its structure
  bool create_technical_accounts = false;  // always under dual control (iam)
  bool approve = false;          // may be the second approver of a dual-control action
  bool verify_audit = false;     // may verify/export the audit log
  bool breach_reports = false;   // may prepare breach notifications
  int line = 0;
};

// Numbers for the guard (a later issue): how much one account may read.
// 0 means "no limit stated" (the guard applies its own default).
struct QuotaDef {
  int64_t people_per_hour = 0;  // distinct people read per sliding hour
  int64_t people_per_day = 0;   // distinct people read per sliding day
  int64_t page_size = 0;        // max people per list/search page
  int line = 0;
};

enum class Relation : uint8_t {
  kFollowed,     // the person is followed by the account's structure (referent
                 // or other follow-up structure), or by a child structure when
                 // the rule says include_child_structures
  kReferent,     // the account is the person's referent counsellor
  kOrientation,  // the person has an orientation, in one of the rule's
                 // statuses and inside its validity window, to a session of a
                 // formation of the account's (training) organisation
  kAny,          // no relation needed: break-glass purposes only
};
std::string_view RelationName(Relation r);  // "followed", "referent", "orientation", "any"
std::optional<Relation> ParseRelation(std::string_view s);

struct Rule {
  std::string id;  // unique, e.g. "ml-counsellor-accompaniment"
  bool technical = false;  // account_kind = "technical" (then `role` is unset)
  Role role = Role::kCounsellor;
  Relation relation = Relation::kFollowed;
  PurposeId purpose{};
  // Released without reveal. Never overlaps `reveal`.
  FieldBits fields;
  // Released only by an explicit reveal with a justification.
  FieldBits reveal;
  // Relations kFollowed / kOrientation: the structure found may be a
  // descendant of the account's structure.
  bool include_child_structures = false;
  // Relation kOrientation: statuses that count (bit = OrientationStatus).
  uint8_t orientation_statuses = 0;
  // Relation kOrientation: the window is [proposed_on, session end + this].
  int32_t days_after_session_end = 0;
  // Empty = any; otherwise the account's structure must be of one of these
  // kinds (bit = StructureKind).
  uint8_t structure_kinds = 0;
  int line = 0;
};

class Policy {
 public:
  // Parses and validates a policy against a field catalog:
  //  - `catalog` non-null: that catalog (the file's `catalog = "..."`
  //    reference, if any, is ignored);
  //  - else the file's `catalog` reference, resolved against `catalog_dir`
  //    (the policy file's directory) when relative;
  //  - else the compiled-in FieldCatalog::Default().
  static StatusOr<Policy> Parse(std::string_view toml_text, std::string_view source_name,
                                const FieldCatalog* catalog = nullptr, std::string_view catalog_dir = "");
  // Reads and parses `path` (a relative catalog reference is resolved next
  // to it); errors are "PATH:LINE: problem".
  static StatusOr<Policy> LoadFile(const std::string& path, const FieldCatalog* catalog = nullptr);
  // The policy compiled into the binary (same text as config/policy.toml,
  // with the compiled-in catalog).
  static const Policy& Default();

  const FieldCatalog& catalog() const { return catalog_; }
  const std::vector<PurposeDef>& purposes() const { return purposes_; }
  const PurposeDef& purpose(PurposeId p) const { return purposes_[static_cast<size_t>(p)]; }
  std::optional<PurposeId> FindPurpose(std::string_view name) const;
  const std::vector<Rule>& rules() const { return rules_; }
  // Rules for one purpose, in file order (the first that matches decides).
  const std::vector<uint16_t>& RulesFor(PurposeId p) const { return rules_by_purpose_[static_cast<size_t>(p)]; }
  const RoleDef& role(Role r) const { return roles_[static_cast<size_t>(r)]; }
  // Quota of a role, or of technical accounts (role ignored) — nullopt if the
  // policy states none.
  std::optional<QuotaDef> quota(Role r) const;
  std::optional<QuotaDef> technical_quota() const { return technical_quota_; }
  // Minimum length (bytes, after trimming) of a written justification.
  size_t min_justification_chars() const { return min_justification_chars_; }
  // Fields of the catalog named `names`; InvalidArgument naming an unknown one.
  StatusOr<FieldBits> FieldsNamed(const std::vector<std::string>& names) const;
  // "nom, prenom, nir".
  std::string FieldNames(FieldBits bits) const;
  // Where the policy came from (file path or "<compiled-in>").
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  FieldCatalog catalog_;
  std::vector<PurposeDef> purposes_;
  std::vector<Rule> rules_;
  std::vector<std::vector<uint16_t>> rules_by_purpose_;
  std::array<RoleDef, 6> roles_{};
  std::array<std::optional<QuotaDef>, 6> quotas_{};
  std::optional<QuotaDef> technical_quota_;
  size_t min_justification_chars_ = 20;
};

}  // namespace cloison::policy
