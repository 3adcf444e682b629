// Standard base64 (RFC 4648 section 4, with '=' padding), as used by RFC 6962
// proofs, C2SP signed notes and the audit export. Thread-safe, pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cloison::crypto {

std::string Base64Encode(std::span<const uint8_t> bytes);
// Strict decoding: standard alphabet, padding required, no whitespace, no
// trailing garbage. InvalidArgument otherwise (the message never echoes the
// input, which may be key material).
StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text);

}  // namespace cloison::crypto
