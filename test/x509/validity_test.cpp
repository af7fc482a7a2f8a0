// ReadLeafValidity and ReadSinglePemValidity: what they read agrees with
// ParseCertificate (OpenSSL), and each refusal.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/pki.h"
#include "x509/parse.h"
#include "x509/validity.h"

using certguard::Code;
using namespace certguard::testing;
using namespace certguard::x509;
using namespace std::chrono;

namespace {

// `der` with the tag of every CN value (issuer's and subject's) set to `tag`.
std::string RetagCns(std::string der, char tag) {
  const std::string cn_type("\x06\x03\x55\x04\x03", 5);
  size_t n = 0;
  for (size_t at = der.find(cn_type); at != std::string::npos; at = der.find(cn_type, at + 1)) {
    der[at + 5] = tag;
    ++n;
  }
  REQUIRE(n > 0);
  return der;
}

}  // namespace

TEST_CASE("ReadLeafValidity agrees with ParseCertificate", "[x509][validity]") {
  auto [cert, cn] = GENERATE(
      std::pair{CertBuilder().Cn("system:node:n1").O("system:nodes")
                    .NotBefore(At(2026, 12, 6, 3, 4, 5)).NotAfter(At(2027, 12, 6, 3, 4, 5)).Build(),
                std::optional<std::string>("system:node:n1")},
      // 2050 and after: GeneralizedTime.
      std::pair{CertBuilder().Cn("late").NotBefore(At(1999, 1, 2)).NotAfter(At(2051, 2, 28, 23, 59, 59)).Build(),
                std::optional<std::string>("late")},
      std::pair{CertBuilder().O("no-cn").NotBefore(At(2026, 1, 1)).NotAfter(At(2026, 2, 1)).Build(),
                std::optional<std::string>()},
      std::pair{CertBuilder().Cn("a").Cn("b").NotBefore(At(2026, 1, 1)).NotAfter(At(2026, 2, 1)).Build(),
                std::optional<std::string>()});
  auto full = ParseCertificate(cert.der);
  REQUIRE(full.ok());
  auto fast = ReadLeafValidity(cert.der);
  REQUIRE(fast.ok());
  CHECK(fast->not_before == full->not_before);
  CHECK(fast->not_after == full->not_after);
  CHECK(fast->subject_cn == full->subject.CommonName());
  CHECK(fast->subject_cn == cn);
  auto pem = ReadSinglePemValidity(cert.pem);
  REQUIRE(pem.ok());
  CHECK(pem->not_after == full->not_after);
}

TEST_CASE("ReadLeafValidity refuses what is not one DER certificate", "[x509][validity]") {
  const std::string der =
      CertBuilder().Cn("x").NotBefore(At(2026, 1, 1)).NotAfter(At(2027, 1, 1)).Der();
  CHECK(ReadLeafValidity("").status().code() == Code::kInvalidArgument);
  CHECK(ReadLeafValidity("not der").status().code() == Code::kInvalidArgument);
  CHECK(!ReadLeafValidity(der + "x").ok());                      // trailing bytes
  CHECK(!ReadLeafValidity(der.substr(0, der.size() - 1)).ok());  // truncated
  std::string bad_time = der;
  size_t z = bad_time.find("0101000000Z");
  REQUIRE(z != std::string::npos);
  bad_time[z + 10] = 'X';  // not Zulu
  CHECK(!ReadLeafValidity(bad_time).ok());
  std::string bad_month = der;
  bad_month[z] = '1';
  bad_month[z + 1] = '3';  // month 13
  CHECK(!ReadLeafValidity(bad_month).ok());
  CHECK(ReadLeafValidity(RetagCns(der, 0x13)).ok());    // PrintableString
  CHECK(!ReadLeafValidity(RetagCns(der, 0x1e)).ok());   // BMPString: left to OpenSSL
}

TEST_CASE("ReadSinglePemValidity wants exactly one CERTIFICATE block", "[x509][validity]") {
  const std::string a = CertBuilder().Cn("a").Pem();
  const std::string b = CertBuilder().Cn("b").Pem();
  CHECK(ReadSinglePemValidity(a).ok());
  CHECK(!ReadSinglePemValidity(a + b).ok());
  CHECK(!ReadSinglePemValidity("").ok());
  std::string req = certguard::testing::CsrBuilder().Subject({{"CN", "x"}}).Pem();
  CHECK(!ReadSinglePemValidity(req).ok());
}
