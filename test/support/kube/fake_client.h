// An in-memory Kubernetes API for unit tests of anything that takes a
// kube::Client: objects get resourceVersions and uids, stale updates get
// kConflict, watches replay history and stream new changes, and a test can
// inject errors, compact history (watches from older versions get 410) or drop
// every open watch (like an API server restart). Thread-safe.
//
// Simplifications: label selectors support only `k=v`, `k!=v`, `k` and `!k`
// terms; field selectors only metadata.name, metadata.namespace and type; merge, strategic and
// apply patches are all JSON merge patches; an update of a subresource
// replaces only `status`.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kube/client.h"

namespace certguard::kube::testing {

class FakeClient : public Client {
 public:
  Result<Json> Get(const Resource& r, const std::string& ns, const std::string& name,
                   const std::string& subresource = {}) override;
  Result<Json> List(const Resource& r, const std::string& ns, const ListOptions& options) override;
  Result<Json> Create(const Resource& r, const std::string& ns, const Json& object,
                      const WriteOptions& options = {}) override;
  Result<Json> Update(const Resource& r, const std::string& ns, const Json& object,
                      const std::string& subresource = {},
                      const WriteOptions& options = {}) override;
  Result<Json> Patch(const Resource& r, const std::string& ns, const std::string& name,
                     PatchType type, const std::string& body, const WriteOptions& options = {},
                     const std::string& subresource = {}) override;
  Status Delete(const Resource& r, const std::string& ns, const std::string& name,
                const DeleteOptions& options = {}) override;
  Status Watch(const Resource& r, const std::string& ns, const WatchOptions& options,
               const WatchEventFn& on_event, CancelToken& cancel) override;

  // The next `times` calls of `verb` ("get", "list", "create", "update", "patch",
  // "delete", "watch") fail with `status`.
  void InjectError(const std::string& verb, Status status, int times = 1);
  // While missing, every call on resource `r` fails with kNotFound, as a
  // custom resource does while its CRD is not installed.
  void SetMissing(const Resource& r, bool missing);
  // Forgets the history: watches from a version older than now get 410.
  void Compact();
  // Ends every open watch with kUnavailable, as a restarting server would.
  void DropWatches();
  // Every call so far, as "VERB RESOURCE KEY[/SUBRESOURCE]", e.g. "update leases ns/l".
  std::vector<std::string> Actions() const;
  void ClearActions();
  // Every object sent to Update, in order, failed calls included.
  std::vector<Json> Updates() const;
  size_t OpenWatches() const;
  // Objects of a resource, any namespace, by key.
  std::map<std::string, Json> Objects(const Resource& r) const;

 private:
  struct Stored {
    Json object;
  };
  struct Event {
    std::string rkey;  // resource key
    EventType type;
    Json object;
    uint64_t rv;
  };
  struct Watcher {
    std::string rkey, ns;
    WatchOptions options;
    std::deque<Event> pending;
    bool dropped = false;
  };

  Status Intercept(const std::string& verb, const Resource& r, const std::string& key);
  Json Stamp(Json object);
  void Emit(const std::string& rkey, EventType type, const Json& object);
  static bool Matches(const Json& object, const std::string& ns, const std::string& labels,
                      const std::string& fields);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t rv_ = 100;
  uint64_t compacted_rv_ = 0;
  uint64_t uid_ = 0;
  std::map<std::string, std::map<std::string, Json>> objects_;  // rkey -> key -> object
  std::vector<Event> history_;
  std::vector<Watcher*> watchers_;
  std::map<std::string, std::deque<Status>> errors_;
  std::set<std::string> missing_;  // resource keys
  std::vector<std::string> actions_;
  std::vector<Json> updates_;
};

}  // namespace certguard::kube::testing
