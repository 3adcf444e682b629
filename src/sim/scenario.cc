#include "sim/scenario.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "core/strings.h"

namespace cloison::sim {

std::string_view EnumerationName(Enumeration e) {
  switch (e) {
    case Enumeration::kListing: return "listing";
    case Enumeration::kSearch: return "search";
    case Enumeration::kIds: return "ids";
    case Enumeration::kKnown: return "known";
  }
  return "?";
}

std::string_view SearchFieldName(SearchField f) {
  switch (f) {
    case SearchField::kPostcode: return "postcode";
    case SearchField::kNamePrefix: return "name_prefix";
    case SearchField::kBirthDate: return "birth_date";
  }
  return "?";
}

namespace {

class Ctx {
 public:
  explicit Ctx(std::string_view source) : source_(source) {}
  Status Error(const toml::node& n, std::string_view what) const {
    return InvalidArgument(StrCat(source_, ":", static_cast<int64_t>(n.source().begin.line), ": ", what));
  }
  Status Error(std::string_view what) const { return InvalidArgument(StrCat(source_, ": ", what)); }

 private:
  std::string source_;
};

Status CheckKeys(const Ctx& c, const toml::table& t, std::initializer_list<std::string_view> known,
                 std::string_view where) {
  for (auto&& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) == known.end())
      return c.Error(v, StrCat(where, "unknown key '", k.str(), "'"));
  }
  return OkStatus();
}

Status GetString(const Ctx& c, const toml::table& t, std::string_view key, std::string_view where, std::string& out,
                 const toml::node** node = nullptr) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  if (!v->is_string()) return c.Error(*v, StrCat(where, "'", key, "' must be a string"));
  out = v->as_string()->get();
  if (node) *node = v;
  return OkStatus();
}

Status GetInt(const Ctx& c, const toml::table& t, std::string_view key, std::string_view where, int64_t min,
              int64_t max, int64_t& out) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  if (!v->is_integer()) return c.Error(*v, StrCat(where, "'", key, "' must be an integer"));
  const int64_t x = v->as_integer()->get();
  if (x < min || x > max)
    return c.Error(*v, StrCat(where, "'", key, "' must be between ", min, " and ", max, ", not ", x));
  out = x;
  return OkStatus();
}

Status GetNumber(const Ctx& c, const toml::table& t, std::string_view key, std::string_view where, double min,
                 double max, double& out) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  double x = 0;
  if (v->is_integer()) {
    x = static_cast<double>(v->as_integer()->get());
  } else if (v->is_floating_point()) {
    x = v->as_floating_point()->get();
  } else {
    return c.Error(*v, StrCat(where, "'", key, "' must be a number"));
  }
  if (!(x > min) || x > max || !std::isfinite(x))
    return c.Error(*v, StrCat(where, "'", key, "' must be a number > ", static_cast<int64_t>(min), " and <= ",
                              static_cast<int64_t>(max)));
  out = x;
  return OkStatus();
}

Status GetBool(const Ctx& c, const toml::table& t, std::string_view key, std::string_view where, bool& out) {
  const toml::node* v = t.get(key);
  if (!v) return OkStatus();
  if (!v->is_boolean()) return c.Error(*v, StrCat(where, "'", key, "' must be true or false"));
  out = v->as_boolean()->get();
  return OkStatus();
}

Status GetRole(const Ctx& c, const toml::table& t, std::string_view key, std::string_view where, Role& out) {
  std::string s;
  const toml::node* n = nullptr;
  CLOISON_RETURN_IF_ERROR(GetString(c, t, key, where, s, &n));
  if (!n) return OkStatus();
  auto r = ParseRole(s);
  if (!r) return c.Error(*n, StrCat(where, "unknown role '", s, "'"));
  out = *r;
  return OkStatus();
}

const toml::table* SubTable(const Ctx& c, const toml::table& root, std::string_view key, Status& st) {
  const toml::node* n = root.get(key);
  if (!n) return nullptr;
  const toml::table* t = n->as_table();
  if (!t) st = c.Error(*n, StrCat("'", key, "' must be a table"));
  return t;
}

}  // namespace

StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view source_name) {
  Ctx c(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(StrCat(source_name, ":", static_cast<int64_t>(e.source().begin.line), ": ",
                                  std::string_view(e.description())));
  }
  Scenario s;
  s.source = std::string(source_name);
  CLOISON_RETURN_IF_ERROR(
      CheckKeys(c, root, {"name", "description", "policy_append", "attacker", "when", "method", "stop"}, ""));
  const toml::node* name_node = nullptr;
  CLOISON_RETURN_IF_ERROR(GetString(c, root, "name", "", s.name, &name_node));
  if (s.name.empty()) return c.Error("missing 'name'");
  for (char ch : s.name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
      return c.Error(*name_node, "'name' must match [a-z0-9_-]+");
  CLOISON_RETURN_IF_ERROR(GetString(c, root, "description", "", s.description));
  const toml::node* pa = nullptr;
  CLOISON_RETURN_IF_ERROR(GetString(c, root, "policy_append", "", s.policy_append, &pa));
  if (pa) s.policy_append_line = static_cast<int>(pa->source().begin.line);

  Status st;
  // [attacker]
  const toml::table* at = SubTable(c, root, "attacker", st);
  CLOISON_RETURN_IF_ERROR(st);
  if (!at) return c.Error("missing [attacker]");
  {
    const std::string w = "[attacker] ";
    CLOISON_RETURN_IF_ERROR(CheckKeys(c, *at,
                                      {"account", "role", "structure_kind", "accounts", "pick", "passes_step_up",
                                       "address", "created"},
                                      w));
    std::string account = "existing";
    const toml::node* an = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *at, "account", w, account, &an));
    if (account == "created") {
      s.created = true;
    } else if (account != "existing") {
      return c.Error(*an, StrCat(w, "'account' must be \"existing\" or \"created\", not '", account, "'"));
    }
    CLOISON_RETURN_IF_ERROR(GetRole(c, *at, "role", w, s.role));
    std::string kind;
    const toml::node* kn = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *at, "structure_kind", w, kind, &kn));
    if (kn) {
      auto k = ParseStructureKind(kind);
      if (!k) return c.Error(*kn, StrCat(w, "unknown structure kind '", kind, "'"));
      s.structure_kind = *k;
    } else {
      return c.Error(*at, StrCat(w, "missing 'structure_kind'"));
    }
    int64_t n = 1;
    CLOISON_RETURN_IF_ERROR(GetInt(c, *at, "accounts", w, 1, 50, n));
    s.accounts = static_cast<int>(n);
    std::string pick = "widest";
    const toml::node* pn = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *at, "pick", w, pick, &pn));
    if (pick == "random") {
      s.pick_widest = false;
    } else if (pick != "widest") {
      return c.Error(*pn, StrCat(w, "'pick' must be \"widest\" or \"random\", not '", pick, "'"));
    }
    CLOISON_RETURN_IF_ERROR(GetBool(c, *at, "passes_step_up", w, s.passes_step_up));
    CLOISON_RETURN_IF_ERROR(GetString(c, *at, "address", w, s.address));
    const toml::table* cr = SubTable(c, *at, "created", st);
    CLOISON_RETURN_IF_ERROR(st);
    if (s.created && !cr) return c.Error(*at, "[attacker] account = \"created\" needs an [attacker.created] table");
    if (!s.created && cr) return c.Error(*cr, "[attacker.created] needs account = \"created\" in [attacker]");
    if (cr) {
      const std::string cw = "[attacker.created] ";
      CLOISON_RETURN_IF_ERROR(CheckKeys(c, *cr,
                                        {"creator_role", "approver_role", "technical", "integration_purpose",
                                         "roles", "probation", "created_minutes_before"},
                                        cw));
      CLOISON_RETURN_IF_ERROR(GetRole(c, *cr, "creator_role", cw, s.creator_role));
      CLOISON_RETURN_IF_ERROR(GetRole(c, *cr, "approver_role", cw, s.approver_role));
      CLOISON_RETURN_IF_ERROR(GetBool(c, *cr, "technical", cw, s.technical));
      CLOISON_RETURN_IF_ERROR(GetString(c, *cr, "integration_purpose", cw, s.integration_purpose));
      s.probation = !s.technical;
      CLOISON_RETURN_IF_ERROR(GetBool(c, *cr, "probation", cw, s.probation));
      int64_t m = 10;
      CLOISON_RETURN_IF_ERROR(GetInt(c, *cr, "created_minutes_before", cw, 0, 60 * 24 * 30, m));
      s.created_minutes_before = static_cast<int>(m);
      if (const toml::node* rn = cr->get("roles")) {
        const toml::array* a = rn->as_array();
        if (!a) return c.Error(*rn, StrCat(cw, "'roles' must be an array of role names"));
        for (const toml::node& e : *a) {
          if (!e.is_string()) return c.Error(*rn, StrCat(cw, "'roles' must be an array of role names"));
          auto r = ParseRole(e.as_string()->get());
          if (!r) return c.Error(*rn, StrCat(cw, "unknown role '", e.as_string()->get(), "'"));
          s.created_roles.push_back(*r);
        }
      }
      if (s.technical && s.integration_purpose.empty())
        return c.Error(*cr, StrCat(cw, "technical accounts need an 'integration_purpose'"));
      if (!s.technical && s.created_roles.empty())
        return c.Error(*cr, StrCat(cw, "human accounts need 'roles'"));
    }
  }

  // [when]
  const toml::table* wt = SubTable(c, root, "when", st);
  CLOISON_RETURN_IF_ERROR(st);
  if (!wt) return c.Error("missing [when]");
  {
    const std::string w = "[when] ";
    CLOISON_RETURN_IF_ERROR(CheckKeys(c, *wt, {"day", "time"}, w));
    int64_t day = 0;
    CLOISON_RETURN_IF_ERROR(GetInt(c, *wt, "day", w, 0, 3650, day));
    s.day = static_cast<int>(day);
    std::string time = "00:00";
    const toml::node* tn = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *wt, "time", w, time, &tn));
    int h = -1, m = -1;
    if (time.size() == 5 && time[2] == ':' && std::isdigit(static_cast<unsigned char>(time[0])) &&
        std::isdigit(static_cast<unsigned char>(time[1])) && std::isdigit(static_cast<unsigned char>(time[3])) &&
        std::isdigit(static_cast<unsigned char>(time[4]))) {
      h = (time[0] - '0') * 10 + (time[1] - '0');
      m = (time[3] - '0') * 10 + (time[4] - '0');
    }
    if (h < 0 || h > 23 || m < 0 || m > 59)
      return c.Error(tn ? *tn : static_cast<const toml::node&>(*wt), StrCat(w, "'time' must be \"HH:MM\" (local time)"));
    s.minute = h * 60 + m;
  }

  // [method]
  const toml::table* mt = SubTable(c, root, "method", st);
  CLOISON_RETURN_IF_ERROR(st);
  if (!mt) return c.Error("missing [method]");
  {
    const std::string w = "[method] ";
    CLOISON_RETURN_IF_ERROR(CheckKeys(
        c, *mt, {"enumerate", "search", "purpose", "rate_per_minute", "schedule", "per_day", "page_size", "read"},
        w));
    std::string e;
    const toml::node* en = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *mt, "enumerate", w, e, &en));
    if (!en) return c.Error(*mt, StrCat(w, "missing 'enumerate'"));
    bool found = false;
    for (auto x : {Enumeration::kListing, Enumeration::kSearch, Enumeration::kIds, Enumeration::kKnown})
      if (EnumerationName(x) == e) s.enumerate = x, found = true;
    if (!found)
      return c.Error(*en, StrCat(w, "'enumerate' must be listing, search, ids or known, not '", e, "'"));
    std::string sf;
    const toml::node* sn = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *mt, "search", w, sf, &sn));
    if (sn) {
      found = false;
      for (auto x : {SearchField::kPostcode, SearchField::kNamePrefix, SearchField::kBirthDate})
        if (SearchFieldName(x) == sf) s.search = x, found = true;
      if (!found)
        return c.Error(*sn, StrCat(w, "'search' must be postcode, name_prefix or birth_date, not '", sf, "'"));
    }
    const toml::node* pn = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *mt, "purpose", w, s.purpose, &pn));
    if (!pn) return c.Error(*mt, StrCat(w, "missing 'purpose'"));
    if (!mt->get("rate_per_minute")) return c.Error(*mt, StrCat(w, "missing 'rate_per_minute'"));
    CLOISON_RETURN_IF_ERROR(GetNumber(c, *mt, "rate_per_minute", w, 0, 6000, s.rate_per_minute));
    std::string sched;
    const toml::node* schn = nullptr;
    CLOISON_RETURN_IF_ERROR(GetString(c, *mt, "schedule", w, sched, &schn));
    if (schn) {
      if (sched == "working_hours") {
        s.schedule = Schedule::kWorkingHours;
      } else if (sched != "burst") {
        return c.Error(*schn, StrCat(w, "'schedule' must be \"burst\" or \"working_hours\", not '", sched, "'"));
      }
    }
    int64_t v = 0;
    CLOISON_RETURN_IF_ERROR(GetInt(c, *mt, "per_day", w, 0, 1'000'000, v));
    s.per_day = static_cast<int>(v);
    v = 0;
    CLOISON_RETURN_IF_ERROR(GetInt(c, *mt, "page_size", w, 0, 10'000, v));
    s.page_size = static_cast<int>(v);
    CLOISON_RETURN_IF_ERROR(GetBool(c, *mt, "read", w, s.read));
  }

  // [stop]
  const toml::table* stt = SubTable(c, root, "stop", st);
  CLOISON_RETURN_IF_ERROR(st);
  if (stt) {
    const std::string w = "[stop] ";
    CLOISON_RETURN_IF_ERROR(CheckKeys(c, *stt, {"max_people", "max_hours", "give_up_after_refusals"}, w));
    CLOISON_RETURN_IF_ERROR(GetInt(c, *stt, "max_people", w, 0, int64_t{1} << 40, s.max_people));
    CLOISON_RETURN_IF_ERROR(GetNumber(c, *stt, "max_hours", w, 0, 24 * 366, s.max_hours));
    int64_t g = s.give_up_after_refusals;
    CLOISON_RETURN_IF_ERROR(GetInt(c, *stt, "give_up_after_refusals", w, 1, 1'000'000, g));
    s.give_up_after_refusals = static_cast<int>(g);
  }
  return s;
}

StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(StrCat(path, ": cannot open scenario file"));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return NotFound(StrCat(path, ": cannot read scenario file"));
  return ParseScenario(ss.str(), path);
}

}  // namespace cloison::sim
