// certguard certs check-expiration: days to expiry of a node's certificates.
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
#include "cli/scan_flags.h"
#include "expiry/check.h"
#include "expiry/controller.h"
#include "expiry/objects.h"
#include "expiry/scan.h"

namespace certguard::cli {

namespace {

struct CheckExpirationFlags {
  std::vector<std::string> paths;
  std::string output = "table";
  std::string fail_within;
  ClusterFlags cluster;
  bool in_cluster = false;  // the cluster as `run` finds it: $KUBECONFIG, the pod's service account
  expiry::ExpirySources sources;
  size_t max_file_size = 1024 * 1024;
  int max_depth = 32;
};

int RunCheckExpiration(const CheckExpirationFlags& flags, Context& ctx) {
  std::chrono::seconds window{0};
  if (!flags.fail_within.empty()) {
    auto parsed = expiry::ParseWindow(flags.fail_within);
    if (!parsed.ok()) {
      ctx.err << "certguard: --fail-within: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    window = *parsed;
  }
  if (auto st = expiry::Validate(flags.sources); !st.ok()) {
    ctx.err << "certguard: " << st.message() << "\n";
    return kExitUsage;
  }
  const bool cluster =
      flags.in_cluster || !flags.cluster.kubeconfig.empty() || !flags.cluster.context.empty();
  std::shared_ptr<kube::Client> client;
  if (cluster) {
    auto connected = Connect(flags.cluster);
    if (!connected.ok()) {
      ctx.err << "certguard: " << connected.status().ToString() << "\n";
      return kExitUsage;
    }
    client = *connected;
  }
  const x509::Time now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  // --kubeconfig alone reads only the cluster; the node's locations need no flag otherwise.
  std::vector<expiry::Finding> findings;
  if (!flags.paths.empty() || !cluster) {
    expiry::ScanOptions options;
    options.max_file_bytes = flags.max_file_size;
    options.max_depth = flags.max_depth;
    findings = expiry::ScanPaths(flags.paths.empty() ? expiry::DefaultNodePaths() : flags.paths, options);
  }
  if (client) {
    expiry::Inventory inventory;
    std::vector<std::string> errors = expiry::ListInventory(*client, flags.sources, inventory);
    for (auto& f : expiry::FindingsOf(inventory)) findings.push_back(std::move(f));
    for (auto& e : errors) findings.push_back(expiry::Finding{"cluster", std::nullopt, std::move(e)});
  }

  if (flags.output == "json") {
    ctx.out << expiry::RenderJson(findings, now);
  } else {
    ctx.out << expiry::RenderTable(findings, now);
    for (const auto& f : findings) {
      if (!f.cert) ctx.err << "certguard: " << f.source << ": " << f.error << "\n";
    }
    bool any = false;
    for (const auto& f : findings) any = any || f.cert.has_value();
    if (!any) ctx.err << "certguard: no certificate found\n";
  }
  if (!flags.fail_within.empty() && expiry::AnyExpiresWithin(findings, now, window)) {
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void AddCertsCommand(CLI::App& app, Context& ctx) {
  auto* certs = app.add_subcommand("certs", "Certificate commands");
  certs->require_subcommand(1);
  auto flags = std::make_shared<CheckExpirationFlags>();
  auto* check = certs->add_subcommand(
      "check-expiration",
      "Days to expiry of certificates in files, directories and kubeconfigs (default: the "
      "node's /etc/kubernetes/pki, /etc/kubernetes/*.conf and /var/lib/kubelet/pki), and with "
      "--kubeconfig those of the cluster (kubelet CSRs, TLS Secrets, TrustBundles)");
  check->add_option("--path", flags->paths,
                    "A certificate file, bundle, kubeconfig or directory (searched recursively); "
                    "repeatable")
      ->check(CLI::ExistingPath);
  AddScanBudgetFlags(check, flags->max_file_size, flags->max_depth);
  check->add_option("-o,--output", flags->output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  check->add_option("--fail-within", flags->fail_within,
                    "Exit 1 when a certificate expires within this window: 30d, 12h, 1d12h");
  AddClusterFlags(check, flags->cluster);
  check->add_flag("--in-cluster", flags->in_cluster,
                  "Add the cluster's certificates, connecting as `certguard run` does ($KUBECONFIG, "
                  "else the pod's service account, else ~/.kube/config): for use inside a pod");
  check->add_option("--secret-selector", flags->sources.secret_selector,
                    "With --kubeconfig: also Secrets with these labels (TLS Secrets are always read)");
  check->add_option("--configmap-selector", flags->sources.configmap_selector,
                    "With --kubeconfig: ConfigMaps with these labels");
  check->add_flag("--webhooks", flags->sources.webhooks,
                  "With --kubeconfig: caBundle of webhook configurations and APIServices");
  check->callback([&ctx, flags] { ctx.run = [&ctx, flags] { return RunCheckExpiration(*flags, ctx); }; });
}

}  // namespace certguard::cli
