#include "audit/event.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "core/strings.h"

namespace cloison::audit {
namespace {

struct KindName {
  EventKind kind;
  std::string_view name;
};
constexpr KindName kKinds[] = {
    {EventKind::kRead, "read"},
    {EventKind::kDenial, "denial"},
    {EventKind::kLogin, "login"},
    {EventKind::kLoginFailed, "login_failed"},
    {EventKind::kMfa, "mfa"},
    {EventKind::kLockout, "lockout"},
    {EventKind::kLogout, "logout"},
    {EventKind::kAccountChange, "account_change"},
    {EventKind::kRoleChange, "role_change"},
    {EventKind::kChangeRequest, "change_request"},
    {EventKind::kApproval, "approval"},
    {EventKind::kGuardAction, "guard_action"},
    {EventKind::kKeyRotation, "key_rotation"},
    {EventKind::kExport, "export"},
    {EventKind::kSystem, "system"},
};

// Replaces invalid UTF-8 sequences by U+FFFD.
std::string ValidUtf8(std::string_view s) {
  // ASCII up to the first byte >= 0x80 (all of most texts) is valid as is.
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  if (i == s.size()) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  out.append(s.data(), i);
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out.push_back(char(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07;
    }
    bool ok = n != 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values above U+10FFFF are invalid too.
    if (ok && ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
               (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// Whether RedactFreeText could change `s`: each of its rules starts at a
// digit, a '+' or an '@'.
bool MayHoldIdentifier(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return IsDigit(c) || c == '+' || c == '@'; });
}
// Whether RedactFreeText returns `s` unchanged for certain: ASCII with no
// digit, '+' or '@' (field names, purposes, rule ids, most of an entry).
bool RedactionKeeps(std::string_view s) {
  return !MayHoldIdentifier(s) &&
         std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiAlnum(char c) { return IsDigit(c) || IsUpper(c) || (c >= 'a' && c <= 'z'); }
bool IsMailChar(char c) {
  return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '%';
}
// Separators people put between digit groups: "06 12 34 56 78", "06.12...", "06-12-...".
bool IsGroupSeparator(char c) { return c == ' ' || c == '.' || c == '-'; }

struct NumberRun {
  size_t end = 0;       // one past the last digit
  size_t digits = 0;
  bool plain = true;    // digits only, no separator or letter inside
};

// The number starting at s[i] (a digit): digits, with single separators
// between digits, and A/B between digits (Corsican NIRs: "2A", "2B").
NumberRun ScanNumber(std::string_view s, size_t i) {
  NumberRun r;
  size_t j = i;
  while (j < s.size()) {
    if (IsDigit(s[j])) {
      ++r.digits;
      r.end = ++j;
      continue;
    }
    const bool between = j > i && IsDigit(s[j - 1]) && j + 1 < s.size() && IsDigit(s[j + 1]);
    if (between && (IsGroupSeparator(s[j]) || s[j] == 'A' || s[j] == 'B')) {
      r.plain = false;
      ++j;
      continue;
    }
    break;
  }
  return r;
}

// An international number after '+' ("+33 6 12 34 56 78", "+33 (0)6 12 ...",
// "+44 20 7946 0958"): how many digits, and where it ends. The "(0)" trunk
// prefix is skipped, not counted.
NumberRun ScanInternational(std::string_view s, size_t plus) {
  NumberRun r;
  size_t j = plus + 1;
  while (j < s.size()) {
    if (IsDigit(s[j])) {
      ++r.digits;
      r.end = ++j;
      continue;
    }
    if (r.digits > 0 && s.substr(j, 3) == "(0)") {
      j += 3;
      continue;
    }
    if (r.digits > 0 && s.substr(j, 4) == " (0)") {
      j += 4;
      continue;
    }
    if (r.digits > 0 && IsGroupSeparator(s[j]) && j + 1 < s.size() && (IsDigit(s[j + 1]) || s[j + 1] == '(')) {
      ++j;
      continue;
    }
    break;
  }
  return r;
}

void AppendString(std::string& out, std::string_view s) { AppendJsonQuoted(out, s); }

void AppendKey(std::string& out, bool& first, std::string_view key) {
  if (!first) out.push_back(',');
  first = false;
  AppendString(out, key);
  out.push_back(':');
}

}  // namespace

std::string_view EventKindName(EventKind k) {
  for (const auto& e : kKinds) {
    if (e.kind == k) return e.name;
  }
  return "system";
}

std::optional<EventKind> ParseEventKind(std::string_view s) {
  for (const auto& e : kKinds) {
    if (e.name == s) return e.kind;
  }
  return std::nullopt;
}

std::string RedactFreeText(std::string_view text) {
  // Most texts (field names, purposes, rule ids; an entry holds dozens)
  // have nothing a rule below starts at, and are returned without the scan.
  if (!MayHoldIdentifier(text)) return ValidUtf8(text);
  const std::string s = ValidUtf8(text);
  std::string out;
  out.reserve(s.size());
  constexpr std::string_view kRedacted = "[redacted]";
  size_t i = 0;
  while (i < s.size()) {
    // Word boundaries keep ids inside handles ("s-0123456789abcdef") and
    // words intact; NIR-length runs are redacted even without them.
    const bool bounded_before = i == 0 || !IsAsciiAlnum(s[i - 1]);
    if (s[i] == '+' && bounded_before && i + 1 < s.size() && IsDigit(s[i + 1])) {
      // An international phone number: 8 or more digits after '+'.
      const NumberRun r = ScanInternational(s, i);
      const bool bounded_after = r.end == s.size() || !IsAsciiAlnum(s[r.end]);
      if (r.digits >= 13 || (r.digits >= 8 && bounded_after)) {
        out.append(kRedacted);
        i = r.end;
        continue;
      }
    }
    if (IsDigit(s[i])) {
      const NumberRun r = ScanNumber(s, i);
      const bool bounded = bounded_before && (r.end == s.size() || !IsAsciiAlnum(s[r.end]));
      // 13+ digits, separators allowed: a NIR (with or without key), a card
      // or bank account number, a 0033... phone number.
      const bool nir = r.digits >= 13;
      // 11 or 12 digits in one block: a France Travail id (11 digits), or
      // another long identifier.
      const bool long_id = bounded && r.plain && r.digits >= 11;
      // A French phone number: 10 digits starting with 0, groups allowed.
      const bool phone = bounded && r.digits == 10 && s[i] == '0';
      // The legacy France Travail id: 7 digits and one upper-case letter.
      const bool legacy_ft = bounded_before && r.plain && r.digits == 7 && r.end < s.size() && IsUpper(s[r.end]) &&
                             (r.end + 1 == s.size() || !IsAsciiAlnum(s[r.end + 1]));
      if (nir || long_id || phone) {
        out.append(kRedacted);
        i = r.end;
        continue;
      }
      if (legacy_ft) {
        out.append(kRedacted);
        i = r.end + 1;
        continue;
      }
      out.append(s, i, r.end - i);
      i = r.end;
      continue;
    }
    if (s[i] == '@') {
      // local@domain.tld: remove the local part already copied and the domain.
      size_t start = out.size();
      while (start > 0 && IsMailChar(out[start - 1])) --start;
      size_t j = i + 1;
      bool dot = false;
      while (j < s.size() && IsMailChar(s[j])) dot |= s[j++] == '.';
      if (start < out.size() && dot && j > i + 2) {
        out.resize(start);
        out.append(kRedacted);
        i = j;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

namespace {

// The one serialization of `e` at `version`. EncodeEvent redacts every
// string on the way; DecodeEvent re-serializes what it parsed as is, to
// check the form (see event.h).
std::string Serialize(const Event& e, int version, bool redact) {
  auto text = [redact](std::string_view v) { return redact ? RedactFreeText(v) : std::string(v); };
  std::string out;
  out.reserve(512);  // a read's entry names its released fields: a few hundred bytes
  // Appends a value as text() would give it, without the copy when
  // redaction cannot change it.
  auto put = [&](std::string_view v) {
    if (!redact || RedactionKeeps(v)) AppendString(out, v);
    else AppendString(out, RedactFreeText(v));
  };
  out.push_back('{');
  bool first = true;
  // Members in byte order of their names.
  if (e.account.value() != 0) {
    AppendKey(out, first, "account");
    out.append(StrCat(e.account.value()));
  }
  if (!e.decision.empty()) {
    AppendKey(out, first, "decision");
    put(e.decision);
  }
  if (!e.details.empty()) {
    // Keys are redacted too; two keys could collapse into one after that, so
    // rebuild the (sorted) map first.
    // Keys redaction cannot change (all of them, in practice: "rule",
    // "reveal", ...) keep their order and cannot collide: no rebuild then.
    const bool plain_keys =
        !redact || std::all_of(e.details.begin(), e.details.end(), [](const auto& kv) { return RedactionKeeps(kv.first); });
    AppendKey(out, first, "details");
    out.push_back('{');
    bool f2 = true;
    if (plain_keys) {
      for (const auto& [k, v] : e.details) {
        AppendKey(out, f2, k);
        put(v);
      }
    } else {
      std::map<std::string, std::string> d;
      for (const auto& [k, v] : e.details) d[text(k)] = text(v);
      for (const auto& [k, v] : d) {
        AppendKey(out, f2, k);
        AppendString(out, v);
      }
    }
    out.push_back('}');
  }
  if (!e.fields.empty()) {
    AppendKey(out, first, "fields");
    out.push_back('[');
    for (size_t i = 0; i < e.fields.size(); ++i) {
      if (i) out.push_back(',');
      put(e.fields[i]);
    }
    out.push_back(']');
  }
  if (!e.justification.empty()) {
    AppendKey(out, first, "justification");
    put(e.justification);
  }
  AppendKey(out, first, "kind");
  AppendString(out, EventKindName(e.kind));
  if (version >= 2 && !e.numbers.empty()) {
    std::map<std::string, int64_t> n;
    for (const auto& [k, v] : e.numbers) n[text(k)] = v;
    AppendKey(out, first, "numbers");
    out.push_back('{');
    bool f2 = true;
    for (const auto& [k, v] : n) {
      AppendKey(out, f2, k);
      out.append(StrCat(v));
    }
    out.push_back('}');
  }
  if (!e.persons.empty()) {
    AppendKey(out, first, "persons");
    out.push_back('[');
    for (size_t i = 0; i < e.persons.size(); ++i) {
      if (i) out.push_back(',');
      out.append(StrCat(e.persons[i].value()));
    }
    out.push_back(']');
  }
  if (!e.purpose.empty()) {
    AppendKey(out, first, "purpose");
    put(e.purpose);
  }
  if (!e.reason.empty()) {
    AppendKey(out, first, "reason");
    put(e.reason);
  }
  if (!e.session.empty()) {
    AppendKey(out, first, "session");
    put(e.session);
  }
  if (!e.source.empty()) {
    AppendKey(out, first, "source");
    put(e.source);
  }
  AppendKey(out, first, "time");
  out.append(StrCat(e.time));
  AppendKey(out, first, "v");
  out.append(StrCat(version));
  out.push_back('}');
  return out;
}

}  // namespace

std::string EncodeEvent(const Event& e) { return Serialize(e, Event::kVersion, /*redact=*/true); }

StatusOr<Event> DecodeEvent(std::string_view bytes, int* version_out) {
  nlohmann::json j;
  int64_t version = 0;
  try {
    j = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception&) {
    return Corruption("audit entry is not JSON");
  }
  if (!j.is_object()) return Corruption("audit entry is not a JSON object");
  Event e;
  try {
    if (!j.contains("v") || !j["v"].is_number_integer()) return Corruption("audit entry has no version");
    version = j["v"].get<int64_t>();
    if (version < Event::kOldestVersion || version > Event::kVersion) {
      return Corruption(StrCat("audit entry version ", version, " is not supported"));
    }
    auto kind = ParseEventKind(j.at("kind").get<std::string>());
    if (!kind) return Corruption("audit entry has an unknown kind");
    e.kind = *kind;
    e.time = j.at("time").get<int64_t>();
    if (j.contains("account")) e.account = AccountId(j["account"].get<int64_t>());
    if (j.contains("session")) e.session = j["session"].get<std::string>();
    if (j.contains("source")) e.source = j["source"].get<std::string>();
    if (j.contains("persons")) {
      for (const auto& p : j["persons"]) e.persons.emplace_back(p.get<int64_t>());
    }
    if (j.contains("fields")) {
      for (const auto& f : j["fields"]) e.fields.push_back(f.get<std::string>());
    }
    if (j.contains("purpose")) e.purpose = j["purpose"].get<std::string>();
    if (j.contains("justification")) e.justification = j["justification"].get<std::string>();
    if (j.contains("decision")) e.decision = j["decision"].get<std::string>();
    if (j.contains("reason")) e.reason = j["reason"].get<std::string>();
    if (j.contains("details")) {
      for (const auto& [k, v] : j["details"].items()) e.details[k] = v.get<std::string>();
    }
    if (j.contains("numbers")) {
      if (version < 2) return Corruption("audit entry of version 1 has a numbers member");
      for (const auto& [k, v] : j["numbers"].items()) {
        if (!v.is_number_integer()) return Corruption("audit entry has a non-integer number");
        e.numbers[k] = v.get<int64_t>();
      }
    }
  } catch (const nlohmann::json::exception&) {
    return Corruption("audit entry has a member of the wrong type");
  }
  if (Serialize(e, static_cast<int>(version), /*redact=*/false) != bytes) {
    return Corruption("audit entry is not in canonical form");
  }
  if (version_out) *version_out = static_cast<int>(version);
  return e;
}

}  // namespace cloison::audit
