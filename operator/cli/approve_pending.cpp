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
#include <tuple>

#include "app/manager.h"
#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
#include "cli/csr_inputs.h"
#include "cli/progress.h"
#include "common/duration.h"
#include "common/log.h"
#include "csr/approval.h"
#include "csr/backlog.h"
#include "csr/cluster.h"
#include "csr/plan.h"
#include "common/table.h"
#include "csr/renewal.h"
#include "kube/events.h"
#include "kube/resource.h"

namespace certguard::cli {

namespace {

struct ApproveFlags {
  ClusterFlags cluster;
  PlanFlags plan;
  std::string policy_file;
  bool dry_run = false;
  bool watch = false;
  std::string interval = "30s";
  std::string until_quiet = "2m";
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
  auto loaded = LoadPolicies(client, flags.policy_file);
  if (!loaded.ok()) return loaded.status();
  csr::PolicySet policies = std::move(*loaded);
  if (flags.policy_file.empty() && flags.recovery_until && flags.dry_run) {
    // Nothing was written: decide as if the window were open.
    for (const auto& name : csr::RecoveryWindowTargets(policies.policies)) {
      for (auto& policy : policies.policies) {
        if (policy.name == name) policy.bootstrap.recovery_window_until = flags.recovery_until;
      }
    }
  }
  for (const auto& w : policies.warnings) err << "warning: " << w << "\n";
  auto in = LoadCsrInputs(client);
  if (!in.ok()) return in.status();
  csr::BacklogOptions options;
  options.plan = plan_options;
  options.dry_run = flags.dry_run;
  options.address_owners = in->Owners();
  csr::BacklogResult decided =
      csr::DecideBacklog(client, events, in->csrs, in->Lookup(), policies.policies, options, Now);
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

// --recovery: how long the window opens, checked; sets flags.recovery_until.
// False after printing why when it is wrong.
bool ParseRecovery(ApproveFlags& flags, std::ostream& err) {
  if (flags.recovery.empty()) return true;
  auto d = common::ParseDuration(flags.recovery);
  if (!d.ok() || d->count() <= 0 || *d > kMaxRecovery) {
    err << "certguard approve-pending: --recovery: "
        << (d.ok() ? std::string("must be more than 0 and at most 24h") : d.status().message())
        << "\n";
    return false;
  }
  if (!flags.policy_file.empty()) {
    err << "certguard approve-pending: --recovery opens the window on the cluster's "
           "policies: set recoveryWindowUntil in the --policy file instead\n";
    return false;
  }
  flags.recovery_until = Now() + std::chrono::ceil<std::chrono::seconds>(*d);
  return true;
}

// The flags, checked and parsed; recovery_until is set from --recovery.
struct ApproveOptions {
  csr::PlanOptions plan;
  Millis interval{0};
  Millis quiet{0};
  bool live = false;  // a live status line on stderr between passes
};

std::optional<ApproveOptions> ParseOptions(ApproveFlags& flags, std::ostream& err) {
  ApproveOptions o;
  for (auto [flag, text, out] : {std::tuple{"--interval", &flags.interval, &o.interval},
                                 std::tuple{"--until-quiet", &flags.until_quiet, &o.quiet}}) {
    auto d = common::ParseDuration(*text);
    if (!d.ok()) {
      err << "certguard approve-pending: " << flag << ": " << d.status().message() << "\n";
      return std::nullopt;
    }
    *out = *d;
  }
  if (flags.plan.max_pending_per_node < 0 || flags.plan.max_pending < 0) {
    err << "certguard approve-pending: --csr-max-pending-per-node and --csr-max-pending "
           "must be 0 or more\n";
    return std::nullopt;
  }
  auto plan = PlanOptionsOf(flags.plan);
  if (!plan.ok()) {
    err << "certguard approve-pending: " << plan.status().message() << "\n";
    return std::nullopt;
  }
  o.plan = std::move(*plan);
  auto progress = ParseProgressMode(flags.progress);
  if (!progress.ok()) {
    err << "certguard approve-pending: --progress: " << progress.status().message() << "\n";
    return std::nullopt;
  }
  // A live line only: on a pipe, the per-pass summaries on stdout say it all.
  o.live = flags.watch && StyleFor(*progress, IsTerminal(err)) == ProgressStyle::kLive;
  if (flags.watch && o.interval.count() <= 0) {
    err << "certguard approve-pending: --interval must be positive\n";
    return std::nullopt;
  }
  if (!ParseRecovery(flags, err)) return std::nullopt;
  return o;
}

// On a terminal, between passes: the status line, redrawn every second until
// the next pass. True when stopped by a signal.
bool WaitWithStatusLine(app::StopSignal& stop, const PassSummary& summary,
                        std::chrono::steady_clock::time_point last_new, Millis interval,
                        std::ostream& err) {
  const auto next = std::chrono::steady_clock::now() + interval;
  for (auto now = std::chrono::steady_clock::now(); now < next;
       now = std::chrono::steady_clock::now()) {
    err << StatusLine(FormatWaitStatus(summary, std::chrono::duration_cast<Millis>(now - last_new),
                                       std::chrono::duration_cast<Millis>(next - now)),
                      TerminalWidth())
        << std::flush;
    if (stop.WaitFor(
            std::min(std::chrono::duration_cast<Millis>(next - now) + Millis(1), Millis(1000)))) {
      return true;
    }
  }
  return false;
}

// What the passes add up to.
struct Passes {
  bool ok = true;  // false: a pass could not read the cluster
  int failures = 0;
  int held = 0;  // in the last pass
};

// One pass, or with --watch passes until the cluster is quiet or a signal stops them.
Passes RunPasses(kube::Client& client, kube::EventRecorder& events, const ApproveFlags& flags,
                 const ApproveOptions& o, Context& ctx) {
  app::StopSignal stop;
  if (flags.watch) app::NotifyOnSignals(stop);
  std::map<std::string, std::string> shown;
  std::set<std::string> seen;
  Passes total;
  auto last_new = std::chrono::steady_clock::now();
  bool first = true;
  PassSummary summary;
  summary.until_quiet = o.quiet;
  summary.dry_run = flags.dry_run;
  summary.pass = 0;
  while (true) {
    if (o.live) ctx.err << kClearLine << std::flush;
    auto pass = Pass(client, events, flags, o.plan, shown, ctx.out, ctx.err);
    if (!pass.ok()) {
      ctx.err << "certguard approve-pending: " << pass.status().ToString() << "\n";
      total.ok = false;
      return total;
    }
    total.failures += pass->failures;
    bool fresh = false;
    for (const auto& uid : pass->pending_uids) fresh |= seen.insert(uid).second;
    if (fresh || first) last_new = std::chrono::steady_clock::now();
    if (first && pass->pending_uids.empty()) ctx.out << "no pending kubelet CSR\n";
    if (flags.watch) {
      ++summary.pass;
      summary.counts = CountPass(pass->decisions);
      summary.decided_total += summary.counts.approved + summary.counts.denied;
      summary.quiet =
          std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - last_new);
      ctx.out << FormatPassSummary(summary) << "\n";
    }
    ctx.out.flush();  // each pass shows at once, also when stdout is a file or a pipe
    first = false;
    total.held = pass->held;
    if (!flags.watch) break;
    if (std::chrono::steady_clock::now() - last_new >= o.quiet) {
      ctx.out << "quiet for " << common::FormatDuration(o.quiet) << ": done\n";
      break;
    }
    const bool stopped = o.live ? WaitWithStatusLine(stop, summary, last_new, o.interval, ctx.err)
                                : stop.WaitFor(o.interval);
    if (stopped) break;
  }
  if (o.live) ctx.err << kClearLine << std::flush;
  return total;
}

int RunApprovePending(ApproveFlags& flags, Context& ctx) {
  auto options = ParseOptions(flags, ctx.err);
  if (!options) return kExitUsage;
  auto client = ConnectWithPolicyFile(flags.cluster, flags.policy_file);
  if (!client.ok()) {
    ctx.err << "certguard approve-pending: " << client.status().message() << "\n";
    return kExitUsage;
  }
  kube::EventRecorderOptions eo;
  eo.host = "approve-pending";
  auto events = std::make_unique<kube::ApiEventRecorder>(**client, eo);
  if (flags.recovery_until && !OpenRecoveryWindow(**client, flags, ctx.out, ctx.err)) {
    return kExitFailure;
  }
  const Passes passes = RunPasses(**client, *events, flags, *options, ctx);
  if (passes.ok && passes.held > 0) {
    ctx.out << passes.held << " approval" << (passes.held == 1 ? " is" : "s are")
            << " held by the pending-flood guard (--csr-max-pending-per-node "
            << flags.plan.max_pending_per_node << ", --csr-max-pending " << flags.plan.max_pending
            << "; 0 turns a cap off)\n";
  }
  events->Flush();
  return !passes.ok || passes.failures > 0 ? kExitFailure : kExitOk;
}

}  // namespace

void AddApprovePendingCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "approve-pending",
      "Decide every pending kubelet CSR with the policies (approve what they allow) and print "
      "a table");
  auto flags = std::make_shared<ApproveFlags>();
  AddClusterFlags(cmd, flags->cluster);
  AddNetworkFlags(cmd, flags->plan.network);
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
  cmd->add_option("--csr-node-wait-timeout", flags->plan.node_wait,
                  "A serving CSR whose Node is missing is left pending until it is this old")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending-per-node", flags->plan.max_pending_per_node,
                  "Approvals for a node are held while it has more pending CSRs than this, as "
                  "in `certguard run` (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending", flags->plan.max_pending,
                  "All approvals are held while more kubelet CSRs than this are pending, as in "
                  "`certguard run` (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--csr-superseded", flags->plan.superseded,
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
    ctx.run = [&ctx, flags] { return RunApprovePending(*flags, ctx); };
  });
}

}  // namespace certguard::cli
