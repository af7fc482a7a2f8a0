// `certguard approve-pending`: decide every pending kubelet CSR once (or until
// the cluster is quiet) with the same engine and policies as the controller.
// The safe replacement for approving every pending CSR by hand after a restore.
#include <chrono>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>

#include "app/manager.h"
#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
#include "common/duration.h"
#include "common/log.h"
#include "csr/approval.h"
#include "csr/cluster.h"
#include "csr/controller.h"
#include "csr/plan.h"
#include "csr/table.h"
#include "csr/write.h"
#include "kube/events.h"

namespace certguard::cli {

namespace {

struct ApproveFlags {
  ClusterFlags cluster;
  std::string policy_file;
  bool dry_run = false;
  bool watch = false;
  std::string interval = "30s";
  std::string until_quiet = "2m";
  std::string node_wait = "10m";
};

x509::Time Now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string Str(const nlohmann::json& obj, const char* a, const char* b) {
  if (!obj.is_object() || !obj.contains(a) || !obj[a].is_object()) return {};
  const auto& o = obj[a];
  if (!o.contains(b) || !o[b].is_string()) return {};
  return o[b].get<std::string>();
}

std::string Codes(const csr::Decision& d) {
  std::string out;
  for (const auto& r : d.reasons) out += (out.empty() ? "" : ",") + r.code;
  return out;
}

// The DECISION column.
std::string Outcome(const csr::Plan& plan, bool written, bool dry_run) {
  using A = csr::Plan::Action;
  switch (plan.action) {
    case A::kApprove: return dry_run ? "WouldApprove" : written ? "Approved" : "Error";
    case A::kDeny: return dry_run ? "WouldDeny" : written ? "Denied" : "Error";
    case A::kIgnore: return "Ignored";
    case A::kDryRun:
      return std::string("DryRunPolicy:") + csr::VerdictName(plan.decision.verdict);
    case A::kWaitForNode: return "WaitingForNode";
    case A::kHoldForFlood: return "Held";
    case A::kSkip: return plan.note == "deleted" ? "Deleted" : "AlreadyDecided";
  }
  return "Unknown";
}

struct PassResult {
  int failures = 0;
  std::set<std::string> pending_uids;  // pending kubelet CSRs seen in this pass
};

// One pass over every pending kubelet CSR. Prints the rows of CSRs whose
// outcome differs from `shown` (all of them on the first pass).
Result<PassResult> Pass(kube::Client& client, kube::EventRecorder& events,
                        const ApproveFlags& flags, std::chrono::milliseconds node_wait,
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
  }
  for (const auto& w : policies.warnings) err << "warning: " << w << "\n";
  auto nodes = csr::LoadNodes(client);
  if (!nodes.ok()) return nodes.status();
  auto csrs = csr::LoadCsrs(client);
  if (!csrs.ok()) return csrs.status();

  csr::PlanOptions options;
  options.node_wait_timeout = node_wait;
  options.flood = {0, 0};  // the admin's tool: the backlog is what it is here to clear
  csr::NodeLookup lookup = [&nodes](const std::string& name) -> const csr::NodeFacts* {
    auto it = nodes->find(name);
    return it == nodes->end() ? nullptr : &it->second;
  };
  csr::PendingSummary none;
  auto replan = [&](const nlohmann::json& obj) {
    return csr::MakePlan(obj, lookup, policies.policies, none, Now(), options);
  };

  PassResult result;
  std::vector<std::vector<std::string>> rows;
  for (auto& obj : *csrs) {
    csr::Plan plan = replan(obj);
    if (plan.action == csr::Plan::Action::kSkip) continue;  // decided or not a kubelet CSR
    const std::string name = Str(obj, "metadata", "name");
    result.pending_uids.insert(Str(obj, "metadata", "uid"));
    bool written = false;
    if (!flags.dry_run) {
      csr::WriteResult w = csr::WriteDecision(client, obj, plan, replan, Now);
      if (!w.status.ok()) {
        ++result.failures;
        err << "error: " << w.status.ToString() << "\n";
      }
      written = w.written;
      plan = w.plan;
      if (written) {
        bool approve = plan.action == csr::Plan::Action::kApprove;
        events.Record(
            kube::ObjectReference{"certificates.k8s.io/v1", "CertificateSigningRequest", "",
                                  name, Str(obj, "metadata", "uid"), ""},
            approve ? kube::EventSeverity::kNormal : kube::EventSeverity::kWarning,
            approve ? csr::event::kApproved : csr::event::kDenied,
            plan.message + " (certguard approve-pending)");
      }
    }
    std::string outcome = Outcome(plan, written, flags.dry_run);
    std::string row_key = outcome + "|" + Codes(plan.decision);
    if (shown[name] == row_key) continue;
    shown[name] = row_key;
    rows.push_back({name, plan.signer_name, plan.requester, outcome, Codes(plan.decision)});
  }
  if (!rows.empty()) {
    out << csr::FormatTable({"NAME", "SIGNER", "REQUESTER", "DECISION", "REASON"}, rows);
    out.flush();
  }
  return result;
}

}  // namespace

void AddApprovePendingCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "approve-pending",
      "Decide every pending kubelet CSR with the policies (approve what they allow) and print "
      "a table");
  auto flags = std::make_shared<ApproveFlags>();
  AddClusterFlags(cmd, flags->cluster);
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
      if (flags->watch && interval.count() <= 0) {
        ctx.err << "certguard approve-pending: --interval must be positive\n";
        return kExitUsage;
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

      app::StopSignal stop;
      if (flags->watch) app::NotifyOnSignals(stop);
      std::map<std::string, std::string> shown;
      std::set<std::string> seen;
      int failures = 0;
      auto last_new = std::chrono::steady_clock::now();
      bool first = true;
      while (true) {
        auto pass = Pass(**client, *events, *flags, node_wait, shown, ctx.out, ctx.err);
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
        first = false;
        if (!flags->watch) break;
        if (std::chrono::steady_clock::now() - last_new >= quiet) {
          ctx.out << "quiet for " << common::FormatDuration(quiet) << ": done\n";
          break;
        }
        if (stop.WaitFor(interval)) break;
      }
      events->Flush();
      return failures > 0 ? kExitFailure : kExitOk;
    };
  });
}

}  // namespace certguard::cli
