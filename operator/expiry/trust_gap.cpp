#include "expiry/trust_gap.h"

#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "expiry/check.h"
#include "x509/der.h"
#include "x509/read.h"

namespace certguard::expiry {

namespace {

// The subject and subjectPublicKeyInfo encodings of a certificate's DER, or
// empty ones when it cannot be walked (it was parsed already: that never happens).
std::pair<std::string_view, std::string_view> SubjectAndKey(std::string_view der) {
  using namespace x509::der;
  Reader outer(der);
  Element cert, tbs, skip, subject, spki;
  if (!outer.Read(kSequence, &cert, "certificate")) return {};
  Reader in = Reader::Of(cert);
  if (!in.Read(kSequence, &tbs, "tbsCertificate")) return {};
  Reader t = Reader::Of(tbs);
  bool present = false;
  if (!t.ReadOptional(kContext | kConstructed | 0, &skip, &present, "version")) return {};
  for (const char* what : {"serialNumber", "signature", "issuer", "validity"}) {
    if (!t.ReadAny(&skip, what)) return {};
  }
  if (!t.Read(kSequence, &subject, "subject") || !t.Read(kSequence, &spki, "subjectPublicKeyInfo")) {
    return {};
  }
  return {subject.encoding, spki.encoding};
}

bool Trusts(const std::vector<x509::CertificateInfo>& held, const x509::CertificateInfo& ca,
            x509::Time now) {
  const auto want = SubjectAndKey(ca.der);
  for (const auto& h : held) {
    if (h.der == ca.der) return true;
    if (h.not_after < now || want.first.empty()) continue;
    if (SubjectAndKey(h.der) == want) return true;
  }
  return false;
}

}  // namespace

TrustGap ComputeTrustGap(const std::vector<ClusterTrust>& clusters,
                         const std::vector<x509::CertificateInfo>& reference, x509::Time now) {
  TrustGap gap;
  std::vector<bool> lacking(reference.size(), false);
  for (const ClusterTrust& c : clusters) {
    const std::string entry = "cluster " + c.name;
    if (c.insecure) continue;
    std::vector<x509::CertificateInfo> held;
    if (!c.ca_error.empty()) {
      gap.reasons.push_back(entry + ": " + c.ca_error);
    } else if (c.ca_source.empty()) {
      gap.reasons.push_back(entry + ": no certificate-authority: it trusts only the system's roots");
    } else {
      x509::FileCertificates read = x509::ReadCertificates(c.ca);
      held = std::move(read.certs);
      for (const auto& e : read.errors) gap.reasons.push_back(entry + ": " + c.ca_source + ": " + e);
      if (held.empty() && read.errors.empty()) {
        gap.reasons.push_back(entry + ": " + c.ca_source + ": no certificate found");
      }
    }
    for (size_t i = 0; i < reference.size(); ++i) {
      if (reference[i].not_after < now) continue;
      if (!Trusts(held, reference[i], now)) lacking[i] = true;
    }
  }
  std::set<std::string> seen;  // the same CA twice in the reference is one gap
  for (size_t i = 0; i < reference.size(); ++i) {
    if (lacking[i] && seen.insert(reference[i].der).second) {
      gap.missing.push_back(reference[i].subject.ToString());
    }
  }
  return gap;
}

bool InTrustScope(const std::string& source, const std::vector<std::string>& scope) {
  if (scope.empty()) return true;
  for (std::string p : scope) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (source == p) return true;
    const std::string dir = p == "/" ? p : p + "/";
    if (source.compare(0, dir.size(), dir) == 0) return true;
  }
  return false;
}

void AttachTrustGaps(std::vector<Finding>& findings, const std::vector<KubeconfigGap>& gaps) {
  std::map<std::string, const TrustGap*> by_source;
  for (const auto& g : gaps) by_source.emplace(g.source, &g.gap);
  std::set<std::string> attached;
  for (Finding& f : findings) {
    if (f.kubeconfig.empty()) continue;
    auto it = by_source.find(f.kubeconfig);
    if (it == by_source.end()) continue;
    f.trust_gap = it->second->missing;
    f.trust_gap_reasons = it->second->reasons;
    attached.insert(f.kubeconfig);
  }
  for (const auto& g : gaps) {
    if (attached.count(g.source) != 0) continue;
    std::string why = "no certificate listed for this kubeconfig (none, or listed under another name)";
    for (const auto& r : g.gap.reasons) why += "; " + r;
    Finding f{g.source, std::nullopt, std::move(why), g.source};
    f.trust_gap = g.gap.missing;
    f.trust_gap_reasons = g.gap.reasons;
    findings.push_back(std::move(f));
  }
}

}  // namespace certguard::expiry
