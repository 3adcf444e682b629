// Source-network checks for technical accounts: IPv4 and IPv6 CIDR blocks.
// A bare address is a /32 (IPv4) or /128 (IPv6) block. IPv4 addresses never
// match IPv6 blocks and vice versa (IPv4-mapped IPv6 addresses are not
// unmapped: list both forms if a proxy produces them). Thread-safe (values).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cloison::iam {

class Cidr {
 public:
  // InvalidArgument naming the text if it is not "address[/prefix]".
  static StatusOr<Cidr> Parse(std::string_view text);
  // False for anything that is not a valid address.
  bool Contains(std::string_view address) const;
  // True if every address of `inner` is in this block.
  bool Covers(const Cidr& inner) const;
  // Canonical text ("10.0.0.0/8").
  std::string ToString() const;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> addr_{};
  int prefix_ = 0;
  static bool ParseAddress(std::string_view text, bool& v6, std::array<uint8_t, 16>& out);
  bool PrefixMatches(const std::array<uint8_t, 16>& a) const;
};

}  // namespace cloison::iam
