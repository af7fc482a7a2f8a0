// Writes the status of a CSRApprovalPolicy (csr/policy_status.h) from the
// decisions counted for it (csr/record.h). A work item is a policy name: the
// counts gathered since the last write are taken out, the policy is read from
// the API (not the cache: the write needs its latest resourceVersion), and its
// status is written only when it changes. A failed read or write gives the
// counts back to the record, to be written by the retry; a deleted policy
// drops them.
//
// Thread-safe as far as its client and record are; the controller runs one worker.
#pragma once

#include <string>

#include "common/time.h"
#include "csr/record.h"
#include "kube/client.h"
#include "kube/controller.h"

namespace certguard::csr {

class PolicyStatusReconciler : public kube::Reconciler {
 public:
  // All must outlive it. The status is stamped with `clock`'s time.
  PolicyStatusReconciler(kube::Client& client, DecisionRecord& record, const common::Clock& clock)
      : client_(client), record_(record), clock_(clock) {}

  // Done when written, unchanged or the policy is gone; Retry when reading or
  // writing it failed.
  kube::ReconcileResult Reconcile(const std::string& policy) override;

 private:
  kube::Client& client_;
  DecisionRecord& record_;
  const common::Clock& clock_;
};

}  // namespace certguard::csr
