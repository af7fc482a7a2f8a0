#include "csr/renewal_metrics.h"

#include "x509/parse.h"

namespace certguard::csr {
namespace {

prometheus::MetricFamily Gauge(const char* name, const char* help) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = prometheus::MetricType::Gauge;
  return f;
}

}  // namespace

std::vector<prometheus::MetricFamily> RenewalFamilies(const std::vector<NodeRenewal>& rows,
                                                      x509::Time now) {
  std::vector<prometheus::MetricFamily> families{
      Gauge("certguard_node_certificate_expiry_days",
            "Days until the node's current kubelet certificate of this kind expires, from "
            "its issued CSRs; negative once expired"),
      Gauge("certguard_node_renewal_stuck",
            "1 while a renewal of the node's kubelet certificate of this kind is pending or "
            "denied and the current certificate expires within --csr-renewal-stuck-window")};
  auto& days = families[0];
  auto& stuck = families[1];
  for (const auto& r : rows) {
    prometheus::ClientMetric m;
    m.label = {{"kind", CertKindName(r.kind)}, {"node", r.node}};
    m.gauge.value = r.stuck ? 1 : 0;
    stuck.metric.push_back(m);
    if (r.current) {
      m.gauge.value = common::DaysUntil(r.current->cert->not_after, now);
      days.metric.push_back(std::move(m));
    }
  }
  return families;
}

RenewalCollector::RenewalCollector(std::shared_ptr<const RenewalIndex> index,
                                   std::chrono::seconds window, std::function<x509::Time()> clock)
    : index_(std::move(index)), window_(window), clock_(std::move(clock)) {}

std::vector<prometheus::MetricFamily> RenewalCollector::Collect() const {
  const x509::Time now =
      clock_ ? clock_()
             : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return RenewalFamilies(JoinRenewals(index_->Snapshot(), now, window_), now);
}

}  // namespace certguard::csr
