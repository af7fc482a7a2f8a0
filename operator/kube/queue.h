// The work queue under every controller (client-go's workqueue): keys, not
// events. Thread-safe: any thread may add; workers Get/Done.
//
// - Deduplicating: a key waiting in the queue is there once.
// - A key is never handed to two workers at once: a key added while it is being
//   processed is queued again when Done(key) is called, so it runs once more.
// - Per-key exponential backoff (AddRateLimited / Forget / NumRequeues).
// - Delayed adds (AddAfter), served by one timer thread. Their times are read
//   from the injected common::Clock (the timer really waits, then re-reads it):
//   a test moves a FakeClock and calls ReleaseDue().
// - ShutDown(): Get returns false once the queue is empty; keys still queued
//   are handed out first (drain); new adds are ignored.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/time.h"
#include "kube/backoff.h"

namespace certguard::kube {

// Per-key failure counting: delay = backoff.Delay(failures so far). Thread-safe.
class ItemBackoff {
 public:
  explicit ItemBackoff(Backoff backoff) : backoff_(backoff) {}
  // Records one more failure of `key`, returns the delay to wait.
  Duration When(const std::string& key);
  void Forget(const std::string& key);
  uint64_t NumRequeues(const std::string& key) const;

 private:
  Backoff backoff_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint64_t> failures_;
};

struct QueueOptions {
  // Per-key backoff: 5 ms doubling to 1000 s, like client-go's default.
  Backoff backoff{std::chrono::milliseconds(5), std::chrono::seconds(1000), 2.0, 0.0};
  // Where delayed adds read the time (its steady clock).
  const common::Clock* clock = nullptr;  // default: common::SystemClock(); must outlive it
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkQueue(QueueOptions options = {});
  ~WorkQueue();  // shuts down and joins the timer thread
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Add(const std::string& key);
  // Adds after `delay` (at once when <= 0). An earlier pending time for the
  // same key wins.
  void AddAfter(const std::string& key, Duration delay);
  // AddAfter(key, next backoff delay of key).
  void AddRateLimited(const std::string& key);
  // Moves the delayed keys that are due by the clock into the queue. The timer
  // thread does this as real time passes; a test that moves a fake clock calls it.
  void ReleaseDue();
  // Resets the key's backoff (after a success).
  void Forget(const std::string& key);
  uint64_t NumRequeues(const std::string& key) const;

  // Blocks until a key is ready or the queue is shut down and drained. Returns
  // false when the worker should exit. The caller must call Done(key).
  bool Get(std::string* key);
  // Like Get with a limit; false on timeout too (`*key` empty then).
  bool GetFor(std::string* key, Duration timeout);
  void Done(const std::string& key);

  // Stops accepting adds (delayed adds are dropped); Get drains what is queued.
  void ShutDown();
  // ShutDown, then waits until no key is being processed.
  void ShutDownWithDrain();
  bool ShuttingDown() const;

  size_t Len() const;           // keys ready to be handed out
  size_t WaitingLen() const;    // delayed adds pending

 private:
  void AddLocked(const std::string& key);
  void ReleaseDueLocked();
  void TimerLoop();

  ItemBackoff backoff_;
  const common::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;        // workers: a key is ready or shutdown
  std::condition_variable timer_cv_;  // timer: new earliest delay or shutdown
  std::condition_variable drain_cv_;  // ShutDownWithDrain: processing emptied
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::multimap<Clock::time_point, std::string> waiting_;
  std::unordered_map<std::string, Clock::time_point> waiting_at_;
  bool shutting_down_ = false;
  std::thread timer_;
};

}  // namespace certguard::kube
