#include "csr/approval.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/csr_object.h"

using certguard::Code;
using namespace certguard::csr;
using certguard::testing::At;
using certguard::testing::CsrObject;
using nlohmann::json;

namespace {

json PendingCsr() {
  return CsrObject("csr-abc", "kubernetes.io/kubelet-serving")
      .ResourceVersion("4711")
      .Uid("u-1")
      .RequestField("AAAA")
      .Username("system:node:worker-1")
      .Usages({"digital signature", "server auth"})
      .NoStatus()
      .Json();
}

}  // namespace

TEST_CASE("StateOf tells pending from decided CSRs", "[csr][approval]") {
  json csr = PendingCsr();
  CHECK(StateOf(csr) == CsrState::kPending);
  CHECK_FALSE(IsDecided(csr));

  json no_status = csr;
  no_status.erase("status");
  CHECK(StateOf(no_status) == CsrState::kPending);

  json approved = csr;
  approved["status"]["conditions"] = json::array({{{"type", "Approved"}, {"status", "True"}}});
  CHECK(StateOf(approved) == CsrState::kApproved);
  CHECK(IsDecided(approved));

  json denied = csr;
  denied["status"]["conditions"] = json::array({{{"type", "Denied"}, {"status", "True"}}});
  CHECK(StateOf(denied) == CsrState::kDenied);

  json failed = approved;
  failed["status"]["conditions"].push_back({{"type", "Failed"}, {"status", "True"}});
  CHECK(StateOf(failed) == CsrState::kFailed);

  json issued = approved;
  issued["status"]["certificate"] = "LS0tLS1CRUdJTi...";
  CHECK(StateOf(issued) == CsrState::kIssued);

  // Old objects without a condition status: the condition holds.
  json legacy = csr;
  legacy["status"]["conditions"] = json::array({{{"type", "Approved"}}});
  CHECK(StateOf(legacy) == CsrState::kApproved);
}

TEST_CASE("StateOf treats conditions that do not hold or are malformed as absent",
          "[csr][approval]") {
  json csr = PendingCsr();
  csr["status"]["conditions"] = json::array({{{"type", "Approved"}, {"status", "False"}},
                                             {{"type", 7}},
                                             "garbage",
                                             {{"status", "True"}}});
  CHECK(StateOf(csr) == CsrState::kPending);

  json weird = PendingCsr();
  weird["status"] = "nope";
  CHECK(StateOf(weird) == CsrState::kPending);
  weird["status"] = {{"conditions", "nope"}, {"certificate", ""}};
  CHECK(StateOf(weird) == CsrState::kPending);
  CHECK(StateOf(json("string")) == CsrState::kPending);
}

TEST_CASE("BuildApprovalBody appends one condition and keeps the resourceVersion",
          "[csr][approval]") {
  json csr = PendingCsr();
  auto body = BuildApprovalBody(csr, true, "policy default: ApprovedServing: ok", At(2026, 11, 24, 5, 18, 33));
  REQUIRE(body.ok());
  CHECK((*body)["metadata"]["resourceVersion"] == "4711");
  CHECK((*body)["spec"] == csr["spec"]);
  REQUIRE((*body)["status"]["conditions"].size() == 1);
  const json& c = (*body)["status"]["conditions"][0];
  CHECK(c["type"] == "Approved");
  CHECK(c["status"] == "True");
  CHECK(c["reason"] == "CertguardApproved");
  CHECK(c["message"] == "policy default: ApprovedServing: ok");
  CHECK(c["lastUpdateTime"] == "2026-11-24T05:18:33Z");
  CHECK(StateOf(*body) == CsrState::kApproved);
  CHECK(DecisionConditionCount(*body) == 1);
  CHECK(StateOf(csr) == CsrState::kPending);  // the input is not modified

  auto deny = BuildApprovalBody(*body, false, "x", At(2027, 1, 2, 3, 4, 5));
  REQUIRE(deny.ok());
  REQUIRE((*deny)["status"]["conditions"].size() == 2);
  CHECK((*deny)["status"]["conditions"][1]["type"] == "Denied");
  CHECK((*deny)["status"]["conditions"][1]["reason"] == "CertguardDenied");
  CHECK((*deny)["status"]["conditions"][1]["lastUpdateTime"] == "2027-01-02T03:04:05Z");
  CHECK(DecisionConditionCount(*deny) == 2);
}

TEST_CASE("BuildApprovalBody cuts long messages on a character boundary", "[csr][approval]") {
  std::string long_msg;
  while (long_msg.size() < 3000) long_msg += "é reason; ";
  auto body = BuildApprovalBody(PendingCsr(), false, long_msg, At(2026, 1, 1, 0, 0, 0));
  REQUIRE(body.ok());
  std::string msg = (*body)["status"]["conditions"][0]["message"];
  CHECK(msg.size() <= kMaxConditionMessage);
  CHECK(msg.substr(msg.size() - 3) == "...");
  // Still valid UTF-8: nlohmann refuses to dump invalid sequences.
  CHECK_NOTHROW((*body).dump());
}

TEST_CASE("BuildApprovalBody refuses objects it cannot write", "[csr][approval]") {
  auto t = At(2026, 1, 1, 0, 0, 0);
  CHECK(BuildApprovalBody(json::array(), true, "m", t).status().code() == Code::kInvalidArgument);
  json nameless = PendingCsr();
  nameless["metadata"].erase("name");
  CHECK_FALSE(BuildApprovalBody(nameless, true, "m", t).ok());
  json bad_conditions = PendingCsr();
  bad_conditions["status"]["conditions"] = "x";
  CHECK_FALSE(BuildApprovalBody(bad_conditions, true, "m", t).ok());
  json bad_status = PendingCsr();
  bad_status["status"] = 3;
  CHECK_FALSE(BuildApprovalBody(bad_status, true, "m", t).ok());
  json null_status = PendingCsr();
  null_status["status"] = nullptr;
  CHECK(BuildApprovalBody(null_status, true, "m", t).ok());
}
