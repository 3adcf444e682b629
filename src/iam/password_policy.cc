#include "iam/password_policy.h"

#include <algorithm>
#include <bitset>
#include <cctype>
#include <string>

#include "core/strings.h"

namespace cloison::iam {

namespace {
// Lower-case; compared after lower-casing the candidate.
constexpr std::string_view kCommon[] = {
    "motdepasse123", "motdepasse1234", "azertyuiop123", "azertyuiopqsdf", "password1234", "password12345",
    "qwertyuiop123", "123456789012", "1234567890ab", "iloveyou1234", "bonjour12345", "soleil123456",
    "francetravail1", "missionlocale1", "cloison123456", "changeme1234", "administrator", "0123456789azerty",
};

std::string Lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}
}  // namespace

Status PasswordPolicy::Check(const crypto::SecretBytes& password, std::string_view username) const {
  if (password.size() < min_length) return InvalidArgument(StrCat("password too short (minimum ", min_length, " characters)"));
  if (password.size() > max_length) return InvalidArgument(StrCat("password too long (maximum ", max_length, " characters)"));
  std::bitset<256> seen;
  for (uint8_t c : password.span()) seen.set(c);
  if (seen.count() < min_distinct)
    return InvalidArgument(StrCat("password too repetitive (at least ", min_distinct, " distinct characters)"));
  std::string lower = Lower(std::string_view(reinterpret_cast<const char*>(password.data()), password.size()));
  Status result = OkStatus();
  if (!username.empty() && lower.find(Lower(username)) != std::string::npos)
    result = InvalidArgument("password must not contain the username");
  else if (std::find(std::begin(kCommon), std::end(kCommon), lower) != std::end(kCommon))
    result = InvalidArgument("password is too common");
  std::fill(lower.begin(), lower.end(), '\0');
  return result;
}

}  // namespace cloison::iam
