#include "common/quiet_trim.h"

#include <utility>

#include "common/memory.h"

namespace certguard::common {

namespace {
std::atomic<uint64_t> g_churn{0};
}  // namespace

void NoteHeapChurn(uint64_t n) { g_churn.fetch_add(n, std::memory_order_relaxed); }

uint64_t HeapChurn() { return g_churn.load(std::memory_order_relaxed); }

bool TrimAfterQuiet::Tick(uint64_t churn, Clock::time_point now) {
  if (!started_) {
    // What came before the first tick counts as a burst too (start-up lists).
    started_ = true;
    seen_ = churn;
    changed_ = now;
    return false;
  }
  if (churn != seen_) {
    seen_ = churn;
    changed_ = now;
    return false;
  }
  if (churn - at_last_trim_ < burst_ || now - changed_ < quiet_) return false;
  at_last_trim_ = churn;
  return true;
}

QuietTrimmer::QuietTrimmer(Options options) : options_(std::move(options)) {
  if (!options_.trim) options_.trim = ReleaseFreeMemory;
  if (!options_.churn) options_.churn = HeapChurn;
  thread_ = std::thread([this] { Run(); });
}

QuietTrimmer::~QuietTrimmer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void QuietTrimmer::Run() {
  TrimAfterQuiet policy(options_.burst, options_.quiet);
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, options_.tick, [this] { return stopping_; })) {
    if (policy.Tick(options_.churn(), TrimAfterQuiet::Clock::now())) {
      options_.trim();
      trims_++;
    }
  }
}

}  // namespace certguard::common
