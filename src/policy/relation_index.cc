#include "policy/relation_index.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "core/strings.h"

namespace cloison::policy {

namespace {
template <typename T>
void GrowTo(std::vector<T>& v, size_t n, const T& fill) {
  if (v.size() >= n) return;
  if (v.capacity() < n) v.reserve(std::max(n, v.capacity() + v.capacity() / 2));
  v.resize(n, fill);
}
}  // namespace

Status RelationIndex::CheckId(int64_t v, std::string_view what) {
  if (v <= 0 || v > kMaxDenseId)
    return InvalidArgument(StrCat(what, " id ", v, " out of range (1..", kMaxDenseId, ")"));
  return OkStatus();
}

StatusOr<std::unique_ptr<RelationIndex>> RelationIndex::Build(store::Store& store) {
  auto index = std::make_unique<RelationIndex>();
  CLOISON_ASSIGN_OR_RETURN(std::vector<Structure> structures, store.ListStructures());
  CLOISON_RETURN_IF_ERROR(index->AddStructures(structures));
  CLOISON_ASSIGN_OR_RETURN(std::vector<Formation> formations, store.ListFormations());
  for (const Formation& f : formations) CLOISON_RETURN_IF_ERROR(index->AddFormation(f));
  CLOISON_ASSIGN_OR_RETURN(std::vector<TrainingSession> sessions, store.ListTrainingSessions());
  for (const TrainingSession& s : sessions) CLOISON_RETURN_IF_ERROR(index->AddSession(s));
  Status st;
  CLOISON_RETURN_IF_ERROR(
      store.ForEachPersonRelation([&](PersonId p, StructureId referent, std::optional<AccountId> counsellor) {
        if (st.ok()) st = index->OnPersonFollowed(p, referent, counsellor);
      }));
  CLOISON_RETURN_IF_ERROR(st);
  CLOISON_RETURN_IF_ERROR(store.ForEachOrientation([&](const Orientation& o) {
    if (st.ok()) st = index->OnOrientationChanged(o);
  }));
  CLOISON_RETURN_IF_ERROR(st);
  return index;
}

Status RelationIndex::AddStructures(std::span<const Structure> structures) {
  for (const Structure& s : structures) {
    CLOISON_RETURN_IF_ERROR(CheckId(s.id.value(), "structure"));
    if (s.parent) CLOISON_RETURN_IF_ERROR(CheckId(s.parent->value(), "parent structure"));
  }
  std::unique_lock lock(mu_);
  // Validate the whole batch before changing anything.
  std::unordered_map<int64_t, const Structure*> batch;
  for (const Structure& s : structures) batch[s.id.value()] = &s;
  for (const Structure& s : structures) {
    const uint32_t existing = StructIndex(s.id);
    if (s.parent) {
      if (!batch.count(s.parent->value()) && StructIndex(*s.parent) == kNone)
        return InvalidArgument(StrCat("structure ", s.code, ": unknown parent structure ", s.parent->value()));
      if (s.parent->value() == s.id.value())
        return InvalidArgument(StrCat("structure ", s.code, " is its own parent"));
    }
    if (existing != kNone) {
      const uint32_t old_parent = structs_[existing].parent;
      const uint32_t new_parent = s.parent ? StructIndex(*s.parent) : kNone;
      if (old_parent != new_parent || (s.parent && new_parent == kNone))
        return FailedPrecondition(StrCat("structure ", s.code, ": its parent cannot change once indexed"));
    }
  }
  // Cycle check within the batch (new structures only can form one).
  for (const Structure& s : structures) {
    const Structure* cur = &s;
    for (size_t steps = 0; cur && cur->parent; ++steps) {
      if (steps > batch.size()) return InvalidArgument(StrCat("structure ", s.code, ": cycle in the parent chain"));
      auto it = batch.find(cur->parent->value());
      cur = it == batch.end() ? nullptr : it->second;
    }
  }
  for (const Structure& s : structures) {
    const int64_t v = s.id.value();
    GrowTo(struct_dense_, static_cast<size_t>(v) + 1, kNone);
    uint32_t idx = struct_dense_[v];
    if (idx == kNone) {
      idx = static_cast<uint32_t>(structs_.size());
      struct_dense_[v] = idx;
      structs_.push_back(StructNode{});
      struct_codes_.emplace_back();
    }
    structs_[idx].id = v;
    structs_[idx].kind = s.kind;
    struct_codes_[idx] = s.code;
  }
  for (const Structure& s : structures)
    structs_[StructIndex(s.id)].parent = s.parent ? StructIndex(*s.parent) : kNone;
  RebuildAncestorsLocked();
  return OkStatus();
}

void RelationIndex::RebuildAncestorsLocked() {
  ancestors_.clear();
  std::vector<uint32_t> chain;
  for (uint32_t i = 0; i < structs_.size(); ++i) {
    chain.clear();
    for (uint32_t cur = i; cur != kNone && chain.size() <= structs_.size(); cur = structs_[cur].parent)
      chain.push_back(cur);
    std::reverse(chain.begin(), chain.end());  // root .. self
    structs_[i].anc_off = static_cast<uint32_t>(ancestors_.size());
    structs_[i].depth = static_cast<uint8_t>(std::min<size_t>(chain.size() - 1, 255));
    ancestors_.insert(ancestors_.end(), chain.begin(), chain.end());
  }
}

Status RelationIndex::AddFormation(const Formation& f) {
  CLOISON_RETURN_IF_ERROR(CheckId(f.id.value(), "formation"));
  std::unique_lock lock(mu_);
  const uint32_t org = StructIndex(f.organisation);
  if (org == kNone)
    return InvalidArgument(StrCat("formation ", f.code, ": unknown organisation ", f.organisation.value()));
  GrowTo(formation_org_, static_cast<size_t>(f.id.value()) + 1, kNone);
  formation_org_[f.id.value()] = org;
  return OkStatus();
}

Status RelationIndex::AddSession(const TrainingSession& s) {
  CLOISON_RETURN_IF_ERROR(CheckId(s.id.value(), "training session"));
  std::unique_lock lock(mu_);
  const int64_t fv = s.formation.value();
  if (fv <= 0 || static_cast<uint64_t>(fv) >= formation_org_.size() || formation_org_[fv] == kNone)
    return InvalidArgument(StrCat("session ", s.code, ": unknown formation ", fv));
  GrowTo(session_dense_, static_cast<size_t>(s.id.value()) + 1, kNone);
  uint32_t idx = session_dense_[s.id.value()];
  if (idx == kNone) {
    idx = static_cast<uint32_t>(sessions_.size());
    session_dense_[s.id.value()] = idx;
    sessions_.push_back(SessionNode{});
    session_codes_.emplace_back();
  }
  sessions_[idx] = SessionNode{s.id.value(), formation_org_[fv], static_cast<int32_t>(s.start.ToDays()),
                               static_cast<int32_t>(s.end.ToDays())};
  session_codes_[idx] = s.code;
  return OkStatus();
}

void RelationIndex::Reserve(int64_t max_person_id, size_t orientations) {
  std::unique_lock lock(mu_);
  if (max_person_id > 0 && max_person_id <= kMaxDenseId) persons_.reserve(static_cast<size_t>(max_person_id) + 1);
  links_.reserve(orientations);
  orientation_link_.reserve(orientations + 1);
}

RelationIndex::PersonSlot& RelationIndex::SlotForWrite(int64_t v) {
  GrowTo(persons_, static_cast<size_t>(v) + 1, PersonSlot{});
  PersonSlot& s = persons_[v];
  if (s.referent == kNone && s.first_link == kNone) ++person_count_;
  return s;
}

uint32_t RelationIndex::NewLink() {
  if (!free_links_.empty()) {
    uint32_t i = free_links_.back();
    free_links_.pop_back();
    links_[i] = Link{};
    return i;
  }
  links_.push_back(Link{});
  return static_cast<uint32_t>(links_.size() - 1);
}

Status RelationIndex::OnPersonFollowed(PersonId person, StructureId referent, std::optional<AccountId> counsellor,
                                       std::span<const StructureId> other_structures) {
  CLOISON_RETURN_IF_ERROR(CheckId(person.value(), "person"));
  if (counsellor && (counsellor->value() <= 0 || counsellor->value() > UINT32_MAX))
    return InvalidArgument(StrCat("person ", person.value(), ": counsellor id out of range"));
  std::unique_lock lock(mu_);
  const uint32_t ref = StructIndex(referent);
  if (ref == kNone)
    return InvalidArgument(StrCat("person ", person.value(), ": unknown referent structure ", referent.value()));
  for (StructureId o : other_structures)
    if (StructIndex(o) == kNone)
      return InvalidArgument(StrCat("person ", person.value(), ": unknown follow-up structure ", o.value()));
  PersonSlot& slot = SlotForWrite(person.value());
  slot.referent = ref;
  slot.counsellor = counsellor ? static_cast<uint32_t>(counsellor->value()) : 0;
  // Drop the previous other structures, keep orientations.
  uint32_t* link = &slot.first_link;
  while (*link != kNone) {
    Link& l = links_[*link];
    if (l.kind == LinkKind::kStructure) {
      const uint32_t dead = *link;
      *link = l.next;
      links_[dead].kind = LinkKind::kFree;
      free_links_.push_back(dead);
    } else {
      link = &l.next;
    }
  }
  for (StructureId o : other_structures) {
    const uint32_t oi = StructIndex(o);
    if (oi == ref) continue;
    const uint32_t li = NewLink();  // may move links_, not persons_
    Link& l = links_[li];
    l.kind = LinkKind::kStructure;
    l.target = oi;
    l.next = persons_[person.value()].first_link;
    persons_[person.value()].first_link = li;
  }
  return OkStatus();
}

Status RelationIndex::OnOrientationChanged(const Orientation& o) {
  CLOISON_RETURN_IF_ERROR(CheckId(o.id.value(), "orientation"));
  CLOISON_RETURN_IF_ERROR(CheckId(o.person.value(), "person"));
  std::unique_lock lock(mu_);
  const uint32_t session = SessionIndex(o.session);
  if (session == kNone)
    return InvalidArgument(StrCat("orientation ", o.id.value(), ": unknown training session ", o.session.value()));
  const int64_t ov = o.id.value();
  uint32_t li = static_cast<uint64_t>(ov) < orientation_link_.size() ? orientation_link_[ov] : kNone;
  if (li == kNone) {
    li = NewLink();
    PersonSlot& slot = SlotForWrite(o.person.value());
    links_[li].next = slot.first_link;
    slot.first_link = li;
    GrowTo(orientation_link_, static_cast<size_t>(ov) + 1, kNone);
    orientation_link_[ov] = li;
    ++orientation_count_;
  } else {
    // The orientation is already chained from its person; it must be the same one.
    const PersonSlot* slot = Slot(o.person);
    bool found = false;
    for (uint32_t cur = slot ? slot->first_link : kNone; cur != kNone; cur = links_[cur].next)
      if (cur == li) found = true;
    if (!found)
      return FailedPrecondition(StrCat("orientation ", ov, ": its person cannot change once indexed"));
  }
  Link& l = links_[li];
  l.kind = LinkKind::kOrientation;
  l.status = static_cast<uint8_t>(o.status);
  l.target = session;
  l.from_days = static_cast<int32_t>(o.proposed_on.ToDays());
  l.orientation = static_cast<uint32_t>(ov);
  return OkStatus();
}

size_t RelationIndex::person_count() const {
  std::shared_lock lock(mu_);
  return person_count_;
}
size_t RelationIndex::orientation_count() const {
  std::shared_lock lock(mu_);
  return orientation_count_;
}
size_t RelationIndex::structure_count() const {
  std::shared_lock lock(mu_);
  return structs_.size();
}

size_t RelationIndex::MemoryBytes() const {
  std::shared_lock lock(mu_);
  size_t n = struct_dense_.capacity() * 4 + structs_.capacity() * sizeof(StructNode) + ancestors_.capacity() * 4 +
             formation_org_.capacity() * 4 + session_dense_.capacity() * 4 +
             sessions_.capacity() * sizeof(SessionNode) + persons_.capacity() * sizeof(PersonSlot) +
             links_.capacity() * sizeof(Link) + free_links_.capacity() * 4 + orientation_link_.capacity() * 4;
  for (const auto& s : struct_codes_) n += sizeof(s) + s.capacity();
  for (const auto& s : session_codes_) n += sizeof(s) + s.capacity();
  return n;
}

void RelationIndex::ForEachStructure(const std::function<void(const StructureInfo&)>& fn) const {
  std::shared_lock lock(mu_);
  for (size_t v = 0; v < struct_dense_.size(); ++v) {
    const uint32_t i = struct_dense_[v];
    if (i == kNone) continue;
    const StructNode& n = structs_[i];
    StructureInfo info;
    info.id = StructureId(n.id);
    if (n.parent != kNone) info.parent = StructureId(structs_[n.parent].id);
    info.kind = n.kind;
    info.code = struct_codes_[i];
    fn(info);
  }
}

AccountId RelationIndex::ReferentCounsellor(PersonId person) const {
  std::shared_lock lock(mu_);
  const PersonSlot* s = Slot(person);
  return s == nullptr || s->counsellor == 0 ? AccountId() : AccountId(static_cast<int64_t>(s->counsellor));
}

void RelationIndex::ForEachPerson(const std::function<void(PersonId, StructureId, AccountId,
                                                           std::span<const StructureId>)>& fn) const {
  std::shared_lock lock(mu_);
  std::vector<StructureId> others;
  for (size_t v = 1; v < persons_.size(); ++v) {
    const PersonSlot& s = persons_[v];
    if (s.referent == kNone && s.first_link == kNone) continue;
    others.clear();
    for (uint32_t li = s.first_link; li != kNone; li = links_[li].next)
      if (links_[li].kind == LinkKind::kStructure) others.push_back(StructureId(structs_[links_[li].target].id));
    fn(PersonId(static_cast<int64_t>(v)),
       s.referent == kNone ? StructureId() : StructureId(structs_[s.referent].id),
       s.counsellor == 0 ? AccountId() : AccountId(static_cast<int64_t>(s.counsellor)), others);
  }
}

void RelationIndex::ForEachOrientation(const std::function<void(const OrientationInfo&)>& fn) const {
  std::shared_lock lock(mu_);
  for (size_t v = 1; v < persons_.size(); ++v) {
    for (uint32_t li = persons_[v].first_link; li != kNone; li = links_[li].next) {
      const Link& l = links_[li];
      if (l.kind != LinkKind::kOrientation) continue;
      const SessionNode& sn = sessions_[l.target];
      OrientationInfo o;
      o.id = OrientationId(static_cast<int64_t>(l.orientation));
      o.person = PersonId(static_cast<int64_t>(v));
      o.session = TrainingSessionId(sn.id);
      o.organisation = StructureId(structs_[sn.organisation].id);
      o.status = static_cast<OrientationStatus>(l.status);
      o.proposed_days = l.from_days;
      o.session_end_days = sn.end_days;
      fn(o);
    }
  }
}

int64_t RelationIndex::max_person_id() const {
  std::shared_lock lock(mu_);
  for (size_t v = persons_.size(); v-- > 1;)
    if (persons_[v].referent != kNone || persons_[v].first_link != kNone) return static_cast<int64_t>(v);
  return 0;
}

std::string RelationIndex::StructureCode(StructureId id) const {
  std::shared_lock lock(mu_);
  const uint32_t i = StructIndex(id);
  return i == kNone ? StrCat("#", id.value()) : struct_codes_[i];
}

std::string RelationIndex::SessionCode(TrainingSessionId id) const {
  std::shared_lock lock(mu_);
  const uint32_t i = SessionIndex(id);
  return i == kNone ? StrCat("#", id.value()) : session_codes_[i];
}

}  // namespace cloison::policy
