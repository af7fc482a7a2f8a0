// The start-up contract every controller of `certguard run` follows, and the
// group that starts them only while this replica leads.
//
// Start never blocks: a controller starts its watches and waits for its caches
// on a thread of its own. Leader election calls StartAll on its renew thread,
// which must return promptly to keep the lease; a controller that waited there
// for a missing CRD would lose the lease it waits with.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "kube/leader.h"

namespace certguard::app {

// A piece of the operator that runs while this replica leads.
class Runnable {
 public:
  virtual ~Runnable() = default;
  // Starts watching and returns at once; the work starts once the caches sync.
  virtual void Start() = 0;
  // Blocks until stopped; idempotent; fine before Start.
  virtual void Stop() = 0;
  // Caches synced and workers running.
  virtual bool Synced() const = 0;
  // What it waits for while not Synced, for /readyz and logs
  // ("waiting for CRD trustbundles.certguard.io").
  virtual std::string WaitingFor() const = 0;
};

// Runnables started and stopped together, each at most once. Thread-safe.
class RunnableGroup {
 public:
  void Add(std::string name, std::unique_ptr<Runnable> r);
  // Starts every runnable in order; a no-op once started or stopped.
  void StartAll();
  // Stops the started runnables in reverse order; later StartAll calls do nothing.
  void StopAll();
  bool started() const;
  // Readiness: OK when not started (a standby replica) or when every runnable
  // is Synced; else Unavailable naming what each waits for,
  // "trust: waiting for CRD trustbundles.certguard.io; csr: ...".
  Status Ready() const;

 private:
  mutable std::mutex mu_;
  bool started_ = false, stopped_ = false;
  std::vector<std::pair<std::string, std::unique_ptr<Runnable>>> items_;
};

// The leader elector's callbacks that run `group` only while this replica
// leads: StartAll once the lease is won; on losing it (or on Stop), the group
// must stop before another replica acts, so `on_lost` is called (Run stops the
// group and exits 1) unless `shutting_down` returns true. `on_leading(bool)`
// follows leadership (the leader metric). Each may be empty.
kube::LeaderElector::Callbacks RunWhileLeading(RunnableGroup& group,
                                               std::function<void(bool)> on_leading,
                                               std::function<bool()> shutting_down,
                                               std::function<void()> on_lost);

}  // namespace certguard::app
