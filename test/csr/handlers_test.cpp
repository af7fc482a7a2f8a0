// What a change seen by the CSR controller's informers enqueues, with a
// recording sink and the real indexes (no API, no informer).
#include "csr/handlers.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "csr/policy.h"
#include "support/csr_object.h"
#include "support/pki.h"

using namespace certguard::csr;
using certguard::kube::Change;
using certguard::testing::CsrBuilder;
using certguard::testing::CsrObject;
using certguard::testing::WithApproved;
using nlohmann::json;

namespace {

class RecordingSink : public ChangeSink {
 public:
  std::vector<std::string> csrs, statuses;
  std::vector<std::pair<std::string, std::string>> forgotten;  // name, uid
  int rechecks = 0;

  void EnqueueCsr(const std::string& name) override { csrs.push_back(name); }
  void EnqueuePolicyStatus(const std::string& policy) override { statuses.push_back(policy); }
  void RecheckHeld() override { rechecks++; }
  void ForgetCsr(const std::string& name, const std::string& uid) override {
    forgotten.emplace_back(name, uid);
  }
  void Clear() {
    csrs.clear();
    statuses.clear();
    forgotten.clear();
    rechecks = 0;
  }
};

struct Fixture {
  PendingIndex pending;
  RenewalIndex renewals;
  NodeAddressIndex addresses;
  RecordingSink sink;
  CsrChangeHandlers handlers{ChangeIndexes{pending, renewals, addresses}, sink};
};

Change Make(Change::Kind kind, const json& object, const json* old = nullptr) {
  Change c;
  c.kind = kind;
  c.key = object["metadata"]["name"].get<std::string>();
  c.object = std::make_shared<const json>(object);
  if (old) c.old_object = std::make_shared<const json>(*old);
  return c;
}
Change Added(const json& o) { return Make(Change::Kind::kAdd, o); }
Change Updated(const json& old, const json& now) { return Make(Change::Kind::kUpdate, now, &old); }
Change Deleted(const json& o) { return Make(Change::Kind::kDelete, o); }

// A node's client CSR, pending; `created` orders the retries of one node.
json ClientCsr(const std::string& name, const std::string& created,
               const std::string& node_name = "worker-1") {
  const std::string node = "system:node:" + node_name;
  return CsrObject(name, kClientSigner)
      .Uid("uid-" + name)
      .Created(created)
      .Request(CsrBuilder().Subject({{"O", "system:nodes"}, {"CN", node}}).Pem())
      .Username(node)
      .NodeGroups()
      .Usages({"digital signature", "client auth"})
      .NoStatus()
      .Json();
}

json Node(const std::string& name, const std::string& ip, const std::string& heartbeat) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}, {"labels", {{"role", "worker"}}}}},
          {"status",
           {{"addresses", json::array({{{"type", "InternalIP"}, {"address", ip}}})},
            {"conditions", json::array({{{"type", "Ready"},
                                         {"status", "True"},
                                         {"lastHeartbeatTime", heartbeat}}})}}}};
}

json PolicyObject(const std::string& name, int generation) {
  return {{"apiVersion", "certguard.io/v1alpha1"},
          {"kind", "CSRApprovalPolicy"},
          {"metadata", {{"name", name}, {"generation", generation}}},
          {"spec", {{"signerNames", json::array({kServingSigner})}}}};
}

// One pending client CSR, "a" of worker-1, and a sink emptied of its enqueueing:
// what a node or policy change re-enqueues is then all the sink holds.
struct FixtureWithPendingCsr : Fixture {
  FixtureWithPendingCsr() {
    handlers.OnCsr(Added(ClientCsr("a", "2026-11-24T05:00:00Z")));
    sink.Clear();
  }
};

}  // namespace

TEST_CASE("CSR changes: a pending kubelet CSR is enqueued, another signer's is not",
          "[csr][handlers]") {
  Fixture f;
  f.handlers.OnCsr(Added(ClientCsr("a", "2026-11-24T05:00:00Z")));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  CHECK(f.pending.Keys() == std::vector<std::string>{"a"});
  f.sink.Clear();
  f.handlers.OnCsr(Added(CsrObject("other", "example.com/signer").Uid("u").NoStatus().Json()));
  CHECK(f.sink.csrs.empty());
  CHECK(f.pending.Size() == 1);
  // A kubelet CSR seen already decided (as after a restart) is left alone.
  f.handlers.OnCsr(Added(WithApproved(ClientCsr("done", "2026-11-24T04:00:00Z", "worker-2"))));
  CHECK(f.sink.csrs.empty());
  CHECK(f.sink.rechecks == 0);
}

TEST_CASE("CSR changes: a retry enqueues itself and the retries it supersedes",
          "[csr][handlers]") {
  Fixture f;
  f.handlers.OnCsr(Added(ClientCsr("old", "2026-11-24T05:00:00Z")));
  f.sink.Clear();
  f.handlers.OnCsr(Added(ClientCsr("new", "2026-11-24T05:05:00Z")));
  CHECK(f.sink.csrs == std::vector<std::string>{"old", "new"});
}

TEST_CASE("CSR changes: a CSR decided since the last look rechecks the held ones",
          "[csr][handlers]") {
  Fixture f;
  json pending = ClientCsr("a", "2026-11-24T05:00:00Z");
  f.handlers.OnCsr(Added(pending));
  f.sink.Clear();
  f.handlers.OnCsr(Updated(pending, WithApproved(pending)));
  CHECK(f.sink.rechecks == 1);
  CHECK(f.sink.csrs.empty());
  CHECK(f.pending.Size() == 0);
  // Decided before and after (a resync, the certificate issued): nothing to recheck.
  f.handlers.OnCsr(Updated(WithApproved(pending), WithApproved(pending)));
  CHECK(f.sink.rechecks == 1);
  // Pending before and after (a label added): decided again.
  json labelled = pending;
  labelled["metadata"]["labels"] = {{"x", "y"}};
  f.handlers.OnCsr(Updated(pending, labelled));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  CHECK(f.sink.rechecks == 1);
}

TEST_CASE("CSR changes: a deleted CSR is forgotten, and a pending one re-enqueues the rest",
          "[csr][handlers]") {
  Fixture f;
  json a = ClientCsr("a", "2026-11-24T05:00:00Z");
  json b = CsrObject("b", kServingSigner).Uid("uid-b").Created("2026-11-24T05:01:00Z").NoStatus().Json();
  f.handlers.OnCsr(Added(a));
  f.handlers.OnCsr(Added(b));
  REQUIRE(f.pending.Size() == 2);
  f.sink.Clear();
  f.handlers.OnCsr(Deleted(a));
  CHECK(f.sink.forgotten == std::vector<std::pair<std::string, std::string>>{{"a", "uid-a"}});
  CHECK(f.sink.csrs == std::vector<std::string>{"b"});  // the backlog shrank
  CHECK(f.pending.Keys() == std::vector<std::string>{"b"});
  f.sink.Clear();
  // A decided one leaves the backlog as it was: forgotten, nothing enqueued.
  f.handlers.OnCsr(Deleted(WithApproved(ClientCsr("c", "2026-11-24T04:00:00Z", "worker-2"))));
  CHECK(f.sink.forgotten == std::vector<std::pair<std::string, std::string>>{{"c", "uid-c"}});
  CHECK(f.sink.csrs.empty());
}

TEST_CASE("Node changes: a heartbeat enqueues nothing, a change a decision reads re-enqueues",
          "[csr][handlers]") {
  FixtureWithPendingCsr f;
  json node = Node("worker-1", "10.0.0.11", "2026-11-24T05:00:00Z");
  auto facts = NodeFromObject(node);
  REQUIRE(facts.ok());
  const std::vector<std::string> keys = AddressKeys(*facts);
  REQUIRE_FALSE(keys.empty());

  f.handlers.OnNode(Added(node));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  CHECK(f.addresses.Owners(keys[0]) == std::vector<std::string>{"worker-1"});
  f.sink.Clear();

  f.handlers.OnNode(Updated(node, Node("worker-1", "10.0.0.11", "2026-11-24T05:00:40Z")));
  CHECK(f.sink.csrs.empty());  // a heartbeat

  json relabelled = node;
  relabelled["metadata"]["labels"]["role"] = "infra";
  f.handlers.OnNode(Updated(node, relabelled));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  f.sink.Clear();

  json moved = Node("worker-1", "10.0.0.12", "2026-11-24T05:00:00Z");
  f.handlers.OnNode(Updated(node, moved));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  CHECK(f.addresses.Owners(keys[0]).empty());  // the old address is no longer its
  f.sink.Clear();

  json not_ready = moved;
  not_ready["status"]["conditions"][0]["status"] = "False";
  f.handlers.OnNode(Updated(moved, not_ready));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  f.sink.Clear();

  f.handlers.OnNode(Deleted(not_ready));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  for (const auto& key : AddressKeys(*NodeFromObject(moved))) CHECK(f.addresses.Owners(key).empty());
  CHECK(f.sink.statuses.empty());
}

TEST_CASE("Policy changes: a spec change re-enqueues and writes the status, a status change does not",
          "[csr][handlers]") {
  FixtureWithPendingCsr f;
  f.handlers.OnPolicy(Added(PolicyObject("p", 1)));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  CHECK(f.sink.statuses == std::vector<std::string>{"p"});
  f.sink.Clear();

  json with_status = PolicyObject("p", 1);
  with_status["status"] = {{"approved", 3}};
  f.handlers.OnPolicy(Updated(PolicyObject("p", 1), with_status));  // often our own write
  CHECK(f.sink.csrs.empty());
  CHECK(f.sink.statuses.empty());

  f.handlers.OnPolicy(Updated(with_status, PolicyObject("p", 2)));
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  CHECK(f.sink.statuses == std::vector<std::string>{"p"});
  f.sink.Clear();

  f.handlers.OnPolicy(Deleted(PolicyObject("p", 2)));  // decided again, no status to write
  CHECK(f.sink.csrs == std::vector<std::string>{"a"});
  CHECK(f.sink.statuses.empty());
}
