// The status certguard keeps on each CSRApprovalPolicy: how many decisions it
// made, the last one, and a Valid condition naming invalid fields. Pure.
//
// The shape is the CRD's (crds/certguard.io_csrapprovalpolicies.yaml):
//   status:
//     observedGeneration: 3
//     approved: 10
//     denied: 2
//     ignored: 0
//     dryRun: 1          # decisions a dryRun policy recorded without writing
//     lastDecision: {csr, decision: Approve|Deny|Ignore, reason: CODE, time, dryRun}
//     conditions:
//     - {type: Valid, status: "True"|"False", reason: Valid|InvalidFields,
//        message, lastTransitionTime, observedGeneration}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "x509/types.h"

namespace certguard::csr {

// Decisions not yet written to a policy's status.
struct DecisionTally {
  int64_t approved = 0, denied = 0, ignored = 0, dry_run = 0;
  nlohmann::json last;  // the latest lastDecision, null when none

  bool empty() const { return approved + denied + ignored + dry_run == 0 && last.is_null(); }
  // Adds `later`'s counts; its `last` wins when set.
  void Merge(const DecisionTally& later);
};

// The lastDecision object. `decision` is "Approve", "Deny" or "Ignore";
// `reason` the first reason code.
nlohmann::json LastDecisionJson(const std::string& csr_name, const std::string& decision,
                                const std::string& reason, bool dry_run, x509::Time when);

// The status `policy` (a CSRApprovalPolicy object) should have: its current
// counts plus `delta`, the last decision, and the Valid condition from
// `errors` (the lastTransitionTime kept while the condition's status does not
// change). Malformed existing status fields start again from zero.
nlohmann::json NextPolicyStatus(const nlohmann::json& policy, const DecisionTally& delta,
                                const std::vector<std::string>& errors, x509::Time now);

}  // namespace certguard::csr
