#include "kube/backoff.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "kube/informer.h"

using namespace std::chrono_literals;
using certguard::kube::Backoff;
using certguard::kube::Duration;
using certguard::kube::TokenBucket;

TEST_CASE("Backoff doubles from initial and stops at max", "[kube][backoff]") {
  Backoff b{5ms, 1000s, 2.0, 0.0};
  CHECK(b.Delay(0) == Duration(5ms));
  CHECK(b.Delay(1) == Duration(10ms));
  CHECK(b.Delay(10) == Duration(5120ms));
  CHECK(b.Delay(17) == Duration(655360ms));
  CHECK(b.Delay(18) == Duration(1000s));   // 1310.72 s capped
  CHECK(b.Delay(64) == Duration(1000s));
  CHECK(b.Delay(1u << 30) == Duration(1000s));  // no overflow
  CHECK(b.Delay(~0ull) == Duration(1000s));
}

TEST_CASE("Backoff jitter stays between d and d times 1 plus jitter", "[kube][backoff]") {
  Backoff b{100ms, 10s, 2.0, 0.5};
  for (uint64_t n = 0; n < 20; ++n) {
    // Below the cap the base doubles; near it, the base stops at max / 1.5.
    Duration base = std::min(Backoff{100ms, 10s, 2.0, 0.0}.Delay(n),
                             std::chrono::duration_cast<Duration>(10s / 1.5));
    for (double u : {0.0, 0.25, 0.999999, certguard::kube::RandomUnit()}) {
      Duration d = b.Delay(n, u);
      CHECK(d >= base);
      CHECK(d <= base + base / 2);
      CHECK(d <= Duration(10s));
    }
  }
  // Out-of-range inputs are clamped, not trusted.
  CHECK(b.Delay(0, 5.0) == Duration(150ms));
  CHECK(b.Delay(0, -1.0) == Duration(100ms));
}

TEST_CASE("Backoff with jitter never passes max and stays spread at it", "[kube][backoff]") {
  // The informer's reconnect backoff: 0.8 s doubling, jitter up to 100%, 30 s cap.
  Backoff b{800ms, 30s, 2.0, 1.0};
  for (uint64_t n = 0; n < 70; ++n) {
    for (double u : {0.0, 0.5, 0.9, 0.999999, 1.0}) {
      INFO("attempt " << n << ", unit " << u);
      CHECK(b.Delay(n, u) <= Duration(30s));
    }
  }
  CHECK(b.Delay(0, 0.0) == Duration(800ms));  // below the cap: as before
  CHECK(b.Delay(0, 0.5) == Duration(1200ms));
  CHECK(b.Delay(3, 0.0) == Duration(6400ms));
  // At the cap the delays still spread over [15 s, 30 s], not all at 30 s.
  CHECK(b.Delay(40, 0.0) == Duration(15s));
  CHECK(b.Delay(40, 0.5) == Duration(22500ms));
  CHECK(b.Delay(40, 0.999999) > Duration(29900ms));
  CHECK(b.Delay(~0ull, 1.0) == Duration(30s));
  // That is the informer's default, documented as capped at 30 s.
  Backoff informer = certguard::kube::InformerOptions{}.retry_backoff;
  CHECK(informer.max == Duration(30s));
  CHECK(informer.jitter > 0.0);
  for (uint64_t n = 0; n < 70; ++n) CHECK(informer.Delay(n, 0.999999) <= Duration(30s));
}

TEST_CASE("Backoff with odd parameters never goes negative", "[kube][backoff]") {
  CHECK(Backoff{-5ms, 1s, 2.0, 0.0}.Delay(3) == Duration(0));
  CHECK(Backoff{5ms, 1s, 0.5, 0.0}.Delay(3) == Duration(5ms));  // factor < 1 treated as 1
  CHECK(Backoff{5ms, 1ms, 2.0, 0.0}.Delay(0) == Duration(1ms));  // max below initial
}

TEST_CASE("Random units lie between 0 and 1", "[kube][backoff]") {
  for (int i = 0; i < 1000; ++i) {
    double u = certguard::kube::RandomUnit();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
  }
}

TEST_CASE("Token bucket: burst at once, then qps", "[kube][backoff]") {
  auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket tb(10.0, 3, t0);
  CHECK(tb.Reserve(t0) == Duration(0));
  CHECK(tb.Reserve(t0) == Duration(0));
  CHECK(tb.Reserve(t0) == Duration(0));
  // Out of tokens: the next waits 100 ms, the one after 200 ms.
  CHECK(tb.Reserve(t0) == Duration(100ms));
  CHECK(tb.Reserve(t0) == Duration(200ms));
  // After 300 ms the debt is paid and one token earned.
  auto t1 = t0 + 300ms;
  CHECK(tb.Reserve(t1) <= Duration(1us));
  Duration next = tb.Reserve(t1);
  CHECK(next >= Duration(99ms));
  CHECK(next <= Duration(101ms));
  // A long idle refills only up to burst.
  auto t2 = t1 + 1h;
  for (int i = 0; i < 3; ++i) CHECK(tb.Reserve(t2) == Duration(0));
  CHECK(tb.Reserve(t2) > Duration(0));
}

TEST_CASE("Token bucket: TryTake takes only what is there and a refusal costs nothing",
          "[kube][backoff]") {
  auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket tb(10.0, 2, t0);
  CHECK(tb.TryTake(t0));
  CHECK(tb.TryTake(t0));
  // Refused again and again: no debt builds up.
  for (int i = 0; i < 5; ++i) CHECK_FALSE(tb.TryTake(t0));
  CHECK_FALSE(tb.TryTake(t0 + 99ms));
  CHECK(tb.TryTake(t0 + 100ms));  // one token earned in 100 ms at 10 qps
  CHECK_FALSE(tb.TryTake(t0 + 100ms));
  // A long idle refills only up to burst.
  auto t1 = t0 + 1h;
  CHECK(tb.TryTake(t1));
  CHECK(tb.TryTake(t1));
  CHECK_FALSE(tb.TryTake(t1));
  TokenBucket unlimited(0, 1, t0);
  for (int i = 0; i < 10; ++i) CHECK(unlimited.TryTake(t0));
}

TEST_CASE("Token bucket with qps <= 0 is unlimited", "[kube][backoff]") {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket tb(0, 1, t0);
  for (int i = 0; i < 100; ++i) CHECK(tb.Reserve(t0) == Duration(0));
}
