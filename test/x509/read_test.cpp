// ReadCertificates: what a file or a field holds, PEM or DER, keys skipped.
#include "x509/read.h"

#include <catch2/catch.hpp>
#include <string>

#include "support/pki.h"

using namespace certguard::testing;
using namespace certguard::x509;

namespace {

// Two CAs, a server certificate and a kubelet client certificate.
struct Pki {
  Cert ca = CertBuilder().Cn("kubernetes").Ca().Serial("01").Build();
  Cert front_ca = CertBuilder().Cn("front-proxy-ca").Ca().Serial("02").Build();
  Cert apiserver = CertBuilder().Cn("kube-apiserver").IssuedBy(ca).Serial("10").Build();
  Cert kubelet = CertBuilder().Cn("system:node:worker-1").O("system:nodes").IssuedBy(ca)
                     .Serial("11").Build();
};

}  // namespace

TEST_CASE("ReadCertificates skips keys, reads bundles and DER, reports bad blocks", "[x509]") {
  Pki pki;
  Key key = Key::Ec();
  // kubelet-client-current.pem: a certificate and its key in one file.
  auto both = ReadCertificates(pki.kubelet.pem + key.PrivatePem());
  CHECK(both.pem);
  REQUIRE(both.certs.size() == 1);
  CHECK(both.errors.empty());

  auto bundle = ReadCertificates(JoinPem({pki.apiserver.pem, pki.ca.pem, pki.front_ca.pem}, "subject=...\n"));
  CHECK(bundle.certs.size() == 3);

  auto der = ReadCertificates(pki.ca.der);
  REQUIRE(der.certs.size() == 1);
  CHECK(der.certs[0].is_ca);
  CHECK_FALSE(der.pem);

  // A DER chain: certificates back to back, each read; a broken tail is named.
  auto chain = ReadCertificates(pki.apiserver.der + pki.ca.der);
  REQUIRE(chain.certs.size() == 2);
  CHECK(chain.errors.empty());
  CHECK(chain.certs[0].subject.ToString() == "CN=kube-apiserver");
  CHECK(chain.certs[1].is_ca);
  auto tail = ReadCertificates(pki.apiserver.der + "\x30\x82\x01");
  CHECK(tail.certs.size() == 1);
  REQUIRE(tail.errors.size() == 1);
  CHECK(tail.errors[0].rfind("DER certificate 2: not a DER certificate", 0) == 0);

  auto key_only = ReadCertificates(key.PrivatePem());
  CHECK(key_only.certs.empty());
  CHECK(key_only.errors.empty());

  std::string broken = "-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n";
  auto mixed = ReadCertificates(broken + pki.ca.pem);
  CHECK(mixed.certs.size() == 1);
  REQUIRE(mixed.errors.size() == 1);
  CHECK(mixed.errors[0].rfind("certificate 1: ", 0) == 0);

  auto garbage = ReadCertificates("hello, world");
  CHECK(garbage.certs.empty());
  REQUIRE(garbage.errors.size() == 1);
  CHECK(garbage.errors[0].find("neither PEM nor a DER certificate") != std::string::npos);
  CHECK(ReadCertificates("").errors.size() == 1);
}
