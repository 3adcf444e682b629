// Server metrics in the Prometheus text exposition format (GET /metrics).
//
// What is counted never includes a personal value or a secret: routes are
// the routing table's patterns ("/v1/people/{id}"), never the raw target.
//
// Series (docs/api.md, "Metrics"):
//   cloison_http_requests_total{route,status}                 counter
//   cloison_http_request_duration_seconds{route,status_class} histogram
//   cloison_policy_decisions_total{result}                    counter
//   cloison_quota_refusals_total                              counter
//   cloison_guard_refusals_total{action}                      counter
//   cloison_audit_append_duration_seconds                     histogram
// and, from the audit log's own counters (audit::LogStats, passed to Render):
//   cloison_audit_entries, cloison_audit_backlog_entries,
//   cloison_audit_backlog_bytes                               gauges
//   cloison_audit_appends_total, cloison_audit_syncs_total,
//   cloison_audit_checkpoints_signed_total                    counters (since the log was opened)
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

#include "audit/log.h"

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

  // The text exposition (version 0.0.4); with `audit`, the audit log's
  // gauges and counters too.
  std::string Render(const audit::LogStats* audit = nullptr) const;
  // "2xx", "4xx", ...: the latency histogram's status label (a class, so
  // that a route has at most five series, whatever statuses it answers).
  static std::string_view StatusClass(int status);

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
  std::map<std::pair<std::string, std::string_view>, Histogram> latency_;  // (route, status class)
  uint64_t allowed_ = 0, denied_ = 0, quota_refusals_ = 0;
  Histogram audit_append_;
  std::map<std::string, uint64_t> guard_refusals_;
};

}  // namespace cloison::api
