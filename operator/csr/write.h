// Writing a plan's decision to the API: the PUT to /approval, and on a 409
// Conflict a fresh read and a new plan (the CSR may have been decided by
// someone else meanwhile). Shared by the controller and `approve-pending`.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "csr/plan.h"
#include "kube/client.h"

namespace certguard::csr {

struct WriteResult {
  Status status;         // OK unless the write failed for good (retry later)
  bool written = false;  // an Approved/Denied condition was written
  Plan plan;             // the plan finally acted on (may differ after a conflict)
  nlohmann::json csr;    // the object that plan was made from
};

using Replan = std::function<Plan(const nlohmann::json& csr)>;

// Acts on `plan` (made from `csr`): kApprove/kDeny are written through the
// /approval subresource with a condition built at `now()`; other actions write
// nothing. A deleted CSR is OK and not written. On conflict the CSR is read
// again and `replan` decides again, at most `attempts` times.
WriteResult WriteDecision(kube::Client& client, nlohmann::json csr, Plan plan,
                          const Replan& replan, const std::function<x509::Time()>& now,
                          int attempts = 5);

}  // namespace certguard::csr
