#include "csr/cache.h"

#include "csr/approval.h"

namespace certguard::csr {

const std::vector<std::string> kNodeFieldsUnread = {
    "metadata.annotations",   "metadata.ownerReferences",
    "metadata.finalizers",    "spec",
    "status.capacity",        "status.allocatable",
    "status.daemonEndpoints", "status.nodeInfo",
    "status.images",          "status.volumesInUse",
    "status.volumesAttached", "status.config",
    "status.runtimeHandlers", "status.features",
    "status.declaredFeatures",
};

namespace {

using nlohmann::json;

// Copies the fields named from `from` into `to` when present.
void Keep(const json& from, json& to, std::initializer_list<const char*> fields) {
  if (!from.is_object()) return;
  for (const char* f : fields) {
    if (auto it = from.find(f); it != from.end()) to[f] = *it;
  }
}

const json& Object(const json& obj, const char* field) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(field);
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

}  // namespace

json NodeForCache(const json& node) {
  if (!node.is_object()) return node;
  // No apiVersion, kind or uid: a few hundred bytes a Node that nothing reads.
  json out = json::object();
  json meta = json::object();
  Keep(Object(node, "metadata"), meta, {"name", "resourceVersion", "labels"});
  out["metadata"] = std::move(meta);
  const json& status = Object(node, "status");
  json st = json::object();
  Keep(status, st, {"addresses"});
  if (auto c = status.find("conditions"); c != status.end() && c->is_array()) {
    json ready = json::array();
    for (const auto& cond : *c) {
      if (!cond.is_object() || cond.value("type", json()) != "Ready") continue;
      json r = json::object();
      Keep(cond, r, {"type", "status", "lastTransitionTime"});
      ready.push_back(std::move(r));
    }
    st["conditions"] = std::move(ready);
  }
  if (!st.empty()) out["status"] = std::move(st);
  return out;
}

json CsrForCache(const json& csr) {
  if (!csr.is_object() || !IsDecided(csr)) return csr;
  // No apiVersion, kind or creationTimestamp: nothing reads them of a decided
  // CSR in the cache (the renewal index reads the object handlers get).
  json out = json::object();
  json meta = json::object();
  Keep(Object(csr, "metadata"), meta, {"name", "uid", "resourceVersion"});
  out["metadata"] = std::move(meta);
  json spec = json::object();
  Keep(Object(csr, "spec"), spec, {"signerName", "username"});
  out["spec"] = std::move(spec);
  json conditions = json::array();
  bool issued = false;
  const json& status = Object(csr, "status");
  if (auto cert = status.find("certificate"); cert != status.end() && cert->is_string() &&
                                              !cert->get_ref<const std::string&>().empty()) {
    issued = true;
  }
  if (auto c = status.find("conditions"); c != status.end() && c->is_array()) {
    for (const auto& cond : *c) {
      if (!cond.is_object()) continue;
      json type = cond.value("type", json());
      if (type != "Approved" && type != "Denied" && type != "Failed") continue;
      json k = json::object();
      Keep(cond, k, {"type", "status"});
      conditions.push_back(std::move(k));
    }
  }
  // Issued with no True condition left (a signer may write the certificate
  // only): still decided.
  if (issued && StateOf(json{{"status", {{"conditions", conditions}}}}) == CsrState::kPending) {
    conditions.push_back({{"type", "Approved"}, {"status", "True"}});
  }
  out["status"] = {{"conditions", std::move(conditions)}};
  return out;
}

}  // namespace certguard::csr
