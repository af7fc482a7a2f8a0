#include "kube/informer.h"

#include <algorithm>

#include "common/log.h"
#include "common/quiet_trim.h"

namespace certguard::kube {

Store::Entry Store::Pack(ObjectPtr object) const {
  Entry e;
  if (object && as_text_ && as_text_(*object)) {
    try {
      e.text = object->dump();
      e.text.shrink_to_fit();
      return e;
    } catch (const std::exception&) {  // not valid UTF-8: kept as it is
      e.text.clear();
    }
  }
  e.object = std::move(object);
  return e;
}

ObjectPtr Store::Unpack(const Entry& entry) {
  if (entry.object || entry.text.empty()) return entry.object;
  // Text this store wrote from a valid object: it parses back to that object.
  return std::make_shared<const Json>(Json::parse(entry.text));
}

ObjectPtr Store::Get(const std::string& key) const {
  Entry e;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return nullptr;
    e = it->second;
  }
  return Unpack(e);  // parsed outside the lock
}

std::vector<Store::Entry> Store::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> entries;
  entries.reserve(objects_.size());
  for (const auto& [k, v] : objects_) entries.push_back(v);
  return entries;
}

std::vector<ObjectPtr> Store::List() const {
  std::vector<Entry> entries = Snapshot();
  std::vector<ObjectPtr> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(Unpack(e));
  return out;
}

void Store::ForEach(const std::function<void(const Json&)>& fn) const {
  // The entries copied under the lock (text is a few hundred bytes where a tree
  // is several times that), parsed and visited outside it, one at a time.
  std::vector<Entry> entries = Snapshot();
  for (Entry& e : entries) {
    if (e.object) {
      fn(*e.object);
    } else if (!e.text.empty()) {
      fn(Json::parse(e.text));
    }
    e = Entry();
  }
}

std::vector<std::string> Store::Keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [k, v] : objects_) out.push_back(k);
  return out;
}

uint32_t Store::NextGeneration() {
  std::lock_guard<std::mutex> lock(mu_);
  return ++generation_;
}

std::vector<std::string> Store::KeysNotOf(uint32_t generation) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [k, v] : objects_) {
    if (v.generation != generation) out.push_back(k);
  }
  return out;
}

size_t Store::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

ObjectPtr Store::Upsert(const std::string& key, ObjectPtr object) {
  Entry next = Pack(std::move(object));
  Entry prev;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = objects_[key];
    prev = std::move(slot);
    slot = std::move(next);
    slot.generation = generation_;
  }
  return Unpack(prev);
}

ObjectPtr Store::Remove(const std::string& key) {
  Entry prev;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return nullptr;
    prev = std::move(it->second);
    objects_.erase(it);
  }
  return Unpack(prev);
}

std::unordered_map<std::string, ObjectPtr> Store::Replace(
    std::unordered_map<std::string, ObjectPtr> objects) {
  std::unordered_map<std::string, Entry> next;
  next.reserve(objects.size());
  for (auto& [k, v] : objects) next.emplace(k, Pack(std::move(v)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [k, e] : next) e.generation = generation_;
    objects_.swap(next);
  }
  std::unordered_map<std::string, ObjectPtr> prev;
  prev.reserve(next.size());
  for (auto& [k, e] : next) prev.emplace(k, Unpack(e));
  return prev;
}

ChangeHandler EnqueueTo(WorkQueue& queue) {
  return [&queue](const Change& c) { queue.Add(c.key); };
}

namespace {
std::string Meta(const Json& object, const char* field) {
  auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) return {};
  auto f = m->find(field);
  if (f == m->end() || !f->is_string()) return {};
  return f->get<std::string>();
}
}  // namespace

std::string KeyOf(const Json& object) {
  return MakeKey(Meta(object, "namespace"), Meta(object, "name"));
}

void StripForCache(Json& object, bool keep_managed_fields) {
  auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) return;
  if (!keep_managed_fields) m->erase("managedFields");
  auto a = m->find("annotations");
  if (a != m->end() && a->is_object()) {
    a->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (a->empty()) m->erase("annotations");
  }
}

Informer::Informer(Client& client, Resource resource, InformerOptions options)
    : client_(client),
      resource_(std::move(resource)),
      options_(std::move(options)),
      store_(options_.cache_as_text) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandler(ChangeHandler handler) { handlers_.push_back(std::move(handler)); }

void Informer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
  if (options_.resync_period > Duration(0)) {
    resync_thread_ = std::thread([this] { ResyncLoop(); });
  }
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (cancel_) cancel_->Cancel();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  if (resync_thread_.joinable()) resync_thread_.join();
}

bool Informer::WaitForSync(Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return synced_.load() || stopping_.load(); });
  return synced_.load();
}

Status Informer::LastListError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_list_error_;
}

std::string Informer::LastResourceVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_rv_;
}

InformerStats Informer::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool Informer::SleepFor(Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_.load(); });
  return !stopping_;
}

void Informer::Notify(const Change& change) {
  for (const auto& h : handlers_) h(change);
}

void Informer::Run() {
  bool need_list = true;
  uint64_t failures = 0;
  uint64_t gone_in_a_row = 0;  // 410s with no event between them
  while (!stopping_) {
    if (need_list) {
      Status s = ListAndReplace();
      if (stopping_) break;
      if (!s.ok()) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          stats_.errors++;
          last_list_error_ = s;
        }
        const bool missing = s.code() == Code::kNotFound;
        Duration d = options_.retry_backoff.Delay(failures, RandomUnit());
        if (missing) d = std::min(d, options_.missing_retry_max);
        // A missing CRD is retried every few seconds, maybe for long: say so now and then.
        const bool quiet = missing && failures % 30 != 0;
        failures++;
        (quiet ? log::Debug : log::Warn)(
            "informer list failed",
            {{"resource", resource_.resource},
             {"error", s.ToString()},
             {"waiting_for", DescribeSyncWait(resource_, s)},
             {"retry_in_ms", std::to_string(d.count() / 1000000)}});
        if (!SleepFor(d)) break;
        continue;
      }
      need_list = false;
      failures = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_list_error_ = Status::Ok();
      }
      if (!synced_.exchange(true)) {
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_all();
      }
    }
    uint64_t events_before = Stats().events;
    Status s = WatchOnce();
    if (stopping_) break;
    if (s.ok()) {
      failures = 0;  // the server ended the watch: resume from the last version
      gone_in_a_row = 0;
      continue;
    }
    if (s.code() == Code::kGone) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.gone++;
        if (stats_.events != events_before) gone_in_a_row = 0;
      }
      need_list = true;
      last_rv_unavailable_ = true;
      log::Info("watch resourceVersion too old, listing again",
                {{"resource", resource_.resource}, {"error", s.message()}});
      // A 410 straight after a fresh list means the server cannot serve what it
      // just listed: relisting at once would hammer it in a loop.
      if (gone_in_a_row++ > 0 &&
          !SleepFor(options_.retry_backoff.Delay(gone_in_a_row - 2, RandomUnit()))) {
        break;
      }
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.errors++;
    }
    Duration d = options_.retry_backoff.Delay(failures++, RandomUnit());
    log::Warn("watch failed, reconnecting",
              {{"resource", resource_.resource}, {"error", s.ToString()},
               {"retry_in_ms", std::to_string(d.count() / 1000000)}});
    if (!SleepFor(d)) break;
  }
}

Status Informer::ListAndReplace() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.metadata_only = options_.metadata_only;
  lo.drop_fields = PrunedPaths();
  if (!protobuf_failed_) lo.protobuf_item = options_.list_protobuf;
  // From the API server's watch cache, as client-go's reflector lists: any
  // version for the first list ("0"), after that none older than the last
  // seen. The server sends it whole, without paging through etcd; the watch
  // from its resourceVersion brings what it missed. A list that fails so is
  // tried next as a consistent (paged) one.
  bool from_cache =
      options_.list_from_watch_cache && !list_from_cache_failed_ && !last_rv_unavailable_;
  if (from_cache) {
    std::lock_guard<std::mutex> lock(mu_);
    lo.resource_version = last_rv_.empty() ? "0" : last_rv_;
  }
  // Each item goes into the cache (transformed) and to the handlers as it is
  // parsed, so memory peaks at one whole object plus the cache (and what of
  // the response's text has arrived but is not parsed yet), not at a page or
  // the whole list. The cache is updated in
  // place: an object is never older than what a handler was told; what the list
  // no longer holds is removed once the last page is in.
  const uint32_t generation = store_.NextGeneration();
  size_t listed = 0;
  const auto started = std::chrono::steady_clock::now();
  auto list = ListPages(client_, resource_, options_.ns, lo, options_.page_size, [&](Json&& item) {
    if (stopping_) return Unavailable("stopping");
    ApplyListed(std::move(item));
    ++listed;
    return Status::Ok();
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.lists++;
  }
  list_from_cache_failed_ = from_cache && !list.ok();
  if (!list.ok() && lo.protobuf_item && list.status().code() == Code::kInternal) {
    // Not the server's answer nor a handler's: the body could not be read.
    protobuf_failed_ = true;
    log::Warn("a protobuf list could not be read; listing as JSON from now on",
              {{"resource", resource_.resource}, {"error", list.status().ToString()}});
  }
  if (!list.ok()) return list.status();
  last_rv_unavailable_ = false;
  // Start-up in a big cluster is mostly these lists: say what each cost.
  log::Info("informer listed",
            {{"resource", resource_.resource},
             {"items", std::to_string(listed)},
             {"pages", std::to_string(list->pages)},
             {"protobuf", lo.protobuf_item ? "asked" : "no"},
             {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count())}});
  {
    std::lock_guard<std::mutex> nl(notify_mu_);
    for (const auto& key : store_.KeysNotOf(generation)) {
      ObjectPtr prev = store_.Remove(key);
      if (prev) Notify({Change::Kind::kDelete, key, prev, prev});
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_rv_ = list->resource_version;
  return Status::Ok();
}

std::vector<std::string> Informer::PrunedPaths() const {
  std::vector<std::string> out = options_.drop_fields;
  if (!options_.keep_managed_fields) out.push_back("metadata.managedFields");
  return out;
}

void Informer::ApplyListed(Json&& item) {
  common::NoteHeapChurn();
  StripForCache(item, options_.keep_managed_fields);
  // List items carry no apiVersion/kind; events and owner references need them.
  if (!item.contains("apiVersion")) item["apiVersion"] = resource_.ApiVersion();
  if (!item.contains("kind")) item["kind"] = resource_.kind;
  std::string key = KeyOf(item);
  auto obj = std::make_shared<const Json>(std::move(item));
  ObjectPtr cached =
      options_.cache_transform ? std::make_shared<const Json>(options_.cache_transform(*obj)) : obj;
  std::lock_guard<std::mutex> nl(notify_mu_);
  ObjectPtr prev = store_.Upsert(key, std::move(cached));
  if (!prev) {
    Notify({Change::Kind::kAdd, key, obj, nullptr});
  } else if (Meta(*prev, "resourceVersion") != Meta(*obj, "resourceVersion")) {
    Notify({Change::Kind::kUpdate, key, obj, prev});
  }
}

Status Informer::WatchOnce() {
  CancelToken cancel;
  WatchOptions wo;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("stopping");
    cancel_ = &cancel;
    wo.resource_version = last_rv_;
    stats_.watches++;
  }
  wo.label_selector = options_.label_selector;
  wo.field_selector = options_.field_selector;
  wo.metadata_only = options_.metadata_only;
  wo.allow_bookmarks = options_.allow_bookmarks;
  wo.drop_fields = PrunedPaths();
  int t = options_.watch_timeout_seconds > 0 ? options_.watch_timeout_seconds : 300;
  wo.timeout_seconds = t + static_cast<int>(RandomUnit() * t);
  Status s = client_.Watch(
      resource_, options_.ns, wo,
      [this](WatchEvent&& ev) {
        Apply(std::move(ev));
        return !stopping_.load();
      },
      cancel);
  std::lock_guard<std::mutex> lock(mu_);
  cancel_ = nullptr;
  return s;
}

void Informer::Apply(WatchEvent&& ev) {
  std::string rv = Meta(ev.object, "resourceVersion");
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.events++;
    if (!rv.empty()) last_rv_ = rv;
  }
  common::NoteHeapChurn();
  if (ev.type == EventType::kBookmark) return;
  kube::DropFields(ev.object, options_.drop_fields);
  StripForCache(ev.object, options_.keep_managed_fields);
  if (!ev.object.contains("apiVersion")) ev.object["apiVersion"] = resource_.ApiVersion();
  if (!ev.object.contains("kind")) ev.object["kind"] = resource_.kind;
  std::string key = KeyOf(ev.object);
  auto obj = std::make_shared<const Json>(std::move(ev.object));
  ObjectPtr cached = obj;
  if (options_.cache_transform && ev.type != EventType::kDeleted) {
    cached = std::make_shared<const Json>(options_.cache_transform(*obj));
  }
  std::lock_guard<std::mutex> nl(notify_mu_);
  if (ev.type == EventType::kDeleted) {
    ObjectPtr prev = store_.Remove(key);
    Notify({Change::Kind::kDelete, key, obj, prev ? prev : obj});
    return;
  }
  ObjectPtr prev = store_.Upsert(key, cached);
  if (prev) {
    Notify({Change::Kind::kUpdate, key, obj, prev});
  } else {
    Notify({Change::Kind::kAdd, key, obj, nullptr});
  }
}

void Informer::Resync() {
  if (!synced_) return;
  std::lock_guard<std::mutex> nl(notify_mu_);
  for (const auto& key : store_.Keys()) {
    ObjectPtr obj = store_.Get(key);
    if (obj) Notify({Change::Kind::kUpdate, key, obj, obj});
  }
}

void Informer::ResyncLoop() {
  while (SleepFor(options_.resync_period)) Resync();
}

std::string DescribeSyncWait(const Resource& resource, const Status& last_list_error) {
  if (last_list_error.code() == Code::kNotFound && !resource.group.empty()) {
    return "waiting for CRD " + resource.resource + "." + resource.group;
  }
  std::string out = "cache of " + resource.resource + " not synced";
  if (!last_list_error.ok()) out += ": " + last_list_error.ToString();
  return out;
}

std::string WaitingFor(std::initializer_list<const Informer*> informers) {
  for (const Informer* i : informers) {
    if (!i->HasSynced()) return DescribeSyncWait(i->resource(), i->LastListError());
  }
  return "";
}

bool WaitForCacheSync(std::initializer_list<Informer*> informers,
                      const std::function<bool()>& stopping, const std::string& who) {
  int waits = 0;
  for (Informer* i : informers) {
    while (!i->WaitForSync(std::chrono::seconds(1))) {
      if (stopping()) return false;
      if (++waits % 30 == 0) {
        log::Warn(who + ": still waiting for its caches",
                  {{"waiting_for", DescribeSyncWait(i->resource(), i->LastListError())}});
      }
    }
  }
  return !stopping();
}

}  // namespace certguard::kube
