// What the CSR controller tells about each outcome of a reconcile: the Event
// on the CSR (approvals' to a recorder of their own), the decision metrics with
// the creation-to-decision latency, the counts for the policy's status, and a
// log line. An outcome that writes nothing (ignored, held, waiting) is told
// once per CSR until it changes, so that re-reconciling it repeats nothing.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "csr/metrics.h"
#include "csr/plan.h"
#include "csr/policy_status.h"
#include "kube/events.h"

namespace certguard::csr {

// The Event of an outcome: severity, reason and message. kSkip has none
// (reason null).
struct OutcomeEvent {
  kube::EventSeverity severity = kube::EventSeverity::kNormal;
  const char* reason = nullptr;
  std::string message;
};
OutcomeEvent EventFor(const Plan& plan);

class DecisionRecord {
 public:
  // Whether a CSRApprovalPolicy of that name exists (counts go only to those).
  using PolicyExists = std::function<bool(const std::string& name)>;

  // `approval_events` and `metrics` may be null (nowhere). `clock` null: the
  // system clock, read to the microsecond for the latency. All must outlive it.
  DecisionRecord(kube::EventRecorder& events, kube::EventRecorder* approval_events,
                 CsrMetrics* metrics, const common::Clock* clock, PolicyExists policy_exists);

  // Tells the outcome of `plan`, made from `csr`, at `now`; `written`: its
  // decision was written to the CSR. Returns the policy whose counts grew, for
  // a status write, or "" when none did.
  std::string Record(const nlohmann::json& csr, const Plan& plan, bool written, common::Time now);

  // The CSR of this uid is gone: forget what was told about it.
  void Forget(const std::string& uid);

  // The counts of `policy` not yet in its status, taken out (empty when none).
  DecisionTally TakeTally(const std::string& policy);
  // Gives counts taken out back (their write failed), merged with newer ones.
  void PutBack(const std::string& policy, const DecisionTally& tally);
  // The policies with counts not yet in their status.
  std::vector<std::string> TalliedPolicies() const;

 private:
  // Whether this outcome of a CSR is new (or written, which is always told).
  bool FirstTime(const std::string& uid, const std::string& signature, bool written);
  bool Count(const nlohmann::json& csr, const Plan& plan, const std::vector<std::string>& codes,
             common::Time now);
  void TellEvent(const nlohmann::json& csr, const Plan& plan, const OutcomeEvent& event);
  void Measure(const nlohmann::json& csr, const Plan& plan, const std::vector<std::string>& codes,
               bool written, common::Time now);
  double LatencySeconds(const nlohmann::json& csr, common::Time now) const;

  kube::EventRecorder& events_;
  kube::EventRecorder* approval_events_;
  CsrMetrics* metrics_;
  const common::Clock* clock_;
  PolicyExists policy_exists_;

  mutable std::mutex mu_;
  // Per CSR uid: the last non-writing outcome told, as a signature.
  std::map<std::string, std::string> told_;
  // Decisions not yet in each policy's status.
  std::map<std::string, DecisionTally> tallies_;
};

}  // namespace certguard::csr
