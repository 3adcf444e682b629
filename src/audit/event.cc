#include "audit/event.h"

#include <nlohmann/json.hpp>

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
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
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
bool IsMailChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '.' || c == '_' || c == '-' ||
         c == '+' || c == '%';
}

void AppendString(std::string& out, std::string_view s) {
  static const char* kHex = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

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
  std::string s = ValidUtf8(text);
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    // A run of digits, possibly with single spaces/dots between groups, of
    // 13 or more digits: a NIR (with or without key), or a card or account
    // number. Corsican NIRs (2A/2B) are covered by their 13 remaining digits.
    if (IsDigit(s[i])) {
      size_t j = i, digits = 0, last_digit_end = i;
      while (j < s.size() && (IsDigit(s[j]) || s[j] == 'A' || s[j] == 'B' ||
                              ((s[j] == ' ' || s[j] == '.') && j + 1 < s.size() && IsDigit(s[j + 1])))) {
        if (IsDigit(s[j])) ++digits;
        ++j;
        last_digit_end = j;
      }
      if (digits >= 13) {
        out.append("[redacted]");
      } else {
        out.append(s, i, last_digit_end - i);
      }
      i = last_digit_end;
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
        out.append("[redacted]");
        i = j;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

std::string EncodeEvent(const Event& e) {
  std::string out;
  out.reserve(160);
  out.push_back('{');
  bool first = true;
  // Members in byte order of their names.
  if (e.account.value() != 0) {
    AppendKey(out, first, "account");
    out.append(StrCat(e.account.value()));
  }
  if (!e.decision.empty()) {
    AppendKey(out, first, "decision");
    AppendString(out, RedactFreeText(e.decision));
  }
  if (!e.details.empty()) {
    // Keys are redacted too; two keys could collapse into one after that, so
    // rebuild the (sorted) map first.
    std::map<std::string, std::string> d;
    for (const auto& [k, v] : e.details) d[RedactFreeText(k)] = RedactFreeText(v);
    AppendKey(out, first, "details");
    out.push_back('{');
    bool f2 = true;
    for (const auto& [k, v] : d) {
      AppendKey(out, f2, k);
      AppendString(out, v);
    }
    out.push_back('}');
  }
  if (!e.fields.empty()) {
    AppendKey(out, first, "fields");
    out.push_back('[');
    for (size_t i = 0; i < e.fields.size(); ++i) {
      if (i) out.push_back(',');
      AppendString(out, RedactFreeText(e.fields[i]));
    }
    out.push_back(']');
  }
  if (!e.justification.empty()) {
    AppendKey(out, first, "justification");
    AppendString(out, RedactFreeText(e.justification));
  }
  AppendKey(out, first, "kind");
  AppendString(out, EventKindName(e.kind));
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
    AppendString(out, RedactFreeText(e.purpose));
  }
  if (!e.reason.empty()) {
    AppendKey(out, first, "reason");
    AppendString(out, RedactFreeText(e.reason));
  }
  if (!e.session.empty()) {
    AppendKey(out, first, "session");
    AppendString(out, RedactFreeText(e.session));
  }
  if (!e.source.empty()) {
    AppendKey(out, first, "source");
    AppendString(out, RedactFreeText(e.source));
  }
  AppendKey(out, first, "time");
  out.append(StrCat(e.time));
  AppendKey(out, first, "v");
  out.append(StrCat(Event::kVersion));
  out.push_back('}');
  return out;
}

StatusOr<Event> DecodeEvent(std::string_view bytes) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes.begin(), bytes.end());
  } catch (const nlohmann::json::exception&) {
    return Corruption("audit entry is not JSON");
  }
  if (!j.is_object()) return Corruption("audit entry is not a JSON object");
  Event e;
  try {
    if (!j.contains("v") || !j["v"].is_number_integer()) return Corruption("audit entry has no version");
    if (j["v"].get<int64_t>() != Event::kVersion) {
      return Corruption(StrCat("audit entry version ", j["v"].get<int64_t>(), " is not supported"));
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
  } catch (const nlohmann::json::exception&) {
    return Corruption("audit entry has a member of the wrong type");
  }
  if (EncodeEvent(e) != bytes) return Corruption("audit entry is not in canonical form");
  return e;
}

}  // namespace cloison::audit
