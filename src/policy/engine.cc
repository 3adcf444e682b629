#include "policy/engine.h"

#include <mutex>

#include "core/strings.h"

namespace cloison::policy {

std::string_view DenyReasonName(DenyReason r) {
  switch (r) {
    case DenyReason::kNone: return "none";
    case DenyReason::kUnknownPurpose: return "unknown_purpose";
    case DenyReason::kProbation: return "probation";
    case DenyReason::kRoleCannotRead: return "role_cannot_read";
    case DenyReason::kNoRuleForRole: return "no_rule_for_role";
    case DenyReason::kTechnicalNoIntegration: return "technical_no_integration";
    case DenyReason::kStructureKind: return "structure_kind";
    case DenyReason::kUnknownPerson: return "unknown_person";
    case DenyReason::kNoRelation: return "no_relation";
    case DenyReason::kOrientationStatus: return "orientation_status";
    case DenyReason::kOrientationExpired: return "orientation_expired";
    case DenyReason::kJustificationRequired: return "justification_required";
    case DenyReason::kDualControlRequired: return "dual_control_required";
    case DenyReason::kRevealNotAllowed: return "reveal_not_allowed";
    case DenyReason::kRevealOnProbation: return "reveal_on_probation";
  }
  return "?";
}

namespace {

// How specific a relation failure is: the most specific one is reported.
int Specificity(DenyReason r) {
  switch (r) {
    case DenyReason::kNoRelation: return 1;
    case DenyReason::kOrientationStatus: return 2;
    case DenyReason::kOrientationExpired: return 3;
    default: return 0;
  }
}

size_t TrimmedSize(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
  return e - b;
}

}  // namespace

Decision Engine::Decide(const Principal& who, PersonId person, PurposeId purpose, Date today,
                        const RevealRequest* reveal) const {
  using RI = RelationIndex;
  Decision d;
  d.purpose = purpose;
  d.person = person;
  d.account = who.account;
  d.account_structure = who.structure;
  auto deny = [&](DenyReason r) -> Decision& {
    d.allowed = false;
    d.deny = r;
    d.fields = FieldBits();
    d.revealed = FieldBits();
    return d;
  };
  if (static_cast<size_t>(purpose) >= policy_.purposes().size()) return deny(DenyReason::kUnknownPurpose);
  const PurposeDef& pd = policy_.purpose(purpose);
  if (who.probation && !pd.allowed_on_probation) return deny(DenyReason::kProbation);
  const bool technical = who.kind == AccountKind::kTechnical;
  const int32_t today_days = static_cast<int32_t>(today.ToDays());

  std::shared_lock lock(index_.mu_);
  const uint32_t ps = index_.StructIndex(who.structure);
  const RI::PersonSlot* slot = index_.Slot(person);
  bool any_rule_for_role = false;  // a rule names the principal's role/kind
  bool any_rule = false;           // ... and its structure kind fits (and probation allows it)
  bool probation_skipped = false;  // a rule fitted but probation restricts to `referent`
  int best = 0;                    // specificity of the best relation failure
  int32_t matched = -1;

  for (uint16_t ri : policy_.RulesFor(purpose)) {
    const Rule& rule = policy_.rules()[ri];
    if (rule.technical) {
      if (!technical || !who.HoldsIntegrationPurpose(pd.name)) continue;
    } else {
      if (technical || !who.HasRole(rule.role)) continue;
    }
    any_rule_for_role = true;
    if (rule.structure_kinds != 0 &&
        (ps == RI::kNone ||
         !(rule.structure_kinds & (1u << static_cast<unsigned>(index_.structs_[ps].kind)))))
      continue;
    // Probation: an account not yet trusted reads only the people explicitly
    // assigned to it as referent counsellor, never structure-wide, through
    // orientations or break-glass (so an account created alone reaches
    // nobody until someone assigns it people; docs/policy.md).
    if (who.probation && rule.relation != Relation::kReferent) {
      probation_skipped = true;
      continue;
    }
    if (!any_rule) {
      any_rule = true;
      d.rule = ri;
      d.relation = rule.relation;
    }
    if (!slot) break;  // unknown person: no rule can hold

    auto covers = [&](uint32_t s) {
      return s == ps || (rule.include_child_structures && index_.IsSelfOrAncestor(ps, s));
    };
    bool ok = false;
    switch (rule.relation) {
      case Relation::kAny:
        ok = true;
        break;
      case Relation::kReferent:
        ok = slot->counsellor != 0 && static_cast<int64_t>(slot->counsellor) == who.account.value();
        if (!ok && best < 1) {
          best = 1;
          d.rule = ri;
          d.relation = rule.relation;
          d.via_structure = slot->referent != RI::kNone ? StructureId(index_.structs_[slot->referent].id) : StructureId();
        }
        break;
      case Relation::kFollowed:
        if (ps == RI::kNone) break;
        if (slot->referent != RI::kNone && covers(slot->referent)) {
          ok = true;
          d.via_structure = StructureId(index_.structs_[slot->referent].id);
          d.via_other_structure = false;
          break;
        }
        for (uint32_t li = slot->first_link; li != RI::kNone; li = index_.links_[li].next) {
          const RI::Link& l = index_.links_[li];
          if (l.kind == RI::LinkKind::kStructure && covers(l.target)) {
            ok = true;
            d.via_structure = StructureId(index_.structs_[l.target].id);
            d.via_other_structure = true;
            break;
          }
        }
        if (!ok && best < 1) {
          best = 1;
          d.rule = ri;
          d.relation = rule.relation;
          d.via_structure = slot->referent != RI::kNone ? StructureId(index_.structs_[slot->referent].id) : StructureId();
        }
        break;
      case Relation::kOrientation: {
        if (ps == RI::kNone) break;
        for (uint32_t li = slot->first_link; li != RI::kNone; li = index_.links_[li].next) {
          const RI::Link& l = index_.links_[li];
          if (l.kind != RI::LinkKind::kOrientation) continue;
          const RI::SessionNode& s = index_.sessions_[l.target];
          if (!covers(s.organisation)) continue;
          const bool status_ok = (rule.orientation_statuses >> l.status) & 1u;
          const int32_t to = s.end_days + rule.days_after_session_end;
          const bool in_window = today_days >= l.from_days && today_days <= to;
          const DenyReason why = !status_ok ? DenyReason::kOrientationStatus
                                 : !in_window ? DenyReason::kOrientationExpired
                                              : DenyReason::kNone;
          if (why == DenyReason::kNone || Specificity(why) > best) {
            d.rule = ri;
            d.relation = rule.relation;
            d.orientation = OrientationId(l.orientation);
            d.session = TrainingSessionId(s.id);
            d.organisation = StructureId(index_.structs_[s.organisation].id);
            d.orientation_status = static_cast<OrientationStatus>(l.status);
            d.window_from_days = l.from_days;
            d.window_to_days = to;
            if (why == DenyReason::kNone) {
              ok = true;
              break;
            }
            best = Specificity(why);
          }
        }
        if (!ok && best < 1) {
          best = 1;
          d.rule = ri;
          d.relation = rule.relation;
          d.via_structure = slot->referent != RI::kNone ? StructureId(index_.structs_[slot->referent].id) : StructureId();
        }
        break;
      }
    }
    if (ok) {
      matched = ri;
      d.relation = rule.relation;
      break;
    }
  }
  lock.unlock();

  if (matched < 0) {
    if (!any_rule_for_role) {
      if (technical) return deny(DenyReason::kTechnicalNoIntegration);
      bool can_read = false;
      for (Role r : who.roles) can_read |= policy_.role(r).read_people;
      return deny(can_read ? DenyReason::kNoRuleForRole : DenyReason::kRoleCannotRead);
    }
    if (!any_rule) return deny(probation_skipped ? DenyReason::kProbation : DenyReason::kStructureKind);
    if (!slot) return deny(DenyReason::kUnknownPerson);
    switch (best) {
      case 3: return deny(DenyReason::kOrientationExpired);
      case 2: return deny(DenyReason::kOrientationStatus);
      default: return deny(DenyReason::kNoRelation);
    }
  }

  // A relation holds; the purpose's and the reveal's conditions remain.
  d.rule = matched;
  const Rule& rule = policy_.rules()[matched];
  const size_t min_just = policy_.min_justification_chars();
  const bool justified = reveal && TrimmedSize(reveal->justification) >= min_just;
  if (pd.requires_justification && !justified) return deny(DenyReason::kJustificationRequired);
  if (pd.dual_control && (!reveal || !reveal->approved_by.valid() || reveal->approved_by == who.account))
    return deny(DenyReason::kDualControlRequired);
  FieldBits fields = rule.fields;
  if (reveal && !reveal->fields.empty()) {
    if (who.probation) return deny(DenyReason::kRevealOnProbation);
    if (!rule.reveal.contains(reveal->fields)) {
      d.refused_reveal = reveal->fields - rule.reveal;
      return deny(DenyReason::kRevealNotAllowed);
    }
    if (!justified) return deny(DenyReason::kJustificationRequired);
    d.revealed = reveal->fields;
    fields = fields | reveal->fields;
  }
  d.allowed = true;
  d.deny = DenyReason::kNone;
  d.fields = fields;
  d.aggregates_only = pd.aggregates_only;
  return d;
}

std::string Engine::RelationPath(const Decision& d) const {
  const std::string person = StrCat("person ", d.person.value());
  const std::string mine = index_.StructureCode(d.account_structure);
  switch (d.relation) {
    case Relation::kAny:
      return StrCat("break-glass: no relation to ", person, " required");
    case Relation::kReferent:
      return StrCat("account ", d.account.value(), " (you) is the referent counsellor of ", person);
    case Relation::kFollowed: {
      const std::string via = index_.StructureCode(d.via_structure);
      const std::string whose =
          d.via_structure == d.account_structure ? std::string("(yours)") : StrCat("(a child structure of yours, ", mine, ")");
      return StrCat(person, d.via_other_structure ? " is also followed by structure " : " is followed by structure ",
                    via, " ", whose);
    }
    case Relation::kOrientation: {
      const std::string org = index_.StructureCode(d.organisation);
      return StrCat("active orientation ", d.orientation.value(), " (", OrientationStatusName(d.orientation_status),
                    ") of ", person, " to session ", index_.SessionCode(d.session), " of ",
                    d.organisation == d.account_structure ? StrCat("your organisation ", org)
                                                          : StrCat("organisation ", org, ", a child of yours"),
                    ", valid ", Date::FromDays(d.window_from_days).ToString(), "..",
                    Date::FromDays(d.window_to_days).ToString());
    }
  }
  return "?";
}

std::string Engine::DenialText(const Decision& d) const {
  const std::string person = StrCat("person ", d.person.value());
  const std::string mine = index_.StructureCode(d.account_structure);
  const std::string purpose = static_cast<size_t>(d.purpose) < policy_.purposes().size()
                                  ? policy_.purpose(d.purpose).name
                                  : StrCat("#", static_cast<int64_t>(d.purpose));
  const int64_t min_just = static_cast<int64_t>(policy_.min_justification_chars());
  switch (d.deny) {
    case DenyReason::kNone: return "not denied";
    case DenyReason::kUnknownPurpose: return StrCat("unknown purpose ", purpose);
    case DenyReason::kProbation:
      return StrCat("purpose ", purpose,
                    " is not allowed to an account on probation (on probation an account reads only the people "
                    "it is the referent counsellor of)");
    case DenyReason::kRoleCannotRead:
      return "none of the account's roles may read people's files (read_people = false)";
    case DenyReason::kNoRuleForRole:
      return StrCat("no rule releases anything to the account's roles for purpose ", purpose);
    case DenyReason::kTechnicalNoIntegration:
      return StrCat("technical account without an integration rule for purpose ", purpose,
                    " (technical accounts read only through integration purposes they hold)");
    case DenyReason::kStructureKind:
      return StrCat("no rule for purpose ", purpose, " applies to accounts of a structure like ", mine);
    case DenyReason::kUnknownPerson: return StrCat("no relation: ", person, " is not known to the relation index");
    case DenyReason::kNoRelation:
      switch (d.relation) {
        case Relation::kReferent:
          return StrCat("no relation: account ", d.account.value(), " is not the referent counsellor of ", person);
        case Relation::kOrientation:
          return StrCat("no relation: ", person, " has no orientation to a session of your organisation ", mine);
        default:
          if (!d.via_structure.valid()) return StrCat("no relation: ", person, " is followed by no structure of yours (", mine, ")");
          return StrCat("no relation: ", person, " is followed by ", index_.StructureCode(d.via_structure),
                        ", not by your structure ", mine);
      }
    case DenyReason::kOrientationStatus:
      return StrCat("orientation ", d.orientation.value(), " of ", person, " to session ",
                    index_.SessionCode(d.session), " is ", OrientationStatusName(d.orientation_status),
                    ": the rule releases only orientations in its orientation_statuses");
    case DenyReason::kOrientationExpired:
      return StrCat("orientation ", d.orientation.value(), " of ", person, " to session ",
                    index_.SessionCode(d.session), " (", OrientationStatusName(d.orientation_status),
                    ") is outside its validity window ", Date::FromDays(d.window_from_days).ToString(), "..",
                    Date::FromDays(d.window_to_days).ToString());
    case DenyReason::kJustificationRequired:
      return StrCat("a written justification of at least ", min_just, " characters is required (", RelationPath(d),
                    ")");
    case DenyReason::kDualControlRequired:
      return StrCat("purpose ", purpose, " requires the approval of a second account (dual control)");
    case DenyReason::kRevealNotAllowed:
      return StrCat("the rule does not allow revealing ", policy_.FieldNames(d.refused_reveal));
    case DenyReason::kRevealOnProbation: return "an account on probation cannot reveal fields";
  }
  return "?";
}

std::string Engine::Reason(const Decision& d) const {
  const std::string rule =
      d.rule >= 0 ? StrCat("rule '", policy_.rules()[d.rule].id, "': ") : std::string();
  if (d.allowed) return StrCat(rule, RelationPath(d));
  return StrCat(rule, DenialText(d));
}

std::string Engine::Explain(const Decision& d) const {
  std::string out;
  const std::string purpose = static_cast<size_t>(d.purpose) < policy_.purposes().size()
                                  ? policy_.purpose(d.purpose).name
                                  : std::string("?");
  out += StrCat(d.allowed ? "ALLOWED" : "DENIED", "  account ", d.account.value(), " (structure ",
                index_.StructureCode(d.account_structure), "), person ", d.person.value(), ", purpose ", purpose,
                "\n");
  if (d.rule >= 0) {
    const Rule& r = policy_.rules()[d.rule];
    out += StrCat(d.allowed ? "  rule:     " : "  closest rule: ", r.id, " (", policy_.source(), ":",
                  static_cast<int64_t>(r.line), "; ", r.technical ? std::string("technical") : std::string(RoleName(r.role)),
                  " x ", RelationName(r.relation), " x ", purpose, ")\n");
  }
  if (d.allowed) {
    out += StrCat("  relation: ", RelationPath(d), "\n");
    out += StrCat("  fields:   ", policy_.FieldNames(d.fields - d.revealed), "\n");
    if (!d.revealed.empty()) out += StrCat("  revealed: ", policy_.FieldNames(d.revealed), "\n");
    if (d.rule >= 0 && !policy_.rules()[d.rule].reveal.empty() && d.revealed.empty())
      out += StrCat("  reveal-only (needs --reveal and --justification): ",
                    policy_.FieldNames(policy_.rules()[d.rule].reveal), "\n");
    if (d.aggregates_only) out += "  aggregates only: these fields may be counted, never shown per person\n";
  } else {
    out += StrCat("  reason:   ", DenialText(d), " [", DenyReasonName(d.deny), "]\n");
  }
  return out;
}

}  // namespace cloison::policy
