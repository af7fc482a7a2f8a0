// ParseBundle: many certificates, text between blocks, and bad blocks that do
// not stop the good ones.
#include <catch2/catch.hpp>
#include <string>

#include "support/pki.h"
#include "x509/parse.h"

using namespace certguard::testing;
using namespace certguard::x509;

namespace {

std::vector<std::string> Cns(const Bundle& b) {
  std::vector<std::string> out;
  for (const auto& c : b.certificates) out.push_back(c.subject.CommonName().value_or("?"));
  return out;
}

std::string Body(const std::string& pem) {
  auto first = pem.find('\n') + 1;
  return pem.substr(first, pem.find("-----END") - first);
}

}  // namespace

TEST_CASE("ParseBundle reads every certificate in order", "[x509][bundle]") {
  Cert a = CertBuilder().Cn("a").Ca().Build();
  Cert b = CertBuilder().Cn("b").IssuedBy(a).Build();
  Cert c = CertBuilder().Cn("c").Key(Key::Rsa(2048)).Build();
  Bundle bundle = ParseBundle(JoinPem({a.pem, b.pem, c.pem}));
  CHECK(bundle.errors.empty());
  CHECK(Cns(bundle) == std::vector<std::string>{"a", "b", "c"});
  REQUIRE(bundle.certificates.size() == 3);
  CHECK(bundle.certificates[0].is_ca);
  CHECK(bundle.certificates[1].issuer.CommonName() == "a");
  CHECK(bundle.certificates[2].der == c.der);
}

TEST_CASE("ParseBundle ignores text between blocks", "[x509][bundle]") {
  Cert a = CertBuilder().Cn("a").Build();
  Cert b = CertBuilder().Cn("b").Build();
  // As `openssl x509 -subject -issuer` and ca-certificates.crt write it.
  std::string text = "# Mozilla CA bundle\n\nsubject=CN = a\nissuer=CN = a\n" + a.pem +
                     "\r\n\r\nsubject=CN = b\n=== comment with ----- dashes ===\n" + b.pem +
                     "\ntrailing notes\n";
  Bundle bundle = ParseBundle(text);
  CHECK(bundle.errors.empty());
  CHECK(Cns(bundle) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("ParseBundle: one bad block in the middle", "[x509][bundle][bad]") {
  Cert a = CertBuilder().Cn("a").Build();
  Cert c = CertBuilder().Cn("c").Build();
  std::string broken = CertBuilder().Cn("b").Pem();
  broken[broken.find('\n') + 7] = '#';  // broken base64
  Bundle bundle = ParseBundle(JoinPem({a.pem, broken, c.pem}));
  CHECK(Cns(bundle) == std::vector<std::string>{"a", "c"});
  REQUIRE(bundle.errors.size() == 1);
  CHECK(bundle.errors[0].index == 1);
  CHECK(bundle.errors[0].message == "broken base64: a character outside the base64 alphabet");
}

TEST_CASE("ParseBundle: a truncated block does not swallow the next", "[x509][bundle][bad]") {
  Cert a = CertBuilder().Cn("a").Build();
  Cert b = CertBuilder().Cn("b").Build();
  std::string cut = a.pem.substr(0, a.pem.size() / 2);  // no END line
  Bundle bundle = ParseBundle(cut + b.pem);
  CHECK(Cns(bundle) == std::vector<std::string>{"b"});
  REQUIRE(bundle.errors.size() == 1);
  CHECK(bundle.errors[0].index == 0);
  CHECK(bundle.errors[0].message == "CERTIFICATE block: no END line (truncated?)");

  // Truncated at the very end of the input.
  Bundle tail = ParseBundle(b.pem + cut);
  CHECK(Cns(tail) == std::vector<std::string>{"b"});
  REQUIRE(tail.errors.size() == 1);
  CHECK(tail.errors[0].index == 1);
}

TEST_CASE("ParseBundle: an unreadable certificate is reported", "[x509][bundle][bad]") {
  Cert a = CertBuilder().Cn("a").Build();
  // Valid base64 of bytes that are not a certificate.
  CertificateInfo junk;
  junk.der = "this is not DER at all";
  Bundle bundle = ParseBundle(JoinPem({ToPem(junk), a.pem}));
  CHECK(Cns(bundle) == std::vector<std::string>{"a"});
  REQUIRE(bundle.errors.size() == 1);
  CHECK(bundle.errors[0].index == 0);
  CHECK_THAT(bundle.errors[0].message, Catch::StartsWith("not a DER certificate: "));

  // A certificate whose DER has a byte more than its length says.
  CertificateInfo padded;
  padded.der = a.der + "X";
  Bundle b2 = ParseBundle(JoinPem({a.pem, ToPem(padded)}));
  CHECK(Cns(b2) == std::vector<std::string>{"a"});
  REQUIRE(b2.errors.size() == 1);
  CHECK(b2.errors[0].message == "trailing data: 1 bytes after the certificate");
}

TEST_CASE("ParseBundle: wrong block types are named, never decoded", "[x509][bundle][bad]") {
  Key key = Key::Ec();
  Cert a = CertBuilder().Cn("a").Key(key).Build();
  std::string key_pem = key.PrivatePem();
  std::string csr_pem = CsrBuilder().Cn("x").Pem();
  Bundle bundle = ParseBundle(JoinPem({a.pem, key_pem, csr_pem, a.pem}));
  CHECK(Cns(bundle) == std::vector<std::string>{"a", "a"});
  REQUIRE(bundle.errors.size() == 2);
  CHECK(bundle.errors[0].index == 1);
  CHECK(bundle.errors[0].message == "a PRIVATE KEY block, not a CERTIFICATE");
  CHECK(bundle.errors[1].index == 2);
  CHECK(bundle.errors[1].message == "a CERTIFICATE REQUEST block, not a CERTIFICATE");
  // Nothing of the key's body is echoed anywhere.
  std::string key_body = Body(key_pem);
  for (const auto& e : bundle.errors) {
    CHECK(e.message.find(key_body.substr(0, 16)) == std::string::npos);
  }
}

TEST_CASE("ParseBundle: hostile labels are cut short and made printable", "[x509][bundle][bad]") {
  std::string label = std::string(200, 'K') + "\x01\x7f";
  Bundle bundle = ParseBundle("-----BEGIN " + label + "-----\nAAAA\n-----END " + label + "-----\n");
  REQUIRE(bundle.errors.size() == 1);
  CHECK(bundle.errors[0].message == "a " + std::string(64, 'K') + "... block, not a CERTIFICATE");
}

TEST_CASE("ParseBundle: mismatched and malformed BEGIN/END lines", "[x509][bundle][bad]") {
  Cert a = CertBuilder().Cn("a").Build();
  std::string body = Body(a.pem);
  std::string mismatched = "-----BEGIN CERTIFICATE-----\n" + body + "-----END PRIVATE KEY-----\n";
  std::string no_dashes = "-----BEGIN CERTIFICATE\n" + body + "-----END CERTIFICATE-----\n";
  Bundle bundle = ParseBundle(JoinPem({mismatched, a.pem, no_dashes, a.pem}));
  CHECK(Cns(bundle) == std::vector<std::string>{"a", "a"});
  REQUIRE(bundle.errors.size() >= 2);
  CHECK(bundle.errors[0].index == 0);
  CHECK(bundle.errors[0].message ==
        "CERTIFICATE block: END line says \"PRIVATE KEY\" but BEGIN said \"CERTIFICATE\"");
  CHECK(bundle.errors[1].index == 2);
  CHECK(bundle.errors[1].message == "PEM block: malformed BEGIN line");
}

TEST_CASE("ParseBundle: DER input", "[x509][bundle]") {
  Cert a = CertBuilder().Cn("a").Build();
  Cert b = CertBuilder().Cn("b").Key(Key::Ed25519()).Build();
  Bundle one = ParseBundle(a.der);
  CHECK(one.errors.empty());
  CHECK(Cns(one) == std::vector<std::string>{"a"});

  Bundle two = ParseBundle(a.der + b.der);  // concatenated DER
  CHECK(two.errors.empty());
  CHECK(Cns(two) == std::vector<std::string>{"a", "b"});

  Bundle tail = ParseBundle(a.der + "garbage");
  CHECK(Cns(tail) == std::vector<std::string>{"a"});
  REQUIRE(tail.errors.size() == 1);
  CHECK(tail.errors[0].index == 1);
  CHECK_THAT(tail.errors[0].message, Catch::StartsWith("not a DER certificate: "));
}

TEST_CASE("ParseBundle: empty, whitespace and label-free input", "[x509][bundle][bad]") {
  for (std::string input : {"", "\n\n  \t"}) {
    Bundle b = ParseBundle(input);
    CHECK(b.certificates.empty());
    REQUIRE(b.errors.size() == 1);
    CHECK(b.errors[0].message == "empty input");
  }
  Bundle b = ParseBundle("-----BEGINCERTIFICATE-----\nAAAA\n");
  CHECK(b.certificates.empty());
  REQUIRE(b.errors.size() == 1);
  CHECK(b.errors[0].message == "no PEM block found");
}

TEST_CASE("ParseBundle: a 10 MB input gives one error", "[x509][bundle][bad]") {
  Cert a = CertBuilder().Cn("a").Build();
  std::string huge;
  while (huge.size() < 10 * 1024 * 1024) huge += a.pem;
  Bundle b = ParseBundle(huge);
  CHECK(b.certificates.empty());
  REQUIRE(b.errors.size() == 1);
  CHECK(b.errors[0].index == 0);
  CHECK(b.errors[0].message ==
        "input is " + std::to_string(huge.size()) + " bytes; the limit is 4194304");
}

TEST_CASE("ParseBundle: a large bundle just under the limit", "[x509][bundle]") {
  Cert a = CertBuilder().Cn("a").Build();
  // 200 certificates with comment lines between them, filled up to the limit.
  std::string text;
  for (int i = 0; i < 200; ++i) text += "# certificate " + std::to_string(i) + "\n" + a.pem;
  text += std::string(kMaxInputBytes - text.size(), '#');
  REQUIRE(text.size() == kMaxInputBytes);
  Bundle b = ParseBundle(text);
  CHECK(b.errors.empty());
  CHECK(b.certificates.size() == 200);
}

TEST_CASE("ParseBundle: hostile framing stays linear and bounded", "[x509][bundle][bad]") {
  // Each of these would be quadratic for a scanner that searched to the end of
  // the input from every BEGIN.
  std::string begins;
  while (begins.size() < kMaxInputBytes - 16) begins += "-----BEGIN ";
  Bundle b = ParseBundle(begins);
  CHECK(b.certificates.empty());
  REQUIRE(b.errors.size() == 10001);
  CHECK(b.errors.back().message == "PEM block: too many PEM blocks; stopped after 10000");

  std::string opens;
  while (opens.size() < kMaxInputBytes - 32) opens += "-----BEGIN CERTIFICATE-----AAAA";
  Bundle c = ParseBundle(opens);
  CHECK(c.certificates.empty());
  CHECK(c.errors.size() == 10001);
  CHECK(c.errors.front().message == "CERTIFICATE block: no END line (truncated?)");
}
