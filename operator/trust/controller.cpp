#include "trust/controller.h"

#include <map>
#include <mutex>
#include <set>

#include "common/log.h"
#include "common/memory.h"
#include "kube/resource.h"
#include "trust/plan.h"
#include "trust/sources.h"

namespace certguard::trust {

// The informers' caches as the reconciler's TrustView. certguard's targets are
// cached with their data as digests; other ConfigMaps as metadata only. The data
// of sources and consumers is read when needed and kept per resourceVersion, for
// the ConfigMaps TrustBundles name and no others.
class TrustController::View : public TrustView {
 public:
  View(kube::Client& client, const kube::Store& bundles, const kube::Store& namespaces,
       const kube::Store& targets, const kube::Store& configmaps, const kube::Store* secret_targets,
       const kube::Store* secrets)
      : client_(client),
        bundles_(bundles),
        namespaces_(namespaces),
        targets_(targets),
        configmaps_(configmaps),
        secret_targets_(secret_targets),
        secrets_(secrets) {}

  ObjectPtr Bundle(const std::string& name) const override { return bundles_.Get(name); }
  std::vector<ObjectPtr> Namespaces() const override { return namespaces_.List(); }
  ObjectPtr ConfigMap(const std::string& ns, const std::string& name) const override {
    const std::string key = kube::MakeKey(ns, name);
    if (ObjectPtr t = targets_.Get(key)) return t;
    return configmaps_.Get(key);
  }
  Result<ObjectPtr> ConfigMapData(const std::string& ns, const std::string& name) const override {
    const std::string key = kube::MakeKey(ns, name);
    ObjectPtr meta = ConfigMap(ns, name);
    if (!meta) return ObjectPtr();  // the cache holds every ConfigMap's metadata
    const std::string rv = ResourceVersion(*meta);
    {
      std::lock_guard lock(mu_);
      auto it = data_.find(key);
      if (it != data_.end() && it->second.first == rv) return it->second.second;
    }
    auto live = client_.Get(kube::resources::kConfigMaps, ns, name);
    if (!live.ok()) {
      if (live.status().code() == Code::kNotFound) return ObjectPtr();
      return live.status();
    }
    auto obj = std::make_shared<const nlohmann::json>(std::move(*live));
    std::lock_guard lock(mu_);
    // Kept under the cache's version: a newer live one is read again once the cache shows it.
    data_[key] = {rv, obj};
    return ObjectPtr(obj);
  }
  ObjectPtr Secret(const std::string& ns, const std::string& name) const override {
    if (!secret_targets_ || !secrets_) return nullptr;
    const std::string key = kube::MakeKey(ns, name);
    if (ObjectPtr t = secret_targets_->Get(key)) return t;
    return secrets_->Get(key);
  }
  std::vector<ObjectPtr> TargetsOf(const std::string& bundle) const override {
    return Collect(targets_, bundle);
  }
  std::vector<ObjectPtr> SecretTargetsOf(const std::string& bundle) const override {
    if (!secret_targets_) return {};
    return Collect(*secret_targets_, bundle);
  }
  void ForEachNamespace(const Visit& fn) const override { namespaces_.ForEach(fn); }
  void ForEachTargetOf(const std::string& bundle, const Visit& fn) const override {
    ForEachLabelled(targets_, bundle, fn);
  }
  void ForEachSecretTargetOf(const std::string& bundle, const Visit& fn) const override {
    if (secret_targets_) ForEachLabelled(*secret_targets_, bundle, fn);
  }

  // A ConfigMap changed or went away: its data read before is stale.
  void Forget(const std::string& key) {
    std::lock_guard lock(mu_);
    data_.erase(key);
  }
  size_t DataEntries() const {
    std::lock_guard lock(mu_);
    return data_.size();
  }

 private:
  static void ForEachLabelled(const kube::Store& store, const std::string& bundle,
                              const Visit& fn) {
    store.ForEach([&](const nlohmann::json& cm) {
      auto meta = cm.find("metadata");
      if (meta == cm.end() || !meta->is_object()) return;
      auto labels = meta->find("labels");
      if (labels == meta->end() || !labels->is_object()) return;
      auto it = labels->find(kBundleLabel);
      if (it != labels->end() && it->is_string() && it->get<std::string>() == bundle) fn(cm);
    });
  }

  static std::vector<ObjectPtr> Collect(const kube::Store& store, const std::string& bundle) {
    std::vector<ObjectPtr> out;
    ForEachLabelled(store, bundle, [&](const nlohmann::json& t) {
      out.push_back(std::make_shared<const nlohmann::json>(t));
    });
    return out;
  }

  static std::string ResourceVersion(const nlohmann::json& o) {
    auto meta = o.find("metadata");
    if (meta == o.end() || !meta->is_object()) return "";
    return meta->value("resourceVersion", "");
  }

  kube::Client& client_;
  const kube::Store& bundles_;
  const kube::Store& namespaces_;
  const kube::Store& targets_;
  const kube::Store& configmaps_;
  const kube::Store* secret_targets_;  // null: Secret targets are disabled
  const kube::Store* secrets_;
  mutable std::mutex mu_;
  // ns/name -> (resourceVersion in the cache, the object with its data)
  mutable std::map<std::string, std::pair<std::string, ObjectPtr>> data_;
};

namespace {

kube::InformerOptions WithResync(kube::Duration resync) {
  kube::InformerOptions o;
  o.resync_period = resync;
  return o;
}

// In a cluster of thousands of namespaces these caches hold a few objects per
// namespace: kept as JSON text (a few hundred bytes each) rather than as trees
// (several times that), parsed again when read.
kube::InformerOptions AsText(kube::InformerOptions o) {
  o.cache_as_text = [](const nlohmann::json&) { return true; };
  return o;
}

kube::InformerOptions NamespaceOptions(kube::Duration resync) {
  kube::InformerOptions o = AsText(WithResync(resync));
  o.cache_transform = CompactNamespace;
  return o;
}

// certguard's targets, whole but with digests for data, and their writers.
kube::InformerOptions TargetOptions(kube::Duration resync) {
  kube::InformerOptions o = AsText(WithResync(resync));
  o.label_selector = kBundleLabel;  // exists
  o.keep_managed_fields = true;
  o.cache_transform = CompactTarget;
  return o;
}

// Secrets labelled as targets, each data value as the digest of its bytes.
kube::InformerOptions SecretTargetOptions(kube::Duration resync) {
  kube::InformerOptions o = TargetOptions(resync);
  o.cache_transform = CompactSecretTarget;
  return o;
}

// Every other ConfigMap (or Secret), as metadata only (the server sends no data).
kube::InformerOptions MetadataOptions(kube::Duration resync) {
  kube::InformerOptions o = AsText(WithResync(resync));
  o.label_selector = std::string("!") + kBundleLabel;
  o.metadata_only = true;
  o.keep_managed_fields = true;
  o.cache_transform = CompactMetadata;
  return o;
}

}  // namespace

TrustController::TrustController(kube::Client& client, kube::EventRecorder& events,
                                 prometheus::Registry& registry, TrustControllerOptions options)
    : options_(options),
      bundles_(client, kube::resources::kTrustBundles, WithResync(options.resync)),
      namespaces_(client, kube::resources::kNamespaces, NamespaceOptions(options.resync)),
      targets_(client, kube::resources::kConfigMaps, TargetOptions(options.resync)),
      configmaps_(client, kube::resources::kConfigMaps, MetadataOptions(options.resync)),
      secret_targets_(options.reconciler.secret_targets
                          ? std::make_unique<kube::Informer>(client, kube::resources::kSecrets,
                                                             SecretTargetOptions(options.resync))
                          : nullptr),
      secrets_(options.reconciler.secret_targets
                   ? std::make_unique<kube::Informer>(client, kube::resources::kSecrets,
                                                      MetadataOptions(options.resync))
                   : nullptr),
      view_(std::make_unique<View>(client, bundles_.store(), namespaces_.store(), targets_.store(),
                                   configmaps_.store(),
                                   secret_targets_ ? &secret_targets_->store() : nullptr,
                                   secrets_ ? &secrets_->store() : nullptr)),
      metrics_(registry),
      reconciler_(std::make_unique<TrustBundleReconciler>(client, *view_, events, metrics_,
                                                          options.reconciler)) {
  bundles_.AddHandler(kube::EnqueueTo(queue_));
  // A namespace added, relabelled or deleted may matter to any bundle.
  namespaces_.AddHandler([this](const kube::Change& c) {
    auto labels = [](const kube::ObjectPtr& o) {
      return o->value("metadata", nlohmann::json::object()).value("labels", nlohmann::json::object());
    };
    auto status = [](const kube::ObjectPtr& o) {
      return o->value("status", nlohmann::json::object());
    };
    if (c.kind == kube::Change::Kind::kUpdate && c.old_object && c.object &&
        labels(c.old_object) == labels(c.object) && status(c.old_object) == status(c.object)) {
      return;  // a resync or an unrelated change
    }
    EnqueueAll();
  });
  auto on_configmap = [this](const kube::Change& c) {
    if (c.kind != kube::Change::Kind::kAdd) view_->Forget(c.key);
    if (c.object) reconciler_->Observe(*c.object, c.kind == kube::Change::Kind::kDelete);
    std::set<std::string> keys;
    for (const auto& obj : {c.object, c.old_object}) {
      if (!obj) continue;
      for (std::string& b : reconciler_->InterestedBundles(*obj)) keys.insert(std::move(b));
    }
    for (const std::string& k : keys) queue_.Add(k);
  };
  targets_.AddHandler(on_configmap);
  configmaps_.AddHandler(on_configmap);
  if (secret_targets_) {
    auto on_secret = [this](const kube::Change& c) {
      if (c.object) reconciler_->ObserveSecret(*c.object, c.kind == kube::Change::Kind::kDelete);
      std::set<std::string> keys;
      for (const auto& obj : {c.object, c.old_object}) {
        if (!obj) continue;
        for (std::string& b : reconciler_->InterestedBundlesOfSecret(*obj)) {
          keys.insert(std::move(b));
        }
      }
      for (const std::string& k : keys) queue_.Add(k);
    };
    secret_targets_->AddHandler(on_secret);
    secrets_->AddHandler(on_secret);
  }
  controller_ = std::make_unique<kube::Controller>("trust", *reconciler_, queue_, options.workers);
}

TrustController::~TrustController() { Stop(); }

void TrustController::EnqueueAll() {
  for (const std::string& key : bundles_.store().Keys()) queue_.Add(key);
}

void TrustController::Start() {
  bundles_.Start();
  namespaces_.Start();
  targets_.Start();
  configmaps_.Start();
  if (secret_targets_) {
    secret_targets_->Start();
    secrets_->Start();
  }
  starter_ = std::thread([this] { StartWhenSynced(); });
}

void TrustController::StartWhenSynced() {
  if (!kube::WaitForCacheSync({&bundles_, &namespaces_, &targets_, &configmaps_},
                              [this] { return stopping_.load(); }, "trust controller")) {
    return;
  }
  if (secret_targets_ && !kube::WaitForCacheSync(
                             {secret_targets_.get(), secrets_.get()},
                             [this] { return stopping_.load(); }, "trust controller (Secrets)")) {
    return;
  }
  // As the CSR controller: what the first lists freed goes back to the system.
  common::ReleaseFreeMemory();
  std::lock_guard<std::mutex> lock(start_mu_);
  if (stopping_) return;
  EnqueueAll();
  controller_->Start();
  running_ = true;
  log::Info("trust controller started", {{"bundles", std::to_string(bundles_.store().Size())},
                                         {"secret_targets", secret_targets_ ? "true" : "false"}});
}

void TrustController::Stop() {
  {
    std::lock_guard<std::mutex> lock(start_mu_);
    stopping_ = true;
  }
  if (starter_.joinable()) starter_.join();
  controller_->Stop();
  running_ = false;
  bundles_.Stop();
  namespaces_.Stop();
  targets_.Stop();
  configmaps_.Stop();
  if (secret_targets_) {
    secret_targets_->Stop();
    secrets_->Stop();
  }
}

std::string TrustController::WaitingFor() const {
  if (running_) return "";
  std::string cache = kube::WaitingFor({&bundles_, &namespaces_, &targets_, &configmaps_});
  if (cache.empty() && secret_targets_) {
    cache = kube::WaitingFor({secret_targets_.get(), secrets_.get()});
  }
  return cache.empty() ? "workers starting" : cache;
}

}  // namespace certguard::trust
