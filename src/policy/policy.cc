#include "policy/policy.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "core/strings.h"

namespace cloison::policy {

namespace internal {
extern const char kDefaultPolicy[];
}

std::string_view RelationName(Relation r) {
  switch (r) {
    case Relation::kFollowed: return "followed";
    case Relation::kReferent: return "referent";
    case Relation::kOrientation: return "orientation";
    case Relation::kAny: return "any";
  }
  return "?";
}

std::optional<Relation> ParseRelation(std::string_view s) {
  for (auto r : {Relation::kFollowed, Relation::kReferent, Relation::kOrientation, Relation::kAny})
    if (RelationName(r) == s) return r;
  return std::nullopt;
}

namespace {

constexpr Role kAllRoles[] = {Role::kCounsellor, Role::kAccessManager, Role::kSecurityOfficer,
                              Role::kDpo,        Role::kPartnerUser,   Role::kAuditor};

// Builds "SOURCE:LINE: " prefixes and carries the source name.
class Ctx {
 public:
  explicit Ctx(std::string_view source) : source_(source) {}
  std::string At(const toml::node& n) const {
    return StrCat(source_, ":", static_cast<int64_t>(n.source().begin.line), ": ");
  }
  Status Error(const toml::node& n, std::string_view what) const { return InvalidArgument(StrCat(At(n), what)); }
  Status Error(std::string_view what) const { return InvalidArgument(StrCat(source_, ": ", what)); }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

Status CheckKeys(const Ctx& c, const toml::table& t, std::initializer_list<std::string_view> known,
                 std::string_view what) {
  for (auto&& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) == known.end())
      return c.Error(v, StrCat(what, "unknown key '", k.str(), "'"));
  }
  return OkStatus();
}

Status GetBool(const Ctx& c, const toml::table& t, std::string_view key, std::string_view what, bool& out) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  if (!v->is_boolean()) return c.Error(*v, StrCat(what, "'", key, "' must be true or false"));
  out = v->as_boolean()->get();
  return OkStatus();
}

Status GetInt(const Ctx& c, const toml::table& t, std::string_view key, std::string_view what, int64_t min,
              int64_t max, int64_t& out) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  if (!v->is_integer()) return c.Error(*v, StrCat(what, "'", key, "' must be an integer"));
  int64_t x = v->as_integer()->get();
  if (x < min || x > max)
    return c.Error(*v, StrCat(what, "'", key, "' must be between ", min, " and ", max, ", not ", x));
  out = x;
  return OkStatus();
}

Status GetString(const Ctx& c, const toml::table& t, std::string_view key, std::string_view what,
                 std::optional<std::string>& out, const toml::node** where = nullptr) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  if (!v->is_string()) return c.Error(*v, StrCat(what, "'", key, "' must be a string"));
  out = v->as_string()->get();
  if (where) *where = v;
  return OkStatus();
}

// Calls fn(node, string) for each element of a string array `key` (absent = none).
template <typename Fn>
Status ForEachString(const Ctx& c, const toml::table& t, std::string_view key, std::string_view what, Fn fn) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  const toml::array* a = v->as_array();
  if (!a) return c.Error(*v, StrCat(what, "'", key, "' must be an array of strings"));
  for (const toml::node& e : *a) {
    if (!e.is_string()) return c.Error(e.source().begin.line ? e : *v, StrCat(what, "'", key, "' must contain only strings"));
    CLOISON_RETURN_IF_ERROR(fn(e.source().begin.line ? e : *v, std::string_view(e.as_string()->get())));
  }
  return OkStatus();
}

bool IsValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char ch : n)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')) return false;
  return true;
}

StatusOr<QuotaDef> ParseQuota(const Ctx& c, const toml::node& n, std::string_view what) {
  const toml::table* t = n.as_table();
  if (!t) return c.Error(n, StrCat(what, "must be a table"));
  CLOISON_RETURN_IF_ERROR(CheckKeys(c, *t, {"people_per_hour", "people_per_day", "page_size"}, what));
  QuotaDef q;
  q.line = static_cast<int>(n.source().begin.line);
  constexpr int64_t kMax = 1'000'000'000;
  CLOISON_RETURN_IF_ERROR(GetInt(c, *t, "people_per_hour", what, 0, kMax, q.people_per_hour));
  CLOISON_RETURN_IF_ERROR(GetInt(c, *t, "people_per_day", what, 0, kMax, q.people_per_day));
  CLOISON_RETURN_IF_ERROR(GetInt(c, *t, "page_size", what, 0, kMax, q.page_size));
  if (q.people_per_hour > 0 && q.people_per_day > 0 && q.people_per_hour > q.people_per_day)
    return c.Error(n, StrCat(what, "people_per_hour (", q.people_per_hour, ") exceeds people_per_day (",
                             q.people_per_day, ")"));
  return q;
}

}  // namespace

std::optional<PurposeId> Policy::FindPurpose(std::string_view name) const {
  for (size_t i = 0; i < purposes_.size(); ++i)
    if (purposes_[i].name == name) return static_cast<PurposeId>(i);
  return std::nullopt;
}

std::optional<QuotaDef> Policy::quota(Role r) const { return quotas_[static_cast<size_t>(r)]; }

StatusOr<FieldBits> Policy::FieldsNamed(const std::vector<std::string>& names) const {
  FieldBits b;
  for (const std::string& n : names) {
    auto i = catalog_.IndexOf(n);
    if (!i) return InvalidArgument(StrCat("unknown field '", n, "'"));
    b.set(*i);
  }
  return b;
}

std::string Policy::FieldNames(FieldBits bits) const {
  std::string out;
  for (size_t i = 0; i < catalog_.size(); ++i) {
    if (!bits.has(i)) continue;
    if (!out.empty()) out += ", ";
    out += catalog_.at(i).name;
  }
  return out.empty() ? std::string("(none)") : out;
}

StatusOr<Policy> Policy::Parse(std::string_view text, std::string_view source_name, const FieldCatalog* catalog,
                               std::string_view catalog_dir) {
  const Ctx c(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(
        StrCat(source_name, ":", static_cast<int64_t>(e.source().begin.line), ": ", std::string_view(e.description())));
  }
  Policy p;
  p.source_ = std::string(source_name);
  for (size_t i = 0; i < 6; ++i) p.roles_[i].role = kAllRoles[i];

  CLOISON_RETURN_IF_ERROR(CheckKeys(c, root,
                                    {"version", "catalog", "min_justification_chars", "purpose", "role",
                                     "quota", "rule", "guard"},  // [guard]: parsed by guard::GuardConfig
                                    ""));
  if (const toml::node* v = root.get("version")) {
    if (!v->is_integer() || v->as_integer()->get() != 1) return c.Error(*v, "unsupported policy version (expected 1)");
  }
  int64_t min_just = 20;
  CLOISON_RETURN_IF_ERROR(GetInt(c, root, "min_justification_chars", "", 1, 10000, min_just));
  p.min_justification_chars_ = static_cast<size_t>(min_just);

  // --- Catalog.
  std::optional<std::string> catalog_ref;
  const toml::node* catalog_node = nullptr;
  CLOISON_RETURN_IF_ERROR(GetString(c, root, "catalog", "", catalog_ref, &catalog_node));
  if (catalog) {
    p.catalog_ = *catalog;
  } else if (catalog_ref) {
    std::filesystem::path path(*catalog_ref);
    if (path.is_relative() && !catalog_dir.empty()) path = std::filesystem::path(catalog_dir) / path;
    auto cat = FieldCatalog::LoadFile(path.string());
    if (!cat.ok())
      return c.Error(*catalog_node, StrCat("catalog '", *catalog_ref, "': ", MessageOf(cat.status())));
    p.catalog_ = *std::move(cat);
  } else {
    p.catalog_ = FieldCatalog::Default();
  }
  if (p.catalog_.size() > kMaxFields)
    return c.Error(StrCat("the field catalog has ", static_cast<int64_t>(p.catalog_.size()),
                          " fields; the policy supports at most ", static_cast<int64_t>(kMaxFields)));

  // --- Purposes.
  const toml::node* purposes_node = root.get("purpose");
  if (!purposes_node) return c.Error("no [purpose.NAME] defined");
  const toml::table* purposes = purposes_node->as_table();
  if (!purposes) return c.Error(*purposes_node, "'purpose' must be tables [purpose.NAME]");
  for (auto&& [name, node] : *purposes) {
    const std::string what = StrCat("purpose '", name.str(), "': ");
    const toml::table* t = node.as_table();
    if (!t) return c.Error(node, StrCat(what, "must be a table"));
    if (!IsValidName(name.str())) return c.Error(node, StrCat(what, "name must match [a-z0-9_-]{1,64}"));
    CLOISON_RETURN_IF_ERROR(CheckKeys(c, *t,
                                      {"label", "aggregates_only", "requires_justification", "break_glass",
                                       "dual_control", "integration", "allowed_on_probation"},
                                      what));
    PurposeDef d;
    d.name = std::string(name.str());
    d.line = static_cast<int>(node.source().begin.line);
    std::optional<std::string> label;
    CLOISON_RETURN_IF_ERROR(GetString(c, *t, "label", what, label));
    d.label = label.value_or(d.name);
    CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "aggregates_only", what, d.aggregates_only));
    CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "requires_justification", what, d.requires_justification));
    CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "break_glass", what, d.break_glass));
    CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "dual_control", what, d.dual_control));
    CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "integration", what, d.integration));
    CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "allowed_on_probation", what, d.allowed_on_probation));
    if (d.break_glass && !d.requires_justification)
      return c.Error(node, StrCat(what, "a break_glass purpose must set requires_justification = true"));
    if (d.break_glass && d.aggregates_only)
      return c.Error(node, StrCat(what, "break_glass and aggregates_only exclude each other"));
    if (d.integration && (d.break_glass || d.dual_control))
      return c.Error(node, StrCat(what, "an integration purpose cannot be break_glass or dual_control"));
    p.purposes_.push_back(std::move(d));
    if (p.purposes_.size() > kMaxPurposes) return c.Error(node, "too many purposes (at most 64)");
  }
  if (p.purposes_.empty()) return c.Error(*purposes_node, "no [purpose.NAME] defined");

  // --- Roles.
  if (const toml::node* roles_node = root.get("role")) {
    const toml::table* roles = roles_node->as_table();
    if (!roles) return c.Error(*roles_node, "'role' must be tables [role.NAME]");
    for (auto&& [name, node] : *roles) {
      const std::string what = StrCat("role '", name.str(), "': ");
      auto r = ParseRole(name.str());
      if (!r)
        return c.Error(node, StrCat("unknown role '", name.str(),
                                    "' (roles: counsellor, access_manager, security_officer, dpo, "
                                    "partner_user, auditor)"));
      const toml::table* t = node.as_table();
      if (!t) return c.Error(node, StrCat(what, "must be a table"));
      CLOISON_RETURN_IF_ERROR(CheckKeys(c, *t,
                                        {"label", "read_people", "manage_accounts", "create_technical_accounts",
                                         "approve", "verify_audit", "breach_reports"},
                                        what));
      RoleDef& d = p.roles_[static_cast<size_t>(*r)];
      d.defined = true;
      d.line = static_cast<int>(node.source().begin.line);
      std::optional<std::string> label;
      CLOISON_RETURN_IF_ERROR(GetString(c, *t, "label", what, label));
      CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "read_people", what, d.read_people));
      CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "manage_accounts", what, d.manage_accounts));
      CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "create_technical_accounts", what, d.create_technical_accounts));
      CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "approve", what, d.approve));
      CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "verify_audit", what, d.verify_audit));
      CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "breach_reports", what, d.breach_reports));
      if (d.read_people && d.manage_accounts)
        return c.Error(node, StrCat(what, "a role that manages accounts may not read people "
                                          "(separation of duties)"));
    }
  }

  // --- Quotas.
  if (const toml::node* quota_node = root.get("quota")) {
    const toml::table* quotas = quota_node->as_table();
    if (!quotas) return c.Error(*quota_node, "'quota' must be tables [quota.ROLE]");
    for (auto&& [name, node] : *quotas) {
      const std::string what = StrCat("quota '", name.str(), "': ");
      if (name.str() == "technical") {
        CLOISON_ASSIGN_OR_RETURN(p.technical_quota_, ParseQuota(c, node, what));
        continue;
      }
      auto r = ParseRole(name.str());
      if (!r) return c.Error(node, StrCat("quota for unknown role '", name.str(), "'"));
      CLOISON_ASSIGN_OR_RETURN(p.quotas_[static_cast<size_t>(*r)], ParseQuota(c, node, what));
    }
  }

  // --- Rules.
  p.rules_by_purpose_.resize(p.purposes_.size());
  const toml::node* rules_node = root.get("rule");
  if (rules_node) {
    const toml::array* rules = rules_node->as_array();
    if (!rules) return c.Error(*rules_node, "'rule' must be an array of tables [[rule]]");
    for (const toml::node& node : *rules) {
      const toml::table* t = node.as_table();
      if (!t) return c.Error(node, "[[rule]] must be a table");
      Rule rule;
      rule.line = static_cast<int>(node.source().begin.line);
      std::optional<std::string> id;
      CLOISON_RETURN_IF_ERROR(GetString(c, *t, "id", "rule: ", id));
      if (!id) return c.Error(node, "rule without an 'id'");
      if (!IsValidName(*id)) return c.Error(*t->get("id"), StrCat("rule id '", *id, "' must match [a-z0-9_-]{1,64}"));
      for (const Rule& other : p.rules_)
        if (other.id == *id)
          return c.Error(*t->get("id"),
                         StrCat("duplicate rule id '", *id, "' (first at line ", static_cast<int64_t>(other.line), ")"));
      rule.id = *id;
      const std::string what = StrCat("rule '", rule.id, "': ");
      CLOISON_RETURN_IF_ERROR(CheckKeys(c, *t,
                                        {"id", "role", "account_kind", "relation", "purpose", "fields",
                                         "categories", "reveal", "include_child_structures",
                                         "orientation_statuses", "days_after_session_end", "structure_kinds"},
                                        what));
      // Who.
      std::optional<std::string> role_s, kind_s, relation_s, purpose_s;
      const toml::node *role_n = nullptr, *kind_n = nullptr, *relation_n = nullptr, *purpose_n = nullptr;
      CLOISON_RETURN_IF_ERROR(GetString(c, *t, "role", what, role_s, &role_n));
      CLOISON_RETURN_IF_ERROR(GetString(c, *t, "account_kind", what, kind_s, &kind_n));
      CLOISON_RETURN_IF_ERROR(GetString(c, *t, "relation", what, relation_s, &relation_n));
      CLOISON_RETURN_IF_ERROR(GetString(c, *t, "purpose", what, purpose_s, &purpose_n));
      if (kind_s && *kind_s != "human" && *kind_s != "technical")
        return c.Error(*kind_n, StrCat(what, "account_kind must be \"human\" or \"technical\", not '", *kind_s, "'"));
      rule.technical = kind_s && *kind_s == "technical";
      if (rule.technical) {
        if (role_s) return c.Error(*role_n, StrCat(what, "a technical rule names no role"));
      } else {
        if (!role_s) return c.Error(node, StrCat(what, "missing 'role' (or account_kind = \"technical\")"));
        auto r = ParseRole(*role_s);
        if (!r) return c.Error(*role_n, StrCat(what, "unknown role '", *role_s, "'"));
        rule.role = *r;
        const RoleDef& rd = p.roles_[static_cast<size_t>(*r)];
        if (!rd.defined) return c.Error(*role_n, StrCat(what, "role '", *role_s, "' has no [role.", *role_s, "] table"));
        if (!rd.read_people)
          return c.Error(*role_n, StrCat(what, "role '", *role_s, "' may not read people (read_people = false at line ",
                                         static_cast<int64_t>(rd.line), ")"));
      }
      if (!relation_s) return c.Error(node, StrCat(what, "missing 'relation'"));
      auto rel = ParseRelation(*relation_s);
      if (!rel)
        return c.Error(*relation_n, StrCat(what, "unknown relation '", *relation_s,
                                           "' (relations: followed, referent, orientation, any)"));
      rule.relation = *rel;
      if (!purpose_s) return c.Error(node, StrCat(what, "missing 'purpose'"));
      auto pid = p.FindPurpose(*purpose_s);
      if (!pid) return c.Error(*purpose_n, StrCat(what, "unknown purpose '", *purpose_s, "'"));
      rule.purpose = *pid;
      const PurposeDef& pd = p.purposes_[static_cast<size_t>(*pid)];
      if (rule.technical && !pd.integration)
        return c.Error(*purpose_n, StrCat(what, "a technical rule needs an integration purpose; '", *purpose_s,
                                          "' is not (integration = true)"));
      if (!rule.technical && pd.integration)
        return c.Error(*purpose_n, StrCat(what, "integration purpose '", *purpose_s, "' is for technical accounts only"));
      if (rule.relation == Relation::kAny && !pd.break_glass)
        return c.Error(*relation_n, StrCat(what, "relation 'any' is allowed only for a break_glass purpose"));

      // Fields.
      auto add_field = [&](FieldBits& into, const toml::node& at, std::string_view name) -> Status {
        auto i = p.catalog_.IndexOf(name);
        if (!i) return c.Error(at, StrCat(what, "unknown field '", name, "' (not in the field catalog)"));
        into.set(*i);
        return OkStatus();
      };
      CLOISON_RETURN_IF_ERROR(ForEachString(c, *t, "fields", what, [&](const toml::node& at, std::string_view n) {
        return add_field(rule.fields, at, n);
      }));
      CLOISON_RETURN_IF_ERROR(
          ForEachString(c, *t, "categories", what, [&](const toml::node& at, std::string_view n) -> Status {
            auto cat = ParseFieldCategory(n);
            if (!cat)
              return c.Error(at, StrCat(what, "unknown category '", n, "' (categories: identity, contact, nir, pathway)"));
            for (size_t i = 0; i < p.catalog_.size(); ++i)
              if (p.catalog_.at(i).category == *cat) rule.fields.set(i);
            return OkStatus();
          }));
      CLOISON_RETURN_IF_ERROR(ForEachString(c, *t, "reveal", what, [&](const toml::node& at, std::string_view n) {
        return add_field(rule.reveal, at, n);
      }));
      if (rule.fields.empty() && rule.reveal.empty())
        return c.Error(node, StrCat(what, "releases no field (give 'fields' or 'categories')"));
      if (!(rule.fields & rule.reveal).empty())
        return c.Error(*t->get("reveal"), StrCat(what, "field(s) ", p.FieldNames(rule.fields & rule.reveal),
                                                 " are both released and reveal-only"));
      // NIR is never released without an explicit reveal.
      for (size_t i = 0; i < p.catalog_.size(); ++i) {
        if (rule.fields.has(i) && p.catalog_.at(i).category == FieldCategory::kNir) {
          const toml::node* at = t->get("fields") ? t->get("fields") : t->get("categories");
          return c.Error(*at, StrCat(what, "field '", p.catalog_.at(i).name,
                                     "' (category nir) may only be released through 'reveal'"));
        }
      }
      if (pd.aggregates_only) {
        if (!rule.reveal.empty())
          return c.Error(*t->get("reveal"), StrCat(what, "an aggregates_only purpose cannot reveal fields"));
        for (size_t i = 0; i < p.catalog_.size(); ++i) {
          const FieldDef& f = p.catalog_.at(i);
          if (rule.fields.has(i) && (f.category == FieldCategory::kContact || f.category == FieldCategory::kNir ||
                                     f.blind_index)) {
            const toml::node* at = t->get("fields") ? t->get("fields") : t->get("categories");
            return c.Error(*at, StrCat(what, "aggregates_only purpose '", pd.name, "' may not release field '",
                                       f.name, "' (contact, NIR or identifier)"));
          }
        }
      }
      if (rule.technical && !rule.reveal.empty())
        return c.Error(*t->get("reveal"), StrCat(what, "a technical account cannot reveal fields"));

      // Relation options.
      CLOISON_RETURN_IF_ERROR(GetBool(c, *t, "include_child_structures", what, rule.include_child_structures));
      if (rule.include_child_structures && rule.relation != Relation::kFollowed &&
          rule.relation != Relation::kOrientation)
        return c.Error(*t->get("include_child_structures"),
                       StrCat(what, "include_child_structures applies only to relations followed and orientation"));
      const bool has_statuses = t->get("orientation_statuses") != nullptr;
      CLOISON_RETURN_IF_ERROR(
          ForEachString(c, *t, "orientation_statuses", what, [&](const toml::node& at, std::string_view n) -> Status {
            auto s = ParseOrientationStatus(n);
            if (!s)
              return c.Error(at, StrCat(what, "unknown orientation status '", n,
                                        "' (proposed, accepted, refused, enrolled, finished, abandoned)"));
            rule.orientation_statuses |= static_cast<uint8_t>(1u << static_cast<unsigned>(*s));
            return OkStatus();
          }));
      int64_t days_after = 0;
      CLOISON_RETURN_IF_ERROR(GetInt(c, *t, "days_after_session_end", what, 0, 366, days_after));
      rule.days_after_session_end = static_cast<int32_t>(days_after);
      if (rule.relation == Relation::kOrientation) {
        if (!has_statuses)
          return c.Error(node, StrCat(what, "relation 'orientation' needs 'orientation_statuses'"));
        if (rule.orientation_statuses == 0)
          return c.Error(*t->get("orientation_statuses"), StrCat(what, "'orientation_statuses' is empty"));
      } else {
        if (has_statuses)
          return c.Error(*t->get("orientation_statuses"),
                         StrCat(what, "'orientation_statuses' applies only to relation 'orientation'"));
        if (t->get("days_after_session_end"))
          return c.Error(*t->get("days_after_session_end"),
                         StrCat(what, "'days_after_session_end' applies only to relation 'orientation'"));
      }
      CLOISON_RETURN_IF_ERROR(
          ForEachString(c, *t, "structure_kinds", what, [&](const toml::node& at, std::string_view n) -> Status {
            auto k = ParseStructureKind(n);
            if (!k)
              return c.Error(at, StrCat(what, "unknown structure kind '", n,
                                        "' (national_operator, regional_direction, agency, mission_locale, "
                                        "training_organisation, financer)"));
            rule.structure_kinds |= static_cast<uint8_t>(1u << static_cast<unsigned>(*k));
            return OkStatus();
          }));
      if (p.rules_.size() >= 65535) return c.Error(node, "too many rules");
      p.rules_by_purpose_[static_cast<size_t>(rule.purpose)].push_back(static_cast<uint16_t>(p.rules_.size()));
      p.rules_.push_back(std::move(rule));
    }
  }
  if (p.rules_.empty()) return c.Error("no [[rule]] defined: nobody could read anything");
  return p;
}

StatusOr<Policy> Policy::LoadFile(const std::string& path, const FieldCatalog* catalog) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(StrCat(path, ": cannot open policy file"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return Parse(ss.str(), path, catalog, dir.empty() ? std::string(".") : dir);
}

const Policy& Policy::Default() {
  static const Policy* policy = [] {
    // The compiled-in policy uses the compiled-in catalog, whatever its
    // `catalog` reference says: config/ may not be next to the binary.
    auto p = Parse(internal::kDefaultPolicy, "config/policy.toml", &FieldCatalog::Default());
    if (!p.ok()) std::abort();  // the shipped policy is tested; this cannot fail at run time
    return new Policy(*std::move(p));
  }();
  return *policy;
}

}  // namespace cloison::policy
