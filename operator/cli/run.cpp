// `certguard run`: the operator itself.
#include <memory>
#include <ostream>
#include <string>

#include "app/manager.h"
#include "app/options.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/expiry_flags.h"
#include "common/duration.h"
#include "csr/defaults.h"

namespace certguard::cli {

namespace {

// The flags that are not RunOptions as they are: text to parse.
struct RunFlags {
  app::RunOptions o;
  std::string controllers = "csr,trust,expiry";
  std::string lease = "15s", renew = "10s", retry = "2s";
  std::string node_wait = common::FormatDuration(csr::kDefaultNodeWaitTimeout);
  std::string renewal_window = common::FormatDuration(csr::kDefaultRenewalStuckWindow);
};

// The kubeconfig, the controllers, leader election and the endpoints.
void AddGeneralFlags(CLI::App* cmd, RunFlags& flags) {
  auto& o = flags.o;
  cmd->add_option("--kubeconfig", o.kubeconfig, "Kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  cmd->add_option("--context", o.context, "Kubeconfig context to use");
  cmd->add_option("--controllers", flags.controllers, "Controllers to run: comma list of csr, trust, expiry")
      ->capture_default_str();
  cmd->add_flag("--leader-elect", o.leader_elect,
                "Run only while holding the leader Lease (default true; --leader-elect=false to turn off)");
  cmd->add_option("--leader-election-id", o.leader_election_id, "Name of the leader Lease")
      ->capture_default_str();
  cmd->add_option("--leader-election-namespace", o.leader_election_namespace,
                  "Namespace of the leader Lease (default: $POD_NAMESPACE, the service account's "
                  "namespace, else certguard)");
  cmd->add_option("--leader-election-lease-duration", flags.lease, "Lease duration")
      ->capture_default_str();
  cmd->add_option("--leader-election-renew-deadline", flags.renew,
                  "A leader that cannot renew within this stops")
      ->capture_default_str();
  cmd->add_option("--leader-election-retry-period", flags.retry, "Time between lease attempts")
      ->capture_default_str();
  cmd->add_option("--metrics-bind-address", o.metrics_bind_address,
                  "Address of /metrics (\"0\" turns it off)")
      ->capture_default_str();
  cmd->add_option("--health-bind-address", o.health_bind_address,
                  "Address of /healthz and /readyz (\"0\" turns it off)")
      ->capture_default_str();
}

// CSR approval, the built-in deny list, the workers and the API client.
void AddCsrFlags(CLI::App* cmd, RunFlags& flags) {
  auto& o = flags.o;
  cmd->add_option("--csr-node-wait-timeout", flags.node_wait,
                  "How long a serving CSR waits for its Node to register before it is refused")
      ->capture_default_str();
  cmd->add_option("--csr-renewal-stuck-window", flags.renewal_window,
                  "certguard_node_renewal_stuck is 1 for a node whose kubelet certificate "
                  "expires within this while its renewal is pending or denied")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending-per-node", o.csr_max_pending_per_node,
                  "Approvals for a node pause while it has more pending CSRs than this (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending", o.csr_max_pending,
                  "All approvals pause while more kubelet CSRs than this are pending (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--csr-superseded", o.csr_superseded,
                  "An older pending CSR of a node's that a newer one of the same requester, "
                  "subject and signer supersedes: deny (reason Superseded), leave it pending, or off "
                  "(nothing is superseded: each CSR is decided on its own)")
      ->capture_default_str();
  cmd->add_option("--cluster-domain", o.cluster_domain,
                  "Cluster DNS domain: no certificate is approved for a name in it")
      ->capture_default_str();
  cmd->add_option("--service-cidr", o.service_cidrs,
                  "Service (ClusterIP) range whose addresses are never approved (repeatable or "
                  "comma-separated; kubeadm and Talos 10.96.0.0/12, OKD 172.30.0.0/16)")
      ->delimiter(',');
  cmd->add_option("--workers", o.workers, "CSR reconcile workers")->capture_default_str();
  cmd->add_option("--kube-api-qps", o.kube_api_qps,
                  "API requests per second, client-side (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--kube-api-burst", o.kube_api_burst, "API requests allowed in a burst")
      ->capture_default_str();
}

// The trust controller's targets.
void AddTrustFlags(CLI::App* cmd, app::RunOptions& o) {
  cmd->add_flag("--trust-secret-targets", o.trust_secret_targets,
                "Trust bundles: write spec.target.secret too (watches Secrets; needs RBAC to "
                "write them; default false)");
}

// The expiry inventory's sources, filters and bounds.
void AddExpiryFlags(CLI::App* cmd, app::RunOptions& o) {
  cmd->add_flag("--expiry-tls-secrets", o.expiry_tls_secrets,
                "Expiry inventory: Secrets of type kubernetes.io/tls in every namespace (default "
                "true; =false to turn off)");
  cmd->add_option("--expiry-secret-selector", o.expiry_secret_selector,
                  "Expiry inventory: also Secrets with these labels (key=value,...; empty: none)");
  cmd->add_option("--expiry-configmap-selector", o.expiry_configmap_selector,
                  "Expiry inventory: ConfigMaps with these labels (empty: none)");
  cmd->add_flag("--expiry-trust-bundles", o.expiry_trust_bundles,
                "Expiry inventory: the certificates of TrustBundles, from their targets (default true)");
  cmd->add_flag("--expiry-csrs", o.expiry_csrs,
                "Expiry inventory: issued kubelet CSRs, a node's newest per signer (default true)");
  cmd->add_flag("--expiry-webhooks", o.expiry_webhooks,
                "Expiry inventory: caBundle of webhook configurations and APIServices (default false)");
  AddExpiryFilterFlags(cmd, "--expiry-", "Expiry inventory: ",
                       {o.expiry_include_namespaces, o.expiry_exclude_namespaces,
                        o.expiry_include_namespace_selector, o.expiry_exclude_namespace_selector,
                        o.expiry_leaf_only, o.expiry_csr_signers});
  cmd->add_option("--expiry-secret-label-keys", o.expiry_secret_label_keys,
                  "Expiry inventory: copy these Secret labels into the series as "
                  "secret_label_<key> (comma list, at most 10)")
      ->delimiter(',');
  cmd->add_option("--expiry-max-series-per-object", o.expiry_max_series_per_object,
                  "Expiry inventory: certificates kept per object, those expiring first (0: no "
                  "limit); the rest count in certguard_certificate_series_dropped_total")
      ->check(CLI::NonNegativeNumber)  // a size_t would take -1 as no bound
      ->capture_default_str();
  cmd->add_option("--expiry-max-series", o.expiry_max_series,
                  "Expiry inventory: certificates kept in all (0: no limit); each is three series")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

int RunOperator(const RunFlags& flags, Context& ctx) {
  app::RunOptions options = flags.o;
  auto controllers = app::ParseControllerList(flags.controllers);
  if (!controllers.ok()) {
    ctx.err << "certguard run: " << controllers.status().message() << "\n";
    return kExitUsage;
  }
  options.controllers = *controllers;
  struct D {
    const char* flag;
    const std::string* text;
    std::chrono::milliseconds* out;
  };
  for (const D& d :
       {D{"--leader-election-lease-duration", &flags.lease, &options.lease_duration},
        D{"--leader-election-renew-deadline", &flags.renew, &options.renew_deadline},
        D{"--leader-election-retry-period", &flags.retry, &options.retry_period},
        D{"--csr-node-wait-timeout", &flags.node_wait, &options.csr_node_wait_timeout},
        D{"--csr-renewal-stuck-window", &flags.renewal_window,
          &options.csr_renewal_stuck_window}}) {
    auto v = common::ParseDuration(*d.text);
    if (!v.ok()) {
      ctx.err << "certguard run: " << d.flag << ": " << v.status().message() << "\n";
      return kExitUsage;
    }
    *d.out = *v;
  }
  if (auto st = app::Validate(options); !st.ok()) {
    ctx.err << "certguard run: " << st.message() << "\n";
    return kExitUsage;
  }
  app::StopSignal stop;
  app::NotifyOnSignals(stop);
  return app::Run(options, stop);
}

}  // namespace

void AddRunCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "run", "Run the operator: CSR approval, trust bundles and certificate expiry metrics");
  auto flags = std::make_shared<RunFlags>();
  AddGeneralFlags(cmd, *flags);
  AddCsrFlags(cmd, *flags);
  AddTrustFlags(cmd, flags->o);
  AddExpiryFlags(cmd, flags->o);
  cmd->callback([&ctx, flags] { ctx.run = [&ctx, flags] { return RunOperator(*flags, ctx); }; });
}

}  // namespace certguard::cli
