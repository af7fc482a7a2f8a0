#include "expiry/sources.h"

#include "x509/read.h"

namespace certguard::expiry {

std::map<std::string, SourceCerts> CertificatesOfFields(
    const std::map<std::string, std::string>& fields, const std::string& node) {
  std::map<std::string, SourceCerts> out;
  for (const auto& [key, value] : fields) {
    x509::FileCertificates read = x509::ReadCertificates(value);
    if (read.certs.empty()) continue;
    SourceCerts certs;
    certs.node = node;
    certs.certs.reserve(read.certs.size());
    for (const auto& c : read.certs) certs.certs.push_back(FactsOf(c));
    out.emplace(key, std::move(certs));
  }
  return out;
}

}  // namespace certguard::expiry
