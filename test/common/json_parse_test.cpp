// Hostile JSON and YAML: nesting past the limit, alias bombs, oversized text.
// Each must end in a clear InvalidArgument, never a crash, a hang or bad_alloc.
#include "common/json_parse.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "common/yaml_json.h"
#include "expiry/kubeconfig_certs.h"
#include "kube/config.h"
#include "kube/errors.h"
#include "kube/watch.h"

using namespace certguard;
using namespace certguard::common;
using namespace std::chrono_literals;

namespace {

std::string Nested(int depth, const std::string& inner = "1") {
  return std::string(static_cast<size_t>(depth), '[') + inner +
         std::string(static_cast<size_t>(depth), ']');
}

// A CSR whose annotation value nests `depth` objects deep.
std::string DeepCsr(int depth) {
  std::string deep;
  for (int i = 0; i < depth; ++i) deep += "{\"a\":";
  deep += "1" + std::string(static_cast<size_t>(depth), '}');
  return R"({"kind":"CertificateSigningRequest","metadata":{"name":"x","annotations":)" + deep +
         R"(},"spec":{}})";
}

// A "billion laughs": each level lists the one before ten times.
std::string AliasBomb(int levels) {
  std::string y = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < levels; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    y += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) y += (k ? ", " : "") + prev;
    y += "]\n";
  }
  return y;
}

}  // namespace

TEST_CASE("JsonDepth counts brackets outside strings only", "[common][json]") {
  CHECK(JsonDepth("1", 10) == 0);
  CHECK(JsonDepth("[]", 10) == 1);
  CHECK(JsonDepth(R"({"a":[{"b":[]}]})", 10) == 4);
  CHECK(JsonDepth(R"(["[[[[{{{{", "\"[[[["])", 10) == 1);
  CHECK(JsonDepth(R"(["\\", [[]]])", 10) == 3);  // an escaped backslash ends the escape
  CHECK(JsonDepth(Nested(50), 10) == 11);         // stops once past the limit
}

TEST_CASE("ParseJson refuses deep nesting before building anything", "[common][json]") {
  auto ok = ParseJson(Nested(kMaxJsonDepth));
  REQUIRE(ok.ok());
  CHECK(ok->is_array());
  for (int depth : {kMaxJsonDepth + 1, 100000}) {
    INFO(depth);
    auto start = std::chrono::steady_clock::now();
    auto deep = ParseJson(Nested(depth));
    REQUIRE_FALSE(deep.ok());
    CHECK(IsTooDeep(deep.status()));
    CHECK_THAT(deep.status().message(), Catch::Contains("nested deeper than 200 levels"));
    CHECK(std::chrono::steady_clock::now() - start < 1s);  // hang guard
  }
  auto bad = ParseJson("{\"a\":");
  REQUIRE_FALSE(bad.ok());
  CHECK_FALSE(IsTooDeep(bad.status()));
  // Brackets inside strings are data, however many.
  auto text = ParseJson("[\"" + std::string(100000, '[') + "\"]");
  REQUIRE(text.ok());
  CHECK((*text)[0].get<std::string>().size() == 100000);
}

TEST_CASE("a watch event or an API response nested 100,000 deep is an error, not a crash",
          "[common][json][kube]") {
  const std::string event = R"({"type":"ADDED","object":)" + DeepCsr(100000) + "}";
  auto ev = kube::ParseWatchEvent(event);
  REQUIRE_FALSE(ev.ok());
  CHECK_THAT(ev.status().message(), Catch::Contains("nested deeper"));
  // An error body that deep is shown as text, not parsed.
  Status s = kube::StatusFromHttp(500, {}, DeepCsr(100000));
  CHECK_FALSE(s.ok());
  CHECK(s.message().size() <= 200);
}

TEST_CASE("manifests: deep JSON, deep YAML and alias bombs are refused", "[common][yaml]") {
  SECTION("a CSR with a 100,000-deep annotation") {
    auto r = ParseDocuments(DeepCsr(100000));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("nested deeper than 200 levels"));
  }
  SECTION("deep YAML, block and flow") {
    std::string block;
    for (int i = 0; i < 300; ++i) block += std::string(static_cast<size_t>(i), ' ') + "a:\n";
    auto r = ParseDocuments(block + std::string(300, ' ') + "b: 1\n");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("nested deeper"));
    auto flow = ParseDocuments("x: " + Nested(100000));
    CHECK_FALSE(flow.ok());
  }
  SECTION("a billion laughs ends quickly in a clear error") {
    auto start = std::chrono::steady_clock::now();
    auto r = ParseDocuments(AliasBomb(9));  // 10^9 scalars once expanded
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("aliases"));
    CHECK(std::chrono::steady_clock::now() - start < 5s);  // hang guard
  }
  SECTION("a few aliases, as people write them, still work") {
    auto r = ParseYamlOrJson(R"(defaults: &d {allow: true, groups: [a, b]}
one: *d
two: *d
)");
    REQUIRE(r.ok());
    CHECK((*r)["two"]["groups"][1] == "b");
  }
  SECTION("text over the size limit") {
    std::string big(kMaxDocumentBytes + 1, ' ');
    auto r = ParseDocuments(big);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("larger than 64 MiB"));
  }
}

TEST_CASE("IntIn reads integers in range, never wrapped", "[common][json]") {
  using nlohmann::json;
  CHECK(IntIn(json::parse("600"), 600, 700) == 600);
  CHECK(IntIn(json::parse("-5"), -10, 10) == -5);
  CHECK(IntIn(json::parse("9223372036854775807"), 0, INT64_MAX) == INT64_MAX);
  for (const char* bad : {"18446744073709551615", "9223372036854775808", "-1", "701", "600.0",
                          "\"600\"", "true", "null", "[600]"}) {
    INFO(bad);
    CHECK_FALSE(IntIn(json::parse(bad), 0, 700).has_value());
  }
  CHECK_FALSE(IntIn(json::parse("5"), -10, -1).has_value());
  CHECK_FALSE(IntIn(json::parse("18446744073709551615"), 0, INT64_MAX).has_value());
}

TEST_CASE("a kubeconfig with an alias bomb or deep nesting is read as a graph, never expanded",
          "[kube][config][yaml]") {
  // kubeconfig code walks yaml-cpp's node graph (an alias is a shared node), so a
  // billion laughs costs what its text costs; deep flow nesting hits yaml-cpp's own guard.
  const std::string base = "current-context: c\ncontexts:\n"
                           "- name: c\n  context: {cluster: c, user: u}\n"
                           "clusters:\n- name: c\n  cluster: {server: \"https://x\"}\n"
                           "users:\n- name: u\n  user: {token: ok}\n";
  auto start = std::chrono::steady_clock::now();
  auto bomb = kube::ResolveKubeconfig({{"/k", base + AliasBomb(9)}}, "", false);
  CHECK(bomb.ok());  // the extra keys are ignored, not expanded
  auto deep = kube::ResolveKubeconfig({{"/k", base + "x: " + Nested(100000)}}, "", false);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().code() == Code::kInvalidArgument);
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // hang guard
}

TEST_CASE("node agent: kubeconfig entries repeated by aliases cannot multiply the data read",
          "[expiry][yaml]") {
  // One 4 KiB certificate-authority-data, then 100,000 aliases of its cluster entry:
  // 400 KB of text that would decode 400 MB.
  std::string y = "clusters:\n- &c {name: a, cluster: {certificate-authority-data: " +
                  std::string(4096, 'A') + "}}\n";
  for (int i = 0; i < 100000; ++i) y += "- *c\n";
  auto start = std::chrono::steady_clock::now();
  auto r = expiry::KubeconfigCertificates(y);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("aliases"));
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // hang guard
  // Without aliases the same data is read once.
  auto one = expiry::KubeconfigCertificates(
      "clusters:\n- {name: a, cluster: {certificate-authority-data: " + std::string(4096, 'A') +
      "}}\n");
  REQUIRE(one.ok());
  CHECK(one->size() == 1);
}
