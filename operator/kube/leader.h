// Leader election on a coordination.k8s.io/v1 Lease, like client-go's
// leaderelection. The decision is a pure function of (lease, now, identity);
// LeaderElector is the I/O loop around it.
//
// Safety: a leader that cannot renew within renew_deadline stops acting
// (on_stopped_leading) while its lease is still valid, i.e. before any other
// replica may take it (renew_deadline < lease_duration).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"
#include "common/time.h"
#include "kube/client.h"

namespace certguard::kube {

struct LeaderElectionConfig {
  std::string lease_name = "certguard-leader";
  std::string lease_namespace = "certguard-system";
  std::string identity;  // unique per replica (pod name + random suffix)
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);
  Duration retry_period = std::chrono::seconds(2);
  bool release_on_cancel = true;
  // Where the lease times written and compared, and the renew deadline, read
  // the time. The waits between attempts stay real.
  const common::Clock* clock = nullptr;  // default: common::SystemClock(); must outlive it
};

// InvalidArgument unless lease_duration > renew_deadline > retry_period > 0
// and identity, name and namespace are set.
Status Validate(const LeaderElectionConfig& config);

// The parts of a Lease that matter.
struct LeaseRecord {
  std::string holder;  // "" = free (released)
  int lease_duration_seconds = 0;
  std::optional<WallClock::time_point> acquire_time;
  std::optional<WallClock::time_point> renew_time;
  int transitions = 0;
  std::string resource_version;
};

// Lease JSON <-> record. MicroTime is RFC 3339 with microseconds.
LeaseRecord LeaseFromJson(const Json& lease);
Json LeaseSpecJson(const LeaseRecord& record);
std::string FormatMicroTime(WallClock::time_point t);
std::optional<WallClock::time_point> ParseMicroTime(const std::string& s);

struct LeaderDecision {
  enum class Action {
    kCreate,   // no lease yet: create one naming us
    kAcquire,  // lease free or expired: take it over (transitions + 1)
    kRenew,    // we hold it: bump renewTime
    kWait,     // someone else holds a valid lease
  };
  Action action = Action::kWait;
  LeaseRecord desired;  // what to write for kCreate/kAcquire/kRenew
};

// Pure. `lease` absent: no Lease object exists. A lease held by another is
// expired when T + its lease_duration_seconds <= now, where T is
// `observed_at` (when this replica first saw the current holder and
// renewTime) if given, like client-go, so that clock skew between replicas
// does not matter; otherwise T is the lease's renew_time (missing: expired).
LeaderDecision DecideLeadership(const std::optional<LeaseRecord>& lease,
                                WallClock::time_point now, const LeaderElectionConfig& config,
                                std::optional<WallClock::time_point> observed_at = std::nullopt);

// Thread-safe. Run() blocks (or Start() runs it on a thread) until Stop().
class LeaderElector {
 public:
  // Callbacks run on the elector's threads and must return promptly (start or
  // stop controllers, do not run them). Each may be empty.
  struct Callbacks {
    std::function<void()> on_started_leading;
    // Once per leadership: on Stop(), on losing the lease, or when no renewal
    // succeeded within renew_deadline (even while a call to the server hangs).
    std::function<void()> on_stopped_leading;
    std::function<void(const std::string& holder)> on_new_leader;
  };

  LeaderElector(Client& client, LeaderElectionConfig config, Callbacks callbacks);
  ~LeaderElector();

  void Start();
  // Stops trying; a leader stops leading and, with release_on_cancel, clears
  // the holder so another replica can take over at once. Idempotent.
  void Stop();
  // True while we hold the lease and the last renewal is within renew_deadline.
  bool IsLeader() const;
  std::string CurrentHolder() const;

 private:
  using Steady = std::chrono::steady_clock;
  void Run();
  void Watchdog();
  // One acquire-or-renew attempt against the server; true when we hold the lease.
  bool TryAcquireOrRenew();
  void Release();
  void StopLeading(const char* why);  // under no lock
  bool SleepFor(Duration d);

  WallClock::time_point WallNow() const;

  Client& client_;
  LeaderElectionConfig config_;
  const common::Clock& clock_;
  Callbacks callbacks_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string holder_;
  std::optional<LeaseRecord> last_;
  std::string observed_holder_, observed_renew_;
  WallClock::time_point observed_at_{};
  Steady::time_point last_renew_{};
  std::thread thread_, watchdog_;
};

}  // namespace certguard::kube
