#include "kube/backoff.h"

#include <catch2/catch.hpp>

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
    Duration base = Backoff{100ms, 10s, 2.0, 0.0}.Delay(n);
    for (double u : {0.0, 0.25, 0.999999, certguard::kube::RandomUnit()}) {
      Duration d = b.Delay(n, u);
      CHECK(d >= base);
      CHECK(d <= base + base / 2);
      CHECK(d <= Duration(15s));
    }
  }
  // Out-of-range inputs are clamped, not trusted.
  CHECK(b.Delay(0, 5.0) == Duration(150ms));
  CHECK(b.Delay(0, -1.0) == Duration(100ms));
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

TEST_CASE("Token bucket with qps <= 0 is unlimited", "[kube][backoff]") {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket tb(0, 1, t0);
  for (int i = 0; i < 100; ++i) CHECK(tb.Reserve(t0) == Duration(0));
}
