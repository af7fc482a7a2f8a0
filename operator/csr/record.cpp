#include "csr/record.h"

#include <chrono>

#include "common/json_fields.h"
#include "common/log.h"
#include "csr/event_reasons.h"

namespace certguard::csr {

namespace {

using common::Str;

kube::ObjectReference CsrReference(const nlohmann::json& csr) {
  kube::ObjectReference ref = kube::ReferenceTo(csr);
  ref.api_version = "certificates.k8s.io/v1";
  ref.kind = "CertificateSigningRequest";
  ref.ns.clear();
  return ref;
}

std::string DecisionLabel(const Plan& plan) {
  std::string v = VerdictName(plan.decision.verdict);
  return plan.action == Plan::Action::kDryRun ? "DryRun" + v : v;
}

std::vector<std::string> ReasonCodes(const Plan& plan) {
  std::vector<std::string> codes;
  for (const auto& r : plan.decision.reasons) codes.push_back(r.code);
  return codes;
}

// What makes two non-writing outcomes of a CSR the same for dedup.
std::string Signature(const Plan& plan, const std::vector<std::string>& codes) {
  std::string signature = std::string(ActionName(plan.action)) + "|" + plan.decision.policy;
  for (const auto& c : codes) signature += "|" + c;
  if (plan.action == Plan::Action::kHoldForFlood) signature += "|" + plan.flood.scope;
  return signature;
}

// Waiting and holding are not decisions: no counts, no decision metric.
bool IsDecision(const Plan& plan) {
  return plan.action != Plan::Action::kWaitForNode && plan.action != Plan::Action::kHoldForFlood;
}

DecisionTally OneDecision(const nlohmann::json& csr, const Plan& plan,
                          const std::vector<std::string>& codes, common::Time now) {
  DecisionTally t;
  switch (plan.action) {
    case Plan::Action::kApprove: t.approved = 1; break;
    case Plan::Action::kDeny: t.denied = 1; break;
    case Plan::Action::kIgnore: t.ignored = 1; break;
    default: t.dry_run = 1; break;
  }
  t.last = LastDecisionJson(Str(csr, "metadata", "name"), VerdictName(plan.decision.verdict),
                            codes.empty() ? "" : codes.front(),
                            plan.action == Plan::Action::kDryRun, now);
  return t;
}

}  // namespace

OutcomeEvent EventFor(const Plan& plan) {
  OutcomeEvent e;
  e.message = plan.message;
  switch (plan.action) {
    case Plan::Action::kApprove: e.reason = event::kApproved; break;
    case Plan::Action::kDeny:
      e.reason = event::kDenied;
      e.severity = kube::EventSeverity::kWarning;
      break;
    case Plan::Action::kIgnore: e.reason = event::kIgnored; break;
    case Plan::Action::kDryRun:
      e.reason = event::kDryRun;
      e.message = std::string("dry run, nothing written: would ") +
                  VerdictName(plan.decision.verdict) + ": " + plan.message;
      break;
    case Plan::Action::kWaitForNode:
      e.reason = event::kWaitingForNode;
      e.message = plan.note + ": " + plan.message;
      break;
    case Plan::Action::kHoldForFlood:
      e.reason = event::kApprovalPaused;
      e.severity = kube::EventSeverity::kWarning;
      e.message = plan.flood.message;
      break;
    case Plan::Action::kSkip: break;
  }
  return e;
}

DecisionRecord::DecisionRecord(kube::EventRecorder& events, kube::EventRecorder* approval_events,
                               CsrMetrics* metrics, const common::Clock* clock,
                               PolicyExists policy_exists)
    : events_(events),
      approval_events_(approval_events),
      metrics_(metrics),
      clock_(clock),
      policy_exists_(std::move(policy_exists)) {}

std::string DecisionRecord::Record(const nlohmann::json& csr, const Plan& plan, bool written,
                                   common::Time now) {
  std::vector<std::string> codes = ReasonCodes(plan);
  if (!FirstTime(Str(csr, "metadata", "uid"), Signature(plan, codes), written)) return "";
  bool counted = Count(csr, plan, codes, now);
  OutcomeEvent event = EventFor(plan);
  if (!event.reason) return counted ? plan.decision.policy : "";
  TellEvent(csr, plan, event);
  Measure(csr, plan, codes, written, now);
  log::Info(written ? "csr decided" : "csr looked at",
            {{"csr", Str(csr, "metadata", "name")},
             {"action", ActionName(plan.action)},
             {"policy", plan.decision.policy},
             {"requester", plan.requester},
             {"message", event.message}});
  return counted ? plan.decision.policy : "";
}

bool DecisionRecord::FirstTime(const std::string& uid, const std::string& signature,
                               bool written) {
  std::lock_guard<std::mutex> lock(mu_);
  if (written) {
    told_.erase(uid);
    return true;
  }
  auto& seen = told_[uid];
  if (seen == signature) return false;
  seen = signature;
  return true;
}

// Counts a decision toward its policy's status; true when it did.
bool DecisionRecord::Count(const nlohmann::json& csr, const Plan& plan,
                           const std::vector<std::string>& codes, common::Time now) {
  const std::string& policy = plan.decision.policy;
  if (!IsDecision(plan) || policy.empty() || !policy_exists_ || !policy_exists_(policy)) {
    return false;
  }
  DecisionTally t = OneDecision(csr, plan, codes, now);
  std::lock_guard<std::mutex> lock(mu_);
  tallies_[policy].Merge(t);
  return true;
}

void DecisionRecord::TellEvent(const nlohmann::json& csr, const Plan& plan,
                               const OutcomeEvent& event) {
  // An approval's reason is in its Approved condition already: its Event goes
  // to a recorder that may drop it under pressure.
  if (plan.action == Plan::Action::kApprove) {
    if (approval_events_) {
      approval_events_->Record(CsrReference(csr), event.severity, event.reason, event.message);
    }
    return;
  }
  events_.Record(CsrReference(csr), event.severity, event.reason, event.message);
}

void DecisionRecord::Measure(const nlohmann::json& csr, const Plan& plan,
                             const std::vector<std::string>& codes, bool written,
                             common::Time now) {
  if (!IsDecision(plan) || !metrics_) return;
  double latency = written ? LatencySeconds(csr, now) : -1;
  metrics_->Decided(plan.signer_name, DecisionLabel(plan), codes, latency);
}

// From the CSR's creation to `now`; -1 (not observed) when its creation time is unreadable.
double DecisionRecord::LatencySeconds(const nlohmann::json& csr, common::Time now) const {
  auto created = common::ParseRfc3339(Str(csr, "metadata", "creationTimestamp"));
  if (!created.ok()) return -1;
  if (clock_) return static_cast<double>((now - *created).count());
  // Most decisions take well under a second: the real clock to the microsecond.
  return std::chrono::duration<double>(std::chrono::system_clock::now() - *created).count();
}

void DecisionRecord::Forget(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  told_.erase(uid);
}

DecisionTally DecisionRecord::TakeTally(const std::string& policy) {
  std::lock_guard<std::mutex> lock(mu_);
  DecisionTally tally;
  if (auto it = tallies_.find(policy); it != tallies_.end()) {
    tally = std::move(it->second);
    tallies_.erase(it);
  }
  return tally;
}

void DecisionRecord::PutBack(const std::string& policy, const DecisionTally& tally) {
  std::lock_guard<std::mutex> lock(mu_);
  DecisionTally merged = tally;
  if (auto it = tallies_.find(policy); it != tallies_.end()) merged.Merge(it->second);
  tallies_[policy] = std::move(merged);
}

std::vector<std::string> DecisionRecord::TalliedPolicies() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& [name, tally] : tallies_) names.push_back(name);
  return names;
}

}  // namespace certguard::csr
