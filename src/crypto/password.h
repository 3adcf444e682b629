// Password hashing: Argon2id through libsodium's crypto_pwhash_str, which
// embeds algorithm, cost and salt in the stored string ("$argon2id$v=19$...").
//
// Cost: production uses libsodium's INTERACTIVE limits (about 64 MiB, a few
// tens of milliseconds). Tests pass PasswordHashCost::Test() (the minimum
// Argon2id allows) so suites stay fast under sanitizers. Verify reads the cost
// from the stored string, so hashes made under either cost verify anywhere.
//
// Uniform timing for unknown users: callers verify the submitted password
// against DummyPasswordHash(cost) when no account matches, so an unknown
// username and a wrong password cost one Argon2id evaluation each.
//
// Thread-safety: all functions are thread-safe. Passwords only ever travel in
// SecretBytes; no function logs or echoes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::crypto {

struct PasswordHashCost {
  uint64_t ops_limit = 0;
  size_t mem_limit = 0;
  // libsodium crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE.
  static PasswordHashCost Interactive();
  // The Argon2id minimum (1 pass, 8 KiB): for tests only, never production.
  static PasswordHashCost Test();
};

// Hashes `password` with a fresh random salt. Fails with Internal only when
// memory cannot be allocated. The result is ASCII, at most 128 bytes.
StatusOr<std::string> HashPassword(const SecretBytes& password, const PasswordHashCost& cost);

// True iff `password` matches `stored` (a HashPassword output). A malformed
// `stored` string is simply "no match". Runs one Argon2id evaluation at the
// cost recorded in `stored`.
bool VerifyPassword(std::string_view stored, const SecretBytes& password);

// True when `stored` was made with other parameters than `cost` (rehash on next login).
bool PasswordNeedsRehash(std::string_view stored, const PasswordHashCost& cost);

// A valid hash of a random password nobody knows, computed once per process
// per cost; verifying against it takes as long as a real verification and
// never succeeds.
const std::string& DummyPasswordHash(const PasswordHashCost& cost);

}  // namespace cloison::crypto
