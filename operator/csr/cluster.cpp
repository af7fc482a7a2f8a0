#include "csr/cluster.h"

#include <fstream>
#include <sstream>

#include "common/yaml_json.h"
#include "kube/resource.h"

namespace certguard::csr {

Result<PolicySet> LoadClusterPolicies(kube::Client& client) {
  PolicySet set;
  set.origin = "cluster";
  auto list = kube::ListAll(client, kube::resources::kCsrApprovalPolicies, "", {});
  if (!list.ok()) {
    if (list.status().code() == Code::kNotFound) {
      set.warnings.push_back(
          "the CSRApprovalPolicy CRD is not installed: the built-in default policy decides");
      return set;
    }
    return list.status().Annotate("listing CSRApprovalPolicies");
  }
  for (const auto& item : list->items) {
    auto p = PolicyFromObject(item);
    if (!p.ok()) {
      set.warnings.push_back("skipping an unreadable CSRApprovalPolicy: " + p.status().message());
      continue;
    }
    if (!p->valid()) {
      std::string errors;
      for (const auto& e : p->errors) errors += (errors.empty() ? "" : "; ") + e;
      set.warnings.push_back("policy " + p->name + " is invalid and applies to nothing: " + errors);
    }
    set.policies.push_back(std::move(*p));
  }
  return set;
}

Result<PolicySet> LoadPolicyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read policy file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  auto docs = common::ParseDocuments(buf.str());
  if (!docs.ok()) return docs.status().Annotate(path);
  auto objects = common::FlattenObjects(*docs);
  if (!objects.ok()) return objects.status().Annotate(path);
  PolicySet set;
  set.origin = path;
  for (const auto& obj : *objects) {
    auto p = PolicyFromObject(obj);
    if (!p.ok()) return p.status().Annotate(path);
    if (!p->valid()) {
      std::string errors;
      for (const auto& e : p->errors) errors += (errors.empty() ? "" : "; ") + e;
      set.warnings.push_back("policy " + p->name + " is invalid and applies to nothing: " + errors);
    }
    set.policies.push_back(std::move(*p));
  }
  if (set.policies.empty()) return InvalidArgument(path + " holds no CSRApprovalPolicy");
  return set;
}

Result<NodeMap> LoadNodes(kube::Client& client) {
  auto list = kube::ListAll(client, kube::resources::kNodes, "", {});
  if (!list.ok()) return list.status().Annotate("listing nodes");
  NodeMap nodes;
  for (const auto& item : list->items) {
    auto n = NodeFromObject(item);
    if (n.ok()) nodes.emplace(n->name, std::move(*n));
  }
  return nodes;
}

Result<std::vector<nlohmann::json>> LoadCsrs(kube::Client& client) {
  auto list = kube::ListAll(client, kube::resources::kCertificateSigningRequests, "", {});
  if (!list.ok()) return list.status().Annotate("listing CertificateSigningRequests");
  return std::move(list->items);
}

}  // namespace certguard::csr
