// The certificate inventory: parsed facts (never the objects they came from) of
// every certificate certguard watches, keyed by where each came from. Watchers
// write it (Upsert/Remove one key, ReplaceObject/RemoveObject one object,
// ReplaceKind after a relist); the metrics collector and the CLI read it.
// Memory follows the number of certificates, not the size of the objects.
// Thread-safe: writers take an exclusive lock, readers a shared one.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "x509/types.h"

namespace certguard::expiry {

enum class SourceKind {
  kCsr,
  kSecret,
  kConfigMap,
  kTrustBundle,
  kFile,
  kKubeconfig,
  kValidatingWebhook,
  kMutatingWebhook,
  kApiService,
};

// The `source_kind` label: "csr", "secret", "configmap", "trustbundle", "file", "kubeconfig",
// "validatingwebhook", "mutatingwebhook", "apiservice".
std::string_view SourceKindName(SourceKind kind);

// One object that holds certificates: a CSR, a Secret, a ConfigMap, a file, ...
struct ObjectRef {
  SourceKind kind = SourceKind::kFile;
  std::string ns;    // namespace; empty for cluster-scoped objects and files
  std::string name;  // object name, or the file's path
  auto operator<=>(const ObjectRef&) const = default;
};

// One field of an object: "tls.crt", "ca.crt", "status.certificate", a kubeconfig user.
struct SourceRef {
  ObjectRef object;
  std::string key;
  auto operator<=>(const SourceRef&) const = default;
};

// What the inventory keeps of a certificate.
struct CertFacts {
  std::string subject;     // full DN, "CN=system:node:a,O=system:nodes"
  std::string issuer;      // full DN
  std::string subject_cn;  // the single CN, or empty
  std::string issuer_cn;
  std::string serial;      // upper-case hex
  x509::Time not_before{};
  x509::Time not_after{};
  bool is_ca = false;
};

CertFacts FactsOf(const x509::CertificateInfo& cert);

// One key's certificates and its node (for kubelet certificates; empty otherwise).
// For kind csr, `group` splits a node's certificates into lines that supersede
// only each other (the signer: a node's client and serving certificates both show).
struct SourceCerts {
  SourceCerts() = default;
  SourceCerts(std::string node_in, std::vector<CertFacts> certs_in, std::string group_in = {})
      : node(std::move(node_in)), certs(std::move(certs_in)), group(std::move(group_in)) {}

  std::string node;
  std::vector<CertFacts> certs;
  std::string group;
  // Values of the Secret labels copied into the series (ExpiryFilter::label_names order).
  std::vector<std::string> labels;
};

// Bounds on what the inventory keeps, so that what others create cannot grow
// certguard's memory (and its /metrics) without end. 0 means no bound.
struct InventoryLimits {
  size_t max_certs_per_object = 500;  // --expiry-max-series-per-object
  size_t max_certs = 50000;           // --expiry-max-series
};

// Certificates left out by the limits, counted each time a write left them out.
struct DroppedCounts {
  uint64_t per_object = 0;
  uint64_t total = 0;
};

class Inventory {
 public:
  Inventory() = default;
  explicit Inventory(InventoryLimits limits) : limits_(limits) {}
  // Bounds for later writes; what is stored stays until written again.
  void SetLimits(InventoryLimits limits);
  DroppedCounts dropped() const;

  // Sets the certificates of one key, replacing what it held. Certificates with
  // the same subject CN, issuer CN, serial and CA flag as an earlier one of the
  // same key are dropped (they would be the same series). An empty list keeps the
  // key with no certificates. Beyond the limits (the object's other keys and every
  // other object count first), the certificates that expire last are left out
  // and counted in dropped().
  void Upsert(const SourceRef& source, const std::vector<x509::CertificateInfo>& certs,
              std::string node = {});
  void UpsertFacts(const SourceRef& source, SourceCerts certs);
  // Forgets one key. No-op when unknown.
  void Remove(const SourceRef& source);

  // Sets every key of one object at once: keys not in `keys` are forgotten.
  void ReplaceObject(const ObjectRef& object, std::map<std::string, SourceCerts> keys);
  // Forgets every key of one object (the object was deleted).
  void RemoveObject(const ObjectRef& object);
  // After a relist: the objects of `kind` become exactly `objects`.
  void ReplaceKind(SourceKind kind,
                   std::map<ObjectRef, std::map<std::string, SourceCerts>> objects);

  // Calls `visit` for every certificate that is shown, in source order, under
  // a shared lock: `visit` must not call back into the inventory. For kind csr,
  // only the newest certificate source of each node and group is shown (the latest
  // not_before wins; ties go to the later not_after, then the greater source).
  using Visitor = std::function<void(const ObjectRef& object, const std::string& key,
                                     const std::string& node, const CertFacts& cert)>;
  void ForEach(const Visitor& visit) const;
  // ForEach by pages, for a scrape that must not hold the lock while it is sent:
  // visits whole keys in source order from the one after `cursor` (from the
  // first when empty), updating `cursor` to the last key visited, and stops
  // after a key once `enough()` is true. Returns true when it reached the end.
  // A key added or removed between pages is seen or not; none is seen twice.
  bool ForEachFrom(std::optional<SourceRef>& cursor, const Visitor& visit,
                   const std::function<bool()>& enough) const;

  // ForEach and ForEachFrom with the whole source (node, labels) of each certificate.
  using SourceVisitor = std::function<void(const ObjectRef& object, const std::string& key,
                                           const SourceCerts& source, const CertFacts& cert)>;
  void ForEachSource(const SourceVisitor& visit) const;
  bool ForEachSourceFrom(std::optional<SourceRef>& cursor, const SourceVisitor& visit,
                         const std::function<bool()>& enough) const;

  // Forgets every object of `kind` in namespace `ns` (it is no longer included).
  void RemoveNamespace(SourceKind kind, const std::string& ns);

  size_t certificate_count() const;  // every stored certificate, superseded ones included
  size_t source_count() const;

 private:
  using Keys = std::map<std::string, SourceCerts>;
  void SetKeyLocked(const SourceRef& source, SourceCerts certs);
  void EraseObjectLocked(std::map<ObjectRef, Keys>::iterator it);
  void ReindexNodeLocked(const std::string& node);
  bool ShownLocked(const ObjectRef& object, const std::string& key,
                   const SourceCerts& certs) const;

  mutable std::shared_mutex mu_;
  InventoryLimits limits_;
  DroppedCounts dropped_;
  std::map<ObjectRef, Keys> objects_;
  size_t cert_count_ = 0;
  size_t source_count_ = 0;
  // kind csr: slot (node and group) -> its CSR sources, and the one shown.
  std::map<std::string, std::vector<SourceRef>> csr_sources_by_node_;
  std::map<std::string, SourceRef> csr_winner_by_node_;
};

}  // namespace certguard::expiry
