// The status write of a CSRApprovalPolicy, against a FakeClient, a real
// DecisionRecord holding the counts and a FakeClock.
#include "csr/status_reconciler.h"

#include <catch2/catch.hpp>
#include <string>

#include "csr/policy.h"
#include "kube/resource.h"
#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"

using namespace certguard;
using namespace certguard::csr;
using kube::ReconcileResult;
using kube::testing::FakeClient;
using kube::testing::FakeRecorder;
using nlohmann::json;

namespace {

const kube::Resource& kPolicies = kube::resources::kCsrApprovalPolicies;
const common::Time kNow(std::chrono::seconds(1795000000));

struct Fixture {
  FakeClient api;
  FakeRecorder events;
  common::FakeClock clock{kNow};
  DecisionRecord record{events, nullptr, nullptr, &clock,
                        [](const std::string&) { return true; }};
  PolicyStatusReconciler reconciler{api, record, clock};

  void AddPolicy(const json& spec) {
    json policy = {{"apiVersion", "certguard.io/v1alpha1"},
                   {"kind", "CSRApprovalPolicy"},
                   {"metadata", {{"name", "p"}, {"generation", 1}}},
                   {"spec", spec}};
    REQUIRE(api.Create(kPolicies, "", policy).ok());
  }
  // Two approvals counted for "p", not yet in its status.
  void Count() {
    DecisionTally t;
    t.approved = 2;
    t.last = LastDecisionJson("csr-1", "Approve", "ApprovedServing", false, kNow);
    record.PutBack("p", t);
  }
  json Status() { return api.Objects(kPolicies).at("p")["status"]; }
};

json ValidSpec() { return {{"signerNames", json::array({kServingSigner})}}; }

}  // namespace

TEST_CASE("Policy status: the counts are written once, stamped with the clock",
          "[csr][status-reconciler]") {
  Fixture f;
  f.AddPolicy(ValidSpec());
  f.Count();
  CHECK(f.reconciler.Reconcile("p").kind == ReconcileResult::Kind::kDone);
  json status = f.Status();
  CHECK(status["approved"] == 2);
  CHECK(status["lastDecision"]["csr"] == "csr-1");
  CHECK(status["conditions"][0]["status"] == "True");
  CHECK(status["conditions"][0]["lastTransitionTime"] == common::FormatRfc3339(kNow));
  CHECK(f.api.Actions().back() == "update csrapprovalpolicies p/status");
  CHECK(f.record.TalliedPolicies().empty());
  // Nothing new: no second write, whatever the time.
  const size_t updates = f.api.Updates().size();
  f.clock.Advance(std::chrono::seconds(60));
  CHECK(f.reconciler.Reconcile("p").kind == ReconcileResult::Kind::kDone);
  CHECK(f.api.Updates().size() == updates);
}

TEST_CASE("Policy status: an invalid policy says why in its Valid condition",
          "[csr][status-reconciler]") {
  Fixture f;
  f.AddPolicy({{"signerNames", json::array({kServingSigner})}, {"nodeNamePattern", "("}});
  CHECK(f.reconciler.Reconcile("p").kind == ReconcileResult::Kind::kDone);
  json status = f.Status();
  CHECK(status["conditions"][0]["status"] == "False");
  CHECK(status["approved"] == 0);
}

TEST_CASE("Policy status: a failed read or write gives the counts back",
          "[csr][status-reconciler]") {
  Fixture f;
  f.AddPolicy(ValidSpec());
  f.Count();
  f.api.InjectError("get", certguard::Status(Code::kUnavailable, "down"));
  CHECK(f.reconciler.Reconcile("p").kind == ReconcileResult::Kind::kRetry);
  f.api.InjectError("update", certguard::Status(Code::kConflict, "stale"));
  CHECK(f.reconciler.Reconcile("p").kind == ReconcileResult::Kind::kRetry);
  CHECK(f.record.TalliedPolicies() == std::vector<std::string>{"p"});
  // The retry writes them all, once.
  CHECK(f.reconciler.Reconcile("p").kind == ReconcileResult::Kind::kDone);
  CHECK(f.Status()["approved"] == 2);
}

TEST_CASE("Policy status: the counts of a deleted policy are dropped",
          "[csr][status-reconciler]") {
  Fixture f;
  f.Count();
  CHECK(f.reconciler.Reconcile("p").kind == ReconcileResult::Kind::kDone);
  CHECK(f.record.TalliedPolicies().empty());
  CHECK(f.api.Updates().empty());
}
