#include "csr/metrics.h"

#include "csr/reasons.h"

namespace certguard::csr {

CsrMetrics::CsrMetrics(prometheus::Registry& registry)
    : decisions_(prometheus::BuildCounter()
                     .Name("certguard_csr_decisions_total")
                     .Help("Decisions on kubelet CSRs, by signer, decision and first reason code")
                     .Register(registry)),
      reasons_(prometheus::BuildCounter()
                   .Name("certguard_csr_decision_reasons_total")
                   .Help("Reason codes of decisions on kubelet CSRs: one count per code of each "
                         "decision")
                   .Register(registry)),
      pending_(prometheus::BuildGauge()
                   .Name("certguard_csr_pending")
                   .Help("Kubelet CSRs with neither an Approved nor a Denied condition")
                   .Register(registry)),
      oldest_(prometheus::BuildGauge()
                  .Name("certguard_csr_oldest_pending_age_seconds")
                  .Help("Age of the oldest pending kubelet CSR")
                  .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("certguard_csr_decision_latency_seconds")
                   .Help("Time from a CSR's creation to certguard's written decision")
                   .Register(registry)
                   .Add({}, prometheus::Histogram::BucketBoundaries{
                                0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600})),
      paused_(prometheus::BuildGauge()
                  .Name("certguard_csr_approvals_paused")
                  .Help("1 while the pending-flood guard holds approvals (scope cluster: "
                        "--csr-max-pending; node: --csr-max-pending-per-node for a requester)")
                  .Register(registry)),
      paused_cluster_(paused_.Add({{"scope", "cluster"}})),
      paused_node_(paused_.Add({{"scope", "node"}})) {}

void CsrMetrics::Decided(const std::string& signer_name, const std::string& decision,
                         const std::vector<std::string>& reasons, double latency_seconds) {
  const std::string first = reasons.empty() ? std::string() : ReasonLabel(reasons.front());
  decisions_.Add({{"signer_name", signer_name}, {"decision", decision}, {"reason", first}})
      .Increment();
  for (const auto& code : reasons) {
    reasons_.Add({{"signer_name", signer_name}, {"decision", decision}, {"reason", ReasonLabel(code)}})
        .Increment();
  }
  if (latency_seconds >= 0) latency_.Observe(latency_seconds);
}

void CsrMetrics::SetBacklog(const PendingSummary& summary, const FloodLimits& limits) {
  for (const auto& [signer, backlog] : summary.per_signer) {
    pending_.Add({{"signer_name", signer}}).Set(backlog.pending);
    oldest_.Add({{"signer_name", signer}}).Set(backlog.oldest_age_seconds);
  }
  paused_cluster_.Set(limits.max_pending > 0 && summary.total > limits.max_pending ? 1 : 0);
  bool node = false;
  if (limits.max_pending_per_node > 0) {
    for (const auto& [who, n] : summary.per_requester) node |= n > limits.max_pending_per_node;
  }
  paused_node_.Set(node ? 1 : 0);
}

}  // namespace certguard::csr
