// `certguard run`: config -> client -> endpoints -> leader election ->
// controllers, and a clean shutdown on SIGTERM/SIGINT.
//
// Controllers are Runnables made by factories (app/controllers.cpp lists them
// by name). They are built at startup and started only once this replica
// holds the leader lease (at once with --leader-elect=false); they are stopped
// in reverse order on shutdown or when leadership is lost (app/group.h). Their
// Start never blocks, so the lease is renewed while they wait for their caches
// (a CRD applied after certguard), and /readyz says what they wait for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "app/group.h"
#include "app/options.h"
#include "common/status.h"
#include "kube/client.h"
#include "kube/events.h"
#include "metrics/endpoints.h"

namespace certguard::app {

// What a factory may use; all of it outlives the runnables.
struct ManagerContext {
  const RunOptions& options;
  kube::Client& client;
  kube::EventRecorder& events;
  // Events about routine success (approvals): a client and budget of their own,
  // at low rate, dropped when they pile up, so they never delay a write.
  kube::EventRecorder& routine_events;
  prometheus::Registry& registry;
  metrics::Endpoints& endpoints;  // for collectors computed at scrape time
};

using RunnableFactory = std::function<Result<std::unique_ptr<Runnable>>(ManagerContext&)>;

struct ControllerEntry {
  std::string name;         // as in --controllers
  RunnableFactory factory;  // null: not part of this build (skipped with a warning)
};

// The controllers of this build, in kControllerNames order.
std::vector<ControllerEntry> BuiltinControllers();

// Ends Run: set by the signal thread, or by a test. A waiter that has returned may destroy it
// while the notifying thread is still in Notify.
class StopSignal {
 public:
  void Notify(int exit_code = 0);
  // Blocks until Notify; returns the exit code given.
  int Wait();
  // Waits at most `d`; true when notified.
  bool WaitFor(std::chrono::milliseconds d);
  bool notified() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
  int code_ = 0;
};

// Runs until `stop` is notified (or leadership is lost: exit code 1).
// Returns the process exit code: 0 on a clean stop, 1 on a runtime failure
// (leadership lost, a port that cannot be bound, a bad kubeconfig).
int Run(const RunOptions& options, StopSignal& stop);

// Blocks SIGTERM and SIGINT in every thread created afterwards and starts a
// thread that turns them into stop.Notify(0). Call once, before other threads.
void NotifyOnSignals(StopSignal& stop);

}  // namespace certguard::app
