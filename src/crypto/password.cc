#include "crypto/password.h"

#include <sodium.h>

#include <map>
#include <mutex>
#include <utility>

#include "crypto/secure_random.h"

namespace cloison::crypto {

namespace {
// libsodium declares its inputs non-null even when empty.
const char* PasswordPtr(const SecretBytes& p) {
  static const char kEmpty[1] = {0};
  return p.empty() ? kEmpty : reinterpret_cast<const char*>(p.data());
}
}  // namespace

PasswordHashCost PasswordHashCost::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

PasswordHashCost PasswordHashCost::Test() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

StatusOr<std::string> HashPassword(const SecretBytes& password, const PasswordHashCost& cost) {
  CLOISON_RETURN_IF_ERROR(InitCrypto());
  char out[crypto_pwhash_argon2id_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, PasswordPtr(password), password.size(),
                                 cost.ops_limit, cost.mem_limit) != 0)
    return Internal("password hashing failed (out of memory)");
  return std::string(out);
}

bool VerifyPassword(std::string_view stored, const SecretBytes& password) {
  if (!InitCrypto().ok()) return false;
  // crypto_pwhash_str_verify needs a NUL-terminated string.
  std::string s(stored);
  if (s.empty() || s.size() >= crypto_pwhash_argon2id_STRBYTES) return false;
  return crypto_pwhash_argon2id_str_verify(s.c_str(), PasswordPtr(password),
                                           password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view stored, const PasswordHashCost& cost) {
  std::string s(stored);
  if (s.empty() || s.size() >= crypto_pwhash_argon2id_STRBYTES) return true;
  return crypto_pwhash_argon2id_str_needs_rehash(s.c_str(), cost.ops_limit, cost.mem_limit) != 0;
}

const std::string& DummyPasswordHash(const PasswordHashCost& cost) {
  static std::mutex mu;
  static std::map<std::pair<uint64_t, size_t>, std::string>* hashes =
      new std::map<std::pair<uint64_t, size_t>, std::string>();
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(cost.ops_limit, cost.mem_limit);
  auto it = hashes->find(key);
  if (it != hashes->end()) return it->second;
  SecretBytes random(32);
  SecureRandom::Instance().Fill({random.mutable_data(), random.size()});
  auto h = HashPassword(random, cost);
  // Only allocation failure makes HashPassword fail; an unparsable string
  // still costs a verify call and never matches.
  return hashes->emplace(key, h.ok() ? *h : std::string("$argon2id$invalid")).first->second;
}

}  // namespace cloison::crypto
