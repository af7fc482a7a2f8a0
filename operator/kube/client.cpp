#include "kube/client.h"

#include <thread>

#include "common/json_parse.h"
#include "kube/body_stream.h"
#include "kube/chunk_pipe.h"
#include "kube/errors.h"
#include "kube/json_sax.h"
#include "kube/protobuf.h"

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

namespace {

// Rate-limited through `wait_for_token`, with a 429 tried again after
// Retry-After (or a backoff) up to max_429_retries times.
Result<HttpResponse> Send(const RestOptions& options, HttpRequest request,
                          const std::function<void()>& wait_for_token,
                          const std::function<Result<HttpResponse>(const HttpRequest&)>& send) {
  if (request.timeout.count() <= 0) request.timeout = options.timeout;
  request.headers.emplace_back("User-Agent", options.user_agent);
  if (HeaderValue(request.headers, "Accept").empty()) {
    request.headers.emplace_back("Accept", "application/json");
  }
  for (int attempt = 0;; ++attempt) {
    wait_for_token();
    auto resp = send(request);
    if (!resp.ok()) return resp;
    if (resp->status != 429 || attempt >= options.max_429_retries) return resp;
    Status s = StatusFromHttp(resp->status, resp->headers, resp->body);
    Duration wait;
    if (auto ra = s.retry_after_seconds()) {
      if (*ra > options.max_retry_after.count()) return resp;
      wait = std::chrono::seconds(std::max(0, *ra));
    } else {
      wait = options.retry_429_backoff.Delay(static_cast<uint64_t>(attempt), RandomUnit());
    }
    options.sleep(wait);
  }
}

}  // namespace

Result<HttpResponse> RestClient::Call(HttpRequest request) {
  return Send(
      options_, std::move(request), [this] { WaitForToken(); },
      [this](const HttpRequest& r) { return transport_->Do(r); });
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

// With a transport that streams bodies (BodyStreamer), the body is parsed on
// this thread while another receives it: the parse overlaps the transfer and
// the text is never held whole, only what waits in the pipe. Either way each
// item goes to on_item as soon as it is parsed.
Result<Json> RestClient::ListEach(const Resource& r, const std::string& ns, const ListOptions& o,
                                  const ItemFn& on_item) {
  std::string what = "GET " + r.CollectionPath(ns);
  Json envelope;
  Status item_status, protobuf_status;
  bool parsed = false, too_deep = false;
  auto parse = [&](auto begin, auto end) {
    envelope = Json();
    if (o.protobuf_item && begin != end && *begin == protobuf::kMagic[0]) {
      // Item errors are the handler's; the rest is a body not read.
      auto list = protobuf::ReadList(begin, end, [&](std::string_view bytes) {
        auto item = o.protobuf_item(bytes);
        if (!item.ok()) return item.status();
        DropFields(*item, o.drop_fields);
        item_status = on_item(std::move(*item));
        return item_status;
      });
      parsed = list.ok();
      if (parsed) envelope = std::move(*list);
      if (!parsed && item_status.ok()) protobuf_status = list.status();
      return;
    }
    PruningSax sax(envelope, o.drop_fields, &on_item);
    try {
      parsed = Json::sax_parse(begin, end, &sax);
    } catch (const std::exception&) {
      parsed = false;
    }
    item_status = sax.status();
    too_deep = sax.too_deep();
  };
  auto* streamer = dynamic_cast<BodyStreamer*>(transport_.get());
  auto send = [&](const HttpRequest& req) -> Result<HttpResponse> {
    if (!streamer) {
      auto got = transport_->Do(req);
      if (got.ok() && got->status >= 200 && got->status < 300) {
        parse(got->body.cbegin(), got->body.cend());
      }
      return got;
    }
    ChunkPipe pipe;
    Result<HttpResponse> got = Unavailable("no response");
    std::thread receiver([&] {
      got = streamer->DoStreaming(req, [&](std::string_view c) { return pipe.Push(c); });
      pipe.Close();
    });
    parse(pipe.begin(), pipe.end());
    pipe.Abandon();  // a parse that stopped early stops the transfer
    receiver.join();
    return got;
  };
  HttpRequest request = ListRequest(r, ns, o);
  if (o.protobuf_item && !o.metadata_only) {
    request.headers.emplace_back("Accept", protobuf::kAcceptProtobuf);
  }
  auto resp = Send(options_, std::move(request), [this] { WaitForToken(); }, send);
  if (!resp.ok()) return resp.status().Annotate(what);
  Status s = StatusFromHttp(resp->status, resp->headers, resp->body);
  if (!s.ok()) return s;
  if (!item_status.ok()) return item_status;
  if (!protobuf_status.ok()) return Internal(what + ": " + protobuf_status.message());
  if (too_deep) {
    return Internal(what + ": response nests deeper than " +
                    std::to_string(common::kMaxJsonDepth) + " levels");
  }
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

  WatchDecoder decoder(WatchDecoder::kDefaultMaxLine, o.drop_fields);
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
