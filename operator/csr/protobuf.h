// CSRs and Nodes from their protobuf encoding, as the JSON the API server
// would have sent for them: the CSR controller's informers list them as
// protobuf (kube/protobuf.h says why). Pure.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace certguard::csr {

// One item of a CertificateSigningRequestList (certificates.k8s.io/v1): every
// field the JSON carries (a pending CSR's approval is written back from the
// cached object) but metadata.managedFields, which no cache keeps.
// InvalidArgument on malformed bytes, a string that is not UTF-8, or a wire
// type the schema does not have for a field it decodes.
Result<nlohmann::json> DecodeCsrProtobuf(std::string_view bytes);

// One item of a NodeList (v1), as DecodeCsrProtobuf: metadata (but
// managedFields) and status.phase, conditions and addresses. The rest (spec,
// capacity, images, ...) is what the Node informer drops from JSON too
// (kNodeFieldsUnread): never decoded.
Result<nlohmann::json> DecodeNodeProtobuf(std::string_view bytes);

}  // namespace certguard::csr
