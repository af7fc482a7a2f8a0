// Kubernetes API errors as Status values: the HTTP code and the `Status` body
// the API server sends become common/status.h codes. Pure.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/status.h"
#include "kube/http.h"

namespace certguard::kube {

// OK for 2xx. Otherwise: 404 NotFound, 409 AlreadyExists or Conflict (by the
// Status reason), 410 Gone, 401 Unauthorized, 403 Forbidden, 429
// TooManyRequests (Retry-After header or details.retryAfterSeconds), 400/422
// InvalidArgument, 504 DeadlineExceeded, other 5xx Unavailable. The message is
// the Status message when the body is one, else the start of the body.
Status StatusFromHttp(int http_status, const Headers& headers, std::string_view body);

// A Status object (from a watch ERROR event or a response body) as a Status.
Status StatusFromStatusObject(const nlohmann::json& status);

}  // namespace certguard::kube
