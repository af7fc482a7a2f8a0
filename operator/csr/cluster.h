// Reading what a decision needs straight from the API, for the one-shot
// commands (`approve-pending`, `csr explain`); the controller reads the same
// things from its informers.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "csr/node.h"
#include "csr/policy.h"
#include "kube/client.h"

namespace certguard::csr {

struct PolicySet {
  std::vector<Policy> policies;
  std::string origin;                 // "cluster" or the file name
  std::vector<std::string> warnings;  // e.g. the CRD is not installed
};

// Every CSRApprovalPolicy in the cluster. A cluster without the CRD has none
// (a warning says so, and the built-in default policy decides).
Result<PolicySet> LoadClusterPolicies(kube::Client& client);

// CSRApprovalPolicy objects from a YAML or JSON file (several documents or a
// List allowed; other kinds are an error). InvalidArgument when unreadable.
Result<PolicySet> LoadPolicyFile(const std::string& path);

Result<NodeMap> LoadNodes(kube::Client& client);
Result<std::vector<nlohmann::json>> LoadCsrs(kube::Client& client);

}  // namespace certguard::csr
