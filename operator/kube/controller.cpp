#include "kube/controller.h"

#include "common/log.h"

namespace certguard::kube {

Controller::Controller(std::string name, Reconciler& reconciler, WorkQueue& queue, int workers)
    : name_(std::move(name)), reconciler_(reconciler), queue_(queue),
      workers_(workers < 1 ? 1 : workers) {}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  if (started_.exchange(true)) return;
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Worker(); });
}

void Controller::Stop() {
  queue_.ShutDown();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

ControllerStats Controller::Stats() const {
  return {reconciles_.load(), retries_.load(), terminal_.load(), requeues_.load()};
}

void Controller::Worker() {
  std::string key;
  while (queue_.Get(&key)) {
    Handle(key);
    queue_.Done(key);
  }
}

void Controller::Handle(const std::string& key) {
  ReconcileResult r;
  try {
    r = reconciler_.Reconcile(key);
  } catch (const std::exception& e) {
    // A reconciler should not throw; treat it as a retryable failure.
    r = ReconcileResult::Retry(Internal(std::string("reconciler threw: ") + e.what()));
  }
  reconciles_++;
  switch (r.kind) {
    case ReconcileResult::Kind::kDone:
      queue_.Forget(key);
      break;
    case ReconcileResult::Kind::kRequeueAfter:
      requeues_++;
      queue_.Forget(key);
      queue_.AddAfter(key, r.requeue_after);
      break;
    case ReconcileResult::Kind::kRetry: {
      retries_++;
      auto ra = r.error.retry_after_seconds();
      log::Warn("reconcile failed, will retry",
                {{"controller", name_}, {"key", key}, {"error", r.error.ToString()},
                 {"requeues", std::to_string(queue_.NumRequeues(key))}});
      if (ra && *ra > 0) {
        queue_.AddAfter(key, std::chrono::seconds(*ra));
      } else {
        queue_.AddRateLimited(key);
      }
      break;
    }
    case ReconcileResult::Kind::kTerminal:
      terminal_++;
      queue_.Forget(key);
      log::Error("reconcile failed, not retrying",
                 {{"controller", name_}, {"key", key}, {"error", r.error.ToString()}});
      break;
  }
}

}  // namespace certguard::kube
