#include "csr/policy_status.h"

#include <catch2/catch.hpp>

using namespace certguard::csr;
using nlohmann::json;

namespace {
certguard::x509::Time T(int s) { return certguard::x509::Time(std::chrono::seconds(1795000000 + s)); }
}  // namespace

TEST_CASE("NextPolicyStatus adds counts and keeps the last decision", "[csr][policy-status]") {
  json policy = {{"metadata", {{"name", "p"}, {"generation", 3}}},
                 {"status", {{"approved", 5}, {"denied", 1}}}};
  DecisionTally t;
  t.approved = 2;
  t.dry_run = 1;
  t.last = LastDecisionJson("csr-9", "Approve", "ApprovedRenewal", true, T(0));
  json s = NextPolicyStatus(policy, t, {}, T(10));
  CHECK(s["observedGeneration"] == 3);
  CHECK(s["approved"] == 7);
  CHECK(s["denied"] == 1);
  CHECK(s["ignored"] == 0);
  CHECK(s["dryRun"] == 1);
  CHECK(s["lastDecision"]["csr"] == "csr-9");
  CHECK(s["lastDecision"]["decision"] == "Approve");
  CHECK(s["lastDecision"]["reason"] == "ApprovedRenewal");
  CHECK(s["lastDecision"]["dryRun"] == true);
  CHECK(s["lastDecision"]["time"] == "2026-11-18T11:06:40Z");
  REQUIRE(s["conditions"].size() == 1);
  CHECK(s["conditions"][0]["type"] == "Valid");
  CHECK(s["conditions"][0]["status"] == "True");

  // Nothing new: the same status, transition time kept, so no write is needed.
  policy["status"] = s;
  json again = NextPolicyStatus(policy, DecisionTally{}, {}, T(500));
  CHECK(again == s);
}

TEST_CASE("NextPolicyStatus reports invalid fields", "[csr][policy-status]") {
  json policy = {{"metadata", {{"name", "p"}, {"generation", 1}}}};
  json s = NextPolicyStatus(policy, {}, {"nodeNamePattern: bad regex", "allowedIPRanges[0]: bad CIDR"},
                            T(0));
  CHECK(s["conditions"][0]["status"] == "False");
  CHECK(s["conditions"][0]["reason"] == "InvalidFields");
  std::string msg = s["conditions"][0]["message"];
  CHECK(msg.find("bad regex") != std::string::npos);
  CHECK(msg.find("bad CIDR") != std::string::npos);
  CHECK(s["approved"] == 0);
  CHECK_FALSE(s.contains("lastDecision"));

  // Fixed: the condition flips and its transition time moves.
  policy["status"] = s;
  policy["metadata"]["generation"] = 2;
  json fixed = NextPolicyStatus(policy, {}, {}, T(60));
  CHECK(fixed["conditions"][0]["status"] == "True");
  CHECK(fixed["conditions"][0]["lastTransitionTime"] != s["conditions"][0]["lastTransitionTime"]);
  CHECK(fixed["observedGeneration"] == 2);
}

TEST_CASE("NextPolicyStatus starts over from malformed counts", "[csr][policy-status]") {
  json policy = {{"metadata", {{"name", "p"}}},
                 {"status", {{"approved", "many"}, {"denied", -4}, {"conditions", "x"}}}};
  DecisionTally t;
  t.denied = 1;
  json s = NextPolicyStatus(policy, t, {}, T(0));
  CHECK(s["approved"] == 0);
  CHECK(s["denied"] == 1);
  CHECK(s["observedGeneration"] == 0);
}

TEST_CASE("DecisionTally merges counts and keeps the later decision", "[csr][policy-status]") {
  DecisionTally a, b;
  a.approved = 1;
  a.last = json{{"csr", "a"}};
  b.denied = 2;
  CHECK_FALSE(a.empty());
  CHECK(DecisionTally{}.empty());
  a.Merge(b);
  CHECK(a.approved == 1);
  CHECK(a.denied == 2);
  CHECK(a.last["csr"] == "a");
  b.last = json{{"csr", "b"}};
  a.Merge(b);
  CHECK(a.last["csr"] == "b");
  CHECK(a.denied == 4);
}
