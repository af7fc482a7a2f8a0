#include "csr/pending.h"

#include <algorithm>
#include <cstdio>

#include "csr/approval.h"
#include "csr/policy.h"
#include "csr/request.h"

namespace certguard::csr {

namespace {

std::string StringAt(const nlohmann::json& obj, const char* a, const char* b) {
  if (!obj.is_object()) return {};
  auto i = obj.find(a);
  if (i == obj.end() || !i->is_object()) return {};
  auto j = i->find(b);
  if (j == i->end() || !j->is_string()) return {};
  return j->get<std::string>();
}

}  // namespace

std::string FloodKey(std::string_view username, std::string_view common_name) {
  constexpr std::string_view kNodePrefix = "system:node:";
  if (username.substr(0, kNodePrefix.size()) == kNodePrefix) {
    return "node:" + std::string(username.substr(kNodePrefix.size()));
  }
  if (common_name.size() > kNodePrefix.size() &&
      common_name.substr(0, kNodePrefix.size()) == kNodePrefix) {
    return std::string(username) + " for node:" + std::string(common_name.substr(kNodePrefix.size()));
  }
  return std::string(username);
}

std::string RequesterKey(std::string_view username) { return FloodKey(username, ""); }

namespace {

// FloodKey of a CSR object: its CN is read from spec.request.
std::string FloodKeyOf(const nlohmann::json& csr) {
  const std::string username = StringAt(csr, "spec", "username");
  if (username.rfind("system:node:", 0) == 0) return RequesterKey(username);
  std::string cn;
  if (auto request = RequestFromObject(csr); request.ok() && request->csr) {
    cn = request->csr->subject.CommonName().value_or("");
  }
  return FloodKey(username, cn);
}

}  // namespace

PendingSummary Summarize(const std::vector<const nlohmann::json*>& csrs, x509::Time now) {
  PendingSummary s;
  s.per_signer[kClientSigner] = {};
  s.per_signer[kServingSigner] = {};
  for (const auto* obj : csrs) {
    if (obj == nullptr || !obj->is_object()) continue;
    std::string signer = StringAt(*obj, "spec", "signerName");
    auto it = s.per_signer.find(signer);
    if (it == s.per_signer.end() || IsDecided(*obj)) continue;
    ++s.total;
    ++it->second.pending;
    ++s.per_requester[FloodKeyOf(*obj)];
    if (auto created = common::ParseRfc3339(StringAt(*obj, "metadata", "creationTimestamp"));
        created.ok()) {
      double age = std::max<double>(0, static_cast<double>((now - *created).count()));
      it->second.oldest_age_seconds = std::max(it->second.oldest_age_seconds, age);
    }
  }
  return s;
}

std::vector<std::string> PendingIndex::Update(const std::string& key, const nlohmann::json& csr) {
  std::string signer = StringAt(csr, "spec", "signerName");
  const bool kubelet = csr.is_object() && (signer == kClientSigner || signer == kServingSigner);
  const bool counted = kubelet && !IsDecided(csr);
  const std::string uid = StringAt(csr, "metadata", "uid");
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto m = members_.find(key);
    known = m != members_.end() && m->second.uid == uid;
  }
  // The request is parsed once per CSR, outside the lock.
  std::string group;
  std::string flood_key;
  if (counted && !known) {
    flood_key = FloodKeyOf(csr);
    if (group_) {
      if (auto request = RequestFromObject(csr); request.ok()) group = DuplicateGroup(*request);
    }
  }
  std::optional<x509::Time> created;
  if (auto t = common::ParseRfc3339(StringAt(csr, "metadata", "creationTimestamp")); t.ok()) {
    created = *t;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!kubelet) {
    EraseEntryLocked(key);
    RecountGroupLocked(LeaveGroupLocked(key));
    return {};
  }
  if (!counted) {  // decided: no longer pending, but it still supersedes older ones
    EraseEntryLocked(key);
    return {};
  }
  if (known) {
    if (auto e = entries_.find(key); e != entries_.end()) flood_key = e->second.requester_key;
    else flood_key = FloodKeyOf(csr);  // rare: pending again after it was decided
  }
  PutEntryLocked(key, Entry{std::move(signer), std::move(flood_key), created});
  if (known) {
    if (auto m = members_.find(key); m != members_.end()) RecountGroupLocked(m->second.group);
    return {};
  }
  RecountGroupLocked(LeaveGroupLocked(key));
  if (group.empty()) return {};
  members_[key] = Member{group, uid, DuplicateMember{StringAt(csr, "metadata", "name"), created}};
  auto& keys = groups_[group];
  keys.push_back(key);
  RecountGroupLocked(group);
  std::string newest = NewestLocked(group);
  std::vector<std::string> superseded;
  for (const auto& k : keys) {
    if (k != newest && entries_.count(k) > 0) superseded.push_back(k);
  }
  return superseded;
}

void PendingIndex::Remove(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  EraseEntryLocked(key);
  RecountGroupLocked(LeaveGroupLocked(key));
}

void PendingIndex::SetCountedLocked(Entry& e, bool counted) {
  if (e.counted == counted) return;
  e.counted = counted;
  if (counted) {
    ++total_;
    ++per_requester_[e.requester_key];
    return;
  }
  --total_;
  auto it = per_requester_.find(e.requester_key);
  if (it != per_requester_.end() && --it->second <= 0) per_requester_.erase(it);
}

void PendingIndex::PutEntryLocked(const std::string& key, Entry e) {
  EraseEntryLocked(key);
  ++pending_by_signer_[e.signer];
  if (e.created) created_[e.signer].insert(*e.created);
  Entry& put = entries_.emplace(key, std::move(e)).first->second;
  // A CSR in no group always counts; one in a group, until RecountGroupLocked.
  SetCountedLocked(put, true);
}

void PendingIndex::EraseEntryLocked(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  SetCountedLocked(e, false);
  if (auto n = pending_by_signer_.find(e.signer); n != pending_by_signer_.end()) {
    if (--n->second <= 0) pending_by_signer_.erase(n);
  }
  if (e.created) {
    if (auto c = created_.find(e.signer); c != created_.end()) {
      if (auto at = c->second.find(*e.created); at != c->second.end()) c->second.erase(at);
      if (c->second.empty()) created_.erase(c);
    }
  }
  entries_.erase(it);
}

void PendingIndex::RecountGroupLocked(const std::string& group) {
  if (group.empty()) return;
  auto g = groups_.find(group);
  if (g == groups_.end()) return;
  const std::string newest = NewestLocked(group);
  for (const auto& k : g->second) {
    if (auto e = entries_.find(k); e != entries_.end()) SetCountedLocked(e->second, k == newest);
  }
}

std::string PendingIndex::LeaveGroupLocked(const std::string& key) {
  auto m = members_.find(key);
  if (m == members_.end()) return {};
  std::string group = m->second.group;
  auto g = groups_.find(group);
  if (g != groups_.end()) {
    std::erase(g->second, key);
    if (g->second.empty()) groups_.erase(g);
  }
  members_.erase(m);
  return group;
}

std::string PendingIndex::NewestLocked(const std::string& group) const {
  auto g = groups_.find(group);
  if (g == groups_.end()) return {};
  const std::string* best = nullptr;
  const DuplicateMember* best_member = nullptr;
  for (const auto& k : g->second) {
    const DuplicateMember& m = members_.at(k).member;
    if (best_member == nullptr || IsNewer(m, *best_member)) {
      best = &k;
      best_member = &m;
    }
  }
  return best ? *best : std::string();
}

std::string PendingIndex::SupersededBy(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto m = members_.find(key);
  if (m == members_.end()) return {};
  std::string newest = NewestLocked(m->second.group);
  if (newest.empty() || newest == key) return {};
  return members_.at(newest).member.name;
}

PendingSummary PendingIndex::Summary(x509::Time now) const {
  PendingSummary s;
  s.per_signer[kClientSigner] = {};
  s.per_signer[kServingSigner] = {};
  std::lock_guard<std::mutex> lock(mu_);
  s.total = total_;
  s.per_requester = per_requester_;
  for (const auto& [signer, n] : pending_by_signer_) s.per_signer[signer].pending = n;
  for (const auto& [signer, times] : created_) {
    if (times.empty()) continue;
    s.per_signer[signer].oldest_age_seconds =
        std::max<double>(0, static_cast<double>((now - *times.begin()).count()));
  }
  return s;
}

std::vector<std::string> PendingIndex::Keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [key, e] : entries_) out.push_back(key);
  return out;
}

size_t PendingIndex::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void Forget(PendingSummary& summary, const nlohmann::json& csr) {
  if (!csr.is_object() || IsDecided(csr)) return;
  auto signer = summary.per_signer.find(StringAt(csr, "spec", "signerName"));
  if (signer == summary.per_signer.end()) return;
  auto down = [](int& n) { n = std::max(0, n - 1); };
  down(summary.total);
  down(signer->second.pending);
  auto who = summary.per_requester.find(FloodKeyOf(csr));
  if (who != summary.per_requester.end()) {
    down(who->second);
    if (who->second == 0) summary.per_requester.erase(who);
  }
}

FloodCheck CheckFlood(const PendingSummary& summary, std::string_view requester_key,
                      const FloodLimits& limits) {
  FloodCheck c;
  if (limits.max_pending > 0 && summary.total > limits.max_pending) {
    c.hold = true;
    c.scope = "cluster";
    c.code = kFloodMaxPending;
    c.reason = c.code + ": " + std::to_string(summary.total) + " pending, cap " +
               std::to_string(limits.max_pending);
    c.message = std::to_string(summary.total) + " kubelet CSRs are pending, more than the " +
                std::to_string(limits.max_pending) +
                " allowed (--csr-max-pending): approvals are paused until the backlog shrinks";
    return c;
  }
  auto it = summary.per_requester.find(std::string(requester_key));
  int mine = it == summary.per_requester.end() ? 0 : it->second;
  if (limits.max_pending_per_node > 0 && mine > limits.max_pending_per_node) {
    c.hold = true;
    c.scope = "node";
    c.code = kFloodMaxPendingPerNode;
    c.reason = c.code + ": " + std::string(requester_key) + " has " + std::to_string(mine) +
               " pending, cap " + std::to_string(limits.max_pending_per_node);
    c.message = std::to_string(mine) + " CSRs of " + std::string(requester_key) +
                " are pending, more than the " + std::to_string(limits.max_pending_per_node) +
                " allowed (--csr-max-pending-per-node): its approvals are paused until the "
                "backlog shrinks";
  }
  return c;
}

std::vector<std::string> ReleasedFromHold(const PendingSummary& summary,
                                          const std::map<std::string, std::string>& held,
                                          const FloodLimits& limits) {
  std::vector<std::string> out;
  for (const auto& [name, requester_key] : held) {
    if (!CheckFlood(summary, requester_key, limits).hold) out.push_back(name);
  }
  return out;
}

std::optional<std::chrono::milliseconds> NodeWaitDelay(
    std::string_view signer_name, const std::vector<std::string>& reason_codes,
    std::chrono::milliseconds age, std::chrono::milliseconds timeout) {
  using std::chrono::milliseconds;
  if (signer_name != kServingSigner) return std::nullopt;
  bool node_missing = false;
  for (const auto& code : reason_codes) {
    if (code == "NodeNotFound") {
      node_missing = true;
    } else if (code != "SANNotNodeAddress" && code != "NodeSelectorNotMatched") {
      return std::nullopt;  // refused for something a Node cannot fix
    }
  }
  if (!node_missing || age >= timeout) return std::nullopt;
  milliseconds left = timeout - age;
  milliseconds delay = std::min<milliseconds>(left, std::chrono::seconds(30));
  return std::max<milliseconds>(delay, std::chrono::seconds(1));
}

namespace {

std::chrono::milliseconds WaitDelay(std::chrono::milliseconds age,
                                    std::chrono::milliseconds timeout) {
  using std::chrono::milliseconds;
  milliseconds delay = std::min<milliseconds>(timeout - age, std::chrono::seconds(30));
  return std::max<milliseconds>(delay, std::chrono::seconds(1));
}

std::string Seconds(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + "s";
}

}  // namespace

NodeWait CheckNodeWait(std::string_view signer_name, const NodeWaitFacts& facts,
                       std::chrono::milliseconds age, std::chrono::milliseconds timeout) {
  NodeWait w;
  if (signer_name != kServingSigner) return w;
  bool node_missing = false;
  bool address_missing = false;
  for (const auto& code : facts.reason_codes) {
    if (code == "NodeNotFound") {
      node_missing = true;
    } else if (code == "SANNotNodeAddress") {
      address_missing = true;
    } else if (code != "NodeSelectorNotMatched") {
      return w;  // refused for something a Node cannot fix
    }
  }
  const bool no_addresses = facts.node_exists && !facts.node_has_addresses;
  std::string waits_for;
  if (node_missing) {
    waits_for = "its Node is not registered yet";
  } else if (no_addresses) {
    waits_for = "its Node has no addresses yet";
  } else if (address_missing) {
    waits_for = "its Node does not list every address it names yet";
  } else {
    return w;  // a selector that does not match a Node with its addresses
  }
  if (!facts.claimed_elsewhere.empty()) {
    w.why = facts.claimed_elsewhere.front() + ": not waiting for it";
    return w;
  }
  if (age >= timeout) {
    w.why = waits_for + " after " + Seconds(age) + " (--csr-node-wait-timeout " +
            Seconds(timeout) + ")";
    return w;
  }
  w.wait = true;
  w.delay = WaitDelay(age, timeout);
  w.why = waits_for;
  return w;
}

}  // namespace certguard::csr
