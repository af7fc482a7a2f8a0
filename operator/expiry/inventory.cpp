#include "expiry/inventory.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

namespace certguard::expiry {

namespace {

std::vector<CertFacts> Deduplicate(std::vector<CertFacts> certs) {
  if (certs.size() < 2) return certs;
  // Views into `certs`, which is not modified while they live.
  std::set<std::tuple<std::string_view, std::string_view, std::string_view, bool>> seen;
  std::vector<bool> keep(certs.size());
  for (size_t i = 0; i < certs.size(); ++i) {
    const auto& c = certs[i];
    keep[i] = seen.emplace(c.subject_cn, c.issuer_cn, c.serial, c.is_ca).second;
  }
  std::vector<CertFacts> out;
  out.reserve(certs.size());
  for (size_t i = 0; i < certs.size(); ++i) {
    if (keep[i]) out.push_back(std::move(certs[i]));
  }
  return out;
}

// Orders a node's CSR sources: the greatest is shown.
std::tuple<x509::Time, x509::Time> Recency(const SourceCerts& certs) {
  x509::Time not_before{}, not_after{};
  for (const auto& c : certs.certs) {
    if (c.not_before > not_before) not_before = c.not_before;
    if (c.not_after > not_after) not_after = c.not_after;
  }
  return {not_before, not_after};
}

// Where a CSR source competes for being shown: its node and group; empty when
// it has no node (never superseded).
std::string SlotOf(const SourceCerts& certs) {
  if (certs.node.empty()) return {};
  return certs.group.empty() ? certs.node : certs.node + '\n' + certs.group;
}

}  // namespace

std::string_view SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kCsr: return "csr";
    case SourceKind::kSecret: return "secret";
    case SourceKind::kConfigMap: return "configmap";
    case SourceKind::kTrustBundle: return "trustbundle";
    case SourceKind::kFile: return "file";
    case SourceKind::kKubeconfig: return "kubeconfig";
    case SourceKind::kValidatingWebhook: return "validatingwebhook";
    case SourceKind::kMutatingWebhook: return "mutatingwebhook";
    case SourceKind::kApiService: return "apiservice";
  }
  return "unknown";
}

CertFacts FactsOf(const x509::CertificateInfo& cert) {
  CertFacts f;
  f.subject = cert.subject.ToString();
  f.issuer = cert.issuer.ToString();
  f.subject_cn = cert.subject.CommonName().value_or("");
  f.issuer_cn = cert.issuer.CommonName().value_or("");
  f.serial = cert.serial;
  f.not_before = cert.not_before;
  f.not_after = cert.not_after;
  f.is_ca = cert.is_ca;
  return f;
}

void Inventory::Upsert(const SourceRef& source, const std::vector<x509::CertificateInfo>& certs,
                       std::string node) {
  SourceCerts facts;
  facts.node = std::move(node);
  facts.certs.reserve(certs.size());
  for (const auto& c : certs) facts.certs.push_back(FactsOf(c));
  UpsertFacts(source, std::move(facts));
}

void Inventory::UpsertFacts(const SourceRef& source, SourceCerts certs) {
  certs.certs = Deduplicate(std::move(certs.certs));
  std::unique_lock lock(mu_);
  SetKeyLocked(source, std::move(certs));
}

void Inventory::Remove(const SourceRef& source) {
  std::unique_lock lock(mu_);
  auto obj = objects_.find(source.object);
  if (obj == objects_.end()) return;
  auto key = obj->second.find(source.key);
  if (key == obj->second.end()) return;
  std::string node = SlotOf(key->second);
  cert_count_ -= key->second.certs.size();
  --source_count_;
  obj->second.erase(key);
  if (obj->second.empty()) objects_.erase(obj);
  if (source.object.kind == SourceKind::kCsr && !node.empty()) {
    csr_sources_by_node_[node];  // ReindexNodeLocked drops the missing source
    ReindexNodeLocked(node);
  }
}

void Inventory::ReplaceObject(const ObjectRef& object, std::map<std::string, SourceCerts> keys) {
  for (auto& [key, certs] : keys) certs.certs = Deduplicate(std::move(certs.certs));
  std::unique_lock lock(mu_);
  if (auto it = objects_.find(object); it != objects_.end()) EraseObjectLocked(it);
  for (auto& [key, certs] : keys) SetKeyLocked(SourceRef{object, key}, std::move(certs));
}

void Inventory::RemoveObject(const ObjectRef& object) {
  std::unique_lock lock(mu_);
  if (auto it = objects_.find(object); it != objects_.end()) EraseObjectLocked(it);
}

void Inventory::ReplaceKind(SourceKind kind,
                            std::map<ObjectRef, std::map<std::string, SourceCerts>> objects) {
  for (auto& [object, keys] : objects) {
    for (auto& [key, certs] : keys) certs.certs = Deduplicate(std::move(certs.certs));
  }
  std::unique_lock lock(mu_);
  auto it = objects_.lower_bound(ObjectRef{kind, {}, {}});
  while (it != objects_.end() && it->first.kind == kind) {
    auto next = std::next(it);
    EraseObjectLocked(it);
    it = next;
  }
  for (auto& [object, keys] : objects) {
    if (object.kind != kind) continue;  // a caller's mistake must not leak into other kinds
    for (auto& [key, certs] : keys) SetKeyLocked(SourceRef{object, key}, std::move(certs));
  }
}

void Inventory::SetLimits(InventoryLimits limits) {
  std::unique_lock lock(mu_);
  limits_ = limits;
}

DroppedCounts Inventory::dropped() const {
  std::shared_lock lock(mu_);
  return dropped_;
}

void Inventory::SetKeyLocked(const SourceRef& source, SourceCerts certs) {
  const bool csr = source.object.kind == SourceKind::kCsr;
  auto& keys = objects_[source.object];
  auto [it, inserted] = keys.try_emplace(source.key);
  std::string old_node;
  if (!inserted) {
    cert_count_ -= it->second.certs.size();
    old_node = SlotOf(it->second);
  } else {
    ++source_count_;
  }
  // The room the limits leave this key: the object's other keys and everything
  // else stored count first.
  size_t object_room = certs.certs.size();
  if (limits_.max_certs_per_object > 0) {
    size_t others = 0;
    for (const auto& [k, v] : keys) {
      if (k != source.key) others += v.certs.size();
    }
    object_room = limits_.max_certs_per_object > others ? limits_.max_certs_per_object - others : 0;
  }
  size_t total_room = certs.certs.size();
  if (limits_.max_certs > 0) {
    total_room = limits_.max_certs > cert_count_ ? limits_.max_certs - cert_count_ : 0;
  }
  const size_t room = std::min({certs.certs.size(), object_room, total_room});
  if (room < certs.certs.size()) {
    const uint64_t left_out = certs.certs.size() - room;
    if (object_room <= total_room) {
      dropped_.per_object += left_out;
    } else {
      dropped_.total += left_out;
    }
    // Keep those that expire first: they are the ones an alert is for.
    std::stable_sort(certs.certs.begin(), certs.certs.end(),
                     [](const CertFacts& a, const CertFacts& b) { return a.not_after < b.not_after; });
    certs.certs.resize(room);
  }
  cert_count_ += certs.certs.size();
  it->second = std::move(certs);
  if (!csr) return;
  const std::string node = SlotOf(it->second);
  if (!old_node.empty() && old_node != node) {
    csr_sources_by_node_[old_node].erase(
        std::remove(csr_sources_by_node_[old_node].begin(), csr_sources_by_node_[old_node].end(),
                    source),
        csr_sources_by_node_[old_node].end());
    ReindexNodeLocked(old_node);
  }
  if (!node.empty()) {
    auto& sources = csr_sources_by_node_[node];
    if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
      sources.push_back(source);
    }
    ReindexNodeLocked(node);
  }
}

void Inventory::EraseObjectLocked(std::map<ObjectRef, Keys>::iterator it) {
  std::set<std::string> nodes;
  for (const auto& [key, certs] : it->second) {
    cert_count_ -= certs.certs.size();
    --source_count_;
    if (it->first.kind == SourceKind::kCsr && !certs.node.empty()) nodes.insert(SlotOf(certs));
  }
  objects_.erase(it);
  for (const auto& node : nodes) ReindexNodeLocked(node);
}

// Drops sources of slot `node` that no longer exist or moved to another slot,
// then picks the one shown.
void Inventory::ReindexNodeLocked(const std::string& node) {
  auto& sources = csr_sources_by_node_[node];
  const SourceCerts* best = nullptr;
  const SourceRef* best_ref = nullptr;
  std::vector<SourceRef> kept;
  for (const auto& ref : sources) {
    auto obj = objects_.find(ref.object);
    if (obj == objects_.end()) continue;
    auto key = obj->second.find(ref.key);
    if (key == obj->second.end() || SlotOf(key->second) != node) continue;
    kept.push_back(ref);
  }
  sources = std::move(kept);
  for (const auto& ref : sources) {
    const SourceCerts& certs = objects_.at(ref.object).at(ref.key);
    if (certs.certs.empty()) continue;
    if (best == nullptr || std::make_tuple(Recency(certs), std::cref(ref)) >
                               std::make_tuple(Recency(*best), std::cref(*best_ref))) {
      best = &certs;
      best_ref = &ref;
    }
  }
  if (best_ref != nullptr) {
    csr_winner_by_node_[node] = *best_ref;
  } else {
    csr_winner_by_node_.erase(node);
  }
  if (sources.empty()) csr_sources_by_node_.erase(node);
}

bool Inventory::ShownLocked(const ObjectRef& object, const std::string& key,
                            const SourceCerts& certs) const {
  if (object.kind != SourceKind::kCsr || certs.node.empty()) return true;
  auto it = csr_winner_by_node_.find(SlotOf(certs));
  return it != csr_winner_by_node_.end() && it->second.object == object && it->second.key == key;
}

void Inventory::ForEach(const Visitor& visit) const {
  ForEachSource([&](const ObjectRef& object, const std::string& key, const SourceCerts& source,
                    const CertFacts& cert) { visit(object, key, source.node, cert); });
}

bool Inventory::ForEachFrom(std::optional<SourceRef>& cursor, const Visitor& visit,
                            const std::function<bool()>& enough) const {
  return ForEachSourceFrom(
      cursor,
      [&](const ObjectRef& object, const std::string& key, const SourceCerts& source,
          const CertFacts& cert) { visit(object, key, source.node, cert); },
      enough);
}

void Inventory::ForEachSource(const SourceVisitor& visit) const {
  std::shared_lock lock(mu_);
  for (const auto& [object, keys] : objects_) {
    for (const auto& [key, certs] : keys) {
      if (!ShownLocked(object, key, certs)) continue;
      for (const auto& cert : certs.certs) visit(object, key, certs, cert);
    }
  }
}

bool Inventory::ForEachSourceFrom(std::optional<SourceRef>& cursor, const SourceVisitor& visit,
                                  const std::function<bool()>& enough) const {
  std::shared_lock lock(mu_);
  auto it = cursor ? objects_.lower_bound(cursor->object) : objects_.begin();
  for (; it != objects_.end(); ++it) {
    const auto& [object, keys] = *it;
    const bool resume = cursor && object == cursor->object;
    for (auto k = resume ? keys.upper_bound(cursor->key) : keys.begin(); k != keys.end(); ++k) {
      const auto& [key, certs] = *k;
      if (!ShownLocked(object, key, certs)) continue;
      for (const auto& cert : certs.certs) visit(object, key, certs, cert);
      cursor = SourceRef{object, key};
      if (enough()) return false;
    }
  }
  return true;
}

void Inventory::RemoveNamespace(SourceKind kind, const std::string& ns) {
  std::unique_lock lock(mu_);
  auto it = objects_.lower_bound(ObjectRef{kind, ns, {}});
  while (it != objects_.end() && it->first.kind == kind && it->first.ns == ns) {
    auto next = std::next(it);
    EraseObjectLocked(it);
    it = next;
  }
}

size_t Inventory::certificate_count() const {
  std::shared_lock lock(mu_);
  return cert_count_;
}

size_t Inventory::source_count() const {
  std::shared_lock lock(mu_);
  return source_count_;
}

}  // namespace certguard::expiry
