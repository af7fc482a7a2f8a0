#include "csr/reasons.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <prometheus/registry.h>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "csr/evaluate.h"
#include "csr/metrics.h"
#include "x509/parse.h"
#include "support/hostile_csrs.h"

using namespace certguard::csr;

namespace {

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::filesystem::path(CERTGUARD_SOURCE_DIR) / relative);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> AllCodes() {
  std::set<std::string> all;
  for (const char* c : reason::kAll) all.insert(c);
  return all;
}

// The number of series of one metric family in `registry`.
size_t Series(prometheus::Registry& registry, const std::string& family) {
  for (const auto& f : registry.Collect()) {
    if (f.name == family) return f.metric.size();
  }
  return 0;
}

}  // namespace

TEST_CASE("reason::kAll lists every reason code declared, once", "[csr][reasons]") {
  // Every `inline constexpr char kX[] = "Code";` of namespace reason in reasons.h.
  std::string header = ReadSource("operator/csr/reasons.h");
  std::regex decl(R"re(inline constexpr char (k\w+)\[\] = "(\w+)";)re");
  std::set<std::string> declared;
  for (auto it = std::sregex_iterator(header.begin(), header.end(), decl);
       it != std::sregex_iterator(); ++it) {
    if ((*it)[1] != "kOther") declared.insert((*it)[2]);
  }
  REQUIRE(declared.size() > 40);
  std::set<std::string> all = AllCodes();
  CHECK(all.size() == std::size(reason::kAll));  // no code twice
  CHECK(all == declared);
  CHECK(all.count(reason::kOther) == 0);
}

TEST_CASE("ReasonLabel keeps known codes and folds the rest into Other", "[csr][reasons]") {
  for (const char* code : reason::kAll) {
    INFO(code);
    CHECK(ReasonLabel(code) == code);
  }
  CHECK(ReasonLabel("") == "");
  for (const char* unknown : {"Other", "approvedrenewal", "ApprovedRenewal ", "MaxPending",
                              "attacker-chosen\nlabel", "NodeNotFoundX"}) {
    INFO(unknown);
    CHECK(ReasonLabel(unknown) == reason::kOther);
  }
}

TEST_CASE("Every reason the decision gives the hostile corpus is a known code",
          "[csr][reasons]") {
  certguard::testing::HostileTarget t;
  auto key = certguard::testing::Key::Ec();
  NodeFacts node;
  node.name = t.node;
  node.addresses = {{"InternalIP", t.own_ip}, {"Hostname", t.own_dns}};
  node.ready_status = "True";
  NodeMap nodes{{t.node, node}};
  std::set<std::string> all = AllCodes();
  std::vector<std::string> ders;
  for (const auto& h : certguard::testing::HostileCsrs(t, key)) ders.push_back(h.der);
  ders.push_back(certguard::testing::GoodServingCsr(t, key));
  int reasons = 0;
  for (const std::string& requester : {std::string("system:node:") + t.node,
                                       std::string("system:node:worker-9"),
                                       std::string("system:bootstrap:abcdef"), std::string()}) {
    for (const char* signer : {kServingSigner, kClientSigner}) {
      for (const auto& der : ders) {
        CsrRequest r;
        r.name = "x";
        r.signer_name = signer;
        r.username = requester;
        r.groups = {"system:nodes", "system:authenticated"};
        r.usages = {"digital signature", "server auth"};
        certguard::x509::CsrDefect defect = certguard::x509::CsrDefect::kNone;
        auto parsed = certguard::x509::ParseCsr(der, &defect);
        if (parsed.ok()) {
          r.csr = *parsed;
        } else {
          r.parse_error = parsed.status().message();
          r.parse_code = ReasonForDefect(defect);
        }
        Decision d = Evaluate(r, nodes, {}, certguard::x509::Time{});
        for (const auto& reason : d.reasons) {
          INFO(reason.code << ": " << reason.message);
          CHECK(all.count(reason.code) == 1);
          ++reasons;
        }
      }
    }
  }
  CHECK(reasons > 100);
}

TEST_CASE("The decision metrics keep a bounded set of reason labels", "[csr][reasons]") {
  prometheus::Registry registry;
  CsrMetrics metrics(registry);
  // Every known code makes at most one series per (signer, decision, code)...
  for (const char* code : reason::kAll) {
    metrics.Decided(kServingSigner, "Deny", {code, reason::kNoSANs}, -1);
  }
  const size_t known = std::size(reason::kAll);
  CHECK(Series(registry, "certguard_csr_decisions_total") == known);
  CHECK(Series(registry, "certguard_csr_decision_reasons_total") == known);
  // ...and any number of codes outside the list add one series between them.
  for (int i = 0; i < 100; ++i) {
    metrics.Decided(kServingSigner, "Deny", {"Unknown" + std::to_string(i), "Bogus"}, -1);
  }
  CHECK(Series(registry, "certguard_csr_decisions_total") == known + 1);
  CHECK(Series(registry, "certguard_csr_decision_reasons_total") == known + 1);
  // A denial counts every one of its codes, not just the first.
  prometheus::Registry fresh;
  CsrMetrics one(fresh);
  one.Decided(kServingSigner, "Deny", {reason::kSANNotNodeAddress, reason::kSANDeniedRange}, 1.0);
  CHECK(Series(fresh, "certguard_csr_decisions_total") == 1);
  CHECK(Series(fresh, "certguard_csr_decision_reasons_total") == 2);
}
