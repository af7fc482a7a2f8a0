#include "csr/approval.h"

#include <chrono>
#include <cstdio>

namespace certguard::csr {

namespace {

bool HasTrueCondition(const nlohmann::json& conditions, std::string_view type) {
  if (!conditions.is_array()) return false;
  for (const auto& c : conditions) {
    if (!c.is_object()) continue;
    auto t = c.find("type");
    auto s = c.find("status");
    if (t == c.end() || !t->is_string() || *t != type) continue;
    // status was optional in old objects; absent means True there.
    if (s == c.end() || (s->is_string() && *s == "True")) return true;
  }
  return false;
}

}  // namespace

const char* CsrStateName(CsrState s) {
  switch (s) {
    case CsrState::kPending: return "Pending";
    case CsrState::kApproved: return "Approved";
    case CsrState::kDenied: return "Denied";
    case CsrState::kFailed: return "Failed";
    case CsrState::kIssued: return "Issued";
  }
  return "Unknown";
}

CsrState StateOf(const nlohmann::json& csr) {
  if (!csr.is_object()) return CsrState::kPending;
  auto status = csr.find("status");
  if (status == csr.end() || !status->is_object()) return CsrState::kPending;
  auto cert = status->find("certificate");
  if (cert != status->end() && cert->is_string() && !cert->get_ref<const std::string&>().empty()) {
    return CsrState::kIssued;
  }
  auto conditions = status->find("conditions");
  if (conditions == status->end()) return CsrState::kPending;
  if (HasTrueCondition(*conditions, "Denied")) return CsrState::kDenied;
  if (HasTrueCondition(*conditions, "Failed")) return CsrState::kFailed;
  if (HasTrueCondition(*conditions, "Approved")) return CsrState::kApproved;
  return CsrState::kPending;
}

int DecisionConditionCount(const nlohmann::json& csr) {
  int n = 0;
  if (!csr.is_object() || !csr.contains("status") || !csr["status"].is_object()) return 0;
  const auto& status = csr["status"];
  if (!status.contains("conditions") || !status["conditions"].is_array()) return 0;
  for (const auto& c : status["conditions"]) {
    if (!c.is_object() || !c.contains("type") || !c["type"].is_string()) continue;
    const auto& t = c["type"].get_ref<const std::string&>();
    if (t == "Approved" || t == "Denied") ++n;
  }
  return n;
}

Result<nlohmann::json> BuildApprovalBody(const nlohmann::json& csr, bool approve,
                                         std::string_view message, x509::Time now) {
  if (!csr.is_object() || !csr.contains("metadata") || !csr["metadata"].is_object() ||
      !csr["metadata"].contains("name") || !csr["metadata"]["name"].is_string()) {
    return InvalidArgument("not a CertificateSigningRequest with metadata.name");
  }
  nlohmann::json body = csr;
  if (!body.contains("status") || body["status"].is_null()) body["status"] = nlohmann::json::object();
  if (!body["status"].is_object()) return InvalidArgument("status is not an object");
  auto& status = body["status"];
  if (!status.contains("conditions") || status["conditions"].is_null()) {
    status["conditions"] = nlohmann::json::array();
  }
  if (!status["conditions"].is_array()) return InvalidArgument("status.conditions is not a list");

  std::string msg(message);
  if (msg.size() > kMaxConditionMessage) {
    msg.resize(kMaxConditionMessage - 3);
    // Do not leave half a UTF-8 sequence behind.
    while (!msg.empty() && (static_cast<unsigned char>(msg.back()) & 0xC0) == 0x80) msg.pop_back();
    if (!msg.empty() && (static_cast<unsigned char>(msg.back()) & 0x80)) msg.pop_back();
    msg += "...";
  }
  status["conditions"].push_back({
      {"type", approve ? "Approved" : "Denied"},
      {"status", "True"},
      {"reason", approve ? kConditionReasonApproved : kConditionReasonDenied},
      {"message", msg},
      {"lastUpdateTime", common::FormatRfc3339(now)},
  });
  return body;
}

}  // namespace certguard::csr
