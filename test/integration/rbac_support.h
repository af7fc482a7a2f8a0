// Integration tests under certguard's shipped RBAC: deploy/certguard.yaml (the
// chart rendered with default values) applied to the test plane, and a
// kubeconfig holding a token of its ServiceAccount. The Deployment itself never
// runs here (the plane has no scheduler); tests run certguard with this kubeconfig.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "support/cluster.h"

namespace certguard::test {

// Writes KUBECONFIG, a kubeconfig for the plane holding a one-hour token of
// ServiceAccount NS/NAME; returns its path.
inline std::string ServiceAccountKubeconfig(const Cluster& cluster, const std::string& ns,
                                            const std::string& name,
                                            const std::string& kubeconfig) {
  CommandResult token = cluster.Kubectl("create token " + name + " -n " + ns + " --duration 1h");
  INFO(token.err);
  REQUIRE(token.ok());
  std::string t = token.out;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  CommandResult made = cluster.Run(
      "set -e; k=" + ShellQuote(kubeconfig) +
      "; kubectl config --kubeconfig \"$k\" set-cluster c --server \"$KUBE_SERVER\""
      " --certificate-authority \"$CLUSTER_CA\" --embed-certs >/dev/null;"
      " kubectl config --kubeconfig \"$k\" set-credentials sa --token " + ShellQuote(t) +
      " >/dev/null; kubectl config --kubeconfig \"$k\" set-context c --cluster c --user sa >/dev/null;"
      " kubectl config --kubeconfig \"$k\" use-context c >/dev/null");
  INFO(made.err);
  REQUIRE(made.ok());
  return kubeconfig;
}

// Applies deploy/certguard.yaml (namespace certguard) and writes WORK/sa.kubeconfig
// for ServiceAccount certguard/certguard (a one-hour token); returns its path.
inline std::string DeployedServiceAccountKubeconfig(const Cluster& cluster, const std::string& work) {
  cluster.Kubectl("create namespace certguard");  // fine if it exists
  CommandResult deployed = cluster.Kubectl("apply -f deploy/certguard.yaml");
  INFO(deployed.err);
  REQUIRE(deployed.ok());
  return ServiceAccountKubeconfig(cluster, "certguard", "certguard", work + "/sa.kubeconfig");
}

}  // namespace certguard::test
