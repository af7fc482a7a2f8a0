// The CSR approver's tunables as `run`, `approve-pending` and `csr explain`
// default them: one place, so the three commands cannot drift apart.
#pragma once

#include <chrono>

namespace certguard::csr {

// A serving CSR whose Node is missing is retried this long before it is refused.
inline constexpr std::chrono::minutes kDefaultNodeWaitTimeout{10};
// The pending-flood guard's caps (FloodLimits).
inline constexpr int kDefaultMaxPendingPerNode = 10;
inline constexpr int kDefaultMaxPending = 500;
// What becomes of a CSR a newer duplicate supersedes (ParseSupersededAction).
inline constexpr char kDefaultSuperseded[] = "deny";
// certguard_node_renewal_stuck's window: the shipped alerts' expiry warning
// threshold (EXPIRY_WARNING_DAYS in deploy/prometheus/thresholds.env).
inline constexpr std::chrono::hours kDefaultRenewalStuckWindow{24 * 28};

}  // namespace certguard::csr
