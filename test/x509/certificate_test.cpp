// ParseCertificate, ToPem and DaysUntil.
#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "support/pki.h"
#include "x509/parse.h"

using certguard::Code;
using certguard::common::DaysUntil;
using namespace certguard::testing;
using namespace certguard::x509;
using namespace std::chrono;

namespace {

// An independent SHA-256 of the DER, formatted by hand.
std::string Fingerprint(const std::string& der) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(der.data(), der.size(), md, &len, EVP_sha256(), nullptr) == 1);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof(buf), i == 0 ? "%02X" : ":%02X", md[i]);
    out += buf;
  }
  return out;
}

}  // namespace

TEST_CASE("ParseCertificate reads every field", "[x509][cert]") {
  Cert ca = CertBuilder().Subject({{"O", "certguard"}, {"CN", "test root"}}).Ca().Build();
  Cert leaf = CertBuilder()
                  .Subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"}})
                  .Dns("worker-1")
                  .Dns("worker-1.cluster.local")
                  .Ip("10.0.0.11")
                  .Ip("fd00::11")
                  .Email("root@example.com")
                  .Uri("https://worker-1:10250")
                  .KeyUsage("critical,digitalSignature")
                  .ExtKeyUsage("serverAuth")
                  .NotBefore(At(2026, 11, 1, 12, 30, 5))
                  .NotAfter(At(2027, 11, 1, 12, 30, 5))
                  .Serial("0a1b2c3d4e5f")
                  .Key(Key::Rsa(2048))
                  .IssuedBy(ca)
                  .Build();

  auto cert = ParseCertificate(leaf.pem);
  REQUIRE(cert.ok());
  CHECK(cert->subject.ToString() == "O=system:nodes,CN=system:node:worker-1");
  CHECK(cert->issuer.ToString() == "O=certguard,CN=test root");
  CHECK(cert->serial == "0A1B2C3D4E5F");
  CHECK(cert->not_before == At(2026, 11, 1, 12, 30, 5));
  CHECK(cert->not_after == At(2027, 11, 1, 12, 30, 5));
  CHECK_FALSE(cert->is_ca);
  CHECK(cert->sans.dns == std::vector<std::string>{"worker-1", "worker-1.cluster.local"});
  REQUIRE(cert->sans.ips.size() == 2);
  CHECK(cert->sans.ips[0].ToString() == "10.0.0.11");
  CHECK(cert->sans.ips[1].ToString() == "fd00::11");
  CHECK(cert->sans.emails == std::vector<std::string>{"root@example.com"});
  CHECK(cert->sans.uris == std::vector<std::string>{"https://worker-1:10250"});
  CHECK(cert->key.Describe() == "RSA 2048");
  CHECK(cert->der == leaf.der);
  CHECK(cert->sha256_fingerprint == Fingerprint(leaf.der));
  CHECK(cert->sha256_fingerprint.size() == 32 * 3 - 1);

  auto root = ParseCertificate(ca.pem);
  REQUIRE(root.ok());
  CHECK(root->is_ca);
  CHECK(root->subject == root->issuer);
  CHECK(root->sans.empty());
  CHECK(root->key.Describe() == "ECDSA P-256");
  CHECK(root->sha256_fingerprint != cert->sha256_fingerprint);
}

TEST_CASE("ParseCertificate: is_ca follows basicConstraints only", "[x509][cert]") {
  auto ca = ParseCertificate(CertBuilder().Cn("a").Ca(0).Pem());
  REQUIRE(ca.ok());
  CHECK(ca->is_ca);
  auto no = ParseCertificate(CertBuilder().Cn("b").Extension("basicConstraints", "CA:FALSE").Pem());
  REQUIRE(no.ok());
  CHECK_FALSE(no->is_ca);
  // keyCertSign without CA:TRUE is not a CA.
  auto ku = ParseCertificate(CertBuilder().Cn("c").KeyUsage("keyCertSign").Pem());
  REQUIRE(ku.ok());
  CHECK_FALSE(ku->is_ca);
}

TEST_CASE("ParseCertificate: serial numbers", "[x509][cert]") {
  for (const auto& [in, out] : std::vector<std::pair<std::string, std::string>>{
           {"1", "01"},
           {"ff", "FF"},
           {"00ABCDEF", "ABCDEF"},
           {"7fffffffffffffffffffffffffffffff", "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"}}) {
    CAPTURE(in);
    auto cert = ParseCertificate(CertBuilder().Serial(in).Pem());
    REQUIRE(cert.ok());
    CHECK(cert->serial == out);
  }
}

TEST_CASE("ParseCertificate: dates before 1950 and after 2049", "[x509][cert]") {
  // UTCTime covers 1950-2049; GeneralizedTime the rest, up to 9999-12-31.
  auto cert = ParseCertificate(CertBuilder()
                                   .NotBefore(At(1949, 12, 31, 23, 59, 59))
                                   .NotAfter(At(9999, 12, 31, 23, 59, 59))
                                   .Pem());
  REQUIRE(cert.ok());
  CHECK(cert->not_before == At(1949, 12, 31, 23, 59, 59));
  CHECK(cert->not_after == At(9999, 12, 31, 23, 59, 59));
  CHECK(DaysUntil(cert->not_after, At(2026, 11, 24)) > 2900000.0);
  auto utc = ParseCertificate(
      CertBuilder().NotBefore(At(1950, 1, 1)).NotAfter(At(2049, 12, 31, 23, 59, 59)).Pem());
  REQUIRE(utc.ok());
  CHECK(utc->not_before == At(1950, 1, 1));
  CHECK(utc->not_after == At(2049, 12, 31, 23, 59, 59));
}

TEST_CASE("ParseCertificate reads Ed25519, P-384 and DER", "[x509][cert]") {
  Cert ed = CertBuilder().Cn("ed").Key(Key::Ed25519()).Build();
  auto a = ParseCertificate(ed.der);
  REQUIRE(a.ok());
  CHECK(a->key.algorithm == KeyAlgorithm::kEd25519);
  CHECK(a->subject.CommonName() == "ed");
  Cert p384 = CertBuilder().Cn("p384").Key(Key::Ec("P-384")).Build();
  auto b = ParseCertificate(p384.der);
  REQUIRE(b.ok());
  CHECK(b->key.Describe() == "ECDSA P-384");
  CHECK(b->sha256_fingerprint == Fingerprint(p384.der));
}

TEST_CASE("ToPem round-trips a certificate", "[x509][cert]") {
  Cert c = CertBuilder().Cn("round").Key(Key::Rsa(2048)).Build();
  auto cert = ParseCertificate(c.der);
  REQUIRE(cert.ok());
  std::string pem = ToPem(*cert);
  CHECK(pem == c.pem);  // same line length and layout as OpenSSL writes
  auto again = ParseCertificate(pem);
  REQUIRE(again.ok());
  CHECK(again->der == c.der);
}

TEST_CASE("ParseCertificate: bad input", "[x509][cert][bad]") {
  Cert c = CertBuilder().Cn("x").Build();
  struct Case {
    const char* name;
    std::string input;
    std::string message_prefix;
  };
  std::string half_pem = c.pem.substr(0, c.pem.size() / 2);
  std::string bad_b64 = c.pem;
  bad_b64[bad_b64.find('\n') + 5] = '!';
  for (const Case& k : std::vector<Case>{
           {"empty", "", "empty input"},
           {"truncated PEM", half_pem, "PEM CERTIFICATE block: no END line (truncated?)"},
           {"truncated DER", c.der.substr(0, c.der.size() - 1), "not a DER certificate: "},
           {"wrong block type", certguard::testing::CsrBuilder().Cn("x").Pem(),
            "expected a PEM CERTIFICATE block, found CERTIFICATE REQUEST"},
           {"broken base64", bad_b64, "PEM CERTIFICATE block: broken base64"},
           {"trailing garbage", c.pem + "x", "trailing data after the certificate's END line"},
           {"two certificates", c.pem + c.pem, "trailing data: more than one PEM block"},
           {"DER trailing garbage", c.der + "\n", "trailing data: 1 bytes after the certificate"},
           {"mismatched END", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n",
            "PEM CERTIFICATE block: END line says \"X509 CRL\" but BEGIN said \"CERTIFICATE\""},
           {"a CSR as DER", certguard::testing::CsrBuilder().Cn("x").Der(),
            "not a DER certificate: "},
           {"10 MB", std::string(10 * 1024 * 1024, 'A'), "input is 10485760 bytes"},
       }) {
    SECTION(k.name) {
      auto cert = ParseCertificate(k.input);
      REQUIRE_FALSE(cert.ok());
      CHECK(cert.status().code() == Code::kInvalidArgument);
      CHECK_THAT(cert.status().message(), Catch::StartsWith(k.message_prefix));
    }
  }
}

TEST_CASE("DaysUntil is fractional and negative once expired", "[x509][days]") {
  Time now = At(2026, 11, 24, 6, 0, 0);
  CHECK(DaysUntil(now, now) == 0.0);
  CHECK(DaysUntil(now + days{30}, now) == 30.0);
  CHECK(DaysUntil(now + hours{12}, now) == 0.5);
  CHECK(DaysUntil(now + hours{6}, now) == 0.25);
  CHECK(DaysUntil(now + seconds{1}, now) == Approx(1.0 / 86400.0));
  CHECK(DaysUntil(now - hours{36}, now) == -1.5);
  CHECK(DaysUntil(now - days{400}, now) == -400.0);
}

TEST_CASE("DaysUntil spans leap years", "[x509][days]") {
  // 2028 is a leap year: Feb 29 exists.
  CHECK(DaysUntil(At(2028, 3, 1), At(2028, 2, 28)) == 2.0);
  CHECK(DaysUntil(At(2027, 3, 1), At(2027, 2, 28)) == 1.0);
  CHECK(DaysUntil(At(2029, 1, 1), At(2028, 1, 1)) == 366.0);
  CHECK(DaysUntil(At(2027, 1, 1), At(2026, 1, 1)) == 365.0);
  // 2100 is not a leap year, 2000 was.
  CHECK(DaysUntil(At(2100, 3, 1), At(2100, 2, 28)) == 1.0);
  CHECK(DaysUntil(At(2000, 3, 1), At(2000, 2, 28)) == 2.0);
}

TEST_CASE("DaysUntil from a parsed certificate", "[x509][days]") {
  Time nb = At(2026, 11, 1);
  auto cert = ParseCertificate(CertBuilder().NotBefore(nb).NotAfter(nb + days{90}).Pem());
  REQUIRE(cert.ok());
  CHECK(DaysUntil(cert->not_after, At(2026, 11, 24, 12)) == 66.5);  // not_after is 2027-01-30
  CHECK(DaysUntil(cert->not_after, At(2027, 2, 1)) == -2.0);
}
