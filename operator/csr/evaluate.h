// The node identity policy engine: decides whether a kubelet CSR is approved.
// Pure: no I/O, the clock is an argument. Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "csr/node.h"
#include "csr/policy.h"
#include "csr/reasons.h"
#include "csr/request.h"
#include "x509/types.h"

namespace certguard::csr {

enum class Verdict { kApprove, kDeny, kIgnore };
const char* VerdictName(Verdict v);  // "Approve", "Deny", "Ignore"

struct Decision {
  Verdict verdict = Verdict::kIgnore;
  // The policy that decided: a CSRApprovalPolicy's name, "default", or empty
  // when no policy applied.
  std::string policy;
  // Why. Never empty: an approval carries one Approved* reason, a refusal every
  // rule it broke (not just the first).
  Reasons reasons;
  bool dry_run = false;  // the deciding policy is a dry run: record, write nothing
};

// Looks a Node up by name; nullptr when it does not exist.
using NodeLookup = std::function<const NodeFacts*(const std::string& name)>;

// The decision for one request. `policies` are every CSRApprovalPolicy in the
// cluster (invalid ones included: they apply to nothing and are reported);
// when it is empty the built-in DefaultPolicy() decides.
// Combination: a policy applies when it is valid, lists the signer, its
// nodeNamePattern matches the CN's node name and, when the Node exists, its
// nodeSelector matches the Node. Approved when any applicable policy approves
// (policies are tried in name order); otherwise Deny if an applicable policy
// says Deny, else Ignore. Signers other than the two kubelet signers are
// always Ignore.
Decision Evaluate(const CsrRequest& request, const NodeLookup& nodes,
                  const std::vector<Policy>& policies, x509::Time now);
Decision Evaluate(const CsrRequest& request, const NodeMap& nodes,
                  const std::vector<Policy>& policies, x509::Time now);

// The single-policy check behind Evaluate, exposed for tests and `explain`:
// every reason `policy` refuses the request for; empty means it approves.
// Does not check applicability.
Reasons Check(const CsrRequest& request, const NodeLookup& nodes, const Policy& policy,
              x509::Time now);

// {"decision": ..., "policy": ..., "reasons": [{"code", "message"}], "dryRun": bool}
std::string DecisionToJson(const Decision& d);

}  // namespace certguard::csr
