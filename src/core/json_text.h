// JSON string text for serializers that write JSON themselves: the audit
// log's canonical entries (whose bytes are a contract, docs/audit-format.md)
// and the API's hot answers. Parsing stays with nlohmann::json.
#pragma once

#include <string>
#include <string_view>

namespace cloison {

// Appends `s` to `out` as a quoted JSON string: '"' and '\\' escaped, the
// control characters U+0000-U+001F as \b \f \n \r \t or \u00xx (lower-case
// hex), every other byte as it is. The caller passes valid UTF-8 (checking
// or repairing it is its own rule). Runs needing no escape are copied at
// once. Never fails; thread-safe.
void AppendJsonQuoted(std::string& out, std::string_view s);

}  // namespace cloison
