// A TrustView over plain maps, for unit tests of the trust reconciler's parts.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trust/spec.h"
#include "trust/view.h"

namespace certguard::trust::testing {

class MapView : public TrustView {
 public:
  std::map<std::string, nlohmann::json> bundles, namespaces;
  std::map<std::string, nlohmann::json> configmaps;  // by "ns/name"

  ObjectPtr Bundle(const std::string& name) const override { return Find(bundles, name); }
  std::vector<ObjectPtr> Namespaces() const override {
    std::vector<ObjectPtr> out;
    for (const auto& [k, v] : namespaces) out.push_back(std::make_shared<const nlohmann::json>(v));
    return out;
  }
  ObjectPtr ConfigMap(const std::string& ns, const std::string& name) const override {
    return Find(configmaps, ns + "/" + name);
  }
  std::vector<ObjectPtr> TargetsOf(const std::string& bundle) const override {
    std::vector<ObjectPtr> out;
    for (const auto& [k, v] : configmaps) {
      const auto& labels = v["metadata"].value("labels", nlohmann::json::object());
      if (labels.value(kBundleLabel, "") == bundle) {
        out.push_back(std::make_shared<const nlohmann::json>(v));
      }
    }
    return out;
  }

  // A ConfigMap object in namespace `ns`.
  static nlohmann::json ConfigMapObject(const std::string& ns, const std::string& name,
                                        nlohmann::json data) {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"namespace", ns}, {"name", name}}},
            {"data", std::move(data)}};
  }

 private:
  static ObjectPtr Find(const std::map<std::string, nlohmann::json>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? nullptr : std::make_shared<const nlohmann::json>(it->second);
  }
};

}  // namespace certguard::trust::testing
