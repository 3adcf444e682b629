#include "core/identifiers.h"

#include <cctype>

namespace cloison {

namespace {
bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
int TwoDigits(std::string_view s, size_t pos) { return (s[pos] - '0') * 10 + (s[pos + 1] - '0'); }
}  // namespace

std::optional<int> NirKey(std::string_view s) {
  if (s.size() != 13) return std::nullopt;
  // Positions 5-6 (0-based) are the département: digits, or 2A / 2B.
  for (size_t i = 0; i < 13; ++i) {
    if (i == 6 && s[5] == '2' && (s[6] == 'A' || s[6] == 'B')) continue;
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  // 13 digits fit in uint64 (< 10^13). Corsica: 2A -> 19, 2B -> 18 (the
  // département digits are replaced before the modulo).
  uint64_t n = 0;
  for (size_t i = 0; i < 13; ++i) {
    if (i == 5 && s[5] == '2' && (s[6] == 'A' || s[6] == 'B')) {
      n = n * 100 + (s[6] == 'A' ? 19 : 18);
      ++i;
      continue;
    }
    n = n * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  return 97 - static_cast<int>(n % 97);
}

Status ValidateNir(std::string_view nir) {
  if (nir.size() != 15) return InvalidArgument("NIR must have 15 characters");
  const char sex = nir[0];
  if (sex != '1' && sex != '2' && sex != '3' && sex != '4' && sex != '7' && sex != '8')
    return InvalidArgument("NIR sex digit must be 1 or 2 (3, 4, 7, 8 for provisional numbers)");
  if (!AllDigits(nir.substr(1, 4))) return InvalidArgument("NIR year and month must be digits");
  const int month = TwoDigits(nir, 3);
  if (!((month >= 1 && month <= 12) || (month >= 20 && month <= 42) || (month >= 50 && month <= 99)))
    return InvalidArgument("NIR birth month is impossible");
  const std::string_view dep = nir.substr(5, 2);
  if (dep == "2A" || dep == "2B") {
    // Corsica: fine.
  } else if (!AllDigits(dep)) {
    return InvalidArgument("NIR département must be digits, 2A or 2B");
  } else {
    const int d = TwoDigits(nir, 5);
    if (d == 0 || d == 96) return InvalidArgument("NIR département is impossible");
    if (d == 20) return InvalidArgument("NIR département 20 must be written 2A or 2B");
  }
  if (!AllDigits(nir.substr(7, 8))) return InvalidArgument("NIR commune, order and key must be digits");
  if (nir.substr(10, 3) == "000") return InvalidArgument("NIR order number cannot be 000");
  const auto key = NirKey(nir.substr(0, 13));
  if (!key) return InvalidArgument("NIR is malformed");
  if (*key != TwoDigits(nir, 13)) return InvalidArgument("NIR key does not match");
  return OkStatus();
}

std::string CanonicalNir(std::string_view nir) {
  std::string out;
  out.reserve(15);
  for (char c : nir) {
    if (c == ' ' || c == '.' || c == '-') continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

bool IsValidEmail(std::string_view e) {
  if (e.size() < 3 || e.size() > 254) return false;
  const size_t at = e.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || e.find('@', at + 1) != std::string_view::npos)
    return false;
  const std::string_view local = e.substr(0, at), domain = e.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  for (char c : local) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos))
      return false;
  }
  if (domain.size() < 3 || domain.find('.') == std::string_view::npos) return false;
  size_t label_len = 0;
  char prev = '.';
  for (char c : domain) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (label_len == 0 || prev == '-') return false;
      label_len = 0;
    } else if (std::isalnum(u) || c == '-') {
      if (label_len == 0 && c == '-') return false;
      if (++label_len > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return label_len >= 2 && prev != '-';
}

std::string CanonicalFrenchPhone(std::string_view p) {
  std::string digits;
  size_t i = 0;
  if (p.size() >= 3 && p.substr(0, 3) == "+33") {
    digits.push_back('0');  // (push_back, not = "0": GCC 12 warns falsely on the latter)
    i = 3;
  }
  for (; i < p.size(); ++i) {
    const char c = p[i];
    if (c == ' ' || c == '.' || c == '-') continue;
    digits.push_back(c);
  }
  return digits;
}

bool IsValidFrenchPhone(std::string_view p) {
  if (p.empty() || p.size() > 20) return false;
  const std::string d = CanonicalFrenchPhone(p);
  return d.size() == 10 && AllDigits(d) && d[0] == '0' && d[1] >= '1' && d[1] <= '9';
}

bool IsMobilePhone(std::string_view p) { return p.size() == 10 && p[0] == '0' && (p[1] == '6' || p[1] == '7'); }

bool IsValidFtId(std::string_view id) { return id.size() == 11 && AllDigits(id); }

bool IsValidFtIdLegacy(std::string_view id) {
  return id.size() == 8 && AllDigits(id.substr(0, 7)) && id[7] >= 'A' && id[7] <= 'Z';
}

bool IsValidPostcode(std::string_view pc) {
  if (pc.size() != 5 || !AllDigits(pc)) return false;
  const int dep = TwoDigits(pc, 0);
  return dep >= 1 && dep <= 98;
}

}  // namespace cloison
