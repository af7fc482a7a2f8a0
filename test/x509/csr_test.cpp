// ParseCsr: every field, every key type, and each kind of bad input.
#include <catch2/catch.hpp>
#include <string>

#include "support/csr_cases.h"
#include "support/csr_facts.h"
#include "support/der_builder.h"
#include "support/pki.h"
#include "x509/parse.h"

using certguard::Code;
using certguard::testing::CsrBuilder;
using certguard::testing::Ip;
using certguard::testing::Key;
namespace csr_cases = certguard::testing::csr_cases;
using namespace certguard::x509;

namespace {

std::string Body(const std::string& pem) {
  auto first = pem.find('\n') + 1;
  auto last = pem.find("-----END");
  return pem.substr(first, last - first);
}

}  // namespace

TEST_CASE("ParseCsr reads a kubelet-shaped request", "[x509][csr]") {
  auto csr = ParseCsr(csr_cases::KubeletServing("worker-1"));
  REQUIRE(csr.ok());
  CHECK(csr->subject.attributes ==
        std::vector<std::pair<std::string, std::string>>{{"O", "system:nodes"},
                                                          {"CN", "system:node:worker-1"}});
  CHECK(csr->subject.CommonName() == "system:node:worker-1");
  CHECK(csr->subject.ToString() == "O=system:nodes,CN=system:node:worker-1");
  CHECK(csr->sans.dns == std::vector<std::string>{"worker-1"});
  REQUIRE(csr->sans.ips.size() == 2);
  CHECK(csr->sans.ips[0] == Ip("10.0.0.11"));
  CHECK(csr->sans.ips[1].ToString() == "fd00::11");
  CHECK(csr->sans.emails.empty());
  CHECK(csr->sans.uris.empty());
  CHECK(csr->sans.others.empty());
  CHECK(csr->key.algorithm == KeyAlgorithm::kEcdsa);
  CHECK(csr->key.curve == "P-256");
  CHECK(csr->key.bits == 256);
  CHECK(csr->key.Describe() == "ECDSA P-256");
  CHECK(csr->signature_valid);
  CHECK(csr->other_extensions.empty());
}

TEST_CASE("ParseCsr keeps every subject attribute in encoding order", "[x509][csr]") {
  auto csr = ParseCsr(csr_cases::EverySubjectAttribute());
  REQUIRE(csr.ok());
  CHECK(csr->subject.attributes == csr_cases::EverySubjectAttributeList());
  CHECK(csr->subject.Values("O") == std::vector<std::string>{"b", "a"});
  CHECK(csr->subject.Values("DC").empty());
}

TEST_CASE("ParseCsr refuses subject strings other than PrintableString and UTF8String",
          "[x509][csr][bad]") {
  // OpenSSL writes emailAddress as an IA5String.
  CsrDefect defect = CsrDefect::kNone;
  auto csr = ParseCsr(CsrBuilder().Cn("x").Attribute("emailAddress", "x@example.com").Pem(), &defect);
  REQUIRE_FALSE(csr.ok());
  CHECK(defect == CsrDefect::kSubjectStringType);
  CHECK(csr.status().message() ==
        "subject: emailAddress is encoded as IA5String; only PrintableString and UTF8String are "
        "accepted");
}

TEST_CASE("ParseCsr reports a CN only when there is exactly one", "[x509][csr]") {
  auto none = ParseCsr(CsrBuilder().O("system:nodes").Pem());
  REQUIRE(none.ok());
  CHECK_FALSE(none->subject.CommonName().has_value());
  auto two = ParseCsr(CsrBuilder().Cn("system:node:a").Cn("system:node:b").Pem());
  REQUIRE(two.ok());
  CHECK_FALSE(two->subject.CommonName().has_value());
  CHECK(two->subject.Values("CN").size() == 2);
}

TEST_CASE("ParseCsr reads UTF-8 values and escapes them in ToString", "[x509][csr]") {
  auto csr = ParseCsr(CsrBuilder().Cn("Jürgen, O=system:masters").Pem());
  REQUIRE(csr.ok());
  CHECK(csr->subject.CommonName() == "Jürgen, O=system:masters");
  CHECK(csr->subject.ToString() == "CN=Jürgen\\, O\\=system:masters");
}

TEST_CASE("ParseCsr sorts SANs by type", "[x509][csr]") {
  auto csr = ParseCsr(csr_cases::EverySanType());
  REQUIRE(csr.ok());
  CHECK(csr->sans.dns == std::vector<std::string>{"a.example", "b.example"});
  CHECK(csr->sans.emails == std::vector<std::string>{"ops@example.com"});
  CHECK(csr->sans.uris == std::vector<std::string>{"spiffe://cluster/ns/default/sa/x"});
  REQUIRE(csr->sans.ips.size() == 2);
  CHECK(csr->sans.ips[0].is_v4());
  CHECK(csr->sans.ips[0].ToString() == "192.168.1.1");
  CHECK_FALSE(csr->sans.ips[1].is_v4());
  CHECK(csr->sans.ips[1].ToString() == "2001:db8::1");
  CHECK_FALSE(csr->sans.empty());
}

TEST_CASE("ParseCsr surfaces SAN types a kubelet never asks for", "[x509][csr]") {
  auto other = ParseCsr(csr_cases::OtherNameAndRid());
  REQUIRE(other.ok());
  CHECK(other->sans.others ==
        std::vector<std::string>{"othername:msUPN", "RID:1.2.3.4"});
  CHECK(other->sans.dns.empty());
}

TEST_CASE("ParseCsr refuses an IP SAN of the wrong length (Go cannot read it)", "[x509][csr]") {
  CsrDefect defect = CsrDefect::kNone;
  auto csr =
      ParseCsr(CsrBuilder().Cn("x").IpBytes(std::string("\x0a\x00\x00", 3)).Pem(), &defect);
  REQUIRE_FALSE(csr.ok());
  CHECK(defect == CsrDefect::kExtensionMalformed);
  CHECK(csr.status().message() == "subjectAltName iPAddress of 3 bytes (4 or 16 are valid)");
}

TEST_CASE("ParseCsr lists requested extensions other than SANs", "[x509][csr]") {
  auto csr = ParseCsr(csr_cases::OtherExtensions());
  REQUIRE(csr.ok());
  CHECK(csr->other_extensions ==
        std::vector<std::string>{"keyUsage", "extendedKeyUsage", "basicConstraints"});
  CHECK(csr->sans.dns == std::vector<std::string>{"x"});
}

TEST_CASE("ParseCsr refuses two subjectAltName extensions", "[x509][csr]") {
  auto csr = ParseCsr(
      CsrBuilder().Cn("x").Dns("worker-1").Extension("subjectAltName", "DNS:evil.example").Pem());
  REQUIRE_FALSE(csr.ok());
  CHECK(csr.status().code() == Code::kInvalidArgument);
  CHECK(csr.status().message() == "duplicate subjectAltName extension");
  CsrDefect defect = CsrDefect::kNone;
  CHECK_FALSE(ParseCsr(CsrBuilder().Cn("x").Dns("a").Extension("subjectAltName", "DNS:b").Pem(),
                       &defect)
                  .ok());
  CHECK(defect == CsrDefect::kDuplicateExtension);
}

TEST_CASE("ParseCsr describes each key type", "[x509][csr]") {
  // Keys are made inside the section: Catch runs the body once per section.
  struct Case {
    const char* name;
    Key (*make)();
    KeyAlgorithm algorithm;
    int bits;
    const char* curve;
    const char* described;
  };
  std::vector<Case> cases = {
      {"RSA 2048", [] { return Key::Rsa(2048); }, KeyAlgorithm::kRsa, 2048, "", "RSA 2048"},
      {"RSA 1024", [] { return Key::Rsa(1024); }, KeyAlgorithm::kRsa, 1024, "", "RSA 1024"},
      {"P-256", [] { return Key::Ec("P-256"); }, KeyAlgorithm::kEcdsa, 256, "P-256", "ECDSA P-256"},
      {"P-384", [] { return Key::Ec("P-384"); }, KeyAlgorithm::kEcdsa, 384, "P-384", "ECDSA P-384"},
      {"P-521", [] { return Key::Ec("P-521"); }, KeyAlgorithm::kEcdsa, 521, "P-521", "ECDSA P-521"},
      {"Ed25519", [] { return Key::Ed25519(); }, KeyAlgorithm::kEd25519, 256, "", "Ed25519"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      auto csr = ParseCsr(CsrBuilder().Cn("k").Key(c.make()).Pem());
      REQUIRE(csr.ok());
      CHECK(csr->key.algorithm == c.algorithm);
      CHECK(csr->key.bits == c.bits);
      CHECK(csr->key.curve == c.curve);
      CHECK(csr->key.Describe() == c.described);
      CHECK(csr->signature_valid);
    }
  }
}

TEST_CASE("ParseCsr refuses an ECDSA point that is not on its curve", "[x509][csr][bad]") {
  // The key is built from the point the strict walk read; building it must
  // check the point, as Go's parser does (elliptic.Unmarshal).
  namespace der = certguard::testing::der;
  Key key = Key::Ec("P-256");
  std::string spki = der::Spki(key);
  spki.back() = static_cast<char>(spki.back() ^ 0x01);  // Y's last bit
  const std::string tbs = der::Seq({der::Int(0), der::NodeSubject("w"), spki, der::Attributes({})});
  CsrDefect defect = CsrDefect::kNone;
  auto csr = ParseCsr(der::SignCsr(tbs, key), &defect);
  REQUIRE_FALSE(csr.ok());
  CHECK(defect == CsrDefect::kKeyMalformed);
  CHECK(csr.status().message().find("unreadable public key") != std::string::npos);
}

TEST_CASE("ParseCsr refuses keys Go's parser or the policy never accepts", "[x509][csr][bad]") {
  // secp256k1 fails Go's parse outright; Ed448 is no kubelet key.
  for (Key key : {Key::Ec("secp256k1"), Key::Ed448()}) {
    CsrDefect defect = CsrDefect::kNone;
    auto csr = ParseCsr(CsrBuilder().Cn("k").Key(key).Pem(), &defect);
    REQUIRE_FALSE(csr.ok());
    CHECK(defect == CsrDefect::kKeyAlgorithm);
  }
}

TEST_CASE("ParseCsr reads DER", "[x509][csr]") {
  auto csr = ParseCsr(CsrBuilder().Cn("der").Dns("der.example").Key(Key::Ed25519()).Der());
  REQUIRE(csr.ok());
  CHECK(csr->subject.CommonName() == "der");
  CHECK(csr->sans.dns == std::vector<std::string>{"der.example"});
  CHECK(csr->signature_valid);
}

TEST_CASE("ParseCsr accepts NEW CERTIFICATE REQUEST and surrounding whitespace", "[x509][csr]") {
  std::string pem = CsrBuilder().Cn("legacy").Pem();
  std::string legacy = "\n  \r\n-----BEGIN NEW CERTIFICATE REQUEST-----\n" + Body(pem) +
                       "-----END NEW CERTIFICATE REQUEST-----\r\n\n";
  auto csr = ParseCsr(legacy);
  REQUIRE(csr.ok());
  CHECK(csr->subject.CommonName() == "legacy");
}

TEST_CASE("ParseCsr: a tampered signature is reported, not an error", "[x509][csr][bad]") {
  for (Key key : {Key::Ec("P-256"), Key::Rsa(2048), Key::Ed25519()}) {
    auto csr = ParseCsr(CsrBuilder().Cn("system:node:a").Key(key).TamperSignature().Pem());
    REQUIRE(csr.ok());
    CHECK(csr->subject.CommonName() == "system:node:a");
    CHECK_FALSE(csr->signature_valid);
  }
}

TEST_CASE("ParseCsr: signed by another key does not verify", "[x509][csr][bad]") {
  auto csr = ParseCsr(CsrBuilder().Cn("x").Key(Key::Ec()).SignWith(Key::Ec()).Pem());
  REQUIRE(csr.ok());
  CHECK_FALSE(csr->signature_valid);
}

TEST_CASE("ParseCsr: empty input", "[x509][csr][bad]") {
  for (std::string input : {"", " \n\t\r\n"}) {
    auto csr = ParseCsr(input);
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().code() == Code::kInvalidArgument);
    CHECK(csr.status().message() == "empty input");
  }
}

TEST_CASE("ParseCsr: truncated PEM", "[x509][csr][bad]") {
  std::string pem = CsrBuilder().Cn("x").Pem();
  SECTION("no END line") {
    auto csr = ParseCsr(pem.substr(0, pem.size() / 2));
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() == "PEM CERTIFICATE REQUEST block: no END line (truncated?)");
  }
  SECTION("END line present, body cut short") {
    std::string body = Body(pem);
    std::string cut = "-----BEGIN CERTIFICATE REQUEST-----\n" + body.substr(0, 64) +
                      "\n-----END CERTIFICATE REQUEST-----\n";
    auto csr = ParseCsr(cut);
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().code() == Code::kInvalidArgument);
    CHECK(csr.status().message().rfind("not a DER certificate request: ", 0) == 0);
  }
  SECTION("truncated DER") {
    std::string der = CsrBuilder().Cn("x").Der();
    auto csr = ParseCsr(der.substr(0, der.size() - 10));
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message().rfind("not a DER certificate request: ", 0) == 0);
  }
}

TEST_CASE("ParseCsr: wrong block type", "[x509][csr][bad]") {
  Key key = Key::Ec();
  auto csr = ParseCsr(key.PrivatePem());
  REQUIRE_FALSE(csr.ok());
  CHECK(csr.status().message() ==
        "expected a PEM CERTIFICATE REQUEST block, found PRIVATE KEY");
  // The key material never reaches the message.
  CHECK(csr.status().message().find(Body(key.PrivatePem()).substr(0, 20)) == std::string::npos);

  auto cert_instead = ParseCsr(certguard::testing::CertBuilder().Cn("c").Pem());
  REQUIRE_FALSE(cert_instead.ok());
  CHECK(cert_instead.status().message() ==
        "expected a PEM CERTIFICATE REQUEST block, found CERTIFICATE");
}

TEST_CASE("ParseCsr: broken base64", "[x509][csr][bad]") {
  std::string pem = CsrBuilder().Cn("x").Pem();
  SECTION("a character outside the alphabet") {
    std::string bad = pem;
    bad[bad.find('\n') + 10] = '*';
    auto csr = ParseCsr(bad);
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() ==
          "PEM CERTIFICATE REQUEST block: broken base64: a character outside the base64 alphabet");
  }
  SECTION("a character dropped") {
    std::string bad = pem;
    bad.erase(bad.find('\n') + 10, 1);
    auto csr = ParseCsr(bad);
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() ==
          "PEM CERTIFICATE REQUEST block: broken base64: length is not a multiple of 4 "
          "(truncated?)");
  }
  SECTION("padding in the middle") {
    std::string bad = pem;
    size_t at = bad.find('\n') + 8;
    bad.replace(at, 4, "A===");
    auto csr = ParseCsr(bad);
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() ==
          "PEM CERTIFICATE REQUEST block: broken base64: padding in the middle");
  }
  SECTION("PEM headers") {
    std::string bad = pem;
    bad.insert(bad.find('\n') + 1, "Proc-Type: 4,ENCRYPTED\n\n");
    auto csr = ParseCsr(bad);
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() ==
          "PEM CERTIFICATE REQUEST block: PEM headers (encrypted or legacy PEM) are not supported");
  }
}

TEST_CASE("ParseCsr: trailing garbage", "[x509][csr][bad]") {
  CsrBuilder b = CsrBuilder().Cn("x");
  SECTION("text after the END line") {
    auto csr = ParseCsr(b.Pem() + "garbage\n");
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() == "trailing data after the certificate request's END line");
  }
  SECTION("a second PEM block") {
    auto csr = ParseCsr(b.Pem() + b.Pem());
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() ==
          "trailing data: more than one PEM block after the certificate request");
  }
  SECTION("bytes after the DER") {
    auto csr = ParseCsr(b.Der() + std::string("\x00\x01", 2));
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() == "trailing data: 2 bytes after the certificate request");
  }
  SECTION("DER hidden inside the base64 after the request") {
    // ToPem is only a DER-to-base64 writer: use it to wrap the padded DER.
    CertificateInfo carrier;
    carrier.der = b.Der() + "XYZ";
    std::string body = Body(ToPem(carrier));
    auto csr = ParseCsr("-----BEGIN CERTIFICATE REQUEST-----\n" + body +
                        "-----END CERTIFICATE REQUEST-----\n");
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() == "trailing data: 3 bytes after the certificate request");
  }
  SECTION("text before the BEGIN line") {
    auto csr = ParseCsr("subject=CN=x\n" + b.Pem());
    REQUIRE_FALSE(csr.ok());
    CHECK(csr.status().message() == "unexpected text before the certificate request");
  }
}

TEST_CASE("ParseCsr: garbage that is neither PEM nor DER", "[x509][csr][bad]") {
  auto csr = ParseCsr("hello, I am not a CSR");
  REQUIRE_FALSE(csr.ok());
  CHECK(csr.status().code() == Code::kInvalidArgument);
  CHECK(csr.status().message().rfind("not a DER certificate request: ", 0) == 0);
}

TEST_CASE("ParseCsr: a 10 MB input is refused before parsing", "[x509][csr][bad]") {
  std::string pem = CsrBuilder().Cn("x").Pem();
  std::string huge = pem + std::string(10 * 1024 * 1024, ' ');
  auto csr = ParseCsr(huge);
  REQUIRE_FALSE(csr.ok());
  CHECK(csr.status().code() == Code::kInvalidArgument);
  CHECK(csr.status().message() ==
        "input is " + std::to_string(huge.size()) + " bytes; the limit is 4194304");
  // Just under the limit is parsed (whitespace after the END line is fine).
  std::string big = pem + std::string(kMaxInputBytes - pem.size(), '\n');
  CHECK(ParseCsr(big).ok());
}

TEST_CASE("ParseCsr keeps embedded NUL bytes so they cannot hide a suffix", "[x509][csr][bad]") {
  std::string cn("system:node:a\0.evil", 19);
  std::string dns("worker-1\0.evil.example", 22);
  auto csr = ParseCsr(CsrBuilder().O("system:nodes").Cn(cn).Dns(dns).Pem());
  REQUIRE(csr.ok());
  CHECK(csr->subject.CommonName() == cn);
  CHECK(csr->subject.CommonName() != std::string("system:node:a"));
  CHECK(csr->subject.ToString() == "O=system:nodes,CN=system:node:a\\00.evil");
  REQUIRE(csr->sans.dns.size() == 1);
  CHECK(csr->sans.dns[0] == dns);
  CHECK(csr->sans.dns[0].size() == 22);
}

TEST_CASE("ParseCsr: a request with no subject and no SANs", "[x509][csr]") {
  auto csr = ParseCsr(CsrBuilder().Der());
  REQUIRE(csr.ok());
  CHECK(csr->subject.attributes.empty());
  CHECK(csr->subject.ToString().empty());
  CHECK(csr->sans.empty());
  CHECK(csr->signature_valid);
}
