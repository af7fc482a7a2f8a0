#include "trust/gap.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "x509/parse.h"

namespace certguard::trust {

std::string GapCheck::Describe() const {
  if (!present) return "missing";
  std::string out;
  for (size_t i = 0; i < missing_fingerprints.size(); ++i) {
    out += (i ? ", " : "lacks ");
    out += (i < missing_subjects.size() ? missing_subjects[i] : std::string("?")) + " (" +
           missing_fingerprints[i] + ")";
  }
  return out;
}

GapCheck CheckConsumer(const std::vector<x509::CertificateInfo>& required,
                       const std::optional<std::string>& consumer_pem, x509::Time now) {
  GapCheck out;
  std::set<std::string> held;
  if (consumer_pem) {
    out.present = true;
    for (const x509::CertificateInfo& c : x509::ParseBundle(*consumer_pem).certificates) {
      held.insert(c.sha256_fingerprint);
    }
  }
  for (const x509::CertificateInfo& c : required) {
    if (c.not_after <= now) continue;
    if (held.count(c.sha256_fingerprint)) continue;
    out.missing_fingerprints.push_back(c.sha256_fingerprint);
    out.missing_subjects.push_back(c.subject.ToString());
  }
  return out;
}

bool ConsumerRef::operator<(const ConsumerRef& o) const {
  return std::tie(ns, name, key) < std::tie(o.ns, o.name, o.key);
}

std::vector<ConsumerRef> ExpandVerify(const std::vector<VerifySpec>& verify,
                                      const std::vector<std::string>& selected) {
  std::set<ConsumerRef> out;
  for (const VerifySpec& v : verify) {
    if (!v.ns.empty()) {
      out.insert({v.ns, v.name, v.key});
      continue;
    }
    for (const std::string& ns : selected) out.insert({ns, v.name, v.key});
  }
  return {out.begin(), out.end()};
}

}  // namespace certguard::trust
