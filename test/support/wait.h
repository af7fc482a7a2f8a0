// Waiting for a condition in tests: poll until it holds or a deadline passes,
// instead of sleeping a fixed time and hoping.
#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

namespace certguard::testing {

// Sanitized builds run several times slower: $CERTGUARD_TEST_TIME_SCALE (a number >= 1, default 1;
// the sanitizer targets of the Makefile set it) multiplies every deadline of WaitFor and
// Eventually, never a bound a test asserts on.
inline double TimeScale() {
  static const double scale = [] {
    const char* v = std::getenv("CERTGUARD_TEST_TIME_SCALE");
    double s = v != nullptr ? std::strtod(v, nullptr) : 1.0;
    return s >= 1.0 ? s : 1.0;
  }();
  return scale;
}

template <class Rep, class Period>
std::chrono::milliseconds Scaled(std::chrono::duration<Rep, Period> d) {
  return std::chrono::milliseconds(static_cast<long long>(
      std::chrono::duration<double, std::milli>(d).count() * TimeScale()));
}

// True as soon as `pred` holds; false if it still does not after `limit` times TimeScale()
// (checked one last time at the deadline). `poll` paces calls that cost an API request.
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds limit = std::chrono::seconds(5),
                    std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  auto end = std::chrono::steady_clock::now() + Scaled(limit);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

}  // namespace certguard::testing
