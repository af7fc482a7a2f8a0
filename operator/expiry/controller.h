// The in-cluster certificate inventory: watches the sources of certificates and
// keeps their parsed facts in an Inventory that ExpiryCollector exports.
//
// Sources (ExpiryControllerOptions): issued kubelet CSRs, Secrets of type
// kubernetes.io/tls, Secrets and ConfigMaps chosen by label selectors, the
// ConfigMaps TrustBundles write, and optionally the caBundle fields of webhook
// configurations and APIServices.
//
// The watch caches keep only metadata (kube::InformerOptions::cache_transform):
// a handler turns each object into facts as it arrives and the object is
// dropped, so memory follows the number of certificates, not the size of the
// Secrets. There is no work queue: the inventory is the state, and an object
// is read only once per change. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "common/status.h"
#include "expiry/filter.h"
#include "expiry/inventory.h"
#include "expiry/list_progress.h"
#include "expiry/objects.h"
#include "kube/client.h"
#include "kube/informer.h"

namespace certguard::expiry {

struct ExpirySources {
  bool csrs = true;                // issued CSRs of the kubelet signers
  bool tls_secrets = true;         // Secrets of type kubernetes.io/tls, every namespace
  std::string secret_selector;     // label selector for other Secrets; empty: none
  std::string configmap_selector;  // label selector for ConfigMaps; empty: none
  bool trust_bundles = true;       // ConfigMaps and Secrets labelled certguard.io/trustbundle
  bool webhooks = false;           // webhook configurations' and APIServices' caBundle
  // Namespaces, leaf-only, label passthrough, CSR signers (expiry/filter.h).
  ExpiryFilterOptions filter;
};

// InvalidArgument when a selector does not parse (Kubernetes label selector
// syntax) or the filter options are refused (ExpiryFilter::Make); the message
// names the flag as <flag_prefix>secret-selector etc.
Status Validate(const ExpirySources& sources, std::string_view flag_prefix = kRunFlagPrefix);

class ExpiryController {
 public:
  // `client` must outlive the controller.
  ExpiryController(kube::Client& client, std::shared_ptr<Inventory> inventory,
                   ExpirySources sources);
  ~ExpiryController();  // Stop()
  ExpiryController(const ExpiryController&) = delete;
  ExpiryController& operator=(const ExpiryController&) = delete;

  // Starts the watches; does not block.
  void Start();
  // Stops every watch. Idempotent.
  void Stop();
  // Every watch has listed once: readiness. The inventory fills as the lists
  // come in, so there are no workers to wait for.
  bool Synced() const;
  // What it waits for while not Synced; "" once synced.
  std::string WaitingFor() const;

 private:
  kube::Informer& Watch(const kube::Resource& resource, kube::InformerOptions options);
  void Handle(SourceKind kind, Keys (*read)(const nlohmann::json&), const kube::Change& c);
  // Decides and writes one object; filter_mu_ held.
  void PutLocked(SourceKind kind, Keys (*read)(const nlohmann::json&), const nlohmann::json& obj);
  void HandleBundleTarget(const kube::Change& c, bool secret);
  void HandleNamespace(const kube::Change& c);
  // The objects of the namespaced sources in `ns`, read again (it became included).
  void RelistNamespace(const std::string& ns);

  kube::Client& client_;
  std::shared_ptr<Inventory> inventory_;
  ExpirySources sources_;
  ExpiryFilter filter_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;
  // With a namespace selector: the namespaces' labels, watched first; the other
  // watches start once it has synced (starter_), so no object waits for its
  // namespace's labels.
  std::unique_ptr<kube::Informer> namespaces_;
  std::thread starter_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sources_started_{false};
  // Serialises deciding and writing a namespaced object with a change of its
  // namespace's labels, so that a relist never overwrites a newer event.
  std::mutex filter_mu_;
  std::map<std::string, common::Labels> namespace_labels_;  // under filter_mu_
  std::mutex bundles_mu_;
  BundleTargets bundles_;
};

// One list of the same sources into `inventory` (for a one-shot command), page
// by page, `progress` (if set) told after each page. Returns the sources that
// could not be listed, each "resource: error"; the others are in the
// inventory (a source that failed midway adds nothing).
std::vector<std::string> ListInventory(kube::Client& client, const ExpirySources& sources,
                                       Inventory& inventory, const ListProgressFn& progress = {});

}  // namespace certguard::expiry
