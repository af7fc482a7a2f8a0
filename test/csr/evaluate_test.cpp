// The policy engine on hand-built facts: one table row per rule, valid and invalid.
// (Real, OpenSSL-minted CSRs go through the same rules in corpus_test.cpp.)
#include "csr/evaluate.h"

#include <catch2/catch.hpp>
#include <functional>
#include <nlohmann/json.hpp>

#include "support/csr_facts.h"

using namespace certguard;
using namespace certguard::csr;
using namespace std::chrono_literals;
using namespace certguard::testing;

namespace {

CsrRequest Bootstrap(const std::string& node = "worker-9") {
  CsrRequest r = KubeletClient(node);
  r.username = "system:bootstrap:abcdef";
  r.groups = {"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token",
              "system:authenticated"};
  return r;
}

CsrRequest Serving(const std::string& node = "worker-1") {
  CsrRequest r = KubeletServing(node);
  r.csr->sans.dns = {"worker-1", "worker-1.internal.example"};
  r.csr->sans.ips = {Ip("10.0.0.11"), Ip("fd00::11")};
  return r;
}

NodeFacts Node(const std::string& name) {
  NodeFacts n;
  n.name = name;
  n.labels = {{"kubernetes.io/hostname", name}};
  n.addresses = {{"InternalIP", "10.0.0.11"},
                 {"InternalIP", "fd00:0:0:0:0:0:0:11"},
                 {"ExternalIP", "203.0.113.11"},
                 {"Hostname", name},
                 {"InternalDNS", "Worker-1.Internal.Example"}};
  n.ready_status = "True";
  n.ready_since = kNow - 24h;
  return n;
}

NodeMap Nodes() { return {{"worker-1", Node("worker-1")}, {"worker-2", Node("worker-2")}}; }

bool HasCode(const Decision& d, const std::string& code) {
  return certguard::testing::HasCode(d.reasons, code);
}

struct Case {
  const char* name;
  std::function<CsrRequest()> request;
  Verdict want;
  const char* code;  // a reason code the decision must carry
};

void RunTable(const std::vector<Case>& cases, const NodeMap& nodes,
              const std::vector<Policy>& policies = {}) {
  for (const auto& c : cases) {
    SECTION(c.name) {
      Decision d = Evaluate(c.request(), nodes, policies, kNow);
      INFO(Describe(d));
      CHECK(d.verdict == c.want);
      CHECK(HasCode(d, c.code));
      CHECK_FALSE(d.reasons.empty());
    }
  }
}

}  // namespace

TEST_CASE("default policy approves the three kubelet request shapes", "[csr][evaluate]") {
  RunTable(
      {
          {"client renewal", [] { return KubeletClient(); }, Verdict::kApprove,
           reason::kApprovedRenewal},
          {"client renewal with key encipherment, usages in any order",
           [] {
             auto r = KubeletClient();
             r.usages = {"client auth", "key encipherment", "digital signature"};
             return r;
           },
           Verdict::kApprove, reason::kApprovedRenewal},
          {"bootstrap of a new node", [] { return Bootstrap(); }, Verdict::kApprove,
           reason::kApprovedBootstrap},
          {"serving with the node's own names and addresses", [] { return Serving(); },
           Verdict::kApprove, reason::kApprovedServing},
          {"serving: IPv6 compared as an address, DNS case-insensitively",
           [] {
             auto r = Serving();
             r.csr->sans.dns = {"WORKER-1.internal.example"};
             r.csr->sans.ips = {Ip("fd00:0:0:0:0:0:0:11"), Ip("203.0.113.11")};
             return r;
           },
           Verdict::kApprove, reason::kApprovedServing},
          {"serving: an IP SAN alone",
           [] {
             auto r = Serving();
             r.csr->sans.dns.clear();
             r.csr->sans.ips = {Ip("10.0.0.11")};
             return r;
           },
           Verdict::kApprove, reason::kApprovedServing},
          {"RSA 2048 key",
           [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kRsa, 2048, ""};
             return r;
           },
           Verdict::kApprove, reason::kApprovedRenewal},
          {"ECDSA P-384", [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kEcdsa, 384, "P-384"};
             return r;
           },
           Verdict::kApprove, reason::kApprovedRenewal},
          {"ECDSA P-521", [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kEcdsa, 521, "P-521"};
             return r;
           },
           Verdict::kApprove, reason::kApprovedRenewal},
          {"Ed25519", [] {
             auto r = Serving();
             r.csr->key = {x509::KeyAlgorithm::kEd25519, 256, ""};
             return r;
           },
           Verdict::kApprove, reason::kApprovedServing},
          {"expirationSeconds of exactly 367 days",
           [] {
             auto r = KubeletClient();
             r.expiration_seconds = 31708800;
             return r;
           },
           Verdict::kApprove, reason::kApprovedRenewal},
      },
      Nodes());
}

TEST_CASE("default policy: signers", "[csr][evaluate]") {
  RunTable({{"a non-kubelet signer is ignored, never denied",
             [] {
               auto r = KubeletClient();
               r.signer_name = "kubernetes.io/kube-apiserver-client";
               return r;
             },
             Verdict::kIgnore, reason::kSignerNotHandled},
            {"legacy-unknown signer is ignored",
             [] {
               auto r = Serving();
               r.signer_name = "kubernetes.io/legacy-unknown";
               return r;
             },
             Verdict::kIgnore, reason::kSignerNotHandled},
            {"an empty signer is ignored",
             [] {
               auto r = Serving();
               r.signer_name.clear();
               return r;
             },
             Verdict::kIgnore, reason::kSignerNotHandled}},
           Nodes());
}

TEST_CASE("default policy: the request, key and signature", "[csr][evaluate]") {
  RunTable(
      {
          {"unparseable request",
           [] {
             auto r = KubeletClient();
             r.csr.reset();
             r.parse_error = "truncated";
             return r;
           },
           Verdict::kDeny, reason::kCsrUnparseable},
          {"tampered signature",
           [] {
             auto r = KubeletClient();
             r.csr->signature_valid = false;
             return r;
           },
           Verdict::kDeny, reason::kSignatureInvalid},
          {"RSA 1024", [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kRsa, 1024, ""};
             return r;
           },
           Verdict::kDeny, reason::kKeyTooWeak},
          {"RSA 2047", [] {
             auto r = Serving();
             r.csr->key = {x509::KeyAlgorithm::kRsa, 2047, ""};
             return r;
           },
           Verdict::kDeny, reason::kKeyTooWeak},
          {"ECDSA secp256k1", [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kEcdsa, 256, "secp256k1"};
             return r;
           },
           Verdict::kDeny, reason::kKeyAlgorithmNotAllowed},
          {"ECDSA P-224", [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kEcdsa, 224, "P-224"};
             return r;
           },
           Verdict::kDeny, reason::kKeyAlgorithmNotAllowed},
          {"DSA", [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kDsa, 2048, ""};
             return r;
           },
           Verdict::kDeny, reason::kKeyAlgorithmNotAllowed},
          {"Ed448", [] {
             auto r = KubeletClient();
             r.csr->key = {x509::KeyAlgorithm::kEd448, 448, ""};
             return r;
           },
           Verdict::kDeny, reason::kKeyAlgorithmNotAllowed},
          {"requested extensions other than SAN",
           [] {
             auto r = KubeletClient();
             r.csr->other_extensions = {"basicConstraints"};
             return r;
           },
           Verdict::kDeny, reason::kExtensionNotAllowed},
          {"10-year expirationSeconds",
           [] {
             auto r = KubeletClient();
             r.expiration_seconds = 315360000;
             return r;
           },
           Verdict::kDeny, reason::kExpirationTooLong},
          {"one second over 367 days",
           [] {
             auto r = Serving();
             r.expiration_seconds = 31708801;
             return r;
           },
           Verdict::kDeny, reason::kExpirationTooLong},
      },
      Nodes());
}

TEST_CASE("default policy: the subject", "[csr][evaluate]") {
  auto with_subject = [](std::vector<std::pair<std::string, std::string>> attrs) {
    return [attrs] {
      auto r = KubeletClient();
      r.csr->subject.attributes = attrs;
      return r;
    };
  };
  RunTable(
      {
          {"O=system:masters alone",
           with_subject({{"O", "system:masters"}, {"CN", "system:node:worker-1"}}),
           Verdict::kDeny, reason::kSubjectNotNode},
          {"O=system:masters added",
           with_subject(
               {{"O", "system:nodes"}, {"O", "system:masters"}, {"CN", "system:node:worker-1"}}),
           Verdict::kDeny, reason::kSubjectNotNode},
          {"no O", with_subject({{"CN", "system:node:worker-1"}}), Verdict::kDeny,
           reason::kSubjectNotNode},
          {"O twice", with_subject({{"O", "system:nodes"}, {"O", "system:nodes"},
                                    {"CN", "system:node:worker-1"}}),
           Verdict::kDeny, reason::kSubjectNotNode},
          {"CN without the prefix", with_subject({{"O", "system:nodes"}, {"CN", "worker-1"}}),
           Verdict::kDeny, reason::kSubjectNotNode},
          {"empty node name", with_subject({{"O", "system:nodes"}, {"CN", "system:node:"}}),
           Verdict::kDeny, reason::kSubjectNotNode},
          {"node name not a DNS subdomain",
           with_subject({{"O", "system:nodes"}, {"CN", "system:node:Worker_1"}}), Verdict::kDeny,
           reason::kSubjectNotNode},
          {"two CNs", with_subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"},
                                    {"CN", "system:node:worker-2"}}),
           Verdict::kDeny, reason::kSubjectNotNode},
          {"an OU added",
           with_subject({{"O", "system:nodes"}, {"OU", "x"}, {"CN", "system:node:worker-1"}}),
           Verdict::kDeny, reason::kSubjectExtraAttributes},
      },
      Nodes());
}

TEST_CASE("default policy: usages compared as a set", "[csr][evaluate]") {
  auto client_with = [](std::vector<std::string> u) {
    return [u] {
      auto r = KubeletClient();
      r.usages = u;
      return r;
    };
  };
  auto serving_with = [](std::vector<std::string> u) {
    return [u] {
      auto r = Serving();
      r.usages = u;
      return r;
    };
  };
  RunTable(
      {
          {"server auth on a client CSR",
           client_with({"digital signature", "client auth", "server auth"}), Verdict::kDeny,
           reason::kUsagesNotAllowed},
          {"client auth on a serving CSR",
           serving_with({"digital signature", "server auth", "client auth"}), Verdict::kDeny,
           reason::kUsagesNotAllowed},
          {"serving CSR without server auth",
           serving_with({"digital signature", "key encipherment"}), Verdict::kDeny,
           reason::kUsagesNotAllowed},
          {"client CSR without digital signature", client_with({"client auth"}), Verdict::kDeny,
           reason::kUsagesNotAllowed},
          {"no usages", client_with({}), Verdict::kDeny, reason::kUsagesNotAllowed},
          {"cert sign", client_with({"digital signature", "client auth", "cert sign"}),
           Verdict::kDeny, reason::kUsagesNotAllowed},
      },
      Nodes());
}

TEST_CASE("default policy: who asks for a client certificate", "[csr][evaluate]") {
  RunTable(
      {
          {"CN not the requester",
           [] {
             auto r = KubeletClient("worker-1");
             r.username = "system:node:worker-2";
             return r;
           },
           Verdict::kDeny, reason::kRequesterNotSubject},
          {"node username without the group",
           [] {
             auto r = KubeletClient();
             r.groups = {"system:authenticated"};
             return r;
           },
           Verdict::kDeny, reason::kRequesterNotInNodesGroup},
          {"a non-node requester",
           [] {
             auto r = KubeletClient();
             r.username = "alice";
             r.groups = {"system:authenticated", "system:nodes"};
             return r;
           },
           Verdict::kDeny, reason::kRequesterNotBootstrapper},
          {"empty username",
           [] {
             auto r = KubeletClient();
             r.username.clear();
             return r;
           },
           Verdict::kDeny, reason::kRequesterUnknown},
          {"no groups",
           [] {
             auto r = KubeletClient();
             r.groups.clear();
             return r;
           },
           Verdict::kDeny, reason::kRequesterUnknown},
          {"bootstrap for an existing node",
           [] { return Bootstrap("worker-1"); }, Verdict::kDeny,
           reason::kBootstrapForExistingNode},
          {"SANs on a client CSR",
           [] {
             auto r = KubeletClient();
             r.csr->sans.dns = {"worker-1"};
             return r;
           },
           Verdict::kDeny, reason::kSANsOnClientCert},
          {"an IP SAN on a bootstrap CSR",
           [] {
             auto r = Bootstrap();
             r.csr->sans.ips = {Ip("10.0.0.99")};
             return r;
           },
           Verdict::kDeny, reason::kSANsOnClientCert},
      },
      Nodes());
}

TEST_CASE("default policy: serving requester and SANs", "[csr][evaluate]") {
  auto sans = [](std::vector<std::string> dns, std::vector<const char*> ips) {
    return [dns, ips] {
      auto r = Serving();
      r.csr->sans.dns = dns;
      r.csr->sans.ips.clear();
      for (auto* ip : ips) r.csr->sans.ips.push_back(Ip(ip));
      return r;
    };
  };
  RunTable(
      {
          {"another node's IP", sans({"worker-1"}, {"10.0.0.12"}), Verdict::kDeny,
           reason::kSANNotNodeAddress},
          {"a foreign DNS name", sans({"kubernetes.default.svc"}, {}), Verdict::kDeny,
           reason::kSANNotNodeAddress},
          {"the prefix trick", sans({"worker-1.evil.example"}, {}), Verdict::kDeny,
           reason::kSANNotNodeAddress},
          {"a wildcard", sans({"*.internal.example"}, {}), Verdict::kDeny,
           reason::kSANInvalidDNSName},
          {"no SANs", sans({}, {}), Verdict::kDeny, reason::kNoSANs},
          {"email SAN",
           [] {
             auto r = Serving();
             r.csr->sans.emails = {"root@worker-1"};
             return r;
           },
           Verdict::kDeny, reason::kSANTypeNotAllowed},
          {"URI SAN",
           [] {
             auto r = Serving();
             r.csr->sans.uris = {"spiffe://cluster/ns/kube-system/sa/x"};
             return r;
           },
           Verdict::kDeny, reason::kSANTypeNotAllowed},
          {"loopback even though the node lists it",
           [] {
             auto r = Serving();
             r.csr->sans.ips = {Ip("127.0.0.1")};
             return r;
           },
           Verdict::kDeny, reason::kSANAddressNotRoutable},
          {"::1", sans({}, {"::1"}), Verdict::kDeny, reason::kSANAddressNotRoutable},
          {"unspecified", sans({}, {"0.0.0.0"}), Verdict::kDeny, reason::kSANAddressNotRoutable},
          {"link-local", sans({}, {"169.254.169.254"}), Verdict::kDeny,
           reason::kSANAddressNotRoutable},
          {"IPv6 link-local", sans({}, {"fe80::1"}), Verdict::kDeny,
           reason::kSANAddressNotRoutable},
          {"multicast", sans({}, {"224.0.0.1"}), Verdict::kDeny, reason::kSANAddressNotRoutable},
          {"a serving CSR from a non-node",
           [] {
             auto r = Serving();
             r.username = "system:bootstrap:abcdef";
             r.groups = {"system:bootstrappers"};
             return r;
           },
           Verdict::kDeny, reason::kRequesterNotNode},
          {"a serving CSR for another node",
           [] {
             auto r = Serving("worker-1");
             r.username = "system:node:worker-2";
             return r;
           },
           Verdict::kDeny, reason::kRequesterNotSubject},
          {"serving without the nodes group",
           [] {
             auto r = Serving();
             r.groups = {"system:authenticated"};
             return r;
           },
           Verdict::kDeny, reason::kRequesterNotInNodesGroup},
          {"serving for a node that does not exist", [] { return Serving("worker-7"); },
           Verdict::kDeny, reason::kNodeNotFound},
      },
      [] {
        auto nodes = Nodes();
        nodes["worker-1"].addresses.push_back({"InternalIP", "127.0.0.1"});
        return nodes;
      }());
}

TEST_CASE("a refusal lists every rule broken, not just the first", "[csr][evaluate]") {
  auto r = Serving();
  r.usages = {"digital signature", "server auth", "client auth"};
  r.csr->key = {x509::KeyAlgorithm::kRsa, 1024, ""};
  r.csr->sans.ips = {Ip("10.0.0.12")};
  r.csr->sans.emails = {"a@b"};
  r.expiration_seconds = 315360000;
  auto d = Evaluate(r, Nodes(), {}, kNow);
  INFO(Describe(d));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(d.policy == "default");
  for (auto* code : {reason::kUsagesNotAllowed, reason::kKeyTooWeak, reason::kSANNotNodeAddress,
                     reason::kSANTypeNotAllowed, reason::kExpirationTooLong}) {
    CHECK(HasCode(d, code));
  }
  // The message names the address and the node, for a person.
  bool found = false;
  for (const auto& reason : d.reasons) {
    if (reason.message == "IP 10.0.0.12 is not an address of node worker-1") found = true;
  }
  CHECK(found);
}

TEST_CASE("policies: combination and applicability", "[csr][evaluate]") {
  auto deny_gpu = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"gpu"},
      "spec":{"nodeNamePattern":"gpu-[0-9]+"}})");
  auto ignore_all = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"humans"},
      "spec":{"onRefusal":"Ignore"}})");
  auto client_only = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"client"},
      "spec":{"signerNames":["kubernetes.io/kube-apiserver-client-kubelet"]}})");
  auto labelled = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"zone-a"},
      "spec":{"nodeSelector":{"matchLabels":{"zone":"a"}}}})");

  SECTION("a policy whose pattern does not match leaves the CSR alone") {
    auto d = Evaluate(KubeletClient("worker-1"), Nodes(), {deny_gpu}, kNow);
    CHECK(d.verdict == Verdict::kIgnore);
    CHECK(d.policy.empty());
    CHECK(HasCode(d, reason::kNoApplicablePolicy));
    CHECK(HasCode(d, reason::kNodeNameNotMatched));
  }
  SECTION("the default policy does not apply once a policy exists") {
    auto d = Evaluate(Serving(), Nodes(), {deny_gpu}, kNow);
    CHECK(d.verdict == Verdict::kIgnore);
  }
  SECTION("a matching pattern applies, anchored") {
    auto nodes = Nodes();
    nodes["gpu-1"] = Node("gpu-1");
    CHECK(Evaluate(KubeletClient("gpu-1"), nodes, {deny_gpu}, kNow).verdict == Verdict::kApprove);
    auto prefix = KubeletClient("gpu-1x");
    CHECK(Evaluate(prefix, nodes, {deny_gpu}, kNow).verdict == Verdict::kIgnore);
    auto bad = KubeletClient("gpu-1");
    bad.usages.push_back("server auth");
    auto d = Evaluate(bad, nodes, {deny_gpu}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.policy == "gpu");
  }
  SECTION("onRefusal Ignore leaves a refused CSR for a person") {
    auto bad = KubeletClient();
    bad.username = "alice";
    auto d = Evaluate(bad, Nodes(), {ignore_all}, kNow);
    CHECK(d.verdict == Verdict::kIgnore);
    CHECK(d.policy == "humans");
    CHECK(HasCode(d, reason::kRequesterNotBootstrapper));
  }
  SECTION("Deny wins over Ignore when nothing approves") {
    auto bad = KubeletClient();
    bad.username = "alice";
    auto d = Evaluate(bad, Nodes(), {ignore_all, client_only}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.policy == "client");
  }
  SECTION("any applicable approval wins") {
    auto narrow = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"a-narrow"},
        "spec":{"allowedIPRanges":["192.168.0.0/16"]}})");
    auto d = Evaluate(Serving(), Nodes(), {narrow, ignore_all}, kNow);
    CHECK(d.verdict == Verdict::kApprove);
    CHECK(d.policy == "humans");
    d = Evaluate(Serving(), Nodes(), {narrow}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kSANNotAllowedRange));
  }
  SECTION("signer not listed") {
    auto d = Evaluate(Serving(), Nodes(), {client_only}, kNow);
    CHECK(d.verdict == Verdict::kIgnore);
    CHECK(HasCode(d, reason::kSignerNotInPolicy));
  }
  SECTION("node selector: applies only to matching Nodes, and to bootstrap requests") {
    auto nodes = Nodes();
    CHECK(Evaluate(Serving(), nodes, {labelled}, kNow).verdict == Verdict::kIgnore);
    CHECK(HasCode(Evaluate(Serving(), nodes, {labelled}, kNow), reason::kNodeSelectorNotMatched));
    nodes["worker-1"].labels["zone"] = "a";
    CHECK(Evaluate(Serving(), nodes, {labelled}, kNow).verdict == Verdict::kApprove);
    CHECK(Evaluate(Bootstrap("worker-9"), nodes, {labelled}, kNow).verdict == Verdict::kApprove);
  }
  SECTION("an invalid policy applies to nothing and says why") {
    auto broken = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"broken"},
        "spec":{"nodeNamePattern":"(unclosed"}})");
    REQUIRE_FALSE(broken.valid());
    auto d = Evaluate(KubeletClient(), Nodes(), {broken}, kNow);
    CHECK(d.verdict == Verdict::kIgnore);
    CHECK(HasCode(d, reason::kPolicyInvalid));
    // It never widens: with a valid policy beside it, only the valid one decides.
    auto bad = KubeletClient();
    bad.csr->signature_valid = false;
    d = Evaluate(bad, Nodes(), {broken, client_only}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.policy == "client");
  }
  SECTION("dry run is reported with the decision") {
    auto dry = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"dry"},
        "spec":{"dryRun":true}})");
    auto d = Evaluate(KubeletClient(), Nodes(), {dry}, kNow);
    CHECK(d.verdict == Verdict::kApprove);
    CHECK(d.dry_run);
    CHECK_FALSE(Evaluate(KubeletClient(), Nodes(), {}, kNow).dry_run);
  }
  SECTION("a non-kubelet signer is ignored whatever the policies") {
    auto r = KubeletClient();
    r.signer_name = "example.com/custom";
    CHECK(Evaluate(r, Nodes(), {client_only, ignore_all}, kNow).verdict == Verdict::kIgnore);
  }
}

TEST_CASE("policies narrow SANs by range and pattern", "[csr][evaluate]") {
  auto p = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"narrow"},
      "spec":{"allowedIPRanges":["10.0.0.0/24","fd00::/64"],
              "allowedDNSPatterns":["worker-[0-9]+", "[a-z0-9-]+\\.internal\\.example"]}})");
  CHECK(Evaluate(Serving(), Nodes(), {p}, kNow).verdict == Verdict::kApprove);
  auto r = Serving();
  r.csr->sans.ips = {Ip("203.0.113.11")};  // a node address, outside the ranges
  auto d = Evaluate(r, Nodes(), {p}, kNow);
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(HasCode(d, reason::kSANNotAllowedRange));
  CHECK_FALSE(HasCode(d, reason::kSANNotNodeAddress));
  r = Serving();
  auto nodes = Nodes();
  nodes["worker-1"].addresses.push_back({"ExternalDNS", "worker-1.public.example"});
  r.csr->sans.dns = {"worker-1.public.example"};
  d = Evaluate(r, nodes, {p}, kNow);
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(HasCode(d, reason::kSANNotAllowedPattern));
  // An empty list allows no SAN of that type.
  auto no_ips = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"no-ips"},
      "spec":{"allowedIPRanges":[]}})");
  CHECK(Evaluate(Serving(), Nodes(), {no_ips}, kNow).verdict == Verdict::kDeny);
}

TEST_CASE("requireNodeAddressMatch false keeps only the ranges and patterns", "[csr][evaluate]") {
  auto p = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"lagging"},
      "spec":{"requireNodeAddressMatch":false,"allowedIPRanges":["10.0.0.0/16"],
              "allowedDNSPatterns":["worker-[0-9]+(\\.internal\\.example)?"]}})");
  REQUIRE(p.valid());
  auto r = Serving();
  r.csr->sans.ips = {Ip("10.0.5.5")};  // not yet on the Node
  r.csr->sans.dns = {"worker-1"};
  CHECK(Evaluate(r, Nodes(), {p}, kNow).verdict == Verdict::kApprove);
  r.csr->sans.ips = {Ip("10.1.0.1")};
  CHECK(Evaluate(r, Nodes(), {p}, kNow).verdict == Verdict::kDeny);
  // Still: loopback refused, identity rules kept, the Node must exist.
  r.csr->sans.ips = {Ip("127.0.0.1")};
  CHECK(HasCode(Evaluate(r, Nodes(), {p}, kNow), reason::kSANAddressNotRoutable));
  CHECK(HasCode(Evaluate(Serving("worker-7"), Nodes(), {p}, kNow), reason::kNodeNotFound));
  auto other = Serving();
  other.username = "system:node:worker-2";
  CHECK(Evaluate(other, Nodes(), {p}, kNow).verdict == Verdict::kDeny);
}

TEST_CASE("policies relax expiration and bootstrap, never identity", "[csr][evaluate]") {
  auto long_lived = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"long"},
      "spec":{"maxExpirationSeconds":63072000}})");
  auto r = KubeletClient();
  r.expiration_seconds = 63072000;
  CHECK(Evaluate(r, Nodes(), {long_lived}, kNow).verdict == Verdict::kApprove);
  CHECK(Evaluate(r, Nodes(), {}, kNow).verdict == Verdict::kDeny);

  auto short_lived = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"short"},
      "spec":{"maxExpirationSeconds":86400}})");
  r.expiration_seconds = 86401;
  CHECK(HasCode(Evaluate(r, Nodes(), {short_lived}, kNow), reason::kExpirationTooLong));

  auto no_bootstrap = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"nb"},
      "spec":{"bootstrap":{"allow":false}}})");
  auto d = Evaluate(Bootstrap(), Nodes(), {no_bootstrap}, kNow);
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(HasCode(d, reason::kBootstrapNotAllowed));
  CHECK(Evaluate(KubeletClient(), Nodes(), {no_bootstrap}, kNow).verdict == Verdict::kApprove);

  auto okd = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"okd"},
      "spec":{"bootstrap":{"groups":[],"usernames":
        ["system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"]}}})");
  auto sa = Bootstrap();
  sa.username = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper";
  sa.groups = {"system:serviceaccounts", "system:authenticated"};
  CHECK(Evaluate(sa, Nodes(), {okd}, kNow).verdict == Verdict::kApprove);
  CHECK(Evaluate(sa, Nodes(), {}, kNow).verdict == Verdict::kDeny);
  CHECK(HasCode(Evaluate(Bootstrap(), Nodes(), {okd}, kNow), reason::kRequesterNotBootstrapper));

  // A bootstrap group cannot be widened to every node or user.
  auto wide = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"wide"},
      "spec":{"bootstrap":{"groups":["system:authenticated"]}}})");
  CHECK_FALSE(wide.valid());
}

TEST_CASE("re-bootstrap of a Node NotReady long enough (existingNodes WhenNotReady)",
          "[csr][evaluate]") {
  auto p = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"restore"},
      "spec":{"bootstrap":{"existingNodes":"WhenNotReady","notReadyForSeconds":600}}})");
  auto nodes = Nodes();
  auto& n = nodes["worker-1"];
  SECTION("Ready node: refused") {
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {p}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kBootstrapForExistingNode));
  }
  SECTION("NotReady for 10 minutes, its client certificate expired: allowed") {
    n.ready_status = "Unknown";
    n.ready_since = kNow - 600s;
    n.last_client_cert = CertValidity{kNow - 48h, kNow - 1h, "csr-old"};
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {p}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kApprove);
    CHECK(HasCode(d, reason::kApprovedBootstrap));
  }
  SECTION("NotReady for 9 minutes: refused") {
    n.ready_status = "False";
    n.ready_since = kNow - 540s;
    CHECK(Evaluate(Bootstrap("worker-1"), nodes, {p}, kNow).verdict == Verdict::kDeny);
  }
  SECTION("no Ready condition: refused, the time is unknown") {
    n.ready_status.clear();
    n.ready_since.reset();
    CHECK(Evaluate(Bootstrap("worker-1"), nodes, {p}, kNow).verdict == Verdict::kDeny);
  }
  SECTION("the default refuses even a long-NotReady node") {
    n.ready_status = "False";
    n.ready_since = kNow - 24h;
    CHECK(Evaluate(Bootstrap("worker-1"), nodes, {}, kNow).verdict == Verdict::kDeny);
  }
}

TEST_CASE("a re-bootstrap needs the node's credentials dead or a recovery window open",
          "[csr][evaluate][rebootstrap]") {
  auto policy = [](const std::string& window) {
    std::string bootstrap = R"("existingNodes":"WhenNotReady","notReadyForSeconds":600)";
    if (!window.empty()) bootstrap += R"(,"recoveryWindowUntil":")" + window + "\"";
    return PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"restore"},
        "spec":{"bootstrap":{)" +
                    bootstrap + "}}}");
  };
  auto nodes = Nodes();
  auto& n = nodes["worker-1"];
  n.ready_status = "False";
  n.ready_since = kNow - 1h;
  // kNow is 2026-11-24T06:00:00Z.
  const Policy no_window = policy("");
  const Policy open = policy("2026-11-24T06:30:00Z");
  const Policy closed = policy("2026-11-24T05:59:59Z");
  REQUIRE(open.bootstrap.recovery_window_until == kNow + 30min);

  SECTION("expired certificate, no window: approved") {
    n.last_client_cert = CertValidity{kNow - 720h, kNow - 1s, "csr-a"};
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {no_window}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kApprove);
    CHECK(d.reasons.at(0).message.find("expired at 2026-11-24T05:59:59Z") != std::string::npos);
  }
  SECTION("a certificate expiring at this very second is dead") {
    n.last_client_cert = CertValidity{kNow - 720h, kNow, "csr-a"};
    CHECK(Evaluate(Bootstrap("worker-1"), nodes, {no_window}, kNow).verdict == Verdict::kApprove);
  }
  SECTION("not yet valid (a restore or a skewed clock), no window: approved") {
    n.last_client_cert = CertValidity{kNow + 1s, kNow + 720h, "csr-a"};
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {no_window}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kApprove);
    CHECK(d.reasons.at(0).message.find("not valid before") != std::string::npos);
  }
  SECTION("valid certificate, no window: refused, both conditions named") {
    n.last_client_cert = CertValidity{kNow - 1h, kNow + 1s, "csr-a"};
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {no_window}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kBootstrapNodeCertValid));
    CHECK(HasCode(d, reason::kRecoveryWindowNotOpen));
    CHECK_FALSE(HasCode(d, reason::kBootstrapForExistingNode));
    CHECK(d.reasons.size() == 2);
  }
  SECTION("valid certificate, window open: approved, the window named") {
    n.last_client_cert = CertValidity{kNow - 1h, kNow + 720h, "csr-a"};
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {open}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kApprove);
    CHECK(d.reasons.at(0).message.find("recovery window is open until 2026-11-24T06:30:00Z") !=
          std::string::npos);
  }
  SECTION("valid certificate, window closed: refused as RecoveryWindowClosed") {
    n.last_client_cert = CertValidity{kNow - 1h, kNow + 720h, "csr-a"};
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {closed}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kBootstrapNodeCertValid));
    CHECK(HasCode(d, reason::kRecoveryWindowClosed));
    CHECK_FALSE(HasCode(d, reason::kRecoveryWindowNotOpen));
  }
  SECTION("the window's end is exclusive") {
    n.last_client_cert = CertValidity{kNow - 1h, kNow + 720h, "csr-a"};
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {policy("2026-11-24T06:00:00Z")}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kRecoveryWindowClosed));
  }
  SECTION("no known certificate, no window: refused, it cannot be shown dead") {
    n.last_client_cert.reset();
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {no_window}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kBootstrapNodeCertUnknown));
    CHECK(HasCode(d, reason::kRecoveryWindowNotOpen));
  }
  SECTION("no known certificate, window open: approved") {
    n.last_client_cert.reset();
    CHECK(Evaluate(Bootstrap("worker-1"), nodes, {open}, kNow).verdict == Verdict::kApprove);
  }
  SECTION("a window does not waive the NotReady wait") {
    n.ready_since = kNow - 60s;
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {open}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kBootstrapForExistingNode));
  }
  SECTION("a window does not open existingNodes Refuse") {
    auto refuse = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"strict"},
        "spec":{"bootstrap":{"recoveryWindowUntil":"2026-11-24T06:30:00Z"}}})");
    auto d = Evaluate(Bootstrap("worker-1"), nodes, {refuse}, kNow);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d, reason::kBootstrapForExistingNode));
  }
  SECTION("a node that does not exist yet needs neither") {
    CHECK(Evaluate(Bootstrap("worker-7"), nodes, {no_window}, kNow).verdict == Verdict::kApprove);
  }
  SECTION("a renewal by the node itself needs neither") {
    n.last_client_cert = CertValidity{kNow - 1h, kNow + 720h, "csr-a"};
    CHECK(Evaluate(KubeletClient("worker-1"), nodes, {no_window}, kNow).verdict ==
          Verdict::kApprove);
  }
}

TEST_CASE("CheckRebootstrap: one reason per failed condition", "[csr][evaluate][rebootstrap]") {
  const CertValidity valid{kNow - 1h, kNow + 1h, "csr-a"};
  auto codes = [](const RebootstrapCheck& c) {
    std::vector<std::string> out;
    for (const auto& r : c.refusals) out.push_back(r.code);
    return out;
  };
  auto c = CheckRebootstrap("w", valid, std::nullopt, "p", kNow);
  CHECK_FALSE(c.allowed);
  CHECK(codes(c) ==
        std::vector<std::string>{reason::kBootstrapNodeCertValid, reason::kRecoveryWindowNotOpen});
  CHECK(c.refusals[0].message.find("csr-a") != std::string::npos);
  c = CheckRebootstrap("w", std::nullopt, kNow - 1s, "p", kNow);
  CHECK(codes(c) ==
        std::vector<std::string>{reason::kBootstrapNodeCertUnknown, reason::kRecoveryWindowClosed});
  c = CheckRebootstrap("w", valid, kNow + 1s, "p", kNow);
  CHECK(c.allowed);
  CHECK(c.refusals.empty());
  CHECK_FALSE(c.because.empty());
}

TEST_CASE("recoveryWindowUntil must be an RFC 3339 time", "[csr][policy][rebootstrap]") {
  for (const char* bad : {R"("tomorrow")", R"("2026-11-24")", "1764000000", R"("")", "true"}) {
    INFO(bad);
    auto p = PolicyFromObject(
        nlohmann::json::parse(std::string(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},
            "spec":{"bootstrap":{"existingNodes":"WhenNotReady","recoveryWindowUntil":)") +
                              bad + "}}}"));
    REQUIRE(p.ok());
    CHECK_FALSE(p->valid());
    REQUIRE(p->errors.size() == 1);
    CHECK(p->errors[0].find("spec.bootstrap.recoveryWindowUntil") != std::string::npos);
  }
  auto offset = PolicyFromObject(nlohmann::json::parse(
      R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},
          "spec":{"bootstrap":{"recoveryWindowUntil":"2026-11-24T07:30:00+01:00"}}})"));
  REQUIRE(offset.ok());
  CHECK(offset->valid());
  CHECK(offset->bootstrap.recovery_window_until == kNow + 30min);
}

TEST_CASE("Check exposes one policy's refusals", "[csr][evaluate]") {
  NodeMap nodes = Nodes();
  NodeLookup lookup = [&](const std::string& name) -> const NodeFacts* {
    auto it = nodes.find(name);
    return it == nodes.end() ? nullptr : &it->second;
  };
  CHECK(Check(KubeletClient(), lookup, DefaultPolicy(), kNow).empty());
  auto bad = KubeletClient();
  bad.csr->signature_valid = false;
  auto reasons = Check(bad, lookup, DefaultPolicy(), kNow);
  REQUIRE(reasons.size() == 1);
  CHECK(reasons[0].code == reason::kSignatureInvalid);
}

TEST_CASE("DecisionToJson prints the documented shape", "[csr][evaluate]") {
  auto bad = Serving();
  bad.csr->sans.ips = {Ip("10.0.0.12")};
  auto j = nlohmann::json::parse(DecisionToJson(Evaluate(bad, Nodes(), {}, kNow)));
  CHECK(j["decision"] == "Deny");
  CHECK(j["policy"] == "default");
  REQUIRE(j["reasons"].size() == 1);
  CHECK(j["reasons"][0]["code"] == "SANNotNodeAddress");
  CHECK(j["reasons"][0]["message"] == "IP 10.0.0.12 is not an address of node worker-1");
  CHECK(j["dryRun"] == false);
}
