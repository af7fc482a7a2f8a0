// Writing a decision on a CertificateSigningRequest: the state a CSR is in and
// the body of the PUT to its /approval subresource. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "x509/types.h"

namespace certguard::csr {

// The `reason` of the conditions certguard writes. Stable: admins grep for them.
inline constexpr char kConditionReasonApproved[] = "CertguardApproved";
inline constexpr char kConditionReasonDenied[] = "CertguardDenied";
// Condition messages longer than this are cut (with "...") so a CSR with many
// broken rules still fits comfortably in the object.
inline constexpr size_t kMaxConditionMessage = 1024;

enum class CsrState { kPending, kApproved, kDenied, kFailed, kIssued };
const char* CsrStateName(CsrState s);  // "Pending", "Approved", "Denied", "Failed", "Issued"

// Issued when status.certificate is set; otherwise Denied, Failed or Approved
// when such a condition has status "True" (in that order); Pending otherwise.
// Malformed status fields count as absent. Never throws.
CsrState StateOf(const nlohmann::json& csr);

// Anything but Pending: certguard leaves the CSR alone.
inline bool IsDecided(const nlohmann::json& csr) { return StateOf(csr) != CsrState::kPending; }

// How many Approved and Denied conditions the CSR carries (any status): a CSR
// decided twice has two.
int DecisionConditionCount(const nlohmann::json& csr);

// The CSR with one condition appended to status.conditions: type Approved (or
// Denied), status "True", reason kConditionReasonApproved (or ...Denied), the
// message (cut to kMaxConditionMessage), lastUpdateTime = now. Everything
// else, metadata.resourceVersion included, is kept, so the PUT is conditional.
// InvalidArgument when `csr` is not an object with metadata.name or its
// status.conditions is not a list.
Result<nlohmann::json> BuildApprovalBody(const nlohmann::json& csr, bool approve,
                                         std::string_view message, x509::Time now);

}  // namespace certguard::csr
