#include "csr/pending.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "support/csr_object.h"
#include "support/pki.h"
#include "x509/pem.h"

using namespace certguard::csr;
using certguard::testing::CsrBuilder;
using certguard::testing::CsrObject;
using nlohmann::json;
using namespace std::chrono;

namespace {

constexpr char kServing[] = "kubernetes.io/kubelet-serving";
constexpr char kClient[] = "kubernetes.io/kube-apiserver-client-kubelet";

json Csr(const std::string& name, const std::string& signer, const std::string& user,
         const std::string& created, bool approved = false) {
  CsrObject c = CsrObject(name, signer).Created(created).Username(user);
  if (approved) c.Approved();
  return c.Json();
}

// Four pending kubelet CSRs (two serving for w1, a client one for w2 and one a
// bootstrap token asks for, with a timestamp that does not parse), one approved,
// and one of another signer.
std::vector<json> MixedCsrs() {
  return {
      Csr("a", kServing, "system:node:w1", "2026-11-24T05:50:00Z"),
      Csr("b", kServing, "system:node:w1", "2026-11-24T05:59:00Z"),
      Csr("c", kClient, "system:node:w2", "2026-11-24T04:00:00Z"),
      Csr("d", kClient, "system:node:w2", "2026-11-24T03:00:00Z", /*approved=*/true),
      Csr("e", "example.com/other", "system:node:w1", "2026-11-20T00:00:00Z"),
      Csr("f", kClient, "system:bootstrap:abc", "bad-timestamp"),
  };
}

certguard::x509::Time Now() {
  return sys_days(year_month_day{year(2026), month(11), day(24)}) + hours(6);
}

}  // namespace

TEST_CASE("RequesterKey groups kubelets by node and others by user", "[csr][pending]") {
  CHECK(RequesterKey("system:node:worker-1") == "node:worker-1");
  CHECK(RequesterKey("system:bootstrap:abcdef") == "system:bootstrap:abcdef");
  CHECK(RequesterKey("") == "");
}

TEST_CASE("FloodKey counts a bootstrap identity once per node its CN names", "[csr][pending]") {
  CHECK(FloodKey("system:node:worker-1", "system:node:worker-1") == "node:worker-1");
  CHECK(FloodKey("system:node:worker-1", "system:node:worker-2") == "node:worker-1");
  CHECK(FloodKey("system:bootstrap:abcdef", "system:node:worker-1") ==
        "system:bootstrap:abcdef for node:worker-1");
  CHECK(FloodKey("system:bootstrap:abcdef", "system:node:") == "system:bootstrap:abcdef");
  CHECK(FloodKey("system:bootstrap:abcdef", "someone") == "system:bootstrap:abcdef");
}

TEST_CASE("One bootstrap token joining many nodes is no flood, one node's retries are",
          "[csr][pending]") {
  // kubeadm joins every node with one token: 12 nodes at once, each one CSR.
  std::vector<json> objs;
  for (int i = 0; i < 12; ++i) {
    json c = Csr("join-" + std::to_string(i), kClient, "system:bootstrap:abcdef",
                 "2026-11-24T05:50:00Z");
    c["spec"]["request"] = certguard::x509::pem::Base64(
        CsrBuilder().O("system:nodes").Cn("system:node:w" + std::to_string(i)).Pem());
    objs.push_back(c);
  }
  // And one node whose kubelet asked 12 times with that token.
  for (int i = 0; i < 12; ++i) {
    json c = Csr("retry-" + std::to_string(i), kClient, "system:bootstrap:abcdef",
                 "2026-11-24T05:50:00Z");
    c["spec"]["request"] =
        certguard::x509::pem::Base64(CsrBuilder().O("system:nodes").Cn("system:node:stuck").Pem());
    objs.push_back(c);
  }
  std::vector<const json*> ptrs;
  PendingIndex index(/*group_duplicates=*/false);
  for (size_t i = 0; i < objs.size(); ++i) {
    ptrs.push_back(&objs[i]);
    index.Update("k" + std::to_string(i), objs[i]);
  }
  const FloodLimits limits{10, 500};
  for (const PendingSummary& s : {Summarize(ptrs, Now()), index.Summary(Now())}) {
    CHECK(s.total == 24);
    CHECK(s.per_requester.at("system:bootstrap:abcdef for node:w3") == 1);
    CHECK(s.per_requester.at("system:bootstrap:abcdef for node:stuck") == 12);
    CHECK_FALSE(CheckFlood(s, "system:bootstrap:abcdef for node:w3", limits).hold);
    CHECK(CheckFlood(s, "system:bootstrap:abcdef for node:stuck", limits).hold);
  }
}

TEST_CASE("Summarize counts pending kubelet CSRs by requester and signer", "[csr][pending]") {
  std::vector<json> objs = MixedCsrs();
  std::vector<const json*> ptrs;
  for (const auto& o : objs) ptrs.push_back(&o);
  ptrs.push_back(nullptr);
  PendingSummary s = Summarize(ptrs, Now());
  CHECK(s.total == 4);
  CHECK(s.per_requester["node:w1"] == 2);
  CHECK(s.per_requester["node:w2"] == 1);
  CHECK(s.per_requester["system:bootstrap:abc"] == 1);
  CHECK(s.per_signer.size() == 2);
  CHECK(s.per_signer[kServing].pending == 2);
  CHECK(s.per_signer[kServing].oldest_age_seconds == 600);
  CHECK(s.per_signer[kClient].pending == 2);
  CHECK(s.per_signer[kClient].oldest_age_seconds == 7200);  // the approved one is not counted
}

TEST_CASE("Summarize of nothing reports both signers at zero", "[csr][pending]") {
  PendingSummary s = Summarize({}, Now());
  CHECK(s.total == 0);
  CHECK(s.per_signer.at(kServing).pending == 0);
  CHECK(s.per_signer.at(kClient).oldest_age_seconds == 0);
}

TEST_CASE("CheckFlood holds approvals past the per-node and overall caps", "[csr][pending]") {
  PendingSummary s;
  s.total = 12;
  s.per_requester["node:w1"] = 11;
  s.per_requester["node:w2"] = 1;
  FloodLimits limits{10, 500};

  FloodCheck w1 = CheckFlood(s, "node:w1", limits);
  CHECK(w1.hold);
  CHECK(w1.scope == "node");
  CHECK(w1.message.find("node:w1") != std::string::npos);
  CHECK(w1.message.find("--csr-max-pending-per-node") != std::string::npos);
  CHECK(w1.code == "MaxPendingPerNode");
  CHECK(w1.reason == "MaxPendingPerNode: node:w1 has 11 pending, cap 10");

  CHECK_FALSE(CheckFlood(s, "node:w2", limits).hold);
  CHECK_FALSE(CheckFlood(s, "node:unknown", limits).hold);

  // Exactly at the cap is still allowed.
  s.per_requester["node:w1"] = 10;
  CHECK_FALSE(CheckFlood(s, "node:w1", limits).hold);

  // Overall cap: everybody waits.
  s.total = 501;
  FloodCheck all = CheckFlood(s, "node:w2", limits);
  CHECK(all.hold);
  CHECK(all.scope == "cluster");
  CHECK(all.message.find("501") != std::string::npos);
  CHECK(all.code == "MaxPending");
  CHECK(all.reason == "MaxPending: 501 pending, cap 500");

  // Zero means no limit.
  CHECK_FALSE(CheckFlood(s, "node:w1", FloodLimits{0, 0}).hold);
}

TEST_CASE("Forget takes a decided CSR out of the counts", "[csr][pending]") {
  std::vector<json> objs = {
      Csr("a", kServing, "system:node:w1", "2026-11-24T05:50:00Z"),
      Csr("b", kClient, "system:node:w1", "2026-11-24T05:59:00Z"),
      Csr("c", kClient, "system:node:w2", "2026-11-24T04:00:00Z"),
  };
  std::vector<const json*> ptrs;
  for (const auto& o : objs) ptrs.push_back(&o);
  PendingSummary s = Summarize(ptrs, Now());
  REQUIRE(s.total == 3);

  Forget(s, objs[0]);
  CHECK(s.total == 2);
  CHECK(s.per_requester["node:w1"] == 1);
  CHECK(s.per_signer[kServing].pending == 0);
  CHECK(s.per_signer[kClient].pending == 2);

  Forget(s, objs[2]);
  CHECK(s.total == 1);
  CHECK(s.per_requester.count("node:w2") == 0);  // gone, not left at zero

  // What Summarize would not count changes nothing.
  Forget(s, Csr("d", kClient, "system:node:w1", "2026-11-24T05:00:00Z", /*approved=*/true));
  Forget(s, Csr("e", "example.com/other", "system:node:w1", "2026-11-24T05:00:00Z"));
  Forget(s, json());
  CHECK(s.total == 1);
  CHECK(s.per_requester["node:w1"] == 1);

  // Never below zero.
  Forget(s, objs[1]);
  Forget(s, objs[1]);
  CHECK(s.total == 0);
  CHECK(s.per_signer[kClient].pending == 0);
  CHECK(s.per_requester.empty());
}

TEST_CASE("ReleasedFromHold names the held CSRs a smaller backlog lets through",
          "[csr][pending]") {
  // w1 floods (cap 3 per node), w2 is held by the cluster cap (5) only.
  std::vector<json> objs;
  for (int i = 0; i < 4; ++i) {
    objs.push_back(
        Csr("w1-" + std::to_string(i), kClient, "system:node:w1", "2026-11-24T05:50:00Z"));
  }
  objs.push_back(Csr("w2-0", kServing, "system:node:w2", "2026-11-24T05:50:00Z"));
  objs.push_back(Csr("w3-0", kServing, "system:node:w3", "2026-11-24T05:50:00Z"));
  const FloodLimits limits{3, 5};
  const std::map<std::string, std::string> held = {
      {"w1-0", "node:w1"}, {"w1-1", "node:w1"}, {"w2-0", "node:w2"}};
  auto summary = [&](size_t decided) {
    std::vector<const json*> ptrs;
    for (size_t i = decided; i < objs.size(); ++i) ptrs.push_back(&objs[i]);
    return Summarize(ptrs, Now());
  };
  // 6 pending: over both caps, nothing released.
  CHECK(ReleasedFromHold(summary(0), held, limits).empty());
  // One of w1's decided (denied, or approved by hand): 5 pending overall, at the
  // cluster cap, releases w2; w1 has 3, at its cap: released too.
  CHECK(ReleasedFromHold(summary(1), held, limits) ==
        std::vector<std::string>{"w1-0", "w1-1", "w2-0"});
  // A shrink elsewhere that leaves w1 over its cap releases only the others.
  objs.erase(objs.begin() + 5);  // w3-0 decided
  CHECK(ReleasedFromHold(summary(0), held, limits) == std::vector<std::string>{"w2-0"});
  // No caps: everything held goes; nothing held: nothing to do.
  CHECK(ReleasedFromHold(summary(0), held, FloodLimits{0, 0}).size() == 3);
  CHECK(ReleasedFromHold(summary(0), {}, limits).empty());
}

TEST_CASE("NodeWaitDelay waits for a missing Node, boundedly, on serving CSRs only",
          "[csr][pending]") {
  const milliseconds timeout = minutes(10);
  auto d = NodeWaitDelay(kServing, {"NodeNotFound"}, seconds(5), timeout);
  REQUIRE(d.has_value());
  CHECK(*d == seconds(30));

  // Near the end the delay stops at the timeout.
  d = NodeWaitDelay(kServing, {"NodeNotFound"}, minutes(10) - seconds(4), timeout);
  REQUIRE(d.has_value());
  CHECK(*d == seconds(4));
  d = NodeWaitDelay(kServing, {"NodeNotFound"}, minutes(10) - milliseconds(10), timeout);
  REQUIRE(d.has_value());
  CHECK(*d == seconds(1));

  // Past the timeout: decide (refuse) now.
  CHECK_FALSE(NodeWaitDelay(kServing, {"NodeNotFound"}, minutes(10), timeout).has_value());
  // Node-dependent companions do not prevent the wait; anything else does.
  CHECK(NodeWaitDelay(kServing, {"NodeNotFound", "SANNotNodeAddress"}, seconds(1), timeout));
  CHECK_FALSE(NodeWaitDelay(kServing, {"NodeNotFound", "SubjectNotNode"}, seconds(1), timeout));
  CHECK_FALSE(NodeWaitDelay(kServing, {"SANNotNodeAddress"}, seconds(1), timeout));
  CHECK_FALSE(NodeWaitDelay(kServing, {}, seconds(1), timeout));
  // Client certificates never wait.
  CHECK_FALSE(NodeWaitDelay(kClient, {"NodeNotFound"}, seconds(1), timeout));
}

TEST_CASE("PendingIndex summarises as Summarize does over the same CSRs", "[csr][pending]") {
  std::vector<json> objs = MixedCsrs();
  objs.push_back(json::array());  // not an object
  PendingIndex index;
  std::vector<const json*> ptrs;
  for (size_t i = 0; i < objs.size(); ++i) {
    index.Update("k" + std::to_string(i), objs[i]);
    ptrs.push_back(&objs[i]);
  }
  PendingSummary want = Summarize(ptrs, Now());
  PendingSummary got = index.Summary(Now());
  CHECK(index.Size() == 4);
  CHECK(got.total == want.total);
  CHECK(got.per_requester == want.per_requester);
  REQUIRE(got.per_signer.size() == want.per_signer.size());
  for (const auto& [signer, b] : want.per_signer) {
    CHECK(got.per_signer[signer].pending == b.pending);
    CHECK(got.per_signer[signer].oldest_age_seconds == b.oldest_age_seconds);
  }
  auto keys = index.Keys();
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"k0", "k1", "k2", "k5"});
}

TEST_CASE("PendingIndex forgets CSRs once decided, deleted or of another signer", "[csr][pending]") {
  PendingIndex index;
  index.Update("a", Csr("a", kServing, "system:node:w1", "2026-11-24T05:50:00Z"));
  index.Update("b", Csr("b", kServing, "system:node:w1", "2026-11-24T05:59:00Z"));
  index.Update("c", Csr("c", kClient, "system:node:w2", "2026-11-24T05:00:00Z"));
  REQUIRE(index.Summary(Now()).total == 3);

  index.Update("a", Csr("a", kServing, "system:node:w1", "2026-11-24T05:50:00Z", true));
  index.Remove("b");
  index.Remove("never-seen");
  PendingSummary s = index.Summary(Now());
  CHECK(s.total == 1);
  CHECK(s.per_requester.count("node:w1") == 0);
  CHECK(s.per_signer[kServing].pending == 0);
  CHECK(s.per_signer[kServing].oldest_age_seconds == 0);
  CHECK(s.per_signer[kClient].oldest_age_seconds == 3600);

  // A CSR whose signer changed under the same key (recreated) is dropped.
  index.Update("c", Csr("c", "example.com/other", "system:node:w2", "2026-11-24T05:00:00Z"));
  CHECK(index.Size() == 0);
  CHECK(index.Summary(Now()).total == 0);
  CHECK(index.Summary(Now()).per_signer.size() == 2);
}

TEST_CASE("CheckNodeWait waits for a Node still filling in its addresses", "[csr][pending]") {
  const milliseconds timeout = minutes(10);
  NodeWaitFacts missing_node{{"NodeNotFound"}, false, false, {}};
  NodeWait w = CheckNodeWait(kServing, missing_node, seconds(5), timeout);
  CHECK(w.wait);
  CHECK(w.delay == seconds(30));
  CHECK(w.why == "its Node is not registered yet");

  NodeWaitFacts no_addresses{{"SANNotNodeAddress"}, true, false, {}};
  w = CheckNodeWait(kServing, no_addresses, seconds(5), timeout);
  CHECK(w.wait);
  CHECK(w.why == "its Node has no addresses yet");
  // A selector that cannot match yet a Node without addresses waits too.
  w = CheckNodeWait(kServing, {{"NodeSelectorNotMatched"}, true, false, {}}, seconds(5), timeout);
  CHECK(w.wait);

  // The Node lists addresses, but not yet every one the CSR names.
  NodeWaitFacts partial{{"SANNotNodeAddress"}, true, true, {}};
  w = CheckNodeWait(kServing, partial, minutes(10) - seconds(3), timeout);
  CHECK(w.wait);
  CHECK(w.delay == seconds(3));
  CHECK(w.why == "its Node does not list every address it names yet");
}

TEST_CASE("CheckNodeWait decides at once what no Node update can change", "[csr][pending]") {
  const milliseconds timeout = minutes(10);
  // An address another Node lists: never this node's.
  NodeWaitFacts elsewhere{{"SANNotNodeAddress"}, true, true,
                          {"IP 10.0.0.12 is an address of node worker-2"}};
  NodeWait w = CheckNodeWait(kServing, elsewhere, seconds(1), timeout);
  CHECK_FALSE(w.wait);
  CHECK(w.why == "IP 10.0.0.12 is an address of node worker-2: not waiting for it");
  // A service address or a denied range comes with its own code: no wait.
  for (const char* code : {"SANServiceAddress", "SANDeniedRange", "SANAddressNotRoutable",
                           "SANNotAllowedRange", "SANControlPlaneName", "RequesterNotNode"}) {
    INFO(code);
    NodeWait c = CheckNodeWait(kServing, {{"SANNotNodeAddress", code}, true, true, {}}, seconds(1),
                               timeout);
    CHECK_FALSE(c.wait);
    CHECK(c.why.empty());
  }
  // A selector that does not match a Node that has its addresses: nothing to wait for.
  CHECK_FALSE(CheckNodeWait(kServing, {{"NodeSelectorNotMatched"}, true, true, {}}, seconds(1),
                            timeout)
                  .wait);
  // Client certificates never wait.
  CHECK_FALSE(CheckNodeWait(kClient, {{"NodeNotFound"}, false, false, {}}, seconds(1), timeout).wait);
}

TEST_CASE("CheckNodeWait stops waiting at the timeout and says so", "[csr][pending]") {
  NodeWaitFacts partial{{"SANNotNodeAddress"}, true, true, {}};
  NodeWait w = CheckNodeWait(kServing, partial, minutes(10), minutes(10));
  CHECK_FALSE(w.wait);
  CHECK(w.why ==
        "its Node does not list every address it names yet after 600s (--csr-node-wait-timeout 600s)");
  w = CheckNodeWait(kServing, {{"NodeNotFound"}, false, false, {}}, minutes(11), minutes(10));
  CHECK_FALSE(w.wait);
  CHECK(w.why.find("not registered yet after 660s") != std::string::npos);
  // A zero timeout never waits.
  CHECK_FALSE(CheckNodeWait(kServing, partial, milliseconds(0), milliseconds(0)).wait);
}
