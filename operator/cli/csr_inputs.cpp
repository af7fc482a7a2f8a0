#include "cli/csr_inputs.h"

#include <utility>

namespace certguard::cli {

Result<std::shared_ptr<kube::Client>> ConnectWithPolicyFile(const ClusterFlags& cluster,
                                                            const std::string& policy_file) {
  if (!policy_file.empty()) {
    if (auto p = csr::LoadPolicyFile(policy_file); !p.ok()) return p.status();
  }
  return Connect(cluster);
}

Result<csr::PolicySet> LoadPolicies(kube::Client& client, const std::string& policy_file) {
  if (!policy_file.empty()) return csr::LoadPolicyFile(policy_file);
  return csr::LoadClusterPolicies(client);
}

Result<csr::PlanOptions> PlanOptionsOf(const PlanFlags& flags) {
  csr::PlanOptions o;
  auto node_wait = common::ParseDuration(flags.node_wait);
  if (!node_wait.ok()) {
    return InvalidArgument("--csr-node-wait-timeout: " + node_wait.status().message());
  }
  auto network = csr::MakeClusterNetwork(flags.network.cluster_domain, flags.network.service_cidrs);
  if (!network.ok()) return InvalidArgument(network.status().message());
  auto superseded = csr::ParseSupersededAction(flags.superseded);
  if (!superseded.ok()) {
    return InvalidArgument("--csr-superseded " + superseded.status().message());
  }
  o.network = std::move(*network);
  o.node_wait_timeout = *node_wait;
  o.flood = {flags.max_pending_per_node, flags.max_pending};
  o.superseded = *superseded;
  return o;
}

Result<CsrInputs> LoadCsrInputs(kube::Client& client) {
  CsrInputs in;
  auto nodes = csr::LoadNodes(client);
  if (!nodes.ok()) return nodes.status();
  in.nodes = std::move(*nodes);
  auto csrs = csr::LoadCsrs(client);
  if (!csrs.ok()) return csrs.status();
  in.csrs = std::move(*csrs);
  for (const auto& c : in.csrs) {
    if (auto k = csr::KubeletCsrOf(c)) in.kubelet_csrs.push_back(std::move(*k));
  }
  csr::AddLastClientCerts(in.nodes, in.kubelet_csrs);
  in.addresses = std::make_shared<csr::NodeAddressIndex>();
  for (const auto& [name, node] : in.nodes) in.addresses->Update(name, csr::AddressKeys(node));
  return in;
}

csr::NodeLookup CsrInputs::Lookup() const {
  return [this](const std::string& name) -> const csr::NodeFacts* {
    auto it = nodes.find(name);
    return it == nodes.end() ? nullptr : &it->second;
  };
}

csr::AddressOwners CsrInputs::Owners() const {
  return [addresses = addresses](const std::string& key) { return addresses->Owners(key); };
}

}  // namespace certguard::cli
