// DecisionRecord: what is told about each outcome of a CSR, and how often.
#include "csr/record.h"

#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "csr/event_reasons.h"
#include "csr/reasons.h"
#include "support/csr_object.h"
#include "support/kube/fake_recorder.h"

using namespace certguard;
using namespace certguard::csr;
using certguard::testing::CsrObject;
using kube::testing::FakeRecorder;
using nlohmann::json;

namespace {

common::Time At(const char* rfc3339) { return common::ParseRfc3339(rfc3339).value(); }
const char* kNow = "2026-11-24T06:00:00Z";

json Csr(const std::string& uid = "uid-1") {
  return CsrObject("csr-1").Uid(uid).Created("2026-11-24T05:59:00Z").Json();  // 60 s before kNow
}

Plan MakeOutcome(Plan::Action action, const std::string& policy, const std::string& code) {
  Plan p;
  p.action = action;
  p.decision.policy = policy;
  p.decision.verdict = action == Plan::Action::kDeny ? Verdict::kDeny : Verdict::kApprove;
  p.decision.reasons = {{code, "text"}};
  p.signer_name = kServingSigner;
  p.message = "policy " + policy + ": " + code + ": text";
  return p;
}

uint64_t LatencyCount(prometheus::Registry& registry) {
  for (const auto& f : registry.Collect()) {
    if (f.name == "certguard_csr_decision_latency_seconds") return f.metric[0].histogram.sample_count;
  }
  return 0;
}

struct Fixture {
  FakeRecorder events, approvals;
  prometheus::Registry registry;
  CsrMetrics metrics{registry};
  common::FakeClock clock{At(kNow)};
  std::set<std::string> policies{"p"};
  DecisionRecord record{events, &approvals, &metrics, &clock,
                        [this](const std::string& name) { return policies.count(name) > 0; }};
};

}  // namespace

TEST_CASE("DecisionRecord tells an unwritten outcome once until it changes", "[csr][record]") {
  Fixture f;
  Plan wait = MakeOutcome(Plan::Action::kWaitForNode, "default", reason::kNodeNotFound);
  wait.note = "its Node is not registered yet";
  f.record.Record(Csr(), wait, false, At(kNow));
  f.record.Record(Csr(), wait, false, At(kNow));
  REQUIRE(f.events.entries().size() == 1);
  CHECK(f.events.entries()[0].reason == event::kWaitingForNode);
  CHECK(f.events.entries()[0].message == "its Node is not registered yet: " + wait.message);
  // Another outcome is told; so is the same one once the CSR is forgotten.
  Plan ignore = MakeOutcome(Plan::Action::kIgnore, "p", reason::kNodeNotFound);
  f.record.Record(Csr(), ignore, false, At(kNow));
  f.record.Forget("uid-1");
  f.record.Record(Csr(), ignore, false, At(kNow));
  CHECK(f.events.reasons() ==
        std::vector<std::string>{event::kWaitingForNode, event::kIgnored, event::kIgnored});
  // Another CSR with the same outcome is its own.
  f.record.Record(Csr("uid-2"), ignore, false, At(kNow));
  CHECK(f.events.entries().size() == 4);
}

TEST_CASE("DecisionRecord tells every written decision", "[csr][record]") {
  Fixture f;
  Plan deny = MakeOutcome(Plan::Action::kDeny, "p", reason::kSANAddressNotRoutable);
  f.record.Record(Csr(), deny, true, At(kNow));
  f.record.Record(Csr(), deny, true, At(kNow));
  CHECK(f.events.reasons() == std::vector<std::string>{event::kDenied, event::kDenied});
  CHECK(f.events.entries()[0].severity == kube::EventSeverity::kWarning);
  CHECK(LatencyCount(f.registry) == 2);
}

TEST_CASE("DecisionRecord counts decisions only toward policies that exist", "[csr][record]") {
  Fixture f;
  Plan approve = MakeOutcome(Plan::Action::kApprove, "p", reason::kApprovedServing);
  CHECK(f.record.Record(Csr(), approve, true, At(kNow)) == "p");
  CHECK(f.record.Record(Csr(), MakeOutcome(Plan::Action::kApprove, "default",
                                           reason::kApprovedServing),
                        true, At(kNow)) == "");
  CHECK(f.record.TalliedPolicies() == std::vector<std::string>{"p"});
  DecisionTally t = f.record.TakeTally("p");
  CHECK(t.approved == 1);
  CHECK(t.last["csr"] == "csr-1");
  CHECK(t.last["reason"] == reason::kApprovedServing);
  CHECK(f.record.TalliedPolicies().empty());
  // A failed status write puts them back, merged with those counted since.
  CHECK(f.record.Record(Csr(), MakeOutcome(Plan::Action::kDeny, "p", reason::kNodeNotFound),
                        true, At(kNow)) == "p");
  f.record.PutBack("p", t);
  DecisionTally merged = f.record.TakeTally("p");
  CHECK(merged.approved == 1);
  CHECK(merged.denied == 1);
  CHECK(merged.last["decision"] == "Deny");  // the newer one stays the last
}

TEST_CASE("DecisionRecord sends approvals' Events to their own recorder only", "[csr][record]") {
  Fixture f;
  f.record.Record(Csr(), MakeOutcome(Plan::Action::kApprove, "p", reason::kApprovedServing), true,
                  At(kNow));
  CHECK(f.approvals.reasons() == std::vector<std::string>{event::kApproved});
  CHECK(f.events.entries().empty());
  // Without an approvals' recorder they go nowhere.
  FakeRecorder events;
  DecisionRecord quiet(events, nullptr, nullptr, nullptr, nullptr);
  quiet.Record(Csr(), MakeOutcome(Plan::Action::kApprove, "p", reason::kApprovedServing), true,
               At(kNow));
  CHECK(events.entries().empty());
}

TEST_CASE("DecisionRecord says a dry run wrote nothing", "[csr][record]") {
  Fixture f;
  Plan dry = MakeOutcome(Plan::Action::kDryRun, "p", reason::kApprovedServing);
  CHECK(f.record.Record(Csr(), dry, false, At(kNow)) == "p");
  REQUIRE(f.events.entries().size() == 1);
  CHECK(f.events.entries()[0].reason == event::kDryRun);
  CHECK(f.events.entries()[0].message == "dry run, nothing written: would Approve: " + dry.message);
  CHECK(f.record.TakeTally("p").dry_run == 1);
  CHECK(LatencyCount(f.registry) == 0);  // nothing written: no latency
}

TEST_CASE("DecisionRecord does not count a CSR the flood guard holds", "[csr][record]") {
  Fixture f;
  Plan hold = MakeOutcome(Plan::Action::kHoldForFlood, "p", reason::kApprovedServing);
  hold.flood = {true, "cluster", "FloodMaxPending", "r", "approvals paused: 600 pending"};
  CHECK(f.record.Record(Csr(), hold, false, At(kNow)) == "");
  REQUIRE(f.events.entries().size() == 1);
  CHECK(f.events.entries()[0].reason == event::kApprovalPaused);
  CHECK(f.events.entries()[0].severity == kube::EventSeverity::kWarning);
  CHECK(f.events.entries()[0].message == "approvals paused: 600 pending");
  CHECK(f.record.TalliedPolicies().empty());
  // Held again at another scope: told again.
  hold.flood.scope = "node";
  f.record.Record(Csr(), hold, false, At(kNow));
  CHECK(f.events.entries().size() == 2);
}

TEST_CASE("DecisionRecord measures the latency from creation on its clock", "[csr][record]") {
  Fixture f;
  f.record.Record(Csr(), MakeOutcome(Plan::Action::kApprove, "p", reason::kApprovedServing), true,
                  f.clock.Now());
  for (const auto& fam : f.registry.Collect()) {
    if (fam.name != "certguard_csr_decision_latency_seconds") continue;
    CHECK(fam.metric[0].histogram.sample_sum == 60);
  }
  CHECK(LatencyCount(f.registry) == 1);
  // No readable creation time: not observed.
  json undated = CsrObject("csr-2").Uid("uid-2").Json();
  f.record.Record(undated, MakeOutcome(Plan::Action::kApprove, "p", reason::kApprovedServing),
                  true, f.clock.Now());
  CHECK(LatencyCount(f.registry) == 1);
}
