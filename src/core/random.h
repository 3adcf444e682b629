// Randomness comes in through this interface. Two kinds exist and must not be
// confused:
//  - crypto::SecureRandom (src/crypto) draws from the OS CSPRNG, for keys,
//    nonces, tokens and passwords;
//  - DeterministicRandom (here) is a seeded PRNG for synthetic data and tests;
//    it must never be used for anything secret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cloison {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;
  virtual uint64_t Next64() = 0;
  // Uniform integer in [0, bound), bound > 0, without modulo bias.
  uint64_t Uniform(uint64_t bound);
  // Uniform double in [0, 1).
  double UniformDouble() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }
};

// splitmix64-seeded xoshiro256**: fast, well-distributed, reproducible across
// platforms for a given seed. Not thread-safe: one instance per thread.
class DeterministicRandom final : public Random {
 public:
  explicit DeterministicRandom(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;
  uint64_t Next64() override;

 private:
  uint64_t s_[4];
};

}  // namespace cloison
