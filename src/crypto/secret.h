// SecretBytes: the only type that holds key material, passwords and tokens.
// It zeroes its memory on destruction and on move-from, never prints (no
// operator<<, no implicit conversion to string), and compares in constant time.
//
// Ownership: owns its buffer. Thread-safety: like std::vector (const methods
// may be called concurrently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace cloison::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : bytes_(n, 0) {}
  SecretBytes(std::span<const uint8_t> data) : bytes_(data.begin(), data.end()) {}
  static SecretBytes FromString(std::string_view s) {
    return SecretBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  ~SecretBytes() { Wipe(); }

  SecretBytes(const SecretBytes& o) : bytes_(o.bytes_) {}
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      Wipe();
      bytes_ = o.bytes_;
    }
    return *this;
  }
  SecretBytes(SecretBytes&& o) noexcept : bytes_(std::move(o.bytes_)) { o.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      bytes_ = std::move(o.bytes_);
      o.bytes_.clear();
    }
    return *this;
  }

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* mutable_data() { return bytes_.data(); }
  std::span<const uint8_t> span() const { return bytes_; }

  // Constant-time comparison (sodium_memcmp); sizes are not secret.
  bool Equals(const SecretBytes& other) const;
  friend bool operator==(const SecretBytes& a, const SecretBytes& b) { return a.Equals(b); }

 private:
  void Wipe();
  std::vector<uint8_t> bytes_;
};

}  // namespace cloison::crypto
