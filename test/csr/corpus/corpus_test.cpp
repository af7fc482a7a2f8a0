// Every corpus case through RequestFromObject and Evaluate with the default policy.
#include <catch2/catch.hpp>

#include "csr/corpus/corpus.h"
#include "csr/node.h"
#include "csr/request.h"

using namespace certguard;
using namespace certguard::testing::corpus;

namespace {

void RunCorpus(const std::vector<Case>& cases) {
  csr::NodeMap nodes;
  const auto node_list = CorpusNodes();
  for (const auto& item : node_list["items"]) {
    auto n = csr::NodeFromObject(item);
    REQUIRE(n.ok());
    nodes[n->name] = *n;
  }
  const auto now = common::ParseRfc3339("2026-11-24T06:30:00Z").value();
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto request = csr::RequestFromObject(CsrObject(c));
      REQUIRE(request.ok());
      auto d = csr::Evaluate(*request, nodes, {}, now);
      std::string got = std::string(csr::VerdictName(d.verdict)) + ":";
      bool has_code = false;
      for (const auto& r : d.reasons) {
        got += " " + r.code + " (" + r.message + ")";
        has_code = has_code || r.code == c.code;
      }
      INFO(got);
      CHECK(d.verdict == c.want);
      CHECK(has_code);
      CHECK_FALSE(d.reasons.empty());
      // A refusal of a well-formed request never hides behind a parse error: either
      // it parsed, or the strict reading refused it for exactly the expected reason.
      if (c.code != csr::reason::kCsrUnparseable) {
        CHECK((request->csr.has_value() || request->parse_code == c.code));
      }
    }
  }
}

}  // namespace

TEST_CASE("adversarial corpus: the default policy's decisions", "[csr][corpus]") {
  auto cases = Corpus();
  REQUIRE(cases.size() >= 30);
  RunCorpus(cases);
}

TEST_CASE("parity corpus: requests two parsers read differently are denied with their reason",
          "[csr][corpus]") {
  auto cases = ParityCorpus();
  REQUIRE(cases.size() >= 30);
  RunCorpus(cases);
}
