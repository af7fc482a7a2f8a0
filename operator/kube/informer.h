// Informer: lists, then watches one resource into a read-only cache keyed by
// "namespace/name" (or "name"), and tells handlers what changed. Handlers
// should only enqueue keys (see EnqueueTo): they run on the watch thread.
//
// Thread-safety: the cache (Get/List/HasSynced) is safe from any thread.
// AddHandler before Start. One thread per informer runs list+watch; periodic
// resync runs on a second one, so a handler may be called from either (never
// both at once).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kube/backoff.h"
#include "kube/client.h"
#include "kube/queue.h"
#include "kube/resource.h"

namespace certguard::kube {

using ObjectPtr = std::shared_ptr<const Json>;

// Which cached objects a Store keeps as JSON text (InformerOptions::cache_as_text).
using KeepAsText = std::function<bool(const Json&)>;

// The informer's cache. Thread-safe; objects are immutable once stored.
class Store {
 public:
  // Objects for which `as_text` returns true are kept as their JSON text, not
  // as a tree (a map node per key): Get, List and the writers' returns parse
  // them again, into an object equal to the one stored.
  explicit Store(KeepAsText as_text = nullptr) : as_text_(std::move(as_text)) {}

  ObjectPtr Get(const std::string& key) const;  // nullptr when absent
  std::vector<ObjectPtr> List() const;
  // Each object in turn, parsed one at a time where kept as text (List parses
  // them all at once: thousands of trees for a moment in a big cluster). Sees
  // the store as it was when called.
  void ForEach(const std::function<void(const Json&)>& fn) const;
  std::vector<std::string> Keys() const;
  size_t Size() const;

  // Writers (the informer); return the previous object, if any.
  ObjectPtr Upsert(const std::string& key, ObjectPtr object);
  ObjectPtr Remove(const std::string& key);
  // Replaces everything (after a list).
  std::unordered_map<std::string, ObjectPtr> Replace(
      std::unordered_map<std::string, ObjectPtr> objects);

  // Generations tell what a list did not bring: the informer starts one before
  // it lists, every write stamps the current one, and afterwards the keys of
  // another generation were not listed. (A set of the listed keys would be a
  // copy of every key, freed after the list in holes between the cached
  // objects: in a big cluster, megabytes resident for nothing.)
  uint32_t NextGeneration();
  std::vector<std::string> KeysNotOf(uint32_t generation) const;

 private:
  // One of the two is set: the object, or its JSON text.
  struct Entry {
    ObjectPtr object;
    std::string text;
    uint32_t generation = 0;
  };
  Entry Pack(ObjectPtr object) const;
  std::vector<Entry> Snapshot() const;  // every entry, copied under the lock
  static ObjectPtr Unpack(const Entry& entry);

  KeepAsText as_text_;
  mutable std::mutex mu_;
  uint32_t generation_ = 0;
  std::unordered_map<std::string, Entry> objects_;
};

// What changed. `old_object` is set for kUpdate and kDelete, `object` for
// kAdd, kUpdate and kDelete (the last known state). Resync delivers kUpdate with
// old_object == object.
struct Change {
  enum class Kind { kAdd, kUpdate, kDelete };
  Kind kind;
  std::string key;
  ObjectPtr object;
  ObjectPtr old_object;
};
using ChangeHandler = std::function<void(const Change&)>;

// A handler that adds the changed object's key to `queue`.
ChangeHandler EnqueueTo(WorkQueue& queue);

// The cache key of an object: MakeKey(metadata.namespace, metadata.name).
std::string KeyOf(const Json& object);

// Removes metadata.managedFields (unless kept) and the last-applied annotation
// so the cache holds only what controllers read.
void StripForCache(Json& object, bool keep_managed_fields = false);

struct InformerOptions {
  std::string ns;                 // "" = all namespaces (or cluster-scoped)
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  Duration resync_period = std::chrono::minutes(10);  // 0 = never
  int watch_timeout_seconds = 300;  // randomised in [t, 2t) per watch like client-go
  bool allow_bookmarks = true;      // bookmarks keep the resume point fresh
  Backoff retry_backoff{std::chrono::milliseconds(800), std::chrono::seconds(30), 2.0, 1.0};
  // The cap on retries while the list gets NotFound: the resource's CRD is not
  // installed yet. Low, so that the cache fills within seconds of the CRD
  // appearing (a 404 costs the server little).
  Duration missing_retry_max = std::chrono::seconds(2);
  // What the cache keeps of each object (after StripForCache), to keep less:
  // handlers still get the object as received in Change::object of an add or
  // update; old_object, deletes after a relist and resyncs carry the cached
  // copy. The result must keep metadata.name, namespace and resourceVersion.
  // Applied as each list page and watch event arrives, so whole objects are
  // held one page at a time (page_size bounds the peak), never a whole list.
  std::function<Json(const Json&)> cache_transform;
  // Which cached objects (after cache_transform) the store keeps as their JSON
  // text: a few hundred bytes for a trimmed object instead of a tree of maps,
  // for a cache of thousands read one object at a time. Each read parses.
  KeepAsText cache_as_text;
  // List and watch PartialObjectMetadata: objects without data, spec or status
  // (kind PartialObjectMetadata), so a large object is never received whole.
  bool metadata_only = false;
  // Leave metadata.managedFields in the object for cache_transform (which should
  // shrink it) and the handlers: who writes an object decides who owns it.
  bool keep_managed_fields = false;
  // Fields dropped from every object before anything sees it (ListOptions::
  // drop_fields, WatchOptions::drop_fields: lists and watch events never build
  // them), for what neither the cache nor the handlers read. metadata.managedFields is dropped so too unless kept.
  std::vector<std::string> drop_fields;
  // List from the API server's watch cache (resourceVersion "0", then the last
  // seen), as client-go does: one response instead of a page per page_size
  // objects read from etcd. Its items are still handled one at a time.
  bool list_from_watch_cache = false;
  // Lists as protobuf, each item decoded by this (ListOptions::protobuf_item).
  // A list whose protobuf cannot be read is tried again as JSON, and every
  // list after it is JSON: a decoder that fails once would fail again.
  Result<Json> (*list_protobuf)(std::string_view item) = nullptr;
};

struct InformerStats {
  uint64_t lists = 0;
  uint64_t watches = 0;
  uint64_t gone = 0;         // 410s seen (led to a relist)
  uint64_t errors = 0;       // failed lists or watches (led to a backoff)
  uint64_t events = 0;
};

class Informer {
 public:
  Informer(Client& client, Resource resource, InformerOptions options = {});
  ~Informer();  // Stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void AddHandler(ChangeHandler handler);
  void Start();
  // Cancels the watch and joins the thread. Idempotent.
  void Stop();

  // True once the first list is in the cache (readiness). A list fills the
  // cache page by page; a relist updates it in place and removes what it no
  // longer holds once its last page is in.
  bool HasSynced() const { return synced_.load(); }
  // Waits for HasSynced; false on timeout or Stop.
  bool WaitForSync(Duration timeout);

  const Store& store() const { return store_; }
  const Resource& resource() const { return resource_; }
  // Why the cache has not synced yet: the error of the last failed list, OK
  // when none failed or once a list succeeded.
  Status LastListError() const;
  // Last resourceVersion seen (list, event or bookmark).
  std::string LastResourceVersion() const;
  InformerStats Stats() const;

 private:
  void Run();
  void ResyncLoop();
  Status ListAndReplace();
  std::vector<std::string> PrunedPaths() const;
  void ApplyListed(Json&& item);
  Status WatchOnce();
  void Apply(WatchEvent&& event);
  void Resync();
  void Notify(const Change& change);  // under notify_mu_
  bool SleepFor(Duration d);  // false when stopping

  Client& client_;
  Resource resource_;
  InformerOptions options_;
  Store store_;
  std::vector<ChangeHandler> handlers_;
  std::mutex notify_mu_;  // serialises handler calls from the two threads
  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string last_rv_;
  // The informer thread only. The next list is consistent (resourceVersion ""):
  // after a list from the cache failed, or after a 410. A server restarted from
  // etcd answers a list at the last seen version with that old version again,
  // and a watch from it with 410 again, for ever (client-go relists so too).
  bool list_from_cache_failed_ = false;
  bool last_rv_unavailable_ = false;
  bool protobuf_failed_ = false;  // lists are JSON from now on
  Status last_list_error_;
  InformerStats stats_;
  CancelToken* cancel_ = nullptr;  // current watch, under mu_
  std::thread thread_;
  std::thread resync_thread_;
};

// Pure. What a cache of `resource` that has not synced waits for, for
// readiness and logs: "waiting for CRD PLURAL.GROUP" when its list got
// NotFound (a resource of an API group that is not served: its CRD is missing),
// else "cache of PLURAL not synced" plus the last list error, if any.
std::string DescribeSyncWait(const Resource& resource, const Status& last_list_error);

// What the first of `informers` that has not synced waits for
// (DescribeSyncWait); "" when every one has synced.
std::string WaitingFor(std::initializer_list<const Informer*> informers);

// Blocks until every informer has synced (true) or `stopping` returns true
// (false), checking `stopping` every second. Logs what it still waits for every
// 30 s, as `who`. For a controller's own start-up thread: never call it from
// Start().
bool WaitForCacheSync(std::initializer_list<Informer*> informers,
                      const std::function<bool()>& stopping, const std::string& who);

}  // namespace certguard::kube
