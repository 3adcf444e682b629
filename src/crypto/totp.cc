#include "crypto/totp.h"

#include <liboath/oath.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

#include "core/strings.h"

namespace cloison::crypto {

namespace {
bool InitOath() {
  static const int rc = oath_init();
  return rc == OATH_OK;
}
}  // namespace

SecretBytes NewTotpSecret(Random& random) {
  SecretBytes s(kTotpSecretSize);
  random.Fill({s.mutable_data(), s.size()});
  return s;
}

SecretBytes TotpSecretBase32(const SecretBytes& secret) {
  if (!InitOath()) return {};
  char* out = nullptr;
  size_t out_len = 0;
  if (oath_base32_encode(reinterpret_cast<const char*>(secret.data()), secret.size(), &out, &out_len) != OATH_OK)
    return {};
  // Authenticator apps want no '=' padding.
  size_t n = out_len;
  while (n > 0 && out[n - 1] == '=') --n;
  SecretBytes result(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out), n));
  std::fill(out, out + out_len, '\0');
  std::free(out);
  return result;
}

StatusOr<SecretBytes> TotpSecretFromBase32(const SecretBytes& base32) {
  if (!InitOath()) return Internal("liboath could not be initialised");
  std::string in(reinterpret_cast<const char*>(base32.data()), base32.size());
  for (auto& c : in) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  while (in.size() % 8 != 0) in.push_back('=');
  char* out = nullptr;
  size_t out_len = 0;
  const int rc = oath_base32_decode(in.data(), in.size(), &out, &out_len);
  std::fill(in.begin(), in.end(), '\0');
  if (rc != OATH_OK) return InvalidArgument("TOTP secret is not valid base32");
  SecretBytes result(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out), out_len));
  std::fill(out, out + out_len, '\0');
  std::free(out);
  return result;
}

SecretBytes TotpProvisioningUri(const SecretBytes& secret, std::string_view issuer, std::string_view account) {
  SecretBytes b32 = TotpSecretBase32(secret);
  auto escape = [](std::string_view s) {
    std::string o;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
        o.push_back(static_cast<char>(c));
      } else {
        static const char* hex = "0123456789ABCDEF";
        o.push_back('%');
        o.push_back(hex[c >> 4]);
        o.push_back(hex[c & 15]);
      }
    }
    return o;
  };
  std::string head = StrCat("otpauth://totp/", escape(issuer), ":", escape(account), "?secret=");
  std::string tail = StrCat("&issuer=", escape(issuer), "&algorithm=SHA1&digits=6&period=30");
  SecretBytes out(head.size() + b32.size() + tail.size());
  uint8_t* p = out.mutable_data();
  std::copy(head.begin(), head.end(), p);
  std::copy(b32.data(), b32.data() + b32.size(), p + head.size());
  std::copy(tail.begin(), tail.end(), p + head.size() + b32.size());
  return out;
}

StatusOr<std::string> TotpGenerate(const SecretBytes& secret, int64_t unix_seconds) {
  if (!InitOath()) return Internal("liboath could not be initialised");
  char otp[kTotpDigits + 1] = {};
  int rc = oath_totp_generate(reinterpret_cast<const char*>(secret.data()), secret.size(),
                              static_cast<time_t>(unix_seconds), kTotpStepSeconds, 0, kTotpDigits, otp);
  if (rc != OATH_OK) return Internal("TOTP generation failed");
  return std::string(otp);
}

std::optional<int64_t> TotpMatchStep(const SecretBytes& secret, int64_t unix_seconds, unsigned window,
                                     std::string_view code) {
  if (!InitOath()) return std::nullopt;
  if (code.size() != kTotpDigits) return std::nullopt;
  for (char c : code)
    if (c < '0' || c > '9') return std::nullopt;
  std::string otp(code);
  int pos = 0;
  int rc = oath_totp_validate2(reinterpret_cast<const char*>(secret.data()), secret.size(),
                               static_cast<time_t>(unix_seconds), kTotpStepSeconds, 0, window, &pos, otp.c_str());
  if (rc < 0) return std::nullopt;
  return unix_seconds / kTotpStepSeconds + pos;
}

}  // namespace cloison::crypto
