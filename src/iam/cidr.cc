#include "iam/cidr.h"

#include <arpa/inet.h>

#include <charconv>

#include "core/strings.h"

namespace cloison::iam {

bool Cidr::ParseAddress(std::string_view text, bool& v6, std::array<uint8_t, 16>& out) {
  std::string s(text);
  out.fill(0);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  Cidr c;
  auto slash = text.find('/');
  std::string_view addr = text.substr(0, slash);
  if (!ParseAddress(addr, c.v6_, c.addr_)) return InvalidArgument(StrCat("not a network address: '", text, "'"));
  const int max = c.v6_ ? 128 : 32;
  c.prefix_ = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    int v = -1;
    auto r = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || r.ec != std::errc() || r.ptr != p.data() + p.size() || v < 0 || v > max)
      return InvalidArgument(StrCat("bad prefix length in '", text, "'"));
    c.prefix_ = v;
  }
  // Canonicalise: clear host bits so equal blocks compare equal.
  for (int bit = c.prefix_; bit < max; ++bit) c.addr_[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return c;
}

bool Cidr::PrefixMatches(const std::array<uint8_t, 16>& a) const {
  int full = prefix_ / 8, rest = prefix_ % 8;
  for (int i = 0; i < full; ++i)
    if (a[i] != addr_[i]) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (addr_[full] & mask);
}

bool Cidr::Contains(std::string_view address) const {
  bool v6 = false;
  std::array<uint8_t, 16> a;
  if (!ParseAddress(address, v6, a) || v6 != v6_) return false;
  return PrefixMatches(a);
}

bool Cidr::Covers(const Cidr& inner) const {
  return inner.v6_ == v6_ && inner.prefix_ >= prefix_ && PrefixMatches(inner.addr_);
}

std::string Cidr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, addr_.data(), buf, sizeof buf);
  return StrCat(buf, "/", prefix_);
}

}  // namespace cloison::iam
