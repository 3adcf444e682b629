#include "exposure/exposure.h"

#include "iam/service.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "core/strings.h"
#include "iam/policy_principal.h"
#include "policy/field_bits.h"

namespace cloison::exposure {

std::string_view PathKindName(PathKind k) {
  switch (k) {
    case PathKind::kCreateCounsellor: return "create_counsellor";
    case PathKind::kCreateTechnical: return "create_technical_account";
    case PathKind::kGrantRole: return "grant_role";
    case PathKind::kBulkExport: return "bulk_export";
    case PathKind::kApprove: return "approve";
  }
  return "?";
}

namespace {

constexpr uint32_t kNone = UINT32_MAX;
using policy::Relation;

std::string JoinNames(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A set of people named by one relation of one rule, evaluated from one
// structure: the unit that is aggregated and unioned.
enum class KeyKind : uint8_t { kFollowed, kFollowedTree, kOrientation, kOrientationTree, kAll };
struct Key {
  KeyKind kind = KeyKind::kFollowed;
  uint8_t statuses = 0;  // orientation: OrientationStatus bits
  uint32_t s = 0;        // dense structure
  int32_t grace = 0;     // orientation: days after the session's end
  friend auto operator<=>(const Key&, const Key&) = default;
};

// One applicable rule for a principal: its key (or the referent caseload).
struct Term {
  uint16_t rule = 0;
  bool referent = false;
  bool second = false;  // break-glass / dual-control purpose
  Key key;
};

class Analyzer {
 public:
  Analyzer(const policy::Policy& policy, const Options& options) : policy_(policy), options_(options) {}

  Status Load(const policy::RelationIndex& index);
  AccountExposure Analyse(const AccountInput& in);
  void SetAccounts(const std::vector<AccountInput>& accounts);
  int64_t people() const { return people_; }

 private:
  // --- Network aggregation.
  uint32_t Dense(StructureId id) const {
    auto it = dense_.find(id.value());
    return it == dense_.end() ? kNone : it->second;
  }
  template <typename F>
  void ForSubtree(uint32_t s, F&& f) const {
    for (uint32_t k = pre_begin_[s]; k < pre_end_[s]; ++k) f(by_pre_[k]);
  }

  // --- Set algebra.
  void Begin() {
    if (++gen_ == 0) {
      std::fill(stamp_.begin(), stamp_.end(), 0);
      gen_ = 1;
    }
  }
  bool Mark(uint32_t p) {
    if (stamp_[p] == gen_) return false;
    stamp_[p] = gen_;
    return true;
  }
  int64_t MarkKey(const Key& k);
  // |∪ keys ∪ extra|, exact. Memoised on the key set when extra is empty.
  int64_t Union(std::vector<Key> keys, const std::vector<uint32_t>* extra = nullptr);
  const std::vector<uint32_t>* Caseload(AccountId a) const {
    auto it = caseload_.find(a.value());
    return it == caseload_.end() ? nullptr : &it->second;
  }

  // --- Policy.
  std::vector<Term> TermsFor(const policy::Principal& p) const;
  // Keys of the non-second terms (and whether a referent term applies).
  void KeysOf(const std::vector<Term>& terms, bool second, std::vector<Key>& keys, bool& referent) const;
  std::vector<std::string> Categories(policy::FieldBits fields, policy::FieldBits reveal) const;

  // --- iam.
  std::string ApproverFor(uint32_t s, const iam::Account& requester) const;
  std::string Code(uint32_t s) const { return s == kNone ? std::string("?") : code_[s]; }

  const policy::Policy& policy_;
  const Options& options_;
  // Structures, dense.
  std::unordered_map<int64_t, uint32_t> dense_;
  std::vector<int64_t> sid_;
  std::vector<uint32_t> parent_;
  std::vector<StructureKind> kind_;
  std::vector<std::string> code_;
  std::vector<uint32_t> pre_begin_, pre_end_, by_pre_;
  // People followed per structure (CSR; each person once per structure) and
  // per subtree (distinct, counted bottom-up).
  std::vector<uint32_t> mem_off_, mem_;
  std::vector<int64_t> tree_people_;
  // Orientations per training organisation (CSR).
  struct Ori {
    uint32_t person;
    uint8_t status;
    int32_t from;
    int32_t end;
  };
  std::vector<uint32_t> ori_off_;
  std::vector<Ori> ori_;
  std::unordered_map<int64_t, std::vector<uint32_t>> caseload_;
  std::vector<uint32_t> all_;
  int64_t people_ = 0;
  // Marking.
  std::vector<uint32_t> stamp_;
  uint32_t gen_ = 0;
  std::unordered_map<std::string, int64_t> memo_;
  // Security officers per structure (approver naming).
  std::unordered_map<uint32_t, std::vector<const iam::Account*>> officers_;
};

Status Analyzer::Load(const policy::RelationIndex& index) {
  // Structures and their tree, with a pre-order numbering so that a subtree
  // is one contiguous range.
  std::vector<std::optional<StructureId>> parent_ids;
  index.ForEachStructure([&](const policy::RelationIndex::StructureInfo& s) {
    dense_[s.id.value()] = static_cast<uint32_t>(sid_.size());
    sid_.push_back(s.id.value());
    kind_.push_back(s.kind);
    code_.emplace_back(s.code);
    parent_ids.push_back(s.parent);
  });
  const uint32_t n = static_cast<uint32_t>(sid_.size());
  parent_.assign(n, kNone);
  std::vector<std::vector<uint32_t>> children(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (parent_ids[i]) parent_[i] = Dense(*parent_ids[i]);
    if (parent_[i] != kNone) children[parent_[i]].push_back(i);
  }
  pre_begin_.assign(n, 0);
  pre_end_.assign(n, 0);
  by_pre_.reserve(n);
  std::vector<std::pair<uint32_t, size_t>> stack;
  for (uint32_t root = 0; root < n; ++root) {
    if (parent_[root] != kNone) continue;
    stack.push_back({root, 0});
    pre_begin_[root] = static_cast<uint32_t>(by_pre_.size());
    by_pre_.push_back(root);
    while (!stack.empty()) {
      auto& [s, next] = stack.back();
      if (next < children[s].size()) {
        const uint32_t c = children[s][next++];
        pre_begin_[c] = static_cast<uint32_t>(by_pre_.size());
        by_pre_.push_back(c);
        stack.push_back({c, 0});
      } else {
        pre_end_[s] = static_cast<uint32_t>(by_pre_.size());
        stack.pop_back();
      }
    }
  }

  // People: who follows them, their referent counsellor; subtree counts
  // bottom-up (each person once per structure on the paths to the root).
  const int64_t max_id = index.max_person_id();
  if (max_id >= policy::RelationIndex::kMaxDenseId + 1) return InvalidArgument("person ids out of range");
  stamp_.assign(static_cast<size_t>(max_id) + 1, 0);
  tree_people_.assign(n, 0);
  std::vector<std::pair<uint32_t, uint32_t>> pairs;  // (structure, person)
  std::vector<uint32_t> follow, up;
  index.ForEachPerson([&](PersonId p, StructureId referent, AccountId counsellor,
                          std::span<const StructureId> others) {
    const uint32_t pv = static_cast<uint32_t>(p.value());
    ++people_;
    all_.push_back(pv);
    follow.clear();
    if (referent.valid()) follow.push_back(Dense(referent));
    for (StructureId o : others) follow.push_back(Dense(o));
    std::sort(follow.begin(), follow.end());
    follow.erase(std::unique(follow.begin(), follow.end()), follow.end());
    if (!follow.empty() && follow.back() == kNone) follow.pop_back();
    up.clear();
    for (uint32_t s : follow) {
      pairs.push_back({s, pv});
      for (uint32_t a = s; a != kNone; a = parent_[a]) up.push_back(a);
    }
    std::sort(up.begin(), up.end());
    up.erase(std::unique(up.begin(), up.end()), up.end());
    for (uint32_t a : up) ++tree_people_[a];
    if (counsellor.valid()) caseload_[counsellor.value()].push_back(pv);
  });
  mem_off_.assign(n + 1, 0);
  for (const auto& [s, p] : pairs) ++mem_off_[s + 1];
  for (uint32_t i = 0; i < n; ++i) mem_off_[i + 1] += mem_off_[i];
  mem_.resize(pairs.size());
  {
    std::vector<uint32_t> fill(mem_off_.begin(), mem_off_.end() - 1);
    for (const auto& [s, p] : pairs) mem_[fill[s]++] = p;
  }
  pairs.clear();
  pairs.shrink_to_fit();

  // Orientations per organisation.
  std::vector<std::pair<uint32_t, Ori>> oris;
  index.ForEachOrientation([&](const policy::RelationIndex::OrientationInfo& o) {
    const uint32_t org = Dense(o.organisation);
    if (org == kNone) return;
    oris.push_back({org, Ori{static_cast<uint32_t>(o.person.value()), static_cast<uint8_t>(o.status), o.proposed_days,
                             o.session_end_days}});
  });
  ori_off_.assign(n + 1, 0);
  for (const auto& [s, o] : oris) ++ori_off_[s + 1];
  for (uint32_t i = 0; i < n; ++i) ori_off_[i + 1] += ori_off_[i];
  ori_.resize(oris.size());
  {
    std::vector<uint32_t> fill(ori_off_.begin(), ori_off_.end() - 1);
    for (const auto& [s, o] : oris) ori_[fill[s]++] = o;
  }
  return OkStatus();
}

void Analyzer::SetAccounts(const std::vector<AccountInput>& accounts) {
  for (const AccountInput& in : accounts) {
    const iam::Account& a = in.account;
    if (a.kind == iam::AccountKind::kHuman && a.HasRole(Role::kSecurityOfficer)) {
      const uint32_t s = Dense(a.structure);
      if (s != kNone) officers_[s].push_back(&a);
    }
  }
}

int64_t Analyzer::MarkKey(const Key& k) {
  int64_t n = 0;
  const int32_t today = static_cast<int32_t>(options_.today.ToDays());
  auto orientations = [&](uint32_t org) {
    for (uint32_t i = ori_off_[org]; i < ori_off_[org + 1]; ++i) {
      const Ori& o = ori_[i];
      if (!((k.statuses >> o.status) & 1u)) continue;
      if (today < o.from || today > o.end + k.grace) continue;
      n += Mark(o.person);
    }
  };
  auto followed = [&](uint32_t s) {
    for (uint32_t i = mem_off_[s]; i < mem_off_[s + 1]; ++i) n += Mark(mem_[i]);
  };
  switch (k.kind) {
    case KeyKind::kFollowed: followed(k.s); break;
    case KeyKind::kFollowedTree: ForSubtree(k.s, followed); break;
    case KeyKind::kOrientation: orientations(k.s); break;
    case KeyKind::kOrientationTree: ForSubtree(k.s, orientations); break;
    case KeyKind::kAll:
      for (uint32_t p : all_) n += Mark(p);
      break;
  }
  return n;
}

int64_t Analyzer::Union(std::vector<Key> keys, const std::vector<uint32_t>* extra) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (extra && extra->empty()) extra = nullptr;
  if (keys.empty()) return extra ? static_cast<int64_t>(extra->size()) : 0;
  // A key reaching everybody makes the rest irrelevant.
  for (const Key& k : keys)
    if (k.kind == KeyKind::kAll) return people_;
  std::string sig;
  if (!extra) {
    // Aggregates that need no marking.
    if (keys.size() == 1 && keys[0].kind == KeyKind::kFollowed)
      return mem_off_[keys[0].s + 1] - mem_off_[keys[0].s];
    if (keys.size() == 1 && keys[0].kind == KeyKind::kFollowedTree) return tree_people_[keys[0].s];
    sig.reserve(keys.size() * 10);
    for (const Key& k : keys) {
      sig.push_back(static_cast<char>(k.kind));
      sig.push_back(static_cast<char>(k.statuses));
      sig.append(reinterpret_cast<const char*>(&k.s), sizeof k.s);
      sig.append(reinterpret_cast<const char*>(&k.grace), sizeof k.grace);
    }
    auto it = memo_.find(sig);
    if (it != memo_.end()) return it->second;
  }
  Begin();
  int64_t n = 0;
  for (const Key& k : keys) n += MarkKey(k);
  if (extra)
    for (uint32_t p : *extra) n += Mark(p);
  if (!extra) memo_.emplace(std::move(sig), n);
  return n;
}

// Mirrors policy::Engine::Decide's candidate test, for every purpose at once:
// a rule applies if it names the principal's role (or, technical, a purpose
// it holds), its structure kinds fit, and probation allows it (purpose
// allowed_on_probation, relation `referent`). Aggregate-only purposes never
// release people one by one and are left out.
std::vector<Term> Analyzer::TermsFor(const policy::Principal& p) const {
  std::vector<Term> out;
  const uint32_t sd = Dense(p.structure);
  const bool technical = p.kind == policy::AccountKind::kTechnical;
  const auto& rules = policy_.rules();
  for (size_t ri = 0; ri < rules.size(); ++ri) {
    const policy::Rule& r = rules[ri];
    const policy::PurposeDef& pd = policy_.purpose(r.purpose);
    if (pd.aggregates_only) continue;
    if (p.probation && !pd.allowed_on_probation) continue;
    if (r.technical) {
      if (!technical || !p.HoldsIntegrationPurpose(pd.name)) continue;
    } else if (technical || !p.HasRole(r.role)) {
      continue;
    }
    if (r.structure_kinds != 0 &&
        (sd == kNone || !(r.structure_kinds & (1u << static_cast<unsigned>(kind_[sd])))))
      continue;
    if (p.probation && r.relation != Relation::kReferent) continue;
    Term t;
    t.rule = static_cast<uint16_t>(ri);
    t.second = pd.break_glass || pd.dual_control;
    switch (r.relation) {
      case Relation::kReferent: t.referent = true; break;
      case Relation::kAny: t.key.kind = KeyKind::kAll; break;
      case Relation::kFollowed:
        if (sd == kNone) continue;
        t.key = Key{r.include_child_structures ? KeyKind::kFollowedTree : KeyKind::kFollowed, 0, sd, 0};
        break;
      case Relation::kOrientation:
        if (sd == kNone) continue;
        t.key = Key{r.include_child_structures ? KeyKind::kOrientationTree : KeyKind::kOrientation,
                    r.orientation_statuses, sd, r.days_after_session_end};
        break;
    }
    out.push_back(t);
  }
  return out;
}

void Analyzer::KeysOf(const std::vector<Term>& terms, bool second, std::vector<Key>& keys, bool& referent) const {
  for (const Term& t : terms) {
    if (t.second != second) continue;
    if (t.referent)
      referent = true;
    else
      keys.push_back(t.key);
  }
}

std::vector<std::string> Analyzer::Categories(policy::FieldBits fields, policy::FieldBits reveal) const {
  const auto& defs = policy_.catalog().fields();
  std::set<FieldCategory> released, revealed;
  for (size_t i = 0; i < defs.size() && i < policy::kMaxFields; ++i) {
    if (fields.has(i)) released.insert(defs[i].category);
    if (reveal.has(i)) revealed.insert(defs[i].category);
  }
  std::vector<std::string> out;
  for (FieldCategory c : released) out.emplace_back(FieldCategoryName(c));
  for (FieldCategory c : revealed)
    if (!released.count(c)) out.push_back(StrCat(FieldCategoryName(c), " (reveal-only)"));
  return out;
}

// The nearest security officer that iam's Approve would accept for a request
// by `requester` about structure `s` (service.cc CheckApprover, minus what
// only a live session shows: TOTP): strictly above `s` (the root: in it),
// active, human, out of probation, not the requester, not created, approved
// or last modified by it.
std::string Analyzer::ApproverFor(uint32_t s, const iam::Account& requester) const {
  if (s == kNone) return "security officer above the structure (unknown structure)";
  auto eligible = [&](const iam::Account* a) {
    return a->id != requester.id && a->status == iam::AccountStatus::kActive && !a->InProbation(options_.now) &&
           a->created_by != requester.id && a->approved_by != requester.id && a->last_modified_by != requester.id;
  };
  const uint32_t first = parent_[s] == kNone ? s : parent_[s];
  for (uint32_t a = first; a != kNone; a = parent_[a]) {
    auto it = officers_.find(a);
    if (it == officers_.end()) continue;
    for (const iam::Account* o : it->second)
      if (eligible(o)) return StrCat("security officer at ", code_[a], " (", o->username, ")");
  }
  return StrCat("security officer at ", code_[first], parent_[s] == kNone ? "" : " or above",
                " (none eligible today)");
}

AccountExposure Analyzer::Analyse(const AccountInput& in) {
  const iam::Account& a = in.account;
  AccountExposure e;
  e.account = a.id;
  e.username = a.username;
  e.kind = a.kind;
  e.status = a.status;
  e.directory_only = in.directory_only;
  e.structure = a.structure;
  const uint32_t sd = Dense(a.structure);
  e.structure_code = sd == kNone ? StrCat("#", a.structure.value()) : code_[sd];
  e.roles = a.roles;
  const UnixMicros now = options_.now;
  e.probation = !in.directory_only && a.InProbation(now);
  e.can_authenticate = a.status == iam::AccountStatus::kActive &&
                       (a.kind == iam::AccountKind::kHuman || now < a.technical.expires_at);
  policy::Principal me = iam::ToPolicyPrincipal(a, now);
  me.probation = e.probation;
  const std::vector<uint32_t>* caseload = Caseload(a.id);

  // --- Direct reach.
  const std::vector<Term> terms = TermsFor(me);
  std::vector<Key> direct_keys, second_keys;
  bool direct_referent = false, second_referent = false;
  if (e.can_authenticate) {
    KeysOf(terms, false, direct_keys, direct_referent);
    KeysOf(terms, true, second_keys, second_referent);
    e.direct_people = Union(direct_keys, direct_referent ? caseload : nullptr);
    e.second_approver_people = Union(second_keys, second_referent ? caseload : nullptr);
    policy::FieldBits fields, reveal;
    for (const Term& t : terms) {
      const policy::Rule& r = policy_.rules()[t.rule];
      RuleReach rr;
      rr.rule = r.id;
      rr.purpose = policy_.purpose(r.purpose).name;
      rr.relation = r.relation;
      rr.second_approver = t.second;
      rr.people = t.referent ? (caseload ? static_cast<int64_t>(caseload->size()) : 0) : Union({t.key});
      if (!t.second && rr.people > 0) {
        fields = fields | r.fields;
        reveal = reveal | r.reveal;
      }
      e.rules.push_back(std::move(rr));
    }
    e.categories = Categories(fields, reveal);
  }

  // --- Privilege paths (human accounts that can act).
  std::vector<Key> alone_keys, later_keys, approver_keys;
  bool approver_referent = false;
  if (e.can_authenticate && a.kind == iam::AccountKind::kHuman && sd != kNone) {
    const bool am = a.HasRole(Role::kAccessManager);
    const bool so = a.HasRole(Role::kSecurityOfficer);
    std::vector<uint32_t> managed;  // iam's Manages()
    if (so)
      ForSubtree(sd, [&](uint32_t s) { managed.push_back(s); });
    else if (am)
      managed.push_back(sd);
    const std::string own_approver = ApproverFor(sd, a);
    const std::string where = so && pre_end_[sd] - pre_begin_[sd] > 1
                                  ? StrCat(code_[sd], " and the ", pre_end_[sd] - pre_begin_[sd] - 1,
                                           " structures below")
                                  : code_[sd];

    // Alone: plain counsellors, in probation (referent only, empty caseload).
    if (!managed.empty()) {
      std::vector<Key> now_keys, after_keys;
      for (uint32_t s : managed) {
        policy::Principal c;
        c.kind = policy::AccountKind::kHuman;
        c.roles = {Role::kCounsellor};
        c.structure = StructureId(sid_[s]);
        c.probation = true;
        bool ref = false;  // a new account has no caseload: referent terms reach nobody
        KeysOf(TermsFor(c), false, now_keys, ref);
        c.probation = false;
        KeysOf(TermsFor(c), false, after_keys, ref);
      }
      PrivilegePath p;
      p.kind = PathKind::kCreateCounsellor;
      p.what = StrCat("create plain counsellors in ", where,
                      " (probation: referent only, empty caseload; assigning people is a counsellor's act)");
      p.alone = true;
      p.people = Union(now_keys);
      p.people_after_probation = Union(after_keys);
      alone_keys.insert(alone_keys.end(), now_keys.begin(), now_keys.end());
      later_keys.insert(later_keys.end(), after_keys.begin(), after_keys.end());
      e.paths.push_back(std::move(p));

      // With an approver: technical accounts with any integration purpose.
      std::vector<Key> tech;
      std::vector<std::string> purposes;
      for (const policy::PurposeDef& pd : policy_.purposes())
        if (pd.integration) purposes.push_back(pd.name);
      for (uint32_t s : managed) {
        for (const std::string& purpose : purposes) {
          policy::Principal t;
          t.kind = policy::AccountKind::kTechnical;
          t.structure = StructureId(sid_[s]);
          t.integration_purposes = {purpose};
          bool ref = false;
          KeysOf(TermsFor(t), false, tech, ref);
        }
      }
      PrivilegePath tp;
      tp.kind = PathKind::kCreateTechnical;
      tp.what = StrCat("request technical accounts in ", where, " (integration purposes: ",
                       purposes.empty() ? std::string("none in the policy") : JoinNames(purposes), ")");
      tp.needs = own_approver;
      tp.people = Union(tech);
      approver_keys.insert(approver_keys.end(), tech.begin(), tech.end());
      e.paths.push_back(std::move(tp));

      // With an approver: a reading role granted to itself.
      for (Role r : {Role::kCounsellor, Role::kPartnerUser, Role::kSecurityOfficer, Role::kAccessManager, Role::kDpo,
                     Role::kAuditor}) {
        if (!policy_.role(r).read_people || a.HasRole(r)) continue;
        {
          // iam refuses a reading role next to a managing one (separation of duties).
          std::vector<Role> after = a.roles;
          after.push_back(r);
          if (!iam::CheckSeparationOfDuties(after, policy_).ok()) continue;
        }
        policy::Principal g = me;
        g.roles.push_back(r);
        std::vector<Key> gk;
        bool ref = false;
        KeysOf(TermsFor(g), false, gk, ref);
        PrivilegePath gp;
        gp.kind = PathKind::kGrantRole;
        gp.what = StrCat("request role ", RoleName(r), " for itself");
        gp.needs = own_approver;
        gp.people = Union(gk, ref ? caseload : nullptr);
        approver_referent |= ref;
        approver_keys.insert(approver_keys.end(), gk.begin(), gk.end());
        e.paths.push_back(std::move(gp));
      }
    }

    // With an approver: a bulk export of its structure and below (anybody
    // may request one; the approval is the grant and no exporter bounds it
    // yet, so this is an upper bound).
    {
      PrivilegePath bp;
      bp.kind = PathKind::kBulkExport;
      bp.what = StrCat("request a bulk export of ", code_[sd], " and below (approval is the grant; upper bound)");
      bp.needs = own_approver;
      bp.people = Union({Key{KeyKind::kFollowedTree, 0, sd, 0}});
      approver_keys.push_back(Key{KeyKind::kFollowedTree, 0, sd, 0});
      e.paths.push_back(std::move(bp));
    }

    // Approve side: a security officer out of probation approving whatever a
    // colluding requester below it files (technical accounts, reading roles,
    // bulk exports of the structures strictly below; the root approves
    // itself).
    if (so && !e.probation) {
      std::vector<Key> ak;
      std::vector<std::string> purposes;
      for (const policy::PurposeDef& pd : policy_.purposes())
        if (pd.integration) purposes.push_back(pd.name);
      size_t structures = 0;
      ForSubtree(sd, [&](uint32_t s) {
        if (s == sd && parent_[sd] != kNone) return;
        ++structures;
        ak.push_back(Key{KeyKind::kFollowed, 0, s, 0});
        for (const std::string& purpose : purposes) {
          policy::Principal t;
          t.kind = policy::AccountKind::kTechnical;
          t.structure = StructureId(sid_[s]);
          t.integration_purposes = {purpose};
          bool ref = false;
          KeysOf(TermsFor(t), false, ak, ref);
        }
        for (Role r : {Role::kCounsellor, Role::kPartnerUser}) {
          if (!policy_.role(r).read_people) continue;
          policy::Principal h;
          h.kind = policy::AccountKind::kHuman;
          h.roles = {r};
          h.structure = StructureId(sid_[s]);
          bool ref = false;
          KeysOf(TermsFor(h), false, ak, ref);
        }
      });
      if (structures > 0) {
        PrivilegePath ap;
        ap.kind = PathKind::kApprove;
        ap.what = StrCat("approve requests about ", parent_[sd] == kNone ? StrCat(code_[sd], " and ") : std::string(),
                         "the structures below ", code_[sd], " (technical accounts, reading roles, bulk exports)");
        ap.needs = StrCat("a colluding requester in a structure below ", code_[sd]);
        ap.people = Union(ak);
        approver_keys.insert(approver_keys.end(), ak.begin(), ak.end());
        e.paths.push_back(std::move(ap));
      }
    }
  }
  e.indirect_alone_people = Union(alone_keys);
  e.indirect_alone_after_probation_people = Union(later_keys);
  e.with_one_approver_people = Union(approver_keys, approver_referent ? caseload : nullptr);
  {
    const PrivilegePath* best = nullptr;
    for (const PrivilegePath& p : e.paths)
      if (!p.alone && (!best || p.people > best->people)) best = &p;
    if (best) e.with_one_approver = best->people > 0 ? best->needs : std::string();
  }
  {
    std::vector<Key> blast = direct_keys;
    blast.insert(blast.end(), alone_keys.begin(), alone_keys.end());
    e.blast_radius = Union(std::move(blast), direct_referent ? caseload : nullptr);
  }

  // --- Used vs reachable, and the narrowing least privilege would give.
  // Of the people it opened, those still in today's direct reach are what
  // its work needs; the rest of the direct reach is what least privilege cuts.
  int64_t used_in_direct = 0;
  if (options_.usage && !in.directory_only) {
    const Usage& u = *options_.usage;
    if (auto it = u.people_read.find(a.id.value()); it != u.people_read.end()) {
      e.used_people = it->second;
      auto l = u.people_listed.find(a.id.value());
      e.listed_people = l == u.people_listed.end() ? 0 : l->second;
      used_in_direct = std::min(e.direct_people, it->second);
      if (auto o = u.opened.find(a.id.value()); o != u.opened.end()) {
        // Mark today's direct reach, then its second-approver reach, and
        // look the opened people up in each (one pass over the sets).
        auto count_in = [&](const std::vector<Key>& keys, bool referent) {
          Begin();
          for (const Key& k : keys) MarkKey(k);
          if (referent && caseload)
            for (uint32_t p : *caseload) Mark(p);
          std::vector<bool> hit(o->second.size(), false);
          for (size_t i = 0; i < o->second.size(); ++i) {
            const int64_t p = o->second[i].value();
            hit[i] = p > 0 && static_cast<size_t>(p) < stamp_.size() && stamp_[static_cast<size_t>(p)] == gen_;
          }
          return hit;
        };
        const bool can = e.can_authenticate;
        const std::vector<bool> in_direct = count_in(can ? direct_keys : std::vector<Key>{}, can && direct_referent);
        const std::vector<bool> in_second = count_in(can ? second_keys : std::vector<Key>{}, can && second_referent);
        used_in_direct = 0;
        int64_t outside = 0;
        for (size_t i = 0; i < in_direct.size(); ++i) {
          used_in_direct += in_direct[i] ? 1 : 0;
          outside += in_direct[i] || in_second[i] ? 0 : 1;
        }
        e.used_outside_reach_people = outside;
      }
    }
  }
  auto usage_tail = [&]() {
    std::string t;
    if (e.listed_people && *e.listed_people > 0) t += StrCat("; ", *e.listed_people, " more only seen in listings");
    if (e.used_outside_reach_people && *e.used_outside_reach_people > 0)
      t += StrCat("; ", *e.used_outside_reach_people, " of those read are out of its reach today");
    return t;
  };
  if (!e.can_authenticate) {
    e.narrowing = StrCat(iam::AccountStatusName(a.status),
                         a.status == iam::AccountStatus::kActive ? " but expired" : "", ": reads nothing");
    if (e.used_people && *e.used_people > 0)
      e.narrowing += StrCat(" now (read ", *e.used_people, " in ", options_.usage->window, usage_tail(), ")");
  } else if (e.used_people && e.direct_people > 0) {
    e.narrowing_people = e.direct_people - used_in_direct;
    e.narrowing = StrCat("read ", *e.used_people, " of ", e.direct_people, " in ", options_.usage->window,
                         ": least privilege would cut ", e.narrowing_people, usage_tail());
  } else if (e.direct_people == 0 && e.used_people && *e.used_people > 0) {
    e.narrowing = StrCat(e.second_approver_people > 0 ? "reads only with a second approver (break-glass)"
                                                      : "reads nothing today",
                         "; read ", *e.used_people, " in ", options_.usage->window, usage_tail());
  } else if (e.direct_people == 0) {
    e.narrowing = e.second_approver_people > 0 ? "reads only with a second approver (break-glass)" : "reads nothing";
  } else if (direct_referent && !direct_keys.empty()) {
    const int64_t own = caseload ? static_cast<int64_t>(caseload->size()) : 0;
    e.narrowing_people = e.direct_people - own;
    e.narrowing = StrCat("structure-wide ", e.direct_people, "; own caseload ", own,
                         ": a referent-only rule would cut ", e.narrowing_people);
  } else if (direct_referent) {
    e.narrowing = "already referent-only";
  } else {
    e.narrowing = "relation-bound (orientations); nothing narrower without audit data";
  }
  return e;
}

}  // namespace

StatusOr<Report> Analyse(const policy::Policy& policy, const policy::RelationIndex& index,
                         const std::vector<AccountInput>& accounts, const Options& options) {
  Analyzer an(policy, options);
  CLOISON_RETURN_IF_ERROR(an.Load(index));
  an.SetAccounts(accounts);
  Report r;
  r.today = options.today;
  r.people_total = an.people();
  if (options.usage) r.usage_window = options.usage->window;
  r.accounts.reserve(accounts.size());
  for (const AccountInput& in : accounts) r.accounts.push_back(an.Analyse(in));
  std::stable_sort(r.accounts.begin(), r.accounts.end(), [](const AccountExposure& x, const AccountExposure& y) {
    if (x.blast_radius != y.blast_radius) return x.blast_radius > y.blast_radius;
    if (x.with_one_approver_people != y.with_one_approver_people)
      return x.with_one_approver_people > y.with_one_approver_people;
    if (x.second_approver_people != y.second_approver_people)
      return x.second_approver_people > y.second_approver_people;
    return x.username < y.username;
  });
  return r;
}

}  // namespace cloison::exposure
