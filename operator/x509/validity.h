// The validity period and subject CN of a certificate, read straight from its
// DER with the strict reader (der.h), without OpenSSL. For indexes that hold
// thousands of issued certificates and need only these: OpenSSL 3 decodes the
// public key of every certificate it parses, through its provider lookups,
// which cost more than the rest of a CSR's handling. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "x509/types.h"

namespace certguard::x509 {

struct LeafValidity {
  Time not_before{};
  Time not_after{};
  // The subject's one CN; nullopt when there is none or several. A CN of
  // another type than UTF8String, PrintableString or IA5String is refused.
  std::optional<std::string> subject_cn;
};

// One DER certificate: SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
// with nothing after it. The TBS is walked as far as the subject (version,
// serial, signature algorithm, issuer, validity, subject); what follows is
// not read. Times: UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ, as
// RFC 5280 requires. InvalidArgument otherwise. Checks no signature: for
// certificates already trusted by where they come from (an issued CSR).
Result<LeafValidity> ReadLeafValidity(std::string_view der);

// The same for PEM text holding exactly one CERTIFICATE block (and no other
// block); InvalidArgument otherwise.
Result<LeafValidity> ReadSinglePemValidity(std::string_view pem);

}  // namespace certguard::x509
