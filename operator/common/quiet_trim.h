// Gives freed heap back to the system once a burst of watch events has gone
// quiet. A bundle written into thousands of namespaces brings as many watch
// events after its writes; each leaves parsed JSON freed between the cache
// entries it brought, pages glibc keeps until malloc_trim. Trimming at the end
// of the reconcile came too early: the events were still arriving.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace certguard::common {

// Counts work that churns the heap (watch events, listed items): the informers
// add to it, QuietTrimmer reads it. Process-wide, lock-free.
void NoteHeapChurn(uint64_t n = 1);
uint64_t HeapChurn();

// When to trim, pure: fed the churn counter and the time on each tick, it says
// yes once at least `burst` units came since the last trim and none for `quiet`.
class TrimAfterQuiet {
 public:
  using Clock = std::chrono::steady_clock;
  TrimAfterQuiet(uint64_t burst, Clock::duration quiet) : burst_(burst), quiet_(quiet) {}

  bool Tick(uint64_t churn, Clock::time_point now);

 private:
  uint64_t burst_;
  Clock::duration quiet_;
  uint64_t seen_ = 0;          // the counter at the last tick
  uint64_t at_last_trim_ = 0;  // the counter when it last said yes
  Clock::time_point changed_{};
  bool started_ = false;
};

// The thread that ticks a TrimAfterQuiet over HeapChurn() and calls `trim`
// (ReleaseFreeMemory by default) when it says yes.
class QuietTrimmer {
 public:
  struct Options {
    uint64_t burst = 200;
    std::chrono::milliseconds quiet{1000};
    std::chrono::milliseconds tick{250};
    std::function<void()> trim;  // empty: ReleaseFreeMemory
    std::function<uint64_t()> churn;  // empty: HeapChurn
  };
  explicit QuietTrimmer(Options options);
  ~QuietTrimmer();
  QuietTrimmer(const QuietTrimmer&) = delete;
  QuietTrimmer& operator=(const QuietTrimmer&) = delete;

  uint64_t trims() const { return trims_.load(); }

 private:
  void Run();

  Options options_;
  std::atomic<uint64_t> trims_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace certguard::common
