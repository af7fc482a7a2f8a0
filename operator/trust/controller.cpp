#include "trust/controller.h"

#include <set>

#include "common/log.h"
#include "kube/resource.h"
#include "trust/plan.h"

namespace certguard::trust {

// The informers' caches as the reconciler's TrustView.
class TrustController::View : public TrustView {
 public:
  View(const kube::Store& bundles, const kube::Store& namespaces, const kube::Store& configmaps)
      : bundles_(bundles), namespaces_(namespaces), configmaps_(configmaps) {}

  ObjectPtr Bundle(const std::string& name) const override { return bundles_.Get(name); }
  std::vector<ObjectPtr> Namespaces() const override { return namespaces_.List(); }
  ObjectPtr ConfigMap(const std::string& ns, const std::string& name) const override {
    return configmaps_.Get(kube::MakeKey(ns, name));
  }
  std::vector<ObjectPtr> TargetsOf(const std::string& bundle) const override {
    std::vector<ObjectPtr> out;
    for (const ObjectPtr& cm : configmaps_.List()) {
      auto meta = cm->find("metadata");
      if (meta == cm->end() || !meta->is_object()) continue;
      auto labels = meta->find("labels");
      if (labels == meta->end() || !labels->is_object()) continue;
      auto it = labels->find(kBundleLabel);
      if (it != labels->end() && it->is_string() && it->get<std::string>() == bundle) {
        out.push_back(cm);
      }
    }
    return out;
  }

 private:
  const kube::Store& bundles_;
  const kube::Store& namespaces_;
  const kube::Store& configmaps_;
};

namespace {

kube::InformerOptions WithResync(kube::Duration resync) {
  kube::InformerOptions o;
  o.resync_period = resync;
  return o;
}

}  // namespace

TrustController::TrustController(kube::Client& client, kube::EventRecorder& events,
                                 prometheus::Registry& registry, TrustControllerOptions options)
    : options_(options),
      bundles_(client, kube::resources::kTrustBundles, WithResync(options.resync)),
      namespaces_(client, kube::resources::kNamespaces, WithResync(options.resync)),
      configmaps_(client, kube::resources::kConfigMaps, WithResync(options.resync)),
      view_(std::make_unique<View>(bundles_.store(), namespaces_.store(), configmaps_.store())),
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
  configmaps_.AddHandler([this](const kube::Change& c) {
    if (c.object) reconciler_->Observe(*c.object, c.kind == kube::Change::Kind::kDelete);
    std::set<std::string> keys;
    for (const auto& obj : {c.object, c.old_object}) {
      if (!obj) continue;
      for (std::string& b : reconciler_->InterestedBundles(*obj)) keys.insert(std::move(b));
    }
    for (const std::string& k : keys) queue_.Add(k);
  });
  controller_ = std::make_unique<kube::Controller>("trust", *reconciler_, queue_, options.workers);
}

TrustController::~TrustController() { Stop(); }

void TrustController::EnqueueAll() {
  for (const std::string& key : bundles_.store().Keys()) queue_.Add(key);
}

Status TrustController::Start() {
  bundles_.Start();
  namespaces_.Start();
  configmaps_.Start();
  for (kube::Informer* i : {&bundles_, &namespaces_, &configmaps_}) {
    if (!i->WaitForSync(options_.sync_timeout)) {
      // Workers on a partial cache would take existing targets for missing ones.
      late_start_ = std::thread([this] { StartWhenSynced(); });
      return Unavailable("trust: the " + i->resource().resource +
                         " cache did not sync; the workers start once it does");
    }
  }
  EnqueueAll();
  controller_->Start();
  return Status::Ok();
}

void TrustController::StartWhenSynced() {
  for (kube::Informer* i : {&bundles_, &namespaces_, &configmaps_}) {
    while (!i->WaitForSync(std::chrono::seconds(1))) {
      if (stopping_) return;
    }
  }
  if (stopping_) return;
  log::Info("trust: caches synced late, starting the workers");
  EnqueueAll();
  controller_->Start();
}

void TrustController::Stop() {
  stopping_ = true;
  if (late_start_.joinable()) late_start_.join();
  controller_->Stop();
  bundles_.Stop();
  namespaces_.Stop();
  configmaps_.Stop();
}

Status TrustController::Synced() const {
  for (const kube::Informer* i : {&bundles_, &namespaces_, &configmaps_}) {
    if (!i->HasSynced()) return Unavailable(i->resource().resource + " not synced");
  }
  return Status::Ok();
}

}  // namespace certguard::trust
