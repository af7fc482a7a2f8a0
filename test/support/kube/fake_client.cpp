#include "support/kube/fake_client.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace certguard::kube::testing {
namespace {

std::string RKey(const Resource& r) { return r.group + "/" + r.resource; }

std::string NsFor(const Resource& r, const std::string& ns) { return r.namespaced ? ns : ""; }

std::string MetaStr(const Json& o, const char* f) {
  auto m = o.find("metadata");
  if (m == o.end() || !m->is_object()) return {};
  auto v = m->find(f);
  return v != m->end() && v->is_string() ? v->get<std::string>() : std::string();
}

Status NotFoundFor(const Resource& r, const std::string& name) {
  return Status(Code::kNotFound, r.resource + " \"" + name + "\" not found");
}

}  // namespace

bool FakeClient::Matches(const Json& o, const std::string& ns, const std::string& labels,
                         const std::string& fields) {
  if (!ns.empty() && MetaStr(o, "namespace") != ns) return false;
  auto terms = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string t; std::getline(ss, t, ',');) {
      if (!t.empty()) out.push_back(t);
    }
    return out;
  };
  auto has_label = [&o](const std::string& k) {
    auto m = o.find("metadata");
    return m != o.end() && m->contains("labels") && (*m)["labels"].is_object() &&
           (*m)["labels"].contains(k);
  };
  for (const auto& t : terms(labels)) {
    bool neg = t.find("!=") != std::string::npos;
    auto eq = t.find(neg ? "!=" : "=");
    if (eq == std::string::npos) {  // "key" (exists) or "!key"
      bool absent = !t.empty() && t[0] == '!';
      if (has_label(absent ? t.substr(1) : t) == absent) return false;
      continue;
    }
    std::string k = t.substr(0, eq), v = t.substr(eq + (neg ? 2 : 1));
    std::string have;
    bool present = false;
    if (auto m = o.find("metadata"); m != o.end() && m->contains("labels")) {
      auto& l = (*m)["labels"];
      if (l.is_object() && l.contains(k) && l[k].is_string()) {
        have = l[k].get<std::string>();
        present = true;
      }
    }
    if (neg ? (present && have == v) : (!present || have != v)) return false;
  }
  for (const auto& t : terms(fields)) {
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string k = t.substr(0, eq), v = t.substr(eq + 1);
    if (k == "metadata.name" && MetaStr(o, "name") != v) return false;
    if (k == "metadata.namespace" && MetaStr(o, "namespace") != v) return false;
    if (k == "type" && o.value("type", "") != v) return false;  // Secrets
  }
  return true;
}

Status FakeClient::Intercept(const std::string& verb, const Resource& r, const std::string& key) {
  actions_.push_back(verb + " " + r.resource + (key.empty() ? "" : " " + key));
  if (missing_.count(r.group + "/" + r.resource) != 0) {
    return NotFound("the server could not find the requested resource");
  }
  auto it = errors_.find(verb);
  if (it == errors_.end() || it->second.empty()) return Status::Ok();
  Status s = it->second.front();
  it->second.pop_front();
  return s;
}

Json FakeClient::Stamp(Json o) {
  o["metadata"]["resourceVersion"] = std::to_string(++rv_);
  o["metadata"].erase("managedFields");
  return o;
}

void FakeClient::Emit(const std::string& rkey, EventType type, const Json& object) {
  Event ev{rkey, type, object, rv_};
  history_.push_back(ev);
  for (Watcher* w : watchers_) {
    if (w->rkey == rkey) w->pending.push_back(ev);
  }
  cv_.notify_all();
}

Result<Json> FakeClient::Get(const Resource& r, const std::string& ns, const std::string& name,
                             const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = MakeKey(NsFor(r, ns), name);
  if (Status s = Intercept("get", r, key); !s.ok()) return s;
  auto& objs = objects_[RKey(r)];
  auto it = objs.find(key);
  if (it == objs.end()) return NotFoundFor(r, name);
  return it->second;
}

Result<Json> FakeClient::List(const Resource& r, const std::string& ns, const ListOptions& o) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Intercept("list", r, ns); !s.ok()) return s;
  Json items = Json::array();
  std::string next;
  auto& objs = objects_[RKey(r)];
  auto it = o.continue_token.empty() ? objs.begin() : objs.upper_bound(o.continue_token);
  for (; it != objs.end(); ++it) {
    if (!Matches(it->second, NsFor(r, ns), o.label_selector, o.field_selector)) continue;
    if (o.limit > 0 && static_cast<int64_t>(items.size()) == o.limit) {
      next = std::prev(it)->first;
      break;
    }
    items.push_back(it->second);
  }
  Json list = {{"kind", r.kind + "List"},
               {"apiVersion", r.ApiVersion()},
               {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
               {"items", items}};
  if (!next.empty()) list["metadata"]["continue"] = next;
  return list;
}

Result<Json> FakeClient::Create(const Resource& r, const std::string& ns, const Json& object,
                                const WriteOptions&) {
  std::lock_guard<std::mutex> lock(mu_);
  Json o = object;
  std::string name = MetaStr(o, "name");
  if (name.empty() && !MetaStr(o, "generateName").empty()) {
    name = MetaStr(o, "generateName") + std::to_string(uid_ + 1);
    o["metadata"]["name"] = name;
  }
  std::string key = MakeKey(NsFor(r, ns), name);
  if (Status s = Intercept("create", r, key); !s.ok()) return s;
  if (name.empty()) return InvalidArgument("name or generateName is required");
  auto& objs = objects_[RKey(r)];
  if (objs.count(key)) {
    return Status(Code::kAlreadyExists, r.resource + " \"" + name + "\" already exists");
  }
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  o["metadata"]["uid"] = "uid-" + std::to_string(++uid_);
  if (!o.contains("apiVersion")) o["apiVersion"] = r.ApiVersion();
  if (!o.contains("kind")) o["kind"] = r.kind;
  o = Stamp(std::move(o));
  objs[key] = o;
  Emit(RKey(r), EventType::kAdded, o);
  return o;
}

Result<Json> FakeClient::Update(const Resource& r, const std::string& ns, const Json& object,
                                const std::string& subresource, const WriteOptions&) {
  std::lock_guard<std::mutex> lock(mu_);
  updates_.push_back(object);
  std::string name = MetaStr(object, "name");
  std::string key = MakeKey(NsFor(r, ns), name);
  if (Status s = Intercept("update", r, key + (subresource.empty() ? "" : "/" + subresource));
      !s.ok()) {
    return s;
  }
  auto& objs = objects_[RKey(r)];
  auto it = objs.find(key);
  if (it == objs.end()) return NotFoundFor(r, name);
  std::string want = MetaStr(object, "resourceVersion");
  if (!want.empty() && want != MetaStr(it->second, "resourceVersion")) {
    return Status(Code::kConflict, "Operation cannot be fulfilled on " + r.resource + " \"" +
                                       name + "\": the object has been modified");
  }
  Json o;
  if (subresource.empty()) {
    o = object;
    o["metadata"]["uid"] = it->second["metadata"]["uid"];
    if (r.namespaced) o["metadata"]["namespace"] = ns;
  } else {
    o = it->second;
    if (object.contains("status")) o["status"] = object["status"];
  }
  o = Stamp(std::move(o));
  it->second = o;
  Emit(RKey(r), EventType::kModified, o);
  return o;
}

Result<Json> FakeClient::Patch(const Resource& r, const std::string& ns, const std::string& name,
                               PatchType type, const std::string& body, const WriteOptions&,
                               const std::string& subresource) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = MakeKey(NsFor(r, ns), name);
  if (Status s = Intercept("patch", r, key + (subresource.empty() ? "" : "/" + subresource));
      !s.ok()) {
    return s;
  }
  Json patch = Json::parse(body, nullptr, false);
  if (patch.is_discarded()) return InvalidArgument("patch is not JSON");
  auto& objs = objects_[RKey(r)];
  auto it = objs.find(key);
  bool create = it == objs.end();
  if (create && type != PatchType::kApply) return NotFoundFor(r, name);
  Json o = create ? Json{{"apiVersion", r.ApiVersion()}, {"kind", r.kind},
                         {"metadata", {{"name", name}}}}
                  : it->second;
  try {
    if (type == PatchType::kJson) {
      o = o.patch(patch);
    } else {
      o.merge_patch(patch);
    }
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("patch: ") + e.what());
  }
  o["metadata"]["name"] = name;
  if (r.namespaced) o["metadata"]["namespace"] = ns;
  if (create) o["metadata"]["uid"] = "uid-" + std::to_string(++uid_);
  o = Stamp(std::move(o));
  objs[key] = o;
  Emit(RKey(r), create ? EventType::kAdded : EventType::kModified, o);
  return o;
}

Status FakeClient::Delete(const Resource& r, const std::string& ns, const std::string& name,
                          const DeleteOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = MakeKey(NsFor(r, ns), name);
  if (Status s = Intercept("delete", r, key); !s.ok()) return s;
  auto& objs = objects_[RKey(r)];
  auto it = objs.find(key);
  if (it == objs.end()) return NotFoundFor(r, name);
  if (!options.precondition_resource_version.empty() &&
      options.precondition_resource_version != MetaStr(it->second, "resourceVersion")) {
    return Status(Code::kConflict, "precondition failed: resourceVersion");
  }
  Json o = it->second;
  objs.erase(it);
  o = Stamp(std::move(o));
  Emit(RKey(r), EventType::kDeleted, o);
  return Status::Ok();
}

Status FakeClient::Watch(const Resource& r, const std::string& ns, const WatchOptions& options,
                         const WatchEventFn& on_event, CancelToken& cancel) {
  std::unique_lock<std::mutex> lock(mu_);
  if (Status s = Intercept("watch", r, ns + "@" + options.resource_version); !s.ok()) return s;
  Watcher w{RKey(r), NsFor(r, ns), options, {}, false};
  uint64_t from = rv_;
  if (!options.resource_version.empty()) {
    try {
      from = std::stoull(options.resource_version);
    } catch (const std::exception&) {
      return InvalidArgument("bad resourceVersion \"" + options.resource_version + "\"");
    }
    if (from < compacted_rv_) {
      return Status(Code::kGone, "too old resource version: " + options.resource_version + " (" +
                                     std::to_string(compacted_rv_) + ")");
    }
    for (const auto& ev : history_) {
      if (ev.rkey == w.rkey && ev.rv > from) w.pending.push_back(ev);
    }
  }
  watchers_.push_back(&w);
  cv_.notify_all();
  lock.unlock();
  cancel.SetCallback([this] {
    std::lock_guard<std::mutex> l(mu_);
    cv_.notify_all();
  });
  lock.lock();
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(options.timeout_seconds > 0 ? options.timeout_seconds
                                                                   : 3600);
  Status result;
  bool stop = false;
  while (!stop) {
    cv_.wait_until(lock, deadline,
                   [&] { return !w.pending.empty() || w.dropped || cancel.cancelled(); });
    if (cancel.cancelled()) {
      result = Unavailable("cancelled");
      break;
    }
    if (w.dropped) {
      result = Unavailable("watch dropped: connection reset");
      break;
    }
    if (w.pending.empty()) break;  // timeoutSeconds: a clean end
    while (!w.pending.empty()) {
      Event ev = std::move(w.pending.front());
      w.pending.pop_front();
      if (!Matches(ev.object, w.ns, options.label_selector, options.field_selector)) continue;
      lock.unlock();
      bool more = on_event(WatchEvent{ev.type, ev.object});
      lock.lock();
      if (!more) {
        stop = true;
        break;
      }
    }
  }
  watchers_.erase(std::find(watchers_.begin(), watchers_.end(), &w));
  lock.unlock();
  cancel.ClearCallback();
  return result;
}

void FakeClient::InjectError(const std::string& verb, Status status, int times) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < times; ++i) errors_[verb].push_back(status);
}

void FakeClient::SetMissing(const Resource& r, bool missing) {
  std::lock_guard<std::mutex> lock(mu_);
  if (missing) {
    missing_.insert(r.group + "/" + r.resource);
  } else {
    missing_.erase(r.group + "/" + r.resource);
  }
}

void FakeClient::Compact() {
  std::lock_guard<std::mutex> lock(mu_);
  history_.clear();
  compacted_rv_ = rv_;
}

void FakeClient::DropWatches() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Watcher* w : watchers_) w->dropped = true;
  cv_.notify_all();
}

std::vector<std::string> FakeClient::Actions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return actions_;
}

void FakeClient::ClearActions() {
  std::lock_guard<std::mutex> lock(mu_);
  actions_.clear();
}

std::vector<Json> FakeClient::Updates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return updates_;
}

size_t FakeClient::OpenWatches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_.size();
}

std::map<std::string, Json> FakeClient::Objects(const Resource& r) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(RKey(r));
  return it == objects_.end() ? std::map<std::string, Json>{} : it->second;
}

}  // namespace certguard::kube::testing
