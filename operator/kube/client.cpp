#include "kube/client.h"

#include <thread>

#include "common/json_parse.h"
#include "kube/errors.h"

namespace certguard::kube {
namespace {

class Query {
 public:
  Query& Add(const char* key, const std::string& value) {
    if (value.empty()) return *this;
    q_ += q_.empty() ? '?' : '&';
    q_ += key;
    q_ += '=';
    q_ += UrlEncode(value);
    return *this;
  }
  const std::string& str() const { return q_; }

 private:
  std::string q_;
};

void AddWriteOptions(Query& q, const WriteOptions& o, PatchType* patch) {
  q.Add("fieldManager", o.field_manager);
  if (o.dry_run) q.Add("dryRun", "All");
  if (patch && *patch == PatchType::kApply && o.force) q.Add("force", "true");
}

const char* ContentType(PatchType t) {
  switch (t) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
    case PatchType::kStrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::kApply: return "application/apply-patch+yaml";
  }
  return "application/json";
}

// Builds a List response from parser events, except that each element of the
// top-level "items" is built on its own and handed to `on_item` once complete,
// never appended: only the envelope (kind, metadata) is kept. Containers being
// built are held by pointer on a stack; a parent is not touched while a child
// is open, so the pointers stay valid. Inside an item, the value of a key on
// `drop` (a path of object keys from the item's root) is skipped, not built.
class ListSax {
 public:
  ListSax(Json& envelope, const Client::ItemFn& on_item, const std::vector<std::string>& drop)
      : root_(envelope), on_item_(on_item), drop_(drop) {}

  bool null() { return Put(Json(nullptr)); }
  bool boolean(bool v) { return Put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return Put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Put(Json(v)); }
  bool string(Json::string_t& v) { return Put(Json(std::move(v))); }
  bool binary(Json::binary_t&) { return false; }  // not in JSON text
  bool key(Json::string_t& k) {
    if (skipping_ > 0) return true;
    key_ = std::move(k);
    skip_next_ = Dropped();
    return true;
  }
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  const Status& status() const { return status_; }

 private:
  // Where the next value goes; nullptr when it is an item (handed over).
  Json* Slot(Json&& v, bool& item) {
    item = false;
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json* parent = stack_.back();
    if (parent == items_) {
      item = true;
      item_ = std::move(v);
      return &item_;
    }
    if (parent->is_object()) {
      Json& slot = (*parent)[key_];
      slot = std::move(v);
      return &slot;
    }
    parent->push_back(std::move(v));
    return &parent->back();
  }

  // Whether the value of key_ is on drop_: its container is the item or an
  // object reached from it through object keys only (paths_.back() is then
  // that container's path, "" for the item).
  bool Dropped() const {
    if (drop_.empty() || paths_.empty() || !paths_.back().first) return false;
    const std::string& at = paths_.back().second;
    for (const auto& d : drop_) {
      if (at.empty()
              ? d == key_
              : d.size() == at.size() + 1 + key_.size() && d.compare(0, at.size(), at) == 0 &&
                    d[at.size()] == '.' && d.compare(at.size() + 1, key_.size(), key_) == 0) {
        return true;
      }
    }
    return false;
  }

  // A skipped value: true when this event belongs to one.
  bool Skip() {
    if (skipping_ > 0) return true;
    if (!skip_next_) return false;
    skip_next_ = false;
    return true;
  }

  bool Put(Json&& v) {
    if (Skip()) return true;
    bool item = false;
    Slot(std::move(v), item);
    return item ? Hand() : true;
  }

  bool Open(Json&& v) {
    if (Skip()) {
      ++skipping_;
      return true;
    }
    const bool items_array = stack_.size() == 1 && v.is_array() && key_ == "items" &&
                             stack_.back() == &root_ && root_.is_object();
    const bool is_object = v.is_object();
    bool item = false;
    Json* parent = stack_.empty() ? nullptr : stack_.back();
    Json* slot = Slot(std::move(v), item);
    if (items_array && !item) items_ = slot;
    if (item) {
      paths_.emplace_back(is_object, std::string());
    } else if (!paths_.empty()) {
      // Within an item: a path only through objects.
      const auto& [valid, at] = paths_.back();
      const bool through_object = valid && is_object && parent && parent->is_object();
      paths_.emplace_back(through_object,
                          through_object ? (at.empty() ? key_ : at + "." + key_) : std::string());
    }
    stack_.push_back(slot);
    return true;
  }

  bool Close() {
    if (skipping_ > 0) {
      --skipping_;
      return true;
    }
    if (stack_.empty()) return false;
    Json* done = stack_.back();
    stack_.pop_back();
    if (!paths_.empty()) paths_.pop_back();
    return done == &item_ ? Hand() : true;
  }

  bool Hand() {
    status_ = on_item_(std::move(item_));
    item_ = Json();
    return status_.ok();
  }

  Json& root_;
  const Client::ItemFn& on_item_;
  const std::vector<std::string>& drop_;
  std::vector<Json*> stack_;
  // Per container open inside the current item: whether it is reached through
  // object keys only, and its dotted path.
  std::vector<std::pair<bool, std::string>> paths_;
  Json* items_ = nullptr;
  Json item_;
  std::string key_;
  bool skip_next_ = false;
  int skipping_ = 0;  // nesting depth inside a skipped value
  Status status_;
};

HttpRequest ListRequest(const Resource& r, const std::string& ns, const ListOptions& o) {
  Query q;
  q.Add("labelSelector", o.label_selector)
      .Add("fieldSelector", o.field_selector)
      .Add("limit", o.limit > 0 ? std::to_string(o.limit) : "")
      .Add("continue", o.continue_token)
      .Add("resourceVersion", o.resource_version);
  HttpRequest req;
  req.path = r.CollectionPath(ns) + q.str();
  if (o.metadata_only) req.headers.emplace_back("Accept", kAcceptMetadataList);
  return req;
}

}  // namespace

Result<Json> Client::ListEach(const Resource& r, const std::string& ns, const ListOptions& options,
                              const ItemFn& on_item) {
  auto page = List(r, ns, options);
  if (!page.ok()) return page;
  Json items = Json::array();
  if (auto it = page->find("items"); it != page->end() && it->is_array()) {
    items = std::move(*it);
    *it = Json::array();
  }
  for (auto& item : items) {
    DropFields(item, options.drop_fields);
    if (Status s = on_item(std::move(item)); !s.ok()) return s;
  }
  return page;
}

void DropFields(Json& object, const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    Json* at = &object;
    size_t start = 0;
    for (;;) {
      if (!at->is_object()) break;
      size_t dot = path.find('.', start);
      std::string key =
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) {
        at->erase(key);
        break;
      }
      auto it = at->find(key);
      if (it == at->end()) break;
      at = &*it;
      start = dot + 1;
    }
  }
}

RestClient::RestClient(std::shared_ptr<HttpTransport> transport, RestOptions options)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      limiter_(options_.qps, options_.burst, TokenBucket::Clock::now()) {
  if (!options_.sleep) options_.sleep = [](Duration d) { std::this_thread::sleep_for(d); };
}

void RestClient::WaitForToken() {
  Duration wait;
  {
    std::lock_guard<std::mutex> lock(limiter_mu_);
    wait = limiter_.Reserve(TokenBucket::Clock::now());
  }
  if (wait > Duration(0)) options_.sleep(wait);
}

Result<HttpResponse> RestClient::Call(HttpRequest request) {
  if (request.timeout.count() <= 0) request.timeout = options_.timeout;
  request.headers.emplace_back("User-Agent", options_.user_agent);
  if (HeaderValue(request.headers, "Accept").empty()) {
    request.headers.emplace_back("Accept", "application/json");
  }
  for (int attempt = 0;; ++attempt) {
    WaitForToken();
    auto resp = transport_->Do(request);
    if (!resp.ok()) return resp;
    if (resp->status != 429 || attempt >= options_.max_429_retries) return resp;
    Status s = StatusFromHttp(resp->status, resp->headers, resp->body);
    Duration wait;
    if (auto ra = s.retry_after_seconds()) {
      if (*ra > options_.max_retry_after.count()) return resp;
      wait = std::chrono::seconds(std::max(0, *ra));
    } else {
      wait = options_.retry_429_backoff.Delay(static_cast<uint64_t>(attempt), RandomUnit());
    }
    options_.sleep(wait);
  }
}

Result<Json> RestClient::CallJson(HttpRequest request) {
  std::string what = request.method + " " + request.path.substr(0, request.path.find('?'));
  auto resp = Call(std::move(request));
  if (!resp.ok()) return resp.status().Annotate(what);
  Status s = StatusFromHttp(resp->status, resp->headers, resp->body);
  if (!s.ok()) return s;
  if (resp->body.empty()) return Json::object();
  auto j = common::ParseJson(resp->body);
  if (!j.ok()) {
    if (common::IsTooDeep(j.status())) return Internal(what + ": response " + j.status().message());
    return Internal(what + ": response is not JSON");
  }
  return std::move(*j);
}

Result<Json> RestClient::Get(const Resource& r, const std::string& ns, const std::string& name,
                             const std::string& subresource) {
  if (name.empty()) return InvalidArgument("Get: empty name");
  HttpRequest req;
  req.path = r.ObjectPath(ns, name, subresource);
  return CallJson(std::move(req));
}

Result<Json> RestClient::List(const Resource& r, const std::string& ns, const ListOptions& o) {
  return CallJson(ListRequest(r, ns, o));
}

Result<Json> RestClient::ListEach(const Resource& r, const std::string& ns, const ListOptions& o,
                                  const ItemFn& on_item) {
  std::string what = "GET " + r.CollectionPath(ns);
  auto resp = Call(ListRequest(r, ns, o));
  if (!resp.ok()) return resp.status().Annotate(what);
  Status s = StatusFromHttp(resp->status, resp->headers, resp->body);
  if (!s.ok()) return s;
  // Checked before anything is built, as common::ParseJson does.
  if (common::JsonDepth(resp->body, common::kMaxJsonDepth) > common::kMaxJsonDepth) {
    return Internal(what + ": response nests deeper than " +
                    std::to_string(common::kMaxJsonDepth) + " levels");
  }
  Json envelope;
  ListSax sax(envelope, on_item, o.drop_fields);
  bool parsed = false;
  try {
    parsed = Json::sax_parse(resp->body.begin(), resp->body.end(), &sax);
  } catch (const std::exception&) {
    parsed = false;
  }
  if (!sax.status().ok()) return sax.status();
  if (!parsed || !envelope.is_object()) return Internal(what + ": response is not JSON");
  return envelope;
}

Result<Json> RestClient::Create(const Resource& r, const std::string& ns, const Json& object,
                                const WriteOptions& o) {
  Query q;
  AddWriteOptions(q, o, nullptr);
  HttpRequest req;
  req.method = "POST";
  req.path = r.CollectionPath(ns) + q.str();
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = object.dump();
  return CallJson(std::move(req));
}

Result<HttpRequest> RestClient::UpdateRequest(const Resource& r, const std::string& ns,
                                              const Json& object, const std::string& subresource,
                                              const WriteOptions& o) {
  std::string name;
  if (auto m = object.find("metadata"); m != object.end() && m->is_object()) {
    name = m->value("name", "");
  }
  if (name.empty()) return InvalidArgument("Update: object has no metadata.name");
  Query q;
  AddWriteOptions(q, o, nullptr);
  HttpRequest req;
  req.method = "PUT";
  req.path = r.ObjectPath(ns, name, subresource) + q.str();
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = object.dump();
  return req;
}

Result<Json> RestClient::Update(const Resource& r, const std::string& ns, const Json& object,
                                const std::string& subresource, const WriteOptions& o) {
  auto req = UpdateRequest(r, ns, object, subresource, o);
  if (!req.ok()) return req.status();
  return CallJson(std::move(*req));
}

Status RestClient::UpdateWithoutResult(const Resource& r, const std::string& ns,
                                       const Json& object, const std::string& subresource,
                                       const WriteOptions& o) {
  auto req = UpdateRequest(r, ns, object, subresource, o);
  if (!req.ok()) return req.status();
  std::string what = "PUT " + req->path.substr(0, req->path.find('?'));
  auto resp = Call(std::move(*req));
  if (!resp.ok()) return resp.status().Annotate(what);
  return StatusFromHttp(resp->status, resp->headers, resp->body);
}

Result<Json> RestClient::Patch(const Resource& r, const std::string& ns, const std::string& name,
                               PatchType type, const std::string& body, const WriteOptions& o,
                               const std::string& subresource) {
  if (name.empty()) return InvalidArgument("Patch: empty name");
  if (type == PatchType::kApply && o.field_manager.empty()) {
    return InvalidArgument("server-side apply needs a field manager");
  }
  Query q;
  AddWriteOptions(q, o, &type);
  HttpRequest req;
  req.method = "PATCH";
  req.path = r.ObjectPath(ns, name, subresource) + q.str();
  req.headers.emplace_back("Content-Type", ContentType(type));
  req.body = body;
  return CallJson(std::move(req));
}

Status RestClient::Delete(const Resource& r, const std::string& ns, const std::string& name,
                          const DeleteOptions& o) {
  if (name.empty()) return InvalidArgument("Delete: empty name");
  HttpRequest req;
  req.method = "DELETE";
  req.path = r.ObjectPath(ns, name);
  Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!o.precondition_resource_version.empty()) {
    body["preconditions"] = {{"resourceVersion", o.precondition_resource_version}};
  }
  if (!o.propagation_policy.empty()) body["propagationPolicy"] = o.propagation_policy;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = body.dump();
  auto r2 = CallJson(std::move(req));
  return r2.status();
}

Status RestClient::Watch(const Resource& r, const std::string& ns, const WatchOptions& o,
                         const WatchEventFn& on_event, CancelToken& cancel) {
  Query q;
  q.Add("watch", "1")
      .Add("resourceVersion", o.resource_version)
      .Add("labelSelector", o.label_selector)
      .Add("fieldSelector", o.field_selector)
      .Add("allowWatchBookmarks", o.allow_bookmarks ? "true" : "")
      .Add("timeoutSeconds", o.timeout_seconds > 0 ? std::to_string(o.timeout_seconds) : "");
  HttpRequest req;
  req.path = r.CollectionPath(ns) + q.str();
  req.headers.emplace_back("User-Agent", options_.user_agent);
  req.headers.emplace_back("Accept", o.metadata_only ? kAcceptMetadata : "application/json");
  // The server ends the watch at timeoutSeconds; give it slack before the client gives up.
  req.timeout = std::chrono::seconds(o.timeout_seconds > 0 ? o.timeout_seconds + 30 : 3600);
  WaitForToken();

  WatchDecoder decoder;
  Status result;
  Status decode_error;
  auto resp = transport_->Stream(
      req,
      [&](std::string_view chunk) {
        Status s = decoder.Feed(chunk, [&](WatchEvent&& ev) {
          if (ev.type == EventType::kError) {
            result = StatusFromStatusObject(ev.object);
            if (result.ok()) result = Internal("watch ERROR event without an error");
            return false;
          }
          return on_event(std::move(ev));
        });
        if (!s.ok()) {
          decode_error = s;
          return false;
        }
        return !decoder.stopped();
      },
      cancel);
  if (!decode_error.ok()) return decode_error.Annotate("watch " + r.resource);
  if (!result.ok()) return result;
  if (!resp.ok()) return resp.status();
  return StatusFromHttp(resp->status, resp->headers, resp->body);
}

Result<std::shared_ptr<RestClient>> NewRestClient(const ClientConfig& config) {
  auto t = NewHttpsTransport(config);
  if (!t.ok()) return t.status();
  RestOptions o;
  o.qps = config.qps;
  o.burst = config.burst;
  o.timeout = config.request_timeout;
  return std::make_shared<RestClient>(std::move(t).value(), o);
}

Result<ListAllResult> ListPages(Client& client, const Resource& r, const std::string& ns,
                                ListOptions options, int64_t page_size,
                                const Client::ItemFn& on_item,
                                const std::function<void()>& on_page) {
  ListAllResult out;
  options.limit = page_size;
  for (;;) {
    auto page = client.ListEach(r, ns, options, on_item);
    if (!page.ok()) return page.status();
    out.pages++;
    if (on_page) on_page();
    std::string cont;
    if (auto m = page->find("metadata"); m != page->end() && m->is_object()) {
      if (out.pages == 1 || out.resource_version.empty()) {
        out.resource_version = m->value("resourceVersion", "");
      }
      cont = m->value("continue", "");
    }
    if (cont.empty()) return out;
    options.continue_token = cont;
    options.resource_version.clear();  // not allowed together with continue
  }
}

Result<ListAllResult> ListAll(Client& client, const Resource& r, const std::string& ns,
                              ListOptions options, int64_t page_size) {
  std::vector<Json> all;
  auto out = ListPages(client, r, ns, std::move(options), page_size, [&](Json&& item) {
    all.push_back(std::move(item));
    return Status::Ok();
  });
  if (out.ok()) out->items = std::move(all);
  return out;
}

Result<Json> Apply(Client& client, const Resource& r, const std::string& ns, const Json& object,
                   const std::string& field_manager, bool force) {
  std::string name;
  if (auto m = object.find("metadata"); m != object.end() && m->is_object()) {
    name = m->value("name", "");
  }
  if (name.empty()) return InvalidArgument("Apply: object has no metadata.name");
  WriteOptions o;
  o.field_manager = field_manager;
  o.force = force;
  return client.Patch(r, ns, name, PatchType::kApply, object.dump(), o);
}

Status RetryOnConflict(const std::function<Status()>& fn, int attempts, Backoff backoff) {
  Status s;
  for (int i = 0; i < attempts; ++i) {
    s = fn();
    if (s.code() != Code::kConflict) return s;
    if (i + 1 < attempts) std::this_thread::sleep_for(backoff.Delay(i, RandomUnit()));
  }
  return s;
}

}  // namespace certguard::kube
