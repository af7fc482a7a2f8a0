#include "trust/status.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

using namespace certguard::trust;
using certguard::x509::Time;
using nlohmann::json;

namespace {

Time At(int64_t seconds) { return Time(std::chrono::seconds(seconds)); }

StatusFacts Healthy() {
  StatusFacts f;
  f.generation = 3;
  f.pem = "PEM";
  f.certificates = 2;
  f.fingerprint = "sha256:aa";
  f.earliest_not_after = At(1800000000);
  f.synced = 50;
  f.verified = 50;
  return f;
}

std::string CondStatus(const json& s, const std::string& type) {
  const json* c = FindCondition(s, type);
  return c ? (*c)["status"].get<std::string>() : "absent";
}
std::string CondReason(const json& s, const std::string& type) {
  const json* c = FindCondition(s, type);
  return c ? (*c)["reason"].get<std::string>() : "absent";
}

}  // namespace

TEST_CASE("A healthy bundle is Synced without source error or gap", "[trust]") {
  json s = ComputeStatus(Healthy(), json(), At(1795496400));
  CHECK(s["observedGeneration"] == 3);
  CHECK(s["certificates"] == 2);
  CHECK(s["fingerprint"] == "sha256:aa");
  CHECK(s["earliestNotAfter"] == "2027-01-15T08:00:00Z");
  CHECK(s["lastChange"] == "2026-11-24T05:00:00Z");
  CHECK(s["targets"] == json({{"synced", 50}, {"outdated", 0}, {"failed", 0}}));
  CHECK(s["trustGaps"] == json::array());
  CHECK(CondStatus(s, "Synced") == "True");
  CHECK(CondStatus(s, "SourceError") == "False");
  CHECK(CondStatus(s, "TrustGap") == "False");
  CHECK(CondReason(s, "TrustGap") == "ConsumersTrustBundle");
}

TEST_CASE("An unchanged world gives an identical status", "[trust]") {
  json first = ComputeStatus(Healthy(), json(), At(1795496400));
  json again = ComputeStatus(Healthy(), first, At(1795496400 + 3600));
  CHECK(again == first);  // times kept: no status write, no resourceVersion bump

  StatusFacts changed = Healthy();
  changed.fingerprint = "sha256:bb";
  json moved = ComputeStatus(changed, first, At(1795496400 + 3600));
  CHECK(moved["lastChange"] == "2026-11-24T06:00:00Z");
  CHECK((*FindCondition(moved, "Synced"))["lastTransitionTime"] == "2026-11-24T05:00:00Z");
}

TEST_CASE("A source error keeps the last good bundle and says so", "[trust]") {
  StatusFacts f = Healthy();
  f.last_good = true;
  f.issues = {{"configMap a/b[ca.crt]", SourceErrorReason::kInvalidBlock, "block 0: bad base64"}};
  json before = ComputeStatus(Healthy(), json(), At(100));
  json s = ComputeStatus(f, before, At(200));
  CHECK(CondStatus(s, "SourceError") == "True");
  CHECK(CondReason(s, "SourceError") == "InvalidBlock");
  const json* c = FindCondition(s, "SourceError");
  CHECK_THAT((*c)["message"].get<std::string>(),
             Catch::Contains("configMap a/b[ca.crt]: block 0: bad base64"));
  CHECK_THAT((*c)["message"].get<std::string>(),
             Catch::Contains("keeping the last good bundle sha256:aa"));
  CHECK((*c)["lastTransitionTime"] == "1970-01-01T00:03:20Z");
  CHECK(CondStatus(s, "Synced") == "True");  // the targets still hold the last good bundle
  CHECK(s["lastChange"] == before["lastChange"]);
}

TEST_CASE("No bundle at all: nothing written, Synced false", "[trust]") {
  StatusFacts f;
  f.empty_bundle = true;
  json s = ComputeStatus(f, json(), At(0));
  CHECK(CondStatus(s, "Synced") == "False");
  CHECK(CondReason(s, "Synced") == "NoBundle");
  CHECK(CondReason(s, "SourceError") == "EmptyBundle");
  CHECK_THAT((*FindCondition(s, "SourceError"))["message"].get<std::string>(),
             Catch::Contains("nothing written"));
  CHECK_FALSE(s.contains("lastChange"));
}

TEST_CASE("Foreign targets, write errors and pending ones make Synced false", "[trust]") {
  StatusFacts f = Healthy();
  for (int i = 0; i < 7; ++i) {
    f.foreign.push_back({"ns" + std::to_string(i), "kube-root-ca.crt", "managed by kube-controller-manager"});
  }
  json s = ComputeStatus(f, json(), At(0));
  CHECK(CondReason(s, "Synced") == "TargetConflict");
  std::string m = (*FindCondition(s, "Synced"))["message"];
  CHECK_THAT(m, Catch::Contains("ns0/kube-root-ca.crt: managed by kube-controller-manager"));
  CHECK_THAT(m, Catch::Contains("and 2 more"));

  f = Healthy();
  f.write_errors = {{"a", "t", "Forbidden: no"}};
  CHECK(CondReason(ComputeStatus(f, json(), At(0)), "Synced") == "WriteFailed");

  f = Healthy();
  f.outdated = 4;
  CHECK(CondReason(ComputeStatus(f, json(), At(0)), "Synced") == "Pending");
}

TEST_CASE("Trust gaps are listed and conditioned", "[trust]") {
  StatusFacts f = Healthy();
  f.gaps = {{"openshift-multus", "kube-root-ca.crt", "lacks CN=api-int (AB)"}};
  json s = ComputeStatus(f, json(), At(0));
  CHECK(CondStatus(s, "TrustGap") == "True");
  CHECK(CondReason(s, "TrustGap") == "ConsumerLacksCA");
  REQUIRE(s["trustGaps"].size() == 1);
  CHECK(s["trustGaps"][0]["namespace"] == "openshift-multus");
}

TEST_CASE("An invalid spec keeps the counts and source condition of before", "[trust]") {
  json before = ComputeStatus(Healthy(), json(), At(0));
  StatusFacts bad;
  bad.generation = 4;
  bad.spec_error = "spec.sources: at least one source is required";
  json s = ComputeStatus(bad, before, At(10));
  CHECK(s["observedGeneration"] == 4);
  CHECK(s["certificates"] == 2);
  CHECK(s["fingerprint"] == "sha256:aa");
  CHECK(CondReason(s, "Synced") == "InvalidSpec");
  CHECK(CondReason(s, "SourceError") == "SourcesReadable");
}

TEST_CASE("A Secret target while Secret targets are disabled makes Synced false",
          "[trust][secret-target]") {
  StatusFacts f = Healthy();
  f.secret_targets_disabled = true;
  json s = ComputeStatus(f, json(), At(1795496400));
  CHECK(CondStatus(s, "Synced") == "False");
  CHECK(CondReason(s, "Synced") == "SecretTargetsDisabled");
  CHECK(CondStatus(s, "SourceError") == "False");  // the rest is reported as ever
}

TEST_CASE("An unusable password Secret makes Synced false and keeps the rest of before",
          "[trust][passwords]") {
  json before = ComputeStatus(Healthy(), json(), At(0));
  StatusFacts f;
  f.generation = 5;
  f.password_error = "spec.target.additionalFormats.pkcs12.passwordSecretRef: secret a/b[k]: "
                     "the Secret does not exist";
  json s = ComputeStatus(f, before, At(10));
  CHECK(s["observedGeneration"] == 5);
  CHECK(s["certificates"] == before["certificates"]);
  CHECK(s["fingerprint"] == before["fingerprint"]);
  CHECK(s["targets"] == before["targets"]);
  CHECK(s["lastChange"] == before["lastChange"]);
  CHECK(CondStatus(s, "Synced") == "False");
  CHECK(CondReason(s, "Synced") == "PasswordUnavailable");
  const json* synced = FindCondition(s, "Synced");
  REQUIRE(synced);
  CHECK((*synced)["message"] == f.password_error + "; nothing written, targets keep what they hold");
  CHECK(CondReason(s, "SourceError") == "SourcesReadable");
}
