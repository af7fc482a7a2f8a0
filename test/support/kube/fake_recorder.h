// An EventRecorder that keeps what it is told, for controller tests. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "kube/events.h"

namespace certguard::kube::testing {

class FakeRecorder : public EventRecorder {
 public:
  struct Entry {
    ObjectReference object;
    EventSeverity severity;
    std::string reason, message;
  };
  void Record(const ObjectReference& object, EventSeverity severity, const std::string& reason,
              const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back({object, severity, reason, message});
  }
  std::vector<Entry> entries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entries_;
  }
  // Reasons in order, e.g. {"Approved", "Denied"}.
  std::vector<std::string> reasons() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.reason);
    return out;
  }
  // Whether an event of this reason was recorded.
  bool Has(const std::string& reason) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : entries_) {
      if (e.reason == reason) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

}  // namespace certguard::kube::testing
