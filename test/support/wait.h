// Waiting for a condition in tests: poll until it holds or a deadline passes,
// instead of sleeping a fixed time and hoping.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace certguard::testing {

// True as soon as `pred` holds; false if it still does not after `limit`
// (checked one last time at the deadline). `poll` paces calls that cost an API request.
inline bool WaitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds limit = std::chrono::seconds(5),
                    std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

}  // namespace certguard::testing
