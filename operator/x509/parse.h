// Parsing of CSRs and certificates. Pure functions: no I/O, no global state,
// no clock, never throw; every failure is a Status with a readable message.
// Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "x509/types.h"

namespace certguard::x509 {

// A PKCS#10 request as PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST")
// or DER, read strictly (csr_strict.h): strict DER, version 0, at most one
// attribute and it an extensionRequest with one value, no duplicate extension,
// subject strings PrintableString or UTF8String, allowed key and signature
// algorithms. A bad self-signature is not an error: it is reported in
// signature_valid. InvalidArgument for empty, oversized, truncated,
// trailing-garbage or refused input; *defect (when given) says which kind of
// refusal (kNone on success).
Result<CsrInfo> ParseCsr(std::string_view pem_or_der, CsrDefect* defect = nullptr);

// Exactly one certificate, PEM or DER.
Result<CertificateInfo> ParseCertificate(std::string_view pem_or_der);

// Every certificate of a PEM bundle (text between blocks is ignored) or of a
// single DER certificate. A bad block is reported in errors and the good ones
// are still returned. Non-certificate PEM blocks (keys, CSRs) are reported as
// errors and never returned. Oversized or empty input gives one error.
Bundle ParseBundle(std::string_view pem_or_der);

// "-----BEGIN CERTIFICATE-----\n...": the PEM of a certificate's DER.
std::string ToPem(const CertificateInfo& cert);

}  // namespace certguard::x509
