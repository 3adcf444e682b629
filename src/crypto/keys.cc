#include "crypto/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/strings.h"
#include "crypto/secure_random.h"

namespace cloison::crypto {

std::string ToHex(std::span<const uint8_t> b) {
  std::string out(b.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), b.data(), b.size());
  out.pop_back();
  return out;
}

StatusOr<SecretBytes> ParseHexKey(std::string_view hex) {
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) hex.remove_suffix(1);
  if (hex.size() != kMasterKeySize * 2) return InvalidArgument("master key must be 64 hexadecimal characters");
  SecretBytes key(kMasterKeySize);
  size_t len = 0;
  if (sodium_hex2bin(key.mutable_data(), key.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != kMasterKeySize)
    return InvalidArgument("master key must be 64 hexadecimal characters");
  return key;
}

StatusOr<SecretBytes> LoadMasterKey(const std::string& path) {
  CLOISON_RETURN_IF_ERROR(InitCrypto());
  if (const char* env = std::getenv(kMasterKeyEnv); env && *env) {
    // A malformed key is an environment problem (the deployment handed us a
    // bad secret), like a missing or wrong one: FailedPrecondition, exit 3.
    // InvalidArgument would read as "the command line was wrong" (exit 2).
    auto k = ParseHexKey(env);
    if (!k.ok()) return FailedPrecondition(StrCat(kMasterKeyEnv, ": ", k.status().message()));
    return k;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT)
      return FailedPrecondition(StrCat("master key file ", path, " does not exist (run `cloison init` or set ",
                                   kMasterKeyEnv, ")"));
    return IOError(StrCat("cannot open master key file ", path, ": ", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPrecondition(StrCat("master key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return FailedPrecondition(
        StrCat("master key file ", path, " is readable by others; run: chmod 600 ", path));
  }
  SecretBytes buf(256);
  ssize_t n = ::read(fd, buf.mutable_data(), buf.size());
  ::close(fd);
  if (n < 0) return IOError(StrCat("cannot read master key file ", path));
  auto key = ParseHexKey(std::string_view(reinterpret_cast<const char*>(buf.data()), static_cast<size_t>(n)));
  if (!key.ok()) return FailedPrecondition(StrCat("master key file ", path, ": ", key.status().message()));
  return key;
}

Status CreateMasterKeyFile(const std::string& path) {
  CLOISON_RETURN_IF_ERROR(InitCrypto());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return AlreadyExists(StrCat("master key file ", path, " already exists"));
    return IOError(StrCat("cannot create master key file ", path, ": ", std::strerror(errno)));
  }
  SecretBytes key(kMasterKeySize);
  randombytes_buf(key.mutable_data(), key.size());
  std::string hex = ToHex(key.span()) + "\n";
  const bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  sodium_memzero(hex.data(), hex.size());
  ::close(fd);
  if (!ok) return IOError(StrCat("cannot write master key file ", path));
  return OkStatus();
}

SecretBytes DeriveSubkey(const SecretBytes& master, uint64_t subkey_id, std::string_view context) {
  SecretBytes out(32);
  char ctx[crypto_kdf_CONTEXTBYTES] = {};
  std::memcpy(ctx, context.data(), std::min(context.size(), sizeof ctx));
  crypto_kdf_derive_from_key(out.mutable_data(), out.size(), subkey_id, ctx, master.data());
  return out;
}

namespace {
std::string WrapAd(uint32_t id) { return StrCat("cloison-dek:", id); }
}  // namespace

WrappedKey KeyRing::NewWrappedKey(const SecretBytes& master, uint32_t key_id) {
  (void)InitCrypto();
  SecretBytes dek(XChaCha20Poly1305::kKeySize);
  randombytes_buf(dek.mutable_data(), dek.size());
  auto kek = XChaCha20Poly1305::Create(DeriveSubkey(master, 1, "cloiskek"));
  return WrappedKey{key_id, (*kek)->Encrypt(dek.span(), AsBytes(WrapAd(key_id)))};
}

StatusOr<KeyRing> KeyRing::Open(const SecretBytes& master, const std::vector<WrappedKey>& keys, uint32_t active_id) {
  CLOISON_ASSIGN_OR_RETURN(auto kek, XChaCha20Poly1305::Create(DeriveSubkey(master, 1, "cloiskek")));
  KeyRing ring;
  for (const auto& wk : keys) {
    auto dek = kek->Decrypt(wk.wrapped, AsBytes(WrapAd(wk.key_id)));
    if (!dek.ok()) return PermissionDenied("master key does not match this store");
    SecretBytes dek_bytes = SecretBytes::FromString(*dek);
    sodium_memzero(dek->data(), dek->size());
    CLOISON_ASSIGN_OR_RETURN(auto aead, XChaCha20Poly1305::Create(dek_bytes));
    ring.keys_.emplace(wk.key_id, std::move(aead));
  }
  if (!ring.keys_.count(active_id)) return Corruption(StrCat("active key ", active_id, " is missing"));
  ring.active_id_ = active_id;
  return ring;
}

const Aead* KeyRing::Find(uint32_t id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : it->second.get();
}

std::vector<uint32_t> KeyRing::ids() const {
  std::vector<uint32_t> out;
  for (const auto& [id, _] : keys_) out.push_back(id);
  return out;
}

BlindIndexer BlindIndexer::FromMaster(const SecretBytes& master) {
  return BlindIndexer(DeriveSubkey(master, 2, "cloisbix"));
}

std::array<uint8_t, BlindIndexer::kTagSize> BlindIndexer::Tag(std::string_view field,
                                                               std::string_view value) const {
  return ForField(field).Tag(value);
}

BlindIndexer::FieldTagger BlindIndexer::ForField(std::string_view field) const {
  static_assert(sizeof(crypto_generichash_state) <= sizeof(FieldTagger::state_), "state buffer too small");
  static_assert(alignof(crypto_generichash_state) <= 64, "state buffer under-aligned");
  crypto_generichash_state st;
  crypto_generichash_init(&st, key_.data(), key_.size(), kHashSize);
  // Length-prefix the field name so ("ab","c") and ("a","bc") differ.
  const uint8_t flen = static_cast<uint8_t>(std::min<size_t>(field.size(), 255));
  crypto_generichash_update(&st, &flen, 1);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(field.data()), flen);
  FieldTagger t;
  std::memcpy(t.state_, &st, sizeof st);
  sodium_memzero(&st, sizeof st);
  return t;
}

BlindIndexer::FieldTagger::FieldTagger(FieldTagger&& other) noexcept {
  std::memcpy(state_, other.state_, sizeof state_);
  sodium_memzero(other.state_, sizeof other.state_);
}

BlindIndexer::FieldTagger::~FieldTagger() { sodium_memzero(state_, sizeof state_); }

std::array<uint8_t, BlindIndexer::kTagSize> BlindIndexer::FieldTagger::Tag(std::string_view value) const {
  // The field's state is the start of every tag: work on a copy.
  crypto_generichash_state st;
  std::memcpy(&st, state_, sizeof st);
  uint8_t hash[kHashSize];
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(value.data()), value.size());
  crypto_generichash_final(&st, hash, sizeof hash);
  std::array<uint8_t, kTagSize> out;
  std::memcpy(out.data(), hash, kTagSize);
  sodium_memzero(&st, sizeof st);
  sodium_memzero(hash, sizeof hash);
  return out;
}

}  // namespace cloison::crypto
