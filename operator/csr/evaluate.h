// The node identity policy engine: decides whether a kubelet CSR is approved.
// Pure: no I/O, the clock is an argument. Thread-safe.
#pragma once

#include <functional>
#include <optional>
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

// The cluster's own names and networks, which no node certificate may claim
// whatever its Node lists (`--cluster-domain`, `--service-cidr`).
struct ClusterNetwork {
  std::string cluster_domain = "cluster.local";  // lower case, no trailing dot
  std::vector<x509::IpRange> service_cidrs;     // Service (ClusterIP) ranges
};

// Why a DNS name (lower case) belongs to the control plane or to Services: kubernetes,
// kubernetes.default, any name under .svc, and the cluster domain and every name under it;
// empty when it does not.
std::string ControlPlaneNameWhy(const std::string& lower_name, const ClusterNetwork& network);

// "cluster.local" is a valid cluster domain; InvalidArgument otherwise (it is lower-cased
// and a trailing dot dropped).
Result<std::string> ParseClusterDomain(const std::string& text);

// From `--cluster-domain` and `--service-cidr` values; InvalidArgument naming the bad one.
Result<ClusterNetwork> MakeClusterNetwork(const std::string& cluster_domain,
                                          const std::vector<std::string>& service_cidrs);

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
// `network` feeds the built-in deny list (SANControlPlaneName, SANServiceAddress).
Decision Evaluate(const CsrRequest& request, const NodeLookup& nodes,
                  const std::vector<Policy>& policies, x509::Time now,
                  const ClusterNetwork& network = {});
Decision Evaluate(const CsrRequest& request, const NodeMap& nodes,
                  const std::vector<Policy>& policies, x509::Time now,
                  const ClusterNetwork& network = {});

// The single-policy check behind Evaluate, exposed for tests and `explain`:
// every reason `policy` refuses the request for; empty means it approves.
// Does not check applicability.
Reasons Check(const CsrRequest& request, const NodeLookup& nodes, const Policy& policy,
              x509::Time now, const ClusterNetwork& network = {});

// Whether a bootstrap identity may re-mint the client certificate of node
// `node`, which exists and has been NotReady long enough: only when its last
// issued client certificate is dead at `now` (expired, or not yet valid: a
// restore or a skewed clock), or while the policy's recovery window is open
// (now before `window_until`). A node with no known client certificate cannot
// be shown dead: only a window lets it through. Pure.
struct RebootstrapCheck {
  bool allowed = false;
  std::string because;  // when allowed: which condition holds, for the approval message
  Reasons refusals;     // otherwise: one reason per condition that failed (certificate, window)
};
RebootstrapCheck CheckRebootstrap(const std::string& node,
                                  const std::optional<CertValidity>& last_client_cert,
                                  const std::optional<x509::Time>& window_until,
                                  const std::string& policy, x509::Time now);

// {"decision": ..., "policy": ..., "reasons": [{"code", "message"}], "dryRun": bool}
std::string DecisionToJson(const Decision& d);

}  // namespace certguard::csr
