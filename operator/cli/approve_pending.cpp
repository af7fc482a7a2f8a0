// `certguard approve-pending`: decide every pending kubelet CSR once (or until
// the cluster is quiet) with the same engine and policies as the controller.
// The safe replacement for approving every pending CSR by hand after a restore.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>

#include "app/manager.h"
#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "common/duration.h"
#include "common/log.h"
#include "csr/approval.h"
#include "csr/backlog.h"
#include "csr/cluster.h"
#include "csr/defaults.h"
#include "csr/plan.h"
#include "common/table.h"
#include "csr/renewal.h"
#include "kube/events.h"
#include "kube/resource.h"

namespace certguard::cli {

namespace {

struct ApproveFlags {
  ClusterFlags cluster;
  NetworkFlags network;
  std::string policy_file;
  bool dry_run = false;
  bool watch = false;
  std::string interval = "30s";
  std::string until_quiet = "2m";
  std::string node_wait = common::FormatDuration(csr::kDefaultNodeWaitTimeout);
  int max_pending_per_node = csr::kDefaultMaxPendingPerNode;
  int max_pending = csr::kDefaultMaxPending;
  std::string superseded = csr::kDefaultSuperseded;
  std::string progress = "auto";
  std::string recovery;                      // empty: open no recovery window
  std::optional<x509::Time> recovery_until;  // set from `recovery` when the command starts
};

// A recovery window is time-boxed: longer than this is refused.
constexpr std::chrono::hours kMaxRecovery{24};

x509::Time Now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

struct PassResult {
  int failures = 0;
  int held = 0;
  std::set<std::string> pending_uids;  // pending kubelet CSRs seen in this pass
  std::vector<std::string> decisions;  // each row's decision, for the pass's summary
};

// One pass over every pending kubelet CSR. Prints the rows of CSRs whose
// outcome differs from `shown` (all of them on the first pass).
Result<PassResult> Pass(kube::Client& client, kube::EventRecorder& events,
                        const ApproveFlags& flags, const csr::PlanOptions& plan_options,
                        std::map<std::string, std::string>& shown, std::ostream& out,
                        std::ostream& err) {
  csr::PolicySet policies;
  if (!flags.policy_file.empty()) {
    auto p = csr::LoadPolicyFile(flags.policy_file);
    if (!p.ok()) return p.status();
    policies = std::move(*p);
  } else {
    auto p = csr::LoadClusterPolicies(client);
    if (!p.ok()) return p.status();
    policies = std::move(*p);
    if (flags.recovery_until && flags.dry_run) {
      // Nothing was written: decide as if the window were open.
      for (const auto& name : csr::RecoveryWindowTargets(policies.policies)) {
        for (auto& policy : policies.policies) {
          if (policy.name == name) policy.bootstrap.recovery_window_until = flags.recovery_until;
        }
      }
    }
  }
  for (const auto& w : policies.warnings) err << "warning: " << w << "\n";
  auto nodes = csr::LoadNodes(client);
  if (!nodes.ok()) return nodes.status();
  auto csrs = csr::LoadCsrs(client);
  if (!csrs.ok()) return csrs.status();
  // Each node's last client certificate, for the re-bootstrap check.
  std::vector<csr::KubeletCsr> kubelet_csrs;
  for (const auto& c : *csrs) {
    if (auto k = csr::KubeletCsrOf(c)) kubelet_csrs.push_back(std::move(*k));
  }
  csr::AddLastClientCerts(*nodes, kubelet_csrs);

  csr::NodeLookup lookup = [&nodes](const std::string& name) -> const csr::NodeFacts* {
    auto it = nodes->find(name);
    return it == nodes->end() ? nullptr : &it->second;
  };
  csr::NodeAddressIndex addresses;
  for (const auto& [name, node] : *nodes) addresses.Update(name, csr::AddressKeys(node));
  csr::BacklogOptions options;
  options.plan = plan_options;
  options.dry_run = flags.dry_run;
  options.address_owners = [&addresses](const std::string& key) { return addresses.Owners(key); };
  csr::BacklogResult decided =
      csr::DecideBacklog(client, events, *csrs, lookup, policies.policies, options, Now);
  for (const auto& e : decided.errors) err << "error: " << e << "\n";

  PassResult result;
  result.failures = static_cast<int>(decided.errors.size());
  result.held = decided.held;
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : decided.rows) {
    result.pending_uids.insert(row.uid);
    result.decisions.push_back(row.decision);
    std::string row_key = row.decision + "|" + row.reason;
    if (shown[row.name] == row_key) continue;
    shown[row.name] = row_key;
    rows.push_back({row.name, row.signer_name, row.requester, row.decision, row.reason});
  }
  if (!rows.empty()) {
    out << common::FormatTable({"NAME", "SIGNER", "REQUESTER", "DECISION", "REASON"}, rows);
    out.flush();
  }
  return result;
}

// Sets spec.bootstrap.recoveryWindowUntil on every policy that allows
// re-bootstraps (with dry_run, only says so). Returns false after printing why
// when there is none or a write fails.
bool OpenRecoveryWindow(kube::Client& client, const ApproveFlags& flags, std::ostream& out,
                        std::ostream& err) {
  auto policies = csr::LoadClusterPolicies(client);
  if (!policies.ok()) {
    err << "certguard approve-pending: --recovery: " << policies.status().ToString() << "\n";
    return false;
  }
  auto targets = csr::RecoveryWindowTargets(policies->policies);
  if (targets.empty()) {
    err << "certguard approve-pending: --recovery: no valid CSRApprovalPolicy allows a "
           "re-bootstrap "
           "(bootstrap.existingNodes: WhenNotReady, listing kubernetes.io/"
           "kube-apiserver-client-kubelet): a recovery window would change nothing\n";
    return false;
  }
  const std::string until = common::FormatRfc3339(*flags.recovery_until);
  for (const auto& name : targets) {
    if (flags.dry_run) {
      out << "dry run: would open the recovery window of policy " << name << " until " << until
          << "\n";
      continue;
    }
    auto patched =
        client.Patch(kube::resources::kCsrApprovalPolicies, "", name, kube::PatchType::kMerge,
                     csr::RecoveryWindowPatch(*flags.recovery_until));
    if (!patched.ok()) {
      err << "certguard approve-pending: --recovery: policy " << name << ": "
          << patched.status().ToString() << "\n";
      return false;
    }
    out << "recovery window of policy " << name << " open until " << until
        << ": NotReady nodes may re-bootstrap until then\n";
  }
  out.flush();
  return true;
}

}  // namespace

void AddApprovePendingCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "approve-pending",
      "Decide every pending kubelet CSR with the policies (approve what they allow) and print "
      "a table");
  auto flags = std::make_shared<ApproveFlags>();
  AddClusterFlags(cmd, flags->cluster);
  AddNetworkFlags(cmd, flags->network);
  cmd->add_option("--policy", flags->policy_file,
                  "CSRApprovalPolicy file to decide with instead of the cluster's policies");
  cmd->add_flag("--dry-run", flags->dry_run, "Decide and print, write nothing");
  cmd->add_flag("--watch", flags->watch,
                "Repeat every --interval until no new CSR has appeared for --until-quiet");
  cmd->add_option("--interval", flags->interval, "Time between passes with --watch")
      ->capture_default_str();
  cmd->add_option("--until-quiet", flags->until_quiet,
                  "With --watch, stop once no new pending CSR appeared for this long")
      ->capture_default_str();
  cmd->add_option("--csr-node-wait-timeout", flags->node_wait,
                  "A serving CSR whose Node is missing is left pending until it is this old")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending-per-node", flags->max_pending_per_node,
                  "Approvals for a node are held while it has more pending CSRs than this, as "
                  "in `certguard run` (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending", flags->max_pending,
                  "All approvals are held while more kubelet CSRs than this are pending, as in "
                  "`certguard run` (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--csr-superseded", flags->superseded,
                  "Older retries of a node's CSR: deny (reason Superseded) or leave them, as in "
                  "`certguard run`")
      ->capture_default_str();
  cmd->add_option("--progress", flags->progress,
                  "With --watch, a live status line on stderr between passes: auto (when stderr "
                  "is a terminal), always, never")
      ->capture_default_str();
  cmd->add_option("--recovery", flags->recovery,
                  "Open a recovery window this long (at most 24h) first: set "
                  "spec.bootstrap.recoveryWindowUntil to now plus this on every policy with "
                  "existingNodes WhenNotReady, so NotReady nodes whose client certificate is still "
                  "valid may re-bootstrap (a restore)");

  cmd->callback([&ctx, flags] {
    ctx.run = [&ctx, flags]() -> int {
      std::chrono::milliseconds interval, quiet, node_wait;
      for (auto [flag, text, out] :
           {std::tuple{"--interval", &flags->interval, &interval},
            std::tuple{"--until-quiet", &flags->until_quiet, &quiet},
            std::tuple{"--csr-node-wait-timeout", &flags->node_wait, &node_wait}}) {
        auto d = common::ParseDuration(*text);
        if (!d.ok()) {
          ctx.err << "certguard approve-pending: " << flag << ": " << d.status().message() << "\n";
          return kExitUsage;
        }
        *out = *d;
      }
      if (flags->max_pending_per_node < 0 || flags->max_pending < 0) {
        ctx.err << "certguard approve-pending: --csr-max-pending-per-node and --csr-max-pending "
                   "must be 0 or more\n";
        return kExitUsage;
      }
      auto network = csr::MakeClusterNetwork(flags->network.cluster_domain,
                                             flags->network.service_cidrs);
      if (!network.ok()) {
        ctx.err << "certguard approve-pending: " << network.status().message() << "\n";
        return kExitUsage;
      }
      csr::PlanOptions plan_options;
      plan_options.network = std::move(*network);
      plan_options.node_wait_timeout = node_wait;
      plan_options.flood = {flags->max_pending_per_node, flags->max_pending};
      auto superseded = csr::ParseSupersededAction(flags->superseded);
      if (!superseded.ok()) {
        ctx.err << "certguard approve-pending: --csr-superseded " << superseded.status().message()
                << "\n";
        return kExitUsage;
      }
      plan_options.superseded = *superseded;
      auto progress = ParseProgressMode(flags->progress);
      if (!progress.ok()) {
        ctx.err << "certguard approve-pending: --progress: " << progress.status().message() << "\n";
        return kExitUsage;
      }
      // A live line only: on a pipe, the per-pass summaries on stdout say it all.
      const bool live = flags->watch && StyleFor(*progress, IsTerminal(ctx.err)) == ProgressStyle::kLive;
      if (flags->watch && interval.count() <= 0) {
        ctx.err << "certguard approve-pending: --interval must be positive\n";
        return kExitUsage;
      }
      if (!flags->recovery.empty()) {
        auto d = common::ParseDuration(flags->recovery);
        if (!d.ok() || d->count() <= 0 || *d > kMaxRecovery) {
          ctx.err << "certguard approve-pending: --recovery: "
                  << (d.ok() ? std::string("must be more than 0 and at most 24h")
                             : d.status().message())
                  << "\n";
          return kExitUsage;
        }
        if (!flags->policy_file.empty()) {
          ctx.err << "certguard approve-pending: --recovery opens the window on the cluster's "
                     "policies: set recoveryWindowUntil in the --policy file instead\n";
          return kExitUsage;
        }
        flags->recovery_until = Now() + std::chrono::ceil<std::chrono::seconds>(*d);
      }
      if (!flags->policy_file.empty()) {
        if (auto p = csr::LoadPolicyFile(flags->policy_file); !p.ok()) {
          ctx.err << "certguard approve-pending: " << p.status().message() << "\n";
          return kExitUsage;
        }
      }
      auto client = Connect(flags->cluster);
      if (!client.ok()) {
        ctx.err << "certguard approve-pending: " << client.status().message() << "\n";
        return kExitUsage;
      }
      kube::EventRecorderOptions eo;
      eo.host = "approve-pending";
      auto events = std::make_unique<kube::ApiEventRecorder>(**client, eo);
      if (flags->recovery_until && !OpenRecoveryWindow(**client, *flags, ctx.out, ctx.err)) {
        return kExitFailure;
      }

      app::StopSignal stop;
      if (flags->watch) app::NotifyOnSignals(stop);
      std::map<std::string, std::string> shown;
      std::set<std::string> seen;
      int failures = 0;
      int held = 0;
      auto last_new = std::chrono::steady_clock::now();
      bool first = true;
      PassSummary summary;
      summary.until_quiet = quiet;
      summary.dry_run = flags->dry_run;
      summary.pass = 0;
      while (true) {
        if (live) ctx.err << kClearLine << std::flush;
        auto pass = Pass(**client, *events, *flags, plan_options, shown, ctx.out, ctx.err);
        if (!pass.ok()) {
          ctx.err << "certguard approve-pending: " << pass.status().ToString() << "\n";
          events->Flush();
          return kExitFailure;
        }
        failures += pass->failures;
        bool fresh = false;
        for (const auto& uid : pass->pending_uids) fresh |= seen.insert(uid).second;
        if (fresh || first) last_new = std::chrono::steady_clock::now();
        if (first && pass->pending_uids.empty()) ctx.out << "no pending kubelet CSR\n";
        if (flags->watch) {
          ++summary.pass;
          summary.counts = CountPass(pass->decisions);
          summary.decided_total += summary.counts.approved + summary.counts.denied;
          summary.quiet = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - last_new);
          ctx.out << FormatPassSummary(summary) << "\n";
        }
        ctx.out.flush();  // each pass shows at once, also when stdout is a file or a pipe
        first = false;
        held = pass->held;
        if (!flags->watch) break;
        if (std::chrono::steady_clock::now() - last_new >= quiet) {
          ctx.out << "quiet for " << common::FormatDuration(quiet) << ": done\n";
          break;
        }
        if (!live) {
          if (stop.WaitFor(interval)) break;
          continue;
        }
        // On a terminal: the status line, redrawn every second until the next pass.
        const auto next = std::chrono::steady_clock::now() + interval;
        bool stopped = false;
        for (auto now = std::chrono::steady_clock::now(); now < next && !stopped;
             now = std::chrono::steady_clock::now()) {
          ctx.err << StatusLine(FormatWaitStatus(summary,
                                                 std::chrono::duration_cast<Millis>(now - last_new),
                                                 std::chrono::duration_cast<Millis>(next - now)),
                                TerminalWidth())
                  << std::flush;
          stopped = stop.WaitFor(
              std::min(std::chrono::duration_cast<Millis>(next - now) + Millis(1), Millis(1000)));
        }
        if (stopped) break;
      }
      if (live) ctx.err << kClearLine << std::flush;
      if (held > 0) {
        ctx.out << held << " approval" << (held == 1 ? " is" : "s are")
                << " held by the pending-flood guard (--csr-max-pending-per-node "
                << flags->max_pending_per_node << ", --csr-max-pending " << flags->max_pending
                << "; 0 turns a cap off)\n";
      }
      events->Flush();
      return failures > 0 ? kExitFailure : kExitOk;
    };
  });
}

}  // namespace certguard::cli
