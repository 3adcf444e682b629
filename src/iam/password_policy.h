// The password policy (NIST SP 800-63B style: length over composition rules).
//  - at least 12 characters (bytes of UTF-8), at most 128 (bounds Argon2 input);
//  - at least 5 distinct characters (refuses "aaaaaaaaaaaa", "abababab...");
//  - must not contain the username (case-insensitive), nor be one of a short
//    list of notoriously common passwords (case-insensitive);
//  - no forced periodic change; a new password must differ from the current one
//    (checked by the service, which holds the hash).
// Failure messages name the rule, never the password. Thread-safe (values).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/status.h"
#include "crypto/secret.h"

namespace cloison::iam {

struct PasswordPolicy {
  size_t min_length = 12;
  size_t max_length = 128;
  size_t min_distinct = 5;
  // InvalidArgument("password ...") naming the first rule broken.
  Status Check(const crypto::SecretBytes& password, std::string_view username) const;
};

}  // namespace cloison::iam
