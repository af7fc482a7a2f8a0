// The TrustBundle reconciler: the thin I/O shell around the pure core
// (spec.h, build.h, plan.h, gap.h, status.h). Reconcile(bundle name) runs in
// three parts, as trust-manager's does: gather the sources (sources.h), write
// the targets that differ (targets.h), report status, metrics and events
// (report.h).
//
// Thread-safety: Reconcile may run on several workers for different bundles;
// InterestedBundles may run on any thread (informer handlers).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/time.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "trust/build.h"
#include "trust/metrics.h"
#include "trust/plan.h"
#include "trust/spec.h"
#include "trust/targets.h"
#include "trust/view.h"
#include "x509/types.h"

namespace certguard::trust {

struct ReconcilerOptions {
  int write_concurrency = 4;  // parallel writes within one reconcile (the client's QPS still rules)
  // Secrets are read with GET, not watched: look again this often when a source is one.
  std::chrono::seconds secret_poll{60};
  // A write whose echo the cache has not shown yet is trusted this long.
  std::chrono::seconds inflight_ttl{30};
  const common::Clock* clock = nullptr;  // default: common::SystemClock(); must outlive it
  // Write spec.target.secret (run --trust-secret-targets). Off: a bundle with a
  // Secret target gets Synced=False, reason SecretTargetsDisabled, and its
  // ConfigMap target (if any) is still written.
  bool secret_targets = false;
};

class TrustBundleReconciler : public kube::Reconciler {
 public:
  // Every argument must outlive the reconciler.
  TrustBundleReconciler(kube::Client& client, const TrustView& view, kube::EventRecorder& events,
                        TrustMetrics& metrics, ReconcilerOptions options = {});

  kube::ReconcileResult Reconcile(const std::string& key) override;

  // Names of the bundles a change of this ConfigMap may matter to: its
  // kBundleLabel, and every bundle that names it as a source, target or consumer
  // (as of each bundle's last reconcile).
  std::vector<std::string> InterestedBundles(const nlohmann::json& configmap) const;

  // Tells the reconciler the cache saw a ConfigMap change, so that it stops
  // counting on its own writes the cache had not shown yet. Call it from the
  // ConfigMap informer's handler.
  void Observe(const nlohmann::json& configmap, bool deleted);

  // The same two for a Secret (when Secret targets are enabled): its
  // kBundleLabel, the bundles whose Secret target has its name, or which read it
  // as a source.
  std::vector<std::string> InterestedBundlesOfSecret(const nlohmann::json& secret) const;
  void ObserveSecret(const nlohmann::json& secret, bool deleted);

 private:
  struct Interest {
    std::set<std::pair<std::string, std::string>> sources;  // (ns, name)
    std::set<std::string> names;  // target and namespace-less verify names, in any namespace
    std::set<std::pair<std::string, std::string>> consumers;  // verify entries with a namespace
    std::set<std::pair<std::string, std::string>> secret_sources;  // (ns, name)
    std::string secret_target;                                     // its name, in any namespace
  };
  // The bundles an object names in kBundleLabel, and those whose interest
  // `matches` its (namespace, name).
  std::vector<std::string> BundlesInterestedIn(
      const nlohmann::json& object,
      const std::function<bool(const Interest&, const std::pair<std::string, std::string>&)>&
          matches) const;
  // Records which ConfigMaps a change of may matter to the bundle.
  void RememberInterest(const std::string& bundle, const TrustBundleSpec& spec);
  // The bundle is gone: forget all kept of it.
  void Forget(const std::string& bundle);
  std::string LastGood(const std::string& bundle, const nlohmann::json& status,
                       const std::string& key) const;
  // Writes the targets that differ from `pem` (with `bundle`'s extra formats), the
  // ConfigMaps then the Secrets; adds the objects the plans skipped as foreign to
  // `foreign`. The encoders' error, and nothing written, when a format cannot be encoded.
  Result<TargetWrites> WriteTargets(const BundleRef& ref, const TrustBundleSpec& spec,
                                    const std::vector<std::string>& selected,
                                    const std::string& pem, const BuildResult& bundle,
                                    std::vector<TargetProblem>& foreign);

  kube::Client& client_;
  const TrustView& view_;
  kube::EventRecorder& events_;
  TrustMetrics& metrics_;
  ReconcilerOptions options_;
  const common::Clock& clock_;
  TargetWriter targets_;
  TargetWriter secret_targets_;

  mutable std::mutex mu_;
  std::map<std::string, Interest> interest_;
  std::map<std::string, std::string> last_good_;  // bundle -> PEM last written
};

// Why a TrustBundle of this name cannot work, or "": its name is the value of
// every target's label, and a label value holds at most 63 characters.
std::string BundleNameProblem(const std::string& name);

// What the cache keeps of a certguard target: managedFields down to the
// managers' names, each data value as its digest marker, each binaryData
// value as the digest marker of its decoded bytes.
nlohmann::json CompactTarget(const nlohmann::json& configmap);
// What the cache keeps of any other ConfigMap: identity, labels, owners,
// managers and the annotations ForeignReason reads. No data.
nlohmann::json CompactMetadata(const nlohmann::json& configmap);
// What the cache keeps of a Secret labelled as a target: as CompactTarget, each
// data value the digest marker of its decoded bytes (never the bytes: a Secret
// that carries the label may be someone else's).
nlohmann::json CompactSecretTarget(const nlohmann::json& secret);

}  // namespace certguard::trust
