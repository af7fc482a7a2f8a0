// The reconciler against an in-memory API (a fake Client whose store is also
// the cache), with certificates minted at test time.
#include "trust/reconciler.h"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>

#include "common/time.h"
#include "support/kube/fake_recorder.h"
#include "support/pki.h"
#include "trust/build.h"
#include "trust/formats.h"
#include "trust/status.h"
#include "x509/pem.h"

using namespace certguard;
using namespace certguard::trust;
using certguard::testing::Base64;
using certguard::testing::CertBuilder;
using certguard::testing::JoinPem;
using nlohmann::json;

namespace {

// An API server in a map: writes bump resourceVersion only when content changes,
// like the real one. Also a TrustView over the same objects (a perfect cache),
// unless frozen. Thread-safe.
class FakeApi : public kube::Client, public TrustView {
 public:
  void Put(const std::string& resource, const json& obj) {
    json stored;
    {
      std::lock_guard lock(mu_);
      stored = PutLocked(resource, obj);
    }
    if (observer && resource == "configmaps") observer(stored, false);
  }
  json GetObj(const std::string& resource, const std::string& ns, const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = objects_.find(Key(resource, ns, name));
    return it == objects_.end() ? json() : it->second;
  }
  void Remove(const std::string& resource, const std::string& ns, const std::string& name) {
    json gone;
    {
      std::lock_guard lock(mu_);
      auto it = objects_.find(Key(resource, ns, name));
      if (it == objects_.end()) return;
      gone = it->second;
      objects_.erase(it);
    }
    if (observer && resource == "configmaps") observer(gone, true);
  }
  // What an informer's handler would be told of the test's own edits.
  std::function<void(const json&, bool)> observer;
  size_t writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  // The view keeps what it held: a cache that lags behind.
  void Freeze() {
    std::lock_guard lock(mu_);
    frozen_ = objects_;
    is_frozen_ = true;
  }
  void Thaw() {
    std::lock_guard lock(mu_);
    is_frozen_ = false;
  }

  // kube::Client
  Result<json> Get(const kube::Resource& r, const std::string& ns, const std::string& name,
                   const std::string& = {}) override {
    std::lock_guard lock(mu_);
    auto it = objects_.find(Key(r.resource, ns, name));
    if (it == objects_.end()) return NotFound(r.resource + " \"" + name + "\" not found");
    return it->second;
  }
  Result<json> List(const kube::Resource&, const std::string&, const kube::ListOptions&) override {
    return Internal("not used");
  }
  Result<json> Create(const kube::Resource& r, const std::string& ns, const json& object,
                      const kube::WriteOptions& = {}) override {
    std::lock_guard lock(mu_);
    const std::string name = object["metadata"]["name"];
    if (objects_.count(Key(r.resource, ns, name))) {
      return Status(Code::kAlreadyExists, "already exists");
    }
    if (fail_writes_) return Unavailable("injected");
    json o = object;
    o["metadata"]["namespace"] = ns;  // as the API server does, from the path
    o["metadata"]["uid"] = "uid-" + name + "-" + ns;
    o["metadata"]["managedFields"] = json::array({{{"manager", "certguard"}}});
    ++writes_;
    return PutLocked(r.resource, o);
  }
  Result<json> Update(const kube::Resource&, const std::string&, const json&, const std::string&,
                      const kube::WriteOptions&) override {
    return Internal("not used");
  }
  Result<json> Patch(const kube::Resource& r, const std::string& ns, const std::string& name,
                     kube::PatchType type, const std::string& body,
                     const kube::WriteOptions& = {}, const std::string& sub = {}) override {
    std::lock_guard lock(mu_);
    if (fail_writes_ && sub.empty()) return Unavailable("injected");
    json patch = json::parse(body);
    auto it = objects_.find(Key(r.resource, ns, name));
    json o = it == objects_.end() ? json::object() : it->second;
    if (type == kube::PatchType::kApply) {
      o["apiVersion"] = patch["apiVersion"];
      o["kind"] = patch["kind"];
      for (const char* f : {"name", "namespace", "labels", "annotations", "ownerReferences"}) {
        if (!patch["metadata"].contains(f)) continue;
        if (patch["metadata"][f].is_object() && o["metadata"].contains(f)) {
          o["metadata"][f].update(patch["metadata"][f]);
        } else {
          o["metadata"][f] = patch["metadata"][f];
        }
      }
      o["data"].update(patch["data"]);
      if (patch.contains("binaryData")) o["binaryData"].update(patch["binaryData"]);
      if (patch.contains("type")) o["type"] = patch["type"];
    } else {
      if (sub == "status") ++status_writes_;
      o.merge_patch(patch);
    }
    if (it != objects_.end() && o == it->second) return o;  // no change, no new version
    ++writes_;
    return PutLocked(r.resource, o);
  }
  Status Delete(const kube::Resource& r, const std::string& ns, const std::string& name,
                const kube::DeleteOptions& opts = {}) override {
    std::lock_guard lock(mu_);
    auto it = objects_.find(Key(r.resource, ns, name));
    if (it == objects_.end()) return NotFound("gone");
    if (!opts.precondition_resource_version.empty() &&
        it->second["metadata"]["resourceVersion"] != opts.precondition_resource_version) {
      return Status(Code::kConflict, "stale");
    }
    ++writes_;
    objects_.erase(it);
    return Status::Ok();
  }
  Status Watch(const kube::Resource&, const std::string&, const kube::WatchOptions&,
               const kube::WatchEventFn&, kube::CancelToken&) override {
    return Internal("not used");
  }

  // TrustView
  ObjectPtr Bundle(const std::string& name) const override { return Find("trustbundles", "", name); }
  std::vector<ObjectPtr> Namespaces() const override {
    std::vector<ObjectPtr> out;
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : View()) {
      if (k.rfind("namespaces/", 0) == 0) out.push_back(std::make_shared<const json>(v));
    }
    return out;
  }
  // Like the controller's caches when compact_: targets with data digests, the
  // rest as metadata; ConfigMapData reads the object whole.
  ObjectPtr ConfigMap(const std::string& ns, const std::string& name) const override {
    return Cached(Find("configmaps", ns, name));
  }
  Result<ObjectPtr> ConfigMapData(const std::string& ns, const std::string& name) const override {
    return Find("configmaps", ns, name);
  }
  std::vector<ObjectPtr> TargetsOf(const std::string& bundle) const override {
    return Labelled("configmaps", bundle,
                    [this](const json& cm) { return compact_ ? CompactTarget(cm) : cm; });
  }
  ObjectPtr Secret(const std::string& ns, const std::string& name) const override {
    ObjectPtr o = Find("secrets", ns, name);
    if (!o) return o;
    const json& labels = (*o)["metadata"].value("labels", json::object());
    // As the controller's two Secret caches: targets with digests, the rest metadata only.
    return std::make_shared<const json>(labels.contains(kBundleLabel) ? CompactSecretTarget(*o)
                                                                      : CompactMetadata(*o));
  }
  std::vector<ObjectPtr> SecretTargetsOf(const std::string& bundle) const override {
    return Labelled("secrets", bundle,
                    [](const json& secret) { return CompactSecretTarget(secret); });
  }
  ObjectPtr Cached(ObjectPtr o) const {
    if (!o || !compact_) return o;
    const json& labels = (*o)["metadata"].value("labels", json::object());
    return std::make_shared<const json>(labels.contains(kBundleLabel) ? CompactTarget(*o)
                                                                      : CompactMetadata(*o));
  }
  bool compact_ = false;

  bool fail_writes_ = false;
  size_t status_writes_ = 0;

 private:
  static std::string Key(const std::string& resource, const std::string& ns,
                         const std::string& name) {
    return resource + "/" + ns + "/" + name;
  }
  json PutLocked(const std::string& resource, json obj) {
    obj["metadata"]["resourceVersion"] = std::to_string(++rv_);
    objects_[Key(resource, obj["metadata"].value("namespace", ""), obj["metadata"]["name"])] = obj;
    return obj;
  }
  const std::map<std::string, json>& View() const { return is_frozen_ ? frozen_ : objects_; }
  ObjectPtr Find(const std::string& resource, const std::string& ns, const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = View().find(Key(resource, ns, name));
    return it == View().end() ? nullptr : std::make_shared<const json>(it->second);
  }
  // The objects of `resource` with TrustBundle `bundle`'s label, each as `cached` shows it.
  std::vector<ObjectPtr> Labelled(const std::string& resource, const std::string& bundle,
                                  const std::function<json(const json&)>& cached) const {
    std::vector<ObjectPtr> out;
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : View()) {
      if (k.rfind(resource + "/", 0) != 0) continue;
      const json& labels = v["metadata"].value("labels", json::object());
      if (labels.value(kBundleLabel, "") == bundle) {
        out.push_back(std::make_shared<const json>(cached(v)));
      }
    }
    return out;
  }

  mutable std::mutex mu_;
  std::map<std::string, json> objects_, frozen_;
  bool is_frozen_ = false;
  int rv_ = 100;
  size_t writes_ = 0;
};

json Namespace(const std::string& name, json labels = json::object()) {
  labels["kubernetes.io/metadata.name"] = name;
  return {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"status", {{"phase", "Active"}}}};
}

json ConfigMapObj(const std::string& ns, const std::string& name, json data,
                  const std::string& manager = "kubectl-create") {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"uid", "u-" + ns + "-" + name},
            {"managedFields", json::array({{{"manager", manager}}})}}},
          {"data", data}};
}

json BundleObj(const json& spec) {
  return {{"apiVersion", "certguard.io/v1alpha1"},
          {"kind", "TrustBundle"},
          {"metadata", {{"name", "cluster-ca"}, {"uid", "tb-uid"}, {"generation", 1}}},
          {"spec", spec}};
}

json DefaultSpec() {
  return {{"sources", json::array({{{"configMap",
                                     {{"namespace", "kube-system"},
                                      {"name", "kube-root-ca.crt"},
                                      {"key", "ca.crt"}}}}})},
          {"target", {{"configMap", {{"name", "cluster-ca"}}}}},
          {"namespaceSelector", {{"matchLabels", {{"trust", "on"}}}}}};
}

ReconcilerOptions ClockAt(const common::Clock& clock) {
  ReconcilerOptions o;
  o.clock = &clock;
  return o;
}

struct Fixture {
  FakeApi api;
  kube::testing::FakeRecorder events;
  prometheus::Registry registry;
  TrustMetrics metrics{registry};
  // The reconciler's clock, fixed so that two runs in different seconds compute one status
  // (a status time that moved would be a write of its own); tests move it by hand.
  common::FakeClock clock{common::SystemClock().Now()};
  TrustBundleReconciler reconciler{api, api, events, metrics, ClockAt(clock)};
  std::string ca1 = CertBuilder().Cn("cluster-ca-1").Ca().Pem();
  std::string ca2 = CertBuilder().Cn("cluster-ca-2").Ca().Pem();

  Fixture() {
    api.observer = [this](const json& cm, bool deleted) { reconciler.Observe(cm, deleted); };
    api.Put("namespaces", Namespace("kube-system"));
    api.Put("configmaps", ConfigMapObj("kube-system", "kube-root-ca.crt", {{"ca.crt", ca1}},
                                       "kube-controller-manager"));
    for (int i = 0; i < 5; ++i) {
      api.Put("namespaces", Namespace("app-" + std::to_string(i), {{"trust", "on"}}));
    }
    api.Put("namespaces", Namespace("other"));
    api.Put("trustbundles", BundleObj(DefaultSpec()));
  }
  kube::ReconcileResult Run() { return reconciler.Reconcile("cluster-ca"); }
  // The source turns to junk.
  void BreakSource() {
    api.Put("configmaps", ConfigMapObj("kube-system", "kube-root-ca.crt", {{"ca.crt", "junk"}}));
  }
  // A restart, with namespace "late" selected meanwhile: a fresh reconciler with `options`
  // reconciles the bundle once.
  void RestartWithLateNamespace(const ReconcilerOptions& options = {}) {
    api.Put("namespaces", Namespace("late", {{"trust", "on"}}));
    TrustBundleReconciler fresh(api, api, events, metrics, options);
    (void)fresh.Reconcile("cluster-ca");
  }
  std::string TargetPem(const std::string& ns, const std::string& name = "cluster-ca") {
    json cm = api.GetObj("configmaps", ns, name);
    return cm.is_null() ? "<absent>" : cm["data"].value("ca.crt", "<no key>");
  }
  json BundleStatus() { return api.GetObj("trustbundles", "", "cluster-ca").value("status", json()); }
  std::string Condition(const std::string& type, const char* field = "status") {
    const json status = BundleStatus();
    const json* c = FindCondition(status, type);
    return c ? (*c)[field].get<std::string>() : "absent";
  }
  std::string Metrics() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, registry.Collect());
    return out.str();
  }
};

}  // namespace

std::string BundleOf(const std::string& pem) {
  SourceContent s;
  s.id = "t";
  s.entries = {{"k", pem}};
  return Build({s}, {}, std::chrono::time_point_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now()))
      .pem;
}

TEST_CASE("Reconcile writes the bundle into every selected namespace, once", "[trust]") {
  Fixture f;
  auto r = f.Run();
  CHECK(r.kind == kube::ReconcileResult::Kind::kDone);
  const std::string want = BundleOf(f.ca1);
  for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i)) == want);
  CHECK(f.TargetPem("other") == "<absent>");
  CHECK(f.TargetPem("kube-system") == "<absent>");

  json cm = f.api.GetObj("configmaps", "app-0", "cluster-ca");
  CHECK(cm["metadata"]["labels"][kBundleLabel] == "cluster-ca");
  CHECK(cm["metadata"]["ownerReferences"][0]["uid"] == "tb-uid");
  CHECK(cm["metadata"]["ownerReferences"][0]["kind"] == "TrustBundle");

  CHECK(f.Condition("Synced") == "True");
  CHECK(f.Condition("SourceError") == "False");
  json st = f.BundleStatus();
  CHECK(st["certificates"] == 1);
  CHECK(st["fingerprint"] == BundleFingerprint(want));
  CHECK(st["targets"]["synced"] == 5);
  CHECK(f.events.Has("BundleUpdated"));
  CHECK_THAT(f.Metrics(), Catch::Contains("certguard_trustbundle_targets{bundle=\"cluster-ca\",state=\"synced\"} 5"));

  // A second reconcile changes nothing: no write at all, no resourceVersion bump.
  const size_t writes = f.api.writes();
  const std::string rv = f.api.GetObj("configmaps", "app-3", "cluster-ca")["metadata"]["resourceVersion"];
  CHECK(f.Run().kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.api.writes() == writes);
  CHECK(f.api.GetObj("configmaps", "app-3", "cluster-ca")["metadata"]["resourceVersion"] == rv);
}

TEST_CASE("Edited and deleted targets are repaired, unselected namespaces lose theirs", "[trust]") {
  Fixture f;
  (void)f.Run();
  const std::string want = BundleOf(f.ca1);
  json edited = f.api.GetObj("configmaps", "app-1", "cluster-ca");
  edited["data"]["ca.crt"] = "tampered";
  f.api.Put("configmaps", edited);
  f.api.Remove("configmaps", "app-2", "cluster-ca");
  f.api.Put("namespaces", Namespace("app-4"));  // label removed
  f.api.Put("namespaces", Namespace("late", {{"trust", "on"}}));
  (void)f.Run();
  CHECK(f.TargetPem("app-1") == want);
  CHECK(f.TargetPem("app-2") == want);
  CHECK(f.TargetPem("app-4") == "<absent>");
  CHECK(f.TargetPem("late") == want);
  CHECK(f.BundleStatus()["targets"]["synced"] == 5);
}

TEST_CASE("A rotation reaches every target: new CA added, then the old one removed", "[trust]") {
  Fixture f;
  (void)f.Run();
  f.api.Put("configmaps", ConfigMapObj("kube-system", "kube-root-ca.crt",
                                       {{"ca.crt", JoinPem({f.ca1, f.ca2})}}, "kube-controller-manager"));
  (void)f.Run();
  for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i)) == BundleOf(JoinPem({f.ca1, f.ca2})));
  CHECK(f.BundleStatus()["certificates"] == 2);
  f.api.Put("configmaps", ConfigMapObj("kube-system", "kube-root-ca.crt", {{"ca.crt", f.ca2}},
                                       "kube-controller-manager"));
  (void)f.Run();
  for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i)) == BundleOf(f.ca2));
}

TEST_CASE("A garbage or missing source leaves every target on the last good bundle", "[trust]") {
  Fixture f;
  (void)f.Run();
  const std::string good = BundleOf(f.ca1);
  const std::string fingerprint = f.BundleStatus()["fingerprint"];

  SECTION("garbage") {
    f.api.Put("configmaps", ConfigMapObj("kube-system", "kube-root-ca.crt",
                                         {{"ca.crt", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"}}));
    (void)f.Run();
    CHECK(f.Condition("SourceError", "reason") == "InvalidBlock");
  }
  SECTION("emptied") {
    f.api.Put("configmaps", ConfigMapObj("kube-system", "kube-root-ca.crt", {{"ca.crt", ""}}));
    (void)f.Run();
    CHECK(f.Condition("SourceError", "reason") == "Empty");
  }
  SECTION("deleted") {
    f.api.Remove("configmaps", "kube-system", "kube-root-ca.crt");
    (void)f.Run();
    CHECK(f.Condition("SourceError", "reason") == "Unreadable");
  }
  CHECK(f.Condition("SourceError") == "True");
  CHECK_THAT(f.Condition("SourceError", "message"), Catch::Contains("keeping the last good bundle"));
  CHECK(f.BundleStatus()["fingerprint"] == fingerprint);
  for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i)) == good);
  CHECK(f.events.Has("SourceError"));
  CHECK_THAT(f.Metrics(), Catch::Contains("certguard_trustbundle_source_errors_total{bundle=\"cluster-ca\""));

  // A namespace selected meanwhile gets the last good bundle, and an edit is still repaired.
  f.api.Put("namespaces", Namespace("late", {{"trust", "on"}}));
  json edited = f.api.GetObj("configmaps", "app-0", "cluster-ca");
  edited["data"]["ca.crt"] = "tampered";
  f.api.Put("configmaps", edited);
  (void)f.Run();
  CHECK(f.TargetPem("late") == good);
  CHECK(f.TargetPem("app-0") == good);
}

TEST_CASE("After a restart the last good bundle is read back from a target", "[trust]") {
  Fixture f;
  (void)f.Run();
  const std::string good = BundleOf(f.ca1);
  f.BreakSource();
  f.RestartWithLateNamespace();
  CHECK(f.TargetPem("late") == good);
}

TEST_CASE("A broken source with no good bundle yet writes nothing", "[trust]") {
  Fixture f;
  f.BreakSource();
  (void)f.Run();
  for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i)) == "<absent>");
  CHECK(f.Condition("Synced", "reason") == "NoBundle");
  CHECK(f.Condition("SourceError") == "True");
}

TEST_CASE("kube-root-ca.crt as a target is never overwritten", "[trust]") {
  Fixture f;
  json spec = DefaultSpec();
  spec["target"]["configMap"]["name"] = "kube-root-ca.crt";
  f.api.Put("trustbundles", BundleObj(spec));
  for (int i = 0; i < 5; ++i) {
    f.api.Put("configmaps", ConfigMapObj("app-" + std::to_string(i), "kube-root-ca.crt",
                                         {{"ca.crt", "the cluster's own"}}, "kube-controller-manager"));
  }
  (void)f.Run();
  for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i), "kube-root-ca.crt") == "the cluster's own");
  CHECK(f.Condition("Synced", "reason") == "TargetConflict");
  CHECK_THAT(f.Condition("Synced", "message"), Catch::Contains("kept by kube-controller-manager"));
  CHECK(f.BundleStatus()["targets"]["failed"] == 5);
  CHECK(f.events.Has("TargetConflict"));
}

TEST_CASE("Deleting a TrustBundle never deletes a ConfigMap it did not create", "[trust]") {
  Fixture f;
  f.api.Put("configmaps", ConfigMapObj("other", "cluster-ca", {{"ca.crt", "mine"}}));
  json spec = DefaultSpec();
  spec["namespaces"] = json::array({"other"});
  f.api.Put("trustbundles", BundleObj(spec));
  (void)f.Run();
  CHECK(f.TargetPem("other") == "mine");  // foreign: not written
  spec.erase("namespaces");
  f.api.Put("trustbundles", BundleObj(spec));
  (void)f.Run();
  CHECK(f.TargetPem("other") == "mine");  // no longer selected, still not ours: kept
  f.api.Remove("trustbundles", "", "cluster-ca");
  CHECK(f.Run().kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.TargetPem("other") == "mine");
}

TEST_CASE("A trust gap is reported, then cleared once the consumer holds the CA", "[trust]") {
  Fixture f;
  json spec = DefaultSpec();
  spec["verify"] = json::array({{{"name", "kube-root-ca.crt"}}});
  f.api.Put("trustbundles", BundleObj(spec));
  for (int i = 0; i < 5; ++i) {
    f.api.Put("configmaps", ConfigMapObj("app-" + std::to_string(i), "kube-root-ca.crt",
                                         {{"ca.crt", f.ca1}}, "kube-controller-manager"));
  }
  (void)f.Run();
  CHECK(f.Condition("TrustGap") == "False");
  f.api.Put("configmaps", ConfigMapObj("kube-system", "kube-root-ca.crt",
                                       {{"ca.crt", JoinPem({f.ca1, f.ca2})}}, "kube-controller-manager"));
  (void)f.Run();
  CHECK(f.Condition("TrustGap") == "True");
  CHECK(f.BundleStatus()["trustGaps"].size() == 5);
  CHECK_THAT(f.Metrics(), Catch::Contains("certguard_trust_gap{bundle=\"cluster-ca\",name=\"kube-root-ca.crt\",namespace=\"app-0\"} 1"));
  CHECK(f.events.Has("TrustGap"));
  for (int i = 0; i < 5; ++i) {
    f.api.Put("configmaps", ConfigMapObj("app-" + std::to_string(i), "kube-root-ca.crt",
                                         {{"ca.crt", JoinPem({f.ca2, f.ca1})}}, "kube-controller-manager"));
  }
  (void)f.Run();
  CHECK(f.Condition("TrustGap") == "False");
  CHECK_THAT(f.Metrics(), Catch::Contains("certguard_trust_gap{bundle=\"cluster-ca\",name=\"kube-root-ca.crt\",namespace=\"app-0\"} 0"));
}

TEST_CASE("A stale cache does not cause the same write twice", "[trust]") {
  Fixture f;
  f.api.Freeze();  // the cache will not see the writes
  (void)f.Run();
  const size_t writes = f.api.writes();
  CHECK(writes >= 5);
  (void)f.Run();
  CHECK(f.api.writes() == writes);
  f.api.Thaw();
  (void)f.Run();
  CHECK(f.api.writes() == writes);
}

TEST_CASE("Write failures are retried and reported", "[trust]") {
  Fixture f;
  f.api.fail_writes_ = true;
  auto r = f.Run();
  CHECK(r.kind == kube::ReconcileResult::Kind::kRetry);
  CHECK(f.Condition("Synced", "reason") == "WriteFailed");
  CHECK(f.BundleStatus()["targets"]["failed"] == 5);
  f.api.fail_writes_ = false;
  CHECK(f.Run().kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.Condition("Synced") == "True");
}

TEST_CASE("An invalid spec is reported, not retried", "[trust]") {
  Fixture f;
  json spec = DefaultSpec();
  spec["namespaceSelector"] = {{"matchExpressions", json::array({{{"key", "a"}, {"operator", "Near"}}})}};
  f.api.Put("trustbundles", BundleObj(spec));
  CHECK(f.Run().kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.Condition("Synced", "reason") == "InvalidSpec");
  CHECK(f.events.Has("InvalidSpec"));
}

TEST_CASE("Secret sources are read and polled", "[trust]") {
  Fixture f;
  json spec = DefaultSpec();
  spec["sources"] = json::array({{{"secret", {{"namespace", "kube-system"}, {"name", "root"}, {"key", "ca.crt"}}}}});
  f.api.Put("trustbundles", BundleObj(spec));
  std::string b64 = Base64(f.ca2);
  f.api.Put("secrets", {{"metadata", {{"name", "root"}, {"namespace", "kube-system"}}},
                        {"data", {{"ca.crt", b64}}}});
  auto r = f.Run();
  CHECK(r.kind == kube::ReconcileResult::Kind::kRequeueAfter);
  CHECK(f.TargetPem("app-0") == BundleOf(f.ca2));
}

TEST_CASE("InterestedBundles maps ConfigMap changes to bundles", "[trust]") {
  Fixture f;
  json spec = DefaultSpec();
  spec["verify"] = json::array({{{"name", "kube-root-ca.crt"}}, {{"namespace", "x"}, {"name", "special"}}});
  f.api.Put("trustbundles", BundleObj(spec));
  (void)f.Run();
  auto of = [&](const std::string& ns, const std::string& name, json labels = json::object()) {
    json cm = ConfigMapObj(ns, name, json::object());
    cm["metadata"]["labels"] = labels;
    return f.reconciler.InterestedBundles(cm);
  };
  CHECK(of("kube-system", "kube-root-ca.crt") == std::vector<std::string>{"cluster-ca"});  // source
  CHECK(of("app-9", "cluster-ca") == std::vector<std::string>{"cluster-ca"});             // target name
  CHECK(of("x", "special") == std::vector<std::string>{"cluster-ca"});                    // consumer
  CHECK(of("y", "special").empty());
  CHECK(of("y", "random").empty());
  CHECK(of("y", "random", {{kBundleLabel, "elsewhere"}}) == std::vector<std::string>{"elsewhere"});
}

TEST_CASE("A reserved target name is refused: nothing created, TargetConflict", "[trust]") {
  for (const char* name : {"kube-root-ca.crt", "openshift-service-ca.crt"}) {
    INFO(name);
    Fixture f;
    json spec = DefaultSpec();
    spec["target"]["configMap"]["name"] = name;
    f.api.Put("trustbundles", BundleObj(spec));
    const size_t before = f.api.writes();
    (void)f.Run();
    // Missing everywhere (as just after a deletion): still never created.
    for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i), name) == "<absent>");
    CHECK(f.api.writes() == before + 1);  // the status only
    CHECK(f.Condition("Synced", "reason") == "TargetConflict");
    CHECK_THAT(f.Condition("Synced", "message"), Catch::Contains("in every namespace"));
  }
}

TEST_CASE("A TrustBundle name over 63 characters is an invalid spec", "[trust]") {
  Fixture f;
  json bundle = BundleObj(DefaultSpec());
  const std::string long_name(64, 'a');
  bundle["metadata"]["name"] = long_name;
  f.api.Put("trustbundles", bundle);
  auto r = f.reconciler.Reconcile(long_name);
  CHECK(r.kind == kube::ReconcileResult::Kind::kDone);
  for (int i = 0; i < 5; ++i) CHECK(f.TargetPem("app-" + std::to_string(i)) == "<absent>");
  const json status = f.api.GetObj("trustbundles", "", long_name)["status"];
  const json* synced = FindCondition(status, "Synced");
  REQUIRE(synced != nullptr);
  CHECK((*synced)["reason"] == "InvalidSpec");
  CHECK_THAT((*synced)["message"].get<std::string>(), Catch::Contains("at most 63"));
  CHECK(BundleNameProblem(std::string(63, 'a')).empty());
}

TEST_CASE("A ConfigMap with certguard's label but other managers is not overwritten", "[trust]") {
  Fixture f;
  (void)f.Run();
  // Deleted, then recreated by another writer that copied label and owner reference.
  json taken = f.api.GetObj("configmaps", "app-0", "cluster-ca");
  taken["metadata"]["managedFields"] = json::array({{{"manager", "other-operator"}}});
  taken["data"]["ca.crt"] = "theirs";
  f.api.Put("configmaps", taken);
  f.api.compact_ = true;
  (void)f.Run();
  CHECK(f.TargetPem("app-0") == "theirs");
  CHECK(f.Condition("Synced", "reason") == "TargetConflict");
  CHECK_THAT(f.Condition("Synced", "message"), Catch::Contains("not created by certguard"));
}

TEST_CASE("Targets cached as digests are in sync and give back the last good bundle",
          "[trust]") {
  Fixture f;
  f.api.compact_ = true;
  (void)f.Run();
  const std::string good = BundleOf(f.ca1);
  CHECK(f.TargetPem("app-0") == good);
  const size_t writes = f.api.writes();
  (void)f.Run();
  CHECK(f.api.writes() == writes);  // the digest matches: nothing rewritten
  // After a restart with a broken source: the cache holds digests, the bundle is read back.
  f.BreakSource();
  f.RestartWithLateNamespace();
  CHECK(f.TargetPem("late") == good);
}

TEST_CASE("CompactTarget keeps digests and managers, CompactMetadata no data", "[trust]") {
  json cm = ConfigMapObj("a", "t", {{"ca.crt", std::string(4096, 'x')}}, "certguard");
  cm["metadata"]["labels"] = {{kBundleLabel, "b"}};
  cm["metadata"]["managedFields"][0]["fieldsV1"] = {{"f:data", json::object()}};
  json target = CompactTarget(cm);
  CHECK(target["data"]["ca.crt"] == DigestMarker(std::string(4096, 'x')));
  CHECK(target["metadata"]["managedFields"] == json::array({{{"manager", "certguard"}}}));
  ConfigMapFacts facts = FactsOf(target);
  CHECK(facts.managers_known);
  CHECK(facts.managers == std::vector<std::string>{"certguard"});

  cm["metadata"]["annotations"] = {{"big", std::string(1000, 'y')},
                                   {"service.beta.openshift.io/inject-cabundle", "true"}};
  json meta = CompactMetadata(cm);
  CHECK_FALSE(meta.contains("data"));
  CHECK(meta["metadata"]["name"] == "t");
  CHECK(meta["metadata"]["uid"] == "u-a-t");
  CHECK(meta["metadata"]["annotations"].size() == 1);
  CHECK_FALSE(KnownOwnerReason(FactsOf(meta)).empty());
}

namespace {

json WithSecretTarget(json spec, bool configmap_too) {
  spec["target"]["secret"] = {{"name", "cluster-ca-secret"}, {"labels", {{"team", "infra"}}}};
  if (!configmap_too) spec["target"].erase("configMap");
  return spec;
}

ReconcilerOptions WithSecrets(const common::Clock& clock) {
  ReconcilerOptions o = ClockAt(clock);
  o.secret_targets = true;
  return o;
}

std::string SecretPem(FakeApi& api, const std::string& ns) {
  json s = api.GetObj("secrets", ns, "cluster-ca-secret");
  if (s.is_null()) return "<absent>";
  auto pem = x509::pem::DecodeBody(s["data"].value("ca.crt", "!"));
  return pem.ok() ? *pem : "<not base64>";
}

}  // namespace

TEST_CASE("A Secret target is written as an Opaque Secret beside the ConfigMap target",
          "[trust][secret-target]") {
  Fixture f;
  f.api.Put("trustbundles", BundleObj(WithSecretTarget(DefaultSpec(), true)));
  TrustBundleReconciler r(f.api, f.api, f.events, f.metrics, WithSecrets(f.clock));
  CHECK(r.Reconcile("cluster-ca").kind == kube::ReconcileResult::Kind::kDone);
  const std::string want = BundleOf(f.ca1);
  for (int i = 0; i < 5; ++i) {
    CHECK(SecretPem(f.api, "app-" + std::to_string(i)) == want);
    CHECK(f.TargetPem("app-" + std::to_string(i)) == want);
  }
  CHECK(SecretPem(f.api, "other") == "<absent>");
  json s = f.api.GetObj("secrets", "app-0", "cluster-ca-secret");
  CHECK(s["kind"] == "Secret");
  CHECK(s["type"] == "Opaque");
  CHECK(s["data"]["ca.crt"] == Base64(want));
  CHECK(s["metadata"]["labels"][kBundleLabel] == "cluster-ca");
  CHECK(s["metadata"]["labels"]["team"] == "infra");
  CHECK(s["metadata"]["ownerReferences"][0]["kind"] == "TrustBundle");
  CHECK(s["metadata"]["ownerReferences"][0]["uid"] == "tb-uid");
  CHECK(f.Condition("Synced") == "True");
  CHECK(f.BundleStatus()["targets"]["synced"] == 10);  // five ConfigMaps, five Secrets

  // In sync through the digests the Secret cache keeps: nothing written again.
  const size_t writes = f.api.writes();
  CHECK(r.Reconcile("cluster-ca").kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.api.writes() == writes);

  // Drift is repaired: an edited Secret target and a deleted one.
  s["data"]["ca.crt"] = Base64("edited");
  f.api.Put("secrets", s);
  f.api.Remove("secrets", "app-1", "cluster-ca-secret");
  f.clock.Advance(std::chrono::seconds(31));  // past the trust in its own writes
  (void)r.Reconcile("cluster-ca");
  CHECK(SecretPem(f.api, "app-0") == want);
  CHECK(SecretPem(f.api, "app-1") == want);

  // A new namespace is reached.
  f.api.Put("namespaces", Namespace("late", {{"trust", "on"}}));
  (void)r.Reconcile("cluster-ca");
  CHECK(SecretPem(f.api, "late") == want);
}

TEST_CASE("A Secret-only target keeps the last good bundle when the source turns bad",
          "[trust][secret-target]") {
  Fixture f;
  f.api.Put("trustbundles", BundleObj(WithSecretTarget(DefaultSpec(), false)));
  TrustBundleReconciler r(f.api, f.api, f.events, f.metrics, WithSecrets(f.clock));
  (void)r.Reconcile("cluster-ca");
  const std::string good = BundleOf(f.ca1);
  CHECK(SecretPem(f.api, "app-0") == good);
  CHECK(f.TargetPem("app-0") == "<absent>");  // no ConfigMap target

  f.BreakSource();
  (void)r.Reconcile("cluster-ca");
  CHECK(SecretPem(f.api, "app-0") == good);
  CHECK(f.Condition("SourceError") == "True");

  // After a restart, the last good bundle is read back from a Secret target.
  f.RestartWithLateNamespace(WithSecrets(f.clock));
  CHECK(SecretPem(f.api, "late") == good);
}

TEST_CASE("A foreign Secret of the target's name is never overwritten", "[trust][secret-target]") {
  Fixture f;
  f.api.Put("trustbundles", BundleObj(WithSecretTarget(DefaultSpec(), false)));
  json theirs = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"type", "Opaque"},
                 {"metadata",
                  {{"name", "cluster-ca-secret"},
                   {"namespace", "app-2"},
                   {"managedFields", json::array({{{"manager", "kubectl-create"}}})}}},
                 {"data", {{"ca.crt", Base64("theirs")}}}};
  f.api.Put("secrets", theirs);
  // One carrying certguard's label and owner reference, but of another type.
  json tls = theirs;
  tls["type"] = "kubernetes.io/tls";
  tls["metadata"]["namespace"] = "app-3";
  tls["metadata"]["labels"] = {{kBundleLabel, "cluster-ca"}};
  tls["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "certguard.io/v1alpha1"},
                                                     {"kind", "TrustBundle"},
                                                     {"name", "cluster-ca"},
                                                     {"uid", "tb-uid"}}});
  tls["metadata"]["managedFields"] = json::array({{{"manager", "certguard"}}});
  f.api.Put("secrets", tls);
  TrustBundleReconciler r(f.api, f.api, f.events, f.metrics, WithSecrets(f.clock));
  (void)r.Reconcile("cluster-ca");
  CHECK(SecretPem(f.api, "app-2") == "theirs");
  CHECK(SecretPem(f.api, "app-3") == "theirs");
  CHECK(SecretPem(f.api, "app-0") == BundleOf(f.ca1));
  CHECK(f.Condition("Synced", "reason") == "TargetConflict");
  CHECK_THAT(f.Condition("Synced", "message"), Catch::Contains("app-2/Secret cluster-ca-secret"));
  CHECK_THAT(f.Condition("Synced", "message"),
             Catch::Contains("a Secret of type kubernetes.io/tls, not Opaque"));
}

TEST_CASE("With Secret targets disabled, a Secret target is reported and not written",
          "[trust][secret-target]") {
  Fixture f;
  f.api.Put("trustbundles", BundleObj(WithSecretTarget(DefaultSpec(), true)));
  (void)f.Run();  // the fixture's reconciler: default options, Secret targets off
  CHECK(SecretPem(f.api, "app-0") == "<absent>");
  CHECK(f.TargetPem("app-0") == BundleOf(f.ca1));  // the ConfigMap target still is
  CHECK(f.Condition("Synced") == "False");
  CHECK(f.Condition("Synced", "reason") == "SecretTargetsDisabled");
  CHECK_THAT(f.Condition("Synced", "message"), Catch::Contains("--trust-secret-targets"));
}

TEST_CASE("Secret changes map to the bundles that write or read them", "[trust][secret-target]") {
  Fixture f;
  json spec = WithSecretTarget(DefaultSpec(), true);
  spec["sources"].push_back(
      {{"secret", {{"namespace", "certs"}, {"name", "root"}, {"key", "ca.crt"}}}});
  f.api.Put("trustbundles", BundleObj(spec));
  TrustBundleReconciler r(f.api, f.api, f.events, f.metrics, WithSecrets(f.clock));
  (void)r.Reconcile("cluster-ca");
  auto secret = [](const std::string& ns, const std::string& name) {
    return json{{"metadata", {{"namespace", ns}, {"name", name}}}};
  };
  CHECK(r.InterestedBundlesOfSecret(secret("any", "cluster-ca-secret")) ==
        std::vector<std::string>{"cluster-ca"});
  CHECK(r.InterestedBundlesOfSecret(secret("certs", "root")) ==
        std::vector<std::string>{"cluster-ca"});
  CHECK(r.InterestedBundlesOfSecret(secret("certs", "other")).empty());
  // The ConfigMap target's name is no Secret's concern.
  CHECK(r.InterestedBundlesOfSecret(secret("any", "cluster-ca")).empty());
}

TEST_CASE("CompactSecretTarget keeps digests of the decoded data, never the data",
          "[trust][secret-target]") {
  json s = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"type", "Opaque"},
            {"metadata",
             {{"name", "t"},
              {"namespace", "a"},
              {"managedFields",
               json::array({{{"manager", "certguard"}, {"fieldsV1", json::object()}}})}}},
            {"data", {{"ca.crt", Base64("pem-bytes")}, {"bad", "%%%"}}}};
  json c = CompactSecretTarget(s);
  CHECK(c["data"]["ca.crt"] == DigestMarker("pem-bytes"));
  CHECK(IsDigestMarker(c["data"]["bad"].get<std::string>()));
  CHECK(c["data"]["bad"] != DigestMarker("%%%"));
  CHECK(c["type"] == "Opaque");
  CHECK(c["metadata"]["managedFields"] == json::array({{{"manager", "certguard"}}}));
  ConfigMapFacts facts = FactsOf(c, /*secret=*/true);
  CHECK(facts.secret);
  CHECK(facts.type == "Opaque");
  CHECK(facts.data.at("ca.crt") == DigestMarker("pem-bytes"));
}

namespace {

// The PKCS#12 a ConfigMap target holds, read with `password`: its certificate count, or -1.
int Pkcs12Certs(FakeApi& api, const std::string& ns, const std::string& password) {
  json cm = api.GetObj("configmaps", ns, "cluster-ca");
  if (cm.is_null() || !cm.value("binaryData", json::object()).contains("bundle.p12")) return -1;
  auto der = x509::pem::DecodeBody(cm["binaryData"]["bundle.p12"].get<std::string>());
  if (!der.ok()) return -1;
  auto certs = ReadPkcs12Truststore(*der, password);
  return certs.ok() ? static_cast<int>(certs->size()) : -1;
}

json PasswordSecret(const std::string& password) {
  return {{"metadata", {{"namespace", "certs"}, {"name", "p12-pass"}}},
          {"data", {{"password", Base64(password)}}}};
}

// The default TrustBundle, its target written also as `format` (key, password ...: `settings`).
json BundleWithFormat(const std::string& format, json settings) {
  json spec = DefaultSpec();
  spec["target"]["additionalFormats"] = {{format, std::move(settings)}};
  return BundleObj(spec);
}

}  // namespace

TEST_CASE("A PKCS#12 password from a Secret: written under it, re-encoded when it changes, "
          "nothing written while it is missing",
          "[trust][passwords]") {
  Fixture f;
  f.api.Put("trustbundles",
            BundleWithFormat("pkcs12", {{"key", "bundle.p12"},
                                        {"passwordSecretRef", {{"namespace", "certs"},
                                                               {"name", "p12-pass"},
                                                               {"key", "password"}}}}));

  // No Secret yet: nothing written, a condition that says which, a poll.
  auto missing = f.Run();
  CHECK(missing.kind == kube::ReconcileResult::Kind::kRequeueAfter);
  CHECK(f.TargetPem("app-0") == "<absent>");
  CHECK(f.Condition("Synced") == "False");
  CHECK(f.Condition("Synced", "reason") == "PasswordUnavailable");
  CHECK_THAT(f.Condition("Synced", "message"),
             Catch::Contains("spec.target.additionalFormats.pkcs12.passwordSecretRef: "
                             "secret certs/p12-pass[password]: the Secret does not exist"));
  CHECK(f.events.Has("PasswordUnavailable"));

  // The Secret appears: every target gets the truststore under its password.
  f.api.Put("secrets", PasswordSecret("one"));
  CHECK(f.Run().kind == kube::ReconcileResult::Kind::kRequeueAfter);  // polled: not always watched
  CHECK(f.Condition("Synced") == "True");
  for (int i = 0; i < 5; ++i) CHECK(Pkcs12Certs(f.api, "app-" + std::to_string(i), "one") == 1);
  CHECK(Pkcs12Certs(f.api, "app-0", "two") == -1);
  const std::string digest1 =
      f.api.GetObj("configmaps", "app-0", "cluster-ca")["metadata"]["annotations"][kPkcs12Annotation];

  // The password rotates: re-encoded under the new one, with a new digest.
  f.api.Put("secrets", PasswordSecret("two"));
  (void)f.Run();
  for (int i = 0; i < 5; ++i) CHECK(Pkcs12Certs(f.api, "app-" + std::to_string(i), "two") == 1);
  CHECK(Pkcs12Certs(f.api, "app-0", "one") == -1);
  const std::string digest2 =
      f.api.GetObj("configmaps", "app-0", "cluster-ca")["metadata"]["annotations"][kPkcs12Annotation];
  CHECK(digest2 != digest1);
  const json status_ok = f.BundleStatus();

  // The key goes, then the Secret: the targets keep the last good truststore,
  // no write at all, and the status keeps its counts.
  for (const json& broken : {json{{"metadata", {{"namespace", "certs"}, {"name", "p12-pass"}}},
                                  {"data", {{"other", Base64("x")}}}},
                             json()}) {
    if (broken.is_null()) {
      f.api.Remove("secrets", "certs", "p12-pass");
    } else {
      f.api.Put("secrets", broken);
    }
    auto rv = [&] {
      return f.api.GetObj("configmaps", "app-3", "cluster-ca")["metadata"].value("resourceVersion", "");
    };
    const std::string rv_before = rv();
    CHECK(f.Run().kind == kube::ReconcileResult::Kind::kRequeueAfter);
    CHECK(f.Condition("Synced", "reason") == "PasswordUnavailable");
    CHECK_THAT(f.Condition("Synced", "message"),
               Catch::Contains(broken.is_null() ? "the Secret does not exist"
                                                : "the Secret has no such key"));
    CHECK(rv() == rv_before);
    CHECK(Pkcs12Certs(f.api, "app-3", "two") == 1);
    CHECK(f.BundleStatus()["targets"] == status_ok["targets"]);
    CHECK(f.BundleStatus()["fingerprint"] == status_ok["fingerprint"]);
  }

  // An unusable password (PKCS#12 wants printable ASCII) is refused the same way.
  f.api.Put("secrets", PasswordSecret("caf\xc3\xa9"));
  (void)f.Run();
  CHECK(f.Condition("Synced", "reason") == "PasswordUnavailable");
  CHECK_THAT(f.Condition("Synced", "message"), Catch::Contains("must be printable ASCII"));
  CHECK(Pkcs12Certs(f.api, "app-3", "two") == 1);
}

TEST_CASE("A password Secret's change maps to the bundles that read it", "[trust][passwords]") {
  Fixture f;
  f.api.Put("trustbundles",
            BundleWithFormat("jks", {{"key", "bundle.jks"},
                                     {"passwordSecretRef", {{"namespace", "certs"},
                                                            {"name", "jks-pass"},
                                                            {"key", "pw"}}}}));
  (void)f.Run();
  auto secret = [](const std::string& ns, const std::string& name) {
    return json{{"metadata", {{"namespace", ns}, {"name", name}}}};
  };
  CHECK(f.reconciler.InterestedBundlesOfSecret(secret("certs", "jks-pass")) ==
        std::vector<std::string>{"cluster-ca"});
  CHECK(f.reconciler.InterestedBundlesOfSecret(secret("other", "jks-pass")).empty());
}

TEST_CASE("Both password and passwordSecretRef is an invalid spec, not a crash",
          "[trust][passwords]") {
  Fixture f;
  f.api.Put("trustbundles",
            BundleWithFormat("pkcs12", {{"key", "bundle.p12"},
                                        {"password", "inline"},
                                        {"passwordSecretRef",
                                         {{"namespace", "certs"}, {"name", "p"}, {"key", "k"}}}}));
  CHECK(f.Run().kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.Condition("Synced", "reason") == "InvalidSpec");
  CHECK_THAT(f.Condition("Synced", "message"),
             Catch::Contains("password and passwordSecretRef are mutually exclusive"));
  CHECK(f.TargetPem("app-0") == "<absent>");
}
