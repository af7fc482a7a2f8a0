// Hostile values the engine must refuse or survive: out-of-range integers,
// patterns built to backtrack, names and addresses of the control plane and of
// Services that a Node claims for itself, and Nodes with huge address lists.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "csr/evaluate.h"
#include "csr/request.h"
#include "support/csr_facts.h"

using namespace certguard;
using namespace certguard::csr;
using namespace std::chrono_literals;
using namespace certguard::testing;

namespace {

CsrRequest Bootstrap(const std::string& node) {
  CsrRequest r = KubeletClient(node);
  r.username = "system:bootstrap:abcdef";
  r.groups = {"system:bootstrappers", "system:authenticated"};
  return r;
}

CsrRequest Serving(const std::string& node = "worker-1") {
  CsrRequest r = KubeletServing(node);
  r.csr->sans.dns = {node};
  r.csr->sans.ips = {Ip("10.0.0.11")};
  return r;
}

NodeFacts Node(const std::string& name) {
  NodeFacts n;
  n.name = name;
  n.addresses = {{"InternalIP", "10.0.0.11"}, {"Hostname", name}};
  n.ready_status = "True";
  n.ready_since = kNow - 24h;
  return n;
}

nlohmann::json CsrObject() {
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", "x"}}},
          {"spec", {{"signerName", kClientSigner}, {"request", ""}}}};
}

}  // namespace

TEST_CASE("expirationSeconds outside the API server's range is refused, never wrapped",
          "[csr][hostile]") {
  struct Row {
    const char* json;
    bool valid;
    int64_t value;
  };
  for (const Row& row : std::vector<Row>{{"18446744073709551615", false, 0},
                                         {"9223372036854775808", false, 0},
                                         {"9223372036854775807", false, 0},
                                         {"2147483648", false, 0},
                                         {"-1", false, 0},
                                         {"0", false, 0},
                                         {"599", false, 0},
                                         {"600.5", false, 0},
                                         {"1000.0", false, 0},
                                         {"600", true, 600},
                                         {"2147483647", true, 2147483647}}) {
    INFO(row.json);
    auto obj = CsrObject();
    obj["spec"]["expirationSeconds"] = nlohmann::json::parse(row.json);
    auto r = RequestFromObject(obj);
    REQUIRE(r.ok());
    if (row.valid) {
      CHECK(r->expiration_seconds == row.value);
      CHECK(r->expiration_error.empty());
    } else {
      CHECK_FALSE(r->expiration_seconds.has_value());
      CHECK_THAT(r->expiration_error, Catch::Contains(row.json));
      // The decision: denied for it, whatever else the request is.
      CsrRequest req = KubeletClient();
      req.expiration_error = r->expiration_error;
      Decision d = Evaluate(req, NodeMap{{"worker-1", Node("worker-1")}}, {}, kNow);
      INFO(Describe(d));
      CHECK(d.verdict == Verdict::kDeny);
      CHECK(HasCode(d.reasons, reason::kExpirationInvalid));
    }
  }
}

TEST_CASE("policy integers are range-checked", "[csr][hostile]") {
  for (const char* bad : {"18446744073709551615", "9223372036854775808", "9223372036854775807",
                          "31536001", "-1"}) {
    INFO(bad);
    auto p = PolicyFromJson(std::string(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},
        "spec":{"bootstrap":{"existingNodes":"WhenNotReady","notReadyForSeconds":)") +
                            bad + "}}}");
    CHECK_FALSE(p.valid());
    REQUIRE(p.errors.size() == 1);
    CHECK_THAT(p.errors[0], Catch::Contains("notReadyForSeconds"));
  }
  for (const char* bad : {"18446744073709551615", "9223372036854775808", "2147483648", "599"}) {
    INFO(bad);
    auto p = PolicyFromJson(std::string(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},
        "spec":{"maxExpirationSeconds":)") +
                            bad + "}}");
    CHECK_FALSE(p.valid());
  }
  auto ok = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},
      "spec":{"maxExpirationSeconds":2147483647,"bootstrap":{"notReadyForSeconds":31536000}}})");
  CHECK(ok.valid());
  CHECK(ok.max_expiration_seconds == 2147483647);
  CHECK(ok.bootstrap.not_ready_for_seconds == 31536000);
}

TEST_CASE("a NotReady wait near INT64_MAX never overflows into an approval", "[csr][hostile]") {
  // Built by hand: the policy parser refuses these values, the engine must not rely on it.
  Policy p = DefaultPolicy();
  p.name = "restore";
  p.bootstrap.existing_nodes = ExistingNodes::kWhenNotReady;
  NodeMap nodes{{"worker-1", Node("worker-1")}};
  nodes["worker-1"].ready_status = "False";
  nodes["worker-1"].ready_since = kNow - 24h;
  nodes["worker-1"].last_client_cert = CertValidity{kNow - 48h, kNow - 1h, "csr-old"};
  for (int64_t wait : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max() - 1,
                       std::numeric_limits<int64_t>::max() / 2, int64_t{-1},
                       std::numeric_limits<int64_t>::min()}) {
    INFO(wait);
    p.bootstrap.not_ready_for_seconds = wait;
    Decision d = Evaluate(Bootstrap("worker-1"), nodes, {p}, kNow);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d.reasons, reason::kBootstrapForExistingNode));
  }
  SECTION("a Ready time far in the future is not a long NotReady") {
    nodes["worker-1"].ready_since = x509::Time{} + std::chrono::seconds(253402300799);  // 9999
    p.bootstrap.not_ready_for_seconds = 0;
    CHECK(Evaluate(Bootstrap("worker-1"), nodes, {p}, kNow).verdict == Verdict::kDeny);
  }
  SECTION("and a sane wait still works") {
    p.bootstrap.not_ready_for_seconds = 600;
    CHECK(Evaluate(Bootstrap("worker-1"), nodes, {p}, kNow).verdict == Verdict::kApprove);
  }
}

TEST_CASE("patterns are RE2: linear time, full match, unsupported syntax makes the policy invalid",
          "[csr][hostile]") {
  auto pat = CompilePattern("([a-z0-9]+-?)+");
  REQUIRE(pat.ok());
  // 40 characters ending in a character the pattern cannot match: catastrophic for a
  // backtracking engine (2^40 ways to split), one pass for RE2.
  const std::string hostile = std::string(39, 'a') + "!";
  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(pat->Matches(hostile));
  CHECK(pat->Matches(std::string(39, 'a') + "-b"));
  CHECK(std::chrono::steady_clock::now() - start < 1s);  // a hang guard, not a benchmark

  SECTION("full match of the whole pattern, alternatives included") {
    auto alt = CompilePattern("worker|edge-[0-9]+");
    REQUIRE(alt.ok());
    CHECK(alt->Matches("worker"));
    CHECK(alt->Matches("edge-12"));
    CHECK_FALSE(alt->Matches("worker-1"));
    CHECK_FALSE(alt->Matches("my-edge-12"));
    auto tricky = CompilePattern("a)|(b");
    CHECK_FALSE(tricky.ok());
  }
  SECTION("backreferences and lookaround are refused with RE2's reason") {
    for (const char* src : {R"((a)\1)", "(?=worker)worker-1", "(?!x)y", "(?<=a)b"}) {
      INFO(src);
      auto bad = CompilePattern(src);
      REQUIRE_FALSE(bad.ok());
      CHECK_THAT(bad.status().message(), Catch::Contains("does not compile"));
      auto p = PolicyFromJson(std::string(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},
          "spec":{"nodeNamePattern":)") +
                              nlohmann::json(src).dump() + R"(,"allowedDNSPatterns":[)" +
                              nlohmann::json(src).dump() + R"(],"deniedDNSPatterns":[)" +
                              nlohmann::json(src).dump() + "]}}");
      CHECK_FALSE(p.valid());
      CHECK(p.errors.size() == 3);
      // An invalid policy applies to nothing: never approves.
      Decision d = Evaluate(KubeletClient(), NodeMap{{"worker-1", Node("worker-1")}}, {p}, kNow);
      CHECK(d.verdict == Verdict::kIgnore);
      CHECK(HasCode(d.reasons, reason::kPolicyInvalid));
    }
  }
  SECTION("a hostile node name against nodeNamePattern decides at once") {
    auto p = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},
        "spec":{"nodeNamePattern":"([a-z0-9]+-?)+x"}})");
    REQUIRE(p.valid());
    const std::string name(60, 'a');
    auto t0 = std::chrono::steady_clock::now();
    Decision d = Evaluate(KubeletClient(name), NodeMap{}, {p}, kNow);
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
    CHECK(d.verdict == Verdict::kIgnore);
    CHECK(HasCode(d.reasons, reason::kNodeNameNotMatched));
  }
}

TEST_CASE("control-plane names and service addresses are never approved, whatever the Node claims",
          "[csr][hostile]") {
  NodeMap nodes{{"worker-1", Node("worker-1")}};
  auto& n = nodes["worker-1"];
  for (const char* claimed : {"kubernetes", "kubernetes.default", "kubernetes.default.svc",
                              "kubernetes.default.svc.cluster.local", "my-svc.my-ns.svc",
                              "api.openshift-apiserver.svc", "cluster.local",
                              "10-0-0-5.default.pod.cluster.local"}) {
    n.addresses.push_back({"Hostname", claimed});
  }
  n.addresses.push_back({"InternalIP", "10.96.0.1"});
  n.addresses.push_back({"InternalIP", "172.30.0.1"});
  n.addresses.push_back({"InternalIP", "127.0.0.1"});
  n.addresses.push_back({"InternalIP", "169.254.169.254"});
  ClusterNetwork network;
  network.service_cidrs = {x509::IpRange::Parse("10.96.0.0/12").value(),
                           x509::IpRange::Parse("fd00:10:96::/108").value()};

  struct Row {
    std::string san;
    bool ip;
    const char* code;
  };
  for (const Row& row : std::vector<Row>{
           {"kubernetes", false, reason::kSANControlPlaneName},
           {"kubernetes.default", false, reason::kSANControlPlaneName},
           {"kubernetes.default.svc", false, reason::kSANControlPlaneName},
           {"KUBERNETES.default.svc.Cluster.Local", false, reason::kSANControlPlaneName},
           {"my-svc.my-ns.svc", false, reason::kSANControlPlaneName},
           {"cluster.local", false, reason::kSANControlPlaneName},
           {"10-0-0-5.default.pod.cluster.local", false, reason::kSANControlPlaneName},
           {"10.96.0.1", true, reason::kSANServiceAddress},
           {"::ffff:10.96.0.1", true, reason::kSANServiceAddress},
           {"127.0.0.1", true, reason::kSANAddressNotRoutable},
           {"169.254.169.254", true, reason::kSANAddressNotRoutable}}) {
    INFO(row.san);
    auto r = Serving();
    if (row.ip) {
      r.csr->sans.ips.push_back(Ip(row.san.c_str()));
    } else {
      r.csr->sans.dns.push_back(row.san);
    }
    Decision d = Evaluate(r, nodes, {}, kNow, network);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d.reasons, row.code));
    // A policy that drops the address match and allows everything cannot approve it either.
    auto wide = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"wide"},
        "spec":{"requireNodeAddressMatch":false,"allowedIPRanges":["0.0.0.0/0","::/0"],
                "allowedDNSPatterns":[".*"]}})");
    REQUIRE(wide.valid());
    Decision w = Evaluate(r, nodes, {wide}, kNow, network);
    CHECK(w.verdict == Verdict::kDeny);
    CHECK(HasCode(w.reasons, row.code));
  }
  SECTION("172.30.0.1 is refused once OKD's range is given, not before") {
    auto r = Serving();
    r.csr->sans.ips.push_back(Ip("172.30.0.1"));
    CHECK(Evaluate(r, nodes, {}, kNow, network).verdict == Verdict::kApprove);
    network.service_cidrs.push_back(x509::IpRange::Parse("172.30.0.0/16").value());
    Decision d = Evaluate(r, nodes, {}, kNow, network);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(HasCode(d.reasons, reason::kSANServiceAddress));
  }
  SECTION("another cluster domain") {
    auto r = Serving();
    r.csr->sans.dns.push_back("worker-1.corp.example");
    n.addresses.push_back({"InternalDNS", "worker-1.corp.example"});
    CHECK(Evaluate(r, nodes, {}, kNow, network).verdict == Verdict::kApprove);
    network.cluster_domain = "corp.example";
    CHECK(HasCode(Evaluate(r, nodes, {}, kNow, network).reasons, reason::kSANControlPlaneName));
  }
  SECTION("the node's own names and addresses still pass") {
    Decision d = Evaluate(Serving(), nodes, {}, kNow, network);
    INFO(Describe(d));
    CHECK(d.verdict == Verdict::kApprove);
  }
}

TEST_CASE("deniedIPRanges and deniedDNSPatterns refuse on top of everything else",
          "[csr][hostile]") {
  NodeMap nodes{{"worker-1", Node("worker-1")}};
  nodes["worker-1"].addresses.push_back({"InternalIP", "10.0.5.1"});
  nodes["worker-1"].addresses.push_back({"InternalDNS", "metadata.internal"});
  auto p = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"deny"},
      "spec":{"deniedIPRanges":["10.0.5.0/24","fd00:dead::/32"],
              "deniedDNSPatterns":["metadata\\..*","(.*\\.)?vault"]}})");
  REQUIRE(p.valid());
  REQUIRE(p.denied_ip_ranges.size() == 2);
  REQUIRE(p.denied_dns_patterns.size() == 2);
  auto ip = Serving();
  ip.csr->sans.ips.push_back(Ip("10.0.5.1"));
  Decision d = Evaluate(ip, nodes, {p}, kNow);
  INFO(Describe(d));
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(HasCode(d.reasons, reason::kSANDeniedRange));
  auto dns = Serving();
  dns.csr->sans.dns.push_back("Metadata.Internal");
  d = Evaluate(dns, nodes, {p}, kNow);
  CHECK(d.verdict == Verdict::kDeny);
  CHECK(HasCode(d.reasons, reason::kSANDeniedPattern));
  // Without those SANs the same policy approves.
  CHECK(Evaluate(Serving(), nodes, {p}, kNow).verdict == Verdict::kApprove);

  SECTION("bad entries make the policy invalid") {
    auto bad = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"bad"},
        "spec":{"deniedIPRanges":["10.0.5.1/24","banana"],"deniedDNSPatterns":["(unclosed"]}})");
    CHECK_FALSE(bad.valid());
    CHECK(bad.errors.size() == 3);
    auto typed = PolicyFromJson(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"typed"},
        "spec":{"deniedIPRanges":"10.0.0.0/8"}})");
    CHECK_FALSE(typed.valid());
  }
}

TEST_CASE("cluster network flags are validated", "[csr][hostile]") {
  auto n = MakeClusterNetwork("Cluster.Local.", {"10.96.0.0/12", "fd00::/108"});
  REQUIRE(n.ok());
  CHECK(n->cluster_domain == "cluster.local");
  CHECK(n->service_cidrs.size() == 2);
  CHECK_FALSE(MakeClusterNetwork("", {}).ok());
  CHECK_FALSE(MakeClusterNetwork("*.local", {}).ok());
  CHECK_FALSE(MakeClusterNetwork("cluster.local", {"10.96.0.1/12"}).ok());
  CHECK_FALSE(MakeClusterNetwork("cluster.local", {"10.96.0.0"}).ok());
}

TEST_CASE("Node addresses are looked up, not rescanned: many addresses, many SANs",
          "[csr][hostile]") {
  NodeMap nodes{{"worker-1", Node("worker-1")}};
  auto& n = nodes["worker-1"];
  auto r = Serving();
  for (int i = 0; i < 20000; ++i) {
    std::string a = "10." + std::to_string(1 + i / 65536) + "." + std::to_string((i / 256) % 256) +
                    "." + std::to_string(i % 256);
    n.addresses.push_back({i % 2 ? "ExternalIP" : "InternalIP", a});
    n.addresses.push_back({"InternalDNS", "n" + std::to_string(i) + ".Example"});
    r.csr->sans.ips.push_back(Ip(a.c_str()));
    r.csr->sans.dns.push_back("N" + std::to_string(i) + ".example");
  }
  Decision d = Evaluate(r, nodes, {}, kNow);
  INFO(d.reasons.size());
  CHECK(d.verdict == Verdict::kApprove);
  // One SAN not among them is still found among 40,000.
  r.csr->sans.ips.push_back(Ip("10.200.0.1"));
  r.csr->sans.dns.push_back("n20000.example");
  d = Evaluate(r, nodes, {}, kNow);
  CHECK(d.verdict == Verdict::kDeny);
  int not_node = 0;
  for (const auto& reason : d.reasons) not_node += reason.code == reason::kSANNotNodeAddress;
  CHECK(not_node == 2);
  // Addresses of the wrong type never count: an InternalDNS that is an IP, a Hostname as IP.
  NodeMap typed{{"worker-1", Node("worker-1")}};
  typed["worker-1"].addresses = {{"Hostname", "10.0.0.11"}, {"InternalIP", "worker-1"}};
  CHECK(HasCode(Evaluate(Serving(), typed, {}, kNow).reasons, reason::kSANNotNodeAddress));
}
