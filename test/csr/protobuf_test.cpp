#include "csr/protobuf.h"

#include <catch2/catch.hpp>

#include "support/protobuf_writer.h"
#include "x509/pem.h"

using certguard::Code;
using certguard::csr::DecodeCsrProtobuf;
using certguard::testing::Pb;
using nlohmann::json;

namespace {

// A condition as the server writes one: type, reason, message, times, status.
Pb Condition(const std::string& type, const std::string& reason) {
  return Pb()
      .Str(1, type)
      .Str(2, reason)
      .Str(3, reason.empty() ? "" : "by policy")
      .Message(4, Pb().Varint(1, 1700000100))
      .Message(5, Pb().Varint(1, 1700000100))
      .Str(6, "True");
}

}  // namespace

TEST_CASE("DecodeCsrProtobuf writes the JSON the API server writes for the CSR",
          "[csr][protobuf]") {
  const std::string request = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
  const std::string der("\x30\x82\x01\x00\xff", 5);
  Pb spec;
  spec.Str(1, request)
      .Str(2, "system:node:worker-1")
      .Str(3, "")  // uid: empty, left out
      .Str(4, "system:nodes")
      .Str(4, "system:authenticated")
      .Str(5, "digital signature")
      .Str(5, "server auth")
      .Message(6, Pb().Str(1, "scopes").Message(2, Pb().Str(1, "a").Str(1, "b")))
      .Message(6, Pb().Str(1, "empty").Message(2, Pb()))
      .Str(7, "kubernetes.io/kubelet-serving")
      .Varint(8, 86400);
  Pb csr;
  csr.Message(1, Pb().Str(1, "csr-1").Str(5, "uid-1").Str(6, "12").Message(
                     8, Pb().Varint(1, 1700000000)))
      .Message(2, spec)
      .Message(3, Pb().Message(1, Condition("Approved", "AutoApproved"))
                      .Message(1, Condition("Failed", ""))
                      .Str(2, der));
  auto got = DecodeCsrProtobuf(csr.str());
  INFO(got.status().ToString());
  REQUIRE(got.ok());
  json want = {
      {"metadata",
       {{"name", "csr-1"},
        {"uid", "uid-1"},
        {"resourceVersion", "12"},
        {"creationTimestamp", "2023-11-14T22:13:20Z"}}},
      {"spec",
       {{"request", certguard::x509::pem::Base64(request)},
        {"username", "system:node:worker-1"},
        {"groups", {"system:nodes", "system:authenticated"}},
        {"usages", {"digital signature", "server auth"}},
        {"extra", {{"scopes", {"a", "b"}}, {"empty", json::array()}}},
        {"signerName", "kubernetes.io/kubelet-serving"},
        {"expirationSeconds", 86400}}},
      {"status",
       {{"conditions",
         {{{"type", "Approved"},
           {"status", "True"},
           {"reason", "AutoApproved"},
           {"message", "by policy"},
           {"lastUpdateTime", "2023-11-14T22:15:00Z"},
           {"lastTransitionTime", "2023-11-14T22:15:00Z"}},
          {{"type", "Failed"},
           {"status", "True"},
           {"lastUpdateTime", "2023-11-14T22:15:00Z"},
           {"lastTransitionTime", "2023-11-14T22:15:00Z"}}}},
        {"certificate", certguard::x509::pem::Base64(der)}}}};
  CHECK(got->dump() == want.dump());
}

TEST_CASE("DecodeCsrProtobuf writes the fields JSON always has, even empty", "[csr][protobuf]") {
  // A pending CSR: spec.request and signerName written even when empty, an
  // empty status as {}.
  auto got = DecodeCsrProtobuf(Pb().Message(1, Pb().Str(1, "p")).Message(2, Pb()).Message(3, Pb()).str());
  REQUIRE(got.ok());
  CHECK(got->dump() ==
        R"({"metadata":{"name":"p"},"spec":{"request":"","signerName":""},"status":{}})");
  // A zero condition time is null, as Go's metav1.Time writes it.
  auto zero = DecodeCsrProtobuf(
      Pb().Message(3, Pb().Message(1, Pb().Str(1, "Approved").Str(6, "True").Message(4, Pb())))
          .str());
  REQUIRE(zero.ok());
  CHECK(zero->dump() ==
        R"({"status":{"conditions":[{"lastUpdateTime":null,"status":"True","type":"Approved"}]}})");
}

TEST_CASE("DecodeCsrProtobuf refuses what the decision could misread", "[csr][protobuf]") {
  auto refused = [](const Pb& p) {
    auto r = DecodeCsrProtobuf(p.str());
    return r.status().code() == Code::kInvalidArgument;
  };
  CHECK(refused(Pb().Message(2, Pb().Str(2, "system:node:\xff"))));   // username not UTF-8
  CHECK(refused(Pb().Message(2, Pb().Str(4, "\xc0\x80"))));           // a group, overlong NUL
  CHECK(refused(Pb().Message(2, Pb().Str(5, "server auth\xed\xa0\x80"))));
  CHECK(refused(Pb().Message(2, Pb().Str(7, "\xfe"))));
  CHECK(refused(Pb().Message(2, Pb().Message(6, Pb().Str(1, "k").Message(2, Pb().Str(1, "\xff"))))));
  CHECK(refused(Pb().Message(2, Pb().Varint(1, 5))));         // request as a number
  CHECK(refused(Pb().Message(2, Pb().Str(8, "86400"))));      // expirationSeconds as text
  CHECK(refused(Pb().Message(3, Pb().Varint(1, 1))));         // a condition as a number
  CHECK(refused(Pb().Message(3, Pb().Message(1, Pb().Str(6, "\xff")))));
  CHECK(refused(Pb().Varint(2, 1)));                          // spec as a number
  CHECK(refused(Pb().Message(1, Pb().Str(1, "\xff"))));       // the name
  CHECK(refused(Pb().Raw("\x12\x09" "short")));               // cut
  CHECK(refused(Pb().Raw("\x13")));                           // a group
}

TEST_CASE("DecodeNodeProtobuf writes a Node's metadata and the status the CSR controller reads",
          "[csr][protobuf]") {
  Pb status;
  status.Message(1, Pb().Str(1, "cpu").Message(2, Pb().Str(1, "4")))  // capacity: not decoded
      .Str(3, "")                                                     // phase: empty, left out
      .Message(4, Pb().Str(1, "Ready")
                      .Str(2, "True")
                      .Message(3, Pb().Varint(1, 1700000000))
                      .Message(4, Pb().Varint(1, 1700000000))
                      .Str(5, "KubeletReady")
                      .Str(6, ""))
      .Message(5, Pb().Str(1, "InternalIP").Str(2, "10.0.0.7"))
      .Message(5, Pb().Str(1, "Hostname").Str(2, "worker-1"))
      .Message(7, Pb().Str(1, "machine-id"));  // nodeInfo: not decoded
  Pb node;
  node.Message(1, Pb().Str(1, "worker-1").Str(6, "5").Entry(11, "zone", "a"))
      .Message(2, Pb().Str(1, "10.244.0.0/24"))  // spec: not decoded
      .Message(3, status);
  auto got = certguard::csr::DecodeNodeProtobuf(node.str());
  INFO(got.status().ToString());
  REQUIRE(got.ok());
  CHECK(got->dump() ==
        json({{"metadata", {{"name", "worker-1"}, {"resourceVersion", "5"}, {"labels", {{"zone", "a"}}}}},
              {"status",
               {{"conditions",
                 {{{"type", "Ready"},
                   {"status", "True"},
                   {"lastHeartbeatTime", "2023-11-14T22:13:20Z"},
                   {"lastTransitionTime", "2023-11-14T22:13:20Z"},
                   {"reason", "KubeletReady"}}}},
                {"addresses",
                 {{{"type", "InternalIP"}, {"address", "10.0.0.7"}},
                  {{"type", "Hostname"}, {"address", "worker-1"}}}}}}})
            .dump());

  auto refused = [](const Pb& p) {
    return certguard::csr::DecodeNodeProtobuf(p.str()).status().code() == Code::kInvalidArgument;
  };
  CHECK(refused(Pb().Message(3, Pb().Message(5, Pb().Str(2, "10.0.0.\xff")))));  // an address
  CHECK(refused(Pb().Message(3, Pb().Message(5, Pb().Varint(2, 7)))));
  CHECK(refused(Pb().Message(3, Pb().Message(4, Pb().Str(3, "t")))));  // a time as text
  CHECK(refused(Pb().Message(3, Pb().Varint(4, 1))));
  CHECK(refused(Pb().Message(1, Pb().Str(1, "\xc0\xae"))));
  CHECK(refused(Pb().Varint(3, 1)));
  // What is not decoded is not looked into.
  CHECK(certguard::csr::DecodeNodeProtobuf(Pb().Message(2, Pb().Str(1, "\xff")).str()).ok());
}
