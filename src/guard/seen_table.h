// SeenTable: the people one account touched, each with the minute of its last
// read and of its last listing. It is the guard's hottest lookup: every
// access, every person of a listed page.
//
// Why not absl::flat_hash_map: its control bytes live in one array and its
// slots in another, so a lookup in a table that is not in cache costs two
// misses; the guard's working set (thousands of accounts x hundreds of people)
// is not in cache. Here a slot is 16 bytes holding the key and both stamps,
// with linear probing: one miss for a lookup, and Prefetch() lets a caller
// overlap the misses of a page of 20 people.
//
// Capacity is a power of two, at most 3/4 full. Erasure (EraseIf) rebuilds the
// table: it only happens when bounding an account's memory, rarely. Every key
// is allowed, including the slot marker's (kept in a side slot).
//
// Not thread-safe: the guard's shard lock guards each account's table.
// References returned by operator[] are invalidated by the next insertion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

namespace cloison::guard {

struct Seen {
  uint32_t last_read = 0;  // unix minute; 0 = never
  uint32_t last_list = 0;
};

class SeenTable {
 public:
  SeenTable() = default;
  SeenTable(const SeenTable&) = delete;
  SeenTable& operator=(const SeenTable&) = delete;
  SeenTable(SeenTable&&) noexcept = default;
  SeenTable& operator=(SeenTable&&) noexcept = default;

  // The entry for `key`, inserted zeroed if absent.
  Seen& operator[](int64_t key) {
    if (key == kEmpty) {
      if (!has_marker_key_) has_marker_key_ = true, marker_seen_ = {}, ++size_;
      return marker_seen_;
    }
    if ((size_ + 1) * 4 > capacity() * 3) Rehash(capacity() == 0 ? kMinCapacity : capacity() * 2);
    for (size_t i = Index(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return s.seen;
      if (s.key == kEmpty) {
        s.key = key;
        s.seen = {};
        ++size_;
        return s.seen;
      }
    }
  }

  // The entry for `key`, or nullptr.
  const Seen* find(int64_t key) const {
    if (key == kEmpty) return has_marker_key_ ? &marker_seen_ : nullptr;
    if (capacity() == 0) return nullptr;
    for (size_t i = Index(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.seen;
      if (s.key == kEmpty) return nullptr;
    }
  }

  // Starts loading the cache line where `key` would be.
  void Prefetch(int64_t key) const {
    if (capacity() != 0) __builtin_prefetch(&slots_[Index(key)]);
  }

  // Where the slots are, kept by a caller beside its pointer to the table so
  // that it can prefetch a key's slot without first loading the table object
  // (another miss). A hint goes stale when the table grows or shrinks; a
  // stale hint only prefetches a useless line: a prefetch never faults and is
  // not a memory access (the slots it names may have been freed).
  // (An address, not a pointer: no pointer arithmetic on freed memory.)
  struct Hint {
    uintptr_t slots = 0;
    int shift = 64;
  };
  Hint hint() const { return {reinterpret_cast<uintptr_t>(slots_.get()), shift_}; }
  static void Prefetch(const Hint& h, int64_t key) {
    if (h.slots == 0) return;
    const uintptr_t at = h.slots + ((static_cast<uint64_t>(key) * kFib) >> h.shift) * sizeof(Slot);
    __builtin_prefetch(reinterpret_cast<const void*>(at));
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Room for `n` entries without rehashing.
  void reserve(size_t n) {
    size_t cap = kMinCapacity;
    while (cap * 3 < n * 4) cap *= 2;
    if (cap > capacity()) Rehash(cap);
  }

  // f(int64_t key, const Seen&) for every entry, in no particular order.
  template <class F>
  void ForEach(F&& f) const {
    if (has_marker_key_) f(kEmpty, marker_seen_);
    for (size_t i = 0; i < capacity(); ++i)
      if (slots_[i].key != kEmpty) f(slots_[i].key, slots_[i].seen);
  }

  // Removes the entries for which pred(key, seen) is true; returns how many.
  template <class Pred>
  size_t EraseIf(Pred&& pred) {
    const size_t before = size_;
    SeenTable kept;
    size_t survivors = 0;
    ForEach([&](int64_t k, const Seen& s) { survivors += !pred(k, s); });
    kept.reserve(survivors);
    ForEach([&](int64_t k, const Seen& s) {
      if (!pred(k, s)) kept[k] = s;
    });
    *this = std::move(kept);
    return before - size_;
  }

 private:
  struct Slot {
    int64_t key;
    Seen seen;
  };
  static_assert(sizeof(Slot) == 16, "four slots per cache line");
  static constexpr int64_t kEmpty = std::numeric_limits<int64_t>::min();
  static constexpr size_t kMinCapacity = 16;
  static constexpr uint64_t kFib = 0x9E3779B97F4A7C15ull;

  size_t capacity() const { return slots_ ? mask_ + 1 : 0; }
  // Fibonacci hashing: person ids of one caseload are clustered; the
  // multiplication spreads them, the high bits pick the slot.
  size_t Index(int64_t key) const {
    return static_cast<size_t>((static_cast<uint64_t>(key) * kFib) >> shift_);
  }

  void Rehash(size_t new_capacity) {
    std::unique_ptr<Slot[]> old = std::move(slots_);
    const size_t old_capacity = old ? mask_ + 1 : 0;
    slots_ = std::make_unique<Slot[]>(new_capacity);
    for (size_t i = 0; i < new_capacity; ++i) slots_[i].key = kEmpty;
    mask_ = new_capacity - 1;
    shift_ = 64;
    for (size_t c = new_capacity; c > 1; c >>= 1) --shift_;
    for (size_t i = 0; i < old_capacity; ++i) {
      if (old[i].key == kEmpty) continue;
      size_t j = Index(old[i].key);
      while (slots_[j].key != kEmpty) j = (j + 1) & mask_;
      slots_[j] = old[i];
    }
  }

  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;  // including the marker key's side slot
  bool has_marker_key_ = false;
  Seen marker_seen_;
};

}  // namespace cloison::guard
