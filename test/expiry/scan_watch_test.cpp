#include "expiry/scan_watch.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using certguard::expiry::ScanWatch;

TEST_CASE("ScanWatch: ready after a scan, not alive while one runs past its budget", "[expiry][node-agent]") {
  ScanWatch watch(2min);
  const auto t0 = ScanWatch::Clock::time_point{} + 1h;
  CHECK(watch.Liveness(t0).ok());
  CHECK(watch.Readiness().message() == "first scan not done");

  watch.Started(t0);
  CHECK(watch.Liveness(t0 + 2min).ok());  // at the budget: still fine
  auto stuck = watch.Liveness(t0 + 2min + 1s);
  REQUIRE_FALSE(stuck.ok());
  CHECK(stuck.message() == "a scan has run for 121s, over its budget of 120s (--scan-timeout)");
  CHECK_FALSE(watch.Readiness().ok());

  watch.Finished(t0 + 3min);
  CHECK(watch.Liveness(t0 + 1h).ok());
  CHECK(watch.Readiness().ok());

  // A later scan that sticks fails liveness again; readiness stays.
  watch.Started(t0 + 10min);
  CHECK_FALSE(watch.Liveness(t0 + 13min).ok());
  CHECK(watch.Readiness().ok());
}
