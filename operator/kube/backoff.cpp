#include "kube/backoff.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

namespace certguard::kube {

Duration Backoff::Delay(uint64_t attempt, double unit) const {
  double base = static_cast<double>(std::max<Duration::rep>(initial.count(), 0));
  double cap = static_cast<double>(std::max<Duration::rep>(max.count(), 0));
  double f = factor < 1.0 ? 1.0 : factor;
  // Exponent capped so the power cannot overflow to inf/NaN.
  double d = base * std::pow(f, static_cast<double>(std::min<uint64_t>(attempt, 1000)));
  double j = std::clamp(jitter, 0.0, 10.0);
  double u = std::clamp(unit, 0.0, 1.0);
  // The jitter comes on top of the base, so the base stops at max / (1 + j):
  // the jittered delay then never passes max.
  double top = cap / (1.0 + j);
  if (!std::isfinite(d) || d > top) d = top;
  d += d * j * u;
  if (d > cap) d = cap;
  return Duration(static_cast<Duration::rep>(d));
}

double RandomUnit() {
  static std::mutex mu;
  static std::mt19937_64 gen{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

TokenBucket::TokenBucket(double qps, int burst, Clock::time_point now)
    : qps_(qps), burst_(std::max(burst, 1)), tokens_(std::max(burst, 1)), last_(now) {}

void TokenBucket::Refill(Clock::time_point now) {
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
    last_ = now;
  }
}

Duration TokenBucket::Reserve(Clock::time_point now) {
  if (qps_ <= 0) return Duration(0);
  Refill(now);
  tokens_ -= 1.0;
  if (tokens_ >= 0) return Duration(0);
  double wait_s = -tokens_ / qps_;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_s));
}

bool TokenBucket::TryTake(Clock::time_point now) {
  if (qps_ <= 0) return true;
  Refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

}  // namespace certguard::kube
