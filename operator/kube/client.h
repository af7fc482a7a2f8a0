// The Kubernetes API as certguard uses it: objects are nlohmann::json, errors
// are Status values (kube/errors.h). `Client` is the interface controllers and
// the informer depend on; RestClient implements it over an HttpTransport.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "kube/backoff.h"
#include "kube/config.h"
#include "kube/http.h"
#include "kube/resource.h"
#include "kube/watch.h"

namespace certguard::kube {

using Json = nlohmann::json;

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;              // page size; 0 = server default (all)
  std::string continue_token;     // from the previous page's metadata.continue
  std::string resource_version;   // "" = most recent (quorum read)
  bool metadata_only = false;     // items as PartialObjectMetadata: no data, spec or status
  // Fields of each item that ListEach drops as it parses ("status.images",
  // "metadata.managedFields": object keys from the item's root, dot-separated),
  // so that what no one reads is never built. List returns items whole.
  std::vector<std::string> drop_fields;
  // Decodes one item of the resource's protobuf List into its JSON: ListEach
  // then asks for protobuf (kube/protobuf.h), which the server starts sending
  // before it has read the whole list. A JSON answer is read as JSON.
  Result<Json> (*protobuf_item)(std::string_view item) = nullptr;
};

// Pure. Removes each of `paths` (as ListOptions::drop_fields) from `object`;
// what is absent, or reached through an array or a scalar, is left alone.
void DropFields(Json& object, const std::vector<std::string>& paths);

struct WatchOptions {
  std::string resource_version;   // resume point; "" = from now
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  int timeout_seconds = 300;      // the server ends the watch after this
  bool metadata_only = false;     // objects as PartialObjectMetadata: no data, spec or status
  // Paths of each object that are never built, as ListOptions::drop_fields.
  std::vector<std::string> drop_fields;
};

// Accept headers that make the API server send metadata only (what client-go's
// metadata informers ask for): a large object's body never crosses the wire.
inline constexpr const char* kAcceptMetadataList =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
inline constexpr const char* kAcceptMetadata =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

enum class PatchType { kMerge, kJson, kStrategicMerge, kApply };

struct WriteOptions {
  std::string field_manager = "certguard";
  bool force = false;  // server-side apply: take over conflicting fields
  bool dry_run = false;
};

struct DeleteOptions {
  std::string precondition_resource_version;  // delete only this version
  std::string propagation_policy;             // "", "Background", "Foreground", "Orphan"
};

// Thread-safe: one Client is shared by every controller.
class Client {
 public:
  virtual ~Client() = default;

  // The object, or kNotFound etc. `subresource` e.g. "status".
  virtual Result<Json> Get(const Resource& r, const std::string& ns, const std::string& name,
                           const std::string& subresource = {}) = 0;
  // One page: the List object (items, metadata.resourceVersion, metadata.continue).
  virtual Result<Json> List(const Resource& r, const std::string& ns,
                            const ListOptions& options) = 0;
  // One page, its items handed to `on_item` one at a time, in order, so that a
  // page is never held whole as parsed objects; returns the List object without
  // its items. An error from `on_item` stops the page and is returned. This
  // default lists the page whole, then hands the items over.
  using ItemFn = std::function<Status(Json&& item)>;
  virtual Result<Json> ListEach(const Resource& r, const std::string& ns,
                                const ListOptions& options, const ItemFn& on_item);
  virtual Result<Json> Create(const Resource& r, const std::string& ns, const Json& object,
                              const WriteOptions& options = {}) = 0;
  // PUT of the whole object (name from metadata.name; metadata.resourceVersion
  // makes it conditional: kConflict when stale). Subresource "status" or
  // "approval" writes only that part.
  virtual Result<Json> Update(const Resource& r, const std::string& ns, const Json& object,
                              const std::string& subresource = {},
                              const WriteOptions& options = {}) = 0;
  // The same PUT when only its outcome matters (the same errors as Update):
  // the server's answer is not parsed. This default calls Update.
  virtual Status UpdateWithoutResult(const Resource& r, const std::string& ns, const Json& object,
                                     const std::string& subresource = {},
                                     const WriteOptions& options = {}) {
    return Update(r, ns, object, subresource, options).status();
  }
  // `body` is the patch document; kApply is server-side apply (body: the
  // object's intent as JSON; field_manager required).
  virtual Result<Json> Patch(const Resource& r, const std::string& ns, const std::string& name,
                             PatchType type, const std::string& body,
                             const WriteOptions& options = {},
                             const std::string& subresource = {}) = 0;
  virtual Status Delete(const Resource& r, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {}) = 0;
  // Streams events until the server ends the watch (OK), `on_event` returns
  // false (OK), `cancel` fires (kUnavailable), or an error: kGone when the
  // resourceVersion is too old (HTTP 410 or an ERROR event with code 410),
  // other ERROR events and HTTP errors as their Status, network errors as
  // kUnavailable. Events of type kError are not passed to `on_event`.
  virtual Status Watch(const Resource& r, const std::string& ns, const WatchOptions& options,
                       const WatchEventFn& on_event, CancelToken& cancel) = 0;
};

struct RestOptions {
  double qps = 20.0;  // <= 0: unlimited
  int burst = 30;
  std::chrono::milliseconds timeout{30000};  // every call but watches
  std::string user_agent = "certguard";
  // A 429 (Too Many Requests: API Priority and Fairness rejected the call, or
  // the server's in-flight limit) is retried, any method, for the server did
  // not act on it: after its Retry-After, or without one after
  // `retry_429_backoff`. The call waits, holding its caller (a worker), so a
  // throttled client offers at most one request per caller per wait.
  int max_429_retries = 10;                  // client-go's default
  std::chrono::seconds max_retry_after{10};  // longer waits go back to the caller
  Backoff retry_429_backoff{std::chrono::milliseconds(250), std::chrono::seconds(8), 2.0, 0.5};
  // How the client waits (tests record instead).
  std::function<void(Duration)> sleep;  // default: std::this_thread::sleep_for
};

// Client over an HttpTransport. Thread-safe.
class RestClient : public Client {
 public:
  RestClient(std::shared_ptr<HttpTransport> transport, RestOptions options);

  Result<Json> Get(const Resource& r, const std::string& ns, const std::string& name,
                   const std::string& subresource = {}) override;
  Result<Json> List(const Resource& r, const std::string& ns, const ListOptions& options) override;
  // Parses the body as it walks it: each item is built, handed over and
  // dropped before the next (a list served whole, as with resourceVersion=0,
  // is then held as text once, never as a tree).
  Result<Json> ListEach(const Resource& r, const std::string& ns, const ListOptions& options,
                        const ItemFn& on_item) override;
  Result<Json> Create(const Resource& r, const std::string& ns, const Json& object,
                      const WriteOptions& options = {}) override;
  Result<Json> Update(const Resource& r, const std::string& ns, const Json& object,
                      const std::string& subresource = {},
                      const WriteOptions& options = {}) override;
  // The answer's status only: an approval's answer (the whole object, a few
  // KiB) is not parsed into a tree that nobody reads.
  Status UpdateWithoutResult(const Resource& r, const std::string& ns, const Json& object,
                             const std::string& subresource = {},
                             const WriteOptions& options = {}) override;
  Result<Json> Patch(const Resource& r, const std::string& ns, const std::string& name,
                     PatchType type, const std::string& body, const WriteOptions& options = {},
                     const std::string& subresource = {}) override;
  Status Delete(const Resource& r, const std::string& ns, const std::string& name,
                const DeleteOptions& options = {}) override;
  Status Watch(const Resource& r, const std::string& ns, const WatchOptions& options,
               const WatchEventFn& on_event, CancelToken& cancel) override;

  // Raw call through the rate limiter, with 429 retries; for paths the typed
  // methods do not cover (e.g. "/version").
  Result<HttpResponse> Call(HttpRequest request);

 private:
  void WaitForToken();
  Result<Json> CallJson(HttpRequest request);
  Result<HttpRequest> UpdateRequest(const Resource& r, const std::string& ns, const Json& object,
                                    const std::string& subresource, const WriteOptions& o);

  std::shared_ptr<HttpTransport> transport_;
  RestOptions options_;
  std::mutex limiter_mu_;
  TokenBucket limiter_;
};

// RestClient for a ClientConfig (its qps, burst and request timeout).
Result<std::shared_ptr<RestClient>> NewRestClient(const ClientConfig& config);

// Every page of a list, following metadata.continue.
struct ListAllResult {
  std::vector<Json> items;
  std::string resource_version;  // of the list: start a watch from here
  int pages = 0;
};
// On kGone (the continue token expired) the caller should start again.
Result<ListAllResult> ListAll(Client& client, const Resource& r, const std::string& ns,
                              ListOptions options, int64_t page_size = 500);

// The same walk one item at a time (Client::ListEach), so that a caller can
// trim each item before the next is parsed: `on_item` may stop the walk with an
// error, which ListPages returns. The result's `items` stays empty. A
// options.resource_version goes with the first page only (the server refuses it
// with a continue token).
// `on_page`, when given, runs after each page's items (for progress).
Result<ListAllResult> ListPages(Client& client, const Resource& r, const std::string& ns,
                                ListOptions options, int64_t page_size,
                                const Client::ItemFn& on_item,
                                const std::function<void()>& on_page = nullptr);

// Server-side apply of `object` (apiVersion/kind/metadata.name must be set).
Result<Json> Apply(Client& client, const Resource& r, const std::string& ns, const Json& object,
                   const std::string& field_manager, bool force = true);

// Runs `fn` until it returns something other than kConflict, at most
// `attempts` times, sleeping per `backoff` between tries (like client-go's
// retry.RetryOnConflict). `fn` must re-read the object each time.
Status RetryOnConflict(const std::function<Status()>& fn, int attempts = 5,
                       Backoff backoff = {std::chrono::milliseconds(10),
                                          std::chrono::milliseconds(1000), 2.0, 0.1});

}  // namespace certguard::kube
