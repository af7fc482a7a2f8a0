// Connecting a one-shot command to the cluster: --kubeconfig and --context.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/status.h"
#include "kube/client.h"

namespace certguard::cli {

struct ClusterFlags {
  std::string kubeconfig;
  std::string context;
};

// Adds --kubeconfig and --context to `cmd`.
void AddClusterFlags(CLI::App* cmd, ClusterFlags& flags);

// A client for the chosen kubeconfig (kubectl's rules; in-cluster when run in a pod).
Result<std::shared_ptr<kube::Client>> Connect(const ClusterFlags& flags);

// The built-in deny list's inputs: --cluster-domain and --service-cidr.
struct NetworkFlags {
  std::string cluster_domain = "cluster.local";
  std::vector<std::string> service_cidrs;
};

// Adds --cluster-domain and --service-cidr (repeatable, or comma-separated) to `cmd`.
void AddNetworkFlags(CLI::App* cmd, NetworkFlags& flags);

// The `csr` parent command, created by the first subcommand that needs it.
CLI::App* CsrCommand(CLI::App& app);

}  // namespace certguard::cli
