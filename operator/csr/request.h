// The facts of a CertificateSigningRequest (certificates.k8s.io/v1) that a
// decision needs: the spec the API server filled in plus the parsed PKCS#10.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "x509/types.h"

namespace certguard::csr {

// The API server's range of spec.expirationSeconds: at least 600, and an int32.
inline constexpr int64_t kMinExpirationSeconds = 600;
inline constexpr int64_t kMaxExpirationSeconds = 2147483647;

struct CsrRequest {
  std::string name;  // metadata.name
  std::string signer_name;
  std::vector<std::string> usages;
  std::string username;
  std::string uid;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
  // spec.expirationSeconds when it is an integer the API server accepts
  // ([kMinExpirationSeconds, kMaxExpirationSeconds]); otherwise empty, and when the
  // field held another number expiration_error says what (the decision denies it).
  std::optional<int64_t> expiration_seconds;
  std::string expiration_error;
  std::optional<x509::Time> creation_timestamp;
  // spec.request parsed; when it could not be, `csr` is empty, parse_error says
  // why and parse_code is the reason code (reasons.h) of that refusal.
  std::optional<x509::CsrInfo> csr;
  std::string parse_error;
  std::string parse_code;
};

// The reason code (reasons.h) of a refusal by the strict CSR reading.
const char* ReasonForDefect(x509::CsrDefect defect);

// From a CertificateSigningRequest object as JSON. A spec.request that is not
// valid base64 or not a valid CSR is not an error: it is recorded in parse_error
// (and the decision denies it). InvalidArgument when the object is not a
// CertificateSigningRequest or a spec field has the wrong type. Never throws.
Result<CsrRequest> RequestFromObject(const nlohmann::json& object);

}  // namespace certguard::csr
