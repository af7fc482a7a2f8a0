// Differential test: certguard's CSR reading against Go's crypto/x509 (the
// csr-oracle tool), the parser kube-apiserver and kube-controller-manager use.
// Wherever certguard's ParseCsr succeeds, Go must read the same subject, SANs,
// extensions, key and signature verdict. A missing oracle fails the test.
#include "support/csr_oracle.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "csr/corpus/corpus.h"
#include "support/csr_cases.h"
#include "support/der_builder.h"
#include "support/hostile_csrs.h"
#include "support/pki.h"
#include "x509/parse.h"

using namespace certguard;
using namespace certguard::testing;

namespace {

CsrOracle& Oracle() {
  static std::unique_ptr<CsrOracle> oracle;
  if (!oracle) {
    const std::string path = FindCsrOracle();
    INFO("csr-oracle not found: set CERTGUARD_CSR_ORACLE or run hack/tools/csr-oracle/build.sh");
    REQUIRE_FALSE(path.empty());
    oracle = std::make_unique<CsrOracle>(path);
  }
  REQUIRE(oracle->running());
  return *oracle;
}

// Parses with both; returns whether certguard accepted (and then checks Go agrees).
bool AgreesWhereAccepted(const std::string& csr, const std::string& name) {
  auto ours = x509::ParseCsr(csr);
  auto go = Oracle().Parse(csr);
  if (!ours.ok()) return false;
  INFO(name << ": Go read " << go.dump());
  CHECK(CompareWithOracle(*ours, go) == "");
  return true;
}

// Every CSR the other tests build with CsrBuilder.
std::vector<std::pair<std::string, std::string>> BuilderCsrs() {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](std::string name, std::string pem) {
    out.emplace_back(std::move(name), std::move(pem));
  };
  add("kubelet serving", csr_cases::KubeletServing("w"));
  add("every subject attribute", csr_cases::EverySubjectAttribute());
  add("no CN", CsrBuilder().O("system:nodes").Pem());
  add("two CNs", CsrBuilder().Cn("system:node:a").Cn("system:node:b").Pem());
  add("UTF-8 CN", CsrBuilder().Cn("Jürgen, O=system:masters").Pem());
  add("every SAN type", csr_cases::EverySanType());
  add("otherName and RID", csr_cases::OtherNameAndRid());
  add("IPv4-mapped IPv6", CsrBuilder()
                              .Cn("x")
                              .IpBytes(std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01", 16))
                              .Pem());
  add("other extensions", csr_cases::OtherExtensions());
  add("RSA 2048", CsrBuilder().Cn("k").Key(Key::Rsa(2048)).Pem());
  add("RSA 1024", CsrBuilder().Cn("k").Key(Key::Rsa(1024)).Pem());
  add("P-384", CsrBuilder().Cn("k").Key(Key::Ec("P-384")).Pem());
  add("P-521", CsrBuilder().Cn("k").Key(Key::Ec("P-521")).Pem());
  add("Ed25519", CsrBuilder().Cn("k").Key(Key::Ed25519()).Dns("d.example").Der());
  add("secp256k1", CsrBuilder().Cn("k").Key(Key::Ec("secp256k1")).Pem());
  add("Ed448", CsrBuilder().Cn("k").Key(Key::Ed448()).Pem());
  for (Key key : {Key::Ec(), Key::Rsa(2048), Key::Ed25519()}) {
    add("tampered signature", CsrBuilder().Cn("system:node:a").Key(key).TamperSignature().Pem());
  }
  add("signed by another key", CsrBuilder().Cn("x").Key(Key::Ec()).SignWith(Key::Ec()).Pem());
  add("NUL bytes", CsrBuilder()
                       .O("system:nodes")
                       .Cn(std::string("system:node:a\0.evil", 19))
                       .Dns(std::string("worker-1\0.evil.example", 22))
                       .Pem());
  add("empty", CsrBuilder().Der());
  return out;
}

}  // namespace

TEST_CASE("Go oracle: every CSR the tests build reads the same in Go", "[x509][csr][oracle]") {
  int accepted = 0;
  for (const auto& [name, csr] : BuilderCsrs()) accepted += AgreesWhereAccepted(csr, name);
  CHECK(accepted >= 18);
}

TEST_CASE("Go oracle: every corpus request reads the same in Go", "[x509][csr][oracle]") {
  int accepted = 0;
  for (const auto& c : corpus::Corpus()) accepted += AgreesWhereAccepted(c.request(), c.name);
  CHECK(accepted >= 30);
}

TEST_CASE("Go oracle: hand-built requests with each key read the same in Go",
          "[x509][csr][oracle]") {
  for (Key key :
       {Key::Ec("P-256"), Key::Ec("P-384"), Key::Ec("P-521"), Key::Rsa(2048), Key::Ed25519()}) {
    CHECK(AgreesWhereAccepted(GoodServingCsr(HostileTarget{}, key), "good serving CSR"));
  }
}

TEST_CASE("Go oracle: each hostile request is refused, and Go shows why", "[x509][csr][oracle]") {
  HostileTarget t;
  int go_reads_foreign = 0;
  for (const auto& c : HostileCsrs(t, Key::Ec())) {
    INFO(c.name);
    CHECK_FALSE(AgreesWhereAccepted(c.der, c.name));
    auto go = Oracle().Parse(c.der);
    // Where Go accepts a smuggling request it reads the foreign SANs: the hole was real.
    if (go.value("ok", false)) {
      for (const auto& ip : go["ips"]) go_reads_foreign += ip == t.foreign_ip;
    }
  }
  // Second extensionRequest after a non-minimal, leading-zero, indefinite, inner-SEQUENCE,
  // SEQUENCE-for-SET or empty first one; msExtReq is ignored by Go, so those read worker-1's own.
  CHECK(go_reads_foreign >= 5);
}

TEST_CASE("Go oracle: single-byte mutations of kubelet requests", "[x509][csr][oracle]") {
  // Every byte of a serving and a client request changed four ways: wherever
  // certguard still accepts the result, Go must read it the same.
  Key key = Key::Ec();
  std::vector<std::string> seeds = {
      GoodServingCsr(HostileTarget{}, key),
      der::SignCsr(der::Tbs(der::NodeSubject("worker-1"), key, der::Attributes({})), key),
  };
  int accepted = 0, tried = 0;
  for (const auto& seed : seeds) {
    for (size_t i = 0; i < seed.size(); ++i) {
      const auto b = static_cast<unsigned char>(seed[i]);
      for (unsigned char v :
           {static_cast<unsigned char>(b ^ 0x01), static_cast<unsigned char>(b ^ 0x80),
            static_cast<unsigned char>(0x00), static_cast<unsigned char>(0xff)}) {
        if (v == b) continue;
        std::string m = seed;
        m[i] = static_cast<char>(v);
        ++tried;
        accepted +=
            AgreesWhereAccepted(m, "byte " + std::to_string(i) + " -> " + std::to_string(v));
      }
    }
  }
  CHECK(tried > 500);
  CHECK(accepted > 0);  // signature and key bytes: still parseable, signature invalid
}
