// Durations as Go and Kubernetes write them: "15s", "10m", "1h30m", "500ms",
// "1.5h", "0". Used by every flag that takes a time span. Pure, thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace certguard::common {

using Millis = std::chrono::milliseconds;

// A sequence of decimal numbers (fraction allowed), each with a unit: ms, s,
// m, h. "0" alone needs no unit. Precision is one millisecond (finer parts
// are truncated). InvalidArgument for an empty text, a sign, a number
// without a unit, an unknown unit, or a value beyond ~290 years.
Result<Millis> ParseDuration(std::string_view text);

// The shortest Go-style text: "1h30m", "15s", "2.5s", "250ms", "0s".
std::string FormatDuration(Millis d);

}  // namespace certguard::common
