// Time comes in through this interface so tests and the simulator are
// deterministic (Envoy's TimeSource). Production code takes a Clock& and never
// calls std::chrono::system_clock directly.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cloison {

// Wall-clock time as microseconds since the Unix epoch, UTC.
using UnixMicros = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMicros NowMicros() const = 0;
  UnixMicros NowSeconds() const { return NowMicros() / 1'000'000; }
};

class SystemClock final : public Clock {
 public:
  UnixMicros NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance, for main() and tools; libraries take a Clock&.
  static SystemClock& Instance() {
    static SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told to. For tests and simulation.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixMicros start = 1'700'000'000'000'000) : now_(start) {}
  UnixMicros NowMicros() const override { return now_.load(std::memory_order_relaxed); }
  void Set(UnixMicros t) { now_.store(t, std::memory_order_relaxed); }
  void AdvanceMicros(int64_t d) { now_.fetch_add(d, std::memory_order_relaxed); }
  void AdvanceSeconds(int64_t s) { AdvanceMicros(s * 1'000'000); }

 private:
  std::atomic<UnixMicros> now_;
};

}  // namespace cloison
