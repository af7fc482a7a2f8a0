// The kubelet renewal join (csr/renewal.h) as Prometheus metrics, computed at
// scrape time (a certificate nears its expiry with no event):
//   certguard_node_certificate_expiry_days{node,kind}  days left on the node's current
//                                                      certificate (negative once expired)
//   certguard_node_renewal_stuck{node,kind}            1 while a renewal is pending or
//                                                      denied and that certificate expires
//                                                      within the window, else 0
// kind is client or serving. A node's series go with its CSRs (and, for
// remembered certificates, with its Node). Thread-safe.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "csr/defaults.h"
#include "csr/renewal.h"

namespace certguard::csr {

// The two families for `rows` at `now`.
std::vector<prometheus::MetricFamily> RenewalFamilies(const std::vector<NodeRenewal>& rows,
                                                      x509::Time now);

class RenewalCollector : public prometheus::Collectable {
 public:
  RenewalCollector(std::shared_ptr<const RenewalIndex> index, std::chrono::seconds window,
                   std::function<x509::Time()> clock = {});
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<const RenewalIndex> index_;
  std::chrono::seconds window_;
  std::function<x509::Time()> clock_;
};

}  // namespace certguard::csr
