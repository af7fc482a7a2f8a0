// Kubernetes Events (core/v1) about certguard's decisions, aggregated so that a
// flapping object does not flood the API: a repeat of the same (object, type,
// reason, message) patches count and lastTimestamp of the existing Event
// instead of creating another; repeats still waiting to be written are merged
// into one write; and each object gets a token bucket of writes (beyond it,
// events are dropped and counted).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/time.h"
#include "kube/client.h"

namespace certguard::kube {

// The object an event is about.
struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;  // "" for cluster-scoped objects
  std::string name;
  std::string uid;
  std::string resource_version;
};
// From an object's apiVersion, kind and metadata.
ObjectReference ReferenceTo(const Json& object);

enum class EventSeverity { kNormal, kWarning };

// Thread-safe; never blocks on the API. Controllers take an EventRecorder& so
// tests can pass a recording fake.
class EventRecorder {
 public:
  virtual ~EventRecorder() = default;
  // `reason` is UpperCamelCase ("Approved", "DeniedNodeMismatch").
  virtual void Record(const ObjectReference& object, EventSeverity severity,
                      const std::string& reason, const std::string& message) = 0;
};

struct EventRecorderOptions {
  std::string component = "certguard";   // source.component / reportingController
  std::string host;                      // source.host / reportingInstance
  // Namespace for events about cluster-scoped objects.
  std::string cluster_scoped_namespace = "default";
  // Per-object token bucket (client-go: burst 25, one per 5 minutes).
  int burst_per_object = 25;
  double qps_per_object = 1.0 / 300.0;
  // A repeat later than this starts a new Event instead of patching.
  Duration aggregation_window = std::chrono::minutes(10);
  size_t max_pending = 1000;  // dropped beyond this (never block a controller)
  // Where timestamps, the aggregation window and the token buckets read the time.
  const common::Clock* clock = nullptr;  // default: common::SystemClock(); must outlive it
};

// Writes core/v1 Events through a Client on its own thread. Thread-safe.
class ApiEventRecorder : public EventRecorder {
 public:
  ApiEventRecorder(Client& client, EventRecorderOptions options);
  ~ApiEventRecorder() override;  // flushes what is pending, then stops

  void Record(const ObjectReference& object, EventSeverity severity, const std::string& reason,
              const std::string& message) override;

  // Blocks until everything recorded so far was written (tests, shutdown).
  void Flush();
  struct Stats {
    uint64_t created = 0, patched = 0, dropped_rate_limited = 0, dropped_overflow = 0,
             errors = 0;
  };
  Stats stats() const;

 private:
  struct Pending {
    ObjectReference object;
    EventSeverity severity;
    std::string reason, message;
    std::string agg_key;
    int repeats = 1;  // merged while waiting
  };
  struct Seen {
    std::string event_name, event_ns;
    int count = 0;
    common::MicroTime first, last;
  };
  void Loop();
  void Write(const Pending& p);

  Client& client_;
  EventRecorderOptions options_;
  const common::Clock& clock_;
  int64_t last_name_stamp_ = 0;  // Write's thread only: keeps Event names unique
  mutable std::mutex mu_;
  std::condition_variable cv_, flushed_cv_;
  std::deque<Pending> pending_;
  std::map<std::string, Pending*> pending_by_key_;
  bool writing_ = false;
  bool stopping_ = false;
  std::map<std::string, TokenBucket> buckets_;  // per object uid/key
  std::map<std::string, Seen> seen_;            // per aggregation key
  Stats stats_;
  std::thread thread_;
};

}  // namespace certguard::kube
