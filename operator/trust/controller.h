// The TrustBundle controller: informers on TrustBundles, Namespaces and
// ConfigMaps (certguard's targets by label; the rest as metadata only), a work queue of bundle names, and the reconciler. Handlers map a
// namespace change to every bundle and a ConfigMap change to the bundles that
// read, write or verify it. Secrets are read on demand (no cluster-wide watch).
//
// Wiring into `certguard run` (after leader election is won):
//   trust::TrustController trust(client, recorder, endpoints.registry());
//   trust.Start();            // informers, then the workers once caches sync
//   endpoints.AddReadinessCheck("trust-informers", [&] { return trust.Synced(); });
//   ...; trust.Stop();        // drains the queue and joins every thread
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
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
  kube::Duration sync_timeout = std::chrono::minutes(2);
};

class TrustController {
 public:
  // Every argument must outlive the controller.
  TrustController(kube::Client& client, kube::EventRecorder& events,
                  prometheus::Registry& registry, TrustControllerOptions options = {});
  ~TrustController();  // Stop()

  // Starts the informers, waits for their first lists (up to sync_timeout),
  // then the workers. Unavailable when the caches did not sync in time (the
  // CRD not installed yet, the API server unreachable): the informers keep
  // trying and the workers start as soon as every cache holds its first list.
  Status Start();
  void Stop();
  // OK once every cache holds its first list.
  Status Synced() const;

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
  std::unique_ptr<View> view_;
  TrustMetrics metrics_;
  kube::WorkQueue queue_;
  std::unique_ptr<TrustBundleReconciler> reconciler_;
  std::unique_ptr<kube::Controller> controller_;
  std::atomic<bool> stopping_{false};
  std::thread late_start_;  // runs StartWhenSynced when Start timed out
};

}  // namespace certguard::trust
