// TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, the parameters every
// authenticator app supports) through liboath.
//
// Validation returns the absolute time step that matched, so the caller can
// refuse a replay: a code is accepted only if its step is later than the last
// accepted step for that account (the caller stores it).
//
// Thread-safety: thread-safe (liboath is initialised once per process).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/random.h"
#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::crypto {

constexpr unsigned kTotpStepSeconds = 30;
constexpr unsigned kTotpDigits = 6;
constexpr size_t kTotpSecretSize = 20;  // 160 bits, RFC 4226's recommendation

// A fresh random TOTP secret.
SecretBytes NewTotpSecret(Random& random);
// The secret in base32 (what an authenticator app's manual entry asks for).
SecretBytes TotpSecretBase32(const SecretBytes& secret);
// The inverse of TotpSecretBase32 (padding optional, case-insensitive);
// InvalidArgument if it is not base32.
StatusOr<SecretBytes> TotpSecretFromBase32(const SecretBytes& base32);
// otpauth://totp/<issuer>:<account>?secret=...&issuer=... for a QR code.
SecretBytes TotpProvisioningUri(const SecretBytes& secret, std::string_view issuer, std::string_view account);

// The code for `unix_seconds` (tests and enrolment checks).
StatusOr<std::string> TotpGenerate(const SecretBytes& secret, int64_t unix_seconds);

// The time step (unix_seconds / 30 + offset) whose code equals `code`, looking
// `window` steps either side of now; nullopt if none matches or the code is
// not 6 digits. When several steps match, the one closest to now wins.
std::optional<int64_t> TotpMatchStep(const SecretBytes& secret, int64_t unix_seconds, unsigned window,
                                     std::string_view code);

}  // namespace cloison::crypto
