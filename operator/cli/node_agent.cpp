// `certguard node-agent`: the node's certificate files as the same metrics as
// the cluster's (certguard_certificate_*{source_kind="file"|"kubeconfig", node}),
// rescanned every --interval. Run by the chart's optional DaemonSet.
#include <pthread.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <prometheus/gauge.h>

#include "app/manager.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/scan_flags.h"
#include "common/duration.h"
#include "common/log.h"
#include "expiry/collector.h"
#include "expiry/kubeconfig_trust.h"
#include "expiry/node_files.h"
#include "expiry/scan.h"
#include "expiry/scan_watch.h"
#include "metrics/endpoints.h"

namespace certguard::cli {

namespace {

struct NodeAgentFlags {
  std::vector<std::string> paths;
  std::string root = "/";
  std::string node;
  std::string interval = "5m";
  std::string scan_timeout = "2m";
  size_t max_file_size = 1024 * 1024;
  int max_depth = 32;
  expiry::InventoryLimits limits;  // the same defaults as `certguard run`
  std::string metrics_bind_address = ":8080";
  std::string health_bind_address = ":8081";
  bool once = false;
  std::vector<std::string> trust_bundles;
  std::vector<std::string> trust_paths;
  bool check_server = false;
};

// How long SIGTERM waits for a scan to notice it (it looks between files); a
// scan blocked in a read longer than this is abandoned with the process, which
// so ends well within a pod's grace period.
constexpr std::chrono::seconds kScanStopWait{3};

std::vector<std::string> PathsOf(const NodeAgentFlags& flags) {
  return flags.paths.empty() ? expiry::DefaultNodePaths(flags.root) : flags.paths;
}

// The agent's state between scans: the inventory and the series beside it.
class NodeAgent {
 public:
  NodeAgent(const NodeAgentFlags& flags, std::string node, std::chrono::steady_clock::duration budget)
      : flags_(flags),
        node_(std::move(node)),
        budget_(budget),
        inventory_(std::make_shared<expiry::Inventory>(flags.limits)),
        watch_(budget) {
    endpoints_.AddCollectable(std::make_shared<expiry::ExpiryCollector>(inventory_));
    errors_ = &prometheus::BuildGauge()
                   .Name("certguard_node_agent_scan_errors")
                   .Help("Inputs the last scan of the node's files could not read")
                   .Register(endpoints_.registry())
                   .Add({});
    last_scan_ = &prometheus::BuildGauge()
                      .Name("certguard_node_agent_last_scan_timestamp_seconds")
                      .Help("When the node's files were last scanned, Unix time")
                      .Register(endpoints_.registry())
                      .Add({});
    trust_gap_ = &prometheus::BuildGauge()
                      .Name("certguard_node_kubeconfig_trust_gap")
                      .Help("CAs of the trust bundle (and servers, with --check-server) a node "
                            "kubeconfig does not trust")
                      .Register(endpoints_.registry());
  }

  // One scan of the files, then the trust gaps; a scan cut short by a stop keeps the last.
  void Scan();
  // --once: one scan, the metrics on `out`.
  int PrintOnce(std::ostream& out);
  // Scans every `interval` and serves the endpoints until SIGTERM.
  int Serve(std::chrono::milliseconds interval);

 private:
  // The trust gap series: one per kubeconfig, those of kubeconfigs gone removed.
  void SetTrustGaps(const std::vector<expiry::KubeconfigGap>& gaps);

  const NodeAgentFlags& flags_;
  const std::string node_;
  const std::chrono::steady_clock::duration budget_;
  std::shared_ptr<expiry::Inventory> inventory_;
  metrics::Endpoints endpoints_;
  // Registered after the inventory's collector, as /metrics has always listed them.
  prometheus::Gauge* errors_ = nullptr;
  prometheus::Gauge* last_scan_ = nullptr;
  prometheus::Family<prometheus::Gauge>* trust_gap_ = nullptr;
  std::map<std::string, prometheus::Gauge*> gap_series_;  // by kubeconfig path
  expiry::ScanWatch watch_;
  app::StopSignal stop_;
};

void NodeAgent::Scan() {
  expiry::ScanOptions options;
  options.root = flags_.root;
  options.max_file_bytes = flags_.max_file_size;
  options.max_depth = flags_.max_depth;
  options.deadline = std::chrono::steady_clock::now() + budget_;
  options.cancelled = [this] { return stop_.notified(); };
  watch_.Started(std::chrono::steady_clock::now());
  expiry::ScanResult scanned = expiry::Scan(PathsOf(flags_), options);
  std::vector<expiry::Finding>& findings = scanned.findings;
  std::vector<expiry::KubeconfigGap> gaps;
  size_t trust_errors = 0;
  // Only with a reference: without one there is nothing to lack.
  const bool trust = !flags_.trust_bundles.empty() || flags_.check_server;
  if (trust && !stop_.notified()) {
    // Read every scan: a mounted ConfigMap changes under us.
    expiry::Reference reference = expiry::ReadReference(flags_.trust_bundles, flags_.max_file_size);
    for (const auto& e : reference.errors) log::Warn("node-agent: trust bundle", {{"error", e}});
    trust_errors = reference.errors.size();
    expiry::TrustOptions to;
    to.scope = flags_.trust_paths;
    to.check_server = flags_.check_server;
    to.deadline = options.deadline;
    gaps = expiry::KubeconfigGaps(scanned.kubeconfigs, reference,
                                  std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()), to);
  }
  if (stop_.notified()) {  // cut short: keep the last complete scan
    watch_.Finished(std::chrono::steady_clock::now());
    return;
  }
  for (const auto& f : findings) {
    if (!f.cert) log::Warn("node-agent: unreadable input", {{"source", f.source}, {"error", f.error}});
  }
  expiry::ReplaceNodeFiles(*inventory_, findings, node_);
  errors_->Set(static_cast<double>(expiry::ScanErrors(findings) + trust_errors));
  SetTrustGaps(gaps);
  last_scan_->SetToCurrentTime();
  // Only now: /readyz turns ready once the first scan's results can be scraped.
  watch_.Finished(std::chrono::steady_clock::now());
}

void NodeAgent::SetTrustGaps(const std::vector<expiry::KubeconfigGap>& gaps) {
  std::map<std::string, prometheus::Gauge*> seen;
  for (const auto& g : gaps) {
    if (!g.gap.missing.empty()) {
      log::Warn("node-agent: kubeconfig trust gap",
                {{"path", g.source}, {"missing", std::to_string(g.gap.missing.size())},
                 {"first", g.gap.missing.front()}});
    }
    auto it = gap_series_.find(g.source);
    prometheus::Gauge* gauge = it != gap_series_.end() ? it->second
                                                       : &trust_gap_->Add({{"node", node_}, {"path", g.source}});
    gauge->Set(static_cast<double>(g.gap.missing.size()));
    seen[g.source] = gauge;
  }
  for (const auto& [path, gauge] : gap_series_) {
    if (seen.count(path) == 0) trust_gap_->Remove(gauge);  // a kubeconfig that is gone
  }
  gap_series_ = std::move(seen);
}

int NodeAgent::PrintOnce(std::ostream& out) {
  Scan();
  // Written as it is made, like a scrape, rather than whole.
  metrics::BodyStream page = endpoints_.StreamMetrics();
  std::string piece;
  for (bool more = true; more;) {
    piece.clear();
    more = page(piece, 64 * 1024);
    out << piece;
  }
  return kExitOk;
}

int NodeAgent::Serve(std::chrono::milliseconds interval) {
  // Before the servers and the scan start threads: SIGTERM must reach only the signal thread.
  app::NotifyOnSignals(stop_);
  endpoints_.AddReadinessCheck("scanned", [this] { return watch_.Readiness(); });
  endpoints_.AddLivenessCheck("scan", [this] { return watch_.Liveness(std::chrono::steady_clock::now()); });
  metrics::EndpointsOptions eo;
  eo.metrics_bind_address = flags_.metrics_bind_address;
  eo.health_bind_address = flags_.health_bind_address;
  if (auto st = endpoints_.Start(eo); !st.ok()) {
    log::Error("cannot serve metrics and health endpoints", {{"error", st.ToString()}});
    return kExitFailure;
  }
  log::Info("node-agent: serving endpoints",
            {{"metrics_port", std::to_string(endpoints_.metrics_port())},
             {"health_port", std::to_string(endpoints_.health_port())},
             {"node", node_}});
  // The scan runs apart so that SIGTERM never waits on a read: a scan stops
  // between files when told, and one blocked in the kernel is left behind.
  std::promise<void> scans_ended;
  std::future<void> ended = scans_ended.get_future();
  std::thread scanner([&] {
    // Named, so that a stuck scan shows as such in `top -H` or /proc/PID/task.
    pthread_setname_np(pthread_self(), "certguard-scan");
    do {
      Scan();
      log::Debug("node-agent: scanned", {{"certificates", std::to_string(inventory_->certificate_count())}});
    } while (!stop_.WaitFor(interval));
    scans_ended.set_value();
  });
  stop_.Wait();
  if (ended.wait_for(kScanStopWait) != std::future_status::ready) {
    log::Warn("node-agent: a scan is blocked in a read; exiting without it",
              {{"waited", std::to_string(kScanStopWait.count()) + "s"}});
    std::_Exit(kExitOk);  // nothing to save; the blocked thread cannot be joined
  }
  scanner.join();
  endpoints_.Stop();
  return kExitOk;
}

int RunNodeAgent(const NodeAgentFlags& flags, Context& ctx) {
  auto interval = common::ParseDuration(flags.interval);
  if (!interval.ok() || interval->count() <= 0) {
    ctx.err << "certguard node-agent: --interval: "
            << (interval.ok() ? "must be positive" : interval.status().message()) << "\n";
    return kExitUsage;
  }
  auto scan_timeout = common::ParseDuration(flags.scan_timeout);
  if (!scan_timeout.ok() || scan_timeout->count() <= 0) {
    ctx.err << "certguard node-agent: --scan-timeout: "
            << (scan_timeout.ok() ? "must be positive" : scan_timeout.status().message()) << "\n";
    return kExitUsage;
  }
  if (std::error_code ec; !std::filesystem::is_directory(flags.root, ec)) {
    ctx.err << "certguard node-agent: --root " << flags.root << ": not a directory\n";
    return kExitUsage;
  }
  std::string node = flags.node;
  if (node.empty()) {
    if (const char* env = std::getenv("NODE_NAME"); env != nullptr) node = env;
  }
  NodeAgent agent(flags, std::move(node),
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(*scan_timeout));
  if (flags.once) return agent.PrintOnce(ctx.out);
  return agent.Serve(std::chrono::duration_cast<std::chrono::milliseconds>(*interval));
}

}  // namespace

void AddNodeAgentCommand(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<NodeAgentFlags>();
  auto* cmd = app.add_subcommand(
      "node-agent",
      "Export the expiry metrics of this node's certificate files (kubelet and kubeadm PKI, "
      "kubeconfigs) with the node label; rescans every --interval");
  cmd->add_option("--path", flags->paths,
                  "A certificate file, bundle, kubeconfig or directory, as a path on the node (under "
                  "--root); repeatable (default: /etc/kubernetes/pki, the kubeconfigs in "
                  "/etc/kubernetes, /var/lib/kubelet/kubeconfig, /var/lib/kubelet/pki)");
  cmd->add_option("--root", flags->root,
                  "Where the node's file system is mounted: every path, symlink and kubeconfig "
                  "reference is resolved under it and never leaves it")
      ->capture_default_str();
  cmd->add_option("--node", flags->node, "The node label's value (default: $NODE_NAME)");
  cmd->add_option("--interval", flags->interval, "Time between scans")->capture_default_str();
  cmd->add_option("--scan-timeout", flags->scan_timeout,
                  "Time budget of one scan: past it the scan stops reading and /healthz fails "
                  "while it is still running")
      ->capture_default_str();
  AddScanBudgetFlags(cmd, flags->max_file_size, flags->max_depth);
  cmd->add_option("--expiry-max-series-per-object", flags->limits.max_certs_per_object,
                  "Certificates kept per file or kubeconfig, those expiring first (0: no limit); "
                  "the rest count in certguard_certificate_series_dropped_total")
      ->check(CLI::NonNegativeNumber)  // a size_t would take -1 as no bound
      ->capture_default_str();
  cmd->add_option("--expiry-max-series", flags->limits.max_certs,
                  "Certificates kept in all (0: no limit); each is three series")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--metrics-bind-address", flags->metrics_bind_address,
                  "Address of /metrics (\"0\" turns it off)")
      ->capture_default_str();
  cmd->add_option("--health-bind-address", flags->health_bind_address,
                  "Address of /healthz and /readyz (\"0\" turns it off)")
      ->capture_default_str();
  cmd->add_option("--trust-bundle", flags->trust_bundles,
                  "A PEM bundle (as this process sees it, not under --root: a mounted TrustBundle "
                  "target) of the CAs every kubeconfig should trust; exports "
                  "certguard_node_kubeconfig_trust_gap; repeatable, read at every scan");
  cmd->add_option("--trust-path", flags->trust_paths,
                  "Compare only the kubeconfigs at this path or under this directory (paths on the "
                  "node; default: every kubeconfig scanned); repeatable");
  cmd->add_flag("--check-server", flags->check_server,
                "Also connect to each kubeconfig's server and verify its chain with the "
                "kubeconfig's own CA: a failure counts in the trust gap");
  cmd->add_flag("--once", flags->once, "Scan once, print the metrics to stdout and exit");
  cmd->callback([&ctx, flags] { ctx.run = [&ctx, flags] { return RunNodeAgent(*flags, ctx); }; });
}

}  // namespace certguard::cli
