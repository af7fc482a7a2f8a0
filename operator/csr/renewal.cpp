#include "csr/renewal.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "common/json_fields.h"
#include "csr/node.h"
#include "csr/policy.h"
#include "csr/request.h"
#include "x509/pem.h"
#include "x509/read.h"
#include "x509/validity.h"

namespace certguard::csr {

namespace {

using common::Field;
using common::Str;

// The leaf of an issued CSR's status.certificate (base64 of PEM or DER), read as
// the expiry inventory reads it; none when absent or holding no certificate.
std::optional<x509::CertificateInfo> IssuedLeaf(const nlohmann::json& csr) {
  const nlohmann::json& issued = Field(Field(csr, "status"), "certificate");
  if (!issued.is_string()) return std::nullopt;
  auto decoded = x509::pem::DecodeBody(issued.get_ref<const std::string&>());
  if (!decoded.ok()) return std::nullopt;
  x509::FileCertificates read = x509::ReadCertificates(*decoded);
  if (read.certs.empty()) return std::nullopt;
  return std::move(read.certs.front());
}

// The order JoinRenewals picks the current certificate by (the inventory's).
bool Newer(const KubeletCsr& a, const KubeletCsr& b) {
  return std::tie(a.cert->not_before, a.cert->not_after, a.name) >
         std::tie(b.cert->not_before, b.cert->not_after, b.name);
}

// Was `c` made after the certificate `current` came from?
bool After(const KubeletCsr& c, const std::optional<KubeletCsr>& current) {
  if (!current) return true;
  if (!c.created) return true;  // unknown: counted, the safer way for an alert
  if (current->created) return *c.created > *current->created;
  return *c.created > current->cert->not_before;
}

// The validity of status.certificate when it is base64 of exactly one PEM
// CERTIFICATE block that the DER reader accepts.
std::optional<x509::LeafValidity> IssuedLeafValidity(const nlohmann::json& csr) {
  const std::string b64 = Str(csr, "status", "certificate");
  if (b64.empty()) return std::nullopt;
  auto pem = x509::pem::DecodeBody(b64);
  if (!pem.ok()) return std::nullopt;
  auto leaf = x509::ReadSinglePemValidity(*pem);
  if (!leaf.ok()) return std::nullopt;
  return std::move(*leaf);
}

}  // namespace

const char* CertKindName(CertKind k) { return k == CertKind::kClient ? "client" : "serving"; }

std::optional<KubeletCsr> KubeletCsrOf(const nlohmann::json& csr) {
  if (!csr.is_object()) return std::nullopt;
  const std::string signer = Str(csr, "spec", "signerName");
  if (signer != kClientSigner && signer != kServingSigner) return std::nullopt;
  KubeletCsr k;
  k.name = Str(csr, "metadata", "name");
  k.kind = signer == kClientSigner ? CertKind::kClient : CertKind::kServing;
  k.state = StateOf(csr);
  if (auto t = common::ParseRfc3339(Str(csr, "metadata", "creationTimestamp")); t.ok()) k.created = *t;
  if (k.state == CsrState::kIssued) {
    // A kubelet's certificate is one leaf: its validity and CN read without
    // OpenSSL (x509/validity.h), which at start-up in a big cluster is most
    // of the time spent per issued CSR. Anything else is read as the expiry
    // inventory reads the same CSR.
    if (auto leaf = IssuedLeafValidity(csr)) {
      k.cert = CertValidity{leaf->not_before, leaf->not_after, k.name};
      k.node = NodeOfKubeletCn(leaf->subject_cn.value_or(""));
    } else if (auto full = IssuedLeaf(csr)) {
      k.cert = CertValidity{full->not_before, full->not_after, k.name};
      k.node = NodeOfKubeletCn(full->subject.CommonName().value_or(""));
    }
  }
  if (k.node.empty()) k.node = NodeOfKubeletCn(Str(csr, "spec", "username"));
  if (k.node.empty() && k.state != CsrState::kIssued) {
    if (auto req = RequestFromObject(csr); req.ok() && req->csr) {
      auto cns = req->csr->subject.Values("CN");
      if (cns.size() == 1) k.node = NodeOfKubeletCn(cns[0]);
    }
  }
  if (k.node.empty()) return std::nullopt;
  return k;
}

std::optional<KubeletCsr> CurrentCertificate(const std::vector<KubeletCsr>& csrs,
                                             const std::string& node, CertKind kind) {
  const KubeletCsr* best = nullptr;
  for (const auto& c : csrs) {
    if (c.node != node || c.kind != kind || !c.cert) continue;
    if (!best || Newer(c, *best)) best = &c;
  }
  if (!best) return std::nullopt;
  return *best;
}

std::vector<NodeRenewal> JoinRenewals(const std::vector<KubeletCsr>& csrs, x509::Time now,
                                      std::chrono::seconds window) {
  std::map<std::pair<std::string, CertKind>, std::vector<const KubeletCsr*>> groups;
  for (const auto& c : csrs) groups[{c.node, c.kind}].push_back(&c);
  std::vector<NodeRenewal> out;
  for (const auto& [slot, members] : groups) {
    NodeRenewal r;
    r.node = slot.first;
    r.kind = slot.second;
    for (const KubeletCsr* c : members) {
      if (c->cert && (!r.current || Newer(*c, *r.current))) r.current = *c;
    }
    for (const KubeletCsr* c : members) {
      if (c->cert || !After(*c, r.current)) continue;
      switch (c->state) {
        case CsrState::kPending:
        case CsrState::kApproved:
          r.pending.push_back(c->name);
          break;
        case CsrState::kDenied:
        case CsrState::kFailed:
          r.denied.push_back(c->name);
          break;
        case CsrState::kIssued:
          break;  // issued, its certificate unreadable
      }
    }
    std::sort(r.pending.begin(), r.pending.end());
    std::sort(r.denied.begin(), r.denied.end());
    const bool waiting = !r.pending.empty() || !r.denied.empty();
    r.stuck = waiting && r.current && r.current->cert->not_after - now <= window;
    out.push_back(std::move(r));
  }
  return out;
}

void AddLastClientCerts(NodeMap& nodes, const std::vector<KubeletCsr>& csrs) {
  for (const auto& row : JoinRenewals(csrs, x509::Time{}, std::chrono::seconds(0))) {
    if (row.kind != CertKind::kClient || !row.current) continue;
    if (auto it = nodes.find(row.node); it != nodes.end())
      it->second.last_client_cert = row.current->cert;
  }
}

KubeletCsr RenewalIndex::Expand(const std::string& key, const Live& live) {
  KubeletCsr k;
  k.name = key;
  k.node = *live.node;
  k.kind = live.kind;
  k.state = live.state;
  k.created = live.created;
  if (live.validity) k.cert = CertValidity{live.validity->first, live.validity->second, key};
  return k;
}

void RenewalIndex::Update(const std::string& key, const nlohmann::json& csr) {
  auto facts = KubeletCsrOf(csr);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = live_.find(key); it != live_.end()) EraseLocked(it);
  if (!facts) return;
  Live live;
  live.kind = facts->kind;
  live.state = facts->state;
  live.created = facts->created;
  if (facts->cert) live.validity = std::make_pair(facts->cert->not_before, facts->cert->not_after);
  auto node = by_node_.try_emplace(std::move(facts->node)).first;
  live.node = &node->first;
  auto [at, inserted] = live_.emplace(key, live);
  node->second.push_back(&at->first);
}

void RenewalIndex::EraseLocked(LiveMap::iterator it) {
  if (auto n = by_node_.find(*it->second.node); n != by_node_.end()) {
    auto& keys = n->second;
    keys.erase(std::remove(keys.begin(), keys.end(), &it->first), keys.end());
    if (keys.empty()) by_node_.erase(n);
  }
  live_.erase(it);
}

void RenewalIndex::Remove(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(key);
  if (it == live_.end()) return;
  if (it->second.validity) {
    KubeletCsr c = Expand(it->first, it->second);
    auto slot = std::make_pair(c.node, c.kind);
    auto r = remembered_.find(slot);
    if (r == remembered_.end()) {
      remembered_.emplace(slot, std::move(c));
    } else if (Newer(c, r->second)) {
      r->second = std::move(c);
    }
  }
  EraseLocked(it);
}

void RenewalIndex::ForgetNode(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  remembered_.erase({node, CertKind::kClient});
  remembered_.erase({node, CertKind::kServing});
}

std::vector<KubeletCsr> RenewalIndex::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KubeletCsr> out;
  out.reserve(live_.size() + remembered_.size());
  for (const auto& [key, c] : live_) out.push_back(Expand(key, c));
  for (const auto& [slot, c] : remembered_) out.push_back(c);
  return out;
}

std::optional<CertValidity> RenewalIndex::Current(const std::string& node, CertKind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<KubeletCsr> best;
  if (auto keys = by_node_.find(node); keys != by_node_.end()) {
    for (const std::string* key : keys->second) {
      const Live& live = live_.at(*key);
      if (live.kind != kind || !live.validity) continue;
      KubeletCsr c = Expand(*key, live);
      if (!best || Newer(c, *best)) best = std::move(c);
    }
  }
  if (auto r = remembered_.find({node, kind}); r != remembered_.end()) {
    if (!best || Newer(r->second, *best)) best = r->second;
  }
  if (!best) return std::nullopt;
  return best->cert;
}

}  // namespace certguard::csr
