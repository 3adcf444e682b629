// The field catalog: which fields a Person has, their type, category and
// sensitivity. Loaded from a TOML file shipped with the project
// (config/field_catalog.toml); adding a field is a catalog change, not a code
// change: the store adds a column for it, import validates it by its type,
// and the policy (later) releases it by name or category.
//
// Sensitivity decides protection at rest:
//   "personal"  stored in clear (name, status: needed for search/aggregates);
//   "sensitive" encrypted at rest with field-level AEAD.
// Categories "nir" and "contact" must be "sensitive" (checked at load).
//
// Thread-safety: immutable after Load(); share by const reference.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace cloison {

enum class FieldType {
  kText,         // free text, 1..200 UTF-8 bytes, no control characters
  kDate,         // YYYY-MM-DD
  kEnum,         // one of `values`
  kNir,          // 15 characters, French social security number with key
  kEmail,        // RFC 5321-ish mailbox, lower-cased
  kPhone,        // French number, 10 digits starting with 0 (or +33)
  kFtId,         // France Travail identifier, 11 digits
  kFtIdLegacy,   // legacy France Travail identifier, 7 digits + 1 letter
  kPostcode,     // 5 digits
};

enum class FieldCategory { kIdentity, kContact, kNir, kPathway };
enum class Sensitivity { kPersonal, kSensitive };

std::string_view FieldTypeName(FieldType t);
std::string_view FieldCategoryName(FieldCategory c);
std::optional<FieldCategory> ParseFieldCategory(std::string_view s);

struct FieldDef {
  std::string name;      // [a-z][a-z0-9_]{0,39}; stable: used in storage and AEAD AD
  std::string label;     // human label (French)
  FieldType type = FieldType::kText;
  FieldCategory category = FieldCategory::kIdentity;
  Sensitivity sensitivity = Sensitivity::kPersonal;
  bool required = false;
  bool blind_index = false;  // exact lookup through a keyed hash
  bool unique = false;       // at most one person per value (requires blind_index)
  std::vector<std::string> values;  // for kEnum

  bool encrypted() const { return sensitivity == Sensitivity::kSensitive; }
};

class FieldCatalog {
 public:
  // Parses and validates a catalog. Errors name the file, the line and the
  // problem ("field_catalog.toml:12: field 'nir': category nir must be sensitive").
  static StatusOr<FieldCatalog> LoadFile(const std::string& path);
  static StatusOr<FieldCatalog> Parse(std::string_view toml_text, std::string_view source_name);
  // The catalog compiled into the binary (same text as config/field_catalog.toml),
  // so the tool works from any directory.
  static const FieldCatalog& Default();

  const std::vector<FieldDef>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  const FieldDef& at(size_t index) const { return fields_[index]; }
  // Index of a field by name, or nullopt.
  std::optional<size_t> IndexOf(std::string_view name) const;
  const FieldDef* Find(std::string_view name) const;
  int version() const { return version_; }

 private:
  int version_ = 1;
  std::vector<FieldDef> fields_;
  std::unordered_map<std::string, size_t> by_name_;
};

// Checks one value against its field definition; the error message names the
// field and the problem but never echoes a sensitive value.
Status ValidateFieldValue(const FieldDef& def, std::string_view value);
// Canonical form of a value before storage and blind indexing (e-mail lower-cased,
// phone in 10-digit national form, NIR upper-cased without spaces).
std::string CanonicalizeFieldValue(const FieldDef& def, std::string_view value);

}  // namespace cloison
