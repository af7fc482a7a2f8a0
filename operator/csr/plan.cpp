#include "csr/plan.h"

#include <algorithm>
#include <utility>

#include "common/duration.h"
#include "csr/approval.h"
#include "csr/request.h"

namespace certguard::csr {

namespace {

// Each SAN of `csr` that another Node lists, with the first such Node: of the SANs `node`
// lists too when `node_lists` is true, of those it does not list otherwise.
std::vector<std::pair<std::string, std::string>> OtherOwners(const x509::CsrInfo& csr,
                                                             const NodeFacts& node,
                                                             const PlanContext& context,
                                                             bool node_lists) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!context.address_owners) return out;
  std::vector<std::string> own = AddressKeys(node);
  auto check = [&](const std::string& key, const std::string& what) {
    if (std::binary_search(own.begin(), own.end(), key) != node_lists) return;
    for (const auto& owner : context.address_owners(key)) {
      if (owner == node.name) continue;
      out.emplace_back(what, owner);
      return;
    }
  };
  for (const auto& ip : csr.sans.ips) check(IpKey(ip), "IP " + ip.ToString());
  for (const auto& dns : csr.sans.dns) check(DnsKey(dns), "DNS name " + dns.substr(0, 300));
  return out;
}

// The SANs of `csr` that `node` does not list but another Node does.
std::vector<std::string> ClaimedElsewhere(const x509::CsrInfo& csr, const NodeFacts& node,
                                          const PlanContext& context) {
  std::vector<std::string> out;
  for (const auto& [what, owner] : OtherOwners(csr, node, context, false)) {
    out.push_back(what + " is an address of node " + owner);
  }
  return out;
}

// The SANs of `csr` that `node` lists and another Node lists too.
std::vector<std::string> SharedWithOthers(const x509::CsrInfo& csr, const NodeFacts& node,
                                          const PlanContext& context) {
  std::vector<std::string> out;
  for (const auto& [what, owner] : OtherOwners(csr, node, context, true)) {
    out.push_back(what + " is listed by node " + node.name + " and by node " + owner +
                  ": two Nodes claim it");
  }
  return out;
}

}  // namespace

const char* ActionName(Plan::Action a) {
  switch (a) {
    case Plan::Action::kSkip: return "Skip";
    case Plan::Action::kApprove: return "Approve";
    case Plan::Action::kDeny: return "Deny";
    case Plan::Action::kIgnore: return "Ignore";
    case Plan::Action::kDryRun: return "DryRun";
    case Plan::Action::kWaitForNode: return "WaitForNode";
    case Plan::Action::kHoldForFlood: return "HoldForFlood";
  }
  return "Unknown";
}

std::string DecisionMessage(const Decision& d) {
  std::string out = "policy " + (d.policy.empty() ? std::string("(none)") : d.policy) + ": ";
  for (size_t i = 0; i < d.reasons.size(); ++i) {
    if (i > 0) out += "; ";
    out += d.reasons[i].code + ": " + d.reasons[i].message;
  }
  return out;
}

namespace {

constexpr std::string_view kNodeUser = "system:node:";

// The Node a serving CSR of `requester` speaks for; null for another signer or requester,
// or when no such Node exists.
const NodeFacts* ServingNode(const Plan& p, const NodeLookup& nodes) {
  if (p.signer_name != kServingSigner || p.requester.rfind(kNodeUser, 0) != 0) return nullptr;
  return nodes(p.requester.substr(kNodeUser.size()));
}

// Its requester has given up on it: decide the newest one, never both.
void PlanSuperseded(Plan& p, const PlanOptions& options, const PlanContext& context) {
  p.decision.verdict = Verdict::kDeny;
  p.decision.reasons = {{reason::kSuperseded, "the newer CSR " + context.superseded_by +
                                                  " of the same requester (" + p.requester +
                                                  "), subject and signer supersedes it"}};
  p.message = p.decision.reasons.front().code + ": " + p.decision.reasons.front().message;
  p.action =
      options.superseded == SupersededAction::kDeny ? Plan::Action::kDeny : Plan::Action::kIgnore;
}

// A Node writes its own addresses: an approval for an address that another
// Node lists as well would let either one serve as the other.
void DenySharedAddresses(Plan& p, const CsrRequest& request, const NodeLookup& nodes,
                         const PlanContext& context) {
  if (p.decision.verdict != Verdict::kApprove || !request.csr) return;
  const NodeFacts* node = ServingNode(p, nodes);
  if (node == nullptr) return;
  std::vector<std::string> shared = SharedWithOthers(*request.csr, *node, context);
  if (shared.empty()) return;
  p.decision.verdict = Verdict::kDeny;
  p.decision.reasons.clear();
  for (auto& why : shared)
    p.decision.reasons.push_back({reason::kSANAddressShared, std::move(why)});
}

// A denial: waits for the Node while a reason may still clear, denies otherwise.
void PlanDeny(Plan& p, const CsrRequest& request, const NodeLookup& nodes, x509::Time now,
              const PlanOptions& options, const PlanContext& context) {
  NodeWaitFacts facts;
  for (const auto& r : p.decision.reasons) facts.reason_codes.push_back(r.code);
  if (const NodeFacts* node = ServingNode(p, nodes)) {
    facts.node_exists = true;
    facts.node_has_addresses = !node->addresses.empty();
    if (request.csr) facts.claimed_elsewhere = ClaimedElsewhere(*request.csr, *node, context);
  }
  std::chrono::milliseconds age{0};
  if (request.creation_timestamp) {
    age = std::max(
        std::chrono::milliseconds(0),
        std::chrono::duration_cast<std::chrono::milliseconds>(now - *request.creation_timestamp));
  }
  NodeWait wait = CheckNodeWait(p.signer_name, facts, age, options.node_wait_timeout);
  if (wait.wait) {
    p.action = Plan::Action::kWaitForNode;
    p.requeue_after = wait.delay;
    p.note = wait.why + "; waited " +
             common::FormatDuration(std::chrono::duration_cast<common::Millis>(
                 std::chrono::seconds(std::chrono::duration_cast<std::chrono::seconds>(age)))) +
             " of " + common::FormatDuration(options.node_wait_timeout);
    return;
  }
  // Why it did not wait: part of the final word the kubelet's admin reads.
  if (!wait.why.empty()) p.message += " (" + wait.why + ")";
  p.action = Plan::Action::kDeny;
}

// An approval: held back while its requester floods, approved otherwise.
void PlanApprove(Plan& p, const PendingSummary& summary, const PlanOptions& options) {
  p.flood = CheckFlood(summary, p.flood_key, options.flood);
  if (p.flood.hold) {
    p.action = Plan::Action::kHoldForFlood;
    p.requeue_after = options.flood_recheck;
    return;
  }
  p.action = Plan::Action::kApprove;
}

}  // namespace

Plan MakePlan(const nlohmann::json& csr, const NodeLookup& nodes,
              const std::vector<Policy>& policies, const PendingSummary& summary,
              x509::Time now, const PlanOptions& options, const PlanContext& context) {
  Plan p;
  p.state = StateOf(csr);
  auto request = RequestFromObject(csr);
  if (!request.ok()) {
    p.note = "not a readable CertificateSigningRequest: " + request.status().message();
    return p;
  }
  p.requester = request->username;
  p.flood_key = FloodKey(p.requester, request->csr ? request->csr->subject.CommonName().value_or("")
                                                   : std::string());
  p.signer_name = request->signer_name;
  if (p.signer_name != kClientSigner && p.signer_name != kServingSigner) {
    p.note = "signer " + p.signer_name + " is not a kubelet signer";
    return p;
  }
  if (p.state != CsrState::kPending) {
    p.note = std::string("already ") + CsrStateName(p.state);
    return p;
  }
  if (!context.superseded_by.empty() && options.superseded != SupersededAction::kOff) {
    PlanSuperseded(p, options, context);
    return p;
  }
  p.decision = Evaluate(*request, nodes, policies, now, options.network);
  DenySharedAddresses(p, *request, nodes, context);
  p.message = DecisionMessage(p.decision);
  if (p.decision.dry_run) {
    p.action = Plan::Action::kDryRun;
    return p;
  }
  switch (p.decision.verdict) {
    case Verdict::kIgnore:
      p.action = Plan::Action::kIgnore;
      break;
    case Verdict::kDeny:
      PlanDeny(p, *request, nodes, now, options, context);
      break;
    case Verdict::kApprove:
      PlanApprove(p, summary, options);
      break;
  }
  return p;
}

}  // namespace certguard::csr
