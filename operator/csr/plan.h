// What to do about one CSR object, given the policies, the Nodes and the
// backlog: the single code path behind the controller, `approve-pending` and
// `csr explain`. Pure, thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "csr/approval.h"
#include "csr/defaults.h"
#include "csr/evaluate.h"
#include "csr/pending.h"
#include "csr/policy.h"
#include "csr/supersede.h"

namespace certguard::csr {

struct PlanOptions {
  // A serving CSR whose Node is missing is retried this long before it is refused.
  std::chrono::milliseconds node_wait_timeout = kDefaultNodeWaitTimeout;
  FloodLimits flood;  // {0, 0}: no flood guard
  // How soon a CSR held by the flood guard is looked at again.
  std::chrono::milliseconds flood_recheck = std::chrono::seconds(30);
  ClusterNetwork network;  // the built-in deny list's cluster domain and service ranges
  // A CSR that a newer duplicate supersedes (csr/supersede.h): denied as
  // Superseded, or left pending with nothing written (`--csr-superseded`).
  SupersededAction superseded = SupersededAction::kDeny;
};

// The Nodes that list an address key (csr/node.h IpKey, DnsKey).
using AddressOwners = std::function<std::vector<std::string>(const std::string& key)>;

// What MakePlan knows beyond the CSR, its Node and the backlog.
struct PlanContext {
  // The name of a newer CSR of the same group (csr/supersede.h); empty when
  // this one is the newest or has none.
  std::string superseded_by;
  // Which Nodes list an address; empty: no address is taken to be another's,
  // and a serving CSR naming one waits as for an address still to come.
  AddressOwners address_owners;
};

struct Plan {
  enum class Action {
    kSkip,          // already decided, not a kubelet signer, or not a CSR: leave it alone
    kApprove,       // write an Approved condition
    kDeny,          // write a Denied condition
    kIgnore,        // the policies leave it for a person: write nothing
    kDryRun,        // the deciding policy is a dry run: write nothing, record it
    kWaitForNode,   // refused only for its missing Node: look again after requeue_after
    kHoldForFlood,  // would be approved, but the pending-flood guard holds it
  };
  Action action = Action::kSkip;
  Decision decision;          // valid for every action but kSkip
  CsrState state = CsrState::kPending;
  std::string requester;      // spec.username
  std::string flood_key;      // FloodKey of requester and CN: who the flood guard counts it against
  std::string signer_name;    // spec.signerName
  std::string message;        // the condition message: "policy P: CODE: text; CODE: text"
  std::chrono::milliseconds requeue_after{0};  // kWaitForNode, kHoldForFlood
  FloodCheck flood;           // kHoldForFlood
  std::string note;           // kSkip: why; kWaitForNode: what for, how long it has waited
};

const char* ActionName(Plan::Action a);  // "Skip", "Approve", "Deny", ...

// "policy default: ApprovedRenewal: renewal by node worker-1" or, with several
// reasons, "policy p: A: text; B: text".
std::string DecisionMessage(const Decision& d);

// The plan for `csr` (a CertificateSigningRequest object). `summary` is the
// backlog for the flood guard (ignored when options.flood is {0, 0}).
Plan MakePlan(const nlohmann::json& csr, const NodeLookup& nodes,
              const std::vector<Policy>& policies, const PendingSummary& summary,
              x509::Time now, const PlanOptions& options, const PlanContext& context = {});

}  // namespace certguard::csr
