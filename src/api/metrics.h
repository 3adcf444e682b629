// Server metrics in the Prometheus text exposition format (GET /metrics).
//
// What is counted never includes a personal value or a secret: routes are
// the routing table's patterns ("/v1/people/{id}"), never the raw target.
//
// Thread-safety: every method may be called from any thread (one mutex; the
// counters are touched a handful of times per request).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace cloison::api {

class Metrics {
 public:
  // One finished request: its route pattern, HTTP status, latency.
  void RecordRequest(std::string_view route, int status, int64_t micros);
  // A policy decision ("allow" / "deny").
  void RecordDecision(bool allowed);
  void RecordQuotaRefusal();
  // A read refused by the guard ("throttle", "step_up", "suspend").
  void RecordGuardRefusal(const std::string& action);
  void RecordAuditAppend(int64_t micros);

  // The text exposition (version 0.0.4).
  std::string Render() const;

 private:
  // Upper bounds in seconds of the latency histograms' buckets.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};  // non-cumulative per bucket
    uint64_t count = 0;
    double sum = 0;
    void Observe(double seconds);
  };
  static void RenderHistogram(std::string& out, std::string_view name, std::string_view labels, const Histogram& h);

  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Histogram latency_;
  uint64_t allowed_ = 0, denied_ = 0, quota_refusals_ = 0;
  Histogram audit_append_;
  std::map<std::string, uint64_t> guard_refusals_;
};

}  // namespace cloison::api
