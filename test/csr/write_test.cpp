#include "csr/write.h"

#include <catch2/catch.hpp>
#include <string>

#include "kube/resource.h"
#include "support/kube/fake_client.h"

using namespace certguard;
using namespace certguard::csr;
using kube::testing::FakeClient;
using nlohmann::json;

namespace {

json Pending(const std::string& rv) {
  return {{"metadata", {{"name", "csr-1"}, {"resourceVersion", rv}}},
          {"spec", {{"signerName", "kubernetes.io/kubelet-serving"}}},
          {"status", json::object()}};
}

// Pending("") stored in `client`: what a read returns now, with its resourceVersion.
json Stored(FakeClient& client, json object = Pending("")) {
  auto created = client.Create(kube::resources::kCertificateSigningRequests, "", object);
  REQUIRE(created.ok());
  return *created;
}

std::string Rv(const json& o) { return o["metadata"]["resourceVersion"].get<std::string>(); }

Plan ApprovePlan() {
  Plan p;
  p.action = Plan::Action::kApprove;
  p.message = "policy default: ApprovedServing: ok";
  return p;
}

x509::Time Clock() { return x509::Time(std::chrono::seconds(1795000000)); }

}  // namespace

TEST_CASE("WriteDecision writes the condition through /approval", "[csr][write]") {
  FakeClient client;
  const json csr = Stored(client);
  int replans = 0;
  WriteResult r = WriteDecision(client, csr, ApprovePlan(),
                                [&](const json&) { ++replans; return ApprovePlan(); }, Clock);
  REQUIRE(r.status.ok());
  CHECK(r.written);
  CHECK(replans == 0);
  const auto updates = client.Updates();
  REQUIRE(updates.size() == 1);
  CHECK(client.Actions().back() == "update certificatesigningrequests csr-1/approval");
  CHECK(updates[0]["metadata"]["resourceVersion"] == Rv(csr));
  CHECK(updates[0]["status"]["conditions"][0]["type"] == "Approved");
}

TEST_CASE("WriteDecision re-reads and decides again on a conflict", "[csr][write]") {
  FakeClient client;
  const json fresh = Stored(client);  // newer than the "7" decided from: the write conflicts
  Plan deny;
  deny.action = Plan::Action::kDeny;
  deny.message = "policy p: X: y";
  WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                [&](const json& read) {
                                  CHECK(read["metadata"]["resourceVersion"] == Rv(fresh));
                                  return deny;
                                },
                                Clock);
  REQUIRE(r.status.ok());
  CHECK(r.written);
  CHECK(r.plan.action == Plan::Action::kDeny);
  const auto updates = client.Updates();
  REQUIRE(updates.size() == 2);
  CHECK(updates[1]["metadata"]["resourceVersion"] == Rv(fresh));
  CHECK(updates[1]["status"]["conditions"][0]["type"] == "Denied");
  CHECK(updates[1]["status"]["conditions"].size() == 1);
}

TEST_CASE("WriteDecision does not decide twice what someone else decided", "[csr][write]") {
  FakeClient client;
  json approved = Pending("");
  approved["status"]["conditions"] = json::array({{{"type", "Approved"}, {"status", "True"}}});
  Stored(client, approved);
  Plan skip;
  skip.action = Plan::Action::kSkip;
  WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                [&](const json&) { return skip; }, Clock);
  CHECK(r.status.ok());
  CHECK_FALSE(r.written);
  CHECK(r.plan.action == Plan::Action::kSkip);
  CHECK(client.Updates().size() == 1);
}

TEST_CASE("WriteDecision reports deletions, errors and endless conflicts", "[csr][write]") {
  SECTION("deleted") {
    FakeClient client;  // holds no CSR: the update finds none
    WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                  [](const json&) { return ApprovePlan(); }, Clock);
    CHECK(r.status.ok());
    CHECK_FALSE(r.written);
    CHECK(r.plan.action == Plan::Action::kSkip);
  }
  SECTION("forbidden") {
    FakeClient client;
    const json csr = Stored(client);
    client.InjectError("update", Status(Code::kForbidden, "no approve on signer"));
    WriteResult r = WriteDecision(client, csr, ApprovePlan(),
                                  [](const json&) { return ApprovePlan(); }, Clock);
    CHECK(r.status.code() == Code::kForbidden);
    CHECK_FALSE(r.written);
  }
  SECTION("conflicts forever") {
    FakeClient client;
    const json csr = Stored(client);
    client.InjectError("update", Status(Code::kConflict, "modified"), 3);
    WriteResult r = WriteDecision(client, csr, ApprovePlan(),
                                  [](const json&) { return ApprovePlan(); }, Clock, 3);
    CHECK(r.status.code() == Code::kConflict);
    CHECK(client.Updates().size() == 3);
  }
  SECTION("nothing to write") {
    FakeClient client;
    const json csr = Stored(client);
    Plan ignore;
    ignore.action = Plan::Action::kIgnore;
    WriteResult r = WriteDecision(client, csr, ignore,
                                  [](const json&) { return ApprovePlan(); }, Clock);
    CHECK(r.status.ok());
    CHECK(client.Updates().empty());
  }
}
