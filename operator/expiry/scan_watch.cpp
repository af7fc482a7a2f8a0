#include "expiry/scan_watch.h"

#include <string>

namespace certguard::expiry {

namespace {

std::string Seconds(ScanWatch::Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

}  // namespace

void ScanWatch::Started(Clock::time_point now) {
  std::lock_guard lock(mu_);
  running_since_ = now;
}

void ScanWatch::Finished(Clock::time_point) {
  std::lock_guard lock(mu_);
  running_since_.reset();
  finished_once_ = true;
}

Status ScanWatch::Liveness(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (running_since_ && now - *running_since_ > budget_) {
    return Unavailable("a scan has run for " + Seconds(now - *running_since_) +
                       ", over its budget of " + Seconds(budget_) + " (--scan-timeout)");
  }
  return Status::Ok();
}

Status ScanWatch::Readiness() const {
  std::lock_guard lock(mu_);
  return finished_once_ ? Status::Ok() : Unavailable("first scan not done");
}

}  // namespace certguard::expiry
