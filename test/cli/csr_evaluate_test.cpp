// `certguard csr evaluate` end to end: files in, JSON or text out, exit codes.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli/app.h"
#include "cli/cli_support.h"
#include "support/temp_dir.h"
#include "csr/corpus/corpus.h"

namespace fs = std::filesystem;
using namespace certguard::testing::corpus;

using certguard::testing::TempDir;

namespace {

certguard::testing::CliRun Cli(const std::vector<std::string>& args) {
  return certguard::testing::RunCli({}, args);
}

// The JSON as YAML in block style, as `kubectl get -o yaml` prints it (strings quoted).
void ToYaml(const nlohmann::json& j, int indent, std::string& out) {
  std::string pad(indent, ' ');
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      out += pad + k + ":";
      if ((v.is_object() && !v.empty()) || (v.is_array() && !v.empty())) {
        out += "\n";
        ToYaml(v, indent + 2, out);
      } else {
        out += " " + v.dump() + "\n";
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (v.is_object() && !v.empty()) {
        std::string inner;
        ToYaml(v, indent + 2, inner);
        out += pad + "- " + inner.substr(indent + 2);
      } else {
        out += pad + "- " + v.dump() + "\n";
      }
    }
  } else {
    out += pad + j.dump() + "\n";
  }
}

std::string Yaml(const nlohmann::json& j) {
  std::string out;
  ToYaml(j, 0, out);
  return out;
}

}  // namespace

namespace {

void EvaluateCorpus(const std::vector<Case>& cases) {
  TempDir dir;
  const std::string nodes = dir.Write("nodes.yaml", Yaml(CorpusNodes()));
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    SECTION(c.name) {
      auto object = CsrObject(c);
      // Alternate the formats: kubectl -o json, and -o yaml.
      std::string csr = i % 2 ? dir.Write(c.name + ".json", object.dump(2))
                              : dir.Write(c.name + ".yaml", Yaml(object));
      auto r = Cli({"csr", "evaluate", "--csr", csr, "--nodes", nodes, "-o", "json",
                    "--now", "2026-11-24T06:30:00Z"});
      INFO(r.out << r.err);
      REQUIRE(r.code == 0);
      auto j = nlohmann::json::parse(r.out);
      CHECK(j["decision"] == certguard::csr::VerdictName(c.want));
      bool has_code = false;
      for (const auto& reason : j["reasons"]) {
        CHECK(reason["message"].is_string());
        has_code = has_code || reason["code"] == c.code;
      }
      CHECK(has_code);
      CHECK_FALSE(j["reasons"].empty());
      CHECK(j["policy"] == "default");
    }
  }
}

}  // namespace

TEST_CASE("csr evaluate: every corpus case, as JSON and as YAML files", "[cli][csr]") {
  EvaluateCorpus(Corpus());
}

TEST_CASE("csr evaluate: every parity case (smuggled SANs, DER tricks) is denied with its reason",
          "[cli][csr]") {
  auto cases = ParityCorpus();
  REQUIRE(cases.size() >= 30);
  EvaluateCorpus(cases);
}

TEST_CASE("csr evaluate: text output names decision, policy and reasons", "[cli][csr]") {
  TempDir dir;
  auto c = Corpus()[0];
  c.request = [] { return NodeCsr("worker-1").Dns("worker-1").Pem(); };  // SANs on a client CSR
  auto r = Cli({"csr", "evaluate", "--csr", dir.Write("c.json", CsrObject(c).dump()), "--nodes",
                dir.Write("n.json", CorpusNodes().dump())});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("decision: Deny\n") != std::string::npos);
  CHECK(r.out.find("policy:   default\n") != std::string::npos);
  CHECK(r.out.find("  SANsOnClientCert: ") != std::string::npos);
}

TEST_CASE("csr evaluate: policies from a file decide, invalid ones are reported", "[cli][csr]") {
  TempDir dir;
  auto c = Corpus()[0];  // a client renewal of worker-1
  const std::string csr = dir.Write("c.json", CsrObject(c).dump());
  const std::string nodes = dir.Write("n.json", CorpusNodes().dump());
  const std::string policies = dir.Write("p.yaml", R"(apiVersion: v1
kind: List
items:
- apiVersion: certguard.io/v1alpha1
  kind: CSRApprovalPolicy
  metadata:
    name: gpu-only
  spec:
    nodeNamePattern: "gpu-[0-9]+"
- apiVersion: certguard.io/v1alpha1
  kind: CSRApprovalPolicy
  metadata:
    name: broken
  spec:
    allowedIPRanges: ["10.0.0.0/99"]
)");
  auto r = Cli({"csr", "evaluate", "--csr", csr, "--nodes", nodes, "--policy", policies, "-o",
                "json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["decision"] == "Ignore");
  CHECK(j["policy"] == "");
  std::string codes;
  for (const auto& reason : j["reasons"]) codes += reason["code"].get<std::string>() + " ";
  CHECK(codes.find("NoApplicablePolicy") != std::string::npos);
  CHECK(codes.find("NodeNameNotMatched") != std::string::npos);
  CHECK(codes.find("PolicyInvalid") != std::string::npos);
  CHECK(r.err.find("policy broken is invalid") != std::string::npos);

  const std::string all = dir.Write("all.yaml", R"(apiVersion: certguard.io/v1alpha1
kind: CSRApprovalPolicy
metadata: {name: all-nodes}
spec: {dryRun: true}
)");
  r = Cli({"csr", "evaluate", "--csr", csr, "--nodes", nodes, "--policy", policies, "--policy",
           all, "-o", "json"});
  REQUIRE(r.code == 0);
  j = nlohmann::json::parse(r.out);
  CHECK(j["decision"] == "Approve");
  CHECK(j["policy"] == "all-nodes");
  CHECK(j["dryRun"] == true);
}

TEST_CASE("csr evaluate: the example policies are valid", "[cli][csr]") {
  // Source-tree examples (__FILE__ may be relative to the build directory).
  fs::path root = CERTGUARD_SOURCE_DIR;
  TempDir dir;
  const std::string csr = dir.Write("c.json", CsrObject(Corpus()[0]).dump());
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(root / "deploy" / "examples")) {
    if (entry.path().filename().string().rfind("csrapprovalpolicy-", 0) != 0) continue;
    ++seen;
    auto r = Cli({"csr", "evaluate", "--csr", csr, "--policy", entry.path().string()});
    INFO(entry.path() << ": " << r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());  // no "is invalid" warning
  }
  CHECK(seen >= 3);
}

TEST_CASE("csr evaluate: unreadable or unexpected input exits 2", "[cli][csr]") {
  TempDir dir;
  const std::string csr = dir.Write("c.json", CsrObject(Corpus()[0]).dump());
  const std::string node_file = dir.Write("n.json", CorpusNodes().dump());
  const std::string two = dir.Write(
      "two.json", nlohmann::json{{"kind", "List"},
                                 {"items", {CsrObject(Corpus()[0]), CsrObject(Corpus()[1])}}}
                      .dump());
  struct Bad {
    const char* what;
    std::vector<std::string> args;
  };
  for (const auto& b : std::vector<Bad>{
           {"missing file", {"--csr", "/nonexistent/csr.yaml"}},
           {"a Node given as the CSR", {"--csr", node_file}},
           {"a CSR given as nodes", {"--csr", csr, "--nodes", csr}},
           {"a CSR given as a policy", {"--csr", csr, "--policy", csr}},
           {"not YAML", {"--csr", dir.Write("bad.yaml", "kind: [unclosed\n")}},
           {"a scalar document", {"--csr", dir.Write("scalar.yaml", "just text\n")}},
           {"no kind", {"--csr", dir.Write("nokind.json", R"({"spec":{}})")}},
           {"two CSRs", {"--csr", two}},
           {"an empty file", {"--csr", dir.Write("empty.yaml", "")}},
           {"a CSR without spec",
            {"--csr", dir.Write("nospec.json", R"({"kind":"CertificateSigningRequest"})")}},
           {"a policy without a name",
            {"--csr", csr, "--policy",
             dir.Write("noname.json", R"({"kind":"CSRApprovalPolicy","metadata":{}})")}},
           {"bad --now", {"--csr", csr, "--now", "yesterday"}},
       }) {
    SECTION(b.what) {
      std::vector<std::string> args{"csr", "evaluate"};
      args.insert(args.end(), b.args.begin(), b.args.end());
      auto r = Cli(args);
      CHECK(r.code == 2);
      CHECK(r.out.empty());
      CHECK_FALSE(r.err.empty());
    }
  }
  SECTION("no --csr is a usage error") {
    auto r = Cli({"csr", "evaluate"});
    CHECK(r.code == 2);
  }
  SECTION("a bad -o is a usage error") {
    auto r = Cli({"csr", "evaluate", "--csr", csr, "-o", "xml"});
    CHECK(r.code == 2);
  }
}
