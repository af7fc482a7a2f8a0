// Test-time PKI: keys, CSRs and certificates minted with OpenSSL while the test
// runs, so no test depends on checked-in material that expires.
//
//   using namespace certguard::testing;
//   Key k = Key::Ec("P-256");                  // also Key::Rsa(2048), Key::Ed25519(), Key::Ed448()
//   std::string csr = CsrBuilder()
//       .Subject({{"O", "system:nodes"}, {"CN", "system:node:worker-1"}})  // in this order
//       .Dns("worker-1").Ip("10.0.0.11")       // SANs; also .Email(), .Uri(), .IpBytes()
//       .Key(k).Pem();                         // or .Der()
//   CsrBuilder().Cn("x").TamperSignature().Pem();  // self-signature does not verify
//   CsrBuilder().Cn("x").SignWith(Key::Ec()).Pem(); // signed by a key other than its own
//   CsrBuilder().Cn("x").KeyUsage("digitalSignature").ExtKeyUsage("clientAuth")
//       .Extension("basicConstraints", "critical,CA:TRUE");  // any openssl-config extension
//
//   Cert ca = CertBuilder().Cn("root").Ca().Build();          // self-signed CA
//   Cert leaf = CertBuilder().Cn("leaf").Dns("a.example").IssuedBy(ca)
//       .NotBefore(t0).NotAfter(t0 + days{30}).Serial("0A1B").Build();
//   leaf.pem; leaf.der; leaf.key;
//
// Defaults: a fresh P-256 key, an empty subject (CSR) or CN=certguard-test (certificate),
// validity from one hour ago to 365 days ahead, a random positive serial, self-signed.
// Builders are values: copy one to make variants. Failures throw std::runtime_error with
// OpenSSL's reason (test code only; Catch2 reports it as a failed test).
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "x509/types.h"

namespace certguard::testing {

using Attributes = std::vector<std::pair<std::string, std::string>>;

class Key {
 public:
  static Key Rsa(int bits = 2048);
  static Key Ec(std::string_view curve = "P-256");  // "P-256", "P-384", "P-521" or an OpenSSL name
  static Key Ed25519();
  static Key Ed448();

  std::string PrivatePem() const;  // PKCS#8 "PRIVATE KEY"
  std::string PublicPem() const;   // "PUBLIC KEY"
  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  explicit Key(std::shared_ptr<EVP_PKEY> pkey) : pkey_(std::move(pkey)) {}
  std::shared_ptr<EVP_PKEY> pkey_;
};

struct Extension {
  std::string name;   // "keyUsage", "1.2.3.4", ...
  std::string value;  // openssl config syntax: "critical,digitalSignature", "DER:05:00"
};

// The parts CsrBuilder and CertBuilder share.
struct NameAndSans {
  Attributes subject;
  std::vector<std::string> dns, ips, emails, uris;
  std::vector<std::string> raw_ips;  // raw octets of an iPAddress SAN, any length
  std::vector<Extension> extensions;
};

class CsrBuilder {
 public:
  CsrBuilder& Subject(Attributes attributes);                 // replaces the subject
  CsrBuilder& Attribute(std::string type, std::string value);  // appends one attribute
  CsrBuilder& Cn(std::string cn) { return Attribute("CN", std::move(cn)); }
  CsrBuilder& O(std::string o) { return Attribute("O", std::move(o)); }
  CsrBuilder& Dns(std::string name);
  CsrBuilder& Ip(std::string text);  // parsed by OpenSSL (a2i_IPADDRESS)
  CsrBuilder& IpBytes(std::string raw);
  CsrBuilder& Email(std::string email);
  CsrBuilder& Uri(std::string uri);
  // Any extension in openssl config syntax. A "subjectAltName" here is added as a
  // second SAN extension when Dns/Ip/... were used too.
  CsrBuilder& Extension(std::string name, std::string value);
  CsrBuilder& KeyUsage(std::string value) { return Extension("keyUsage", std::move(value)); }
  CsrBuilder& ExtKeyUsage(std::string value) {
    return Extension("extendedKeyUsage", std::move(value));
  }
  CsrBuilder& Key(::certguard::testing::Key key);
  CsrBuilder& SignWith(::certguard::testing::Key other);  // sign with a key not in the CSR
  CsrBuilder& TamperSignature();                          // flip a bit of the signature

  std::string Der() const;
  std::string Pem() const;
  const ::certguard::testing::Key& key() const;  // the key in the CSR (created on first use)

 private:
  NameAndSans parts_;
  mutable std::optional<::certguard::testing::Key> key_;
  std::optional<::certguard::testing::Key> signer_;
  bool tamper_ = false;
};

// A certificate with its key, able to issue others.
struct Cert {
  std::string pem;
  std::string der;
  ::certguard::testing::Key key;
  std::shared_ptr<X509> x509;
};

class CertBuilder {
 public:
  CertBuilder& Subject(Attributes attributes);
  CertBuilder& Attribute(std::string type, std::string value);
  CertBuilder& Cn(std::string cn) { return Attribute("CN", std::move(cn)); }
  CertBuilder& O(std::string o) { return Attribute("O", std::move(o)); }
  CertBuilder& Dns(std::string name);
  CertBuilder& Ip(std::string text);
  CertBuilder& IpBytes(std::string raw);
  CertBuilder& Email(std::string email);
  CertBuilder& Uri(std::string uri);
  CertBuilder& Extension(std::string name, std::string value);
  // basicConstraints critical,CA:TRUE (with pathlen if given) plus keyUsage
  // keyCertSign,cRLSign unless KeyUsage() is set.
  CertBuilder& Ca(std::optional<int> path_len = std::nullopt);
  CertBuilder& KeyUsage(std::string value);     // "critical,digitalSignature,keyEncipherment"
  CertBuilder& ExtKeyUsage(std::string value);  // "serverAuth,clientAuth"
  CertBuilder& NotBefore(x509::Time t);
  CertBuilder& NotAfter(x509::Time t);
  CertBuilder& Serial(std::string hex);  // upper- or lower-case hex
  CertBuilder& Key(::certguard::testing::Key key);
  CertBuilder& IssuedBy(const Cert& issuer);  // default: self-signed

  Cert Build() const;
  std::string Pem() const { return Build().pem; }
  std::string Der() const { return Build().der; }

 private:
  NameAndSans parts_;
  bool ca_ = false;
  std::optional<int> path_len_;
  std::optional<std::string> key_usage_;
  std::optional<x509::Time> not_before_, not_after_;
  std::optional<std::string> serial_;
  std::optional<::certguard::testing::Key> key_;
  std::optional<Cert> issuer_;
};

// Several PEM texts joined, optionally with text between them as openssl prints it.
std::string JoinPem(const std::vector<std::string>& pems, std::string_view between = "");

// Base64 on one line, as Kubernetes writes []byte fields (a CSR's spec.request,
// a Secret's data) and kubeconfig *-data fields.
std::string Base64(std::string_view bytes);

// An instant in UTC from its calendar fields, for validity periods: At(2030, 1, 2, 3, 4, 5).
inline x509::Time At(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss};
}

}  // namespace certguard::testing
