#include "expiry/sources.h"

#include "expiry/check.h"

namespace certguard::expiry {

std::map<std::string, SourceCerts> CertificatesOfFields(
    const std::map<std::string, std::string>& fields, const std::string& node) {
  std::map<std::string, SourceCerts> out;
  for (const auto& [key, value] : fields) {
    FileCertificates read = ReadCertificates(value);
    if (read.certs.empty()) continue;
    SourceCerts certs;
    certs.node = node;
    certs.certs.reserve(read.certs.size());
    for (const auto& c : read.certs) certs.certs.push_back(FactsOf(c));
    out.emplace(key, std::move(certs));
  }
  return out;
}

std::string NodeOfKubeletCn(std::string_view subject_cn) {
  constexpr std::string_view kPrefix = "system:node:";
  if (subject_cn.substr(0, kPrefix.size()) != kPrefix || subject_cn.size() == kPrefix.size()) {
    return {};
  }
  return std::string(subject_cn.substr(kPrefix.size()));
}

}  // namespace certguard::expiry
