// The node agent's periodic scan as its probes see it: ready once a scan has
// finished, alive unless a scan has run past its budget. A read blocked in the
// kernel (a hung network or FUSE mount) cannot be interrupted; failing
// /healthz lets the kubelet's liveness probe restart the pod. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "common/status.h"

namespace certguard::expiry {

class ScanWatch {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ScanWatch(Clock::duration budget) : budget_(budget) {}

  void Started(Clock::time_point now);
  void Finished(Clock::time_point now);

  // Unavailable "a scan has run for 3m0s, over its budget of 2m0s" while the
  // running scan is past its budget; OK otherwise.
  Status Liveness(Clock::time_point now) const;
  // Unavailable until the first scan has finished.
  Status Readiness() const;

 private:
  const Clock::duration budget_;
  mutable std::mutex mu_;
  std::optional<Clock::time_point> running_since_;
  bool finished_once_ = false;
};

}  // namespace certguard::expiry
