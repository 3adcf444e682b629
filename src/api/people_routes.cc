// People and orientations endpoints of api::Handler (declared in handler.h,
// registered in its constructor):
//
//   GET   /v1/people/caseload            my caseload (referent counsellor; a
//                                        partner's candidates), minimal fields
//   GET   /v1/people/search?q=&purpose=  search within what the policy lets
//                                        the caller read for that purpose
//   POST  /v1/people                     create (counsellors of agencies / ML)
//   PATCH /v1/people/{id}                update fields the caller may read
//   GET   /v1/orientations[?person=ID]   a person's orientations / a partner's
//   POST  /v1/orientations               orient a person to a session
//   POST  /v1/orientations/{id}/status   move along the lifecycle
//   POST  /v1/orientations/{id}/confirm-enrolment   partner: accepted -> enrolled
//
// Scope is always the policy's: a listing or search holds only people for
// whom Engine::Decide allows some purpose that releases their name, and shows
// only the minimal fields (id, nom, prenom) that decision releases; never a
// sensitive field. Every page that releases people's data goes through
// ReleasePage (scored by the guard, then audited durably before it is sent). Writes keep the relation
// index current (RelationIndex::OnPersonFollowed / OnOrientationChanged)
// under the store mutex, so the index sees changes in commit order.
//
// Audit: creations are appended after the write (the id is the store's);
// updates and status changes before it (nothing changes unaudited). There is
// no dedicated event kind for writes: they are `read` entries with decision
// "create" / "update" and details.action naming the change.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/handler_internal.h"
#include "core/date.h"
#include "core/identifiers.h"
#include "core/strings.h"
#include "iam/policy_principal.h"

namespace cloison::api {

using nlohmann::json;
using namespace internal;

namespace {

constexpr std::string_view kAlreadyExists = "already_exists";    // 409
constexpr std::string_view kFailedPrecondition = "failed_precondition";  // 409
constexpr int64_t kMaxPage = 1'000'000;
constexpr size_t kMaxQueryBytes = 200;

Response Ok() {
  Response r;
  r.status = 0;
  return r;
}

bool IsPlainName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  return true;
}

// --- Name folding: lower-case ASCII, Latin accents removed, apostrophes and
// hyphens as spaces, runs of spaces collapsed, trimmed. `strict`: any other
// character (punctuation, symbols, non-Latin letters) makes it fail.
std::optional<std::string> FoldName(std::string_view s, bool strict) {
  static const char* const kLatin1[64] = {
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // C0-CF
      "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",  // D0-DF
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // E0-EF
      "d", "n", "o", "o", "o", "o", "o", nullptr, "o", "u", "u", "u", "u", "y", "th", "y"};  // F0-FF
  std::string out;
  auto space = [&] {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  };
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t len = 1;
    if (b < 0x80) cp = b;
    else if ((b >> 5) == 0x6) len = 2, cp = b & 0x1f;
    else if ((b >> 4) == 0xe) len = 3, cp = b & 0x0f;
    else if ((b >> 3) == 0x1e) len = 4, cp = b & 0x07;
    else return std::nullopt;
    if (i + len > s.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cb = static_cast<unsigned char>(s[i + k]);
      if ((cb >> 6) != 0x2) return std::nullopt;
      cp = (cp << 6) | (cb & 0x3f);
    }
    i += len;
    if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
      out.push_back(static_cast<char>(cp));
    } else if (cp >= 'A' && cp <= 'Z') {
      out.push_back(static_cast<char>(cp - 'A' + 'a'));
    } else if (cp == ' ' || cp == '-' || cp == '\'' || cp == 0x2019 || cp == 0x2010 || cp == 0x2011) {
      space();
    } else if (cp >= 0xC0 && cp <= 0xFF && kLatin1[cp - 0xC0] != nullptr) {
      out += kLatin1[cp - 0xC0];
    } else if (cp == 0x152 || cp == 0x153) {
      out += "oe";
    } else if (cp == 0x178) {
      out += "y";
    } else if (strict) {
      return std::nullopt;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// --- The search query.
struct SearchQuery {
  enum class Kind { kName, kNir, kFtId, kFtIdLegacy, kPostcode, kBirthDate } kind = Kind::kName;
  std::string value;       // canonical value to compare / look up
  // Echoed to the caller, who typed it: "nom:dup", "nir", "ft_id", "cp:67000",
  // "dn:2004-05-01". Never written to the audit log (see Audited).
  std::string normalised;
  std::string field;       // the catalog field searched
  // The kind as the audit log and the guard name it (before ":#<digest>").
  std::string_view KindLabel() const {
    switch (kind) {
      case Kind::kName: return "nom";
      case Kind::kNir: return "nir";
      case Kind::kFtId: return "ft_id";
      case Kind::kFtIdLegacy: return "ft_id_legacy";
      case Kind::kPostcode: return "cp";
      case Kind::kBirthDate: return "dn";
    }
    return "q";
  }
  // What the audit entry and the guard get: the kind and a keyed digest of
  // the canonical value ("cp:#1f0c..."), so that distinct queries of one
  // kind can be counted, and replayed, without the value (a birth date, a
  // postcode, a name prefix, an identifier).
  std::string Audited(const access::QueryDigester& d) const { return d.Digest(KindLabel(), value); }
};

bool AllDigits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

// Parses q; on failure `error` is a sentence for a 400 (never echoing q).
std::optional<SearchQuery> ParseSearchQuery(std::string_view raw, std::string& error) {
  std::string_view q = Trim(raw);
  if (q.empty()) {
    error = "missing query parameter 'q'";
    return std::nullopt;
  }
  if (q.size() > kMaxQueryBytes) {
    error = StrCat("the query is longer than ", kMaxQueryBytes, " bytes");
    return std::nullopt;
  }
  if (q.find_first_not_of("*%_? \t") == std::string_view::npos) {
    error = "wildcard-only queries are refused: give at least 2 letters of a name, or an exact identifier";
    return std::nullopt;
  }
  if (q.find_first_of("*%_?") != std::string_view::npos) {
    error = "wildcards are not supported: a name matches by prefix (at least 2 letters), identifiers exactly";
    return std::nullopt;
  }
  // Explicit kind: "nom:", "nir:", "ft:", "ft_id:", "cp:", "dn:".
  std::string_view key;
  if (size_t colon = q.find(':'); colon != std::string_view::npos && colon <= 6) {
    key = q.substr(0, colon);
    q = Trim(q.substr(colon + 1));
    if (key != "nom" && key != "nir" && key != "ft" && key != "ft_id" && key != "cp" && key != "dn") {
      error = "unknown query prefix: use nom:, nir:, ft:, cp: or dn: (or none)";
      return std::nullopt;
    }
  }
  std::string compact;  // without spaces, for identifiers
  for (char ch : q)
    if (ch != ' ') compact.push_back(ch);
  if (key.empty()) {
    // Auto-detect from the shape.
    const bool digit_first = !compact.empty() && compact[0] >= '0' && compact[0] <= '9';
    if (compact.size() == 15 && digit_first) key = "nir";
    else if (compact.size() == 11 && AllDigits(compact)) key = "ft";
    else if (compact.size() == 8 && AllDigits(compact.substr(0, 7)) && IsValidFtIdLegacy(compact)) key = "ft";
    else if (compact.size() == 5 && AllDigits(compact)) key = "cp";
    else if (compact.size() == 10 && compact[4] == '-' && compact[7] == '-' && digit_first) key = "dn";
    else if (digit_first) {
      error = "unrecognised identifier: a NIR has 15 characters, a France Travail id 11 digits, a postcode 5 digits, "
              "a birth date is YYYY-MM-DD";
      return std::nullopt;
    } else key = "nom";
  }
  SearchQuery out;
  if (key == "nir") {
    const std::string canon = CanonicalNir(compact);
    if (Status s = ValidateNir(canon); !s.ok()) {
      error = StrCat("not a valid NIR: ", MessageOf(s));
      return std::nullopt;
    }
    out.kind = SearchQuery::Kind::kNir;
    out.value = canon;
    out.normalised = "nir";
    out.field = "nir";
  } else if (key == "ft" || key == "ft_id") {
    if (IsValidFtId(compact)) {
      out.kind = SearchQuery::Kind::kFtId;
      out.field = "ft_id";
    } else if (IsValidFtIdLegacy(compact)) {
      out.kind = SearchQuery::Kind::kFtIdLegacy;
      out.field = "ft_id_legacy";
    } else {
      error = "a France Travail id is 11 digits (or 7 digits and a capital letter for the old format)";
      return std::nullopt;
    }
    out.value = compact;
    out.normalised = out.field;
  } else if (key == "cp") {
    if (!IsValidPostcode(compact)) {
      error = "a postcode is 5 digits";
      return std::nullopt;
    }
    out.kind = SearchQuery::Kind::kPostcode;
    out.value = compact;
    out.normalised = StrCat("cp:", compact);
    out.field = "code_postal";
  } else if (key == "dn") {
    auto d = Date::Parse(compact);
    if (!d) {
      error = "a birth date is an existing date written YYYY-MM-DD";
      return std::nullopt;
    }
    out.kind = SearchQuery::Kind::kBirthDate;
    out.value = d->ToString();
    out.normalised = StrCat("dn:", out.value);
    out.field = "date_naissance";
  } else {
    auto folded = FoldName(q, /*strict=*/true);
    if (!folded) {
      error = "a name search takes letters, spaces, hyphens and apostrophes only";
      return std::nullopt;
    }
    size_t letters = 0;
    for (char ch : *folded) letters += (ch >= 'a' && ch <= 'z') ? 1 : 0;
    if (letters < 2) {
      error = "give at least 2 letters of the name";
      return std::nullopt;
    }
    out.kind = SearchQuery::Kind::kName;
    out.value = *folded;
    out.normalised = StrCat("nom:", *folded);
    out.field = "nom";
  }
  return out;
}

// The structures a relation may start from: the caller's and its descendants
// (rules with include_child_structures reach those).
std::unordered_set<int64_t> Subtree(const policy::RelationIndex& index, StructureId root) {
  std::unordered_map<int64_t, int64_t> parent;
  index.ForEachStructure([&](const policy::RelationIndex::StructureInfo& s) {
    parent[s.id.value()] = s.parent ? s.parent->value() : 0;
  });
  std::unordered_set<int64_t> out;
  for (const auto& [id, p] : parent) {
    int64_t cur = id;
    for (int depth = 0; cur != 0 && depth < 64; ++depth) {
      if (cur == root.value()) {
        out.insert(id);
        break;
      }
      auto it = parent.find(cur);
      cur = it == parent.end() ? 0 : it->second;
    }
  }
  return out;
}

// Every person some relation could tie to `who` (followed by its structure or
// a descendant, referent, oriented to its organisation or a descendant): a
// superset of what Decide allows (break-glass "any" is never searched), in
// id order. Walks the whole index once.
std::vector<PersonId> ScopeCandidates(const policy::RelationIndex& index, const policy::Principal& who) {
  const std::unordered_set<int64_t> sub = Subtree(index, who.structure);
  std::vector<int64_t> ids;
  index.ForEachPerson([&](PersonId p, StructureId referent, AccountId counsellor, std::span<const StructureId> others) {
    bool hit = (counsellor.valid() && counsellor == who.account) || sub.count(referent.value()) > 0;
    for (size_t i = 0; !hit && i < others.size(); ++i) hit = sub.count(others[i].value()) > 0;
    if (hit) ids.push_back(p.value());
  });
  index.ForEachOrientation([&](const policy::RelationIndex::OrientationInfo& o) {
    if (sub.count(o.organisation.value())) ids.push_back(o.person.value());
  });
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<PersonId> out;
  out.reserve(ids.size());
  for (int64_t v : ids) out.emplace_back(v);
  return out;
}

// A purpose a listing may be shown under: plain reads only (no statistics,
// justification, approval or break-glass; integration purposes for
// technical accounts only).
bool Listable(const policy::PurposeDef& p, const policy::Principal& who) {
  if (p.aggregates_only || p.requires_justification || p.dual_control || p.break_glass) return false;
  return p.integration == (who.kind == policy::AccountKind::kTechnical);
}

struct Minimal {
  std::optional<size_t> nom, prenom;
  explicit Minimal(const FieldCatalog& cat) : nom(cat.IndexOf("nom")), prenom(cat.IndexOf("prenom")) {}
  bool Any(const policy::FieldBits& f) const { return (nom && f.has(*nom)) || (prenom && f.has(*prenom)); }
  store::FieldMask Mask(const policy::FieldBits& f, size_t n) const {
    store::FieldMask m;
    m.include.assign(n, false);
    if (nom && f.has(*nom)) m.include[*nom] = true;
    if (prenom && f.has(*prenom)) m.include[*prenom] = true;
    return m;
  }
  void Put(const Person& p, const policy::FieldBits& f, json& out) const {
    if (nom && f.has(*nom) && *nom < p.fields.size()) out["nom"] = p.fields[*nom];
    if (prenom && f.has(*prenom) && *prenom < p.fields.size()) out["prenom"] = p.fields[*prenom];
  }
};

// The first listable purpose (policy order) whose decision allows and
// releases a name; nullopt if none.
std::optional<policy::Decision> ListingDecision(const policy::Engine& engine, const policy::Principal& who,
                                                PersonId person, Date today, const Minimal& minimal) {
  const policy::Policy& pol = engine.policy();
  for (size_t i = 0; i < pol.purposes().size(); ++i) {
    const auto pid = static_cast<policy::PurposeId>(i);
    if (!Listable(pol.purpose(pid), who)) continue;
    policy::Decision d = engine.Decide(who, person, pid, today);
    if (d.allowed && minimal.Any(d.fields)) return d;
  }
  return std::nullopt;
}

// Most generous [quota.<role>] page_size of the caller's roles (technical:
// [quota.technical]); `fallback` when the policy states none.
int64_t PageCap(const policy::Policy& pol, const policy::Principal& who, int64_t fallback) {
  int64_t cap = 0;
  if (who.kind == policy::AccountKind::kTechnical) {
    if (auto q = pol.technical_quota()) cap = q->page_size;
  } else {
    for (Role r : who.roles)
      if (auto q = pol.quota(r); q && q->page_size > cap) cap = q->page_size;
  }
  return cap > 0 ? cap : fallback;
}

// page (1-based, default 1) and page_size (default min(20, cap), at most cap).
bool PageParams(const std::map<std::string, std::string>& q, int64_t cap, int64_t& page, int64_t& size,
                Response& err) {
  std::optional<uint64_t> p, s;
  if (!ParseU64Param(q, "page", p, err) || !ParseU64Param(q, "page_size", s, err)) return false;
  page = 1;
  size = std::min<int64_t>(20, cap);
  if (p) {
    if (*p < 1 || *p > static_cast<uint64_t>(kMaxPage)) {
      err = ErrorResponse(400, code::kInvalidParameter, StrCat("'page' must be between 1 and ", kMaxPage));
      return false;
    }
    page = static_cast<int64_t>(*p);
  }
  if (s) {
    if (*s < 1) {
      err = ErrorResponse(400, code::kInvalidParameter, "'page_size' must be at least 1");
      return false;
    }
    if (*s > static_cast<uint64_t>(cap)) {
      err = ErrorResponse(400, code::kInvalidParameter,
                          StrCat("'page_size' is at most ", cap, " for your role (the policy's page-size cap)"));
      return false;
    }
    size = static_cast<int64_t>(*s);
  }
  return true;
}

// A positive integer member (ids in bodies).
bool GetId(const json& j, std::string_view key, int64_t& out, Response& err) {
  auto it = j.find(std::string(key));
  if (it == j.end() || it->is_null()) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("missing field '", key, "'"));
    return false;
  }
  if (!it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > (int64_t{1} << 53)) {
    err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", key, "' must be a positive integer id"));
    return false;
  }
  out = it->get<int64_t>();
  return true;
}

// 403 for a policy denial, hiding "unknown person" behind "no relation" (the
// API must not confirm that an id exists), like the read path.
Response Denied(const policy::Engine& engine, const policy::Decision& d, int64_t person, std::string_view purpose) {
  const bool hide = d.deny == policy::DenyReason::kUnknownPerson || d.deny == policy::DenyReason::kNoRelation;
  Response r = ErrorResponse(
      403, code::kForbidden,
      hide ? StrCat("no relation between your account and person ", person, " allows purpose '", purpose, "'")
           : engine.Reason(d));
  json j = json::parse(r.body, nullptr, false);
  j["error"]["reason"] = hide ? std::string("no_relation") : std::string(policy::DenyReasonName(d.deny));
  r.body = Dump(j);
  return r;
}

json OrientationJson(const Orientation& o, std::string_view session_code) {
  json j = {{"id", o.id.value()},
            {"person", o.person.value()},
            {"session", o.session.value()},
            {"session_code", std::string(session_code)},
            {"status", std::string(OrientationStatusName(o.status))},
            {"proposed_on", o.proposed_on.ToString()}};
  if (o.decided_on) j["decided_on"] = o.decided_on->ToString();
  if (o.enrolled_on) j["enrolled_on"] = o.enrolled_on->ToString();
  if (o.ended_on) j["ended_on"] = o.ended_on->ToString();
  return j;
}

constexpr OrientationStatus kAllStatuses[] = {OrientationStatus::kProposed, OrientationStatus::kAccepted,
                                              OrientationStatus::kRefused,  OrientationStatus::kEnrolled,
                                              OrientationStatus::kFinished, OrientationStatus::kAbandoned};

std::string NextStatuses(OrientationStatus from) {
  std::string out;
  for (OrientationStatus to : kAllStatuses)
    if (IsAllowedTransition(from, to)) out += StrCat(out.empty() ? "" : " or ", OrientationStatusName(to));
  return out.empty() ? "nothing (final status)" : out;
}

}  // namespace

namespace {

audit::Event BaseEvent(const Handler::Call& c, audit::EventKind kind) {
  audit::Event e;
  e.kind = kind;
  e.time = c.now;
  e.account = c.who->id;
  e.session = c.api_key ? "api_key" : StrCat(c.who->session_id);
  e.source = c.req.peer;
  return e;
}

}  // namespace

// ------------------------------------------------------------ release page

Response Handler::ReleasePage(Call& c, std::string_view kind, const std::vector<PersonId>& persons,
                              std::string_view query, int64_t page_index, std::string_view purpose,
                              const std::vector<std::string>& fields) {
  audit::Event e = BaseEvent(c, audit::EventKind::kRead);
  e.persons = persons;
  e.fields = fields;
  e.purpose = std::string(purpose);
  e.decision = "allow";
  e.details["kind"] = std::string(kind);
  e.details["query"] = std::string(query);
  e.numbers["page"] = page_index + 1;  // 1-based, as the caller asked for it
  // The guard scores the page (and the Gate audits a refusal) before the
  // page's own entry is appended; nothing is sent before that is durable.
  const access::ReadResult res =
      gate_.ReleasePage(CallerFor(c), kind == "search" ? guard::AccessKind::kSearch : guard::AccessKind::kList, persons,
                        query, page_index, c.now, &e);
  switch (res.outcome) {
    case access::Outcome::kOk:
      return Ok();
    case access::Outcome::kThrottled:
    case access::Outcome::kStepUp:
    case access::Outcome::kSuspended:
      return GuardRefusal(res);
    default:
      return StatusResponse(IOError("audit"));
  }
}

// ---------------------------------------------------------------- caseload

Response Handler::Caseload(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {"page", "page_size"}, err)) return err;
  const policy::Principal who = iam::ToPolicyPrincipal(*c.who);
  const bool counsellor = who.kind == policy::AccountKind::kHuman && who.HasRole(Role::kCounsellor);
  const bool partner = who.kind == policy::AccountKind::kHuman && who.HasRole(Role::kPartnerUser);
  if (!counsellor && !partner)
    return ErrorResponse(403, code::kForbidden,
                         "the caseload is for counsellors (people they are referent of) and training organisation "
                         "staff (their candidates)");
  const int64_t cap = PageCap(*deps_.policy, who, static_cast<int64_t>(limits_.default_max_page_size));
  int64_t page = 1, size = 1;
  if (!PageParams(c.query, cap, page, size, err)) return err;

  const Date today = Date::FromUnixMicros(c.now);
  const Minimal minimal(deps_.policy->catalog());
  struct Entry {
    PersonId person;
    policy::Decision decision;
    std::optional<policy::RelationIndex::OrientationInfo> orientation;
  };
  std::vector<Entry> entries;
  if (counsellor) {
    std::vector<PersonId> mine;
    deps_.index->ForEachPerson([&](PersonId p, StructureId, AccountId counsellor_id, std::span<const StructureId>) {
      if (counsellor_id.valid() && counsellor_id == who.account) mine.push_back(p);
    });
    for (PersonId p : mine)
      if (auto d = ListingDecision(engine_, who, p, today, minimal)) entries.push_back({p, *d, std::nullopt});
  }
  if (partner) {
    std::vector<policy::RelationIndex::OrientationInfo> cands;
    deps_.index->ForEachOrientation([&](const policy::RelationIndex::OrientationInfo& o) {
      if (o.organisation == who.structure) cands.push_back(o);
    });
    for (const auto& o : cands)
      if (auto d = ListingDecision(engine_, who, o.person, today, minimal)) entries.push_back({o.person, *d, o});
  }

  const int64_t total = static_cast<int64_t>(entries.size());
  const int64_t begin = std::min(total, (page - 1) * size);
  const int64_t end = std::min(total, begin + size);
  std::vector<PersonId> ids;
  for (int64_t i = begin; i < end; ++i) ids.push_back(entries[i].person);
  if (Response r = ReleasePage(c, "list", ids, "caseload", page - 1, "", {"nom", "prenom"}); r.status != 0) return r;

  json people = json::array();
  {
    std::lock_guard lock(store_mu_);
    for (int64_t i = begin; i < end; ++i) {
      const Entry& e = entries[i];
      StatusOr<Person> p = deps_.store->GetPerson(e.person, minimal.Mask(e.decision.fields, deps_.policy->catalog().size()));
      if (!p.ok()) {
        if (p.status().code() == absl::StatusCode::kNotFound) continue;  // indexed through an orientation only
        return StatusResponse(IOError("store"));
      }
      json j = {{"id", e.person.value()},
                {"purpose", deps_.policy->purpose(e.decision.purpose).name}};
      minimal.Put(*p, e.decision.fields, j);
      if (e.orientation) {
        j["orientation"] = {{"id", e.orientation->id.value()},
                            {"session", e.orientation->session.value()},
                            {"session_code", deps_.index->SessionCode(e.orientation->session)},
                            {"status", std::string(OrientationStatusName(e.orientation->status))}};
      }
      people.push_back(std::move(j));
    }
  }
  Response r = JsonResponse(200, json{{"page", page}, {"page_size", size}, {"total", total}, {"people", people}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// ------------------------------------------------------------------ search

Response Handler::SearchPeople(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {"q", "purpose", "page", "page_size"}, err)) return err;
  const policy::Policy& pol = *deps_.policy;
  auto pit = c.query.find("purpose");
  if (pit == c.query.end()) return ErrorResponse(400, code::kInvalidParameter, "missing query parameter 'purpose'");
  const std::string& purpose_name = pit->second;
  if (!IsPlainName(purpose_name)) return ErrorResponse(400, code::kUnknownPurpose, "unknown purpose");
  const std::optional<policy::PurposeId> purpose = pol.FindPurpose(purpose_name);
  if (!purpose) return ErrorResponse(400, code::kUnknownPurpose, StrCat("unknown purpose", Echo(purpose_name)));
  const policy::Principal who = iam::ToPolicyPrincipal(*c.who);
  if (!Listable(pol.purpose(*purpose), who))
    return ErrorResponse(400, code::kInvalidParameter,
                         StrCat("purpose '", purpose_name,
                                "' cannot be searched (statistics, break-glass, justified or approved reads name one "
                                "person at a time)"));
  auto qit = c.query.find("q");
  std::string qerr;
  std::optional<SearchQuery> query = ParseSearchQuery(qit == c.query.end() ? "" : qit->second, qerr);
  if (!query) return ErrorResponse(400, code::kInvalidParameter, qerr);
  const int64_t cap = PageCap(pol, who, static_cast<int64_t>(limits_.default_max_page_size));
  int64_t page = 1, size = 1;
  if (!PageParams(c.query, cap, page, size, err)) return err;
  if (who.kind == policy::AccountKind::kHuman) {
    bool reads = false;
    for (Role r : who.roles) reads = reads || pol.role(r).read_people;
    if (!reads) return ErrorResponse(403, code::kForbidden, "none of your roles reads people's files");
  }

  const FieldCatalog& cat = pol.catalog();
  const std::optional<size_t> field = cat.IndexOf(query->field);
  if (!field) return ErrorResponse(400, code::kInvalidParameter, "this search is not available with this field catalog");
  const Date today = Date::FromUnixMicros(c.now);
  const Minimal minimal(cat);
  const size_t max_results = std::max<size_t>(1, limits_.search_max_results);

  // May this decision search on the criterion field? Only if it releases it
  // (or, for the NIR, may reveal it): a search on a field one cannot read
  // would be an oracle on it.
  auto may_search_on = [&](const policy::Decision& d) {
    if (d.fields.has(*field)) return true;
    return query->kind == SearchQuery::Kind::kNir && d.rule >= 0 &&
           pol.rules()[static_cast<size_t>(d.rule)].reveal.has(*field);
  };

  struct Hit {
    PersonId person;
    policy::FieldBits fields;
  };
  std::vector<Hit> hits;
  bool truncated = false;
  const bool exact = query->kind == SearchQuery::Kind::kNir || query->kind == SearchQuery::Kind::kFtId ||
                     query->kind == SearchQuery::Kind::kFtIdLegacy;
  {
    std::lock_guard lock(store_mu_);
    if (exact) {
      // Through the store's keyed blind index: at most one person (unique).
      StatusOr<std::vector<PersonId>> found = deps_.store->FindPersons(query->field, query->value);
      if (!found.ok()) return StatusResponse(IOError("store"));
      for (PersonId p : *found) {
        policy::Decision d = engine_.Decide(who, p, *purpose, today);
        if (d.allowed && minimal.Any(d.fields) && may_search_on(d)) hits.push_back({p, d.fields});
      }
    } else {
      // Within the caller's scope only: decide first, then read (and for
      // encrypted criteria decrypt) just the criterion field of the people
      // the policy lets this caller read for this purpose.
      store::FieldMask mask;
      mask.include.assign(cat.size(), false);
      mask.include[*field] = true;
      for (PersonId p : ScopeCandidates(*deps_.index, who)) {
        policy::Decision d = engine_.Decide(who, p, *purpose, today);
        if (!d.allowed || !minimal.Any(d.fields) || !may_search_on(d)) continue;
        StatusOr<Person> person = deps_.store->GetPerson(p, mask);
        if (!person.ok()) {
          if (person.status().code() == absl::StatusCode::kNotFound) continue;
          return StatusResponse(IOError("store"));
        }
        const std::string& v = person->fields[*field];
        bool match = false;
        if (query->kind == SearchQuery::Kind::kName) {
          auto folded = FoldName(v, /*strict=*/false);
          match = folded && folded->compare(0, query->value.size(), query->value) == 0;
        } else {
          match = v == query->value;
        }
        if (!match) continue;
        if (hits.size() == max_results) {
          truncated = true;
          break;
        }
        hits.push_back({p, d.fields});
      }
    }
  }

  const int64_t total = static_cast<int64_t>(hits.size());
  const int64_t begin = std::min(total, (page - 1) * size);
  const int64_t end = std::min(total, begin + size);
  std::vector<PersonId> ids;
  for (int64_t i = begin; i < end; ++i) ids.push_back(hits[i].person);
  if (Response r = ReleasePage(c, "search", ids, query->Audited(digester_), page - 1, purpose_name, {"nom", "prenom"});
      r.status != 0)
    return r;

  json results = json::array();
  {
    std::lock_guard lock(store_mu_);
    for (int64_t i = begin; i < end; ++i) {
      StatusOr<Person> p = deps_.store->GetPerson(hits[i].person, minimal.Mask(hits[i].fields, cat.size()));
      if (!p.ok()) return StatusResponse(IOError("store"));
      json j = {{"id", hits[i].person.value()}};
      minimal.Put(*p, hits[i].fields, j);
      results.push_back(std::move(j));
    }
  }
  Response r = JsonResponse(200, json{{"query", query->normalised},
                                      {"purpose", purpose_name},
                                      {"page", page},
                                      {"page_size", size},
                                      {"total", total},
                                      {"truncated", truncated},
                                      {"max_results", max_results},
                                      {"results", results}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

// ----------------------------------------------------------- create/update

namespace {

// Validates the catalog members of `body` into (index, canonical value)
// pairs. `allow_clear`: null or "" clears a non-required field (PATCH).
bool CatalogValues(const json& body, const FieldCatalog& cat, bool allow_clear,
                   std::vector<std::pair<size_t, std::string>>& out, Response& err) {
  std::string unknown;
  int unknown_count = 0;
  for (const auto& [k, v] : body.items()) {
    if (!cat.IndexOf(k)) {
      ++unknown_count;
      const std::string e = Echo(k);
      if (!e.empty() && unknown.size() < 200) unknown += StrCat(unknown.empty() ? "" : ",", e);
    }
  }
  if (unknown_count > 0) {
    err = ErrorResponse(400, code::kUnknownField,
                        StrCat(unknown_count == 1 ? "unknown field" : "unknown fields", unknown.empty() ? "" : unknown,
                               " in the body (the field catalog names the fields a person has)"));
    return false;
  }
  for (const auto& [k, v] : body.items()) {
    const size_t idx = *cat.IndexOf(k);
    const FieldDef& def = cat.at(idx);
    if (v.is_null() && allow_clear) {
      out.emplace_back(idx, "");
      continue;
    }
    if (!v.is_string()) {
      err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", def.name, "' must be a string"));
      return false;
    }
    std::string_view value = v.get_ref<const std::string&>();
    if (value.find('\0') != std::string_view::npos) {
      err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", def.name, "' contains a NUL character"));
      return false;
    }
    value = Trim(value);
    if (value.empty() && !(allow_clear && !def.required)) {
      err = ErrorResponse(400, code::kInvalidParameter, StrCat("field '", def.name, "': is required"));
      return false;
    }
    if (Status s = ValidateFieldValue(def, value); !s.ok()) {
      err = ErrorResponse(400, code::kInvalidParameter, MessageOf(s));
      return false;
    }
    out.emplace_back(idx, value.empty() ? std::string() : CanonicalizeFieldValue(def, value));
  }
  return true;
}

}  // namespace

Response Handler::CreatePerson(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {}, err)) return err;
  const policy::Principal who = iam::ToPolicyPrincipal(*c.who);
  if (who.kind != policy::AccountKind::kHuman || !who.HasRole(Role::kCounsellor))
    return ErrorResponse(403, code::kForbidden, "only counsellors of agencies and missions locales register people");
  {
    std::lock_guard lock(store_mu_);
    StatusOr<Structure> s = deps_.store->GetStructure(who.structure);
    if (!s.ok() && s.status().code() != absl::StatusCode::kNotFound) return StatusResponse(IOError("store"));
    if (!s.ok() || (s->kind != StructureKind::kAgency && s->kind != StructureKind::kMissionLocale))
      return ErrorResponse(403, code::kForbidden, "only counsellors of agencies and missions locales register people");
  }
  json body;
  if (!ParseObject(c.req, limits_, body, err)) return err;
  const FieldCatalog& cat = deps_.policy->catalog();
  std::vector<std::pair<size_t, std::string>> values;
  if (!CatalogValues(body, cat, /*allow_clear=*/false, values, err)) return err;
  Person p;
  p.referent_structure = who.structure;
  p.referent_counsellor = who.account;
  p.fields.assign(cat.size(), "");
  std::vector<std::string> names;
  for (auto& [idx, v] : values) {
    p.fields[idx] = std::move(v);
    names.push_back(cat.at(idx).name);
  }
  for (size_t i = 0; i < cat.size(); ++i)
    if (cat.at(i).required && p.fields[i].empty())
      return ErrorResponse(400, code::kInvalidParameter, StrCat("field '", cat.at(i).name, "': is required"));

  PersonId id;
  {
    std::lock_guard lock(store_mu_);
    // The store's upsert would merge into a person holding the same unique
    // identifier: a creation must never touch someone else's record.
    for (size_t i = 0; i < cat.size(); ++i) {
      if (!cat.at(i).unique || p.fields[i].empty()) continue;
      StatusOr<std::vector<PersonId>> found = deps_.store->FindPersons(cat.at(i).name, p.fields[i]);
      if (!found.ok()) return StatusResponse(IOError("store"));
      if (!found->empty())
        return ErrorResponse(409, kAlreadyExists,
                             StrCat("a person with the same '", cat.at(i).name,
                                    "' is already registered; ask the structure that follows them to add yours"));
    }
    StatusOr<store::UpsertResult> up = deps_.store->UpsertPersons(std::span<const Person>(&p, 1));
    if (!up.ok() || up->ids.size() != 1 || up->inserted != 1) return StatusResponse(IOError("store"));
    id = up->ids[0];
    if (Status s = deps_.index->OnPersonFollowed(id, who.structure, who.account); !s.ok())
      return ErrorResponse(500, code::kInternal, "internal error");
  }
  audit::Event e = BaseEvent(c, audit::EventKind::kRead);
  e.persons = {id};
  e.fields = names;
  e.purpose = "accompaniment";
  e.decision = "create";
  e.details["action"] = "create_person";
  e.numbers["structure"] = who.structure.value();
  if (!AppendAudit(e).ok()) return StatusResponse(IOError("audit"));
  Response r = JsonResponse(201, json{{"id", id.value()},
                                      {"referent_structure", who.structure.value()},
                                      {"referent_counsellor", who.account.value()}});
  r.headers.emplace_back("Location", StrCat("/v1/people/", id.value()));
  return r;
}

Response Handler::UpdatePerson(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {}, err)) return err;
  auto id = ParseId(c.params[0]);
  if (!id) return ErrorResponse(400, code::kInvalidParameter, "person id must be a positive integer");
  json body;
  if (!ParseObject(c.req, limits_, body, err)) return err;
  const policy::Policy& pol = *deps_.policy;
  const FieldCatalog& cat = pol.catalog();
  std::vector<std::pair<size_t, std::string>> values;
  if (!CatalogValues(body, cat, /*allow_clear=*/true, values, err)) return err;
  if (values.empty()) return ErrorResponse(400, code::kInvalidParameter, "nothing to update: give at least one field");

  const policy::Principal who = iam::ToPolicyPrincipal(*c.who);
  const std::optional<policy::PurposeId> purpose = pol.FindPurpose("accompaniment");
  if (!purpose) return ErrorResponse(403, code::kForbidden, "the policy has no 'accompaniment' purpose");
  const policy::Decision d = engine_.Decide(who, PersonId(*id), *purpose, Date::FromUnixMicros(c.now));
  metrics_.RecordDecision(d.allowed);
  std::vector<std::string> names;
  for (const auto& [idx, v] : values) names.push_back(cat.at(idx).name);
  if (!d.allowed) {
    audit::Event e = BaseEvent(c, audit::EventKind::kDenial);
    e.persons = {PersonId(*id)};
    e.fields = names;
    e.purpose = "accompaniment";
    e.decision = "deny";
    e.reason = std::string(policy::DenyReasonName(d.deny));
    e.details["action"] = "update_person";
    e.details["explanation"] = engine_.Reason(d);
    if (!AppendAudit(e).ok()) return StatusResponse(IOError("audit"));
    return Denied(engine_, d, *id, "accompaniment");
  }
  // One changes only what one may read (or, for the NIR, reveal).
  const policy::Rule& rule = pol.rules()[static_cast<size_t>(d.rule)];
  for (const auto& [idx, v] : values)
    if (!d.fields.has(idx) && !rule.reveal.has(idx))
      return ErrorResponse(403, code::kForbidden,
                           StrCat("field '", cat.at(idx).name, "' is not released to you for accompaniment; you may "
                                                              "not change it"));

  audit::Event e = BaseEvent(c, audit::EventKind::kRead);
  e.persons = {PersonId(*id)};
  e.fields = names;
  e.purpose = "accompaniment";
  e.decision = "update";
  e.reason = rule.id;
  e.details["action"] = "update_person";
  {
    std::lock_guard lock(store_mu_);
    for (const auto& [idx, v] : values) {
      if (!cat.at(idx).unique || v.empty()) continue;
      StatusOr<std::vector<PersonId>> found = deps_.store->FindPersons(cat.at(idx).name, v);
      if (!found.ok()) return StatusResponse(IOError("store"));
      for (PersonId other : *found)
        if (other != PersonId(*id))
          return ErrorResponse(409, kAlreadyExists,
                               StrCat("another person is registered with the same '", cat.at(idx).name, "'"));
    }
    // Durable before anything changes.
    if (!AppendAudit(e).ok()) return StatusResponse(IOError("audit"));
    StatusOr<Person> p = deps_.store->GetPerson(PersonId(*id));
    if (!p.ok()) return StatusResponse(IOError("store"));
    for (const auto& [idx, v] : values) p->fields[idx] = v;
    StatusOr<store::UpsertResult> up = deps_.store->UpsertPersons(std::span<const Person>(&*p, 1));
    std::fill(p->fields.begin(), p->fields.end(), std::string());
    if (!up.ok()) return StatusResponse(IOError("store"));
  }
  return JsonResponse(200, json{{"id", *id}, {"updated", names}});
}

// ------------------------------------------------------------ orientations

Response Handler::ListOrientations(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {"person", "page", "page_size"}, err)) return err;
  const policy::Principal who = iam::ToPolicyPrincipal(*c.who);
  const int64_t cap = PageCap(*deps_.policy, who, static_cast<int64_t>(limits_.default_max_page_size));
  int64_t page = 1, size = 1;
  if (!PageParams(c.query, cap, page, size, err)) return err;
  const Date today = Date::FromUnixMicros(c.now);
  const Minimal minimal(deps_.policy->catalog());
  const bool partner = who.kind == policy::AccountKind::kHuman && who.HasRole(Role::kPartnerUser);

  std::vector<OrientationId> ids;
  std::optional<int64_t> person;
  if (auto it = c.query.find("person"); it != c.query.end()) {
    person = ParseId(it->second);
    if (!person) return ErrorResponse(400, code::kInvalidParameter, "'person' must be a positive integer id");
    // A counsellor who may list the person sees all its orientations; a
    // partner only those to its own organisation's sessions.
    const std::optional<policy::Decision> d = ListingDecision(engine_, who, PersonId(*person), today, minimal);
    const bool full = d && who.HasRole(Role::kCounsellor);
    bool any = false;
    deps_.index->ForEachOrientation([&](const policy::RelationIndex::OrientationInfo& o) {
      if (o.person != PersonId(*person)) return;
      if (full || (d && o.organisation == who.structure)) ids.push_back(o.id);
      any = true;
    });
    if (!d)
      return ErrorResponse(403, code::kForbidden,
                           StrCat("no relation between your account and person ", *person, " lets you list it"));
    (void)any;
  } else {
    if (!partner)
      return ErrorResponse(400, code::kInvalidParameter,
                           "give 'person' (training organisation staff may omit it to list their candidates)");
    deps_.index->ForEachOrientation([&](const policy::RelationIndex::OrientationInfo& o) {
      if (o.organisation == who.structure) ids.push_back(o.id);
    });
  }
  std::sort(ids.begin(), ids.end());
  const int64_t total = static_cast<int64_t>(ids.size());
  const int64_t begin = std::min(total, (page - 1) * size);
  const int64_t end = std::min(total, begin + size);

  std::vector<Orientation> rows;
  {
    std::lock_guard lock(store_mu_);
    for (int64_t i = begin; i < end; ++i) {
      StatusOr<Orientation> o = deps_.store->GetOrientation(ids[i]);
      if (!o.ok()) return StatusResponse(IOError("store"));
      rows.push_back(*o);
    }
  }
  std::vector<PersonId> persons;
  for (const Orientation& o : rows)
    if (std::find(persons.begin(), persons.end(), o.person) == persons.end()) persons.push_back(o.person);
  if (Response r = ReleasePage(c, "list", persons, person ? "orientations:person" : "orientations", page - 1, "", {});
      r.status != 0)
    return r;
  json arr = json::array();
  for (const Orientation& o : rows) arr.push_back(OrientationJson(o, deps_.index->SessionCode(o.session)));
  Response r = JsonResponse(200, json{{"page", page}, {"page_size", size}, {"total", total}, {"orientations", arr}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Handler::CreateOrientation(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {}, err)) return err;
  json body;
  if (!ParseBody(c.req, limits_, {"person", "session"}, body, err)) return err;
  int64_t person = 0, session = 0;
  if (!GetId(body, "person", person, err) || !GetId(body, "session", session, err)) return err;
  const policy::Principal who = iam::ToPolicyPrincipal(*c.who);
  if (who.kind != policy::AccountKind::kHuman || !who.HasRole(Role::kCounsellor))
    return ErrorResponse(403, code::kForbidden, "only counsellors orient people to training sessions");
  const std::optional<policy::PurposeId> purpose = deps_.policy->FindPurpose("training_orientation");
  if (!purpose) return ErrorResponse(403, code::kForbidden, "the policy has no 'training_orientation' purpose");
  const Date today = Date::FromUnixMicros(c.now);
  const policy::Decision d = engine_.Decide(who, PersonId(person), *purpose, today);
  metrics_.RecordDecision(d.allowed);
  if (!d.allowed) {
    audit::Event e = BaseEvent(c, audit::EventKind::kDenial);
    e.persons = {PersonId(person)};
    e.purpose = "training_orientation";
    e.decision = "deny";
    e.reason = std::string(policy::DenyReasonName(d.deny));
    e.details["action"] = "create_orientation";
    e.details["explanation"] = engine_.Reason(d);
    if (!AppendAudit(e).ok()) return StatusResponse(IOError("audit"));
    return Denied(engine_, d, person, "training_orientation");
  }

  Orientation o;
  o.person = PersonId(person);
  o.session = TrainingSessionId(session);
  o.counsellor = who.account;
  o.status = OrientationStatus::kProposed;
  o.proposed_on = today;
  std::string session_code;
  {
    std::lock_guard lock(store_mu_);
    StatusOr<TrainingSession> s = deps_.store->GetTrainingSession(o.session);
    if (!s.ok()) {
      if (s.status().code() == absl::StatusCode::kNotFound)
        return ErrorResponse(404, code::kNotFound, StrCat("no training session ", session));
      return StatusResponse(IOError("store"));
    }
    if (s->end < today)
      return ErrorResponse(409, kFailedPrecondition, StrCat("training session ", session, " ended on ", s->end.ToString()));
    StatusOr<Formation> f = deps_.store->GetFormation(s->formation);
    if (!f.ok()) return StatusResponse(IOError("store"));
    StatusOr<std::vector<Orientation>> existing = deps_.store->OrientationsOfPerson(o.person);
    if (!existing.ok()) return StatusResponse(IOError("store"));
    for (const Orientation& x : *existing)
      if (x.session == o.session && x.status != OrientationStatus::kRefused &&
          x.status != OrientationStatus::kAbandoned && x.status != OrientationStatus::kFinished)
        return ErrorResponse(409, kAlreadyExists,
                             StrCat("person ", person, " already has orientation ", x.id.value(), " to this session"));
    // Sessions created after the server started are not indexed yet.
    if (!deps_.index->AddFormation(*f).ok() || !deps_.index->AddSession(*s).ok())
      return ErrorResponse(409, kFailedPrecondition,
                           "the session's training organisation is not known to the server yet; try after a restart");
    StatusOr<OrientationId> oid = deps_.store->AddOrientation(o);
    if (!oid.ok()) return StatusResponse(IOError("store"));
    o.id = *oid;
    if (!deps_.index->OnOrientationChanged(o).ok()) return ErrorResponse(500, code::kInternal, "internal error");
    session_code = s->code;
  }
  audit::Event e = BaseEvent(c, audit::EventKind::kRead);
  e.persons = {o.person};
  e.purpose = "training_orientation";
  e.decision = "create";
  e.reason = deps_.policy->rules()[static_cast<size_t>(d.rule)].id;
  e.details["action"] = "create_orientation";
  e.numbers["orientation"] = o.id.value();
  e.numbers["session"] = session;
  if (!AppendAudit(e).ok()) return StatusResponse(IOError("audit"));
  // No Location: orientations are listed (GET /v1/orientations), there is no
  // route for one of them.
  return JsonResponse(201, OrientationJson(o, session_code));
}

Response Handler::ChangeOrientationStatus(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {}, err)) return err;
  json body;
  if (!ParseBody(c.req, limits_, {"status"}, body, err)) return err;
  std::string status;
  if (!GetString(body, "status", true, 32, status, err)) return err;
  std::optional<OrientationStatus> to = ParseOrientationStatus(status);
  if (!to)
    return ErrorResponse(400, code::kInvalidParameter,
                         "'status' must be one of proposed, accepted, refused, enrolled, finished, abandoned");
  return MoveOrientation(c, *to, /*confirm=*/false);
}

Response Handler::ConfirmEnrolment(Call& c) {
  Response err;
  if (!OnlyParams(c.query, {}, err)) return err;
  if (!c.req.body.empty()) {
    json body;
    if (!ParseBody(c.req, limits_, {}, body, err)) return err;
  }
  return MoveOrientation(c, OrientationStatus::kEnrolled, /*confirm=*/true);
}

Response Handler::MoveOrientation(Call& c, OrientationStatus to, bool confirm) {
  auto id = ParseId(c.params[0]);
  if (!id) return ErrorResponse(400, code::kInvalidParameter, "orientation id must be a positive integer");
  const policy::Principal who = iam::ToPolicyPrincipal(*c.who);
  const bool human = who.kind == policy::AccountKind::kHuman;
  const Date today = Date::FromUnixMicros(c.now);
  // Unknown and not yours answer alike.
  const Response hidden =
      ErrorResponse(404, code::kNotFound, StrCat("no orientation ", *id, " that you may change"));

  std::lock_guard lock(store_mu_);
  StatusOr<Orientation> o = deps_.store->GetOrientation(OrientationId(*id));
  if (!o.ok()) return o.status().code() == absl::StatusCode::kNotFound ? hidden : StatusResponse(IOError("store"));
  StatusOr<TrainingSession> s = deps_.store->GetTrainingSession(o->session);
  if (!s.ok()) return StatusResponse(IOError("store"));
  StatusOr<Formation> f = deps_.store->GetFormation(s->formation);
  if (!f.ok()) return StatusResponse(IOError("store"));

  // Authority: the training organisation's staff over its own candidates;
  // counsellors over people they may read for orientation or accompaniment.
  const bool partner = human && who.HasRole(Role::kPartnerUser) && f->organisation == who.structure;
  bool counsellor = false;
  if (human && who.HasRole(Role::kCounsellor) && !confirm) {
    for (const char* name : {"training_orientation", "accompaniment"}) {
      auto pid = deps_.policy->FindPurpose(name);
      if (pid && engine_.Decide(who, o->person, *pid, today).allowed) counsellor = true;
    }
  }
  if (!partner && !counsellor) {
    if (confirm && human && who.HasRole(Role::kCounsellor))
      return ErrorResponse(403, code::kForbidden,
                           "enrolment is confirmed by the training organisation that runs the session");
    return hidden;
  }
  if (to == OrientationStatus::kEnrolled && !partner)
    return ErrorResponse(403, code::kForbidden,
                         "enrolment is confirmed by the training organisation (POST /v1/orientations/{id}/confirm-enrolment)");
  const OrientationStatus from = o->status;
  if (!IsAllowedTransition(from, to))
    return ErrorResponse(409, kFailedPrecondition,
                         StrCat("orientation ", *id, " is '", OrientationStatusName(from), "'; it can move to ",
                                NextStatuses(from), ", not '", OrientationStatusName(to), "'"));

  audit::Event e = BaseEvent(c, audit::EventKind::kRead);
  e.persons = {o->person};
  e.purpose = partner ? "training_enrolment" : "training_orientation";
  e.decision = "update";
  e.details["action"] = confirm ? "confirm_enrolment" : "orientation_status";
  e.numbers["orientation"] = *id;
  e.details["from"] = std::string(OrientationStatusName(from));
  e.details["to"] = std::string(OrientationStatusName(to));
  if (!AppendAudit(e).ok()) return StatusResponse(IOError("audit"));  // durable before the change

  o->status = to;
  switch (to) {
    case OrientationStatus::kAccepted:
    case OrientationStatus::kRefused:
      o->decided_on = today;
      break;
    case OrientationStatus::kEnrolled:
      o->enrolled_on = today;
      break;
    case OrientationStatus::kFinished:
    case OrientationStatus::kAbandoned:
      o->ended_on = today;
      break;
    case OrientationStatus::kProposed:
      break;
  }
  if (!deps_.store->PutOrientations(std::span<const Orientation>(&*o, 1)).ok()) return StatusResponse(IOError("store"));
  if (!deps_.index->AddFormation(*f).ok() || !deps_.index->AddSession(*s).ok() ||
      !deps_.index->OnOrientationChanged(*o).ok())
    return ErrorResponse(500, code::kInternal, "internal error");
  return JsonResponse(200, OrientationJson(*o, s->code));
}

}  // namespace cloison::api
