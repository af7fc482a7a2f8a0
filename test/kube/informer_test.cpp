#include "kube/informer.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "support/kube/counting_client.h"
#include "support/kube/fake_client.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using certguard::Code;
using certguard::Status;
using namespace certguard::kube;
using certguard::kube::testing::FakeClient;

namespace {

using certguard::testing::WaitFor;

const Resource& kCM = resources::kConfigMaps;

Json CM(const std::string& name, const std::string& value,
        std::map<std::string, std::string> labels = {}) {
  Json o = {{"metadata", {{"name", name}}}, {"data", {{"v", value}}}};
  if (!labels.empty()) o["metadata"]["labels"] = labels;
  o["metadata"]["managedFields"] = Json::array({{{"manager", "kubectl"}}});
  return o;
}

// Records every change; thread-safe.
struct Recorder {
  std::mutex mu;
  std::vector<std::string> log;  // "add ns/a", "update ns/a", "delete ns/a"
  int resyncs = 0;
  ChangeHandler Handler() {
    return [this](const Change& c) {
      std::lock_guard<std::mutex> l(mu);
      const char* k = c.kind == Change::Kind::kAdd      ? "add "
                      : c.kind == Change::Kind::kUpdate ? "update "
                                                        : "delete ";
      if (c.kind == Change::Kind::kUpdate && c.old_object == c.object) resyncs++;
      log.push_back(k + c.key);
    };
  }
  size_t Count(const std::string& entry) {
    std::lock_guard<std::mutex> l(mu);
    return std::count(log.begin(), log.end(), entry);
  }
};

InformerOptions Fast() {
  InformerOptions o;
  o.page_size = 2;
  o.resync_period = Duration(0);
  o.retry_backoff = Backoff{1ms, 20ms, 2.0, 0.5};
  return o;
}

std::string DataOf(const Informer& inf, const std::string& key) {
  auto o = inf.store().Get(key);
  return o ? (*o)["data"].value("v", "") : "<absent>";
}

// The cache holds exactly what the server holds.
bool CacheMatches(const Informer& inf, FakeClient& api, const Resource& r) {
  auto server = api.Objects(r);
  if (server.size() != inf.store().Size()) return false;
  for (const auto& [k, o] : server) {
    auto c = inf.store().Get(k);
    if (!c || (*c)["metadata"]["resourceVersion"] != o["metadata"]["resourceVersion"]) return false;
  }
  return true;
}

// Starts `inf` and waits for its first list.
void StartSynced(Informer& inf) {
  inf.Start();
  REQUIRE(inf.WaitForSync(5s));
}

// Starts `inf` and waits for its first list and then for its watch on `api`.
void StartWatching(Informer& inf, FakeClient& api) {
  StartSynced(inf);
  REQUIRE(WaitFor([&] { return api.OpenWatches() == 1; }));
}

}  // namespace

TEST_CASE("Informer lists into the cache and signals synced", "[kube][informer]") {
  FakeClient api;
  for (int i = 0; i < 5; ++i) REQUIRE(api.Create(kCM, "ns", CM("cm" + std::to_string(i), "x")).ok());
  Informer inf(api, kCM, Fast());
  Recorder rec;
  inf.AddHandler(rec.Handler());
  CHECK_FALSE(inf.HasSynced());
  StartSynced(inf);
  CHECK(inf.store().Size() == 5);
  CHECK(rec.Count("add ns/cm3") == 1);
  auto o = inf.store().Get("ns/cm0");
  REQUIRE(o);
  CHECK_FALSE((*o)["metadata"].contains("managedFields"));
  CHECK((*o)["kind"] == "ConfigMap");
  CHECK((*o)["apiVersion"] == "v1");
  CHECK(inf.Stats().lists == 1);
  // Paginated: 5 objects at 2 a page.
  int lists = 0;
  for (const auto& a : api.Actions()) lists += a.rfind("list", 0) == 0;
  CHECK(lists == 3);
}

TEST_CASE("Informer follows create, update and delete", "[kube][informer]") {
  FakeClient api;
  Informer inf(api, kCM, Fast());
  Recorder rec;
  inf.AddHandler(rec.Handler());
  StartSynced(inf);
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, "ns/a") == "1"; }));
  REQUIRE(api.Patch(kCM, "ns", "a", PatchType::kMerge, R"({"data":{"v":"2"}})").ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, "ns/a") == "2"; }));
  REQUIRE(api.Delete(kCM, "ns", "a").ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, "ns/a") == "<absent>"; }));
  CHECK(rec.Count("add ns/a") == 1);
  CHECK(rec.Count("update ns/a") == 1);
  CHECK(rec.Count("delete ns/a") == 1);
  CHECK_FALSE(inf.LastResourceVersion().empty());
}

TEST_CASE("Informer relists after 410 and catches up on missed changes", "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("keep", "1")).ok());
  REQUIRE(api.Create(kCM, "ns", CM("gone", "1")).ok());
  Informer inf(api, kCM, Fast());
  Recorder rec;
  inf.AddHandler(rec.Handler());
  StartWatching(inf, api);
  // Hold the watch off with errors, change things, compact, then let it back.
  api.InjectError("watch", Status(Code::kUnavailable, "connection refused"), 3);
  api.DropWatches();
  REQUIRE(api.Delete(kCM, "ns", "gone").ok());
  REQUIRE(api.Patch(kCM, "ns", "keep", PatchType::kMerge, R"({"data":{"v":"2"}})").ok());
  REQUIRE(api.Create(kCM, "ns", CM("new", "1")).ok());
  api.Compact();
  REQUIRE(WaitFor([&] { return CacheMatches(inf, api, kCM); }));
  CHECK(DataOf(inf, "ns/keep") == "2");
  CHECK(rec.Count("delete ns/gone") == 1);
  CHECK(rec.Count("update ns/keep") == 1);
  CHECK(rec.Count("add ns/new") == 1);
  auto st = inf.Stats();
  CHECK(st.gone >= 1);
  CHECK(st.lists >= 2);
  CHECK(st.errors >= 3);
  // And it keeps watching afterwards.
  REQUIRE(api.Create(kCM, "ns", CM("after", "1")).ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, "ns/after") == "1"; }));
}

TEST_CASE("Informer resumes a dropped watch from the last version", "[kube][informer]") {
  FakeClient api;
  Informer inf(api, kCM, Fast());
  StartWatching(inf, api);
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, "ns/a") == "1"; }));
  api.DropWatches();
  REQUIRE(api.Create(kCM, "ns", CM("b", "1")).ok());  // while disconnected
  REQUIRE(WaitFor([&] { return DataOf(inf, "ns/b") == "1"; }));
  CHECK(inf.Stats().lists == 1);  // no relist needed: history still there
  CHECK(inf.Stats().watches >= 2);
  // The second watch asked for the version seen last.
  bool resumed = false;
  for (const auto& a : api.Actions()) resumed |= a.find("watch configmaps @1") == 0;
  CHECK(resumed);
}

TEST_CASE("Informer retries a failing list with backoff", "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  api.InjectError("list", Status(Code::kForbidden, "no list permission yet"), 3);
  Informer inf(api, kCM, Fast());
  StartSynced(inf);
  CHECK(inf.store().Size() == 1);
  CHECK(inf.Stats().errors == 3);
}

TEST_CASE("Informer applies label selectors", "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("yes", "1", {{"certguard.io/bundle", "b"}})).ok());
  REQUIRE(api.Create(kCM, "ns", CM("no", "1")).ok());
  InformerOptions o = Fast();
  o.label_selector = "certguard.io/bundle=b";
  Informer inf(api, kCM, o);
  StartSynced(inf);
  CHECK(inf.store().Keys() == std::vector<std::string>{"ns/yes"});
  REQUIRE(api.Create(kCM, "ns", CM("yes2", "1", {{"certguard.io/bundle", "b"}})).ok());
  REQUIRE(api.Create(kCM, "ns", CM("no2", "1")).ok());
  REQUIRE(WaitFor([&] { return inf.store().Size() == 2; }));
  std::this_thread::sleep_for(20ms);
  CHECK(inf.store().Get("ns/no2") == nullptr);
}

TEST_CASE("Informer resync re-delivers every object", "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  InformerOptions o = Fast();
  o.resync_period = 30ms;
  Informer inf(api, kCM, o);
  Recorder rec;
  inf.AddHandler(rec.Handler());
  StartSynced(inf);
  REQUIRE(WaitFor([&] {
    std::lock_guard<std::mutex> l(rec.mu);
    return rec.resyncs >= 2;
  }));
}

TEST_CASE("Informer handlers can feed a work queue, Stop is prompt", "[kube][informer]") {
  FakeClient api;
  WorkQueue q;
  Informer inf(api, resources::kNodes, Fast());
  inf.AddHandler(EnqueueTo(q));
  StartSynced(inf);
  REQUIRE(api.Create(resources::kNodes, "", {{"metadata", {{"name", "node-a"}}}}).ok());
  std::string key;
  REQUIRE(q.GetFor(&key, 5s));
  CHECK(key == "node-a");
  q.Done(key);
  REQUIRE(WaitFor([&] { return api.OpenWatches() == 1; }));
  auto start = std::chrono::steady_clock::now();
  inf.Stop();
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(api.OpenWatches() == 0);
}

TEST_CASE("StripForCache drops managedFields and the last-applied annotation", "[kube][informer]") {
  Json o = {{"metadata",
             {{"name", "x"},
              {"managedFields", Json::array()},
              {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}}}}}};
  StripForCache(o);
  CHECK(o == Json{{"metadata", {{"name", "x"}}}});
  Json keep = {{"metadata", {{"annotations", {{"a", "b"}}}}}};
  StripForCache(keep);
  CHECK(keep["metadata"]["annotations"]["a"] == "b");
  Json odd = {{"metadata", "str"}};
  StripForCache(odd);  // no crash on a wrong shape
  CHECK(KeyOf(odd) == "");
}

TEST_CASE("Informer cache_transform trims the cache, not what handlers see", "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("listed", "big")).ok());
  InformerOptions o = Fast();
  o.cache_transform = [](const Json& obj) {
    return Json{{"metadata", {{"name", obj["metadata"]["name"]},
                              {"namespace", obj["metadata"]["namespace"]},
                              {"resourceVersion", obj["metadata"]["resourceVersion"]}}}};
  };
  Informer inf(api, kCM, o);
  std::mutex mu;
  std::vector<std::string> seen;  // handler's view: "kind key data"
  inf.AddHandler([&](const Change& c) {
    std::lock_guard<std::mutex> l(mu);
    std::string data = c.object->contains("data") ? (*c.object)["data"].value("v", "") : "-";
    std::string old = c.old_object && c.old_object->contains("data") ? "old-data" : "old-trimmed";
    seen.push_back(std::to_string(static_cast<int>(c.kind)) + " " + c.key + " " + data + " " +
                   (c.old_object ? old : "none"));
  });
  StartSynced(inf);
  REQUIRE(api.Create(kCM, "ns", CM("watched", "1")).ok());
  REQUIRE(WaitFor([&] { return inf.store().Get("ns/watched") != nullptr; }));
  REQUIRE(api.Patch(kCM, "ns", "watched", PatchType::kMerge, R"({"data":{"v":"2"}})").ok());
  REQUIRE(WaitFor([&] {
    std::lock_guard<std::mutex> l(mu);
    return seen.size() == 3;
  }));
  for (const char* key : {"ns/listed", "ns/watched"}) {
    auto cached = inf.store().Get(key);
    REQUIRE(cached);
    CHECK_FALSE(cached->contains("data"));
    CHECK_FALSE((*cached)["metadata"]["resourceVersion"].get<std::string>().empty());
  }
  std::lock_guard<std::mutex> l(mu);
  CHECK(seen == std::vector<std::string>{"0 ns/listed big none", "0 ns/watched 1 none",
                                         "1 ns/watched 2 old-trimmed"});
}

namespace {

// Forwards to a FakeClient and, at each list call, records what the informer
// had done by then; can fail the next `fail_pages` calls that ask for a
// page after the first.
class PageProbe : public certguard::kube::testing::CountingClient {
 public:
  explicit PageProbe(FakeClient& api) : CountingClient(api) {}
  std::function<std::string()> snapshot;  // what to record before each list call
  std::atomic<int> fail_pages{0};
  std::vector<std::string> Seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  certguard::Result<Json> List(const Resource& r, const std::string& ns,
                               const ListOptions& o) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      seen_.push_back(snapshot ? snapshot() : "");
    }
    if (!o.continue_token.empty() && fail_pages > 0) {
      --fail_pages;
      return Status(Code::kUnavailable, "connection reset mid-list");
    }
    return CountingClient::List(r, ns, o);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> seen_;
};

Json Trim(const Json& obj) {
  return Json{{"metadata", {{"name", obj["metadata"]["name"]},
                            {"namespace", obj["metadata"]["namespace"]},
                            {"resourceVersion", obj["metadata"]["resourceVersion"]}}}};
}

}  // namespace

TEST_CASE("Informer caches each list page, transformed, before asking for the next",
          "[kube][informer]") {
  FakeClient api;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(api.Create(kCM, "ns", CM("cm" + std::to_string(i), "x")).ok());
  }
  PageProbe probe(api);
  std::atomic<int> transforms{0};
  InformerOptions o = Fast();  // 2 a page
  o.cache_transform = [&](const Json& obj) {
    ++transforms;
    return Trim(obj);
  };
  Informer inf(probe, kCM, o);
  std::atomic<int> adds_with_data{0};
  inf.AddHandler([&](const Change& c) {
    if (c.kind == Change::Kind::kAdd && c.object->contains("data")) ++adds_with_data;
  });
  probe.snapshot = [&] {
    size_t trimmed = 0;
    for (const auto& obj : inf.store().List()) trimmed += !obj->contains("data");
    return std::to_string(transforms.load()) + " transformed, " +
           std::to_string(inf.store().Size()) + " cached, " + std::to_string(trimmed) +
           " trimmed, " + std::to_string(adds_with_data.load()) + " told";
  };
  StartSynced(inf);
  // Before the second page, the first is in the cache, trimmed, and the
  // handlers had the whole objects; the list was never held whole.
  CHECK(probe.Seen() == std::vector<std::string>{"0 transformed, 0 cached, 0 trimmed, 0 told",
                                                 "2 transformed, 2 cached, 2 trimmed, 2 told",
                                                 "4 transformed, 4 cached, 4 trimmed, 4 told"});
  CHECK(inf.store().Size() == 5);
  CHECK(adds_with_data == 5);
  CHECK(inf.LastResourceVersion() != "");
}

TEST_CASE("Informer relist that fails mid-way deletes nothing, then converges",
          "[kube][informer]") {
  FakeClient api;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(api.Create(kCM, "ns", CM("cm" + std::to_string(i), "1")).ok());
  }
  PageProbe probe(api);
  InformerOptions o = Fast();
  o.cache_transform = Trim;
  Informer inf(probe, kCM, o);
  Recorder rec;
  inf.AddHandler(rec.Handler());
  StartWatching(inf, api);
  const std::string synced_rv = inf.LastResourceVersion();
  // Changes while the watch is away, history compacted: a relist, whose second
  // page fails once (a full retry follows).
  probe.fail_pages = 1;
  api.InjectError("watch", Status(Code::kUnavailable, "connection refused"), 6);
  api.DropWatches();
  REQUIRE(api.Patch(kCM, "ns", "cm0", PatchType::kMerge, R"({"data":{"v":"2"}})").ok());
  REQUIRE(api.Delete(kCM, "ns", "cm4").ok());
  api.Compact();
  REQUIRE(WaitFor([&] { return CacheMatches(inf, api, kCM) && probe.fail_pages == 0; }));
  REQUIRE(WaitFor([&] { return api.OpenWatches() == 1; }));
  CHECK(rec.Count("delete ns/cm4") == 1);
  CHECK(rec.Count("update ns/cm0") == 1);  // the retry saw the same version: not told again
  for (const char* unchanged : {"update ns/cm1", "update ns/cm2", "update ns/cm3"}) {
    CHECK(rec.Count(unchanged) == 0);
  }
  for (int i = 0; i < 5; ++i) CHECK(rec.Count("add ns/cm" + std::to_string(i)) == 1);
  CHECK(inf.Stats().errors >= 1);
  CHECK(inf.LastResourceVersion() != synced_rv);
  // The resumed watch starts from the relist's version: later changes arrive.
  REQUIRE(api.Patch(kCM, "ns", "cm1", PatchType::kMerge, R"({"data":{"v":"3"}})").ok());
  REQUIRE(WaitFor([&] { return rec.Count("update ns/cm1") == 1; }));
  CHECK(inf.store().Get("ns/cm1")->contains("data") == false);
}

TEST_CASE("DescribeSyncWait names a missing CRD, else the cache and its last error", "[kube][informer]") {
  CHECK(DescribeSyncWait(resources::kTrustBundles, certguard::NotFound("404 page not found")) ==
        "waiting for CRD trustbundles.certguard.io");
  CHECK(DescribeSyncWait(resources::kCsrApprovalPolicies, certguard::NotFound("x")) ==
        "waiting for CRD csrapprovalpolicies.certguard.io");
  // A core resource is never a CRD: a 404 there is some other trouble.
  CHECK(DescribeSyncWait(resources::kNodes, certguard::NotFound("x")) ==
        "cache of nodes not synced: NotFound: x");
  CHECK(DescribeSyncWait(resources::kSecrets, Status(Code::kForbidden, "no list")) ==
        "cache of secrets not synced: Forbidden: no list");
  CHECK(DescribeSyncWait(resources::kNodes, Status::Ok()) == "cache of nodes not synced");
}

TEST_CASE("Informer: a missing CRD is retried quickly, reported, and listed once it appears",
          "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(resources::kTrustBundles, "", {{"metadata", {{"name", "b"}}}}).ok());
  api.SetMissing(resources::kTrustBundles, true);
  InformerOptions o;
  // Other errors back off for long; a 404 never waits more than the cap.
  o.retry_backoff = Backoff{std::chrono::seconds(30), std::chrono::seconds(60), 2.0, 0.0};
  o.missing_retry_max = 50ms;
  Informer inf(api, resources::kTrustBundles, o);
  inf.Start();
  REQUIRE(WaitFor([&] { return inf.Stats().errors >= 3; }));
  CHECK_FALSE(inf.HasSynced());
  CHECK(inf.LastListError().code() == Code::kNotFound);
  CHECK(WaitingFor({&inf}) == "waiting for CRD trustbundles.certguard.io");
  api.SetMissing(resources::kTrustBundles, false);
  REQUIRE(WaitFor([&] { return inf.HasSynced(); }, 5s));
  CHECK(inf.LastListError().ok());
  CHECK(WaitingFor({&inf}).empty());
  CHECK(inf.store().Get("b") != nullptr);
  inf.Stop();
}

TEST_CASE("WaitForCacheSync returns false once told to stop, true once every cache synced",
          "[kube][informer]") {
  FakeClient api;
  api.SetMissing(resources::kTrustBundles, true);
  InformerOptions o;
  o.missing_retry_max = 50ms;
  Informer missing(api, resources::kTrustBundles, o);
  Informer cms(api, resources::kConfigMaps, o);
  missing.Start();
  cms.Start();
  std::atomic<bool> stop{false};
  std::atomic<int> result{-1};
  std::thread waiter([&] {
    result = WaitForCacheSync({&cms, &missing}, [&] { return stop.load(); }, "test") ? 1 : 0;
  });
  std::this_thread::sleep_for(200ms);
  CHECK(result == -1);  // still waiting
  stop = true;
  REQUIRE(WaitFor([&] { return result != -1; }, 5s));
  waiter.join();
  CHECK(result == 0);

  api.SetMissing(resources::kTrustBundles, false);
  CHECK(WaitForCacheSync({&cms, &missing}, [] { return false; }, "test"));
  missing.Stop();
  cms.Stop();
}

namespace {
// Records the resourceVersion each list asked for.
class ListVersions : public certguard::kube::testing::CountingClient {
 public:
  using CountingClient::CountingClient;
  certguard::Result<Json> List(const Resource& r, const std::string& ns,
                               const ListOptions& o) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      versions_.push_back(o.continue_token.empty() ? "first@" + o.resource_version : "next");
    }
    return CountingClient::List(r, ns, o);
  }
  std::vector<std::string> versions() {
    std::lock_guard<std::mutex> l(mu_);
    return versions_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> versions_;
};
}  // namespace

TEST_CASE("Informer list_from_watch_cache: version 0 first, consistent after a 410",
          "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  REQUIRE(api.Create(kCM, "ns", CM("b", "1")).ok());
  REQUIRE(api.Create(kCM, "ns", CM("c", "1")).ok());
  ListVersions lists(api);
  InformerOptions o = Fast();
  o.list_from_watch_cache = true;
  Informer inf(lists, kCM, o);
  StartWatching(inf, api);
  const std::string seen = inf.LastResourceVersion();
  // page_size 2: the fake pages even so; the token, not a version, goes on.
  CHECK(lists.versions() == std::vector<std::string>{"first@0", "next"});

  // A 410 on the watch: the version it had is gone, so the relist is a
  // consistent one, not one "not older than" that version. The first of
  // them fails; the retry is consistent too.
  api.InjectError("watch", Status(Code::kUnavailable, "connection refused"), 3);
  api.InjectError("list", Status(Code::kDeadlineExceeded, "Too large resource version"), 1);
  api.DropWatches();
  REQUIRE(api.Create(kCM, "ns", CM("d", "1")).ok());
  api.Compact();
  REQUIRE(WaitFor([&] { return CacheMatches(inf, api, kCM); }));
  auto v = lists.versions();
  REQUIRE(v.size() >= 5);
  CHECK(v[2] == "first@");
  CHECK(v[3] == "first@");
  CHECK(std::find(v.begin(), v.end(), "first@" + seen) == v.end());
  CHECK(inf.Stats().gone >= 1);
}

TEST_CASE("Informer list_from_watch_cache: a failed first list from the cache is retried "
          "consistent",
          "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  api.InjectError("list", Status(Code::kDeadlineExceeded, "Too large resource version"), 1);
  ListVersions lists(api);
  InformerOptions o = Fast();
  o.list_from_watch_cache = true;
  Informer inf(lists, kCM, o);
  StartSynced(inf);
  CHECK(lists.versions() == std::vector<std::string>{"first@0", "first@"});
  CHECK(CacheMatches(inf, api, kCM));
}

namespace {
// An API server restarted from etcd: a list at a version it no longer has in
// its watch cache is read from etcd at exactly that version, so the list says
// that old version again (the first page of a paged list does so).
class ExactVersionLists : public ListVersions {
 public:
  using ListVersions::ListVersions;
  certguard::Result<Json> List(const Resource& r, const std::string& ns,
                               const ListOptions& o) override {
    auto list = ListVersions::List(r, ns, o);
    if (list.ok() && o.continue_token.empty() && !o.resource_version.empty() &&
        o.resource_version != "0") {
      (*list)["metadata"]["resourceVersion"] = o.resource_version;
    }
    return list;
  }
};
}  // namespace

TEST_CASE("Informer: a 410 after the API server restarted does not loop on the stale version",
          "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  ExactVersionLists lists(api);
  InformerOptions o = Fast();
  o.list_from_watch_cache = true;
  Informer inf(lists, kCM, o);
  StartWatching(inf, api);

  // The server goes away; what it held before is gone from its cache when it
  // is back, and a change was made meanwhile.
  api.InjectError("watch", Status(Code::kUnavailable, "connection refused"), 5);
  api.DropWatches();
  REQUIRE(api.Create(kCM, "ns", CM("b", "1")).ok());
  api.Compact();
  REQUIRE(WaitFor([&] { return CacheMatches(inf, api, kCM); }));
  REQUIRE(WaitFor([&] { return api.OpenWatches() == 1; }));
  // Relisting at the stale version would be answered with it again, and the
  // watch from it with 410 again: the informer would spin and never see "c".
  std::this_thread::sleep_for(200ms);
  CHECK(inf.Stats().gone == 1);
  REQUIRE(api.Create(kCM, "ns", CM("c", "1")).ok());
  CHECK(WaitFor([&] { return CacheMatches(inf, api, kCM); }));
}

TEST_CASE("Informer: 410s that follow each other with nothing between are backed off",
          "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  InformerOptions o = Fast();
  o.retry_backoff = Backoff{100ms, 100ms, 1.0, 0.0};
  Informer inf(api, kCM, o);
  StartWatching(inf, api);
  // Every watch now ends in a 410 at once, however fresh the list before it.
  api.InjectError("watch", Status(Code::kGone, "too old resource version"), 1000);
  api.DropWatches();
  std::this_thread::sleep_for(500ms);
  // Unthrottled, this would be hundreds; with 100 ms between, about five.
  CHECK(inf.Stats().gone >= 2);
  CHECK(inf.Stats().gone <= 10);
  inf.Stop();
}

TEST_CASE("Informer drop_fields: neither the cache nor handlers see them, listed or watched",
          "[kube][informer]") {
  FakeClient api;
  Json listed = CM("listed", "big");
  listed["metadata"]["annotations"] = {{"a", "1"}};
  REQUIRE(api.Create(kCM, "ns", listed).ok());
  InformerOptions o = Fast();
  o.drop_fields = {"data", "metadata.annotations"};
  Informer inf(api, kCM, o);
  std::mutex mu;
  std::vector<std::string> seen;  // what handlers got: key and the fields left
  inf.AddHandler([&](const Change& c) {
    std::lock_guard<std::mutex> l(mu);
    std::string fields = " ";
    for (const auto& [k, v] : c.object->items()) fields += k + " ";
    for (const auto& [k, v] : (*c.object)["metadata"].items()) fields += "metadata." + k + " ";
    seen.push_back(c.key + ": " + fields);
  });
  StartSynced(inf);
  Json watched = CM("watched", "1");
  watched["metadata"]["annotations"] = {{"a", "1"}};
  REQUIRE(api.Create(kCM, "ns", watched).ok());
  REQUIRE(WaitFor([&] {
    std::lock_guard<std::mutex> l(mu);
    return seen.size() == 2;
  }));
  for (const char* key : {"ns/listed", "ns/watched"}) {
    auto cached = inf.store().Get(key);
    REQUIRE(cached);
    CHECK_FALSE(cached->contains("data"));
    CHECK_FALSE((*cached)["metadata"].contains("annotations"));
    CHECK_FALSE((*cached)["metadata"].contains("managedFields"));
    CHECK((*cached)["metadata"]["name"] == std::string(key).substr(3));
  }
  std::lock_guard<std::mutex> l(mu);
  for (const auto& s : seen) {
    CHECK(s.find(" data ") == std::string::npos);
    CHECK(s.find(" metadata.annotations ") == std::string::npos);
    CHECK(s.find(" metadata.managedFields ") == std::string::npos);
    CHECK(s.find(" metadata.name ") != std::string::npos);
  }
}

TEST_CASE("Store keeps as text what as_text picks and reads it back equal", "[kube][informer]") {
  Store s([](const Json& o) { return o["metadata"].value("name", "") != "tree"; });
  Json varied = CM("text", "1");
  varied["data"]["nested"] = {{"list", {1, -2, 3.5, nullptr, true, "é ☃"}},
                              {"big", 18446744073709551615ULL},
                              {"empty", Json::object()}};
  auto text = std::make_shared<const Json>(varied);
  auto tree = std::make_shared<const Json>(CM("tree", "1"));
  CHECK(s.Upsert("ns/text", text) == nullptr);
  CHECK(s.Upsert("ns/tree", tree) == nullptr);
  auto got = s.Get("ns/text");
  REQUIRE(got);
  CHECK(got != text);  // parsed again from the text
  CHECK(*got == varied);
  CHECK((*got)["data"]["nested"]["big"].is_number_unsigned());
  CHECK(s.Get("ns/tree") == tree);  // the very object
  CHECK(s.List().size() == 2);

  auto next = std::make_shared<const Json>(CM("text", "2"));
  auto prev = s.Upsert("ns/text", next);
  REQUIRE(prev);
  CHECK(*prev == varied);
  auto removed = s.Remove("ns/text");
  REQUIRE(removed);
  CHECK(*removed == *next);
  CHECK(s.Get("ns/text") == nullptr);
  CHECK(s.Size() == 1);

  std::unordered_map<std::string, ObjectPtr> all = {{"ns/text", text}};
  auto replaced = s.Replace(std::move(all));
  REQUIRE(replaced.count("ns/tree") == 1);
  CHECK(replaced["ns/tree"] == tree);
  REQUIRE(s.Get("ns/text"));
  CHECK(*s.Get("ns/text") == varied);
}

TEST_CASE("Store ForEach visits every object, those kept as text parsed back equal",
          "[kube][informer]") {
  Store s([](const Json& o) { return o["metadata"].value("name", "") != "tree"; });
  Json varied = CM("text", "1");
  varied["data"]["nested"] = {{"list", {1, -2, 3.5, nullptr, true}}};
  s.Upsert("ns/text", std::make_shared<const Json>(varied));
  s.Upsert("ns/tree", std::make_shared<const Json>(CM("tree", "7")));
  s.Upsert("ns/gone", std::make_shared<const Json>(CM("gone", "1")));
  s.Remove("ns/gone");
  std::map<std::string, Json> seen;
  s.ForEach([&](const Json& o) { seen[o["metadata"]["name"].get<std::string>()] = o; });
  REQUIRE(seen.size() == 2);
  CHECK(seen["text"] == varied);
  CHECK(seen["tree"] == CM("tree", "7"));
  Store empty;
  int calls = 0;
  empty.ForEach([&](const Json&) { ++calls; });
  CHECK(calls == 0);
}

TEST_CASE("Store generations: the keys not written since the generation began", "[kube][informer]") {
  Store s([](const Json& o) { return o["metadata"].value("name", "") == "text"; });
  s.Upsert("ns/text", std::make_shared<const Json>(CM("text", "1")));
  s.Upsert("ns/tree", std::make_shared<const Json>(CM("tree", "1")));
  s.Upsert("ns/gone", std::make_shared<const Json>(CM("gone", "1")));
  const uint32_t g = s.NextGeneration();
  CHECK(s.KeysNotOf(g).size() == 3);
  s.Upsert("ns/text", std::make_shared<const Json>(CM("text", "2")));  // kept as text
  s.Upsert("ns/tree", std::make_shared<const Json>(CM("tree", "2")));  // kept as a tree
  s.Upsert("ns/new", std::make_shared<const Json>(CM("new", "1")));
  CHECK(s.KeysNotOf(g) == std::vector<std::string>{"ns/gone"});
  // A removed key is no key of any generation; a later generation starts empty.
  s.Remove("ns/gone");
  CHECK(s.KeysNotOf(g).empty());
  const uint32_t next = s.NextGeneration();
  CHECK(next != g);
  CHECK(s.KeysNotOf(next).size() == 3);
  // Replace stamps what it stores with the current generation.
  s.Replace({{"ns/only", std::make_shared<const Json>(CM("only", "1"))}});
  CHECK(s.KeysNotOf(next).empty());
  CHECK(s.KeysNotOf(g) == std::vector<std::string>{"ns/only"});
}

TEST_CASE("Store keeps an object that cannot be written as JSON text as it is",
          "[kube][informer]") {
  Store s([](const Json&) { return true; });
  // Not valid UTF-8: dump() refuses it, so the tree is kept.
  auto bad = std::make_shared<const Json>(Json{{"metadata", {{"name", "bad\xff"}}}});
  s.Upsert("bad", bad);
  CHECK(s.Get("bad") == bad);
}

TEST_CASE("Informer cache_as_text: the cache and handlers see the objects as cached",
          "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("listed", "1")).ok());
  InformerOptions o = Fast();
  o.cache_as_text = [](const Json&) { return true; };
  Informer inf(api, kCM, o);
  std::mutex mu;
  std::vector<std::string> old_values;  // the old object of each update, as cached
  inf.AddHandler([&](const Change& c) {
    if (c.kind != Change::Kind::kUpdate) return;
    std::lock_guard<std::mutex> l(mu);
    old_values.push_back((*c.old_object)["data"].value("v", ""));
  });
  StartSynced(inf);
  CHECK(DataOf(inf, "ns/listed") == "1");
  REQUIRE(api.Patch(kCM, "ns", "listed", PatchType::kMerge, R"({"data":{"v":"2"}})").ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, "ns/listed") == "2"; }));
  CHECK(CacheMatches(inf, api, kCM));
  std::lock_guard<std::mutex> l(mu);
  CHECK(old_values == std::vector<std::string>{"1"});
}

namespace {
// Lists whose protobuf cannot be read: a list asked as protobuf fails as
// RestClient::ListEach fails on a body it cannot read (kInternal), or with
// `error` when set (the server's or the network's).
class UnreadableProtobuf : public certguard::kube::testing::CountingClient {
 public:
  using CountingClient::CountingClient;
  certguard::Result<Json> ListEach(const Resource& r, const std::string& ns, const ListOptions& o,
                                   const ItemFn& on_item) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      asked_.push_back(o.protobuf_item ? "protobuf" : "json");
      if (o.protobuf_item) return error_;
    }
    return CountingClient::ListEach(r, ns, o, on_item);
  }
  std::vector<std::string> asked() {
    std::lock_guard<std::mutex> l(mu_);
    return asked_;
  }
  void FailWith(Status s) {
    std::lock_guard<std::mutex> l(mu_);
    error_ = std::move(s);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> asked_;
  Status error_{Code::kInternal, "GET /x: protobuf list: truncated"};
};

certguard::Result<Json> NeverCalled(std::string_view) {
  return certguard::InvalidArgument("not called");
}
}  // namespace

TEST_CASE("Informer list_protobuf: a list that cannot be read as protobuf is listed as JSON "
          "from then on, and other failures keep protobuf",
          "[kube][informer]") {
  FakeClient api;
  REQUIRE(api.Create(kCM, "ns", CM("a", "1")).ok());
  InformerOptions o = Fast();
  o.page_size = 0;
  o.list_protobuf = NeverCalled;
  SECTION("an unreadable body") {
    UnreadableProtobuf lists(api);
    Informer inf(lists, kCM, o);
    StartSynced(inf);
    CHECK(lists.asked() == std::vector<std::string>{"protobuf", "json"});
    CHECK(CacheMatches(inf, api, kCM));
  }
  SECTION("the server's or the network's error: tried again as protobuf") {
    UnreadableProtobuf lists(api);
    lists.FailWith(Status(Code::kUnavailable, "connection reset"));
    Informer inf(lists, kCM, o);
    inf.Start();
    REQUIRE(WaitFor([&] { return lists.asked().size() >= 3; }));
    inf.Stop();
    for (const std::string& a : lists.asked()) CHECK(a == "protobuf");
    CHECK_FALSE(inf.HasSynced());
  }
}
