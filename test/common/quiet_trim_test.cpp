// When freed heap goes back to the system: after a burst, once it is quiet.
#include "common/quiet_trim.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace certguard::common;
using namespace std::chrono_literals;
using Clock = TrimAfterQuiet::Clock;

TEST_CASE("TrimAfterQuiet trims once a burst has been quiet long enough", "[common][memory]") {
  TrimAfterQuiet p(100, 1s);
  Clock::time_point t{};
  CHECK_FALSE(p.Tick(0, t));
  CHECK_FALSE(p.Tick(150, t + 100ms));    // events arriving
  CHECK_FALSE(p.Tick(150, t + 900ms));    // quiet for 800 ms only
  CHECK(p.Tick(150, t + 1100ms));         // quiet for 1 s
  CHECK_FALSE(p.Tick(150, t + 5s));       // once per burst, not on every quiet tick
}

TEST_CASE("TrimAfterQuiet waits while events keep arriving", "[common][memory]") {
  TrimAfterQuiet p(100, 1s);
  Clock::time_point t{};
  CHECK_FALSE(p.Tick(0, t));
  // A steady trickle, each tick within the quiet time of the last change.
  for (int i = 1; i <= 20; ++i) CHECK_FALSE(p.Tick(uint64_t(i) * 50, t + i * 500ms));
  CHECK_FALSE(p.Tick(1000, t + 10500ms));
  CHECK(p.Tick(1000, t + 11500ms));
}

TEST_CASE("TrimAfterQuiet leaves small amounts of work alone", "[common][memory]") {
  TrimAfterQuiet p(100, 1s);
  Clock::time_point t{};
  CHECK_FALSE(p.Tick(0, t));
  CHECK_FALSE(p.Tick(99, t + 100ms));
  CHECK_FALSE(p.Tick(99, t + 10s));
  // The next units add to the same count: 99 + 1 is a burst.
  CHECK_FALSE(p.Tick(100, t + 11s));
  CHECK(p.Tick(100, t + 12s));
}

TEST_CASE("TrimAfterQuiet counts the next burst from the last trim", "[common][memory]") {
  TrimAfterQuiet p(100, 1s);
  Clock::time_point t{};
  CHECK_FALSE(p.Tick(0, t));
  CHECK_FALSE(p.Tick(300, t + 1s));
  CHECK(p.Tick(300, t + 2s));
  CHECK_FALSE(p.Tick(350, t + 3s));
  CHECK_FALSE(p.Tick(350, t + 10s));  // 50 since the trim
  CHECK_FALSE(p.Tick(400, t + 11s));
  CHECK(p.Tick(400, t + 12s));
}

TEST_CASE("TrimAfterQuiet counts what came before its first tick", "[common][memory]") {
  // The start-up lists come before the trimmer's first look.
  TrimAfterQuiet p(100, 1s);
  Clock::time_point t{};
  CHECK_FALSE(p.Tick(5000, t));
  CHECK(p.Tick(5000, t + 1s));
}

TEST_CASE("QuietTrimmer calls its trim after a quiet burst, and stops", "[common][memory]") {
  std::atomic<uint64_t> churn{0};
  std::atomic<int> trimmed{0};
  {
    QuietTrimmer t({.burst = 10,
                    .quiet = 20ms,
                    .tick = 5ms,
                    .trim = [&] { trimmed++; },
                    .churn = [&] { return churn.load(); }});
    std::this_thread::sleep_for(50ms);
    CHECK(trimmed.load() == 0);  // nothing churned yet
    churn = 25;
    for (int i = 0; i < 1000 && trimmed.load() == 0; ++i) std::this_thread::sleep_for(5ms);
    CHECK(trimmed.load() == 1);
    CHECK(t.trims() == 1);
  }
  CHECK(trimmed.load() == 1);
}

TEST_CASE("NoteHeapChurn adds to the process-wide count", "[common][memory]") {
  uint64_t before = HeapChurn();
  NoteHeapChurn();
  NoteHeapChurn(4);
  CHECK(HeapChurn() - before >= 5);
}
