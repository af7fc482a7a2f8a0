#include "common/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <string>

namespace certguard::common {

namespace {

// Milliseconds per unit; 0 when the unit is unknown.
int64_t UnitMillis(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 60 * 60 * 1000;
  return 0;
}

}  // namespace

Result<Millis> ParseDuration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return InvalidArgument("empty duration");
  if (text == "0") return Millis(0);
  if (text[0] == '-' || text[0] == '+') {
    return InvalidArgument("duration " + quoted + " must not have a sign");
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 4;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    // Whole part and fraction are kept apart, in integers, so that "1.001s"
    // is exactly 1001 ms.
    int64_t whole = 0;
    int64_t frac = 0, frac_scale = 1;
    bool digits = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (whole > kMax / 10) return InvalidArgument("duration " + quoted + " is too large");
      whole = whole * 10 + (text[i] - '0');
      ++i;
      digits = true;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (frac_scale < 1000000000000LL) {  // finer digits cannot reach a millisecond
          frac = frac * 10 + (text[i] - '0');
          frac_scale *= 10;
        }
        ++i;
        digits = true;
      }
    }
    if (!digits) return InvalidArgument("duration " + quoted + ": expected a number");
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return InvalidArgument("duration " + quoted + ": missing unit (ms, s, m, h)");
    }
    int64_t per = UnitMillis(unit);
    if (per == 0) {
      return InvalidArgument("duration " + quoted + ": unknown unit \"" + std::string(unit) +
                             "\" (ms, s, m, h)");
    }
    if (whole > (kMax - total) / per) return InvalidArgument("duration " + quoted + " is too large");
    // frac < frac_scale <= 1e12 and per <= 3.6e6: the product fits in int64.
    total += whole * per + frac * per / frac_scale;
  }
  return Millis(total);
}

std::string FormatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  int64_t h = ms / 3600000;
  int64_t m = (ms / 60000) % 60;
  int64_t s = (ms / 1000) % 60;
  int64_t frac = ms % 1000;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) {
    if (m > 0 || s > 0 || frac > 0) out += std::to_string(m) + "m";
  }
  if (s > 0 || frac > 0) {
    out += std::to_string(s);
    if (frac > 0) {
      std::string f = std::to_string(frac);
      f.insert(0, 3 - f.size(), '0');
      while (!f.empty() && f.back() == '0') f.pop_back();
      out += "." + f;
    }
    out += "s";
  }
  return out;
}

}  // namespace certguard::common
