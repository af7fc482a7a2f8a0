// Backoff and client-side rate limiting. Pure: time and randomness come in as
// arguments, so the bounds are testable.
#pragma once

#include <chrono>
#include <cstdint>

namespace certguard::kube {

using Duration = std::chrono::nanoseconds;
using WallClock = std::chrono::system_clock;

// Exponential backoff: delay(n) = initial * factor^n plus up to `jitter` times
// itself (jitter 0.5 -> [d, 1.5 d]), never over `max`: once the jittered range
// would pass it, the range is [max / (1 + jitter), max], so retries at the cap
// stay spread out. Thread-compatible (const).
struct Backoff {
  Duration initial = std::chrono::milliseconds(5);
  Duration max = std::chrono::seconds(1000);
  double factor = 2.0;
  double jitter = 0.0;

  // Delay before retry number `attempt` (0 = first retry). `unit` in [0, 1)
  // picks the jitter; never exceeds max; never negative.
  Duration Delay(uint64_t attempt, double unit = 0.0) const;
};

// A uniform number in [0, 1) from a process-wide generator. Thread-safe.
double RandomUnit();

// Token bucket: `qps` tokens per second, at most `burst` stored; starts full.
// Not thread-safe (callers lock).
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double qps, int burst, Clock::time_point now);

  // Takes one token and returns how long to wait before using it (zero when one
  // was available). Tokens may go negative: waiters queue up in order.
  // qps <= 0 means unlimited.
  Duration Reserve(Clock::time_point now);

  // Takes a token only when one is there: true if taken. A refusal spends
  // nothing, so a caller that drops what it cannot send now is not held
  // back longer for having been refused.
  bool TryTake(Clock::time_point now);

 private:
  void Refill(Clock::time_point now);

  double qps_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace certguard::kube
