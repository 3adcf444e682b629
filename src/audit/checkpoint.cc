#include "audit/checkpoint.h"

#include <charconv>
#include <cstring>
#include <vector>

#include "core/strings.h"
#include "crypto/base64.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace cloison::audit {
namespace {

constexpr std::string_view kEmDash = "\xE2\x80\x94";  // U+2014, starts a signature line
constexpr uint8_t kAlgEd25519 = 0x01;
constexpr std::string_view kPrivatePrefix = "PRIVATE+KEY+";

std::string Hex(std::span<const uint8_t> b) {
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (uint8_t c : b) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 15]);
  }
  return s;
}

// Splits "a+b+c" at its first two '+' (the base64 part may contain '+').
bool Split3(std::string_view s, std::string_view& a, std::string_view& b, std::string_view& c) {
  const auto p1 = s.find('+');
  if (p1 == std::string_view::npos) return false;
  const auto p2 = s.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return false;
  a = s.substr(0, p1);
  b = s.substr(p1 + 1, p2 - p1 - 1);
  c = s.substr(p2 + 1);
  return true;
}

}  // namespace

std::string CheckpointBody(const Checkpoint& c) {
  return StrCat(c.origin, "\n", c.size, "\n", crypto::Base64Encode(c.root), "\n");
}

StatusOr<Checkpoint> ParseCheckpoint(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (lines.size() < 3) {
    const auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return Corruption("checkpoint: fewer than three lines");
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  Checkpoint c;
  if (lines[0].empty()) return Corruption("checkpoint: empty origin line");
  c.origin = std::string(lines[0]);
  const auto& sz = lines[1];
  if (sz.empty() || (sz.size() > 1 && sz[0] == '0')) return Corruption("checkpoint: bad tree size");
  auto r = std::from_chars(sz.data(), sz.data() + sz.size(), c.size);
  if (r.ec != std::errc() || r.ptr != sz.data() + sz.size()) return Corruption("checkpoint: bad tree size");
  auto root = crypto::Base64Decode(lines[2]);
  if (!root.ok() || root->size() != 32) return Corruption("checkpoint: root is not a base64 SHA-256 hash");
  std::copy(root->begin(), root->end(), c.root.begin());
  return c;
}

std::array<uint8_t, 4> NoteKeyHash(std::string_view name, std::span<const uint8_t> public_key) {
  std::vector<uint8_t> buf(name.begin(), name.end());
  buf.push_back('\n');
  buf.push_back(kAlgEd25519);
  buf.insert(buf.end(), public_key.begin(), public_key.end());
  const auto h = crypto::Sha256(buf);
  return {h[0], h[1], h[2], h[3]};
}

bool IsValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c == '+' || c == ' ' || c == '\n' || c == '\t' || c == '\r' || static_cast<unsigned char>(c) < 0x20) {
      return false;
    }
  }
  return true;
}

StatusOr<NoteSigner> NoteSigner::Generate(std::string_view name) {
  if (!IsValidKeyName(name)) return InvalidArgument("key name must be non-empty, without spaces or '+'");
  NoteSigner s;
  s.name_ = std::string(name);
  s.signer_ = crypto::Ed25519Signer::Generate();
  return s;
}

StatusOr<NoteSigner> NoteSigner::FromPrivateKey(std::string_view key) {
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.remove_suffix(1);
  if (key.substr(0, kPrivatePrefix.size()) != kPrivatePrefix) return Corruption("signing key: not a private key");
  std::string_view name, hash, b64;
  if (!Split3(key.substr(kPrivatePrefix.size()), name, hash, b64) || !IsValidKeyName(name)) {
    return Corruption("signing key: malformed");
  }
  auto raw = crypto::Base64Decode(b64);
  if (!raw.ok() || raw->size() != 33 || (*raw)[0] != kAlgEd25519) return Corruption("signing key: malformed");
  crypto::SecretBytes seed(std::span<const uint8_t>(raw->data() + 1, 32));
  std::fill(raw->begin(), raw->end(), 0);
  CLOISON_ASSIGN_OR_RETURN(auto signer, crypto::Ed25519Signer::FromSeed(seed));
  NoteSigner s;
  s.name_ = std::string(name);
  if (Hex(NoteKeyHash(name, signer->public_key())) != hash) return Corruption("signing key: key hash mismatch");
  s.signer_ = std::move(signer);
  return s;
}

std::string NoteSigner::VerifierKey() const {
  std::vector<uint8_t> k{kAlgEd25519};
  k.insert(k.end(), signer_->public_key().begin(), signer_->public_key().end());
  return StrCat(name_, "+", Hex(NoteKeyHash(name_, signer_->public_key())), "+", crypto::Base64Encode(k));
}

std::string NoteSigner::PrivateKey() const {
  std::vector<uint8_t> k{kAlgEd25519};
  k.insert(k.end(), signer_->seed().data(), signer_->seed().data() + signer_->seed().size());
  std::string s = StrCat(kPrivatePrefix, name_, "+", Hex(NoteKeyHash(name_, signer_->public_key())), "+",
                         crypto::Base64Encode(k));
  std::fill(k.begin(), k.end(), 0);
  return s;
}

crypto::SecretBytes NoteSigner::DeriveKey(uint64_t id, std::string_view context) const {
  return crypto::DeriveSubkey(signer_->seed(), id, context);
}

std::string NoteSigner::Sign(std::string_view body) const {
  const auto sig = signer_->Sign({reinterpret_cast<const uint8_t*>(body.data()), body.size()});
  const auto kh = NoteKeyHash(name_, signer_->public_key());
  std::vector<uint8_t> blob(kh.begin(), kh.end());
  blob.insert(blob.end(), sig.begin(), sig.end());
  return StrCat(body, "\n", kEmDash, " ", name_, " ", crypto::Base64Encode(blob), "\n");
}

StatusOr<NoteVerifier> NoteVerifier::FromVerifierKey(std::string_view key) {
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.remove_suffix(1);
  std::string_view name, hash, b64;
  if (!Split3(key, name, hash, b64) || !IsValidKeyName(name) || hash.size() != 8) {
    return InvalidArgument("verifier key: expected <name>+<hash>+<base64 key>");
  }
  auto raw = crypto::Base64Decode(b64);
  if (!raw.ok() || raw->size() != 33 || (*raw)[0] != kAlgEd25519) {
    return InvalidArgument("verifier key: not an Ed25519 key");
  }
  std::span<const uint8_t> pub(raw->data() + 1, 32);
  NoteVerifier v;
  v.name_ = std::string(name);
  v.key_hash_ = NoteKeyHash(name, pub);
  if (Hex(v.key_hash_) != hash) return InvalidArgument("verifier key: key hash does not match the key");
  CLOISON_ASSIGN_OR_RETURN(auto ver, crypto::Ed25519Verifier::Create(pub));
  v.verifier_ = std::move(ver);
  return v;
}

Status NoteVerifier::Verify(std::string_view note) const {
  const auto sep = note.rfind("\n\n");
  if (sep == std::string_view::npos || note.empty() || note.back() != '\n') {
    return Corruption("note: no signature block");
  }
  const std::string_view body = note.substr(0, sep + 1);
  std::string_view sigs = note.substr(sep + 2);
  while (!sigs.empty()) {
    const auto nl = sigs.find('\n');
    if (nl == std::string_view::npos) return Corruption("note: unterminated signature line");
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    const std::string prefix = StrCat(kEmDash, " ");
    if (line.substr(0, prefix.size()) != prefix) return Corruption("note: malformed signature line");
    line.remove_prefix(prefix.size());
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) return Corruption("note: malformed signature line");
    if (line.substr(0, sp) != name_) continue;  // another signer's line
    auto blob = crypto::Base64Decode(line.substr(sp + 1));
    if (!blob.ok() || blob->size() != 4 + 64) return Corruption("note: malformed signature");
    if (!std::equal(key_hash_.begin(), key_hash_.end(), blob->begin())) continue;
    if (verifier_
            ->Verify({reinterpret_cast<const uint8_t*>(body.data()), body.size()},
                     std::span<const uint8_t>(blob->data() + 4, 64))
            .ok()) {
      return OkStatus();
    }
  }
  return Unauthenticated(StrCat("note carries no valid signature by key ", name_));
}

}  // namespace cloison::audit
