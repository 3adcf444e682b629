// Internal to src/api: the parsed call and the request/response helpers that
// handler.cc defines and that the route files (admin_routes.cc, ...) share,
// so every route parses bodies, checks parameters and maps errors the same
// way. Not part of the API's contract; include only from src/api/*.cc.
//
// Thread-safety: plain functions over values; a Call lives on one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/handler.h"
#include "api/http.h"
#include "core/clock.h"
#include "core/status.h"
#include "crypto/secret.h"
#include "iam/service.h"
#include "policy/relation_index.h"

namespace cloison::api {

struct Handler::Call {
  explicit Call(const Request& r) : req(r) {}
  const Request& req;
  std::vector<std::string> params;                  // path parameters, in pattern order
  std::map<std::string, std::string> query;         // decoded
  std::optional<iam::Principal> who;                // set by Authenticate
  crypto::SecretBytes session_token;                // bearer token, if any
  bool api_key = false;
  UnixMicros now = 0;
  std::shared_ptr<Deferral> deferral;  // set by HandleAsync: the read may answer later
};

namespace internal {

// Compact JSON; invalid UTF-8 in strings is replaced, never thrown on.
std::string Dump(const nlohmann::json& j);
Response JsonResponse(int status, const nlohmann::json& j);
// Appends `s` as a JSON string, byte for byte what Dump gives for it
// (control characters escaped, UTF-8 passed through, invalid UTF-8 replaced
// by U+FFFD): for answers written directly rather than through a json tree.
void AppendJsonString(std::string& out, std::string_view s);
// "2025-10-09T12:00:00Z".
std::string FormatTime(UnixMicros t);
// " 'name'" when `s` is a short identifier safe to echo, else "".
std::string Echo(std::string_view s);
// Maps a Status from iam or the store (store messages are not echoed).
Response StatusResponse(const Status& s);
// A JSON object body whose members the caller checks itself (their names
// come from the field catalog, not a fixed list); the same checks and answers
// as ParseBody otherwise.
bool ParseObject(const Request& req, const Limits& limits, nlohmann::json& out, Response& err);
// Parses a JSON object body whose members are all in `allowed` (else 400
// unknown_field naming the member); 413/415/400 invalid_utf8/invalid_json.
bool ParseBody(const Request& req, const Limits& limits, std::initializer_list<std::string_view> allowed,
               nlohmann::json& out, Response& err);
// A string member (400 naming it when missing, not a string, too long or
// holding a NUL). Missing and optional: leaves `out` and answers true.
bool GetString(const nlohmann::json& j, std::string_view key, bool required, size_t max_len, std::string& out,
               Response& err);
// A positive decimal id of at most 15 digits.
std::optional<int64_t> ParseId(std::string_view s);
// A non-negative integer query parameter (absent: `out` untouched).
bool ParseU64Param(const std::map<std::string, std::string>& q, const std::string& name, std::optional<uint64_t>& out,
                   Response& err);
// 400 for a query parameter not in `allowed`.
bool OnlyParams(const std::map<std::string, std::string>& q, std::initializer_list<std::string_view> allowed,
                Response& err);
std::string_view Trim(std::string_view s);

// A snapshot of the structure tree, from the relation index (the store's
// structures, as iam's parent_of sees them).
struct Tree {
  std::unordered_map<int64_t, std::optional<StructureId>> parent;
  std::unordered_map<std::string, StructureId> by_code;

  explicit Tree(const policy::RelationIndex& index) {
    index.ForEachStructure([&](const policy::RelationIndex::StructureInfo& s) {
      parent[s.id.value()] = s.parent;
      by_code.emplace(std::string(s.code), s.id);
    });
  }
  std::optional<StructureId> ByCode(const std::string& code) const {
    auto it = by_code.find(code);
    if (it == by_code.end()) return std::nullopt;
    return it->second;
  }
  // s == top, or top is an ancestor of s.
  bool AtOrBelow(StructureId s, StructureId top) const {
    std::optional<StructureId> cur = s;
    for (int depth = 0; cur && depth < 64; ++depth) {
      if (*cur == top) return true;
      auto it = parent.find(cur->value());
      if (it == parent.end()) return false;
      cur = it->second;
    }
    return false;
  }
};

}  // namespace internal
}  // namespace cloison::api
