#include "core/field_catalog.h"

#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "core/strings.h"
#include "core/date.h"
#include "core/identifiers.h"

namespace cloison {

namespace internal {
extern const char kDefaultFieldCatalog[];
}

std::string_view FieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kText: return "text";
    case FieldType::kDate: return "date";
    case FieldType::kEnum: return "enum";
    case FieldType::kNir: return "nir";
    case FieldType::kEmail: return "email";
    case FieldType::kPhone: return "phone";
    case FieldType::kFtId: return "ft_id";
    case FieldType::kFtIdLegacy: return "ft_id_legacy";
    case FieldType::kPostcode: return "postcode";
  }
  return "?";
}

std::string_view FieldCategoryName(FieldCategory c) {
  switch (c) {
    case FieldCategory::kIdentity: return "identity";
    case FieldCategory::kContact: return "contact";
    case FieldCategory::kNir: return "nir";
    case FieldCategory::kPathway: return "pathway";
  }
  return "?";
}

std::optional<FieldCategory> ParseFieldCategory(std::string_view s) {
  for (auto c : {FieldCategory::kIdentity, FieldCategory::kContact, FieldCategory::kNir, FieldCategory::kPathway})
    if (FieldCategoryName(c) == s) return c;
  return std::nullopt;
}

namespace {

std::optional<FieldType> ParseFieldType(std::string_view s) {
  for (auto t : {FieldType::kText, FieldType::kDate, FieldType::kEnum, FieldType::kNir, FieldType::kEmail,
                 FieldType::kPhone, FieldType::kFtId, FieldType::kFtIdLegacy, FieldType::kPostcode})
    if (FieldTypeName(t) == s) return t;
  return std::nullopt;
}

bool IsValidFieldName(std::string_view n) {
  if (n.empty() || n.size() > 40 || n[0] < 'a' || n[0] > 'z') return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

std::string Where(std::string_view source, const toml::node& node) {
  return StrCat(source, ":", static_cast<int64_t>(node.source().begin.line));
}

}  // namespace

StatusOr<FieldCatalog> FieldCatalog::Parse(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(StrCat(source, ":", static_cast<int64_t>(e.source().begin.line), ": ", e.description()));
  }
  FieldCatalog cat;
  if (auto v = root["version"].value<int64_t>()) {
    if (*v != 1) return InvalidArgument(StrCat(source, ": unsupported catalog version ", *v));
    cat.version_ = static_cast<int>(*v);
  }
  for (auto&& [key, node] : root) {
    if (key != "version" && key != "field")
      return InvalidArgument(StrCat(Where(source, node), ": unknown key '", key.str(), "'"));
  }
  const toml::array* fields = root["field"].as_array();
  if (!fields || fields->empty())
    return InvalidArgument(StrCat(source, ": no [[field]] defined"));
  for (const toml::node& n : *fields) {
    const toml::table* t = n.as_table();
    if (!t) return InvalidArgument(StrCat(Where(source, n), ": field must be a table"));
    const std::string where = Where(source, n);
    FieldDef def;
    auto str = [&](std::string_view k) -> std::optional<std::string> {
      if (auto v = (*t)[k].value<std::string>()) return *v;
      return std::nullopt;
    };
    auto boolean = [&](std::string_view k, bool& out) -> Status {
      const toml::node* v = t->get(k);
      if (!v) return OkStatus();
      if (!v->is_boolean())
        return InvalidArgument(StrCat(Where(source, *v), ": '", k, "' must be true or false"));
      out = v->as_boolean()->get();
      return OkStatus();
    };
    for (auto&& [k, v] : *t) {
      static constexpr std::string_view kKnown[] = {"name", "label", "type", "category", "sensitivity",
                                                    "required", "blind_index", "unique", "values"};
      if (std::find(std::begin(kKnown), std::end(kKnown), k.str()) == std::end(kKnown))
        return InvalidArgument(StrCat(Where(source, v), ": unknown field key '", k.str(), "'"));
    }
    auto name = str("name");
    if (!name) return InvalidArgument(StrCat(where, ": field without a 'name'"));
    if (!IsValidFieldName(*name))
      return InvalidArgument(StrCat(where, ": field name '", *name, "' must match [a-z][a-z0-9_]{0,39}"));
    def.name = *name;
    const std::string ctx = StrCat(where, ": field '", def.name, "': ");
    def.label = str("label").value_or(def.name);
    auto type = str("type");
    if (!type) return InvalidArgument(StrCat(ctx, "missing 'type'"));
    auto ft = ParseFieldType(*type);
    if (!ft) return InvalidArgument(StrCat(ctx, "unknown type '", *type, "'"));
    def.type = *ft;
    auto category = str("category");
    if (!category) return InvalidArgument(StrCat(ctx, "missing 'category'"));
    auto fc = ParseFieldCategory(*category);
    if (!fc)
      return InvalidArgument(
          StrCat(ctx, "unknown category '", *category, "' (identity, contact, nir, pathway)"));
    def.category = *fc;
    auto sens = str("sensitivity");
    if (!sens) return InvalidArgument(StrCat(ctx, "missing 'sensitivity'"));
    if (*sens == "personal") def.sensitivity = Sensitivity::kPersonal;
    else if (*sens == "sensitive") def.sensitivity = Sensitivity::kSensitive;
    else return InvalidArgument(StrCat(ctx, "sensitivity must be 'personal' or 'sensitive'"));
    CLOISON_RETURN_IF_ERROR(boolean("required", def.required));
    CLOISON_RETURN_IF_ERROR(boolean("blind_index", def.blind_index));
    CLOISON_RETURN_IF_ERROR(boolean("unique", def.unique));
    if (const toml::array* vals = (*t)["values"].as_array()) {
      for (const toml::node& v : *vals) {
        auto s = v.value<std::string>();
        if (!s || s->empty()) return InvalidArgument(StrCat(ctx, "'values' must be non-empty strings"));
        def.values.push_back(*s);
      }
    }
    if (def.type == FieldType::kEnum && def.values.empty())
      return InvalidArgument(StrCat(ctx, "an enum needs 'values'"));
    if (def.type != FieldType::kEnum && !def.values.empty())
      return InvalidArgument(StrCat(ctx, "'values' only applies to type enum"));
    if ((def.category == FieldCategory::kNir || def.category == FieldCategory::kContact) &&
        def.sensitivity != Sensitivity::kSensitive)
      return InvalidArgument(StrCat(ctx, "category ", *category, " must be sensitive"));
    if (def.type == FieldType::kNir && def.category != FieldCategory::kNir)
      return InvalidArgument(StrCat(ctx, "a field of type nir must have category nir"));
    if (def.unique && !def.blind_index)
      return InvalidArgument(StrCat(ctx, "'unique' needs 'blind_index = true'"));
    if (cat.by_name_.count(def.name))
      return InvalidArgument(StrCat(ctx, "defined twice"));
    cat.by_name_.emplace(def.name, cat.fields_.size());
    cat.fields_.push_back(std::move(def));
  }
  return cat;
}

StatusOr<FieldCatalog> FieldCatalog::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(StrCat(path, ": cannot open field catalog"));
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

const FieldCatalog& FieldCatalog::Default() {
  static const FieldCatalog* cat = [] {
    auto c = Parse(internal::kDefaultFieldCatalog, "config/field_catalog.toml");
    if (!c.ok()) std::abort();  // the shipped catalog is tested; this cannot fail at run time
    return new FieldCatalog(*std::move(c));
  }();
  return *cat;
}

std::optional<size_t> FieldCatalog::IndexOf(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

const FieldDef* FieldCatalog::Find(std::string_view name) const {
  auto i = IndexOf(name);
  return i ? &fields_[*i] : nullptr;
}

namespace {
bool IsValidUtf8Text(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}
}  // namespace

Status ValidateFieldValue(const FieldDef& def, std::string_view v) {
  auto bad = [&](std::string_view what) {
    return InvalidArgument(StrCat("field '", def.name, "': ", what));
  };
  if (v.empty()) return def.required ? bad("is required") : OkStatus();
  switch (def.type) {
    case FieldType::kText:
      if (v.size() > 200) return bad("longer than 200 bytes");
      if (!IsValidUtf8Text(v)) return bad("not valid UTF-8 text (or has control characters)");
      return OkStatus();
    case FieldType::kDate:
      if (!Date::Parse(v)) return bad("impossible date (expected YYYY-MM-DD)");
      return OkStatus();
    case FieldType::kEnum:
      for (const auto& allowed : def.values)
        if (allowed == v) return OkStatus();
      {
        std::string list;
        for (const auto& a : def.values) list += (list.empty() ? "" : ", ") + a;
        return bad(StrCat("must be one of ", list));
      }
    case FieldType::kNir: {
      Status s = ValidateNir(CanonicalNir(v));
      if (!s.ok()) return bad(MessageOf(s));
      return OkStatus();
    }
    case FieldType::kEmail:
      if (!IsValidEmail(v)) return bad("malformed e-mail address");
      return OkStatus();
    case FieldType::kPhone:
      if (!IsValidFrenchPhone(v)) return bad("not a French phone number (10 digits starting with 0)");
      return OkStatus();
    case FieldType::kFtId:
      if (!IsValidFtId(v)) return bad("France Travail id must be 11 digits");
      return OkStatus();
    case FieldType::kFtIdLegacy:
      if (!IsValidFtIdLegacy(v)) return bad("legacy France Travail id must be 7 digits and a capital letter");
      return OkStatus();
    case FieldType::kPostcode:
      if (!IsValidPostcode(v)) return bad("postcode must be 5 digits");
      return OkStatus();
  }
  return bad("unknown type");
}

std::string CanonicalizeFieldValue(const FieldDef& def, std::string_view v) {
  switch (def.type) {
    case FieldType::kNir: return CanonicalNir(v);
    case FieldType::kPhone: return CanonicalFrenchPhone(v);
    case FieldType::kEmail: {
      std::string out(v);
      for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return out;
    }
    default: return std::string(v);
  }
}

}  // namespace cloison
