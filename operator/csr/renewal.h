// Kubelet certificate renewals per node: the expiry of each node's current
// client and serving certificates (from its issued CSRs) joined with its
// renewals still pending or denied. Behind certguard_node_renewal_stuck, the
// re-bootstrap check (a node's last client certificate) and `csr explain`.
// KubeletCsrOf and JoinRenewals are pure; RenewalIndex is thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "csr/approval.h"
#include "csr/node.h"
#include "x509/types.h"

namespace certguard::csr {

enum class CertKind { kClient, kServing };
const char* CertKindName(CertKind k);  // "client", "serving": the metrics' kind label

// What the join keeps of one CSR of a kubelet signer.
struct KubeletCsr {
  std::string name;
  std::string node;
  CertKind kind = CertKind::kClient;
  CsrState state = CsrState::kPending;
  std::optional<x509::Time> created;
  std::optional<CertValidity> cert;  // when issued and its leaf is readable
  bool operator==(const KubeletCsr&) const = default;
};

// From a CertificateSigningRequest object; nullopt for another signer or when
// no node can be told. The node is the issued leaf's CN system:node:NAME, else
// the requester's (spec.username system:node:NAME), else the request's CN (a
// bootstrap identity asks for a node it names). Never throws.
std::optional<KubeletCsr> KubeletCsrOf(const nlohmann::json& csr);

// One node's certificate of one kind and the renewals it waits for.
struct NodeRenewal {
  std::string node;
  CertKind kind = CertKind::kClient;
  // The newest issued certificate (latest not_before; ties go to the later
  // not_after, then the greater CSR name), with its CSR's creation time.
  std::optional<KubeletCsr> current;
  // CSRs of the node and signer created after the current certificate's CSR
  // (after its not_before when that CSR's time is unknown; every one when there
  // is no current certificate): Pending or Approved but not issued yet, and
  // Denied or Failed.
  std::vector<std::string> pending;
  std::vector<std::string> denied;
  // A renewal is pending or denied and the current certificate expires within
  // the window (or has expired).
  bool stuck = false;
};

// Per node and kind (in node, then kind order), every pair any CSR names.
std::vector<NodeRenewal> JoinRenewals(const std::vector<KubeletCsr>& csrs, x509::Time now,
                                      std::chrono::seconds window);

// The current certificate of `node` and `kind` among `csrs` (as JoinRenewals picks it).
std::optional<KubeletCsr> CurrentCertificate(const std::vector<KubeletCsr>& csrs,
                                             const std::string& node, CertKind kind);

// Sets each Node's last_client_cert to its current client certificate among
// `csrs` (the one-shot commands read CSRs from a list, not from an index).
void AddLastClientCerts(NodeMap& nodes, const std::vector<KubeletCsr>& csrs);

// The kubelet CSRs of a cache, kept up to date from its changes. An issued
// CSR's certificate outlives the CSR: kube-controller-manager's cleaner deletes
// issued CSRs an hour after issue, long before the certificate expires, so the
// newest deleted one of each node and kind is remembered until a newer one
// replaces it or the Node is deleted (ForgetNode). A restart forgets them.
class RenewalIndex {
 public:
  // Records `csr` under `key` (a CSR of another signer is forgotten).
  void Update(const std::string& key, const nlohmann::json& csr);
  // The CSR was deleted: an issued one is remembered as above.
  void Remove(const std::string& key);
  // The Node was deleted: what is remembered of its deleted CSRs goes.
  void ForgetNode(const std::string& node);
  // Every CSR recorded, remembered ones included.
  std::vector<KubeletCsr> Snapshot() const;
  // The node's current certificate of `kind`.
  std::optional<CertValidity> Current(const std::string& node, CertKind kind) const;

 private:
  // A live CSR as kept: its name is its key (a CSR is cluster-scoped), which
  // is also the name in `cert`; its node is the key of its by_node_ entry.
  // In a big cluster this index holds every decided kubelet CSR, so nothing
  // is stored twice.
  struct Live {
    const std::string* node = nullptr;  // by_node_'s key
    CertKind kind = CertKind::kClient;
    CsrState state = CsrState::kPending;
    std::optional<x509::Time> created;
    std::optional<std::pair<x509::Time, x509::Time>> validity;  // not_before, not_after
  };
  using LiveMap = std::unordered_map<std::string, Live>;
  static KubeletCsr Expand(const std::string& key, const Live& live);
  void EraseLocked(LiveMap::iterator it);
  mutable std::mutex mu_;
  LiveMap live_;
  // node -> keys of live_ (pointers to them: an unordered_map's keys never
  // move), so a decision looks at one node's CSRs, not every one.
  std::unordered_map<std::string, std::vector<const std::string*>> by_node_;
  std::map<std::pair<std::string, CertKind>, KubeletCsr> remembered_;
};

}  // namespace certguard::csr
