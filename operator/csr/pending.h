// What the backlog of undecided kubelet CSRs looks like, and the two rules that
// depend on it or on time: the pending-flood guard and the wait for a Node that
// is not registered yet. Pure, thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "csr/defaults.h"
#include "csr/supersede.h"
#include "x509/types.h"

namespace certguard::csr {

// Who a flood is counted against: a node. "node:NAME" for a kubelet's own
// requests (system:node:NAME); for another requester (a bootstrap token, a
// service account) that requester for the node its CN names, "USER for
// node:NAME", else the user alone. kubeadm and OKD join every node with one
// bootstrap identity: counted as one, 200 nodes joining at once would each wait
// behind a cap meant for one node's retries, and none would ever be approved.
// The cluster-wide cap (--csr-max-pending) still bounds what one token asks.
std::string FloodKey(std::string_view username, std::string_view common_name);
std::string RequesterKey(std::string_view username);  // FloodKey without a CN

struct SignerBacklog {
  int pending = 0;
  // Age of the oldest pending CSR with a creationTimestamp; 0 when none.
  double oldest_age_seconds = 0;
};

struct PendingSummary {
  int total = 0;                                // pending CSRs of the kubelet signers
  std::map<std::string, int> per_requester;     // by FloodKey
  std::map<std::string, SignerBacklog> per_signer;  // both kubelet signers always present
};

// Counts the pending (IsDecided false) CSRs of the two kubelet signers among
// `csrs` (CertificateSigningRequest objects; other objects are skipped).
PendingSummary Summarize(const std::vector<const nlohmann::json*>& csrs, x509::Time now);

// Takes `csr`, a pending CSR that `summary` counted and that has since been
// decided or deleted, out of the counts (one pass over a list keeps its
// summary true this way). Oldest ages are left as they are. A CSR that
// Summarize would not count changes nothing; counts never go below zero.
void Forget(PendingSummary& summary, const nlohmann::json& csr);

// The pending kubelet CSRs of a cache, kept up to date from its changes, so
// that the backlog costs O(pending) to summarise and to walk, not O(every CSR
// cached): a cluster keeps thousands of decided CSRs, and a Node event or a
// decision must not scan them. Thread-safe.
//
// It also groups duplicates (csr/supersede.h): a CSR's group is read from its
// request while it is pending and remembered after it is decided, so a newer
// CSR already approved still supersedes an older one left pending. (A CSR
// first seen decided, as after a restart, has no request left in the cache and
// joins no group.)
class PendingIndex {
 public:
  // Without `group_duplicates` no CSR joins a group: nothing is superseded and
  // every pending CSR counts against the flood guard (`--csr-superseded=off`).
  explicit PendingIndex(bool group_duplicates = true) : group_(group_duplicates) {}

  // Records `csr` under `key` when Summarize would count it (a kubelet signer,
  // not decided); otherwise forgets it as pending. Returns the keys of the
  // pending CSRs that `csr` has just superseded (empty when it changed nothing).
  std::vector<std::string> Update(const std::string& key, const nlohmann::json& csr);
  void Remove(const std::string& key);
  // Summarize over the CSRs recorded, as they were recorded, except that a
  // superseded CSR counts only in per_signer (the backlog), never in total or
  // per_requester (the flood guard's counts).
  PendingSummary Summary(x509::Time now) const;
  std::vector<std::string> Keys() const;
  size_t Size() const;
  // The name of the newest CSR of `key`'s group when that is not `key`; empty
  // when `key` is the newest or has no group.
  std::string SupersededBy(const std::string& key) const;

 private:
  struct Entry {
    std::string signer;
    std::string requester_key;
    std::optional<x509::Time> created;
    bool counted = false;  // in total_ and per_requester_: not superseded
  };
  struct Member {
    std::string group;
    std::string uid;
    DuplicateMember member;
  };
  // Requires mu_.
  std::string NewestLocked(const std::string& group) const;
  // Returns the group `key` left; empty when it was in none.
  std::string LeaveGroupLocked(const std::string& key);
  // The counts behind Summary follow every change, so that a summary costs
  // O(requesters), not O(pending): it is taken for each decision, and a flood
  // is when there are many pending.
  void PutEntryLocked(const std::string& key, Entry e);
  void EraseEntryLocked(const std::string& key);
  void SetCountedLocked(Entry& e, bool counted);
  // After `group` gained or lost a member: only its newest pending CSR counts.
  void RecountGroupLocked(const std::string& group);
  const bool group_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, Member> members_;  // by key, decided ones too
  std::unordered_map<std::string, std::vector<std::string>> groups_;  // group -> keys
  int total_ = 0;                                   // counted entries
  std::map<std::string, int> per_requester_;        // counted entries by requester key
  std::map<std::string, std::multiset<x509::Time>> created_;  // by signer, every entry
  std::map<std::string, int> pending_by_signer_;    // every entry
};

struct FloodLimits {
  int max_pending_per_node = kDefaultMaxPendingPerNode;  // <= 0: no limit
  int max_pending = kDefaultMaxPending;                  // <= 0: no limit
};

// Codes of a hold, named after the flags that set the caps.
inline constexpr char kFloodMaxPending[] = "MaxPending";
inline constexpr char kFloodMaxPendingPerNode[] = "MaxPendingPerNode";

struct FloodCheck {
  bool hold = false;    // true: do not approve now (denials still go through)
  std::string scope;    // "node" or "cluster" when held
  std::string code;     // kFloodMaxPendingPerNode or kFloodMaxPending when held
  std::string reason;   // short, for a table: "MaxPendingPerNode: node:w1 has 12 pending, cap 10"
  std::string message;  // for the Event and the log
};

// Approvals stop while more than max_pending kubelet CSRs are pending, or
// more than max_pending_per_node come from the request's requester
// (RequesterKey). Counts include the request itself.
FloodCheck CheckFlood(const PendingSummary& summary, std::string_view requester_key,
                      const FloodLimits& limits);

// Of the CSRs the flood guard holds (CSR name -> RequesterKey of its
// requester), the names it would no longer hold with `summary`: once a decision
// or a deletion shrinks the backlog below a cap, these are looked at again at
// once instead of at their recheck.
std::vector<std::string> ReleasedFromHold(const PendingSummary& summary,
                                          const std::map<std::string, std::string>& held,
                                          const FloodLimits& limits);

// How long to wait before deciding again a serving CSR that was refused only
// because its Node does not exist yet (kubelets ask before they register).
// `reason_codes` are the decision's reason codes. Returns nullopt to decide
// now: the signer is not kubelet-serving, the refusal has a reason that a
// Node's arrival cannot change, or the CSR is older than `timeout`. Otherwise
// the delay: up to 30 s, never past the timeout, at least 1 s.
std::optional<std::chrono::milliseconds> NodeWaitDelay(
    std::string_view signer_name, const std::vector<std::string>& reason_codes,
    std::chrono::milliseconds age, std::chrono::milliseconds timeout);

// What a serving CSR refused for its Node may still be waiting for.
struct NodeWaitFacts {
  std::vector<std::string> reason_codes;  // the decision's
  bool node_exists = false;               // the requester's Node
  bool node_has_addresses = false;
  // SANs of the request that another Node lists, for a person:
  // "IP 10.0.0.12 is an address of node worker-2". They can never become this
  // node's: the refusal is final at once.
  std::vector<std::string> claimed_elsewhere;
};

struct NodeWait {
  bool wait = false;
  std::chrono::milliseconds delay{0};  // when wait
  // When wait: what it waits for. Otherwise why it is decided now; empty when
  // the refusal never depended on the Node.
  std::string why;
};

// A denial is final (the kubelet must make a new CSR), so a serving CSR refused
// only for facts a Node update brings is looked at again instead, until
// `timeout` after its creation: its Node is not registered yet, has no
// addresses yet, or does not list yet an address the CSR names (cloud
// controllers fill addresses in after registration). Refusals for anything
// else, and addresses another Node lists, are decided now. Delays as NodeWaitDelay.
NodeWait CheckNodeWait(std::string_view signer_name, const NodeWaitFacts& facts,
                       std::chrono::milliseconds age, std::chrono::milliseconds timeout);

}  // namespace certguard::csr
