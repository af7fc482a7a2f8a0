// The TrustBundle controller: informers on TrustBundles, Namespaces and
// ConfigMaps (certguard's targets by label; the rest as metadata only), a work queue of bundle
// names, and the reconciler. Handlers map a namespace change to every bundle and a ConfigMap change
// to the bundles that read, write or verify it. Secret sources are read on demand; only with Secret
// targets enabled (ReconcilerOptions::secret_targets) are Secrets watched too:
// the labelled ones as targets (data as digests), the rest as metadata only.
//
// Wiring into `certguard run` (after leader election is won):
//   trust::TrustController trust(client, recorder, endpoints.registry());
//   trust.Start();            // informers; the workers once caches sync (never blocks)
//   ready = trust.Synced();   // else trust.WaitingFor() says why
//   ...; trust.Stop();        // drains the queue and joins every thread
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/queue.h"
#include "trust/metrics.h"
#include "trust/reconciler.h"

namespace certguard::trust {

struct TrustControllerOptions {
  int workers = 1;
  ReconcilerOptions reconciler;
  kube::Duration resync = std::chrono::minutes(10);
};

class TrustController {
 public:
  // Every argument must outlive the controller.
  TrustController(kube::Client& client, kube::EventRecorder& events,
                  prometheus::Registry& registry, TrustControllerOptions options = {});
  ~TrustController();  // Stop()

  // Starts the informers and returns; a thread of its own starts the workers
  // once every cache holds its first list (workers on a partial cache would
  // take existing targets for missing ones). Until then the informers keep
  // trying: the CRD may be installed later, the API server come back.
  void Start();
  // Stops the workers, then the informers. Idempotent.
  void Stop();
  // Every cache holds its first list and the workers run: readiness.
  bool Synced() const { return running_.load(); }
  // What it waits for while not Synced ("waiting for CRD trustbundles.certguard.io"); "" once synced.
  std::string WaitingFor() const;

  TrustBundleReconciler& reconciler() { return *reconciler_; }
  kube::WorkQueue& queue() { return queue_; }

 private:
  class View;
  void EnqueueAll();
  // Waits (until Stop) for every cache, then starts the workers.
  void StartWhenSynced();

  TrustControllerOptions options_;
  kube::Informer bundles_;
  kube::Informer namespaces_;
  kube::Informer targets_;     // ConfigMaps labelled kBundleLabel: data as digests
  kube::Informer configmaps_;  // every other ConfigMap: metadata only
  // Only with Secret targets enabled (else null): Secrets labelled kBundleLabel, data as
  // digests; every other Secret, metadata only.
  std::unique_ptr<kube::Informer> secret_targets_;
  std::unique_ptr<kube::Informer> secrets_;
  std::unique_ptr<View> view_;
  TrustMetrics metrics_;
  kube::WorkQueue queue_;
  std::unique_ptr<TrustBundleReconciler> reconciler_;
  std::unique_ptr<kube::Controller> controller_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::mutex start_mu_;  // orders the workers' start against Stop
  std::thread starter_;  // runs StartWhenSynced
};

}  // namespace certguard::trust
