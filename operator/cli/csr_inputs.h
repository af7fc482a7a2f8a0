// What `approve-pending` and `csr explain` read from the cluster before they
// decide: the policies, the Nodes and the CSRs, prepared as the controller
// prepares them. Written once so the two commands cannot decide differently.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cluster.h"
#include "common/duration.h"
#include "common/status.h"
#include "csr/cluster.h"
#include "csr/defaults.h"
#include "csr/node.h"
#include "csr/plan.h"
#include "csr/renewal.h"
#include "kube/client.h"

namespace certguard::cli {

// Reads the --policy file (if set) before it connects, so that an unreadable
// file, like a bad kubeconfig, is a usage error found before any API call.
Result<std::shared_ptr<kube::Client>> ConnectWithPolicyFile(const ClusterFlags& cluster,
                                                            const std::string& policy_file);

// The policies of `policy_file` when it is set, else the cluster's.
Result<csr::PolicySet> LoadPolicies(kube::Client& client, const std::string& policy_file);

// The flags of the CSR plan that `approve-pending` and `csr explain` take as
// `run` does, with its defaults.
struct PlanFlags {
  NetworkFlags network;
  std::string node_wait = common::FormatDuration(csr::kDefaultNodeWaitTimeout);
  int max_pending_per_node = csr::kDefaultMaxPendingPerNode;
  int max_pending = csr::kDefaultMaxPending;
  std::string superseded = csr::kDefaultSuperseded;
};

// The plan options of `flags`. InvalidArgument, naming the flag, when one is wrong.
Result<csr::PlanOptions> PlanOptionsOf(const PlanFlags& flags);

// The cluster's Nodes and CSRs. Each Node knows its last client certificate
// (the re-bootstrap check) and the Nodes' addresses are indexed.
struct CsrInputs {
  csr::NodeMap nodes;
  std::vector<nlohmann::json> csrs;
  std::vector<csr::KubeletCsr> kubelet_csrs;  // the kubelet CSRs among `csrs`
  std::shared_ptr<csr::NodeAddressIndex> addresses;

  // Both read this object: valid while it lives where it is.
  csr::NodeLookup Lookup() const;
  csr::AddressOwners Owners() const;
};

Result<CsrInputs> LoadCsrInputs(kube::Client& client);

}  // namespace certguard::cli
