#include "csr/write.h"

#include "common/log.h"
#include "csr/approval.h"
#include "kube/resource.h"

namespace certguard::csr {

WriteResult WriteDecision(kube::Client& client, nlohmann::json csr, Plan plan,
                          const Replan& replan, const std::function<x509::Time()>& now,
                          int attempts) {
  const kube::Resource& kCsrs = kube::resources::kCertificateSigningRequests;
  WriteResult result;
  std::string name;
  if (csr.contains("metadata") && csr["metadata"].is_object() &&
      csr["metadata"].contains("name") && csr["metadata"]["name"].is_string()) {
    name = csr["metadata"]["name"].get<std::string>();
  }
  for (int attempt = 0; attempt < attempts; ++attempt) {
    result.plan = plan;
    result.csr = csr;
    if (plan.action != Plan::Action::kApprove && plan.action != Plan::Action::kDeny) {
      return result;  // nothing to write
    }
    auto body = BuildApprovalBody(csr, plan.action == Plan::Action::kApprove, plan.message, now());
    if (!body.ok()) {
      result.status = body.status().Annotate("csr " + name);
      return result;
    }
    Status st = client.UpdateWithoutResult(kCsrs, "", *body, "approval");
    if (st.ok()) {
      result.written = true;
      return result;
    }
    if (st.code() == Code::kNotFound) {
      result.plan.action = Plan::Action::kSkip;
      result.plan.note = "deleted";
      return result;
    }
    if (st.code() != Code::kConflict) {
      result.status = st.Annotate("writing the decision on csr " + name);
      return result;
    }
    auto fresh = client.Get(kCsrs, "", name);
    if (!fresh.ok()) {
      if (fresh.status().code() == Code::kNotFound) {
        result.plan.action = Plan::Action::kSkip;
        result.plan.note = "deleted";
        return result;
      }
      result.status = fresh.status().Annotate("re-reading csr " + name);
      return result;
    }
    log::Debug("csr changed meanwhile: deciding again on a fresh copy", {{"csr", name}});
    csr = std::move(*fresh);
    plan = replan(csr);
  }
  result.status = Status(Code::kConflict, "csr " + name + " kept changing while being decided");
  return result;
}

}  // namespace certguard::csr
