#include "api/guard_support.h"

#include <charconv>

#include "core/date.h"
#include "core/strings.h"

namespace cloison::api {

guard::AccountProfile GuardProfile(const iam::Account& a, const Structure* s, UnixMicros now) {
  guard::AccountProfile p;
  p.account = a.id;
  p.technical = a.kind == iam::AccountKind::kTechnical;
  p.structure = a.structure;
  p.roles = a.roles;
  p.created_at = a.created_at;
  p.probation = a.InProbation(now);
  p.created_by = a.created_by;
  p.approved_by = a.approved_by;
  if (s != nullptr) {
    p.structure_kind = s->kind;
    if (!s->time_zone.empty()) p.time_zone = s->time_zone;
    p.hours = s->hours;
  }
  return p;
}

void IamAccountControl::Suspend(AccountId account, std::string_view reason) {
  // The Gate prefixes its reasons with "guard: "; iam adds its own.
  constexpr std::string_view kPrefix = "guard: ";
  if (reason.substr(0, kPrefix.size()) == kPrefix) reason.remove_prefix(kPrefix.size());
  std::lock_guard lock(mu_);
  if (!iam_.SuspendByGuard(account, reason).ok()) ++failures_;
}

int64_t IamAccountControl::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::optional<guard::Access> GuardAccessOf(const audit::Event& e) {
  guard::Access a;
  a.time = e.time;
  a.account = e.account;
  a.source = e.source;
  a.persons = e.persons;
  if (!e.account.valid() || e.persons.empty()) return std::nullopt;
  if (e.kind == audit::EventKind::kDenial) {
    // Other routes' denials (updates, orientations) carry details.action and
    // were never scored.
    if (e.details.count("action") || e.decision != "deny") return std::nullopt;
    a.kind = guard::AccessKind::kDenied;
    return a;
  }
  if (e.kind != audit::EventKind::kRead || e.decision != "allow") return std::nullopt;
  auto kind = e.details.find("kind");
  if (kind == e.details.end()) {
    if (e.persons.size() != 1) return std::nullopt;
    a.kind = e.details.count("reveal") ? guard::AccessKind::kReveal : guard::AccessKind::kRead;
    return a;
  }
  if (kind->second == "list") a.kind = guard::AccessKind::kList;
  else if (kind->second == "search") a.kind = guard::AccessKind::kSearch;
  else return std::nullopt;
  if (auto q = e.details.find("query"); q != e.details.end()) a.query = q->second;
  // 1-based in the log: numbers.page since the API wrote machine integers
  // there; details.page (a decimal string) in entries written before.
  if (auto n = e.numbers.find("page"); n != e.numbers.end()) {
    if (n->second >= 1) a.page = n->second - 1;
  } else if (auto p = e.details.find("page"); p != e.details.end()) {
    int64_t page = 0;
    const auto [ptr, ec] = std::from_chars(p->second.data(), p->second.data() + p->second.size(), page);
    if (ec == std::errc() && ptr == p->second.data() + p->second.size() && page >= 1) a.page = page - 1;
  }
  return a;
}

namespace {

// Exactly `n` digits at s[pos...]; advances pos.
bool Digits(std::string_view s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

}  // namespace

std::optional<UnixMicros> ParseIsoTime(std::string_view s) {
  if (s.size() < 10) return std::nullopt;
  const std::optional<Date> d = Date::Parse(s.substr(0, 10));
  if (!d) return std::nullopt;
  int64_t seconds = d->ToDays() * 86'400;
  if (s.size() == 10) return seconds * 1'000'000;
  size_t pos = 10;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int hh = 0, mm = 0, ss = 0;
  if (!Digits(s, pos, 2, hh) || pos >= s.size() || s[pos++] != ':' || !Digits(s, pos, 2, mm)) return std::nullopt;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!Digits(s, pos, 2, ss)) return std::nullopt;
  }
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  seconds += hh * 3600 + mm * 60 + ss;
  if (pos >= s.size()) return std::nullopt;  // a zone is required: local time is ambiguous
  if (s[pos] == 'Z' || s[pos] == 'z') {
    if (pos + 1 != s.size()) return std::nullopt;
    return seconds * 1'000'000;
  }
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos] == '+' ? 1 : -1;
  ++pos;
  int oh = 0, om = 0;
  if (!Digits(s, pos, 2, oh) || pos >= s.size() || s[pos++] != ':' || !Digits(s, pos, 2, om) || pos != s.size())
    return std::nullopt;
  if (oh > 14 || om > 59) return std::nullopt;
  seconds -= sign * (oh * 3600 + om * 60);
  return seconds * 1'000'000;
}

}  // namespace cloison::api
