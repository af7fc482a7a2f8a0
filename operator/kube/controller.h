// Runs a reconciler: N workers take keys from a WorkQueue and call
// Reconcile(key). Level-triggered: a key means "look at this object again".
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "kube/queue.h"

namespace certguard::kube {

struct ReconcileResult {
  enum class Kind { kDone, kRetry, kRequeueAfter, kTerminal };
  Kind kind = Kind::kDone;
  Status error;                   // kRetry, kTerminal
  Duration requeue_after{0};      // kRequeueAfter

  static ReconcileResult Done() { return {}; }
  // Failed, worth retrying with the key's backoff.
  static ReconcileResult Retry(Status error) { return {Kind::kRetry, std::move(error), {}}; }
  // Succeeded; look again after `delay` (time passes without an event).
  static ReconcileResult RequeueAfter(Duration delay) {
    return {Kind::kRequeueAfter, Status::Ok(), delay};
  }
  // Failed, retrying will not help: logged, backoff reset, not requeued.
  static ReconcileResult Terminal(Status error) {
    return {Kind::kTerminal, std::move(error), {}};
  }
};

// Must be safe to call from several workers at once for different keys; the
// queue never runs one key twice at the same time.
class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual ReconcileResult Reconcile(const std::string& key) = 0;
};

struct ControllerStats {
  uint64_t reconciles = 0;
  uint64_t retries = 0;
  uint64_t terminal_errors = 0;
  uint64_t requeues_after = 0;
};

// Thread-safe. Start() once; Stop() (or the destructor) shuts the queue down,
// lets workers finish the key in hand and joins them.
class Controller {
 public:
  Controller(std::string name, Reconciler& reconciler, WorkQueue& queue, int workers = 1);
  ~Controller();

  void Start();
  void Stop();
  const std::string& name() const { return name_; }
  ControllerStats Stats() const;

 private:
  void Worker();
  void Handle(const std::string& key);

  std::string name_;
  Reconciler& reconciler_;
  WorkQueue& queue_;
  int workers_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> reconciles_{0}, retries_{0}, terminal_{0}, requeues_{0};
  std::atomic<bool> started_{false};
};

}  // namespace certguard::kube
