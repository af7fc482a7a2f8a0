#include "csr/plan.h"

#include <algorithm>

#include "common/duration.h"
#include "csr/approval.h"
#include "csr/request.h"

namespace certguard::csr {

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

Plan MakePlan(const nlohmann::json& csr, const NodeLookup& nodes,
              const std::vector<Policy>& policies, const PendingSummary& summary,
              x509::Time now, const PlanOptions& options) {
  Plan p;
  p.state = StateOf(csr);
  auto request = RequestFromObject(csr);
  if (!request.ok()) {
    p.note = "not a readable CertificateSigningRequest: " + request.status().message();
    return p;
  }
  p.requester = request->username;
  p.signer_name = request->signer_name;
  if (p.signer_name != kClientSigner && p.signer_name != kServingSigner) {
    p.note = "signer " + p.signer_name + " is not a kubelet signer";
    return p;
  }
  if (p.state != CsrState::kPending) {
    p.note = std::string("already ") + CsrStateName(p.state);
    return p;
  }

  p.decision = Evaluate(*request, nodes, policies, now, options.network);
  p.message = DecisionMessage(p.decision);
  if (p.decision.dry_run) {
    p.action = Plan::Action::kDryRun;
    return p;
  }
  switch (p.decision.verdict) {
    case Verdict::kIgnore:
      p.action = Plan::Action::kIgnore;
      return p;
    case Verdict::kDeny: {
      std::vector<std::string> codes;
      for (const auto& r : p.decision.reasons) codes.push_back(r.code);
      // A Node is often created first and given its addresses by a status update
      // right after: until then its serving SANs cannot match. Wait as for a
      // missing Node (an address update re-queues the CSR).
      constexpr std::string_view kNodeUser = "system:node:";
      if (p.signer_name == kServingSigner && p.requester.rfind(kNodeUser, 0) == 0) {
        const NodeFacts* node = nodes(p.requester.substr(kNodeUser.size()));
        if (node != nullptr && node->addresses.empty()) codes.push_back(reason::kNodeNotFound);
      }
      std::chrono::milliseconds age{0};
      if (request->creation_timestamp) {
        age = std::max(std::chrono::milliseconds(0),
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           now - *request->creation_timestamp));
      }
      if (auto delay = NodeWaitDelay(p.signer_name, codes, age, options.node_wait_timeout)) {
        p.action = Plan::Action::kWaitForNode;
        p.requeue_after = *delay;
        p.note = "its Node is not registered yet or has no addresses; waited " +
                 common::FormatDuration(std::chrono::duration_cast<common::Millis>(
                     std::chrono::seconds(std::chrono::duration_cast<std::chrono::seconds>(age)))) +
                 " of " + common::FormatDuration(options.node_wait_timeout);
        return p;
      }
      p.action = Plan::Action::kDeny;
      return p;
    }
    case Verdict::kApprove: {
      p.flood = CheckFlood(summary, RequesterKey(p.requester), options.flood);
      if (p.flood.hold) {
        p.action = Plan::Action::kHoldForFlood;
        p.requeue_after = options.flood_recheck;
        return p;
      }
      p.action = Plan::Action::kApprove;
      return p;
    }
  }
  return p;
}

}  // namespace certguard::csr
