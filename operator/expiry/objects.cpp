#include "expiry/objects.h"

#include "common/json_fields.h"
#include "csr/node.h"
#include "csr/policy.h"
#include "expiry/check.h"
#include "expiry/sources.h"
#include "trust/spec.h"
#include "x509/pem.h"

namespace certguard::expiry {

namespace {

using nlohmann::json;

using common::Field;
using common::Str;

// Decoded base64 values of an object of strings; undecodable ones left out.
std::map<std::string, std::string> DecodedFields(const json& data) {
  std::map<std::string, std::string> out;
  if (!data.is_object()) return out;
  for (const auto& [key, value] : data.items()) {
    if (!value.is_string()) continue;
    auto decoded = x509::pem::DecodeBody(value.get_ref<const std::string&>());
    if (decoded.ok()) out.emplace(key, std::move(*decoded));
  }
  return out;
}

// The certificates of one base64 field, as the only key `key` (or nothing).
Keys OneField(const std::string& key, const json& base64) {
  if (!base64.is_string() || base64.get_ref<const std::string&>().empty()) return {};
  return CertificatesOfFields(DecodedFields(json{{key, base64}}));
}

}  // namespace

ObjectRef RefOf(SourceKind kind, const json& object) {
  const json& meta = Field(object, "metadata");
  return ObjectRef{kind, Str(meta, "namespace"), Str(meta, "name")};
}

Keys CsrCertificates(const json& csr) {
  const json& spec = Field(csr, "spec");
  std::string signer = Str(spec, "signerName");
  if (signer != csr::kClientSigner && signer != csr::kServingSigner) return {};
  Keys keys = OneField("status.certificate", Field(Field(csr, "status"), "certificate"));
  auto it = keys.find("status.certificate");
  if (it == keys.end()) return {};
  std::string node = csr::NodeOfKubeletCn(it->second.certs.front().subject_cn);
  if (node.empty()) node = csr::NodeOfKubeletCn(Str(spec, "username"));
  it->second.node = std::move(node);
  it->second.group = signer == csr::kClientSigner ? "client" : "serving";
  return keys;
}

Keys CsrCertificatesAnySigner(const json& csr) {
  const json& spec = Field(csr, "spec");
  const std::string signer = Str(spec, "signerName");
  if (signer == csr::kClientSigner || signer == csr::kServingSigner) return CsrCertificates(csr);
  if (signer.empty()) return {};
  Keys keys = OneField("status.certificate", Field(Field(csr, "status"), "certificate"));
  for (auto& [key, certs] : keys) certs.group = signer;
  return keys;
}

Keys SecretCertificates(const json& secret) {
  return CertificatesOfFields(DecodedFields(Field(secret, "data")));
}

Keys ConfigMapCertificates(const json& configmap) {
  std::map<std::string, std::string> fields = DecodedFields(Field(configmap, "binaryData"));
  const json& data = Field(configmap, "data");
  if (data.is_object()) {
    for (const auto& [key, value] : data.items()) {
      if (value.is_string()) fields[key] = value.get<std::string>();
    }
  }
  return CertificatesOfFields(fields);
}

Keys WebhookCertificates(const json& configuration) {
  Keys out;
  const json& hooks = Field(configuration, "webhooks");
  if (!hooks.is_array()) return out;
  for (const json& hook : hooks) {
    std::string name = Str(hook, "name");
    if (name.empty()) continue;
    Keys one = OneField(name, Field(Field(hook, "clientConfig"), "caBundle"));
    for (auto& [key, certs] : one) out[key] = std::move(certs);
  }
  return out;
}

Keys ApiServiceCertificates(const json& apiservice) {
  return OneField("spec.caBundle", Field(Field(apiservice, "spec"), "caBundle"));
}

json MetadataOnly(const json& object) {
  json meta = json::object();
  const json& m = Field(object, "metadata");
  for (const char* f : {"name", "namespace", "resourceVersion", "uid"}) {
    const json& v = Field(m, f);
    if (v.is_string()) meta[f] = v;
  }
  json out{{"metadata", std::move(meta)}};
  // A Secret's type tells which watch owns it, also when it is deleted after a relist.
  if (const json& type = Field(object, "type"); type.is_string()) out["type"] = type;
  return out;
}

std::string SourceName(const ObjectRef& object, const std::string& key, const std::string& node) {
  std::string out(SourceKindName(object.kind));
  out += ' ';
  if (!object.ns.empty()) out += object.ns + "/";
  out += object.name;
  if (!key.empty()) out += " " + key;
  if (!node.empty()) out += " (node " + node + ")";
  return out;
}

std::vector<Finding> FindingsOf(const Inventory& inventory) {
  std::vector<Finding> out;
  inventory.ForEach([&](const ObjectRef& object, const std::string& key, const std::string& node,
                        const CertFacts& cert) {
    out.push_back(Finding{SourceName(object, key, node), cert, {}});
  });
  return out;
}

void BundleTargets::Add(const std::string& bundle, const Keys& keys, int delta) {
  auto& per_key = bundles_[bundle];
  for (const auto& [key, certs] : keys) {
    auto& counted = per_key[key];
    for (const CertFacts& c : certs.certs) {
      Identity id{c.subject_cn, c.issuer_cn, c.serial, c.is_ca};
      auto& entry = counted[id];
      if (entry.targets == 0) entry.facts = c;
      entry.targets += delta;
      if (entry.targets <= 0) counted.erase(id);
    }
    if (counted.empty()) per_key.erase(key);
  }
  if (per_key.empty()) bundles_.erase(bundle);
}

namespace {

std::string TargetKey(bool secret, const std::string& ns, const std::string& name) {
  return (secret ? "secret " : "configmap ") + ns + "/" + name;
}

std::string TargetKeyOf(bool secret, const json& object) {
  const json& meta = Field(object, "metadata");
  return TargetKey(secret, Str(meta, "namespace"), Str(meta, "name"));
}

}  // namespace

std::set<std::string> BundleTargets::Update(const json& configmap) {
  return UpdateTarget(TargetKeyOf(false, configmap), configmap, ConfigMapCertificates(configmap));
}

std::set<std::string> BundleTargets::UpdateSecret(const json& secret) {
  return UpdateTarget(TargetKeyOf(true, secret), secret, SecretCertificates(secret));
}

std::set<std::string> BundleTargets::UpdateTarget(const std::string& where, const json& object,
                                                  Keys keys) {
  std::set<std::string> touched;
  if (auto it = targets_.find(where); it != targets_.end()) {
    Add(it->second.first, it->second.second, -1);
    touched.insert(it->second.first);
    targets_.erase(it);
  }
  std::string bundle = Str(Field(Field(object, "metadata"), "labels"), trust::kBundleLabel);
  if (bundle.empty()) return touched;
  // A target holds a bundle's certificates once each; count each identity once per target.
  for (auto& [key, certs] : keys) {
    std::set<Identity> seen;
    std::vector<CertFacts> unique;
    for (auto& c : certs.certs) {
      if (seen.emplace(c.subject_cn, c.issuer_cn, c.serial, c.is_ca).second) {
        unique.push_back(std::move(c));
      }
    }
    certs.certs = std::move(unique);
  }
  Add(bundle, keys, +1);
  targets_[where] = {bundle, std::move(keys)};
  touched.insert(bundle);
  return touched;
}

std::set<std::string> BundleTargets::Remove(const std::string& ns, const std::string& name,
                                            bool secret) {
  auto it = targets_.find(TargetKey(secret, ns, name));
  if (it == targets_.end()) return {};
  std::set<std::string> touched{it->second.first};
  Add(it->second.first, it->second.second, -1);
  targets_.erase(it);
  return touched;
}

Keys BundleTargets::Of(const std::string& bundle) const {
  Keys out;
  auto it = bundles_.find(bundle);
  if (it == bundles_.end()) return out;
  for (const auto& [key, counted] : it->second) {
    auto& certs = out[key].certs;
    for (const auto& [id, entry] : counted) certs.push_back(entry.facts);
  }
  return out;
}

std::set<std::string> BundleTargets::Bundles() const {
  std::set<std::string> out;
  for (const auto& [bundle, keys] : bundles_) out.insert(bundle);
  return out;
}

}  // namespace certguard::expiry
