// Deciding a backlog of CSRs in one pass, as `certguard approve-pending` does:
// the controller's plans (csr/plan.h), its pending-flood guard over the same
// counts (csr/pending.h) and its writes (csr/write.h).
//
// A pass writes the decisions that need no approval first (denials), taking
// each out of the counts, and only then the approvals, each planned again
// against the counts as they are by then: a backlog over a cap only because
// of requests that get denied is not held. Thread-compatible.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "csr/plan.h"
#include "kube/client.h"
#include "kube/events.h"

namespace certguard::csr {

struct BacklogOptions {
  PlanOptions plan;      // node wait and flood limits, as `certguard run` has them
  bool dry_run = false;  // write nothing and record no Event; say what would be done
  // Which Nodes list an address (PlanContext); empty: none is taken to be another's.
  AddressOwners address_owners;
};

// One pending kubelet CSR looked at.
struct BacklogRow {
  std::string name;
  std::string uid;
  std::string signer_name;
  std::string requester;
  // Approved, Denied, Ignored, WaitingForNode, Held, DryRunPolicy:<verdict>,
  // Deleted, Error; with dry_run WouldApprove and WouldDeny instead of
  // Approved and Denied.
  std::string decision;
  // The decision's reason codes, comma-separated; for Held the cap that holds
  // it ("MaxPendingPerNode: node:w1 has 12 pending, cap 10").
  std::string reason;
  Plan::Action action = Plan::Action::kSkip;
};

struct BacklogResult {
  std::vector<BacklogRow> rows;     // one per pending kubelet CSR, in the order of `csrs`
  std::vector<std::string> errors;  // failed writes
  int held = 0;                     // approvals the flood guard held
};

// Decides every pending kubelet CSR of `csrs` (the other objects are passed
// over). Of duplicates among them (csr/supersede.h) only the newest is decided,
// as the controller does; the superseded ones are not counted by the flood guard. Written decisions get an Approved or Denied Event, held approvals an
// ApprovalPaused Event, unless dry_run.
BacklogResult DecideBacklog(kube::Client& client, kube::EventRecorder& events,
                            const std::vector<nlohmann::json>& csrs, const NodeLookup& nodes,
                            const std::vector<Policy>& policies, const BacklogOptions& options,
                            const std::function<x509::Time()>& now);

}  // namespace certguard::csr
