#include "trust/build.h"

#include <openssl/evp.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "x509/parse.h"

namespace certguard::trust {
namespace {

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

}  // namespace

const char* SourceErrorReasonName(SourceErrorReason r) {
  switch (r) {
    case SourceErrorReason::kUnreadable:
      return "Unreadable";
    case SourceErrorReason::kEmpty:
      return "Empty";
    case SourceErrorReason::kInvalidBlock:
      return "InvalidBlock";
  }
  return "Unknown";
}

std::string BundleFingerprint(std::string_view pem) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(pem.data(), pem.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

BuildResult Build(const std::vector<SourceContent>& sources, const BuildOptions& options,
                  x509::Time now) {
  BuildResult out;
  std::set<std::string> seen;
  for (const SourceContent& src : sources) {
    if (!src.read_status.ok()) {
      out.issues.push_back({src.id, SourceErrorReason::kUnreadable, src.read_status.ToString()});
      continue;
    }
    size_t found = 0;
    bool had_error = false;
    for (const auto& [key, text] : src.entries) {
      if (IsBlank(text)) continue;
      x509::Bundle parsed = x509::ParseBundle(text);
      found += parsed.certificates.size();
      if (!parsed.errors.empty()) {
        had_error = true;
        std::string msg;
        for (const x509::BlockError& e : parsed.errors) {
          if (!msg.empty()) msg += "; ";
          msg += (key.empty() ? "" : "key " + key + ": ") + "block " + std::to_string(e.index) +
                 ": " + e.message;
        }
        out.issues.push_back({src.id, SourceErrorReason::kInvalidBlock, msg});
      }
      for (x509::CertificateInfo& cert : parsed.certificates) {
        if (options.ca_only && !cert.is_ca) {
          ++out.dropped_non_ca;
        } else if (options.drop_expired && cert.not_after <= now) {
          ++out.dropped_expired;
        } else if (!seen.insert(cert.sha256_fingerprint).second) {
          ++out.duplicates;
        } else {
          out.certificates.push_back(std::move(cert));
        }
      }
    }
    if (found == 0 && !had_error) {
      out.issues.push_back({src.id, SourceErrorReason::kEmpty, "no certificate in the source"});
    }
  }

  std::sort(out.certificates.begin(), out.certificates.end(),
            [](const x509::CertificateInfo& a, const x509::CertificateInfo& b) {
              return std::make_tuple(a.subject.ToString(), a.not_before, a.sha256_fingerprint) <
                     std::make_tuple(b.subject.ToString(), b.not_before, b.sha256_fingerprint);
            });
  for (const x509::CertificateInfo& cert : out.certificates) {
    out.pem += x509::ToPem(cert);
    if (out.pem.back() != '\n') out.pem += '\n';
    if (!out.earliest_not_after || cert.not_after < *out.earliest_not_after) {
      out.earliest_not_after = cert.not_after;
    }
  }
  if (!out.pem.empty()) out.fingerprint = BundleFingerprint(out.pem);
  return out;
}

std::string DigestMarker(std::string_view value) { return "\x01" + BundleFingerprint(value); }

bool IsDigestMarker(std::string_view value) {
  return value.size() > 8 && value[0] == '\x01' && value.substr(1, 7) == "sha256:";
}

Publish DecidePublish(const BuildResult& build, std::string_view last_good_pem) {
  if (build.publishable()) return {build.pem, false};
  if (!IsBlank(last_good_pem)) return {std::string(last_good_pem), true};
  return {};
}

}  // namespace certguard::trust
