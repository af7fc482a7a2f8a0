// The reasons of the Events certguard records on CSRs (kubectl describe csr),
// shared by the controller and `approve-pending`.
#pragma once

namespace certguard::csr::event {

inline constexpr char kApproved[] = "Approved";              // Normal
inline constexpr char kDenied[] = "Denied";                  // Warning
inline constexpr char kIgnored[] = "Ignored";                // Normal: left for a person
inline constexpr char kDryRun[] = "DryRun";                  // Normal: what a dry-run policy would do
inline constexpr char kWaitingForNode[] = "WaitingForNode";  // Normal
inline constexpr char kApprovalPaused[] = "ApprovalPaused";  // Warning: flood guard

}  // namespace certguard::csr::event
