// certguard certs check-expiration: days to expiry of a node's certificates.
#include <chrono>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
#include "cli/expiry_flags.h"
#include "cli/progress.h"
#include "cli/scan_flags.h"
#include "expiry/check.h"
#include "expiry/controller.h"
#include "expiry/kubeconfig_trust.h"
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
  std::string csr_signers = "kubelet";  // parsed into sources.filter
  size_t max_file_size = 1024 * 1024;
  int max_depth = 32;
  std::vector<std::string> trust_bundles;
  std::vector<std::string> trust_paths;
  bool fail_on_trust_gap = false;
  bool check_server = false;
  std::string progress = "auto";
};

// The files of --path (default: the node's locations), with the trust gaps
// of their kubeconfigs when a reference is given.
std::vector<expiry::Finding> ScanFiles(const CheckExpirationFlags& flags, x509::Time now) {
  expiry::ScanOptions options;
  options.max_file_bytes = flags.max_file_size;
  options.max_depth = flags.max_depth;
  expiry::ScanResult scanned =
      expiry::Scan(flags.paths.empty() ? expiry::DefaultNodePaths() : flags.paths, options);
  std::vector<expiry::Finding> findings = std::move(scanned.findings);
  if (!flags.trust_bundles.empty() || flags.check_server) {
    expiry::Reference reference = expiry::ReadReference(flags.trust_bundles, flags.max_file_size);
    for (auto& e : reference.errors) {
      findings.push_back(expiry::Finding{"trust bundle", std::nullopt, std::move(e)});
    }
    expiry::TrustOptions to;
    to.scope = flags.trust_paths;
    to.check_server = flags.check_server;
    expiry::AttachTrustGaps(findings, expiry::KubeconfigGaps(scanned.kubeconfigs, reference, now, to));
  }
  return findings;
}

// The cluster's certificates, appended to `findings`.
void ReadCluster(kube::Client& client, const expiry::ExpirySources& sources, ProgressMode mode,
                 Context& ctx, std::vector<expiry::Finding>& findings) {
  expiry::Inventory inventory;
  // Progress on stderr only, never in the report on stdout.
  const ProgressStyle style = StyleFor(mode, IsTerminal(ctx.err));
  expiry::ListProgressFn show;
  if (style == ProgressStyle::kLive) {
    const int width = TerminalWidth();
    show = [&ctx, width](const expiry::ListProgress& p) {
      ctx.err << StatusLine(FormatReadProgress(p), width) << std::flush;
    };
  } else if (style == ProgressStyle::kLines) {
    show = [&ctx](const expiry::ListProgress& p) {
      if (p.done) ctx.err << FormatReadProgress(p) << "\n" << std::flush;
    };
  }
  std::vector<std::string> errors = expiry::ListInventory(client, sources, inventory, show);
  if (style == ProgressStyle::kLive) ctx.err << kClearLine << std::flush;
  for (auto& f : expiry::FindingsOf(inventory)) findings.push_back(std::move(f));
  for (auto& e : errors) findings.push_back(expiry::Finding{"cluster", std::nullopt, std::move(e)});
}

// The report on stdout; with the table, what could not be read on stderr.
void PrintReport(const CheckExpirationFlags& flags, const std::vector<expiry::Finding>& findings,
                 x509::Time now, Context& ctx) {
  if (flags.output == "json") {
    ctx.out << expiry::RenderJson(findings, now);
  } else {
    ctx.out << expiry::RenderTable(findings, now);
    for (const auto& f : findings) {
      if (!f.cert) ctx.err << "certguard: " << f.source << ": " << f.error << "\n";
    }
    // One line per kubeconfig with a gap: the table shows it per certificate.
    std::set<std::string> told;
    for (const auto& f : findings) {
      if (!f.trust_gap || f.trust_gap->empty() || !told.insert(f.kubeconfig).second) continue;
      ctx.err << "certguard: " << f.kubeconfig << ": trust gap: lacks";
      for (const auto& s : *f.trust_gap) ctx.err << " [" << s << "]";
      for (const auto& r : f.trust_gap_reasons) ctx.err << "; " << r;
      ctx.err << "\n";
    }
    bool any = false;
    for (const auto& f : findings) any = any || f.cert.has_value();
    if (!any) ctx.err << "certguard: no certificate found\n";
  }
}

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
  // This command's inventory flags have no --expiry- prefix: refusals name them as given.
  expiry::ExpirySources sources = flags.sources;
  auto signers = expiry::ParseCsrSigners(flags.csr_signers, "--");
  if (!signers.ok()) {
    ctx.err << "certguard: " << signers.status().message() << "\n";
    return kExitUsage;
  }
  sources.filter.csr_signers = *signers;
  if (auto st = expiry::Validate(sources, "--"); !st.ok()) {
    ctx.err << "certguard: " << st.message() << "\n";
    return kExitUsage;
  }
  const bool trust = !flags.trust_bundles.empty() || flags.check_server;
  if (flags.fail_on_trust_gap && !trust) {
    ctx.err << "certguard: --fail-on-trust-gap needs --trust-bundle or --check-server\n";
    return kExitUsage;
  }
  auto progress = ParseProgressMode(flags.progress);
  if (!progress.ok()) {
    ctx.err << "certguard: --progress: " << progress.status().message() << "\n";
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
  if (!flags.paths.empty() || !cluster) findings = ScanFiles(flags, now);
  if (client) ReadCluster(*client, sources, *progress, ctx, findings);

  PrintReport(flags, findings, now, ctx);
  if (!flags.fail_within.empty() && expiry::AnyExpiresWithin(findings, now, window)) {
    return kExitFailure;
  }
  if (flags.fail_on_trust_gap && expiry::AnyTrustGap(findings)) return kExitFailure;
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
  check->add_option("--trust-bundle", flags->trust_bundles,
                    "A PEM bundle of the CAs every kubeconfig should trust (a TrustBundle target); "
                    "each kubeconfig entry gets a trust gap: the bundle's CAs its cluster CA lacks; "
                    "repeatable")
      ->check(CLI::ExistingFile);
  check->add_option("--trust-path", flags->trust_paths,
                    "Compare only the kubeconfigs at this path or under this directory, as named "
                    "by --path (default: every kubeconfig read); repeatable");
  check->add_flag("--check-server", flags->check_server,
                  "Also connect to each kubeconfig's server and verify its chain with the "
                  "kubeconfig's own CA: a failure is a trust gap");
  check->add_flag("--fail-on-trust-gap", flags->fail_on_trust_gap,
                  "Exit 1 when a kubeconfig has a trust gap");
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
  AddExpiryFilterFlags(check, "--", "With --kubeconfig: ",
                       {flags->sources.filter.include_namespaces,
                        flags->sources.filter.exclude_namespaces,
                        flags->sources.filter.include_namespace_selector,
                        flags->sources.filter.exclude_namespace_selector,
                        flags->sources.filter.leaf_only, flags->csr_signers});
  check->add_option("--progress", flags->progress,
                    "With --kubeconfig, what has been read so far, on stderr: auto (a live line "
                    "when stderr is a terminal), always (elsewhere one line per list), never")
      ->capture_default_str();
  check->callback([&ctx, flags] { ctx.run = [&ctx, flags] { return RunCheckExpiration(*flags, ctx); }; });
}

}  // namespace certguard::cli
