// `certguard csr explain NAME`: why is this CSR still pending? Reads the CSR,
// the Nodes and the policies from the cluster and prints what certguard
// decides, with every reason.
#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
#include "cli/csr_inputs.h"
#include "common/duration.h"
#include "common/json_fields.h"
#include "csr/approval.h"
#include "csr/cluster.h"
#include "csr/defaults.h"
#include "csr/plan.h"
#include "csr/renewal.h"
#include "kube/resource.h"
#include "x509/parse.h"

namespace certguard::cli {

namespace {

struct ExplainFlags {
  ClusterFlags cluster;
  PlanFlags plan;
  std::string name;
  std::string policy_file;
  std::string output = "text";
  std::string renewal_window = common::FormatDuration(csr::kDefaultRenewalStuckWindow);
};

using common::Str;

// What certguard does about it, in words.
std::string ActionText(const csr::Plan& p) {
  using A = csr::Plan::Action;
  switch (p.action) {
    case A::kSkip: return "nothing: " + p.note;
    case A::kApprove: return "approves it";
    case A::kDeny: return "denies it";
    case A::kIgnore: return "leaves it pending for a person (no policy approves or denies it)";
    case A::kDryRun:
      return std::string("nothing: policy ") + p.decision.policy +
             " is a dry run; it would " + csr::VerdictName(p.decision.verdict);
    case A::kWaitForNode:
      return "waits for its Node (" + p.note + "), then denies it if the Node never comes";
    case A::kHoldForFlood: return "holds the approval: " + p.flood.message;
  }
  return "";
}

// One line on a node's current certificate of one kind and its waiting renewals.
std::string RenewalText(const std::optional<csr::NodeRenewal>& r, x509::Time now) {
  if (!r || !r->current) return "no issued certificate known (its CSRs are gone or never were)";
  const csr::CertValidity& c = *r->current->cert;
  char days[32];
  std::snprintf(days, sizeof days, "%.1f", common::DaysUntil(c.not_after, now));
  std::string out = "CSR " + c.csr + ", valid " + common::FormatRfc3339(c.not_before) + " to " +
                    common::FormatRfc3339(c.not_after) +
                    (c.not_after <= now ? " (expired " : " (expires in ") + days + " days)";
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!r->pending.empty()) out += "; renewal pending: " + join(r->pending);
  if (!r->denied.empty()) out += "; renewal denied: " + join(r->denied);
  if (r->stuck) out += "; RENEWAL STUCK";
  return out;
}

nlohmann::json RenewalJson(const std::optional<csr::NodeRenewal>& r, x509::Time now) {
  if (!r || !r->current) return nullptr;
  const csr::CertValidity& c = *r->current->cert;
  return {{"csr", c.csr},
          {"notBefore", common::FormatRfc3339(c.not_before)},
          {"notAfter", common::FormatRfc3339(c.not_after)},
          {"expiryDays", common::DaysUntil(c.not_after, now)},
          {"pending", r->pending},
          {"denied", r->denied},
          {"renewalStuck", r->stuck}};
}

// The flags as the plan's options; prints why and returns nothing when one is wrong.
struct ExplainOptions {
  csr::PlanOptions plan;
  std::chrono::seconds renewal_window{0};
};

std::optional<ExplainOptions> ParseOptions(const ExplainFlags& flags, std::ostream& err) {
  ExplainOptions o;
  auto plan = PlanOptionsOf(flags.plan);
  if (!plan.ok()) {
    err << "certguard csr explain: " << plan.status().message() << "\n";
    return std::nullopt;
  }
  auto renewal_window = common::ParseDuration(flags.renewal_window);
  if (!renewal_window.ok() || renewal_window->count() < 0) {
    err << "certguard csr explain: --csr-renewal-stuck-window: "
        << (renewal_window.ok() ? "must not be negative" : renewal_window.status().message())
        << "\n";
    return std::nullopt;
  }
  o.plan = std::move(*plan);
  o.renewal_window = std::chrono::duration_cast<std::chrono::seconds>(*renewal_window);
  return o;
}

// What certguard makes of one CSR, and of its node's certificates.
struct Explanation {
  csr::Plan plan;
  csr::Decision decision;  // for a decided CSR: what the policies would say now
  std::optional<csr::KubeletCsr> self;
  std::optional<csr::NodeRenewal> node_client, node_serving;
};

Explanation Explain(const nlohmann::json& obj, const std::string& name, const CsrInputs& in,
                    const csr::PolicySet& policies, const ExplainOptions& options,
                    x509::Time now) {
  Explanation e;
  // The requesting node's current certificates, as the controller knows them.
  e.self = csr::KubeletCsrOf(obj);
  if (e.self) {
    for (auto& row : csr::JoinRenewals(in.kubelet_csrs, now, options.renewal_window)) {
      if (row.node != e.self->node) continue;
      (row.kind == csr::CertKind::kClient ? e.node_client : e.node_serving) = std::move(row);
    }
  }
  // As the controller sees them: duplicates grouped, addresses indexed by Node.
  csr::PendingIndex index(options.plan.superseded != csr::SupersededAction::kOff);
  for (const auto& c : in.csrs) (void)index.Update(Str(c, "metadata", "name"), c);
  csr::PendingSummary summary = index.Summary(now);
  csr::PlanContext context;
  context.superseded_by = index.SupersededBy(name);
  context.address_owners = in.Owners();
  const csr::NodeLookup lookup = in.Lookup();
  e.plan = csr::MakePlan(obj, lookup, policies.policies, summary, now, options.plan, context);
  e.decision = e.plan.decision;
  if (e.plan.action == csr::Plan::Action::kSkip && e.plan.state != csr::CsrState::kPending) {
    nlohmann::json as_pending = obj;
    as_pending.erase("status");
    e.decision =
        csr::MakePlan(as_pending, lookup, policies.policies, summary, now, options.plan).decision;
  }
  return e;
}

void PrintJson(std::ostream& out, const std::string& name, const Explanation& e,
               const csr::PolicySet& policies, x509::Time now) {
  nlohmann::json j = nlohmann::json::parse(csr::DecisionToJson(e.decision));
  j["csr"] = name;
  j["state"] = csr::CsrStateName(e.plan.state);
  j["action"] = csr::ActionName(e.plan.action);
  j["note"] = e.plan.note;
  j["policySource"] = policies.origin;
  j["warnings"] = policies.warnings;
  if (e.plan.requeue_after.count() > 0) {
    j["requeueAfterSeconds"] = e.plan.requeue_after.count() / 1000.0;
  }
  if (e.self) {
    j["node"] = e.self->node;
    j["nodeCertificates"] = {{"client", RenewalJson(e.node_client, now)},
                             {"serving", RenewalJson(e.node_serving, now)}};
  }
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void PrintText(std::ostream& out, const std::string& name, const nlohmann::json& obj,
               const Explanation& e, const csr::PolicySet& policies, x509::Time now) {
  out << "CSR:        " << name << "\n"
      << "Signer:     " << Str(obj, "spec", "signerName") << "\n"
      << "Requester:  " << Str(obj, "spec", "username") << "\n"
      << "Created:    " << Str(obj, "metadata", "creationTimestamp") << "\n"
      << "State:      " << csr::CsrStateName(e.plan.state) << "\n";
  if (e.self) {
    out << "Node:       " << e.self->node << "\n"
        << "  client:   " << RenewalText(e.node_client, now) << "\n"
        << "  serving:  " << RenewalText(e.node_serving, now) << "\n";
  }
  if (obj.contains("status") && obj["status"].is_object() &&
      obj["status"].contains("conditions") && obj["status"]["conditions"].is_array()) {
    for (const auto& c : obj["status"]["conditions"]) {
      if (!c.is_object()) continue;
      out << "Condition:  " << c.value("type", "") << " (" << c.value("reason", "") << "): "
          << c.value("message", "") << "\n";
    }
  }
  out << "Policies:   " << policies.origin << ", " << policies.policies.size()
      << (policies.policies.empty() ? " (the built-in default policy decides)" : "") << "\n";
  for (const auto& w : policies.warnings) out << "Warning:    " << w << "\n";
  const csr::Decision& d = e.decision;
  out << "Decision:   " << csr::VerdictName(d.verdict)
      << (d.policy.empty() ? "" : " by policy " + d.policy) << (d.dry_run ? " (dry run)" : "")
      << "\n"
      << "certguard:  " << ActionText(e.plan) << "\n"
      << "Reasons:\n";
  for (const auto& r : d.reasons) out << "  " << r.code << ": " << r.message << "\n";
}

int RunExplain(const ExplainFlags& flags, Context& ctx) {
  auto options = ParseOptions(flags, ctx.err);
  if (!options) return kExitUsage;
  auto client = ConnectWithPolicyFile(flags.cluster, flags.policy_file);
  if (!client.ok()) {
    ctx.err << "certguard csr explain: " << client.status().message() << "\n";
    return kExitUsage;
  }
  auto obj = (*client)->Get(kube::resources::kCertificateSigningRequests, "", flags.name);
  if (!obj.ok()) {
    ctx.err << "certguard csr explain: " << obj.status().ToString() << "\n";
    return kExitFailure;
  }
  auto policies = LoadPolicies(**client, flags.policy_file);
  if (!policies.ok()) {
    ctx.err << "certguard csr explain: " << policies.status().ToString() << "\n";
    return kExitFailure;
  }
  auto in = LoadCsrInputs(**client);
  if (!in.ok()) {
    ctx.err << "certguard csr explain: " << in.status().ToString() << "\n";
    return kExitFailure;
  }
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const Explanation e = Explain(*obj, flags.name, *in, *policies, *options, now);
  if (flags.output == "json") {
    PrintJson(ctx.out, flags.name, e, *policies, now);
  } else {
    PrintText(ctx.out, flags.name, *obj, e, *policies, now);
  }
  return kExitOk;
}

}  // namespace

void AddCsrExplainCommand(CLI::App& app, Context& ctx) {
  auto* cmd = CsrCommand(app)->add_subcommand(
      "explain", "Print the decision on one CSR of the cluster and every reason for it");
  auto flags = std::make_shared<ExplainFlags>();
  cmd->add_option("NAME", flags->name, "CertificateSigningRequest name")->required();
  AddClusterFlags(cmd, flags->cluster);
  AddNetworkFlags(cmd, flags->plan.network);
  cmd->add_option("--policy", flags->policy_file,
                  "CSRApprovalPolicy file to decide with instead of the cluster's policies");
  cmd->add_option("-o,--output", flags->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--csr-node-wait-timeout", flags->plan.node_wait,
                  "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending-per-node", flags->plan.max_pending_per_node,
                  "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending", flags->plan.max_pending, "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-superseded", flags->plan.superseded, "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-renewal-stuck-window", flags->renewal_window,
                  "As given to `certguard run`")
      ->capture_default_str();

  cmd->callback([&ctx, flags] { ctx.run = [&ctx, flags] { return RunExplain(*flags, ctx); }; });
}

}  // namespace certguard::cli
