// `certguard csr evaluate` on hostile input: every class is refused with a reason
// (exit 0, Deny) or, when an input cannot be read safely, exit 2 with a message.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/cli_support.h"
#include "support/temp_dir.h"
#include "csr/corpus/corpus.h"

namespace fs = std::filesystem;
using namespace certguard::testing::corpus;
using namespace std::chrono_literals;

using certguard::testing::TempDir;

namespace {

certguard::testing::CliRun Cli(std::vector<std::string> args) {
  args.insert(args.begin(), {"csr", "evaluate"});
  return certguard::testing::RunCli({}, args);
}

std::vector<std::string> Codes(const std::string& out) {
  std::vector<std::string> codes;
  auto j = nlohmann::json::parse(out);
  for (const auto& r : j["reasons"]) codes.push_back(r["code"]);
  return codes;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A serving CSR of worker-4, whose Node (CorpusNodes) claims the API server's names and 10.96.0.1.
Case Worker4(std::function<std::string()> pem) {
  return Serving("w4", std::move(pem), certguard::csr::Verdict::kDeny, "", "worker-4");
}

}  // namespace

TEST_CASE("csr evaluate: --service-cidr refuses a service address the Node claims",
          "[cli][csr][hostile]") {
  TempDir dir;
  const std::string nodes = dir.Write("nodes.json", CorpusNodes().dump());
  const std::string csr = dir.Write(
      "csr.json",
      CsrObject(Worker4([] { return NodeCsr("worker-4").Dns("worker-4").Ip("10.96.0.1").Pem(); }))
          .dump());
  // Without the range the node's claim is all there is: approved. With it: refused.
  auto r = Cli({"--csr", csr, "--nodes", nodes, "-o", "json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["decision"] == "Approve");
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{"--service-cidr", "10.96.0.0/12"},
        std::vector<std::string>{"--service-cidr", "172.30.0.0/16,10.96.0.0/12"},
        std::vector<std::string>{"--service-cidr", "172.30.0.0/16", "--service-cidr",
                                 "10.96.0.0/12"}}) {
    std::vector<std::string> args{"--csr", csr, "--nodes", nodes, "-o", "json"};
    args.insert(args.end(), flags.begin(), flags.end());
    r = Cli(args);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(nlohmann::json::parse(r.out)["decision"] == "Deny");
    CHECK(Has(Codes(r.out), "SANServiceAddress"));
  }
  SECTION("bad network flags exit 2") {
    for (const std::vector<std::string>& flags :
         {std::vector<std::string>{"--service-cidr", "10.96.0.1/12"},
          std::vector<std::string>{"--service-cidr", "banana"},
          std::vector<std::string>{"--cluster-domain", "*.local"}}) {
      std::vector<std::string> args{"--csr", csr, "--nodes", nodes};
      args.insert(args.end(), flags.begin(), flags.end());
      r = Cli(args);
      CHECK(r.code == 2);
      CHECK(r.out.empty());
      CHECK_FALSE(r.err.empty());
    }
  }
}

TEST_CASE("csr evaluate: control-plane names, out-of-range lifetimes and denied entries",
          "[cli][csr][hostile]") {
  TempDir dir;
  const std::string nodes = dir.Write("nodes.json", CorpusNodes().dump());
  SECTION("kubernetes.default.svc claimed by the Node: denied by default") {
    auto c = Worker4([] {
      return NodeCsr("worker-4").Dns("worker-4").Dns("kubernetes.default.svc").Ip("10.0.0.14")
          .Pem();
    });
    auto r = Cli({"--csr", dir.Write("c.json", CsrObject(c).dump()), "--nodes", nodes, "-o",
                  "json"});
    REQUIRE(r.code == 0);
    CHECK(nlohmann::json::parse(r.out)["decision"] == "Deny");
    CHECK(Has(Codes(r.out), "SANControlPlaneName"));
  }
  SECTION("expirationSeconds that would wrap") {
    for (const char* value : {"18446744073709551615", "9223372036854775808", "-1", "0", "599"}) {
      INFO(value);
      auto obj = CsrObject(Client("c", [] { return NodeCsr("worker-1").Pem(); },
                                  certguard::csr::Verdict::kDeny, ""));
      std::string text = obj.dump();
      // Spliced as text: nlohmann would write -1 for a uint64 the same way, but keep it literal.
      const std::string spec = "\"spec\":{";
      text.replace(text.find(spec), spec.size(), spec + "\"expirationSeconds\":" + value + ",");
      auto r = Cli({"--csr", dir.Write("e.json", text), "--nodes", nodes, "-o", "json"});
      INFO(r.out << r.err);
      REQUIRE(r.code == 0);
      CHECK(nlohmann::json::parse(r.out)["decision"] == "Deny");
      CHECK(Has(Codes(r.out), "ExpirationInvalid"));
    }
  }
  SECTION("deniedIPRanges and deniedDNSPatterns of a policy file") {
    const std::string policy = dir.Write("p.yaml", R"(apiVersion: certguard.io/v1alpha1
kind: CSRApprovalPolicy
metadata: {name: deny-some}
spec:
  deniedIPRanges: ["fd00::14/128"]
  deniedDNSPatterns: ["worker-[0-9]+"]
)");
    auto c = Worker4([] { return NodeCsr("worker-4").Dns("worker-4").Ip("fd00::14").Pem(); });
    auto r = Cli({"--csr", dir.Write("c.json", CsrObject(c).dump()), "--nodes", nodes, "--policy",
                  policy, "-o", "json"});
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    CHECK(Has(Codes(r.out), "SANDeniedRange"));
    CHECK(Has(Codes(r.out), "SANDeniedPattern"));
  }
  SECTION("a pattern RE2 refuses makes the policy invalid, reported on stderr") {
    const std::string policy = dir.Write("p.yaml", R"(apiVersion: certguard.io/v1alpha1
kind: CSRApprovalPolicy
metadata: {name: backref}
spec:
  nodeNamePattern: '(worker)-\1'
)");
    auto c = Client("c", [] { return NodeCsr("worker-1").Pem(); }, certguard::csr::Verdict::kDeny,
                    "");
    auto r = Cli({"--csr", dir.Write("c.json", CsrObject(c).dump()), "--nodes", nodes, "--policy",
                  policy, "-o", "json"});
    REQUIRE(r.code == 0);
    CHECK(nlohmann::json::parse(r.out)["decision"] == "Ignore");
    CHECK(Has(Codes(r.out), "PolicyInvalid"));
    CHECK_THAT(r.err, Catch::Contains("policy backref is invalid"));
  }
}

TEST_CASE("csr evaluate: hostile files exit 2 with a message, quickly", "[cli][csr][hostile]") {
  TempDir dir;
  const std::string csr_text = CsrObject(Client("c", [] { return NodeCsr("worker-1").Pem(); },
                                                certguard::csr::Verdict::kApprove, ""))
                                   .dump();
  const std::string csr = dir.Write("c.json", csr_text);
  std::string deep_annotation;
  for (int i = 0; i < 100000; ++i) deep_annotation += "{\"a\":";
  deep_annotation += "1" + std::string(100000, '}');
  std::string deep_csr = csr_text;
  deep_csr.replace(deep_csr.find("\"metadata\":{"), 12,
                   "\"metadata\":{\"annotations\":" + deep_annotation + ",");
  std::string bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  const std::string nodes_bomb = "apiVersion: v1\nkind: Node\nmetadata: {name: worker-1}\n" + bomb;
  std::string deep_policy = R"({"kind":"CSRApprovalPolicy","metadata":{"name":"p"},"spec":{"x":)";
  deep_policy += std::string(100000, '[') + std::string(100000, ']') + "}}";

  struct Bad {
    const char* what;
    std::vector<std::string> args;
    const char* message;
  };
  for (const auto& b : std::vector<Bad>{
           {"a CSR with a 100,000-deep annotation",
            {"--csr", dir.Write("deep.json", deep_csr)}, "nested deeper than 200 levels"},
           {"a nodes file with an alias bomb",
            {"--csr", csr, "--nodes", dir.Write("bomb.yaml", nodes_bomb)}, "aliases"},
           {"a 100,000-deep policy",
            {"--csr", csr, "--policy", dir.Write("deep-policy.json", deep_policy)},
            "nested deeper than 200 levels"},
       }) {
    SECTION(b.what) {
      auto start = std::chrono::steady_clock::now();
      auto r = Cli(b.args);
      CHECK(std::chrono::steady_clock::now() - start < 5s);  // hang guard
      INFO(r.err);
      CHECK(r.code == 2);
      CHECK(r.out.empty());
      CHECK_THAT(r.err, Catch::Contains(b.message));
    }
  }
}
