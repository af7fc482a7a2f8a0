// What the trust reconciler reads: the informers' caches in production, plain
// maps in tests.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace certguard::trust {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// Thread-safe.
class TrustView {
 public:
  virtual ~TrustView() = default;
  virtual ObjectPtr Bundle(const std::string& name) const = 0;  // nullptr when absent
  virtual std::vector<ObjectPtr> Namespaces() const = 0;
  // For planning: the cached object, which may hold metadata only, and a target's
  // data as digest markers (DigestMarker). No I/O.
  virtual ObjectPtr ConfigMap(const std::string& ns, const std::string& name) const = 0;
  // With its data, for sources and consumers: may read it from the API server
  // (the cache holds what TrustBundles name, not every ConfigMap whole).
  // nullptr when absent.
  virtual Result<ObjectPtr> ConfigMapData(const std::string& ns, const std::string& name) const {
    return ConfigMap(ns, name);
  }
  // Every ConfigMap carrying kBundleLabel=bundle.
  virtual std::vector<ObjectPtr> TargetsOf(const std::string& bundle) const = 0;
  // For Secret targets (only when they are enabled): as ConfigMap and TargetsOf,
  // a target's data as digest markers of the decoded values; other Secrets as
  // metadata only. A view without Secrets has none.
  virtual ObjectPtr Secret(const std::string& /*ns*/, const std::string& /*name*/) const {
    return nullptr;
  }
  virtual std::vector<ObjectPtr> SecretTargetsOf(const std::string& /*bundle*/) const { return {}; }

  // As Namespaces, TargetsOf and SecretTargetsOf, one object at a time: a cache
  // kept as text then parses each in turn, not thousands at once for every
  // reconcile.
  using Visit = std::function<void(const nlohmann::json&)>;
  virtual void ForEachNamespace(const Visit& fn) const {
    for (const ObjectPtr& ns : Namespaces()) fn(*ns);
  }
  virtual void ForEachTargetOf(const std::string& bundle, const Visit& fn) const {
    for (const ObjectPtr& t : TargetsOf(bundle)) fn(*t);
  }
  virtual void ForEachSecretTargetOf(const std::string& bundle, const Visit& fn) const {
    for (const ObjectPtr& t : SecretTargetsOf(bundle)) fn(*t);
  }
};

}  // namespace certguard::trust
