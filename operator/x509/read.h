// The certificates of a file or a field's decoded value, whichever way it holds
// them: PEM (CERTIFICATE blocks only; keys and other blocks are skipped, never
// decoded) or DER (one certificate, or a chain back to back). Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "x509/types.h"

namespace certguard::x509 {

// What one content holds. After a bad DER certificate the rest cannot be found,
// and the error says which.
struct FileCertificates {
  std::vector<CertificateInfo> certs;
  std::vector<std::string> errors;  // bad CERTIFICATE blocks, or why DER did not parse
  bool pem = false;                 // the text is PEM
};
FileCertificates ReadCertificates(std::string_view content);

}  // namespace certguard::x509
