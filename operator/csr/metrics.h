// The CSR controller's Prometheus metrics. Thread-safe.
//   certguard_csr_decisions_total{signer_name,decision,reason}   counter (first reason code)
//   certguard_csr_decision_reasons_total{signer_name,decision,reason}  counter (every reason code)
//   certguard_csr_pending{signer_name}                           gauge
//   certguard_csr_oldest_pending_age_seconds{signer_name}        gauge
//   certguard_csr_decision_latency_seconds                       histogram (creation -> decision)
//   certguard_csr_approvals_paused{scope="cluster"|"node"}       gauge, 1 while the flood guard holds
#pragma once

#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "csr/pending.h"

namespace certguard::csr {

class CsrMetrics {
 public:
  // Registers the families on `registry`, which must outlive this object.
  explicit CsrMetrics(prometheus::Registry& registry);

  // One decision. `decision` is "Approve", "Deny", "Ignore", "DryRunApprove", ...;
  // `reasons` its reason codes: the first labels decisions_total, each one
  // decision_reasons_total. Labels come from a bounded set (ReasonLabel): a
  // code outside reason::kAll counts as "Other". A negative latency is not observed.
  void Decided(const std::string& signer_name, const std::string& decision,
               const std::vector<std::string>& reasons, double latency_seconds);
  // The backlog and whether the flood guard holds approvals, per `limits`.
  void SetBacklog(const PendingSummary& summary, const FloodLimits& limits);

 private:
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& reasons_;
  prometheus::Family<prometheus::Gauge>& pending_;
  prometheus::Family<prometheus::Gauge>& oldest_;
  prometheus::Histogram& latency_;
  prometheus::Family<prometheus::Gauge>& paused_;
  prometheus::Gauge& paused_cluster_;
  prometheus::Gauge& paused_node_;
};

}  // namespace certguard::csr
