// The TrustBundle reconciler's metrics:
//   certguard_trustbundle_certificates{bundle}
//   certguard_trustbundle_targets{bundle,state}            state: synced, outdated, failed
//   certguard_trustbundle_source_errors_total{bundle,reason}
//   certguard_trustbundle_last_change_timestamp_seconds{bundle}
//   certguard_trust_gap{bundle,namespace,name}              1: the consumer lacks a CA
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace certguard::trust {

class TrustMetrics {
 public:
  // Registers the families on `registry`, which must outlive this object.
  explicit TrustMetrics(prometheus::Registry& registry);

  void SetCertificates(const std::string& bundle, double n);
  void SetTargets(const std::string& bundle, double synced, double outdated, double failed);
  void AddSourceError(const std::string& bundle, const std::string& reason);
  void SetLastChange(const std::string& bundle, double unix_seconds);
  // The whole set of consumers checked for `bundle`: series of consumers no
  // longer checked are removed.
  void SetGaps(const std::string& bundle,
               const std::map<std::pair<std::string, std::string>, bool>& gap_by_consumer);
  // Removes every series of a deleted bundle (the error counters stay: they count).
  void Forget(const std::string& bundle);

 private:
  using GapKey = std::tuple<std::string, std::string, std::string>;
  prometheus::Family<prometheus::Gauge>& certificates_;
  prometheus::Family<prometheus::Gauge>& targets_;
  prometheus::Family<prometheus::Counter>& source_errors_;
  prometheus::Family<prometheus::Gauge>& last_change_;
  prometheus::Family<prometheus::Gauge>& gap_;
  std::mutex mu_;
  std::map<GapKey, prometheus::Gauge*> gaps_;
  std::set<std::string> bundles_;
};

}  // namespace certguard::trust
