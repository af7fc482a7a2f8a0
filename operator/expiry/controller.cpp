#include "expiry/controller.h"

#include "common/json_fields.h"
#include "common/log.h"
#include "kube/resource.h"
#include "trust/spec.h"

namespace certguard::expiry {

namespace {

constexpr const char* kTlsSecretType = "type=kubernetes.io/tls";
constexpr int64_t kListPageSize = 100;

// One source of certificates: what to watch and how to read an object.
struct Source {
  SourceKind kind;
  const kube::Resource* resource;
  std::string label_selector;
  std::string field_selector;
  Keys (*read)(const nlohmann::json&);
  bool (*skip)(const nlohmann::json&) = nullptr;  // objects another source reads
};

bool IsTlsSecret(const nlohmann::json& secret) {
  return secret.is_object() && secret.value("type", "") == "kubernetes.io/tls";
}


std::vector<Source> SourcesOf(const ExpirySources& s) {
  using namespace kube::resources;
  std::vector<Source> out;
  if (s.csrs) {
    out.push_back({SourceKind::kCsr, &kCertificateSigningRequests, "", "",
                   s.filter.csr_signers == CsrSigners::kAll ? CsrCertificatesAnySigner
                                                            : CsrCertificates});
  }
  if (s.tls_secrets) {
    out.push_back({SourceKind::kSecret, &kSecrets, "", kTlsSecretType, SecretCertificates});
  }
  if (!s.secret_selector.empty()) {
    // Secrets of type kubernetes.io/tls are read by the TLS watch when it runs,
    // so that one object has one writer.
    out.push_back({SourceKind::kSecret, &kSecrets, s.secret_selector, "", SecretCertificates,
                   s.tls_secrets ? IsTlsSecret : nullptr});
  }
  if (!s.configmap_selector.empty()) {
    out.push_back(
        {SourceKind::kConfigMap, &kConfigMaps, s.configmap_selector, "", ConfigMapCertificates});
  }
  if (s.webhooks) {
    out.push_back({SourceKind::kValidatingWebhook, &kValidatingWebhookConfigurations, "", "",
                   WebhookCertificates});
    out.push_back({SourceKind::kMutatingWebhook, &kMutatingWebhookConfigurations, "", "",
                   WebhookCertificates});
    out.push_back({SourceKind::kApiService, &kApiServices, "", "", ApiServiceCertificates});
  }
  return out;
}

void Put(Inventory& inventory, const ObjectRef& ref, Keys keys) {
  if (keys.empty()) {
    inventory.RemoveObject(ref);
  } else {
    inventory.ReplaceObject(ref, std::move(keys));
  }
}

}  // namespace

Status Validate(const ExpirySources& sources, std::string_view flag_prefix) {
  for (const auto& [flag, selector] :
       {std::pair{"secret-selector", &sources.secret_selector},
        std::pair{"configmap-selector", &sources.configmap_selector}}) {
    for (char c : *selector) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("-_./=!,() ").find(c) != std::string_view::npos;
      if (!ok) {
        return InvalidArgument(std::string(flag_prefix) + flag + ": \"" + *selector +
                               "\" is not a label selector (key=value,key!=value,key in (a,b),key,!key)");
      }
    }
  }
  return ExpiryFilter::Make(sources.filter, flag_prefix).status();
}

ExpiryController::ExpiryController(kube::Client& client, std::shared_ptr<Inventory> inventory,
                                   ExpirySources sources)
    : client_(client), inventory_(std::move(inventory)), sources_(std::move(sources)) {
  // Validate() refuses bad options before a controller is made; a default
  // filter (everything) is the only other outcome.
  if (auto f = ExpiryFilter::Make(sources_.filter); f.ok()) {
    filter_ = std::move(*f);
  } else {
    log::Error("expiry inventory: filter refused, exporting everything",
               {{"error", f.status().ToString()}});
  }
  if (filter_.UsesNamespaceLabels()) {
    kube::InformerOptions o;
    o.metadata_only = true;  // labels are all it needs
    o.resync_period = kube::Duration(0);
    namespaces_ = std::make_unique<kube::Informer>(client_, kube::resources::kNamespaces, o);
    namespaces_->AddHandler([this](const kube::Change& c) { HandleNamespace(c); });
  }
  for (const Source& s : SourcesOf(sources_)) {
    kube::InformerOptions o;
    o.label_selector = s.label_selector;
    o.field_selector = s.field_selector;
    kube::Informer& informer = Watch(*s.resource, o);
    informer.AddHandler([this, s](const kube::Change& c) {
      if (c.object && s.skip && s.skip(*c.object)) return;
      Handle(s.kind, s.read, c);
    });
  }
  if (sources_.trust_bundles) {
    kube::InformerOptions o;
    o.label_selector = trust::kBundleLabel;
    Watch(kube::resources::kConfigMaps, o).AddHandler([this](const kube::Change& c) {
      HandleBundleTarget(c, /*secret=*/false);
    });
    // Secret targets (run --trust-secret-targets), by the same label.
    Watch(kube::resources::kSecrets, o).AddHandler([this](const kube::Change& c) {
      HandleBundleTarget(c, /*secret=*/true);
    });
  }
}

ExpiryController::~ExpiryController() { Stop(); }

kube::Informer& ExpiryController::Watch(const kube::Resource& resource,
                                        kube::InformerOptions options) {
  options.cache_transform = MetadataOnly;
  // Whole objects are held one list page at a time: Secrets run to 1 MiB.
  options.page_size = kListPageSize;
  // The handlers read objects only as they arrive; a resync would hand them
  // the metadata-only copies, which hold nothing to read.
  options.resync_period = kube::Duration(0);
  informers_.push_back(std::make_unique<kube::Informer>(client_, resource, std::move(options)));
  return *informers_.back();
}

void ExpiryController::Handle(SourceKind kind, Keys (*read)(const nlohmann::json&),
                              const kube::Change& c) {
  if (!c.object) return;
  if (c.kind == kube::Change::Kind::kDelete) {
    inventory_->RemoveObject(RefOf(kind, *c.object));
    return;
  }
  if (c.object == c.old_object) return;  // a cached copy: nothing new to read
  std::lock_guard<std::mutex> lock(filter_mu_);
  PutLocked(kind, read, *c.object);
}

void ExpiryController::PutLocked(SourceKind kind, Keys (*read)(const nlohmann::json&),
                                 const nlohmann::json& obj) {
  ObjectRef ref = RefOf(kind, obj);
  const common::Labels* labels = nullptr;
  if (auto it = namespace_labels_.find(ref.ns); it != namespace_labels_.end()) labels = &it->second;
  // The namespace first: an excluded object's certificates are never parsed.
  if (NamespaceFiltered(kind) && !ref.ns.empty() && !filter_.IncludesNamespace(ref.ns, labels)) {
    inventory_->RemoveObject(ref);
    return;
  }
  auto keys = filter_.Decide(kind, obj, labels, read(obj));
  if (!keys) {
    inventory_->RemoveObject(ref);
    return;
  }
  Put(*inventory_, ref, std::move(*keys));
}

void ExpiryController::HandleNamespace(const kube::Change& c) {
  if (!c.object) return;
  const std::string ns = common::Str(common::Field(*c.object, "metadata"), "name");
  if (ns.empty()) return;
  std::lock_guard<std::mutex> lock(filter_mu_);
  auto it = namespace_labels_.find(ns);
  const bool was = it != namespace_labels_.end() && filter_.IncludesNamespace(ns, &it->second);
  if (c.kind == kube::Change::Kind::kDelete) {
    namespace_labels_.erase(ns);
  } else {
    namespace_labels_[ns] =
        common::StrMap(common::Field(common::Field(*c.object, "metadata"), "labels"));
  }
  auto now_it = namespace_labels_.find(ns);
  const bool now =
      now_it != namespace_labels_.end() && filter_.IncludesNamespace(ns, &now_it->second);
  if (was == now || !sources_started_.load()) return;
  if (!now) {
    inventory_->RemoveNamespace(SourceKind::kSecret, ns);
    inventory_->RemoveNamespace(SourceKind::kConfigMap, ns);
    log::Info("expiry inventory: namespace no longer included", {{"namespace", ns}});
    return;
  }
  log::Info("expiry inventory: namespace now included, reading it", {{"namespace", ns}});
  RelistNamespace(ns);
}

void ExpiryController::RelistNamespace(const std::string& ns) {
  for (const Source& s : SourcesOf(sources_)) {
    if (!NamespaceFiltered(s.kind)) continue;
    kube::ListOptions o;
    o.label_selector = s.label_selector;
    o.field_selector = s.field_selector;
    auto result = kube::ListPages(client_, *s.resource, ns, o, kListPageSize,
                                  [&](nlohmann::json&& obj) {
                                    if (!(s.skip && s.skip(obj))) PutLocked(s.kind, s.read, obj);
                                    return Status::Ok();
                                  });
    if (!result.ok()) {
      // The watch brings each object back at its next change.
      log::Warn("expiry inventory: could not read a newly included namespace",
                {{"namespace", ns},
                 {"resource", s.resource->resource},
                 {"error", result.status().ToString()}});
    }
  }
}

void ExpiryController::HandleBundleTarget(const kube::Change& c, bool secret) {
  if (!c.object || c.object == c.old_object) return;
  std::lock_guard<std::mutex> lock(bundles_mu_);
  std::set<std::string> touched;
  if (c.kind == kube::Change::Kind::kDelete) {
    ObjectRef ref = RefOf(secret ? SourceKind::kSecret : SourceKind::kConfigMap, *c.object);
    touched = bundles_.Remove(ref.ns, ref.name, secret);
  } else {
    touched = secret ? bundles_.UpdateSecret(*c.object) : bundles_.Update(*c.object);
  }
  for (const std::string& bundle : touched) {
    Put(*inventory_, ObjectRef{SourceKind::kTrustBundle, "", bundle}, bundles_.Of(bundle));
  }
}

void ExpiryController::Start() {
  if (namespaces_) {
    namespaces_->Start();
    starter_ = std::thread([this] {
      if (!kube::WaitForCacheSync({namespaces_.get()}, [this] { return stopping_.load(); },
                                  "expiry inventory")) {
        return;
      }
      sources_started_ = true;
      for (auto& i : informers_) i->Start();
    });
  } else {
    sources_started_ = true;
    for (auto& i : informers_) i->Start();
  }
  log::Info("expiry inventory: watching",
            {{"sources", std::to_string(informers_.size())},
             {"secret_selector", sources_.secret_selector},
             {"configmap_selector", sources_.configmap_selector},
             {"webhooks", sources_.webhooks ? "true" : "false"}});
}

void ExpiryController::Stop() {
  stopping_ = true;
  if (starter_.joinable()) starter_.join();
  if (namespaces_) namespaces_->Stop();
  for (auto& i : informers_) i->Stop();
}

bool ExpiryController::Synced() const {
  if (namespaces_ && !namespaces_->HasSynced()) return false;
  for (const auto& i : informers_) {
    if (!i->HasSynced()) return false;
  }
  return true;
}

std::string ExpiryController::WaitingFor() const {
  if (namespaces_ && !namespaces_->HasSynced()) return kube::WaitingFor({namespaces_.get()});
  for (const auto& i : informers_) {
    if (!i->HasSynced()) return kube::WaitingFor({i.get()});
  }
  return "";
}

namespace {

// Reads one list after another, page by page, reporting progress and recording failures.
class InventoryLister {
 public:
  InventoryLister(kube::Client& client, const ListProgressFn& progress, int sources)
      : client_(client), progress_(progress) {
    p_.sources = sources;
    p_.source = 0;
  }

  // Every object of one list to `each`; false (and the error recorded) when the list failed.
  bool List(const kube::Resource& r, const std::string& labels, const std::string& fields,
            const std::function<void(nlohmann::json&)>& each) {
    kube::ListOptions o;
    o.label_selector = labels;
    o.field_selector = fields;
    p_.what = r.resource;
    if (!labels.empty()) p_.what += " (" + labels + ")";
    p_.objects = 0;
    p_.pages = 0;
    p_.done = false;
    ++p_.source;
    auto result = kube::ListPages(
        client_, r, "", o, 500,
        [&](nlohmann::json&& obj) {
          each(obj);
          ++p_.objects;
          ++p_.total;
          return Status::Ok();
        },
        [&] {
          ++p_.pages;
          if (progress_) progress_(p_);
        });
    p_.done = true;
    if (progress_) progress_(p_);
    if (!result.ok()) {
      errors_.push_back(p_.what + ": " + result.status().ToString());
      return false;
    }
    return true;
  }

  std::vector<std::string>& errors() { return errors_; }

 private:
  kube::Client& client_;
  const ListProgressFn& progress_;
  ListProgress p_;
  std::vector<std::string> errors_;
};

using NamespaceLabels = std::map<std::string, common::Labels>;

// Every namespace's labels; false when the list failed.
bool ListNamespaceLabels(InventoryLister& lister, NamespaceLabels& out) {
  return lister.List(kube::resources::kNamespaces, "", "", [&](nlohmann::json& obj) {
    const nlohmann::json& meta = common::Field(obj, "metadata");
    out[common::Str(meta, "name")] = common::StrMap(common::Field(meta, "labels"));
  });
}

// One source's objects that the filter keeps, into the inventory.
void ListSource(InventoryLister& lister, const Source& s, const ExpiryFilter& filter,
                const NamespaceLabels& namespace_labels, Inventory& inventory) {
  // Held back until the whole list is read: a list that fails midway adds nothing.
  std::vector<std::pair<ObjectRef, Keys>> read;
  const bool ok =
      lister.List(*s.resource, s.label_selector, s.field_selector, [&](nlohmann::json& obj) {
        if (s.skip && s.skip(obj)) return;
        ObjectRef ref = RefOf(s.kind, obj);
        auto labels = namespace_labels.find(ref.ns);
        const common::Labels* ns_labels =
            labels == namespace_labels.end() ? nullptr : &labels->second;
        if (NamespaceFiltered(s.kind) && !ref.ns.empty() &&
            !filter.IncludesNamespace(ref.ns, ns_labels)) {
          return;
        }
        auto keys = filter.Decide(s.kind, obj, ns_labels, s.read(obj));
        if (keys) read.emplace_back(std::move(ref), std::move(*keys));
      });
  if (!ok) return;
  for (auto& [ref, keys] : read) Put(inventory, ref, std::move(keys));
}

// The trust bundles, from their labelled ConfigMaps and Secrets, into the inventory.
void ListTrustBundles(InventoryLister& lister, Inventory& inventory) {
  BundleTargets bundles;
  // Held back until each whole list is read, as above; either kind alone is shown.
  std::vector<nlohmann::json> configmaps;
  std::vector<nlohmann::json> secrets;
  const bool cm_ok =
      lister.List(kube::resources::kConfigMaps, trust::kBundleLabel, "",
                  [&](nlohmann::json& obj) { configmaps.push_back(std::move(obj)); });
  const bool secret_ok =
      lister.List(kube::resources::kSecrets, trust::kBundleLabel, "",
                  [&](nlohmann::json& obj) { secrets.push_back(std::move(obj)); });
  if (cm_ok) {
    for (const nlohmann::json& obj : configmaps) bundles.Update(obj);
  }
  if (secret_ok) {
    for (const nlohmann::json& obj : secrets) bundles.UpdateSecret(obj);
  }
  if (cm_ok || secret_ok) {
    for (const std::string& b : bundles.Bundles()) {
      Put(inventory, ObjectRef{SourceKind::kTrustBundle, "", b}, bundles.Of(b));
    }
  }
}

}  // namespace

std::vector<std::string> ListInventory(kube::Client& client, const ExpirySources& sources,
                                       Inventory& inventory, const ListProgressFn& progress) {
  const std::vector<Source> all = SourcesOf(sources);
  auto made = ExpiryFilter::Make(sources.filter);
  if (!made.ok()) return {"filter: " + made.status().ToString()};
  const ExpiryFilter filter = std::move(*made);
  InventoryLister lister(client, progress,
                         static_cast<int>(all.size()) + (sources.trust_bundles ? 2 : 0) +
                             (filter.UsesNamespaceLabels() ? 1 : 0));
  NamespaceLabels namespace_labels;
  bool namespaces_known = true;
  if (filter.UsesNamespaceLabels())
    namespaces_known = ListNamespaceLabels(lister, namespace_labels);
  for (const Source& s : all) {
    // Without the namespaces' labels, which namespaced objects to show is unknown.
    if (NamespaceFiltered(s.kind) && !namespaces_known) continue;
    ListSource(lister, s, filter, namespace_labels, inventory);
  }
  if (sources.trust_bundles) ListTrustBundles(lister, inventory);
  return std::move(lister.errors());
}

}  // namespace certguard::expiry
