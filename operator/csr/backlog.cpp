#include "csr/backlog.h"

#include <optional>
#include <utility>

#include "common/json_fields.h"
#include "csr/approval.h"
#include "csr/event_reasons.h"
#include "csr/pending.h"
#include "csr/write.h"

namespace certguard::csr {

namespace {

using A = Plan::Action;

using common::Str;

std::string Codes(const Decision& d) {
  std::string out;
  for (const auto& r : d.reasons) out += (out.empty() ? "" : ",") + r.code;
  return out;
}

// The DECISION column.
std::string Outcome(const Plan& plan, bool written, bool dry_run) {
  switch (plan.action) {
    case A::kApprove: return dry_run ? "WouldApprove" : written ? "Approved" : "Error";
    case A::kDeny: return dry_run ? "WouldDeny" : written ? "Denied" : "Error";
    case A::kIgnore: return "Ignored";
    case A::kDryRun: return std::string("DryRunPolicy:") + VerdictName(plan.decision.verdict);
    case A::kWaitForNode: return "WaitingForNode";
    case A::kHoldForFlood: return "Held";
    case A::kSkip: return plan.note == "deleted" ? "Deleted" : "AlreadyDecided";
  }
  return "Unknown";
}

}  // namespace

BacklogResult DecideBacklog(kube::Client& client, kube::EventRecorder& events,
                            const std::vector<nlohmann::json>& csrs, const NodeLookup& nodes,
                            const std::vector<Policy>& policies, const BacklogOptions& options,
                            const std::function<x509::Time()>& now) {
  // Listed whole, decided CSRs still carry their request: every group is known.
  PendingIndex index(options.plan.superseded != SupersededAction::kOff);
  for (const auto& c : csrs) (void)index.Update(Str(c, "metadata", "name"), c);
  PendingSummary summary = index.Summary(now());
  // Plans always see the counts as they are at that moment, a re-plan after a
  // conflict too.
  auto plan_of = [&](const nlohmann::json& obj) {
    PlanContext context;
    context.superseded_by = index.SupersededBy(Str(obj, "metadata", "name"));
    context.address_owners = options.address_owners;
    return MakePlan(obj, nodes, policies, summary, now(), options.plan, context);
  };

  BacklogResult result;
  std::vector<std::optional<BacklogRow>> rows(csrs.size());
  auto act = [&](size_t i, Plan plan) {
    const nlohmann::json& obj = csrs[i];
    BacklogRow row;
    row.name = Str(obj, "metadata", "name");
    row.uid = Str(obj, "metadata", "uid");
    row.signer_name = Str(obj, "spec", "signerName");
    row.requester = Str(obj, "spec", "username");
    bool written = false;
    if (!options.dry_run) {
      WriteResult w = WriteDecision(client, obj, std::move(plan), plan_of, now);
      if (!w.status.ok()) result.errors.push_back(w.status.ToString());
      written = w.written;
      plan = std::move(w.plan);
    }
    row.action = plan.action;
    row.decision = Outcome(plan, written, options.dry_run);
    row.reason = plan.action == A::kHoldForFlood ? plan.flood.reason : Codes(plan.decision);

    bool decides = plan.action == A::kApprove || plan.action == A::kDeny;
    // A superseded CSR was never in the flood guard's counts.
    bool superseded = !plan.decision.reasons.empty() &&
                      plan.decision.reasons.front().code == reason::kSuperseded;
    if (!superseded && (written || plan.action == A::kSkip || (options.dry_run && decides))) {
      Forget(summary, obj);  // no longer pending (or would not be)
    }
    if (plan.action == A::kHoldForFlood) ++result.held;
    if (!options.dry_run) {
      kube::ObjectReference ref{"certificates.k8s.io/v1", "CertificateSigningRequest", "",
                                row.name, row.uid, ""};
      if (written) {
        bool approve = plan.action == A::kApprove;
        events.Record(ref, approve ? kube::EventSeverity::kNormal : kube::EventSeverity::kWarning,
                      approve ? event::kApproved : event::kDenied,
                      plan.message + " (certguard approve-pending)");
      } else if (plan.action == A::kHoldForFlood) {
        events.Record(ref, kube::EventSeverity::kWarning, event::kApprovalPaused,
                      plan.flood.message + " (certguard approve-pending)");
      }
    }
    rows[i] = std::move(row);
  };

  // Denials and the rest first, approvals (or holds) after them.
  std::vector<size_t> approvals;
  for (size_t i = 0; i < csrs.size(); ++i) {
    Plan plan = plan_of(csrs[i]);
    if (plan.action == A::kSkip) continue;  // decided already, or not a kubelet CSR
    if (plan.action == A::kApprove || plan.action == A::kHoldForFlood) {
      approvals.push_back(i);
      continue;
    }
    act(i, std::move(plan));
  }
  for (size_t i : approvals) act(i, plan_of(csrs[i]));

  for (auto& r : rows) {
    if (r) result.rows.push_back(std::move(*r));
  }
  return result;
}

}  // namespace certguard::csr
