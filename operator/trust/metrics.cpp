#include "trust/metrics.h"

#include <vector>

namespace certguard::trust {

TrustMetrics::TrustMetrics(prometheus::Registry& registry)
    : certificates_(prometheus::BuildGauge()
                        .Name("certguard_trustbundle_certificates")
                        .Help("Certificates in the bundle written to a TrustBundle's targets")
                        .Register(registry)),
      targets_(prometheus::BuildGauge()
                   .Name("certguard_trustbundle_targets")
                   .Help("Target ConfigMaps of a TrustBundle, by state (synced, outdated, failed)")
                   .Register(registry)),
      source_errors_(prometheus::BuildCounter()
                         .Name("certguard_trustbundle_source_errors_total")
                         .Help("Reconciles that found a TrustBundle source unreadable, empty or "
                               "invalid, by reason")
                         .Register(registry)),
      last_change_(prometheus::BuildGauge()
                       .Name("certguard_trustbundle_last_change_timestamp_seconds")
                       .Help("When the bundle written to a TrustBundle's targets last changed")
                       .Register(registry)),
      gap_(prometheus::BuildGauge()
               .Name("certguard_trust_gap")
               .Help("1 when a verified consumer ConfigMap lacks a CA of the bundle, else 0")
               .Register(registry)) {}

void TrustMetrics::SetCertificates(const std::string& bundle, double n) {
  std::lock_guard lock(mu_);
  bundles_.insert(bundle);
  certificates_.Add({{"bundle", bundle}}).Set(n);
}

void TrustMetrics::SetTargets(const std::string& bundle, double synced, double outdated,
                              double failed) {
  std::lock_guard lock(mu_);
  bundles_.insert(bundle);
  targets_.Add({{"bundle", bundle}, {"state", "synced"}}).Set(synced);
  targets_.Add({{"bundle", bundle}, {"state", "outdated"}}).Set(outdated);
  targets_.Add({{"bundle", bundle}, {"state", "failed"}}).Set(failed);
}

void TrustMetrics::AddSourceError(const std::string& bundle, const std::string& reason) {
  std::lock_guard lock(mu_);
  source_errors_.Add({{"bundle", bundle}, {"reason", reason}}).Increment();
}

void TrustMetrics::SetLastChange(const std::string& bundle, double unix_seconds) {
  std::lock_guard lock(mu_);
  bundles_.insert(bundle);
  last_change_.Add({{"bundle", bundle}}).Set(unix_seconds);
}

void TrustMetrics::SetGaps(const std::string& bundle,
                           const std::map<std::pair<std::string, std::string>, bool>& gaps) {
  std::lock_guard lock(mu_);
  bundles_.insert(bundle);
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    const auto& [b, ns, name] = it->first;
    if (b == bundle && !gaps.count({ns, name})) {
      gap_.Remove(it->second);
      it = gaps_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [consumer, lacking] : gaps) {
    GapKey key{bundle, consumer.first, consumer.second};
    auto it = gaps_.find(key);
    if (it == gaps_.end()) {
      prometheus::Gauge* g = &gap_.Add(
          {{"bundle", bundle}, {"namespace", consumer.first}, {"name", consumer.second}});
      it = gaps_.emplace(key, g).first;
    }
    it->second->Set(lacking ? 1 : 0);
  }
}

void TrustMetrics::Forget(const std::string& bundle) {
  std::lock_guard lock(mu_);
  if (!bundles_.erase(bundle)) return;
  auto drop = [&](prometheus::Family<prometheus::Gauge>& f, prometheus::Labels labels) {
    f.Remove(&f.Add(labels));
  };
  drop(certificates_, {{"bundle", bundle}});
  drop(last_change_, {{"bundle", bundle}});
  for (const char* state : {"synced", "outdated", "failed"}) {
    drop(targets_, {{"bundle", bundle}, {"state", state}});
  }
  for (auto it = gaps_.begin(); it != gaps_.end();) {
    if (std::get<0>(it->first) == bundle) {
      gap_.Remove(it->second);
      it = gaps_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace certguard::trust
