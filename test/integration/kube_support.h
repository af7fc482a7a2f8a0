// Shared pieces of the kube integration tests: clients for the test plane.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "kube/client.h"
#include "kube/config.h"
#include "support/cluster.h"

namespace certguard::test {

// A config from a kubeconfig file; fails the test when it does not load.
inline kube::ClientConfig KubeConfigFrom(const std::string& kubeconfig) {
  kube::LoadOptions o;
  o.kubeconfig_flag = kubeconfig;
  auto c = kube::LoadClientConfig(o);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return *c;
}

// A client for `config`, with the QPS limit lifted for bulk set-up when `fast`.
inline std::shared_ptr<kube::RestClient> KubeClientFor(kube::ClientConfig config,
                                                       bool fast = false) {
  if (fast) {
    config.qps = 0;
  }
  auto c = kube::NewRestClient(config);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return *c;
}

inline std::shared_ptr<kube::RestClient> AdminClient(const Cluster& cluster, bool fast = false) {
  return KubeClientFor(KubeConfigFrom(cluster.admin_kubeconfig()), fast);
}

// Creates namespace `name` (fine if it exists).
inline void EnsureNamespace(kube::Client& client, const std::string& name) {
  auto r = client.Create(kube::resources::kNamespaces, "",
                         {{"apiVersion", "v1"}, {"kind", "Namespace"},
                          {"metadata", {{"name", name}}}});
  INFO(r.status().ToString());
  REQUIRE((r.ok() || r.status().code() == Code::kAlreadyExists));
}

}  // namespace certguard::test
