#include "kube/queue.h"

namespace certguard::kube {

Duration ItemBackoff::When(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = failures_[key]++;
  return backoff_.Delay(n);
}

void ItemBackoff::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

uint64_t ItemBackoff::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

WorkQueue::WorkQueue(QueueOptions options)
    : backoff_(options.backoff), clock_(options.clock ? *options.clock : common::SystemClock()) {
  timer_ = std::thread([this] { TimerLoop(); });
}

WorkQueue::~WorkQueue() {
  ShutDown();
  if (timer_.joinable()) timer_.join();
}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return;
  if (!dirty_.insert(key).second) return;  // already waiting to be handed out
  if (processing_.count(key)) return;      // Done() requeues it
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  if (delay <= Duration(0)) {
    AddLocked(key);
    return;
  }
  auto at = clock_.Steady() + delay;
  auto it = waiting_at_.find(key);
  if (it != waiting_at_.end()) {
    if (it->second <= at) return;  // the earlier time wins
    auto range = waiting_.equal_range(it->second);
    for (auto w = range.first; w != range.second; ++w) {
      if (w->second == key) {
        waiting_.erase(w);
        break;
      }
    }
  }
  waiting_at_[key] = at;
  bool earliest = waiting_.empty() || at < waiting_.begin()->first;
  waiting_.emplace(at, key);
  if (earliest) timer_cv_.notify_one();
}

void WorkQueue::AddRateLimited(const std::string& key) { AddAfter(key, backoff_.When(key)); }

void WorkQueue::Forget(const std::string& key) { backoff_.Forget(key); }

void WorkQueue::ReleaseDue() {
  std::lock_guard<std::mutex> lock(mu_);
  ReleaseDueLocked();
}

void WorkQueue::ReleaseDueLocked() {
  auto now = clock_.Steady();
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    std::string key = std::move(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
    waiting_at_.erase(key);
    AddLocked(key);
  }
}

uint64_t WorkQueue::NumRequeues(const std::string& key) const {
  return backoff_.NumRequeues(key);
}

bool WorkQueue::Get(std::string* key) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !queue_.empty() || shutting_down_; });
  if (queue_.empty()) return false;  // shut down and drained
  *key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(*key);
  dirty_.erase(*key);
  return true;
}

bool WorkQueue::GetFor(std::string* key, Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  key->clear();
  if (!cv_.wait_for(lock, timeout, [this] { return !queue_.empty() || shutting_down_; })) {
    return false;
  }
  if (queue_.empty()) return false;
  *key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(*key);
  dirty_.erase(*key);
  return true;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  // Added again while it was processed: run it once more. During shutdown
  // the re-add is still honoured so that drain sees the latest state.
  if (dirty_.count(key)) {
    queue_.push_back(key);
    cv_.notify_one();
  }
  if (processing_.empty()) drain_cv_.notify_all();
}

void WorkQueue::ShutDown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  waiting_.clear();
  waiting_at_.clear();
  cv_.notify_all();
  timer_cv_.notify_all();
}

void WorkQueue::ShutDownWithDrain() {
  ShutDown();
  std::unique_lock<std::mutex> lock(mu_);
  drain_cv_.wait(lock, [this] { return processing_.empty() && queue_.empty(); });
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t WorkQueue::WaitingLen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

void WorkQueue::TimerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    if (waiting_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    // The time left by the clock, waited for real; the clock is read again after.
    auto left = waiting_.begin()->first - clock_.Steady();
    if (left > Clock::duration::zero()) {
      timer_cv_.wait_for(lock, left);
      continue;
    }
    ReleaseDueLocked();
  }
}

}  // namespace certguard::kube
