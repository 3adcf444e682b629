#include "api/metrics.h"

#include <cstdio>

#include "core/strings.h"

namespace cloison::api {

void Metrics::Histogram::Observe(double seconds) {
  ++count;
  sum += seconds;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++counts[i];
      return;
    }
  }
}

std::string_view Metrics::StatusClass(int status) {
  switch (status / 100) {
    case 1: return "1xx";
    case 2: return "2xx";
    case 3: return "3xx";
    case 4: return "4xx";
    default: return "5xx";
  }
}

void Metrics::RecordRequest(std::string_view route, int status, int64_t micros) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), status}];
  latency_[{std::string(route), StatusClass(status)}].Observe(static_cast<double>(micros) / 1e6);
}

void Metrics::RecordDecision(bool allowed) {
  std::lock_guard lock(mu_);
  ++(allowed ? allowed_ : denied_);
}

void Metrics::RecordQuotaRefusal() {
  std::lock_guard lock(mu_);
  ++quota_refusals_;
}

void Metrics::RecordGuardRefusal(const std::string& action) {
  std::lock_guard lock(mu_);
  ++guard_refusals_[action];
}

void Metrics::RecordAuditAppend(int64_t micros) {
  std::lock_guard lock(mu_);
  audit_append_.Observe(static_cast<double>(micros) / 1e6);
}

static std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void Metrics::RenderHistogram(std::string& out, std::string_view name, std::string_view labels,
                              const Histogram& h) {
  uint64_t cumulative = 0;
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += h.counts[i];
    out += StrCat(name, "_bucket{", labels, sep, "le=\"", Num(kBuckets[i]), "\"} ", cumulative, "\n");
  }
  out += StrCat(name, "_bucket{", labels, sep, "le=\"+Inf\"} ", h.count, "\n");
  out += StrCat(name, "_sum", labels.empty() ? "" : "{", labels, labels.empty() ? "" : "}", " ", Num(h.sum), "\n");
  out += StrCat(name, "_count", labels.empty() ? "" : "{", labels, labels.empty() ? "" : "}", " ", h.count, "\n");
}

std::string Metrics::Render(const audit::LogStats* audit) const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP cloison_http_requests_total HTTP requests by route pattern and status.\n";
  out += "# TYPE cloison_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out += StrCat("cloison_http_requests_total{route=\"", key.first, "\",status=\"", key.second, "\"} ", n, "\n");
  out += "# HELP cloison_http_request_duration_seconds Time from parsed request to response, by route pattern and status class.\n";
  out += "# TYPE cloison_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_)
    RenderHistogram(out, "cloison_http_request_duration_seconds",
                    StrCat("route=\"", key.first, "\",status_class=\"", key.second, "\""), h);
  out += "# HELP cloison_policy_decisions_total Policy decisions on people reads.\n";
  out += "# TYPE cloison_policy_decisions_total counter\n";
  out += StrCat("cloison_policy_decisions_total{result=\"allow\"} ", allowed_, "\n");
  out += StrCat("cloison_policy_decisions_total{result=\"deny\"} ", denied_, "\n");
  out += "# HELP cloison_quota_refusals_total Reads refused by a per-account quota (429).\n";
  out += "# TYPE cloison_quota_refusals_total counter\n";
  out += StrCat("cloison_quota_refusals_total ", quota_refusals_, "\n");
  out += "# HELP cloison_guard_refusals_total Reads refused by the guard, by action.\n";
  out += "# TYPE cloison_guard_refusals_total counter\n";
  for (const auto& [action, n] : guard_refusals_)
    out += StrCat("cloison_guard_refusals_total{action=\"", action, "\"} ", n, "\n");
  out += "# HELP cloison_audit_append_duration_seconds Durable audit appends on the request path.\n";
  out += "# TYPE cloison_audit_append_duration_seconds histogram\n";
  RenderHistogram(out, "cloison_audit_append_duration_seconds", "", audit_append_);
  if (audit != nullptr) {
    auto series = [&out](std::string_view name, std::string_view type, std::string_view help, uint64_t v) {
      out += StrCat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ", v, "\n");
    };
    series("cloison_audit_entries", "gauge", "Durable entries in the audit log.", audit->size);
    series("cloison_audit_backlog_entries", "gauge",
           "Audit entries appended but not durable yet (queued or being synced).", audit->backlog_entries);
    series("cloison_audit_backlog_bytes", "gauge", "Framed size of the audit backlog.", audit->backlog_bytes);
    series("cloison_audit_appends_total", "counter", "Audit entries acknowledged durable since the log was opened.",
           audit->appends);
    series("cloison_audit_syncs_total", "counter",
           "Group commits (one write and one fdatasync of entries.log each) since the log was opened.", audit->syncs);
    series("cloison_audit_checkpoints_signed_total", "counter", "Audit checkpoints signed since the log was opened.",
           audit->checkpoints_signed);
  }
  return out;
}

}  // namespace cloison::api
