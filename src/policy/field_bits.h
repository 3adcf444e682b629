// A set of catalog fields, as a 64-bit mask indexed like
// FieldCatalog::fields(). A decision carries one (the released fields); the
// store reads only those (ToFieldMask). The policy refuses a catalog of more
// than 64 fields at load, so every index fits.
#pragma once

#include <bit>
#include <cstdint>

#include "store/store.h"

namespace cloison::policy {

inline constexpr size_t kMaxFields = 64;

class FieldBits {
 public:
  constexpr FieldBits() = default;
  constexpr explicit FieldBits(uint64_t bits) : bits_(bits) {}

  constexpr bool has(size_t i) const { return i < kMaxFields && ((bits_ >> i) & 1u); }
  constexpr void set(size_t i) { bits_ |= (uint64_t{1} << i); }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr int count() const { return std::popcount(bits_); }
  constexpr uint64_t bits() const { return bits_; }
  // True if every field of `other` is in this set.
  constexpr bool contains(FieldBits other) const { return (other.bits_ & ~bits_) == 0; }
  constexpr FieldBits operator|(FieldBits o) const { return FieldBits(bits_ | o.bits_); }
  constexpr FieldBits operator&(FieldBits o) const { return FieldBits(bits_ & o.bits_); }
  constexpr FieldBits operator-(FieldBits o) const { return FieldBits(bits_ & ~o.bits_); }
  friend constexpr bool operator==(FieldBits, FieldBits) = default;

  // The store's mask for reading exactly these fields of a catalog of
  // `catalog_size` fields. Never returns the "all fields" mask (an empty
  // include vector): an empty set reads nothing.
  store::FieldMask ToFieldMask(size_t catalog_size) const {
    store::FieldMask m;
    m.include.assign(catalog_size == 0 ? 1 : catalog_size, false);
    for (size_t i = 0; i < catalog_size; ++i) m.include[i] = has(i);
    return m;
  }

 private:
  uint64_t bits_ = 0;
};

}  // namespace cloison::policy
