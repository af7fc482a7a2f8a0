#include "csr/status_reconciler.h"

#include <vector>

#include "csr/policy.h"
#include "csr/policy_status.h"
#include "kube/resource.h"

namespace certguard::csr {

kube::ReconcileResult PolicyStatusReconciler::Reconcile(const std::string& name) {
  using kube::ReconcileResult;
  const kube::Resource& policies = kube::resources::kCsrApprovalPolicies;
  DecisionTally tally = record_.TakeTally(name);
  auto put_back = [this, &name, &tally] { record_.PutBack(name, tally); };
  auto obj = client_.Get(policies, "", name);
  if (!obj.ok()) {
    if (obj.status().code() == Code::kNotFound) return ReconcileResult::Done();
    put_back();
    return ReconcileResult::Retry(obj.status().Annotate("reading policy " + name));
  }
  std::vector<std::string> errors;
  if (auto parsed = PolicyFromObject(*obj); parsed.ok()) {
    errors = parsed->errors;
  } else {
    errors.push_back(parsed.status().message());
  }
  nlohmann::json status = NextPolicyStatus(*obj, tally, errors, clock_.Now());
  if (obj->contains("status") && (*obj)["status"] == status) return ReconcileResult::Done();
  nlohmann::json body = std::move(*obj);
  body["status"] = status;
  auto written = client_.Update(policies, "", body, "status");
  if (!written.ok()) {
    put_back();
    return ReconcileResult::Retry(written.status().Annotate("writing the status of policy " + name));
  }
  return ReconcileResult::Done();
}

}  // namespace certguard::csr
