// The strict PKCS#10 reading: every hostile class is refused with its reason
// code, and the request done right reads as before.
#include "x509/csr_strict.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>

#include "csr/reasons.h"
#include "csr/request.h"
#include "support/der_builder.h"
#include "support/hostile_csrs.h"
#include "support/pki.h"
#include "x509/parse.h"

using namespace certguard;
using namespace certguard::testing;
using x509::CsrDefect;

namespace {

struct Refusal {
  std::string code;
  std::string message;
};

// ParseCsr's refusal as a reason code, or empty codes when it parsed.
Refusal Refused(const std::string& der) {
  CsrDefect defect = CsrDefect::kNone;
  auto csr = x509::ParseCsr(der, &defect);
  if (csr.ok()) {
    CHECK(defect == CsrDefect::kNone);
    return {};
  }
  CHECK(csr.status().code() == Code::kInvalidArgument);
  return {csr::ReasonForDefect(defect), csr.status().message()};
}

}  // namespace

TEST_CASE("strict CSR: a hand-built kubelet request reads like OpenSSL's", "[x509][csr][strict]") {
  for (Key key :
       {Key::Ec("P-256"), Key::Ec("P-384"), Key::Ec("P-521"), Key::Rsa(2048), Key::Ed25519()}) {
    HostileTarget t;
    std::string der = GoodServingCsr(t, key);
    CsrDefect defect = CsrDefect::kMalformed;
    auto csr = x509::ParseCsr(der, &defect);
    REQUIRE(csr.ok());
    CHECK(defect == CsrDefect::kNone);
    CHECK(csr->subject.ToString() == "O=system:nodes,CN=system:node:worker-1");
    CHECK(csr->sans.dns == std::vector<std::string>{"worker-1"});
    REQUIRE(csr->sans.ips.size() == 1);
    CHECK(csr->sans.ips[0].ToString() == "10.0.0.11");
    CHECK(csr->other_extensions.empty());
    CHECK(csr->signature_valid);
    // Every digest the allowlist has verifies.
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_ED25519) {
      for (const char* digest : {"SHA384", "SHA512"}) {
        std::string tbs = der::Tbs(der::NodeSubject("worker-1"), key, der::Attributes({}));
        auto other = x509::ParseCsr(der::SignCsr(tbs, key, digest));
        REQUIRE(other.ok());
        CHECK(other->signature_valid);
      }
    }
  }
}

TEST_CASE("strict CSR: no attributes at all is a client request", "[x509][csr][strict]") {
  Key key = Key::Ec();
  auto csr =
      x509::ParseCsr(der::SignCsr(der::Tbs(der::NodeSubject("w"), key, der::Attributes({})), key));
  REQUIRE(csr.ok());
  CHECK(csr->sans.empty());
  CHECK(csr->signature_valid);
}

TEST_CASE("strict CSR: every hostile class is refused with its reason code",
          "[x509][csr][strict]") {
  for (Key key : {Key::Ec("P-256"), Key::Rsa(2048), Key::Ed25519()}) {
    auto cases = HostileCsrs(HostileTarget{}, key);
    REQUIRE(cases.size() >= 30);
    for (const auto& c : cases) {
      Refusal r = Refused(c.der);
      INFO(c.name << ": " << r.code << " (" << r.message << ")");
      CHECK(r.code == c.code);
      CHECK_FALSE(r.message.empty());
    }
  }
}

TEST_CASE("strict CSR: messages say what was wrong", "[x509][csr][strict]") {
  Key key = Key::Ec();
  std::map<std::string, std::string> by_name;
  for (const auto& c : HostileCsrs(HostileTarget{}, key)) by_name[c.name] = Refused(c.der).message;
  CHECK(by_name["second-extension-request"] ==
        "two extensionRequest attributes: parsers differ on which one counts");
  CHECK(by_name["non-minimal-length-then-second-request"].find("below 128 (not minimal DER)") !=
        std::string::npos);
  CHECK(by_name["leading-zero-length-then-second-request"].find(
            "length has a leading zero byte (not minimal DER)") != std::string::npos);
  CHECK(by_name["ms-ext-req-alone"].find("msExtReq") != std::string::npos);
  CHECK(by_name["two-valued-set"] ==
        "extensionRequest has more than one value: parsers differ on which one counts");
  CHECK(by_name["empty-set-then-second-request"] == "extensionRequest has no value");
  CHECK(by_name["duplicate-san-in-one-request"] == "duplicate subjectAltName extension");
  CHECK(by_name["trailing-bytes-in-san"].find("subjectAltName extension value at offset") !=
        std::string::npos);
  CHECK(by_name["version-2"] == "version 2; a PKCS#10 request has version 0 (v1)");
  CHECK(by_name["cn-universal-string"] ==
        "subject: CN is encoded as UniversalString; only PrintableString and UTF8String are "
        "accepted");
  CHECK(by_name["o-bmp-string"] ==
        "subject: O is encoded as BMPString; only PrintableString and UTF8String are accepted");
  CHECK(by_name["sha1-signature"].find("1.2.840.10045.4.1 is not allowed") != std::string::npos);
  CHECK(by_name["compressed-ec-point"] == "the ECDSA point is not in uncompressed form for P-256");
  CHECK(by_name["trailing-byte-after-request"] ==
        "trailing data: 1 bytes after the certificate request");
}

TEST_CASE("strict CSR: keys and signature algorithms off the allowlist", "[x509][csr][strict]") {
  namespace r = csr::reason;
  SECTION("Ed448 and secp256k1 keys") {
    CHECK(Refused(CsrBuilder().Cn("x").Key(Key::Ed448()).Der()).code == r::kKeyAlgorithmNotAllowed);
    Refusal k1 = Refused(CsrBuilder().Cn("x").Key(Key::Ec("secp256k1")).Der());
    CHECK(k1.code == r::kKeyAlgorithmNotAllowed);
    CHECK(k1.message == "ECDSA curve 1.3.132.0.10 is not P-256, P-384 or P-521");
  }
  Key key = Key::Ec();
  const std::string tbs = der::Tbs(der::NodeSubject("w"), key, der::Attributes({}));
  const std::string sig = der::BitString(std::string(70, '\x01'));
  SECTION("RSASSA-PSS") {
    std::string pss =
        der::Seq({tbs, der::Seq({der::Oid("1.2.840.113549.1.1.10"), der::Seq({})}), sig});
    CHECK(Refused(pss).code == r::kSignatureAlgorithmNotAllowed);
  }
  SECTION("MD5 with RSA") {
    std::string md5 =
        der::Seq({tbs, der::Seq({der::Oid("1.2.840.113549.1.1.4"), der::Null()}), sig});
    CHECK(Refused(md5).code == r::kSignatureAlgorithmNotAllowed);
  }
  SECTION("ECDSA with parameters") {
    std::string params =
        der::Seq({tbs, der::Seq({der::Oid("1.2.840.10045.4.3.2"), der::Null()}), sig});
    Refusal p = Refused(params);
    CHECK(p.code == r::kSignatureAlgorithmNotAllowed);
    CHECK(p.message == "signature algorithm 1.2.840.10045.4.3.2 takes no parameters");
  }
  SECTION("RSA without NULL parameters") {
    std::string absent = der::Seq({tbs, der::Seq({der::Oid("1.2.840.113549.1.1.11")}), sig});
    CHECK(Refused(absent).code == r::kSignatureAlgorithmNotAllowed);
  }
  SECTION("an EC key with explicit parameters") {
    std::string spki = der::Spki(key);
    std::string point = spki.substr(spki.size() - 65);
    std::string explicit_spki =
        der::Seq({der::Seq({der::Oid("1.2.840.10045.2.1"), der::Seq({der::Int(1)})}),
                  der::BitString(point)});
    std::string t =
        der::Seq({der::Int(0), der::NodeSubject("w"), explicit_spki, der::Attributes({})});
    CHECK(Refused(der::SignCsr(t, key)).code == r::kKeyAlgorithmNotAllowed);
  }
  SECTION("an RSA key without NULL parameters") {
    Key rsa = Key::Rsa(2048);
    std::string spki = der::Spki(rsa);
    // Rebuild the SPKI with the algorithm's parameters left out.
    std::string key_bits = spki.substr(spki.find(std::string("\x03\x82", 2)));
    std::string no_null = der::Seq({der::Seq({der::Oid("1.2.840.113549.1.1.1")}), key_bits});
    std::string t = der::Seq({der::Int(0), der::NodeSubject("w"), no_null, der::Attributes({})});
    CHECK(Refused(der::SignCsr(t, rsa)).code == r::kKeyAlgorithmNotAllowed);
  }
  SECTION("a signature algorithm for another key type verifies nothing") {
    Key rsa = Key::Rsa(2048);
    std::string rsa_tbs = der::Tbs(der::NodeSubject("w"), rsa, der::Attributes({}));
    std::string signed_rsa = der::SignCsr(rsa_tbs, rsa);
    // Same signature bytes, but labelled ECDSA.
    std::string mislabelled =
        der::Seq({rsa_tbs, der::Seq({der::Oid("1.2.840.10045.4.3.2")}),
                  signed_rsa.substr(signed_rsa.rfind(std::string("\x03\x82\x01\x01", 4)))});
    auto csr = x509::ParseCsr(mislabelled);
    REQUIRE(csr.ok());
    CHECK_FALSE(csr->signature_valid);
  }
}

TEST_CASE("strict CSR: the attributes [0] field is required", "[x509][csr][strict]") {
  Key key = Key::Ec();
  std::string t = der::Seq({der::Int(0), der::NodeSubject("w"), der::Spki(key)});
  Refusal r = Refused(der::SignCsr(t, key));
  CHECK(r.code == csr::reason::kCsrUnparseable);
  CHECK(r.message.find("attributes [0]") != std::string::npos);
}

TEST_CASE("strict CSR: each defect has a distinct stable reason code", "[x509][csr][strict]") {
  std::set<std::string> codes;
  for (int d = static_cast<int>(CsrDefect::kMalformed);
       d <= static_cast<int>(CsrDefect::kKeyMalformed); ++d) {
    codes.insert(csr::ReasonForDefect(static_cast<CsrDefect>(d)));
  }
  CHECK(codes.size() == 12);
  CHECK(std::string(csr::ReasonForDefect(CsrDefect::kNone)) == csr::reason::kCsrUnparseable);
}
