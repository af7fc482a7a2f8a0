// From Kubernetes objects to what the inventory keeps: the certificates of
// issued kubelet CSRs, Secrets, ConfigMaps, TrustBundle targets, webhook
// configurations and APIServices. Shared by the expiry controller (watches) and
// `certs check-expiration --kubeconfig` (one list). Pure; thread-safe except
// BundleTargets (thread-compatible).
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "expiry/check.h"
#include "expiry/inventory.h"

namespace certguard::expiry {

using Keys = std::map<std::string, SourceCerts>;

// kind plus the object's metadata.namespace and metadata.name.
ObjectRef RefOf(SourceKind kind, const nlohmann::json& object);

// An issued CSR of the kubelet signers (kube-apiserver-client-kubelet,
// kubelet-serving): {"status.certificate": the chain}, node from the leaf's
// CN system:node:NAME (else the requester's username), group the signer, so a
// node's newer certificate hides its older one of the same signer. Empty for
// any other CSR, a pending one, or an unreadable certificate.
Keys CsrCertificates(const nlohmann::json& csr);

// CsrCertificates, and also the issued certificate of a CSR of any other
// signer (--expiry-csr-signers all): no node (never superseded), group the signer.
Keys CsrCertificatesAnySigner(const nlohmann::json& csr);

// Every field of `data` (base64) holding a certificate, PEM or DER. Keys and
// other fields are left out; private keys are never decoded.
Keys SecretCertificates(const nlohmann::json& secret);

// Every field of `data` (text) and `binaryData` (base64) holding a certificate.
Keys ConfigMapCertificates(const nlohmann::json& configmap);

// Validating or mutating webhook configuration: one key per webhook (its name)
// with a clientConfig.caBundle.
Keys WebhookCertificates(const nlohmann::json& configuration);

// APIService: {"spec.caBundle": ...} when set.
Keys ApiServiceCertificates(const nlohmann::json& apiservice);

// What the cache of a watch needs to keep: name, namespace, resourceVersion,
// uid, and a Secret's type.
nlohmann::json MetadataOnly(const nlohmann::json& object);

// Where an inventory certificate came from, for the check-expiration report:
// "secret apps/web tls.crt", "csr csr-8x2lq status.certificate (node worker-1)",
// "trustbundle cluster-ca ca.crt".
std::string SourceName(const ObjectRef& object, const std::string& key, const std::string& node);

// Every certificate the inventory shows, as report lines, in inventory order.
std::vector<Finding> FindingsOf(const Inventory& inventory);

// The certificates of each TrustBundle, gathered from its targets (ConfigMaps
// and Secrets labelled certguard.io/trustbundle=NAME, one of each per selected
// namespace): per key, the union over the targets, so a target not yet updated
// still shows the certificate it holds. A ConfigMap and a Secret of one name
// are two targets. Inventory object: {trustbundle, "", NAME}.
class BundleTargets {
 public:
  // A ConfigMap target added or changed; returns the bundles whose certificates
  // may have changed (the old and the new label value).
  std::set<std::string> Update(const nlohmann::json& configmap);
  // The same for a Secret target: the certificates of its data (base64).
  std::set<std::string> UpdateSecret(const nlohmann::json& secret);
  // A target deleted (by its namespace/name).
  std::set<std::string> Remove(const std::string& ns, const std::string& name, bool secret = false);
  // The bundle's certificates, per key; empty when it has no target.
  Keys Of(const std::string& bundle) const;
  std::set<std::string> Bundles() const;

 private:
  // A certificate as the inventory tells them apart, and how many targets hold it.
  using Identity = std::tuple<std::string, std::string, std::string, bool>;
  struct Counted {
    CertFacts facts;
    int targets = 0;
  };
  void Add(const std::string& bundle, const Keys& keys, int delta);
  std::set<std::string> UpdateTarget(const std::string& where, const nlohmann::json& object,
                                     Keys keys);

  // "configmap ns/name" or "secret ns/name" -> bundle, certs
  std::map<std::string, std::pair<std::string, Keys>> targets_;
  std::map<std::string, std::map<std::string, std::map<Identity, Counted>>> bundles_;
};

}  // namespace certguard::expiry
