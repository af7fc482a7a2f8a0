#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "app/manager.h"

using certguard::app::StopSignal;

// `certguard run` keeps its StopSignal on the stack and returns (destroying it) as soon as the
// signal thread's Notify is seen; Notify used to touch the condition variable after that
// (found by TSan, make tsan-integration). Under TSan (make tsan) this fails if it comes back.
TEST_CASE("StopSignal may be destroyed as soon as a waiter returns", "[app]") {
  for (int i = 0; i < 200; ++i) {
    auto stop = std::make_unique<StopSignal>();
    std::thread notifier([s = stop.get(), i] { s->Notify(i % 3); });
    CHECK(stop->Wait() == i % 3);
    CHECK(stop->notified());
    stop.reset();
    notifier.join();
  }
}

TEST_CASE("StopSignal keeps the first exit code and times out when never notified", "[app]") {
  StopSignal stop;
  CHECK_FALSE(stop.WaitFor(std::chrono::milliseconds(10)));
  CHECK_FALSE(stop.notified());
  stop.Notify(1);
  stop.Notify(0);
  CHECK(stop.WaitFor(std::chrono::milliseconds(0)));
  CHECK(stop.Wait() == 1);
}
