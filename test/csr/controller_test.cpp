// The reconcile of one CSR, against fakes: a view of plain maps for the caches,
// a FakeClient for the writes, FakeRecorders for the Events and a FakeClock.
#include "csr/controller.h"

#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "csr/event_reasons.h"
#include "csr/view.h"
#include "kube/resource.h"
#include "support/csr_object.h"
#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"
#include "support/pki.h"

using namespace certguard;
using namespace certguard::csr;
using certguard::testing::CsrObject;
using certguard::testing::KubeletServingCsr;
using kube::testing::FakeClient;
using kube::testing::FakeRecorder;
using nlohmann::json;

namespace {

const kube::Resource& kCsrs = kube::resources::kCertificateSigningRequests;

// The caches as plain maps.
class MapView : public CsrView {
 public:
  std::map<std::string, json> csrs, nodes, policies;
  kube::ObjectPtr Csr(const std::string& name) const override { return Find(csrs, name); }
  kube::ObjectPtr Node(const std::string& name) const override { return Find(nodes, name); }
  kube::ObjectPtr Policy(const std::string& name) const override { return Find(policies, name); }
  std::vector<kube::ObjectPtr> Policies() const override {
    std::vector<kube::ObjectPtr> out;
    for (const auto& [name, obj] : policies) out.push_back(std::make_shared<const json>(obj));
    return out;
  }

 private:
  static kube::ObjectPtr Find(const std::map<std::string, json>& m, const std::string& name) {
    auto it = m.find(name);
    return it == m.end() ? nullptr : std::make_shared<const json>(it->second);
  }
};

common::Time At(const char* rfc3339) { return common::ParseRfc3339(rfc3339).value(); }

const char* kCreated = "2026-11-24T05:59:30Z";
const char* kNow = "2026-11-24T06:00:00Z";  // 30 s after kCreated

json ServingCsr(const std::string& node, const std::string& ip) {
  return KubeletServingCsr(node, ip).Created(kCreated).Json();
}

json ReadyNode(const std::string& name, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}}},
          {"status",
           {{"addresses", json::array({{{"type", "InternalIP"}, {"address", ip}},
                                       {{"type", "Hostname"}, {"address", name}}})},
            {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
}

// One value of a metric family (a counter's, or a histogram's sum and count).
struct Sample {
  double value = -1;
  uint64_t count = 0;
};
Sample Find(prometheus::Registry& registry, const std::string& family,
            const std::map<std::string, std::string>& labels = {}) {
  for (const auto& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found = found || (l.name == k && l.value == v);
        match = match && found;
      }
      if (!match) continue;
      if (f.type == prometheus::MetricType::Histogram) {
        return {m.histogram.sample_sum, m.histogram.sample_count};
      }
      return {m.counter.value, 0};
    }
  }
  return {};
}

struct Fixture {
  FakeClient api;
  MapView view;
  FakeRecorder events, approvals;
  prometheus::Registry registry;
  CsrMetrics metrics{registry};
  common::FakeClock clock{At(kNow)};
  std::unique_ptr<CsrController> controller;

  Fixture() {
    CsrControllerOptions o;
    o.approval_events = &approvals;
    o.clock = &clock;
    o.view = &view;
    controller = std::make_unique<CsrController>(api, events, &metrics, o);
    view.nodes["worker-1"] = ReadyNode("worker-1", "10.0.0.11");
  }
  // `csr` stored in the API and in the cache, as the API returned it.
  json Store(const json& csr) {
    auto created = api.Create(kCsrs, "", csr);
    REQUIRE(created.ok());
    view.csrs[csr["metadata"]["name"].get<std::string>()] = *created;
    return *created;
  }
};

std::string Rv(const json& o) { return o["metadata"]["resourceVersion"].get<std::string>(); }

}  // namespace

TEST_CASE("CsrController approves a serving CSR with one write that says why",
          "[csr][controller]") {
  Fixture f;
  json stored = f.Store(ServingCsr("worker-1", "10.0.0.11"));
  auto r = f.controller->ReconcileCsr("csr-worker-1");
  CHECK(r.kind == kube::ReconcileResult::Kind::kDone);
  const auto updates = f.api.Updates();
  REQUIRE(updates.size() == 1);
  CHECK(f.api.Actions().back() == "update certificatesigningrequests csr-worker-1/approval");
  CHECK(updates[0]["metadata"]["resourceVersion"] == Rv(stored));
  const auto& cond = updates[0]["status"]["conditions"][0];
  CHECK(cond["type"] == "Approved");
  CHECK(cond["status"] == "True");
  CHECK(cond["message"].get<std::string>().find("ApprovedServing") != std::string::npos);
  // The approval's Event goes to its own recorder, never to the routine one.
  CHECK(f.approvals.reasons() == std::vector<std::string>{event::kApproved});
  CHECK(f.events.entries().empty());
  CHECK(f.approvals.entries()[0].object.name == "csr-worker-1");
  Sample decided = Find(f.registry, "certguard_csr_decisions_total",
                        {{"decision", "Approve"}, {"signer_name", kServingSigner}});
  CHECK(decided.value == 1);
}

TEST_CASE("CsrController denies a CSR for a loopback address with a Warning Event",
          "[csr][controller]") {
  Fixture f;
  f.Store(ServingCsr("worker-1", "127.0.0.1"));
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  const auto updates = f.api.Updates();
  REQUIRE(updates.size() == 1);
  CHECK(updates[0]["status"]["conditions"][0]["type"] == "Denied");
  REQUIRE(f.events.entries().size() == 1);
  CHECK(f.events.entries()[0].reason == event::kDenied);
  CHECK(f.events.entries()[0].severity == kube::EventSeverity::kWarning);
  CHECK(f.approvals.entries().empty());
  CHECK(Find(f.registry, "certguard_csr_decisions_total", {{"decision", "Deny"}}).value == 1);
}

TEST_CASE("CsrController leaves a CSR already decided alone", "[csr][controller]") {
  Fixture f;
  f.Store(CsrObject("csr-worker-1").Uid("u").Approved().Json());
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.api.Updates().empty());
  CHECK(f.events.entries().empty());
  CHECK(f.approvals.entries().empty());
  // Reconciled again (a resync, a Node change): still nothing.
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.api.Updates().empty());
}

TEST_CASE("CsrController decides a CSR gone from the cache as done, writing nothing",
          "[csr][controller]") {
  Fixture f;
  auto r = f.controller->ReconcileCsr("csr-gone");
  CHECK(r.kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.api.Actions().empty());
}

TEST_CASE("CsrController re-reads a stale CSR on a conflict and approves the fresh one once",
          "[csr][controller]") {
  Fixture f;
  json stale = f.Store(ServingCsr("worker-1", "10.0.0.11"));
  json newer = stale;
  newer["metadata"]["labels"] = {{"touched", "yes"}};  // someone else's write: a newer version
  auto updated = f.api.Update(kCsrs, "", newer);
  REQUIRE(updated.ok());
  f.api.ClearActions();
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  const auto updates = f.api.Updates();  // the failed write from the stale copy, then the fresh one
  REQUIRE(updates.size() == 3);  // with the test's own label update first
  CHECK(updates[1]["metadata"]["resourceVersion"] == Rv(stale));
  CHECK(updates[2]["metadata"]["resourceVersion"] == Rv(*updated));
  CHECK(updates[2]["status"]["conditions"][0]["type"] == "Approved");
  CHECK(f.approvals.reasons() == std::vector<std::string>{event::kApproved});
}

TEST_CASE("CsrController writes nothing after a conflict with someone else's decision",
          "[csr][controller]") {
  Fixture f;
  json stale = f.Store(ServingCsr("worker-1", "10.0.0.11"));
  json decided = stale;
  decided["status"]["conditions"] = json::array({{{"type", "Denied"}, {"status", "True"}}});
  REQUIRE(f.api.Update(kCsrs, "", decided, "approval").ok());
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  const auto updates = f.api.Updates();
  REQUIRE(updates.size() == 2);  // the other decision, then the one write that conflicted
  CHECK(updates[1]["metadata"]["resourceVersion"] == Rv(stale));
  CHECK(f.approvals.entries().empty());
  CHECK(f.events.entries().empty());
  CHECK(Find(f.registry, "certguard_csr_decisions_total", {{"decision", "Approve"}}).value == -1);
}

TEST_CASE("CsrController retries a CSR whose write fails", "[csr][controller]") {
  Fixture f;
  f.Store(ServingCsr("worker-1", "10.0.0.11"));
  f.api.InjectError("update", Status(Code::kUnavailable, "apiserver restarting"));
  auto r = f.controller->ReconcileCsr("csr-worker-1");
  CHECK(r.kind == kube::ReconcileResult::Kind::kRetry);
  CHECK(f.approvals.entries().empty());
  // The next try writes it.
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  CHECK(f.api.Objects(kCsrs).at("csr-worker-1")["status"]["conditions"][0]["type"] == "Approved");
  CHECK(f.approvals.entries().size() == 1);
}

TEST_CASE("CsrController measures the decision latency with its clock", "[csr][controller]") {
  Fixture f;
  f.clock.Advance(std::chrono::seconds(90));  // 2 min after the CSR's creation
  f.Store(ServingCsr("worker-1", "10.0.0.11"));
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  Sample latency = Find(f.registry, "certguard_csr_decision_latency_seconds");
  CHECK(latency.count == 1);
  CHECK(latency.value == 120);
  // The condition is stamped with the same clock.
  CHECK(f.api.Updates()[0]["status"]["conditions"][0]["lastUpdateTime"] ==
        "2026-11-24T06:01:30Z");
}

TEST_CASE("CsrController tells a CSR waiting for its Node once", "[csr][controller]") {
  Fixture f;
  f.view.nodes.clear();
  f.Store(ServingCsr("worker-1", "10.0.0.11"));
  auto r = f.controller->ReconcileCsr("csr-worker-1");
  CHECK(r.kind == kube::ReconcileResult::Kind::kRequeueAfter);
  CHECK(r.requeue_after.count() > 0);
  CHECK(f.api.Updates().empty());
  CHECK(f.events.reasons() == std::vector<std::string>{event::kWaitingForNode});
  // Looked at again, unchanged: no second Event, and no decision counted.
  CHECK(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kRequeueAfter);
  CHECK(f.events.entries().size() == 1);
  CHECK(Find(f.registry, "certguard_csr_decisions_total").value == -1);
}

TEST_CASE("CsrController counts a decision in the status of the policy that made it",
          "[csr][controller]") {
  Fixture f;
  json policy = {{"apiVersion", "certguard.io/v1alpha1"},
                 {"kind", "CSRApprovalPolicy"},
                 {"metadata", {{"name", "serving"}, {"generation", 1}}},
                 {"spec", {{"signerNames", json::array({kServingSigner})}}}};
  auto stored = f.api.Create(kube::resources::kCsrApprovalPolicies, "", policy);
  REQUIRE(stored.ok());
  f.view.policies["serving"] = *stored;
  f.Store(ServingCsr("worker-1", "10.0.0.11"));
  REQUIRE(f.controller->ReconcileCsr("csr-worker-1").kind == kube::ReconcileResult::Kind::kDone);
  REQUIRE(f.controller->ReconcilePolicyStatus("serving").kind ==
          kube::ReconcileResult::Kind::kDone);
  json status = f.api.Objects(kube::resources::kCsrApprovalPolicies).at("serving")["status"];
  CHECK(status["approved"] == 1);
  CHECK(status["denied"] == 0);
  CHECK(status["lastDecision"]["csr"] == "csr-worker-1");
  CHECK(status["lastDecision"]["time"] == kNow);
  // Written once: a second pass has nothing new to count.
  REQUIRE(f.controller->ReconcilePolicyStatus("serving").kind ==
          kube::ReconcileResult::Kind::kDone);
  CHECK(f.api.Objects(kube::resources::kCsrApprovalPolicies).at("serving")["status"]["approved"] ==
        1);
}
