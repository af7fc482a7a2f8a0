// The test PKI builders themselves, checked with OpenSSL directly (not with the
// parser under test), so a builder bug cannot hide a parser bug.
#include "support/pki.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

using namespace certguard::testing;

namespace {

std::unique_ptr<X509, decltype(&X509_free)> ReadCert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return {PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
}

}  // namespace

TEST_CASE("pki: keys are what they say", "[x509][pki]") {
  CHECK(EVP_PKEY_get_bits(Key::Rsa(2048).get()) == 2048);
  CHECK(EVP_PKEY_get_base_id(Key::Ec("P-384").get()) == EVP_PKEY_EC);
  CHECK(EVP_PKEY_get_bits(Key::Ec("P-384").get()) == 384);
  CHECK(EVP_PKEY_get_base_id(Key::Ed25519().get()) == EVP_PKEY_ED25519);
  CHECK(EVP_PKEY_get_base_id(Key::Ed448().get()) == EVP_PKEY_ED448);
  Key k = Key::Ec();
  CHECK_THAT(k.PrivatePem(), Catch::StartsWith("-----BEGIN PRIVATE KEY-----\n"));
  CHECK_THAT(k.PublicPem(), Catch::StartsWith("-----BEGIN PUBLIC KEY-----\n"));
  CHECK(Key::Ec().PublicPem() != k.PublicPem());  // fresh every time
  CHECK_THROWS_AS(Key::Ec("P-999"), std::runtime_error);
}

TEST_CASE("pki: issued certificates verify against their issuer", "[x509][pki]") {
  Cert root = CertBuilder().Cn("root").Ca(1).Key(Key::Rsa(2048)).Build();
  Cert inter = CertBuilder().Cn("inter").Ca(0).IssuedBy(root).Build();
  Cert leaf = CertBuilder().Cn("leaf").IssuedBy(inter).Key(Key::Ed25519()).Build();
  auto r = ReadCert(root.pem), i = ReadCert(inter.pem), l = ReadCert(leaf.pem);
  REQUIRE(r);
  REQUIRE(i);
  REQUIRE(l);
  CHECK(X509_verify(r.get(), X509_get0_pubkey(r.get())) == 1);
  CHECK(X509_verify(i.get(), X509_get0_pubkey(r.get())) == 1);
  CHECK(X509_verify(l.get(), X509_get0_pubkey(i.get())) == 1);
  CHECK(X509_verify(l.get(), X509_get0_pubkey(r.get())) != 1);
  CHECK(X509_check_issued(i.get(), l.get()) == X509_V_OK);
  CHECK(X509_check_ca(r.get()) == 1);
  CHECK(X509_get_pathlen(r.get()) == 1);
  CHECK(X509_check_ca(l.get()) == 0);
  CHECK((X509_get_key_usage(r.get()) & KU_KEY_CERT_SIGN) != 0);
}

TEST_CASE("pki: key usages, extended key usages and validity", "[x509][pki]") {
  using namespace std::chrono;
  certguard::x509::Time nb = sys_days{year{2030} / 1 / 2};
  Cert c = CertBuilder()
               .Cn("server")
               .KeyUsage("critical,digitalSignature,keyEncipherment")
               .ExtKeyUsage("serverAuth,clientAuth")
               .NotBefore(nb)
               .NotAfter(nb + days{10})
               .Build();
  auto x = ReadCert(c.pem);
  REQUIRE(x);
  CHECK(X509_get_key_usage(x.get()) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  CHECK(X509_get_extended_key_usage(x.get()) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
  int day = 0, sec = 0;
  REQUIRE(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x.get()), X509_get0_notAfter(x.get())) ==
          1);
  CHECK(day == 10);
  CHECK(sec == 0);
}

TEST_CASE("pki: CSRs are signed by their key unless told otherwise", "[x509][pki]") {
  auto verify = [](const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(
        d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())), X509_REQ_free);
    REQUIRE(req);
    int r = X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get()));
    ERR_clear_error();
    return r;
  };
  CsrBuilder b = CsrBuilder().Cn("x").Dns("x");
  CHECK(verify(b.Der()) == 1);
  CHECK(verify(CsrBuilder(b).TamperSignature().Der()) != 1);
  CHECK(verify(CsrBuilder(b).SignWith(Key::Ec()).Der()) != 1);
  CHECK(verify(CsrBuilder().Key(Key::Rsa(2048)).TamperSignature().Der()) != 1);
  // The key a builder made is the one in the CSR.
  std::string der = b.Der();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())), X509_REQ_free);
  REQUIRE(req);
  CHECK(EVP_PKEY_eq(b.key().get(), X509_REQ_get0_pubkey(req.get())) == 1);
  CHECK_THROWS_AS(CsrBuilder().Ip("not-an-ip").Der(), std::runtime_error);
  CHECK_THROWS_AS(CsrBuilder().Extension("noSuchExtension", "x").Der(), std::runtime_error);
}
