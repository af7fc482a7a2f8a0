#include "csr/policy_status.h"

#include "common/json_parse.h"
#include "csr/approval.h"

namespace certguard::csr {

namespace {

int64_t Count(const nlohmann::json& status, const char* key) {
  if (!status.is_object()) return 0;
  auto v = status.find(key);
  if (v == status.end()) return 0;
  // A count out of range (negative, or past int64 as unsigned) starts again from 0.
  return common::IntIn(*v, 0, INT64_MAX).value_or(0);
}

}  // namespace

void DecisionTally::Merge(const DecisionTally& later) {
  approved += later.approved;
  denied += later.denied;
  ignored += later.ignored;
  dry_run += later.dry_run;
  if (!later.last.is_null()) last = later.last;
}

nlohmann::json LastDecisionJson(const std::string& csr_name, const std::string& decision,
                                const std::string& reason, bool dry_run, x509::Time when) {
  return {{"csr", csr_name.substr(0, 253)},
          {"decision", decision},
          {"reason", reason.substr(0, 128)},
          {"time", common::FormatRfc3339(when)},
          {"dryRun", dry_run}};
}

nlohmann::json NextPolicyStatus(const nlohmann::json& policy, const DecisionTally& delta,
                                const std::vector<std::string>& errors, x509::Time now) {
  nlohmann::json old = nlohmann::json::object();
  if (policy.is_object() && policy.contains("status") && policy["status"].is_object()) {
    old = policy["status"];
  }
  int64_t generation = 0;
  if (policy.is_object() && policy.contains("metadata") && policy["metadata"].is_object()) {
    const auto& meta = policy["metadata"];
    if (meta.contains("generation")) {
      generation = common::IntIn(meta["generation"], 0, INT64_MAX).value_or(0);
    }
  }

  nlohmann::json status = nlohmann::json::object();
  status["observedGeneration"] = generation;
  status["approved"] = Count(old, "approved") + delta.approved;
  status["denied"] = Count(old, "denied") + delta.denied;
  status["ignored"] = Count(old, "ignored") + delta.ignored;
  status["dryRun"] = Count(old, "dryRun") + delta.dry_run;
  if (!delta.last.is_null()) {
    status["lastDecision"] = delta.last;
  } else if (old.contains("lastDecision") && old["lastDecision"].is_object()) {
    status["lastDecision"] = old["lastDecision"];
  }

  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "; ") + e;
  const std::string cond_status = errors.empty() ? "True" : "False";
  std::string transition = common::FormatRfc3339(now);
  if (old.contains("conditions") && old["conditions"].is_array()) {
    for (const auto& c : old["conditions"]) {
      auto is = [&c](const char* key, const std::string& want) {
        return c.contains(key) && c[key].is_string() && c[key].get<std::string>() == want;
      };
      if (c.is_object() && is("type", "Valid") && is("status", cond_status) &&
          c.contains("lastTransitionTime") && c["lastTransitionTime"].is_string()) {
        transition = c["lastTransitionTime"].get<std::string>();
      }
    }
  }
  status["conditions"] = nlohmann::json::array(
      {{{"type", "Valid"},
        {"status", cond_status},
        {"reason", errors.empty() ? "Valid" : "InvalidFields"},
        {"message", errors.empty() ? std::string("the policy is valid")
                                   : "the policy applies to no CSR until fixed: " + message},
        {"lastTransitionTime", transition},
        {"observedGeneration", generation}}});
  return status;
}

}  // namespace certguard::csr
