#include "csr/backlog.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "csr/approval.h"
#include "kube/resource.h"
#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"
#include "support/csr_object.h"
#include "support/pki.h"
#include "x509/pem.h"

using namespace certguard;
using namespace certguard::csr;
using namespace certguard::testing;
using nlohmann::json;

namespace {

const kube::Resource& kCsrs = kube::resources::kCertificateSigningRequests;

x509::Time Now() {
  using namespace std::chrono;
  return sys_days(year_month_day{year(2026), month(11), day(24)}) + hours(6);
}

// A client CSR of `node`, asked by the node itself; with `dns` it carries a SAN
// (refused: SANsOnClientCert).
json ClientCsr(const std::string& name, const std::string& node, const std::string& dns = "") {
  CsrBuilder b = CsrBuilder().Subject({{"O", "system:nodes"}, {"CN", "system:node:" + node}});
  if (!dns.empty()) b.Dns(dns);
  return CsrObject(name, kClientSigner)
      .Created("2026-11-24T05:59:00Z")
      .Request(b.Pem())
      .Username("system:node:" + node)
      .NodeGroups()
      .Usages({"digital signature", "client auth"})
      .Json();
}

struct Fixture {
  kube::testing::FakeClient client;
  kube::testing::FakeRecorder events;
  NodeMap nodes;
  // These tables model floods of requests to be decided each on its own.
  SupersededAction superseded = SupersededAction::kOff;

  void Add(const json& csr) { REQUIRE(client.Create(kCsrs, "", csr).ok()); }

  BacklogResult Decide(FloodLimits flood, bool dry_run = false) {
    std::vector<json> csrs;
    for (const auto& [key, obj] : client.Objects(kCsrs)) csrs.push_back(obj);
    BacklogOptions o;
    o.plan.flood = flood;
    o.dry_run = dry_run;
    o.plan.superseded = superseded;
    NodeLookup lookup = [this](const std::string& n) -> const NodeFacts* {
      auto it = nodes.find(n);
      return it == nodes.end() ? nullptr : &it->second;
    };
    return DecideBacklog(client, events, csrs, lookup, {}, o, Now);
  }

  std::string State(const std::string& name) {
    return CsrStateName(StateOf(client.Objects(kCsrs).at(name)));
  }
  int Writes() {
    int n = 0;
    for (const auto& a : client.Actions()) n += a.rfind("update ", 0) == 0;
    return n;
  }
};

BacklogRow Row(const BacklogResult& r, const std::string& name) {
  for (const auto& row : r.rows) {
    if (row.name == name) return row;
  }
  FAIL_CHECK("no row for " << name);
  return {};
}

}  // namespace

TEST_CASE("DecideBacklog holds a node's approvals past its cap and says why", "[csr][backlog]") {
  Fixture f;
  for (int i = 0; i < 4; ++i) f.Add(ClientCsr("renew-" + std::to_string(i), "worker-1"));
  f.Add(ClientCsr("other-node", "worker-2"));

  BacklogResult r = f.Decide({3, 0});
  REQUIRE(r.rows.size() == 5);
  CHECK(r.held == 4);
  CHECK(r.errors.empty());
  for (int i = 0; i < 4; ++i) {
    const BacklogRow row = Row(r, "renew-" + std::to_string(i));
    CHECK(row.decision == "Held");
    CHECK(row.action == Plan::Action::kHoldForFlood);
    CHECK(row.reason == "MaxPendingPerNode: node:worker-1 has 4 pending, cap 3");
    CHECK(row.requester == "system:node:worker-1");
    CHECK(f.State(row.name) == "Pending");
  }
  // Another node is not held for worker-1's flood.
  CHECK(Row(r, "other-node").decision == "Approved");
  CHECK(f.State("other-node") == "Approved");
  CHECK(f.Writes() == 1);

  int paused = 0;
  for (const auto& e : f.events.entries()) {
    if (e.reason != "ApprovalPaused") continue;
    ++paused;
    CHECK(e.severity == kube::EventSeverity::kWarning);
    CHECK(e.message.find("--csr-max-pending-per-node") != std::string::npos);
  }
  CHECK(paused == 4);
}

TEST_CASE("DecideBacklog denies first: a flood made of refused requests holds nothing",
          "[csr][backlog]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.Add(ClientCsr("renew-" + std::to_string(i), "worker-1"));
  f.Add(ClientCsr("with-san", "worker-1", "worker-1"));  // sorts after the renewals

  BacklogResult r = f.Decide({3, 0});
  CHECK(r.held == 0);
  CHECK(Row(r, "with-san").decision == "Denied");
  CHECK(Row(r, "with-san").reason == "SANsOnClientCert");
  CHECK(f.State("with-san") == "Denied");
  for (int i = 0; i < 3; ++i) {
    const std::string name = "renew-" + std::to_string(i);
    CHECK(Row(r, name).decision == "Approved");
    CHECK(Row(r, name).reason == "ApprovedRenewal");
    CHECK(f.State(name) == "Approved");
  }
  // Rows keep the order of the input.
  REQUIRE(r.rows.size() == 4);
  CHECK(r.rows.front().name == "renew-0");
  CHECK(r.rows.back().name == "with-san");
  CHECK(f.events.reasons() ==
        std::vector<std::string>{"Denied", "Approved", "Approved", "Approved"});
}

TEST_CASE("DecideBacklog holds every approval past the overall cap", "[csr][backlog]") {
  Fixture f;
  f.Add(ClientCsr("a", "worker-1"));
  f.Add(ClientCsr("b", "worker-2"));
  f.Add(ClientCsr("c", "worker-3"));

  BacklogResult r = f.Decide({10, 2});
  CHECK(r.held == 3);
  for (const auto& row : r.rows) {
    CHECK(row.decision == "Held");
    CHECK(row.reason == "MaxPending: 3 pending, cap 2");
  }
  CHECK(f.Writes() == 0);

  // Withdrawn requests end the flood: the next pass approves the rest.
  REQUIRE(f.client.Delete(kCsrs, "", "c").ok());
  r = f.Decide({10, 2});
  CHECK(r.held == 0);
  CHECK(f.State("a") == "Approved");
  CHECK(f.State("b") == "Approved");
}

TEST_CASE("DecideBacklog with caps at 0 holds nothing", "[csr][backlog]") {
  Fixture f;
  for (int i = 0; i < 12; ++i) f.Add(ClientCsr("renew-" + std::to_string(i), "worker-1"));
  BacklogResult r = f.Decide({0, 0});
  CHECK(r.held == 0);
  CHECK(r.rows.size() == 12);
  for (const auto& row : r.rows) CHECK(row.decision == "Approved");
}

TEST_CASE("DecideBacklog in a dry run writes nothing and counts what it would do",
          "[csr][backlog]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.Add(ClientCsr("renew-" + std::to_string(i), "worker-1"));
  f.Add(ClientCsr("with-san", "worker-1", "worker-1"));
  f.Add(ClientCsr("flood-0", "worker-2"));
  f.Add(ClientCsr("flood-1", "worker-2"));
  f.Add(ClientCsr("flood-2", "worker-2"));
  f.Add(ClientCsr("flood-3", "worker-2"));
  f.client.ClearActions();

  BacklogResult r = f.Decide({3, 0}, /*dry_run=*/true);
  CHECK(Row(r, "with-san").decision == "WouldDeny");
  for (int i = 0; i < 3; ++i) CHECK(Row(r, "renew-" + std::to_string(i)).decision == "WouldApprove");
  for (int i = 0; i < 4; ++i) {
    CHECK(Row(r, "flood-" + std::to_string(i)).decision == "Held");
    CHECK(Row(r, "flood-" + std::to_string(i)).reason ==
          "MaxPendingPerNode: node:worker-2 has 4 pending, cap 3");
  }
  CHECK(r.held == 4);
  CHECK(f.client.Actions().empty());
  CHECK(f.events.entries().empty());
}

TEST_CASE("DecideBacklog passes over decided CSRs and other signers", "[csr][backlog]") {
  Fixture f;
  json decided = ClientCsr("decided", "worker-1");
  decided["status"]["conditions"] =
      json::array({{{"type", "Approved"}, {"status", "True"}, {"reason", "ByHand"}}});
  f.Add(decided);
  json other = ClientCsr("other-signer", "worker-1");
  other["spec"]["signerName"] = "example.com/signer";
  f.Add(other);
  f.client.ClearActions();

  BacklogResult r = f.Decide({10, 500});
  CHECK(r.rows.empty());
  CHECK(f.client.Actions().empty());
}

TEST_CASE("DecideBacklog reports a failed write and goes on", "[csr][backlog]") {
  Fixture f;
  f.Add(ClientCsr("a", "worker-1"));
  f.Add(ClientCsr("b", "worker-2"));
  f.client.InjectError("update", Status(Code::kForbidden, "no approve on this signer"));

  BacklogResult r = f.Decide({10, 500});
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("no approve on this signer") != std::string::npos);
  CHECK(Row(r, "a").decision == "Error");
  CHECK(Row(r, "b").decision == "Approved");
  CHECK(f.State("a") == "Pending");
}

TEST_CASE("DecideBacklog decides a node's newest retry and denies the older ones Superseded",
          "[csr][backlog][supersede]") {
  Fixture f;
  f.superseded = SupersededAction::kDeny;
  for (int i = 0; i < 4; ++i) {
    json c = ClientCsr("retry-" + std::to_string(i), "worker-1");
    c["metadata"]["creationTimestamp"] = "2026-11-24T05:5" + std::to_string(i) + ":00Z";
    f.Add(c);
  }
  // A per-node cap of 1: the three abandoned retries do not hold the newest.
  BacklogResult r = f.Decide({1, 0});
  CHECK(r.held == 0);
  REQUIRE(r.rows.size() == 4);
  for (const auto& row : r.rows) {
    INFO(row.name);
    if (row.name == "retry-3") {
      CHECK(row.decision == "Approved");
      CHECK(f.State(row.name) == "Approved");
    } else {
      CHECK(row.decision == "Denied");
      CHECK(row.reason == "Superseded");
      CHECK(f.State(row.name) == "Denied");
    }
  }
}
