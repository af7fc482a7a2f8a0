// TrustBundle propagation on the real control plane: the controller runs in
// this process against the shared cluster, as the admin. Namespaces cannot be
// deleted on the test plane (no namespace controller), so every test names its
// namespaces, labels and bundles after a fresh run id and a rerun on the same
// plane starts clean.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <regex>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "integration/kube_support.h"
#include "expiry/controller.h"
#include "expiry/inventory.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/resource.h"
#include "support/certguard_process.h"
#include "support/http_get.h"
#include "support/cluster.h"
#include "support/kube/counting_client.h"
#include "support/kube/fake_recorder.h"
#include "support/pki.h"
#include "trust/controller.h"
#include "trust/formats.h"
#include "trust/plan.h"
#include "trust/reconciler.h"
#include "x509/parse.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using certguard::testing::CertBuilder;
using certguard::testing::JoinPem;
using nlohmann::json;
namespace res = kube::resources;

constexpr const char* kLabel = "certguard.io/trustbundle";

std::string RunId() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06x", static_cast<unsigned>(rd()) & 0xffffffu);
  return buf;
}

// The sorted SHA-256 fingerprints of a PEM text's certificates; {} when none parse.
std::vector<std::string> Fingerprints(const std::string& pem) {
  std::vector<std::string> out;
  for (const auto& c : x509::ParseBundle(pem).certificates) out.push_back(c.sha256_fingerprint);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Fingerprints(const std::vector<std::string>& pems) {
  return Fingerprints(JoinPem(pems));
}

json ConfigMap(const std::string& ns, const std::string& name, const json& data,
               const json& labels = json::object()) {
  json meta = {{"name", name}, {"namespace", ns}};
  if (!labels.empty()) meta["labels"] = labels;
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta}, {"data", data}};
}

// One value of a metric family in `registry`: the series whose labels include
// `labels`; nullopt when there is none.
std::optional<double> MetricValue(prometheus::Registry& registry, const std::string& family,
                                  const std::map<std::string, std::string>& labels) {
  for (const auto& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      size_t matched = 0;
      for (const auto& l : m.label) {
        auto it = labels.find(l.name);
        if (it != labels.end() && it->second == l.value) ++matched;
      }
      if (matched != labels.size()) continue;
      return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return std::nullopt;
}

// The plane as the tests see it: the admin client and small readers.
class TrustPlane {
 public:
  explicit TrustPlane(const Cluster& cluster)
      : cluster_(cluster), admin_(AdminClient(cluster, /*fast=*/true)) {
    auto crd = cluster.Kubectl("apply --server-side -f crds/certguard.io_trustbundles.yaml");
    INFO(crd.err);
    REQUIRE(crd.ok());
    auto est = cluster.Kubectl(
        "wait --for condition=established --timeout=60s crd/trustbundles.certguard.io");
    INFO(est.err);
    REQUIRE(est.ok());
  }

  // The plane is shared by the whole run: the bundles a test made go with it
  // (their targets stay: the test plane has no garbage collector).
  ~TrustPlane() {
    for (const auto& b : bundles_) (void)admin_->Delete(res::kTrustBundles, "", b);
  }

  const Cluster& cluster() const { return cluster_; }
  kube::Client& client() { return *admin_; }

  void Namespace(const std::string& name, const json& labels = json::object()) {
    json meta = {{"name", name}};
    if (!labels.empty()) meta["labels"] = labels;
    auto r = admin_->Create(res::kNamespaces, "",
                            {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", meta}});
    INFO(name << ": " << r.status().ToString());
    REQUIRE(r.ok());
  }
  void Label(const std::string& ns, const std::string& key, const std::optional<std::string>& v) {
    json patch = {{"metadata", {{"labels", {{key, v ? json(*v) : json(nullptr)}}}}}};
    auto r = admin_->Patch(res::kNamespaces, "", ns, kube::PatchType::kMerge, patch.dump());
    INFO(r.status().ToString());
    REQUIRE(r.ok());
  }
  void Create(const std::string& ns, const json& cm) {
    auto r = admin_->Create(res::kConfigMaps, ns, cm);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
  }
  void SetData(const std::string& ns, const std::string& name, const json& data) {
    json patch = {{"data", data}};
    auto r = admin_->Patch(res::kConfigMaps, ns, name, kube::PatchType::kMerge, patch.dump());
    INFO(r.status().ToString());
    REQUIRE(r.ok());
  }
  std::optional<json> Get(const std::string& ns, const std::string& name) {
    auto r = admin_->Get(res::kConfigMaps, ns, name);
    if (!r.ok()) return std::nullopt;
    return *r;
  }
  // data[key] of a ConfigMap, nullopt when it or the key is absent.
  std::optional<std::string> Data(const std::string& ns, const std::string& name,
                                  const std::string& key = "ca.crt") {
    auto cm = Get(ns, name);
    if (!cm) return std::nullopt;
    const json data = cm->value("data", json::object());
    if (!data.contains(key) || !data[key].is_string()) return std::nullopt;
    return data[key].get<std::string>();
  }
  std::string ResourceVersion(const std::string& ns, const std::string& name) {
    auto cm = Get(ns, name);
    return cm ? (*cm)["metadata"].value("resourceVersion", "") : "<absent>";
  }
  // Whether every namespace's target holds exactly `want` (sorted fingerprints).
  bool AllHold(const std::vector<std::string>& nss, const std::string& target,
               const std::vector<std::string>& want, std::string* why = nullptr) {
    for (const auto& ns : nss) {
      auto d = Data(ns, target);
      if (!d || Fingerprints(*d) != want) {
        if (why) *why = ns + "/" + target + (d ? " differs" : " absent");
        return false;
      }
    }
    return true;
  }

  void CreateBundle(const json& bundle) {
    auto r = admin_->Create(res::kTrustBundles, "", bundle);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    bundles_.push_back(bundle["metadata"]["name"].get<std::string>());
  }
  void DeleteAtEnd(const std::string& bundle) { bundles_.push_back(bundle); }
  json Bundle(const std::string& name) {
    auto r = admin_->Get(res::kTrustBundles, "", name);
    return r.ok() ? *r : json::object();
  }
  json Status(const std::string& name) { return Bundle(name).value("status", json::object()); }
  // A condition's field ("status", "reason", "message"); "" when absent.
  std::string Condition(const std::string& bundle, const std::string& type,
                        const std::string& field = "status") {
    for (const json& c : Status(bundle).value("conditions", json::array())) {
      if (c.value("type", "") == type) return c.value(field, "");
    }
    return "";
  }
  bool Targets(const std::string& bundle, int synced, int outdated, int failed) {
    json t = Status(bundle).value("targets", json::object());
    return t.value("synced", -1) == synced && t.value("outdated", -1) == outdated &&
           t.value("failed", -1) == failed;
  }

 private:
  const Cluster& cluster_;
  std::shared_ptr<kube::RestClient> admin_;
  std::vector<std::string> bundles_;
};

// The controller in this process, with its own client, registry and recorder.
struct RunningController {
  explicit RunningController(const Cluster& cluster,
                             trust::TrustControllerOptions options = Options())
      : client(AdminClient(cluster)),
        counting(*client),
        controller(counting, events, registry, options) {
    controller.Start();
    bool synced = Eventually([&] { return controller.Synced(); }, 60s);
    INFO(controller.WaitingFor());
    REQUIRE(synced);
  }
  ~RunningController() { controller.Stop(); }

  static trust::TrustControllerOptions Options() { return {}; }
  std::optional<double> Metric(const std::string& family,
                               const std::map<std::string, std::string>& labels) {
    return MetricValue(registry, family, labels);
  }
  size_t EventsWithReason(const std::string& bundle, const std::string& reason) {
    size_t n = 0;
    for (const auto& e : events.entries()) n += e.object.name == bundle && e.reason == reason;
    return n;
  }

  std::shared_ptr<kube::RestClient> client;
  kube::testing::CountingClient counting;
  prometheus::Registry registry;
  kube::testing::FakeRecorder events;
  trust::TrustController controller;
};

// A TrustView over fresh lists from the API server (managedFields included):
// what a restarted certguard would see.
class ListedView : public trust::TrustView {
 public:
  explicit ListedView(kube::Client& c) {
    for (const auto* r : {&res::kTrustBundles, &res::kNamespaces, &res::kConfigMaps}) {
      auto l = kube::ListAll(c, *r, "", {});
      INFO(l.status().ToString());
      REQUIRE(l.ok());
      for (auto& item : l->items) {
        auto p = std::make_shared<const json>(std::move(item));
        const json& m = (*p)["metadata"];
        std::string key = kube::MakeKey(m.value("namespace", ""), m.value("name", ""));
        if (r == &res::kTrustBundles) bundles_[key] = p;
        if (r == &res::kNamespaces) namespaces_.push_back(p);
        if (r == &res::kConfigMaps) configmaps_[key] = p;
      }
    }
  }
  trust::ObjectPtr Bundle(const std::string& name) const override { return Find(bundles_, name); }
  std::vector<trust::ObjectPtr> Namespaces() const override { return namespaces_; }
  trust::ObjectPtr ConfigMap(const std::string& ns, const std::string& name) const override {
    return Find(configmaps_, kube::MakeKey(ns, name));
  }
  std::vector<trust::ObjectPtr> TargetsOf(const std::string& bundle) const override {
    std::vector<trust::ObjectPtr> out;
    for (const auto& [k, cm] : configmaps_) {
      json labels = (*cm)["metadata"].value("labels", json::object());
      if (labels.value(kLabel, "") == bundle) out.push_back(cm);
    }
    return out;
  }

 private:
  static trust::ObjectPtr Find(const std::map<std::string, trust::ObjectPtr>& m,
                               const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : it->second;
  }
  std::map<std::string, trust::ObjectPtr> bundles_;
  std::vector<trust::ObjectPtr> namespaces_;
  std::map<std::string, trust::ObjectPtr> configmaps_;
};

json BundleObject(const std::string& name, const json& sources, const std::string& target,
                  const json& selector) {
  return {{"apiVersion", "certguard.io/v1alpha1"},
          {"kind", "TrustBundle"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"sources", sources},
            {"target", {{"configMap", {{"name", target}}}}},
            {"namespaceSelector", selector}}}};
}

json FromConfigMap(const std::string& ns, const std::string& name) {
  return json::array({{{"configMap", {{"namespace", ns}, {"name", name}, {"key", "ca.crt"}}}}});
}

std::vector<std::string> Names(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d", i);
    out.push_back(prefix + buf);
  }
  return out;
}

// What an old CRD (without the rules on the target name) would have let in: a
// listed view whose TrustBundle is given, not stored.
class InjectedBundleView : public ListedView {
 public:
  InjectedBundleView(kube::Client& c, json bundle) : ListedView(c), bundle_(std::move(bundle)) {}
  trust::ObjectPtr Bundle(const std::string& name) const override {
    if (name == bundle_["metadata"].value("name", "")) return std::make_shared<const json>(bundle_);
    return ListedView::Bundle(name);
  }

 private:
  json bundle_;
};

}  // namespace

TEST_CASE("trust: 50 namespaces, a new one within seconds, edited and deleted targets repaired, "
          "a no-op reconcile writes nothing",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string src_ns = "tb-" + id + "-src";
  const std::string bundle = "prop-" + id;
  const std::string target = "prop-ca";
  const std::string ca1 = CertBuilder().Cn("prop-ca-1-" + id).Ca().Pem();
  const auto want = Fingerprints(ca1);
  REQUIRE(want.size() == 1);

  plane.Namespace(src_ns);
  plane.Create(src_ns, ConfigMap(src_ns, "ca", {{"ca.crt", ca1}}));
  std::vector<std::string> nss = Names("tb-" + id + "-", 50);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-it", id}});
  const std::string off = "tb-" + id + "-off";
  plane.Namespace(off, {{"trust-it", "other"}});

  RunningController rc(plane.cluster());
  json b = BundleObject(bundle, FromConfigMap(src_ns, "ca"), target,
                        {{"matchLabels", {{"trust-it", id}}}});
  b["spec"]["target"]["configMap"]["labels"] = {{"app", "trust-it"}};
  const auto t0 = std::chrono::steady_clock::now();
  plane.CreateBundle(b);
  const std::string uid = plane.Bundle(bundle)["metadata"].value("uid", "");
  REQUIRE(!uid.empty());

  std::string why;
  CHECK(Eventually([&] { return plane.AllHold(nss, target, want, &why); }, 60s));
  INFO(why);
  const auto took = std::chrono::steady_clock::now() - t0;
  WARN("50 targets written in "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(!plane.Get(off, target));
  // Each target carries the label and an owner reference to its TrustBundle.
  for (const auto& ns : nss) {
    auto cm = plane.Get(ns, target);
    REQUIRE(cm);
    const json& meta = (*cm)["metadata"];
    CHECK(meta["labels"].value(kLabel, "") == bundle);
    CHECK(meta["labels"].value("app", "") == "trust-it");
    REQUIRE(meta.contains("ownerReferences"));
    REQUIRE(meta["ownerReferences"].size() == 1);
    CHECK(meta["ownerReferences"][0].value("kind", "") == "TrustBundle");
    CHECK(meta["ownerReferences"][0].value("uid", "") == uid);
  }
  CHECK(Eventually([&] { return plane.Targets(bundle, 50, 0, 0); }, 15s));
  CHECK(plane.Condition(bundle, "Synced") == "True");
  CHECK(plane.Status(bundle).value("certificates", 0) == 1);
  CHECK(plane.Status(bundle).value("fingerprint", "").rfind("sha256:", 0) == 0);
  CHECK(rc.Metric("certguard_trustbundle_targets", {{"bundle", bundle}, {"state", "synced"}}) ==
        50.0);
  CHECK(rc.Metric("certguard_trustbundle_certificates", {{"bundle", bundle}}) == 1.0);
  CHECK(rc.EventsWithReason(bundle, "BundleUpdated") >= 1);

  SECTION("a namespace created later gets the target within seconds") {
    const std::string late = "tb-" + id + "-late";
    const auto t1 = std::chrono::steady_clock::now();
    plane.Namespace(late, {{"trust-it", id}});
    REQUIRE(Eventually([&] { return plane.AllHold({late}, target, want); }, 10s));
    WARN("a new namespace got its target in "
         << std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t1)
                .count()
         << " ms");
    // So does one that is relabelled into the selection.
    plane.Label(off, "trust-it", id);
    CHECK(Eventually([&] { return plane.AllHold({off}, target, want); }, 10s));
    CHECK(Eventually([&] { return plane.Targets(bundle, 52, 0, 0); }, 15s));
  }

  SECTION("an edited and a deleted target are repaired; keys others add are kept") {
    plane.SetData(nss[1], target, {{"ca.crt", "edited"}});
    auto del = plane.client().Delete(res::kConfigMaps, nss[2], target);
    REQUIRE(del.ok());
    json relabel = {{"metadata", {{"labels", {{"app", "edited"}}}}}};
    REQUIRE(plane.client()
                .Patch(res::kConfigMaps, nss[3], target, kube::PatchType::kMerge, relabel.dump(),
                       {.field_manager = "someone-else"})
                .ok());
    json extra = {{"data", {{"extra.txt", "kept"}}}};
    REQUIRE(plane.client()
                .Patch(res::kConfigMaps, nss[4], target, kube::PatchType::kMerge, extra.dump(),
                       {.field_manager = "someone-else"})
                .ok());
    CHECK(Eventually([&] { return plane.AllHold({nss[1], nss[2]}, target, want); }, 10s));
    CHECK(Eventually(
        [&] {
          auto cm = plane.Get(nss[3], target);
          return cm && (*cm)["metadata"]["labels"].value("app", "") == "trust-it";
        },
        10s));
    CHECK(plane.Data(nss[4], target, "extra.txt") == std::optional<std::string>("kept"));
    CHECK(plane.AllHold(nss, target, want, &why));
    INFO(why);
    CHECK(Eventually([&] { return plane.Targets(bundle, 50, 0, 0); }, 15s));
  }

  SECTION("a reconcile with nothing to do writes nothing and changes no resourceVersion") {
    CHECK(Eventually([&] { return plane.Targets(bundle, 50, 0, 0); }, 15s));
    rc.controller.Stop();
    std::map<std::string, std::string> rvs;
    for (const auto& ns : nss) rvs[ns] = plane.ResourceVersion(ns, target);
    const std::string bundle_rv = plane.Bundle(bundle)["metadata"].value("resourceVersion", "");

    // A fresh reconciler on fresh lists, as after a restart: no memory of its writes.
    ListedView view(plane.client());
    kube::testing::CountingClient counting(plane.client());
    kube::testing::FakeRecorder events;
    prometheus::Registry registry;
    trust::TrustMetrics metrics(registry);
    trust::TrustBundleReconciler fresh(counting, view, events, metrics);
    for (int i = 0; i < 3; ++i) {
      auto r = fresh.Reconcile(bundle);
      CHECK(r.error.ok());
    }
    CHECK(counting.counts().writes() == 0);
    for (const auto& ns : nss) CHECK(plane.ResourceVersion(ns, target) == rvs[ns]);
    CHECK(plane.Bundle(bundle)["metadata"].value("resourceVersion", "") == bundle_rv);
    CHECK(MetricValue(registry, "certguard_trustbundle_targets",
                      {{"bundle", bundle}, {"state", "synced"}}) == 50.0);
  }
}

TEST_CASE("trust: a CA rotation reaches every target, and a garbage, empty or unreadable source "
          "keeps the last good bundle",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string src_ns = "tb-" + id + "-src";
  const std::string bundle = "rot-" + id;
  const std::string target = "rot-ca";
  const std::string ca1 = CertBuilder().Cn("rot-ca-1-" + id).Ca().Pem();
  const std::string ca2 = CertBuilder().Cn("rot-ca-2-" + id).Ca().Pem();
  const std::string ca3 = CertBuilder().Cn("rot-ca-3-" + id).Ca().Pem();

  plane.Namespace(src_ns);
  plane.Create(src_ns, ConfigMap(src_ns, "ca", {{"ca.crt", ca1}}));
  std::vector<std::string> nss = Names("tb-" + id + "-", 5);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-rot", id}});

  RunningController rc(plane.cluster());
  plane.CreateBundle(BundleObject(bundle, FromConfigMap(src_ns, "ca"), target,
                                  {{"matchLabels", {{"trust-rot", id}}}}));
  std::string why;
  REQUIRE(Eventually([&] { return plane.AllHold(nss, target, Fingerprints(ca1), &why); }, 30s));

  // Rotation: the new CA joins the old one, then the old one goes.
  plane.SetData(src_ns, "ca", {{"ca.crt", JoinPem({ca1, ca2})}});
  CHECK(Eventually([&] { return plane.AllHold(nss, target, Fingerprints({ca1, ca2}), &why); },
                   15s));
  plane.SetData(src_ns, "ca", {{"ca.crt", ca2}});
  CHECK(Eventually([&] { return plane.AllHold(nss, target, Fingerprints(ca2), &why); }, 15s));
  INFO(why);
  CHECK(Eventually([&] { return plane.Status(bundle).value("certificates", 0) == 1; }, 10s));
  const std::string good_fingerprint = plane.Status(bundle).value("fingerprint", "");
  std::map<std::string, std::string> rvs;
  for (const auto& ns : nss) rvs[ns] = plane.ResourceVersion(ns, target);

  struct Broken {
    std::string what;
    std::function<void()> apply;
    std::string reason;
  };
  const std::vector<Broken> broken = {
      {"garbage", [&] {
         plane.SetData(src_ns, "ca",
                       {{"ca.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                                   "-----END CERTIFICATE-----\n"}});
       },
       "InvalidBlock"},
      {"a good CA beside a garbage block", [&] {
         plane.SetData(src_ns, "ca", {{"ca.crt", JoinPem({ca3, "-----BEGIN CERTIFICATE-----\n!!\n"
                                                               "-----END CERTIFICATE-----\n"})}});
       },
       "InvalidBlock"},
      {"empty", [&] { plane.SetData(src_ns, "ca", {{"ca.crt", ""}}); }, "Empty"},
      {"text that is no certificate", [&] {
         plane.SetData(src_ns, "ca", {{"ca.crt", "hello\n"}});
       },
       "InvalidBlock"},
      {"the key missing", [&] { plane.SetData(src_ns, "ca", {{"ca.crt", nullptr}, {"x", "y"}}); },
       "Unreadable"},
      {"the ConfigMap deleted", [&] {
         REQUIRE(plane.client().Delete(res::kConfigMaps, src_ns, "ca").ok());
       },
       "Unreadable"},
  };
  for (const Broken& br : broken) {
    INFO("source: " << br.what);
    const double errors_before =
        rc.Metric("certguard_trustbundle_source_errors_total",
                  {{"bundle", bundle}, {"reason", br.reason}})
            .value_or(0);
    const size_t events_before = rc.EventsWithReason(bundle, "SourceError");
    br.apply();
    CHECK(Eventually(
        [&] {
          return plane.Condition(bundle, "SourceError") == "True" &&
                 plane.Condition(bundle, "SourceError", "reason") == br.reason;
        },
        10s));
    CHECK(plane.Condition(bundle, "SourceError", "message").find("keeping the last good bundle") !=
          std::string::npos);
    CHECK(Eventually([&] { return rc.EventsWithReason(bundle, "SourceError") > events_before; },
                     10s));
    CHECK(Eventually(
        [&] {
          return rc.Metric("certguard_trustbundle_source_errors_total",
                           {{"bundle", bundle}, {"reason", br.reason}})
                     .value_or(0) > errors_before;
        },
        10s));
    // Every target keeps the last good bundle, untouched.
    CHECK(plane.Status(bundle).value("fingerprint", "") == good_fingerprint);
    CHECK(plane.Status(bundle).value("certificates", 0) == 1);
    for (const auto& ns : nss) {
      CHECK(plane.ResourceVersion(ns, target) == rvs[ns]);
      CHECK(plane.AllHold({ns}, target, Fingerprints(ca2)));
    }
  }

  // A good source again: the error clears and the new bundle goes out.
  plane.Create(src_ns, ConfigMap(src_ns, "ca", {{"ca.crt", JoinPem({ca2, ca3})}}));
  CHECK(Eventually([&] { return plane.AllHold(nss, target, Fingerprints({ca2, ca3}), &why); },
                   15s));
  CHECK(Eventually([&] { return plane.Condition(bundle, "SourceError") == "False"; }, 10s));
  CHECK(Eventually([&] { return plane.Targets(bundle, 5, 0, 0); }, 10s));
}

TEST_CASE("trust: a selector change removes targets from namespaces no longer selected, and only "
          "its own",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string bundle = "sel-" + id;
  const std::string target = "sel-ca";
  const std::string ca = CertBuilder().Cn("sel-ca-" + id).Ca().Pem();
  const auto want = Fingerprints(ca);
  std::vector<std::string> a = Names("tb-" + id + "-a", 3);
  std::vector<std::string> b = Names("tb-" + id + "-b", 2);
  for (const auto& ns : a) plane.Namespace(ns, {{"trust-sel", id}, {"group", "a"}});
  for (const auto& ns : b) plane.Namespace(ns, {{"trust-sel", id}, {"group", "b"}});
  const std::string named = "tb-" + id + "-named";
  plane.Namespace(named);
  // Not certguard's: a ConfigMap that only carries the label (no owner reference).
  plane.Create(a[0], ConfigMap(a[0], "look-alike", {{"ca.crt", "mine"}}, {{kLabel, bundle}}));

  RunningController rc(plane.cluster());
  json obj = BundleObject(bundle, json::array({{{"inline", ca}}}), target,
                          {{"matchLabels", {{"trust-sel", id}, {"group", "a"}}}});
  obj["spec"]["namespaces"] = {named};
  plane.CreateBundle(obj);
  std::string why;
  // The named namespace is written in no particular order relative to the selected ones.
  std::vector<std::string> selected = a;
  selected.push_back(named);
  REQUIRE(Eventually([&] { return plane.AllHold(selected, target, want, &why); }, 30s));
  for (const auto& ns : b) CHECK(!plane.Get(ns, target));

  // A namespace loses its label.
  plane.Label(a[2], "group", "none");
  CHECK(Eventually([&] { return !plane.Get(a[2], target); }, 10s));

  // The selector moves to group b.
  json patch = {{"spec", {{"namespaceSelector", {{"matchLabels", {{"group", "b"},
                                                                   {"trust-sel", id}}}}}}}};
  REQUIRE(plane.client()
              .Patch(res::kTrustBundles, "", bundle, kube::PatchType::kMerge, patch.dump())
              .ok());
  CHECK(Eventually([&] { return plane.AllHold(b, target, want, &why); }, 15s));
  INFO(why);
  CHECK(Eventually([&] { return !plane.Get(a[0], target) && !plane.Get(a[1], target); }, 15s));
  CHECK(plane.AllHold({named}, target, want));  // still named in spec.namespaces
  CHECK(plane.Data(a[0], "look-alike") == std::optional<std::string>("mine"));
  CHECK(Eventually([&] { return plane.Targets(bundle, 3, 0, 0); }, 10s));
}

TEST_CASE("trust: ConfigMaps certguard did not create, kube-root-ca.crt among them, are never "
          "written",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string ca = CertBuilder().Cn("root-" + id).Ca().Pem();
  std::vector<std::string> nss = Names("tb-" + id + "-", 3);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-root", id}});
  // kube-controller-manager publishes kube-root-ca.crt in each new namespace.
  REQUIRE(Eventually(
      [&] {
        return std::all_of(nss.begin(), nss.end(),
                           [&](auto& ns) { return plane.Data(ns, "kube-root-ca.crt"); });
      },
      30s));
  std::map<std::string, std::string> root, rvs;
  for (const auto& ns : nss) {
    root[ns] = *plane.Data(ns, "kube-root-ca.crt");
    rvs[ns] = plane.ResourceVersion(ns, "kube-root-ca.crt");
  }
  plane.Create(nss[0], ConfigMap(nss[0], "user-ca", {{"ca.crt", "the user's"}}));

  RunningController rc(plane.cluster());
  const std::string user = "user-" + id;
  plane.CreateBundle(BundleObject(user, json::array({{{"inline", ca}}}), "user-ca",
                                  {{"matchLabels", {{"trust-root", id}}}}));

  // The user's own ConfigMap is reported, the two others created.
  CHECK(Eventually([&] { return plane.Targets(user, 2, 0, 1); }, 15s));
  CHECK(plane.Condition(user, "Synced", "reason") == "TargetConflict");
  CHECK(plane.Condition(user, "Synced", "message").find("not created by certguard") !=
        std::string::npos);
  CHECK(plane.Data(nss[0], "user-ca") == std::optional<std::string>("the user's"));
  CHECK(plane.AllHold({nss[1], nss[2]}, "user-ca", Fingerprints(ca)));

  for (const auto& ns : nss) {
    CHECK(plane.Data(ns, "kube-root-ca.crt") == std::optional<std::string>(root[ns]));
    CHECK(plane.ResourceVersion(ns, "kube-root-ca.crt") == rvs[ns]);
    auto cm = plane.Get(ns, "kube-root-ca.crt");
    REQUIRE(cm);
    CHECK(!(*cm)["metadata"].value("labels", json::object()).contains(kLabel));
  }
}

TEST_CASE("trust: a trust gap is raised while a consumer lacks a CA and cleared once it holds it",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string ca1 = CertBuilder().Cn("gap-ca-1-" + id).Ca().Pem();
  const std::string ca2 = CertBuilder().Cn("gap-ca-2-" + id).Ca().Pem();
  std::vector<std::string> nss = Names("tb-" + id + "-", 2);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-gap", id}});
  plane.Create(nss[0], ConfigMap(nss[0], "consumer", {{"ca.crt", ca2}}));

  RunningController rc(plane.cluster());
  const std::string bundle = "gap-" + id;
  json obj = BundleObject(bundle, json::array({{{"inline", ca1}}}), "gap-ca",
                          {{"matchLabels", {{"trust-gap", id}}}});
  obj["spec"]["verify"] = json::array({{{"namespace", nss[0]}, {"name", "consumer"}}});
  plane.CreateBundle(obj);
  auto gap = [&](const std::string& ns, const std::string& name) {
    return rc.Metric("certguard_trust_gap", {{"bundle", bundle}, {"namespace", ns},
                                             {"name", name}});
  };

  CHECK(Eventually([&] { return plane.Condition(bundle, "TrustGap") == "True"; }, 15s));
  CHECK(gap(nss[0], "consumer") == 1.0);
  json gaps = plane.Status(bundle).value("trustGaps", json::array());
  REQUIRE(gaps.size() == 1);
  CHECK(gaps[0].value("namespace", "") == nss[0]);
  CHECK(gaps[0].value("message", "").find("gap-ca-1-" + id) != std::string::npos);
  CHECK(Eventually([&] { return rc.EventsWithReason(bundle, "TrustGap") >= 1; }, 10s));
  // The consumer itself is never written.
  CHECK(plane.Data(nss[0], "consumer") == std::optional<std::string>(ca2));

  // Whoever owns the consumer adds the CA: the gap clears.
  plane.SetData(nss[0], "consumer", {{"ca.crt", JoinPem({ca2, ca1})}});
  CHECK(Eventually([&] { return plane.Condition(bundle, "TrustGap") == "False"; }, 10s));
  CHECK(Eventually([&] { return gap(nss[0], "consumer") == 0.0; }, 10s));
  CHECK(plane.Condition(bundle, "TrustGap", "reason") == "ConsumersTrustBundle");

  // A consumer that goes away is a gap again.
  REQUIRE(plane.client().Delete(res::kConfigMaps, nss[0], "consumer").ok());
  CHECK(Eventually([&] { return gap(nss[0], "consumer") == 1.0; }, 10s));
}

TEST_CASE("trust: kubeadm example, the cluster CA from kube-root-ca.crt into labelled "
          "namespaces, verified with no gap",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  RunningController rc(plane.cluster());
  // The example as shipped, once per plane (its name is fixed).
  auto applied = plane.cluster().Kubectl(
      "apply --server-side -f deploy/examples/trustbundle-kubeadm.yaml");
  INFO(applied.err);
  REQUIRE(applied.ok());
  plane.DeleteAtEnd("kubeadm-cluster-ca");
  json verify = {{"spec", {{"verify", json::array({{{"name", "kube-root-ca.crt"}}})}}}};
  REQUIRE(plane.client()
              .Patch(res::kTrustBundles, "", "kubeadm-cluster-ca", kube::PatchType::kMerge,
                     verify.dump())
              .ok());
  const std::string ns = "tb-" + id + "-app";
  plane.Namespace(ns, {{"certguard.io/cluster-ca", "inject"}});
  REQUIRE(Eventually([&] { return plane.Data("kube-system", "kube-root-ca.crt").has_value(); },
                     30s));
  const std::string cluster_ca = *plane.Data("kube-system", "kube-root-ca.crt");
  CHECK(Eventually(
      [&] { return plane.AllHold({ns}, "cluster-ca", Fingerprints(cluster_ca)); }, 15s));
  CHECK(Eventually(
      [&] {
        return rc.Metric("certguard_trust_gap", {{"bundle", "kubeadm-cluster-ca"},
                                                 {"namespace", ns},
                                                 {"name", "kube-root-ca.crt"}}) == 0.0;
      },
      15s));
  CHECK(Eventually([&] { return plane.Condition("kubeadm-cluster-ca", "TrustGap") == "False"; },
                   10s));
}

// Targets go through their owner reference, so this test runs on a private plane
// whose kube-controller-manager also runs the garbage collector (the shared one
// has none). A ConfigMap certguard did not create has no such reference and stays.
TEST_CASE("trust: deleting a TrustBundle removes only the targets it created",
          "[integration][trust]") {
  const Cluster& shared = RequireCluster();
  OwnCluster private_plane(shared.ScratchDir("trust-gc-plane"),
                           "UP_EXTRA_CONTROLLERS=garbagecollector CERTGUARD_TOOLS=" +
                               ShellQuote(shared.Env("TOOLS_DIR")));

  TrustPlane plane(private_plane.cluster());
  const std::string ca = CertBuilder().Cn("gc-ca").Ca().Pem();
  std::vector<std::string> nss = Names("tb-gc-", 4);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-gc", "on"}});
  // Not certguard's: the user's ConfigMap of the target's name, one that only
  // carries the label, and a ConfigMap of another bundle that stays.
  plane.Create(nss[0], ConfigMap(nss[0], "gc-ca", {{"ca.crt", "the user's"}}));
  plane.Create(nss[1], ConfigMap(nss[1], "look-alike", {{"ca.crt", "mine"}}, {{kLabel, "gc"}}));

  RunningController rc(private_plane.cluster());
  plane.CreateBundle(BundleObject("gc", json::array({{{"inline", ca}}}), "gc-ca",
                                  {{"matchLabels", {{"trust-gc", "on"}}}}));
  plane.CreateBundle(BundleObject("other", json::array({{{"inline", ca}}}), "other-ca",
                                  {{"matchLabels", {{"trust-gc", "on"}}}}));
  const std::vector<std::string> own = {nss[1], nss[2], nss[3]};
  std::string why;
  REQUIRE(Eventually([&] { return plane.AllHold(own, "gc-ca", Fingerprints(ca), &why); }, 30s));
  REQUIRE(Eventually([&] { return plane.AllHold(nss, "other-ca", Fingerprints(ca), &why); }, 30s));

  REQUIRE(plane.client().Delete(res::kTrustBundles, "", "gc").ok());
  // The garbage collector learns of the new CRD at its next discovery (every 30 s).
  CHECK(Eventually(
      [&] {
        return std::none_of(own.begin(), own.end(),
                            [&](auto& ns) { return plane.Get(ns, "gc-ca").has_value(); });
      },
      90s));
  CHECK(plane.Data(nss[0], "gc-ca") == std::optional<std::string>("the user's"));
  CHECK(plane.Data(nss[1], "look-alike") == std::optional<std::string>("mine"));
  CHECK(plane.AllHold(nss, "other-ca", Fingerprints(ca)));
  // The deleted bundle's series are gone; the other's stay.
  CHECK(Eventually(
      [&] {
        return !rc.Metric("certguard_trustbundle_certificates", {{"bundle", "gc"}}).has_value();
      },
      10s));
  CHECK(rc.Metric("certguard_trustbundle_certificates", {{"bundle", "other"}}) == 1.0);
}

TEST_CASE("trust: the API server accepts the shipped TrustBundles and rejects malformed ones",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  auto examples = plane.cluster().Kubectl(
      "apply --dry-run=server -f deploy/examples/trustbundle-okd.yaml "
      "-f deploy/examples/trustbundle-kubeadm.yaml -f deploy/examples/trustbundle-talos.yaml");
  INFO(examples.out << examples.err);
  CHECK(examples.ok());

  const json good = BundleObject("crd-check", json::array({{{"inline", "PEM"}}}), "ca",
                                 {{"matchLabels", {{"a", "b"}}}});
  kube::WriteOptions dry;
  dry.dry_run = true;
  auto created = plane.client().Create(res::kTrustBundles, "", good, dry);
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  // Defaults filled by the schema.
  CHECK((*created)["spec"]["target"]["configMap"].value("key", "") == "ca.crt");
  CHECK((*created)["spec"].value("dropExpired", true) == false);

  struct Bad {
    std::string what;
    std::function<void(json&)> edit;
  };
  const std::vector<Bad> bad = {
      {"a source with two kinds",
       [](json& b) {
         b["spec"]["sources"][0]["configMap"] = {{"namespace", "x"}, {"name", "y"}};
       }},
      {"a source with none", [](json& b) { b["spec"]["sources"][0] = json::object(); }},
      {"no source", [](json& b) { b["spec"]["sources"] = json::array(); }},
      {"neither selector nor namespaces", [](json& b) { b["spec"].erase("namespaceSelector"); }},
      {"a namespace name that is not a DNS label",
       [](json& b) { b["spec"]["namespaces"] = {"Not_A_Namespace"}; }},
      {"a secret source without a key",
       [](json& b) {
         b["spec"]["sources"][0] = {{"secret", {{"namespace", "x"}, {"name", "y"}}}};
       }},
      {"the reserved label on targets",
       [](json& b) { b["spec"]["target"]["configMap"]["labels"] = {{kLabel, "x"}}; }},
      {"no target", [](json& b) { b["spec"].erase("target"); }},
      {"a bad selector operator",
       [](json& b) {
         b["spec"]["namespaceSelector"] = {
             {"matchExpressions", json::array({{{"key", "a"}, {"operator", "Maybe"}}})}};
       }},
  };
  for (const Bad& b : bad) {
    json obj = good;
    b.edit(obj);
    auto r = plane.client().Create(res::kTrustBundles, "", obj, dry);
    INFO(b.what << ": " << r.status().ToString());
    CHECK(!r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("trust: a target another controller keeps, or a name over 63 characters, is refused "
          "at admission",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  kube::WriteOptions dry;
  dry.dry_run = true;
  const json selector = {{"matchLabels", {{"a", "b"}}}};
  for (const char* target : {"kube-root-ca.crt", "openshift-service-ca.crt"}) {
    auto r = plane.client().Create(
        res::kTrustBundles, "", BundleObject("reserved", json::array({{{"inline", "PEM"}}}), target, selector), dry);
    INFO(target << ": " << r.status().ToString());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find("kept by other controllers") != std::string::npos);
  }
  auto long_name = plane.client().Create(
      res::kTrustBundles, "", BundleObject(std::string(64, 'a'), json::array({{{"inline", "PEM"}}}), "ca", selector), dry);
  INFO(long_name.status().ToString());
  CHECK(long_name.status().code() == Code::kInvalidArgument);
  CHECK(long_name.status().message().find("at most 63") != std::string::npos);
  auto just_fits = plane.client().Create(
      res::kTrustBundles, "", BundleObject(std::string(63, 'a'), json::array({{{"inline", "PEM"}}}), "ca", selector), dry);
  INFO(just_fits.status().ToString());
  CHECK(just_fits.ok());
}

TEST_CASE("trust: kube-controller-manager's kube-root-ca.crt is never created or replaced, across "
          "20 deletions",
          "[integration][trust]") {
  // The CRD refuses such a TrustBundle; this is the one an older CRD let in, given
  // to the reconciler directly. Right after each deletion the reconciler runs
  // before kube-controller-manager has put the ConfigMap back: the race it lost.
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string ca = CertBuilder().Cn("fight-" + id).Ca().Pem();
  const std::vector<std::string> ours = Fingerprints(ca);
  std::vector<std::string> nss = Names("tbf-" + id + "-", 2);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-fight", id}});
  REQUIRE(Eventually(
      [&] {
        return std::all_of(nss.begin(), nss.end(),
                           [&](auto& ns) { return plane.Data(ns, "kube-root-ca.crt"); });
      },
      30s));
  const std::string cluster_ca = *plane.Data(nss[0], "kube-root-ca.crt");

  // Every version of every kube-root-ca.crt, as the watch delivers them.
  auto watcher = AdminClient(plane.cluster());
  kube::InformerOptions wo;
  wo.field_selector = "metadata.name=kube-root-ca.crt";
  kube::Informer versions(*watcher, res::kConfigMaps, wo);
  std::atomic<int> seen{0}, held_ours{0};
  versions.AddHandler([&](const kube::Change& c) {
    if (!c.object || c.kind == kube::Change::Kind::kDelete) return;
    const json& meta = (*c.object)["metadata"];
    if (std::find(nss.begin(), nss.end(), meta.value("namespace", "")) == nss.end()) return;
    ++seen;
    const json data = c.object->value("data", json::object());
    if (data.contains("ca.crt") && data["ca.crt"].is_string() &&
        Fingerprints(data["ca.crt"].get<std::string>()) == ours) {
      ++held_ours;
    }
  });
  versions.Start();
  REQUIRE(versions.WaitForSync(30s));

  json bundle = BundleObject("fight-" + id, json::array({{{"inline", ca}}}), "kube-root-ca.crt",
                             {{"matchLabels", {{"trust-fight", id}}}});
  bundle["metadata"]["uid"] = "uid-fight-" + id;
  auto client = AdminClient(plane.cluster(), /*fast=*/true);
  kube::testing::FakeRecorder events;
  prometheus::Registry registry;
  trust::TrustMetrics metrics(registry);
  int recreated = 0;
  for (int round = 0; round < 20; ++round) {
    for (const auto& ns : nss) (void)client->Delete(res::kConfigMaps, ns, "kube-root-ca.crt");
    {
      InjectedBundleView view(*client, bundle);
      trust::TrustBundleReconciler reconciler(*client, view, events, metrics, {});
      (void)reconciler.Reconcile(bundle["metadata"]["name"]);  // the status write fails: no object
    }
    bool back = Eventually(
        [&] {
          return std::all_of(nss.begin(), nss.end(),
                             [&](auto& ns) { return plane.Data(ns, "kube-root-ca.crt"); });
        },
        30s);
    REQUIRE(back);
    ++recreated;
  }
  CHECK(recreated == 20);
  // The watch has caught up with the last recreation.
  REQUIRE(Eventually([&] { return seen.load() >= 2 * 20; }, 10s));
  INFO(seen.load() << " versions seen");
  CHECK(held_ours == 0);
  for (const auto& ns : nss) {
    CHECK(plane.Data(ns, "kube-root-ca.crt") == std::optional<std::string>(cluster_ca));
    auto cm = plane.Get(ns, "kube-root-ca.crt");
    REQUIRE(cm);
    for (const json& m : (*cm)["metadata"].value("managedFields", json::array())) {
      CHECK(m.value("manager", "") != "certguard");
    }
  }
  versions.Stop();
}

TEST_CASE("trust: a ConfigMap another field manager wrote is not overwritten, even with "
          "certguard's label and owner reference",
          "[integration][trust]") {
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string ca = CertBuilder().Cn("owned-" + id).Ca().Pem();
  const std::string ns = "tbo-" + id;
  plane.Namespace(ns, {{"trust-owned", id}});
  const std::string bundle = "owned-" + id;
  const std::string target = "owned-ca";
  // Another controller's ConfigMap that copies what certguard puts on its targets.
  json theirs = ConfigMap(ns, target, {{"ca.crt", "theirs"}}, {{kLabel, bundle}});
  theirs["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "certguard.io/v1alpha1"},
                                                         {"kind", "TrustBundle"},
                                                         {"name", bundle},
                                                         {"uid", "00000000-0000-0000-0000-000000000001"}}});
  kube::WriteOptions as_other;
  as_other.field_manager = "other-operator";
  auto created = plane.client().Create(res::kConfigMaps, ns, theirs, as_other);
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  const std::string rv = plane.ResourceVersion(ns, target);

  RunningController rc(plane.cluster());
  plane.CreateBundle(BundleObject(bundle, json::array({{{"inline", ca}}}), target,
                                  {{"matchLabels", {{"trust-owned", id}}}}));
  CHECK(Eventually([&] { return plane.Condition(bundle, "Synced", "reason") == "TargetConflict"; },
                   15s));
  CHECK(plane.Condition(bundle, "Synced", "message").find("not created by certguard") !=
        std::string::npos);
  CHECK(Eventually([&] { return plane.Targets(bundle, 0, 0, 1); }, 10s));
  // A resync later, still theirs.
  rc.controller.queue().Add(bundle);
  std::this_thread::sleep_for(2s);
  CHECK(plane.Data(ns, target) == std::optional<std::string>("theirs"));
  CHECK(plane.ResourceVersion(ns, target) == rv);
}

TEST_CASE("trust: unrelated large ConfigMaps are not cached", "[integration][trust][memory]") {
  // 48 ConfigMaps of 1 MiB in a namespace no TrustBundle names. The trust
  // controller watches other ConfigMaps as metadata only (the API server sends no
  // data), so certguard's peak stays far under what they hold; caching them whole,
  // it held all 48 MiB and peaked at a list of them on top.
  TrustPlane plane(RequireCluster());
  const std::string id = RunId();
  const std::string ns = "tbm-" + id;
  plane.Namespace(ns);
  constexpr int kConfigMaps = 48;
  auto admin = AdminClient(plane.cluster(), /*fast=*/true);
  {
    std::atomic<int> next{0}, failed{0};
    auto create = [&](unsigned seed) {
      std::mt19937 gen(seed);
      std::string value(1024 * 1024, 'x');
      for (int i; (i = next++) < kConfigMaps;) {
        for (size_t j = 0; j < value.size(); j += 61) value[j] = static_cast<char>('a' + gen() % 26);
        if (!admin->Create(res::kConfigMaps, ns, ConfigMap(ns, "big-" + std::to_string(i),
                                                           {{"blob", value}})).ok()) {
          ++failed;
        }
      }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 3; ++t) threads.emplace_back(create, t + 1);
    for (auto& t : threads) t.join();
    REQUIRE(failed == 0);
  }
  const double listed_mib = kConfigMaps;

  const std::string log = plane.cluster().ScratchDir("trust-memory-" + id) + "/certguard.log";
  CertguardProcess cg({"run", "--kubeconfig", plane.cluster().admin_kubeconfig(), "--controllers",
                       "trust", "--leader-elect=false", "--metrics-bind-address", "127.0.0.1:0",
                       "--health-bind-address", "127.0.0.1:0"},
                      log);
  REQUIRE(cg.WaitForLog("serving endpoints", 30s));
  std::smatch m;
  std::string text = cg.Log();
  REQUIRE(std::regex_search(text, m, std::regex("health_port=\"?(\\d+)")));
  const int health = std::stoi(m[1]);
  bool ready = Eventually([&] { return certguard::testing::HttpGet(health, "/readyz").status == 200; }, 60s);
  INFO(cg.Log());
  REQUIRE(ready);
  const double peak = PeakMib(cg.pid());
  WARN("certguard peak " << peak << " MiB with " << listed_mib << " MiB of unrelated ConfigMaps");
  CheckPeakBelow(peak, listed_mib);
  CHECK(cg.Stop() == 0);
  // The plane is shared: take the 48 MiB back.
  for (int i = 0; i < kConfigMaps; ++i) {
    (void)admin->Delete(res::kConfigMaps, ns, "big-" + std::to_string(i));
  }
}

}  // namespace certguard::test

namespace certguard::test {
namespace {

// data[key] of a Secret, decoded; nullopt when it, the key, or valid base64 is absent.
std::optional<std::string> SecretData(kube::Client& c, const std::string& ns,
                                      const std::string& name, const std::string& key = "ca.crt") {
  auto s = c.Get(res::kSecrets, ns, name);
  if (!s.ok()) return std::nullopt;
  const json data = s->value("data", json::object());
  if (!data.contains(key) || !data[key].is_string()) return std::nullopt;
  auto pem = x509::pem::DecodeBody(data[key].get<std::string>());
  if (!pem.ok()) return std::nullopt;
  return *pem;
}

json SecretObject(const std::string& ns, const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"type", "Opaque"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", {{"ca.crt", x509::pem::Base64(value)}}}};
}

trust::TrustControllerOptions WithSecretTargets() {
  trust::TrustControllerOptions o;
  o.reconciler.secret_targets = true;
  return o;
}

}  // namespace

TEST_CASE("trust: a Secret target propagates as an Opaque Secret, drift is repaired, a foreign "
          "Secret is never overwritten, and a bad source keeps the last good bundle",
          "[integration][trust][secret-target]") {
  TrustPlane plane(RequireCluster());
  kube::Client& api = plane.client();
  const std::string id = RunId();
  const std::string src_ns = "tb-" + id + "-src";
  const std::string bundle = "sec-" + id;
  const std::string target = "sec-ca";
  const std::string ca1 = CertBuilder().Cn("sec-ca-1-" + id).Ca().Pem();
  const std::string ca2 = CertBuilder().Cn("sec-ca-2-" + id).Ca().Pem();
  plane.Namespace(src_ns);
  plane.Create(src_ns, ConfigMap(src_ns, "ca", {{"ca.crt", ca1}}));
  std::vector<std::string> nss = Names("tb-" + id + "-", 3);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-sec", id}});
  // The user's own Secret of the target's name.
  REQUIRE(api.Create(res::kSecrets, nss[0], SecretObject(nss[0], target, "the user's")).ok());
  const std::string users_rv = api.Get(res::kSecrets, nss[0], target)->at("metadata").value(
      "resourceVersion", "");

  RunningController rc(plane.cluster(), WithSecretTargets());
  json b = BundleObject(bundle, FromConfigMap(src_ns, "ca"), target,
                        {{"matchLabels", {{"trust-sec", id}}}});
  b["spec"]["target"] = {{"secret", {{"name", target}}}};
  plane.CreateBundle(b);

  auto holds = [&](const std::vector<std::string>& in, const std::vector<std::string>& want) {
    return std::all_of(in.begin(), in.end(), [&](const std::string& ns) {
      auto d = SecretData(api, ns, target);
      return d && Fingerprints(*d) == want;
    });
  };
  const std::vector<std::string> ours = {nss[1], nss[2]};
  REQUIRE(Eventually([&] { return holds(ours, Fingerprints(ca1)); }, 30s));
  CHECK(Eventually([&] { return plane.Targets(bundle, 2, 0, 1); }, 15s));
  CHECK(plane.Condition(bundle, "Synced", "reason") == "TargetConflict");
  CHECK(plane.Condition(bundle, "Synced", "message").find("Secret " + target) != std::string::npos);
  CHECK(SecretData(api, nss[0], target) == std::optional<std::string>("the user's"));
  CHECK(api.Get(res::kSecrets, nss[0], target)->at("metadata").value("resourceVersion", "") ==
        users_rv);
  CHECK_FALSE(plane.Get(nss[1], target));  // no ConfigMap target: none written

  // The expiry inventory (check-expiration --kubeconfig's list) reads the Secret targets: this
  // bundle has no other.
  expiry::ExpirySources sources;
  sources.csrs = false;
  sources.tls_secrets = false;
  expiry::Inventory inventory;
  CHECK(expiry::ListInventory(api, sources, inventory).empty());
  std::vector<std::string> listed;
  inventory.ForEach([&](const expiry::ObjectRef& o, const std::string& key, const std::string&,
                        const expiry::CertFacts& c) {
    if (o.kind == expiry::SourceKind::kTrustBundle && o.name == bundle) {
      listed.push_back(key + " " + c.subject_cn);
    }
  });
  CHECK(listed == std::vector<std::string>{"ca.crt sec-ca-1-" + id});

  auto written = api.Get(res::kSecrets, nss[1], target);
  REQUIRE(written.ok());
  CHECK(written->value("type", "") == "Opaque");
  CHECK((*written)["metadata"]["labels"].value(kLabel, "") == bundle);
  CHECK((*written)["metadata"]["ownerReferences"][0].value("kind", "") == "TrustBundle");

  // Drift: an edited Secret target and a deleted one are repaired; a new namespace is reached.
  json edit = {{"data", {{"ca.crt", x509::pem::Base64("edited")}}}};
  REQUIRE(api.Patch(res::kSecrets, nss[1], target, kube::PatchType::kMerge, edit.dump()).ok());
  REQUIRE(api.Delete(res::kSecrets, nss[2], target).ok());
  const std::string late = "tb-" + id + "-late";
  plane.Namespace(late, {{"trust-sec", id}});
  CHECK(Eventually([&] { return holds({nss[1], nss[2], late}, Fingerprints(ca1)); }, 15s));

  // A rotation reaches the Secrets; then a garbage source leaves them on the last good bundle.
  plane.SetData(src_ns, "ca", {{"ca.crt", JoinPem({ca1, ca2})}});
  const std::vector<std::string> all_ours = {nss[1], nss[2], late};
  CHECK(Eventually([&] { return holds(all_ours, Fingerprints({ca1, ca2})); }, 15s));
  std::map<std::string, std::string> rvs;
  for (const auto& ns : all_ours) {
    rvs[ns] = api.Get(res::kSecrets, ns, target)->at("metadata").value("resourceVersion", "");
  }
  plane.SetData(src_ns, "ca", {{"ca.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                                          "-----END CERTIFICATE-----\n"}});
  CHECK(Eventually([&] { return plane.Condition(bundle, "SourceError") == "True"; }, 15s));
  CHECK(holds(all_ours, Fingerprints({ca1, ca2})));
  for (const auto& ns : all_ours) {
    CHECK(api.Get(res::kSecrets, ns, target)->at("metadata").value("resourceVersion", "") ==
          rvs[ns]);
  }
  CHECK(SecretData(api, nss[0], target) == std::optional<std::string>("the user's"));
}

TEST_CASE("trust: with Secret targets off, a Secret target is reported and no Secret written, and "
          "the API server refuses a bundle without any target",
          "[integration][trust][secret-target]") {
  TrustPlane plane(RequireCluster());
  kube::Client& api = plane.client();
  const std::string id = RunId();
  const std::string bundle = "secoff-" + id;
  const std::string ca = CertBuilder().Cn("secoff-" + id).Ca().Pem();
  const std::string ns = "tb-" + id + "-off";
  plane.Namespace(ns, {{"trust-secoff", id}});

  json none = BundleObject("none-" + id, json::array({{{"inline", ca}}}), "x",
                           {{"matchLabels", {{"trust-secoff", id}}}});
  none["spec"]["target"] = json::object();
  CHECK_FALSE(api.Create(res::kTrustBundles, "", none).ok());

  RunningController rc(plane.cluster());  // default options: Secret targets off
  json b = BundleObject(bundle, json::array({{{"inline", ca}}}), "off-ca",
                        {{"matchLabels", {{"trust-secoff", id}}}});
  b["spec"]["target"]["secret"] = {{"name", "off-ca-secret"}};
  plane.CreateBundle(b);
  CHECK(Eventually([&] { return plane.AllHold({ns}, "off-ca", Fingerprints(ca)); }, 30s));
  CHECK(Eventually(
      [&] { return plane.Condition(bundle, "Synced", "reason") == "SecretTargetsDisabled"; }, 15s));
  CHECK(plane.Condition(bundle, "Synced") == "False");
  CHECK(api.Get(res::kSecrets, ns, "off-ca-secret").status().code() == Code::kNotFound);
}

namespace {

// binaryData[key] of a ConfigMap, decoded; nullopt when absent or not base64.
std::optional<std::string> BinaryData(TrustPlane& plane, const std::string& ns,
                                      const std::string& name, const std::string& key) {
  auto cm = plane.Get(ns, name);
  if (!cm) return std::nullopt;
  const json data = cm->value("binaryData", json::object());
  if (!data.contains(key) || !data[key].is_string()) return std::nullopt;
  auto bytes = x509::pem::DecodeBody(data[key].get<std::string>());
  if (!bytes.ok()) return std::nullopt;
  return *bytes;
}

// Whether `jks` and `p12` hold exactly the certificates of `pem`: the JKS as
// certguard encodes that bundle (its bytes repeat), the PKCS#12 read back.
bool HoldsTruststores(const std::string& pem, const std::optional<std::string>& jks,
                      const std::optional<std::string>& p12, const std::string& p12_password) {
  if (!jks || !p12) return false;
  const auto certs = x509::ParseBundle(pem).certificates;
  auto expected_jks = trust::EncodeJks(certs, "changeit");
  if (!expected_jks.ok() || *expected_jks != *jks) return false;
  auto read = trust::ReadPkcs12Truststore(*p12, p12_password);
  if (!read.ok()) return false;
  std::vector<std::string> got = *read;
  std::vector<std::string> want;
  for (const auto& c : certs) want.push_back(c.der);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  return got == want;
}

}  // namespace

TEST_CASE("trust: additional formats write JKS and PKCS#12 truststores to ConfigMap and Secret "
          "targets, a tampered truststore is repaired, and a reconcile in sync writes nothing",
          "[integration][trust][formats]") {
  TrustPlane plane(RequireCluster());
  kube::Client& api = plane.client();
  const std::string id = RunId();
  const std::string bundle = "fmt-" + id;
  const std::string target = "fmt-ca";
  const std::string pem = JoinPem({CertBuilder().Cn("fmt-ca-1-" + id).Ca().Pem(),
                                   CertBuilder().Cn("fmt-ca-2-" + id).Ca().Pem()});
  std::vector<std::string> nss = Names("tb-" + id + "-f", 2);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-fmt", id}});

  RunningController rc(plane.cluster(), WithSecretTargets());
  json b = BundleObject(bundle, json::array({{{"inline", pem}}}), target,
                        {{"matchLabels", {{"trust-fmt", id}}}});
  b["spec"]["target"]["secret"] = {{"name", target + "-secret"}};
  b["spec"]["target"]["additionalFormats"] = {
      {"jks", {{"key", "bundle.jks"}}},  // password: the default, changeit
      {"pkcs12", {{"key", "bundle.p12"}, {"password", "p12-pass"}}}};
  plane.CreateBundle(b);

  auto configmap_ok = [&](const std::string& ns) {
    auto cm = plane.Get(ns, target);
    if (!cm) return false;
    const json data = cm->value("data", json::object());
    return data.value("ca.crt", "") != "" && Fingerprints(data.value("ca.crt", "")) ==
                                                 Fingerprints(pem) &&
           HoldsTruststores(data.value("ca.crt", ""), BinaryData(plane, ns, target, "bundle.jks"),
                            BinaryData(plane, ns, target, "bundle.p12"), "p12-pass");
  };
  auto secret_ok = [&](const std::string& ns) {
    auto secret_pem = SecretData(api, ns, target + "-secret");
    return secret_pem && HoldsTruststores(*secret_pem,
                                          SecretData(api, ns, target + "-secret", "bundle.jks"),
                                          SecretData(api, ns, target + "-secret", "bundle.p12"),
                                          "p12-pass");
  };
  auto all_ok = [&] {
    return std::all_of(nss.begin(), nss.end(),
                       [&](const std::string& ns) { return configmap_ok(ns) && secret_ok(ns); });
  };
  REQUIRE(Eventually(all_ok, 30s));
  CHECK(Eventually([&] { return plane.Targets(bundle, 4, 0, 0); }, 15s));
  auto rv = [&](const std::string& ns) {
    auto cm = plane.Get(ns, target);
    return cm ? (*cm)["metadata"].value("resourceVersion", "") : std::string();
  };
  auto secret_rv = [&](const std::string& ns) {
    auto s = api.Get(res::kSecrets, ns, target + "-secret");
    return s.ok() ? (*s)["metadata"].value("resourceVersion", "") : std::string();
  };
  const std::string rv0 = rv(nss[0]);
  const std::string secret_rv0 = secret_rv(nss[0]);

  // Tamper with the PKCS#12 in one namespace and the JKS in the Secret: both are
  // repaired; the reconciles that repair them leave the other namespace alone
  // (a new PKCS#12 encoding would differ byte for byte, yet nothing is rewritten).
  json forged = {{"binaryData", {{"bundle.p12", x509::pem::Base64("forged")}}}};
  REQUIRE(api.Patch(res::kConfigMaps, nss[1], target, kube::PatchType::kMerge, forged.dump()).ok());
  json forged_jks = {{"data", {{"bundle.jks", x509::pem::Base64("forged")}}}};
  REQUIRE(api.Patch(res::kSecrets, nss[1], target + "-secret", kube::PatchType::kMerge,
                    forged_jks.dump())
              .ok());
  CHECK(Eventually([&] { return configmap_ok(nss[1]) && secret_ok(nss[1]); }, 15s));
  const std::string rv1 = rv(nss[1]);

  // Another reconcile writes nothing.
  rc.controller.queue().Add(bundle);
  std::this_thread::sleep_for(2s);
  CHECK(all_ok());
  CHECK(rv(nss[0]) == rv0);
  CHECK(secret_rv(nss[0]) == secret_rv0);
  CHECK(rv(nss[1]) == rv1);

  // A format removed from the spec leaves every target, with its annotation.
  json drop = {{"spec", {{"target", {{"additionalFormats", {{"pkcs12", nullptr}}}}}}}};
  REQUIRE(api.Patch(res::kTrustBundles, "", bundle, kube::PatchType::kMerge, drop.dump()).ok());
  auto p12_gone = [&](const std::string& ns) {
    auto cm = plane.Get(ns, target);
    auto s = api.Get(res::kSecrets, ns, target + "-secret");
    if (!cm || !s.ok()) return false;
    const json annotations = (*cm)["metadata"].value("annotations", json::object());
    return !cm->value("binaryData", json::object()).contains("bundle.p12") &&
           cm->value("binaryData", json::object()).contains("bundle.jks") &&
           !annotations.contains(trust::kPkcs12Annotation) &&
           annotations.value(trust::kFormatKeysAnnotation, "") == "bundle.jks" &&
           !s->value("data", json::object()).contains("bundle.p12") &&
           s->value("data", json::object()).contains("bundle.jks");
  };
  CHECK(Eventually([&] { return p12_gone(nss[0]) && p12_gone(nss[1]); }, 15s));
}

namespace {

json PasswordSecret(const std::string& ns, const std::string& name, const std::string& jks,
                    const std::string& p12) {
  return {{"apiVersion", "v1"},
          {"kind", "Secret"},
          {"type", "Opaque"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", {{"jks", x509::pem::Base64(jks)}, {"p12", x509::pem::Base64(p12)}}}};
}

// The certificates `openssl pkcs12` (the command, not certguard's reader) finds in
// `p12` under `password`; -1 when it refuses the file or the password.
int OpensslPkcs12Certs(const Cluster& cluster, const std::string& p12,
                       const std::string& password) {
  const std::string dir = cluster.ScratchDir("p12-" + RunId());
  const std::string file = dir + "/t.p12";
  {
    std::ofstream out(file, std::ios::binary);
    out << p12;
  }
  auto r = cluster.Run("openssl pkcs12 -in " + ShellQuote(file) + " -nokeys -passin " +
                       ShellQuote("pass:" + password));
  if (!r.ok()) return -1;
  int n = 0;
  for (size_t at = r.out.find("BEGIN CERTIFICATE"); at != std::string::npos;
       at = r.out.find("BEGIN CERTIFICATE", at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("trust: truststore passwords from a Secret: written under them, re-encoded when the "
          "Secret changes, and a missing Secret keeps every target as it is",
          "[integration][trust][formats][passwords]") {
  TrustPlane plane(RequireCluster());
  kube::Client& api = plane.client();
  const std::string id = RunId();
  const std::string bundle = "pw-" + id;
  const std::string target = "pw-ca";
  const std::string pw_ns = "tb-" + id + "-pw";
  const std::string pem = JoinPem({CertBuilder().Cn("pw-ca-1-" + id).Ca().Pem(),
                                   CertBuilder().Cn("pw-ca-2-" + id).Ca().Pem()});
  const auto certs = x509::ParseBundle(pem).certificates;
  REQUIRE(certs.size() == 2);
  plane.Namespace(pw_ns);
  std::vector<std::string> nss = Names("tb-" + id + "-p", 2);
  for (const auto& ns : nss) plane.Namespace(ns, {{"trust-pw", id}});
  REQUIRE(api.Create(res::kSecrets, pw_ns, PasswordSecret(pw_ns, "store-pw", "jks-one", "p12-one"))
              .ok());

  RunningController rc(plane.cluster(), WithSecretTargets());  // Secrets watched
  json b = BundleObject(bundle, json::array({{{"inline", pem}}}), target,
                        {{"matchLabels", {{"trust-pw", id}}}});
  b["spec"]["target"]["secret"] = {{"name", target + "-secret"}};
  auto ref = [&](const char* key) {
    return json{{"namespace", pw_ns}, {"name", "store-pw"}, {"key", key}};
  };
  // The API server refuses a password given both ways.
  json both = b;
  both["metadata"]["name"] = "pw-both-" + id;
  both["spec"]["target"]["additionalFormats"] = {
      {"pkcs12", {{"key", "bundle.p12"}, {"password", "x"}, {"passwordSecretRef", ref("p12")}}}};
  auto refused = api.Create(res::kTrustBundles, "", both);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(),
             Catch::Contains("password and passwordSecretRef are mutually exclusive"));
  b["spec"]["target"]["additionalFormats"] = {
      {"jks", {{"key", "bundle.jks"}, {"passwordSecretRef", ref("jks")}}},
      {"pkcs12", {{"key", "bundle.p12"}, {"passwordSecretRef", ref("p12")}}}};
  plane.CreateBundle(b);

  // Every target's JKS is certguard's encoding under the JKS password, and its
  // PKCS#12 reads back (certguard's OpenSSL reader) under the PKCS#12 password only.
  auto holds = [&](const std::string& jks_pw, const std::string& p12_pw) {
    for (const auto& ns : nss) {
      auto expected_jks = trust::EncodeJks(certs, jks_pw);
      if (!expected_jks.ok()) return false;
      auto cm_jks = BinaryData(plane, ns, target, "bundle.jks");
      auto sec_jks = SecretData(api, ns, target + "-secret", "bundle.jks");
      if (cm_jks != *expected_jks || sec_jks != *expected_jks) return false;
      for (const auto& p12 : {BinaryData(plane, ns, target, "bundle.p12"),
                              SecretData(api, ns, target + "-secret", "bundle.p12")}) {
        if (!p12) return false;
        auto read = trust::ReadPkcs12Truststore(*p12, p12_pw);
        if (!read.ok() || read->size() != 2) return false;
      }
    }
    return true;
  };
  REQUIRE(Eventually([&] { return holds("jks-one", "p12-one"); }, 30s));
  CHECK(Eventually([&] { return plane.Condition(bundle, "Synced") == "True"; }, 15s));
  // The openssl command reads it with the password, and refuses it without.
  auto p12 = BinaryData(plane, nss[0], target, "bundle.p12");
  REQUIRE(p12);
  CHECK(OpensslPkcs12Certs(plane.cluster(), *p12, "p12-one") == 2);
  CHECK(OpensslPkcs12Certs(plane.cluster(), *p12, "p12-two") == -1);
  CHECK_FALSE(trust::ReadPkcs12Truststore(*p12, "jks-one").ok());
  auto digest = [&](const std::string& ns) {
    auto cm = plane.Get(ns, target);
    return cm ? (*cm)["metadata"].value("annotations", json::object())
                    .value(trust::kPkcs12Annotation, "")
              : std::string();
  };
  const std::string digest1 = digest(nss[0]);
  CHECK_FALSE(digest1.empty());

  // The Secret changes: every target is re-encoded under the new passwords, with a new digest.
  json rotated = {{"data", {{"jks", x509::pem::Base64("jks-two")}, {"p12", x509::pem::Base64("p12-two")}}}};
  REQUIRE(api.Patch(res::kSecrets, pw_ns, "store-pw", kube::PatchType::kMerge, rotated.dump()).ok());
  REQUIRE(Eventually([&] { return holds("jks-two", "p12-two"); }, 15s));
  CHECK(digest(nss[0]) != digest1);
  p12 = SecretData(api, nss[1], target + "-secret", "bundle.p12");
  REQUIRE(p12);
  CHECK(OpensslPkcs12Certs(plane.cluster(), *p12, "p12-two") == 2);
  CHECK(OpensslPkcs12Certs(plane.cluster(), *p12, "p12-one") == -1);

  // The Secret is deleted: nothing is written, the condition says why.
  std::map<std::string, std::string> rvs;
  auto rv_of = [&](const kube::Resource& r, const std::string& ns, const std::string& name) {
    auto o = api.Get(r, ns, name);
    return o.ok() ? (*o)["metadata"].value("resourceVersion", "") : std::string();
  };
  for (const auto& ns : nss) {
    rvs[ns + "/cm"] = rv_of(res::kConfigMaps, ns, target);
    rvs[ns + "/secret"] = rv_of(res::kSecrets, ns, target + "-secret");
  }
  REQUIRE(api.Delete(res::kSecrets, pw_ns, "store-pw").ok());
  REQUIRE(Eventually(
      [&] { return plane.Condition(bundle, "Synced", "reason") == "PasswordUnavailable"; }, 15s));
  CHECK(plane.Condition(bundle, "Synced") == "False");
  CHECK_THAT(plane.Condition(bundle, "Synced", "message"),
             Catch::Contains("secret " + pw_ns + "/store-pw[jks]: the Secret does not exist"));
  // A further reconcile writes nothing either.
  rc.controller.queue().Add(bundle);
  std::this_thread::sleep_for(2s);
  CHECK(holds("jks-two", "p12-two"));
  for (const auto& ns : nss) {
    CHECK(rv_of(res::kConfigMaps, ns, target) == rvs[ns + "/cm"]);
    CHECK(rv_of(res::kSecrets, ns, target + "-secret") == rvs[ns + "/secret"]);
  }

  // It comes back: Synced again, under its passwords.
  REQUIRE(api.Create(res::kSecrets, pw_ns, PasswordSecret(pw_ns, "store-pw", "jks-3", "p12-3")).ok());
  CHECK(Eventually([&] { return holds("jks-3", "p12-3"); }, 15s));
  CHECK(Eventually([&] { return plane.Condition(bundle, "Synced") == "True"; }, 15s));
}

}  // namespace certguard::test
