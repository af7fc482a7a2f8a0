// The strict view of a PKCS#10 request (RFC 2986): read with the strict DER
// reader, accepting only what a kubelet sends and what Go's crypto/x509 (the
// parser kube-apiserver and kube-controller-manager's signers use) reads the
// same way. Anything else is refused with a CsrDefect and a message saying what
// was wrong, so the decision is made on exactly the bytes that get signed.
// Pure: no OpenSSL (the key and the signature are checked by ParseCsr).
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "x509/types.h"

namespace certguard::x509 {

enum class SignatureAlgorithm {
  kEcdsaSha256,
  kEcdsaSha384,
  kEcdsaSha512,
  kRsaSha256,
  kRsaSha384,
  kRsaSha512,
  kEd25519,
};

struct StrictCsr {
  std::string_view tbs;   // CertificationRequestInfo as encoded: the signed bytes
  KeyAlgorithm key_algorithm = KeyAlgorithm::kOther;  // kRsa, kEcdsa or kEd25519
  std::string curve;                                  // "P-256", "P-384", "P-521" for ECDSA
  // The key as read here, so that it is built from these bytes and no second
  // decoder reads the SubjectPublicKeyInfo: the ECDSA point (0x04 || X || Y) or
  // the Ed25519 key; for RSA, the modulus without its sign byte and the exponent.
  std::string_view key;
  std::string_view rsa_modulus;
  int64_t rsa_exponent = 0;
  SignatureAlgorithm signature_algorithm = SignatureAlgorithm::kEcdsaSha256;
  std::string_view signature;
  Name subject;
  SubjectAltNames sans;
  std::vector<std::string> other_extensions;  // names of requested extensions but SAN
};

struct CsrRefusal {
  CsrDefect defect = CsrDefect::kNone;
  std::string message;
};

// Reads `der` (exactly one CertificationRequest, nothing after it). The views in
// *out point into `der`. Returns false with *why filled on any refusal.
bool ReadStrictCsr(std::string_view der, StrictCsr* out, CsrRefusal* why);

// The key type a signature algorithm needs.
KeyAlgorithm KeyAlgorithmFor(SignatureAlgorithm a);

}  // namespace certguard::x509
