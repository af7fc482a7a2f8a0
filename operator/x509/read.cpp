#include "x509/read.h"

#include "x509/parse.h"
#include "x509/pem.h"

namespace certguard::x509 {

FileCertificates ReadCertificates(std::string_view content) {
  FileCertificates out;
  out.pem = pem::LooksLikePem(content);
  if (!out.pem) {
    // DER: one certificate or a chain of them back to back (a .der chain).
    Bundle bundle = ParseBundle(content);
    out.certs = std::move(bundle.certificates);
    for (const auto& e : bundle.errors) {
      out.errors.push_back(out.certs.empty() && e.index == 0
                               ? "neither PEM nor a DER certificate: " + e.message
                               : "DER certificate " + std::to_string(e.index + 1) + ": " + e.message);
    }
    return out;
  }
  // Only CERTIFICATE blocks go to the parser: private keys are never decoded.
  std::string certificates;
  for (const auto& block : pem::Scan(content)) {
    if (block.type != "CERTIFICATE") continue;
    certificates.append(content.substr(block.begin, block.end - block.begin));
    certificates += '\n';
  }
  if (certificates.empty()) return out;
  Bundle bundle = ParseBundle(certificates);
  out.certs = std::move(bundle.certificates);
  for (const auto& e : bundle.errors) {
    out.errors.push_back("certificate " + std::to_string(e.index + 1) + ": " + e.message);
  }
  return out;
}

}  // namespace certguard::x509
