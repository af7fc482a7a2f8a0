#include "kube/json_sax.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/json_parse.h"
#include "kube/client.h"

using certguard::Code;
using certguard::kube::DropFields;
using certguard::kube::ParseJsonPruned;
using Json = nlohmann::json;

namespace {

// A CSR watch event as kube-apiserver sends it, managedFields and all.
const std::string kCsrEvent =
    R"({"type":"MODIFIED","object":{"kind":"CertificateSigningRequest","apiVersion":"certificates.k8s.io/v1",)"
    R"("metadata":{"name":"csr-1","uid":"u","resourceVersion":"77",)"
    R"("managedFields":[{"manager":"kubelet","operation":"Update","fieldsType":"FieldsV1",)"
    R"("fieldsV1":{"f:spec":{"f:request":{},"f:signerName":{},"f:usages":{}}}},)"
    R"({"manager":"certguard","subresource":"approval","fieldsV1":{"f:status":{"f:conditions":{".":{}}}}}]},)"
    R"("spec":{"request":"LS0t","signerName":"kubernetes.io/kubelet-serving","usages":["server auth"],)"
    R"("username":"system:node:n","groups":["system:nodes","system:authenticated"]},)"
    R"("status":{"conditions":[{"type":"Approved","status":"True"}],"certificate":"LS0tQ0VSVA=="}}})";

}  // namespace

TEST_CASE("ParseJsonPruned reads what ParseJson and DropFields read, without building the dropped",
          "[kube][json]") {
  const std::vector<std::string> drop = {"object.metadata.managedFields", "object.spec.groups",
                                         "absent.path", "object.status.conditions.type"};
  const std::vector<std::string> docs = {
      kCsrEvent,
      // A dropped key's value of every kind; paths through arrays match nothing.
      R"({"object":{"metadata":{"managedFields":null},"spec":{"groups":"s"},"status":{"conditions":{"type":1}}}})",
      R"({"object":{"metadata":{"managedFields":[[[]]],"x":[{"managedFields":1}]}}})",
      // A key given twice keeps its last value, dropped or not.
      R"({"object":{"metadata":{"name":"a","managedFields":[1]},"metadata":{"name":"b","managedFields":2}}})",
      R"({"object":{"spec":{"groups":[1]},"spec":5}})",
      // Escaped keys are read as their text.
      R"({"obj\u0065ct":{"metadata":{"managedFi\u0065lds":[1],"n":"\"}{"}}})",
      // Not objects at the root.
      R"([{"object":{"metadata":{"managedFields":1}}}])", R"("text")", "42", "null",
  };
  for (const auto& doc : docs) {
    INFO(doc);
    auto whole = certguard::common::ParseJson(doc);
    REQUIRE(whole.ok());
    Json expected = *whole;
    DropFields(expected, drop);
    auto pruned = ParseJsonPruned(doc, drop);
    REQUIRE(pruned.ok());
    CHECK(*pruned == expected);
  }
  auto csr = ParseJsonPruned(kCsrEvent, drop);
  REQUIRE(csr.ok());
  CHECK_FALSE((*csr)["object"]["metadata"].contains("managedFields"));
  CHECK((*csr)["object"]["metadata"]["resourceVersion"] == "77");
  CHECK((*csr)["object"]["spec"]["request"] == "LS0t");
  CHECK((*csr)["object"]["status"]["certificate"] == "LS0tQ0VSVA==");
}

TEST_CASE("ParseJsonPruned: an empty key is not the root", "[kube][json]") {
  auto j = ParseJsonPruned(R"({"":{"managedFields":1},"managedFields":2})", {"managedFields"});
  REQUIRE(j.ok());
  CHECK(*j == Json::parse(R"({"":{"managedFields":1}})"));
}

TEST_CASE("ParseJsonPruned refuses what ParseJson refuses, in its words", "[kube][json]") {
  const std::vector<std::string> drop = {"a.b"};
  for (const std::string bad : {"", "{", R"({"a":{"b":[1,}})", R"({"a":1} x)", R"({"a":{"b":tru}})",
                                "{\"a\":\"\x01\"}"}) {
    INFO(bad);
    auto j = ParseJsonPruned(bad, drop);
    REQUIRE_FALSE(j.ok());
    CHECK(j.status().code() == Code::kInvalidArgument);
  }
  // Too deep, even inside a dropped value: refused before anything is built.
  std::string deep = R"({"a":{"b":)" + std::string(300, '[') + std::string(300, ']') + "}}";
  auto j = ParseJsonPruned(deep, drop);
  REQUIRE_FALSE(j.ok());
  CHECK(certguard::common::IsTooDeep(j.status()));
}
