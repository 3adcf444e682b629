// Interactive sessions of human accounts. The bearer token (32 random bytes,
// "cls_..." text) is returned once at login; the database keeps only its keyed
// hash. A session ends at whichever comes first: `idle_timeout` without use,
// `absolute_timeout` after login, revocation (logout, by an administrator, on
// suspension or MFA reset).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/ids.h"
#include "crypto/token.h"

namespace cloison::iam {

struct SessionPolicy {
  int64_t idle_timeout_us = 15LL * 60 * 1'000'000;       // 15 minutes
  int64_t absolute_timeout_us = 10LL * 3600 * 1'000'000;  // 10 hours: one working day
};

struct Session {
  int64_t id = 0;
  AccountId account;
  crypto::TokenDigest token_digest{};
  UnixMicros created_at = 0;
  UnixMicros last_seen_at = 0;
  UnixMicros revoked_at = 0;  // 0 = not revoked
  std::string source_address;
  bool mfa = false;  // a second factor was checked at login

  bool Live(const SessionPolicy& p, UnixMicros now) const {
    return revoked_at == 0 && now - last_seen_at < p.idle_timeout_us && now - created_at < p.absolute_timeout_us;
  }
};

}  // namespace cloison::iam
