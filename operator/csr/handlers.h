// What a change seen by the CSR controller's informers (csr/controller.h) sets
// in motion: the handlers keep the indexes up to date and say what to decide
// again; they never decide. Level-triggered: enqueuing a CSR twice is harmless.
//
//   - a CSR of a kubelet signer that is pending: decide it; the older retries
//     it supersedes: decide them too (as Superseded);
//   - a CSR that was pending and is decided now (by us or anyone): the backlog
//     shrank, so the CSRs the flood guard holds are looked at again;
//   - a pending CSR deleted: every pending CSR is decided again (the backlog
//     shrank); its hold and its recorded decision are forgotten;
//   - a Node added, deleted, or changed in what a decision reads (labels,
//     addresses, Ready): every pending CSR is decided again; a heartbeat is not;
//   - a policy added, deleted, or changed in its spec (generation): every
//     pending CSR is decided again, and its status is written (unless deleted);
//     a change of its status alone (often our own write) is not.
//
// Thread-safety: as thread-safe as the indexes and the sink (the controller's
// are); the three informers call it from their own threads.
#pragma once

#include <string>

#include "csr/node.h"
#include "csr/pending.h"
#include "csr/renewal.h"
#include "kube/informer.h"

namespace certguard::csr {

// Where the handlers' work goes: the controller's queues and its own state
// (tests record the calls).
class ChangeSink {
 public:
  virtual ~ChangeSink() = default;
  // Decide this CSR (again).
  virtual void EnqueueCsr(const std::string& name) = 0;
  // Write this policy's status.
  virtual void EnqueuePolicyStatus(const std::string& policy) = 0;
  // The backlog shrank: the CSRs held for a flood may go now.
  virtual void RecheckHeld() = 0;
  // A CSR is gone: forget its hold and its recorded decision (by uid).
  virtual void ForgetCsr(const std::string& name, const std::string& uid) = 0;
};

// The indexes the handlers keep up to date. Each must outlive the handlers.
struct ChangeIndexes {
  PendingIndex& pending;       // the pending kubelet CSRs
  RenewalIndex& renewals;      // each node's certificates
  NodeAddressIndex& addresses;  // who lists which address
};

class CsrChangeHandlers {
 public:
  CsrChangeHandlers(ChangeIndexes indexes, ChangeSink& sink) : indexes_(indexes), sink_(sink) {}

  void OnCsr(const kube::Change& change);
  void OnNode(const kube::Change& change);
  void OnPolicy(const kube::Change& change);

 private:
  void EnqueuePending();

  ChangeIndexes indexes_;
  ChangeSink& sink_;
};

}  // namespace certguard::csr
