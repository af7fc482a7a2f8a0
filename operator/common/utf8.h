// UTF-8 checked as Go's unicode/utf8.Valid checks it: what a certificate's
// UTF8String and a Kubernetes string may hold.
#pragma once

#include <string_view>

namespace certguard::common {

// Well-formed UTF-8: no overlong forms, no surrogates, at most U+10FFFF.
bool IsValidUtf8(std::string_view s);

}  // namespace certguard::common
