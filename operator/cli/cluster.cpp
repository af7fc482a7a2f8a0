#include "cli/cluster.h"

#include "kube/config.h"

namespace certguard::cli {

void AddClusterFlags(CLI::App* cmd, ClusterFlags& flags) {
  cmd->add_option("--kubeconfig", flags.kubeconfig,
                  "Kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  cmd->add_option("--context", flags.context, "Kubeconfig context to use");
}

void AddNetworkFlags(CLI::App* cmd, NetworkFlags& flags) {
  cmd->add_option("--cluster-domain", flags.cluster_domain,
                  "Cluster DNS domain: no certificate is approved for a name in it")
      ->capture_default_str();
  cmd->add_option("--service-cidr", flags.service_cidrs,
                  "Service (ClusterIP) range whose addresses are never approved (repeatable or "
                  "comma-separated; kubeadm and Talos 10.96.0.0/12, OKD 172.30.0.0/16)")
      ->delimiter(',');
}

Result<std::shared_ptr<kube::Client>> Connect(const ClusterFlags& flags) {
  kube::LoadOptions load;
  load.kubeconfig_flag = flags.kubeconfig;
  load.context = flags.context;
  auto config = kube::LoadClientConfig(load);
  if (!config.ok()) return config.status().Annotate("loading the kubeconfig");
  auto client = kube::NewRestClient(*config);
  if (!client.ok()) return client.status().Annotate("building the API client");
  return std::shared_ptr<kube::Client>(*client);
}

CLI::App* CsrCommand(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == "csr") return sub;
  }
  auto* csr = app.add_subcommand("csr", "Kubelet certificate signing requests");
  csr->require_subcommand(1);
  return csr;
}

}  // namespace certguard::cli
