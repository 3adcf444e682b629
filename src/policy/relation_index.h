// The in-memory index of who is related to whom, that policy decisions read:
// the structure tree (with ancestors precomputed), which structures follow
// each person and who is their referent counsellor, and each person's
// orientations to training sessions (with the session's organisation and
// dates).
//
// Layout: flat vectors indexed by the store's dense surrogate ids (a person's
// slot is persons_[id]), and one pool of per-person links (other follow-up
// structures, orientations) chained from the slot. A decision is a handful of
// array reads; 1,600,000 people and 400,000 orientations take about 32 MiB.
// Ids must be positive and at most kMaxDenseId: the store's ids are dense
// row ids, and a sparse id space would waste memory (refused with
// InvalidArgument rather than silently allocating gigabytes).
//
// Thread-safety: any number of threads may read (Engine::Decide) while one
// thread applies updates; an update takes an exclusive lock for the
// microseconds it needs (it may grow a vector), decisions take a shared lock.
// Updates are applied in the order the store committed them; the index never
// reads the store after Build().
//
// Failure: updates that name an unknown structure, formation or session, or
// an out-of-range id, return InvalidArgument and change nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/domain.h"
#include "core/status.h"
#include "store/store.h"

namespace cloison::policy {

class Engine;

class RelationIndex {
 public:
  static constexpr int64_t kMaxDenseId = int64_t{1} << 27;

  RelationIndex() = default;
  RelationIndex(const RelationIndex&) = delete;
  RelationIndex& operator=(const RelationIndex&) = delete;

  // Reads the whole network and every person relation and orientation from
  // `store` (nothing is decrypted). Used at start; afterwards the index is
  // kept current through the On* calls below.
  static StatusOr<std::unique_ptr<RelationIndex>> Build(store::Store& store);

  // --- Network (changes rarely).
  // Adds or updates structures, in any order (parents are resolved over the
  // whole batch and the existing index). A structure's parent may not change
  // once indexed (FailedPrecondition): moving a structure in the tree is a
  // migration, not an update.
  Status AddStructures(std::span<const Structure> structures);
  Status AddStructure(const Structure& s) { return AddStructures(std::span<const Structure>(&s, 1)); }
  // The formation's organisation must be indexed.
  Status AddFormation(const Formation& f);
  // The session's formation must be indexed. Updating a session's dates
  // changes every orientation's window at once (windows are computed at
  // decision time from the session).
  Status AddSession(const TrainingSession& s);

  // --- People.
  // Sets who follows `person`: its referent structure, referent counsellor
  // and further follow-up structures (replacing the previous ones).
  Status OnPersonFollowed(PersonId person, StructureId referent, std::optional<AccountId> counsellor,
                          std::span<const StructureId> other_structures = {});
  // Inserts or updates an orientation (status change, new session, ...).
  Status OnOrientationChanged(const Orientation& o);
  // Pre-sizes for bulk loads (person ids up to max_person_id).
  void Reserve(int64_t max_person_id, size_t orientations);
  // The person's referent counsellor (an invalid AccountId when the person
  // has none or is unknown). Shared lock; O(1). For the guard's "files of
  // colleagues' caseloads" signal.
  AccountId ReferentCounsellor(PersonId person) const;

  // --- Introspection (takes the shared lock).
  size_t person_count() const;
  size_t orientation_count() const;
  size_t structure_count() const;
  // Approximate heap bytes held.
  size_t MemoryBytes() const;
  // --- Whole-population walks, for analyses over everybody at once (the
  // exposure report, src/exposure) rather than one decision at a time. Each
  // walk holds the shared lock from start to end: updates wait until it
  // returns, so `fn` should be quick and must not call back into this index
  // (a writer queued in between would deadlock it). Order: by id.
  struct StructureInfo {
    StructureId id;
    std::optional<StructureId> parent;
    StructureKind kind = StructureKind::kAgency;
    std::string_view code;  // valid during the call only
  };
  void ForEachStructure(const std::function<void(const StructureInfo&)>& fn) const;
  // Every person known to the index: the referent structure (invalid id for
  // a person known only through orientations), the referent counsellor
  // (invalid id = none) and the further follow-up structures (valid during
  // the call only; never contains the referent structure).
  void ForEachPerson(const std::function<void(PersonId person, StructureId referent, AccountId counsellor,
                                              std::span<const StructureId> other_structures)>& fn) const;
  struct OrientationInfo {
    OrientationId id;
    PersonId person;
    TrainingSessionId session;
    StructureId organisation;  // the session's formation's training organisation
    OrientationStatus status = OrientationStatus::kProposed;
    int32_t proposed_days = 0;     // proposed_on, days since 1970-01-01
    int32_t session_end_days = 0;  // the session's end, days since 1970-01-01
  };
  void ForEachOrientation(const std::function<void(const OrientationInfo&)>& fn) const;
  // The largest person id known (0 if none): dense per-person arrays fit in
  // max_person_id() + 1 slots.
  int64_t max_person_id() const;

  // "ML-67-003", or "#<id>" if not indexed.
  std::string StructureCode(StructureId id) const;
  std::string SessionCode(TrainingSessionId id) const;

 private:
  friend class Engine;
  static constexpr uint32_t kNone = UINT32_MAX;

  struct StructNode {
    int64_t id = 0;
    uint32_t parent = kNone;  // dense index
    uint32_t anc_off = 0;     // ancestors_[anc_off + d] = ancestor at depth d (root..self)
    uint8_t depth = 0;
    StructureKind kind = StructureKind::kAgency;
  };
  struct SessionNode {
    int64_t id = 0;
    uint32_t organisation = kNone;  // dense structure index
    int32_t start_days = 0;
    int32_t end_days = 0;
  };
  struct PersonSlot {
    uint32_t referent = kNone;      // dense structure index; kNone: not followed
    uint32_t counsellor = 0;        // referent counsellor's account id, 0 = none
    uint32_t first_link = kNone;    // into links_
  };
  enum class LinkKind : uint8_t { kFree, kStructure, kOrientation };
  struct Link {
    uint32_t next = kNone;
    LinkKind kind = LinkKind::kFree;
    uint8_t status = 0;        // OrientationStatus
    uint32_t target = kNone;   // structure (kStructure) or session (kOrientation) dense index
    int32_t from_days = 0;     // orientation: proposed_on
    uint32_t orientation = 0;  // orientation id
  };

  static Status CheckId(int64_t v, std::string_view what);
  uint32_t StructIndex(StructureId id) const {
    const int64_t v = id.value();
    return (v > 0 && static_cast<uint64_t>(v) < struct_dense_.size()) ? struct_dense_[v] : kNone;
  }
  uint32_t SessionIndex(TrainingSessionId id) const {
    const int64_t v = id.value();
    return (v > 0 && static_cast<uint64_t>(v) < session_dense_.size()) ? session_dense_[v] : kNone;
  }
  const PersonSlot* Slot(PersonId id) const {
    const int64_t v = id.value();
    if (v <= 0 || static_cast<uint64_t>(v) >= persons_.size()) return nullptr;
    const PersonSlot& s = persons_[v];
    return (s.referent == kNone && s.first_link == kNone) ? nullptr : &s;
  }
  // `a` is `t` or one of its ancestors.
  bool IsSelfOrAncestor(uint32_t a, uint32_t t) const {
    const StructNode& tn = structs_[t];
    const uint8_t d = structs_[a].depth;
    return d <= tn.depth && ancestors_[tn.anc_off + d] == a;
  }
  uint32_t NewLink();
  void RebuildAncestorsLocked();
  PersonSlot& SlotForWrite(int64_t v);

  mutable std::shared_mutex mu_;
  // Structures.
  std::vector<uint32_t> struct_dense_;  // by StructureId value
  std::vector<StructNode> structs_;
  std::vector<std::string> struct_codes_;
  std::vector<uint32_t> ancestors_;
  // Formations and sessions.
  std::vector<uint32_t> formation_org_;  // by FormationId value -> dense structure index
  std::vector<uint32_t> session_dense_;  // by TrainingSessionId value
  std::vector<SessionNode> sessions_;
  std::vector<std::string> session_codes_;
  // People and their links.
  std::vector<PersonSlot> persons_;  // by PersonId value
  size_t person_count_ = 0;
  std::vector<Link> links_;
  std::vector<uint32_t> free_links_;
  std::vector<uint32_t> orientation_link_;  // by OrientationId value -> links_ index
  size_t orientation_count_ = 0;
};

}  // namespace cloison::policy
