// Parsing JSON that comes from outside (the API server, files, stdin) with a
// bound on nesting: nlohmann copies and compares values recursively, so a
// 100,000-deep document would overflow the stack long after it was parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace certguard::common {

// No Kubernetes object certguard reads comes near this; every recursive walk
// of a value this deep stays within a few hundred KiB of stack.
inline constexpr int kMaxJsonDepth = 200;

// The deepest nesting of arrays and objects in `text` read as JSON ([[1]] is 2),
// brackets inside strings ignored; stops at the first level past `limit`. For
// text that is not JSON the count means nothing (the parser refuses it anyway).
// Linear, no allocation.
int JsonDepth(std::string_view text, int limit);

// One JSON value. InvalidArgument when the text is not JSON, or (checked first,
// before anything is built) nests deeper than `max_depth`. Never throws.
Result<nlohmann::json> ParseJson(std::string_view text, int max_depth = kMaxJsonDepth);

// True for the InvalidArgument of ParseJson that says the text nests too deeply.
bool IsTooDeep(const Status& status);

// v as an integer in [min, max]; nullopt for any other value: a float, a string,
// or an integer out of range. nlohmann keeps integers above INT64_MAX as unsigned
// (get<int64_t> would wrap 18446744073709551615 to -1): they are compared, never cast.
inline std::optional<int64_t> IntIn(const nlohmann::json& v, int64_t min, int64_t max) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (max < 0 || u > static_cast<uint64_t>(max)) return std::nullopt;
    const auto i = static_cast<int64_t>(u);
    if (i < min) return std::nullopt;
    return i;
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < min || i > max) return std::nullopt;
    return i;
  }
  return std::nullopt;
}

}  // namespace certguard::common
