// The CSR approval controller: watches CertificateSigningRequests, Nodes and
// CSRApprovalPolicies, decides every pending CSR of the two kubelet signers
// with the policy engine (csr/plan.h) and writes the decision through the
// /approval subresource, with counts on the policy. The reason of an approval
// is in its Approved condition; its Event, if any, goes to a recorder of its
// own (approval_events) so that it never takes an approval's place on the wire.
// Every other outcome (denials, holds, waits) gets an Event on the CSR.
//
// Level-triggered: a work item is a CSR name. A CSR already approved, denied or
// issued is left alone; a write on a stale object (409) re-reads the CSR and
// decides again, so no CSR is ever decided twice. A policy change or a new Node
// re-queues every pending CSR; the pending ones are indexed (PendingIndex), so
// that costs O(pending), not O(cached CSRs), and the caches keep only what
// decisions read (csr/cache.h). A reconcile reads them through a CsrView
// (csr/view.h) and the time from a common::Clock, both injectable for tests;
// what each outcome tells (Events, metrics, policy counts) is csr/record.h,
// what an informer's change enqueues csr/handlers.h, and the policies' status
// writes csr/status_reconciler.h.
//
// Thread-safety: Start/Stop from one thread; everything else is internal.
#pragma once

#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "csr/metrics.h"
#include "csr/node.h"
#include "csr/pending.h"
#include "csr/plan.h"
#include "csr/policy_status.h"
#include "csr/record.h"
#include "csr/renewal.h"
#include "csr/view.h"
#include "kube/client.h"
#include "kube/controller.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/queue.h"

namespace certguard::csr {

class CsrChangeHandlers;
class PolicyStatusReconciler;

struct CsrControllerOptions {
  PlanOptions plan;
  // Each worker spends most of its time waiting for its /approval write. Not
  // many more: they share one API Priority and Fairness flow with the leader
  // Lease's renewals, which queue behind them in the server.
  int workers = 4;
  // Where approvals' Events go (null: nowhere). Meant to be a recorder with a
  // budget of its own that drops under pressure; the Approved condition carries
  // the same reason.
  kube::EventRecorder* approval_events = nullptr;
  // Decisions are gathered this long before a policy's status is written.
  std::chrono::milliseconds policy_status_delay = std::chrono::seconds(2);
  // How often the pending gauges are refreshed without an event.
  std::chrono::milliseconds backlog_refresh = std::chrono::seconds(10);
  // What a reconcile reads (tests: fakes). Default: the informers' caches.
  const CsrView* view = nullptr;  // must outlive it
  // Where decisions, conditions, the latency metric, the backlog and the queues' delays read the time.
  const common::Clock* clock = nullptr;  // default: common::SystemClock(); must outlive it
};

// The informers a CSR controller reads. Started by the controller.
class CsrController {
 public:
  // `metrics` may be null (no metrics). Client, recorder and metrics must
  // outlive the controller.
  CsrController(kube::Client& client, kube::EventRecorder& events, CsrMetrics* metrics,
                CsrControllerOptions options);
  ~CsrController();  // Stop()
  CsrController(const CsrController&) = delete;
  CsrController& operator=(const CsrController&) = delete;

  // Starts the informers, waits for nothing, and starts the workers once the
  // informers are synced (on a thread of its own).
  void Start();
  // Stops the workers (letting each finish its CSR), then the informers. Idempotent.
  void Stop();
  // Every informer has listed once and the workers run: readiness.
  bool Synced() const { return running_.load(); }
  // What it waits for while not Synced ("waiting for CRD csrapprovalpolicies.certguard.io"); "" once synced.
  std::string WaitingFor() const;

  // One reconcile of one CSR (exposed for tests).
  kube::ReconcileResult ReconcileCsr(const std::string& name);
  // Writes one policy's status (exposed for tests).
  kube::ReconcileResult ReconcilePolicyStatus(const std::string& name);

  // The kubelet CSRs seen, for the renewal metrics (csr/renewal_metrics.h).
  std::shared_ptr<const RenewalIndex> renewals() const { return renewals_; }

 private:
  class CsrReconciler;
  class CacheView;
  class Sink;

  x509::Time Now() const;
  std::vector<Policy> CurrentPolicies();
  PendingSummary CurrentSummary(x509::Time now);
  // Enqueues the held CSRs that the backlog, as it is now, no longer holds.
  void RecheckHeld();
  // Tells the outcome (csr/record.h) and schedules the status write of the policy it counts toward.
  void Record(const nlohmann::json& csr, const Plan& plan, bool written, x509::Time now);
  void StartWhenSynced();
  void BacklogLoop();

  kube::Client& client_;
  kube::EventRecorder& events_;
  CsrMetrics* metrics_;
  CsrControllerOptions options_;
  const common::Clock& clock_;

  kube::Informer csrs_;
  kube::Informer nodes_;
  kube::Informer policies_;
  std::unique_ptr<CacheView> cache_view_;
  const CsrView& view_;  // options_.view or *cache_view_
  PendingIndex pending_;  // the pending kubelet CSRs of csrs_
  DecisionRecord record_;  // Events, metrics, dedup and the policies' counts
  NodeAddressIndex addresses_;  // who lists which address, from nodes_
  // Each node's certificates and renewals, from csrs_ (whole objects as they arrive).
  std::shared_ptr<RenewalIndex> renewals_ = std::make_shared<RenewalIndex>();
  kube::WorkQueue queue_;
  kube::WorkQueue status_queue_;
  std::unique_ptr<CsrReconciler> csr_reconciler_;
  std::unique_ptr<PolicyStatusReconciler> status_reconciler_;
  std::unique_ptr<Sink> sink_;
  std::unique_ptr<CsrChangeHandlers> handlers_;  // the informers' handlers
  std::unique_ptr<kube::Controller> csr_controller_;
  std::unique_ptr<kube::Controller> status_controller_;

  std::mutex mu_;
  // Parsed policies by name, with the resourceVersion they were parsed from.
  std::map<std::string, std::pair<std::string, Policy>> policy_cache_;
  // CSRs the flood guard holds: name -> FloodKey, for RecheckHeld.
  std::map<std::string, std::string> held_;

  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::thread starter_;
  std::thread backlog_;
};

}  // namespace certguard::csr
