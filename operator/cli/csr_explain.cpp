// `certguard csr explain NAME`: why is this CSR still pending? Reads the CSR,
// the Nodes and the policies from the cluster and prints what certguard
// decides, with every reason.
#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "cli/app.h"
#include "cli/cluster.h"
#include "cli/commands.h"
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
  NetworkFlags network;
  std::string name;
  std::string policy_file;
  std::string output = "text";
  std::string node_wait = common::FormatDuration(csr::kDefaultNodeWaitTimeout);
  int max_pending_per_node = csr::kDefaultMaxPendingPerNode;
  int max_pending = csr::kDefaultMaxPending;
  std::string superseded = csr::kDefaultSuperseded;
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

}  // namespace

void AddCsrExplainCommand(CLI::App& app, Context& ctx) {
  auto* cmd = CsrCommand(app)->add_subcommand(
      "explain", "Print the decision on one CSR of the cluster and every reason for it");
  auto flags = std::make_shared<ExplainFlags>();
  cmd->add_option("NAME", flags->name, "CertificateSigningRequest name")->required();
  AddClusterFlags(cmd, flags->cluster);
  AddNetworkFlags(cmd, flags->network);
  cmd->add_option("--policy", flags->policy_file,
                  "CSRApprovalPolicy file to decide with instead of the cluster's policies");
  cmd->add_option("-o,--output", flags->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--csr-node-wait-timeout", flags->node_wait,
                  "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending-per-node", flags->max_pending_per_node,
                  "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-max-pending", flags->max_pending, "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-superseded", flags->superseded, "As given to `certguard run`")
      ->capture_default_str();
  cmd->add_option("--csr-renewal-stuck-window", flags->renewal_window,
                  "As given to `certguard run`")
      ->capture_default_str();

  cmd->callback([&ctx, flags] {
    ctx.run = [&ctx, flags]() -> int {
      auto node_wait = common::ParseDuration(flags->node_wait);
      if (!node_wait.ok()) {
        ctx.err << "certguard csr explain: --csr-node-wait-timeout: "
                << node_wait.status().message() << "\n";
        return kExitUsage;
      }
      auto renewal_window = common::ParseDuration(flags->renewal_window);
      if (!renewal_window.ok() || renewal_window->count() < 0) {
        ctx.err << "certguard csr explain: --csr-renewal-stuck-window: "
                << (renewal_window.ok() ? "must not be negative"
                                        : renewal_window.status().message())
                << "\n";
        return kExitUsage;
      }
      auto network = csr::MakeClusterNetwork(flags->network.cluster_domain,
                                             flags->network.service_cidrs);
      if (!network.ok()) {
        ctx.err << "certguard csr explain: " << network.status().message() << "\n";
        return kExitUsage;
      }
      auto superseded = csr::ParseSupersededAction(flags->superseded);
      if (!superseded.ok()) {
        ctx.err << "certguard csr explain: --csr-superseded " << superseded.status().message()
                << "\n";
        return kExitUsage;
      }
      csr::PolicySet policies;
      if (!flags->policy_file.empty()) {
        auto p = csr::LoadPolicyFile(flags->policy_file);
        if (!p.ok()) {
          ctx.err << "certguard csr explain: " << p.status().message() << "\n";
          return kExitUsage;
        }
        policies = std::move(*p);
      }
      auto client = Connect(flags->cluster);
      if (!client.ok()) {
        ctx.err << "certguard csr explain: " << client.status().message() << "\n";
        return kExitUsage;
      }
      auto obj = (*client)->Get(kube::resources::kCertificateSigningRequests, "", flags->name);
      if (!obj.ok()) {
        ctx.err << "certguard csr explain: " << obj.status().ToString() << "\n";
        return kExitFailure;
      }
      if (flags->policy_file.empty()) {
        auto p = csr::LoadClusterPolicies(**client);
        if (!p.ok()) {
          ctx.err << "certguard csr explain: " << p.status().ToString() << "\n";
          return kExitFailure;
        }
        policies = std::move(*p);
      }
      auto nodes = csr::LoadNodes(**client);
      auto csrs = csr::LoadCsrs(**client);
      if (!nodes.ok() || !csrs.ok()) {
        ctx.err << "certguard csr explain: "
                << (nodes.ok() ? csrs.status() : nodes.status()).ToString() << "\n";
        return kExitFailure;
      }
      auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      // The requesting node's current certificates, and the last client one for
      // the re-bootstrap check, as the controller knows them.
      std::vector<csr::KubeletCsr> kubelet_csrs;
      for (const auto& c : *csrs) {
        if (auto k = csr::KubeletCsrOf(c)) kubelet_csrs.push_back(std::move(*k));
      }
      csr::AddLastClientCerts(*nodes, kubelet_csrs);
      const auto self = csr::KubeletCsrOf(*obj);
      std::optional<csr::NodeRenewal> node_client, node_serving;
      if (self) {
        for (auto& row :
             csr::JoinRenewals(kubelet_csrs, now,
                               std::chrono::duration_cast<std::chrono::seconds>(*renewal_window))) {
          if (row.node != self->node) continue;
          (row.kind == csr::CertKind::kClient ? node_client : node_serving) = std::move(row);
        }
      }
      // As the controller sees them: duplicates grouped, addresses indexed by Node.
      csr::PendingIndex index(*superseded != csr::SupersededAction::kOff);
      for (const auto& c : *csrs) (void)index.Update(Str(c, "metadata", "name"), c);
      csr::PendingSummary summary = index.Summary(now);
      csr::NodeAddressIndex addresses;
      for (const auto& [name, node] : *nodes) addresses.Update(name, csr::AddressKeys(node));
      csr::PlanContext context;
      context.superseded_by = index.SupersededBy(flags->name);
      context.address_owners = [&addresses](const std::string& key) { return addresses.Owners(key); };
      csr::PlanOptions options;
      options.network = std::move(*network);
      options.node_wait_timeout = *node_wait;
      options.flood = {flags->max_pending_per_node, flags->max_pending};
      options.superseded = *superseded;
      csr::NodeLookup lookup = [&nodes](const std::string& name) -> const csr::NodeFacts* {
        auto it = nodes->find(name);
        return it == nodes->end() ? nullptr : &it->second;
      };
      csr::Plan plan = csr::MakePlan(*obj, lookup, policies.policies, summary, now, options, context);
      // A decided CSR is explained too: what the policies would say now.
      csr::Decision decision = plan.decision;
      if (plan.action == csr::Plan::Action::kSkip && plan.state != csr::CsrState::kPending) {
        nlohmann::json as_pending = *obj;
        as_pending.erase("status");
        decision = csr::MakePlan(as_pending, lookup, policies.policies, summary, now, options)
                       .decision;
      }

      if (flags->output == "json") {
        nlohmann::json j = nlohmann::json::parse(csr::DecisionToJson(decision));
        j["csr"] = flags->name;
        j["state"] = csr::CsrStateName(plan.state);
        j["action"] = csr::ActionName(plan.action);
        j["note"] = plan.note;
        j["policySource"] = policies.origin;
        j["warnings"] = policies.warnings;
        if (plan.requeue_after.count() > 0) j["requeueAfterSeconds"] = plan.requeue_after.count() / 1000.0;
        if (self) {
          j["node"] = self->node;
          j["nodeCertificates"] = {{"client", RenewalJson(node_client, now)},
                                   {"serving", RenewalJson(node_serving, now)}};
        }
        ctx.out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return kExitOk;
      }
      auto& out = ctx.out;
      out << "CSR:        " << flags->name << "\n"
          << "Signer:     " << Str(*obj, "spec", "signerName") << "\n"
          << "Requester:  " << Str(*obj, "spec", "username") << "\n"
          << "Created:    " << Str(*obj, "metadata", "creationTimestamp") << "\n"
          << "State:      " << csr::CsrStateName(plan.state) << "\n";
      if (self) {
        out << "Node:       " << self->node << "\n"
            << "  client:   " << RenewalText(node_client, now) << "\n"
            << "  serving:  " << RenewalText(node_serving, now) << "\n";
      }
      if (obj->contains("status") && (*obj)["status"].is_object() &&
          (*obj)["status"].contains("conditions") && (*obj)["status"]["conditions"].is_array()) {
        for (const auto& c : (*obj)["status"]["conditions"]) {
          if (!c.is_object()) continue;
          out << "Condition:  " << c.value("type", "") << " (" << c.value("reason", "") << "): "
              << c.value("message", "") << "\n";
        }
      }
      out << "Policies:   " << policies.origin << ", " << policies.policies.size()
          << (policies.policies.empty() ? " (the built-in default policy decides)" : "") << "\n";
      for (const auto& w : policies.warnings) out << "Warning:    " << w << "\n";
      out << "Decision:   " << csr::VerdictName(decision.verdict)
          << (decision.policy.empty() ? "" : " by policy " + decision.policy)
          << (decision.dry_run ? " (dry run)" : "") << "\n"
          << "certguard:  " << ActionText(plan) << "\n"
          << "Reasons:\n";
      for (const auto& r : decision.reasons) out << "  " << r.code << ": " << r.message << "\n";
      return kExitOk;
    };
  });
}

}  // namespace certguard::cli
