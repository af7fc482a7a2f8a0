// Kubernetes name rules (apimachinery's validation), written once. Pure.
#pragma once

#include <cstddef>
#include <string_view>

namespace certguard::common {

// A label value, and so a name used as one, holds at most this many characters.
inline constexpr size_t kMaxLabelValue = 63;

// RFC 1123 label (a namespace name): 1-63 of [a-z0-9-], alphanumeric at both ends.
bool IsDnsLabel(std::string_view s);
// RFC 1123 subdomain (a ConfigMap or Node name): 1-253 characters of
// dot-separated RFC 1123 labels.
bool IsDnsSubdomain(std::string_view s);

}  // namespace certguard::common
