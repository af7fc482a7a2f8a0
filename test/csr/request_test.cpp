#include "csr/request.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/pki.h"

using namespace certguard;
using namespace certguard::csr;
using certguard::testing::Base64;
using certguard::testing::CsrBuilder;

namespace {

nlohmann::json CsrObject(const std::string& request_b64) {
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", "csr-abc"}, {"creationTimestamp", "2026-11-24T05:00:00Z"}}},
          {"spec",
           {{"request", request_b64},
            {"signerName", "kubernetes.io/kubelet-serving"},
            {"usages", {"digital signature", "server auth"}},
            {"username", "system:node:worker-1"},
            {"uid", "1234"},
            {"groups", {"system:nodes", "system:authenticated"}},
            {"extra", {{"authentication.kubernetes.io/credential-id", {"X509SHA256=ab"}}}},
            {"expirationSeconds", 86400}}}};
}


}  // namespace

TEST_CASE("RequestFromObject reads the spec and parses the request", "[csr][request]") {
  std::string pem = CsrBuilder()
                        .Subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"}})
                        .Dns("worker-1")
                        .Ip("10.0.0.11")
                        .Pem();
  auto r = RequestFromObject(CsrObject(Base64(pem)));
  REQUIRE(r.ok());
  CHECK(r->name == "csr-abc");
  CHECK(r->signer_name == "kubernetes.io/kubelet-serving");
  CHECK(r->usages == std::vector<std::string>{"digital signature", "server auth"});
  CHECK(r->username == "system:node:worker-1");
  CHECK(r->uid == "1234");
  CHECK(r->groups.size() == 2);
  CHECK(r->extra.at("authentication.kubernetes.io/credential-id").size() == 1);
  CHECK(r->expiration_seconds == 86400);
  CHECK(r->creation_timestamp.has_value());
  INFO(r->parse_error);
  REQUIRE(r->csr.has_value());
  CHECK(r->csr->subject.CommonName() == "system:node:worker-1");
  CHECK(r->csr->sans.dns == std::vector<std::string>{"worker-1"});
  CHECK(r->csr->signature_valid);
}

TEST_CASE("an unreadable spec.request is recorded, not an error", "[csr][request]") {
  for (std::string bad : {std::string("!!!not base64"),
                          Base64("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"),
                          Base64("garbage"), std::string("")}) {
    INFO(bad);
    auto r = RequestFromObject(CsrObject(bad));
    REQUIRE(r.ok());
    CHECK_FALSE(r->csr.has_value());
    CHECK_FALSE(r->parse_error.empty());
  }
  auto missing = CsrObject("x");
  missing["spec"].erase("request");
  auto r = RequestFromObject(missing);
  REQUIRE(r.ok());
  CHECK_FALSE(r->csr.has_value());
}

TEST_CASE("RequestFromObject refuses other kinds and mistyped fields", "[csr][request]") {
  auto node = CsrObject("x");
  node["kind"] = "Node";
  CHECK_FALSE(RequestFromObject(node).ok());
  auto no_spec = CsrObject("x");
  no_spec.erase("spec");
  CHECK_FALSE(RequestFromObject(no_spec).ok());
  for (auto [field, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"usages", "client auth"}, {"groups", {1, 2}}, {"username", 5},
           {"expirationSeconds", "1y"}, {"extra", {1}}, {"signerName", nullptr}}) {
    auto obj = CsrObject("x");
    obj["spec"][field] = value;
    INFO(field);
    if (value.is_null()) {
      CHECK(RequestFromObject(obj).ok());  // null is absent
    } else {
      CHECK_FALSE(RequestFromObject(obj).ok());
    }
  }
  CHECK_FALSE(RequestFromObject(nlohmann::json::parse("[]")).ok());
}
