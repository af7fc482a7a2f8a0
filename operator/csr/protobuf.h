// A CertificateSigningRequest (certificates.k8s.io/v1) from its protobuf
// encoding, as the JSON the API server would have sent for it: the CSR
// informer lists CSRs as protobuf (kube/protobuf.h says why). Every field
// the JSON carries is decoded (a pending CSR's approval is written back from
// the cached object) except metadata.managedFields, which no cache keeps.
// Pure.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace certguard::csr {

// One item of a CertificateSigningRequestList. InvalidArgument on malformed
// bytes, a string that is not UTF-8, or a wire type the schema does not have.
Result<nlohmann::json> DecodeCsrProtobuf(std::string_view bytes);

}  // namespace certguard::csr
