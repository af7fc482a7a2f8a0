// When freed heap goes back to the system: after a burst, once it is quiet.
#include "common/quiet_trim.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace certguard::common;
using namespace std::chrono_literals;
using Clock = TrimAfterQuiet::Clock;

namespace {

// One tick: the churn counter, the time since the first tick, whether it trims.
struct Step {
  uint64_t churn;
  std::chrono::milliseconds at;
  bool trims;
};

// A policy of 100 units and 1 s of quiet, fed `steps` in order.
void Expect(std::initializer_list<Step> steps) {
  TrimAfterQuiet p(100, 1s);
  for (const Step& s : steps) {
    INFO("churn " << s.churn << " at " << s.at.count() << " ms");
    CHECK(p.Tick(s.churn, Clock::time_point{} + s.at) == s.trims);
  }
}

}  // namespace

TEST_CASE("TrimAfterQuiet trims once a burst has been quiet long enough", "[common][memory]") {
  Expect({{0, 0ms, false},
          {150, 100ms, false},    // events arriving
          {150, 900ms, false},    // quiet for 800 ms only
          {150, 1100ms, true},    // quiet for 1 s
          {150, 5000ms, false}});  // once per burst, not on every quiet tick
}

TEST_CASE("TrimAfterQuiet waits while events keep arriving", "[common][memory]") {
  // A steady trickle, each tick within the quiet time of the last change.
  TrimAfterQuiet p(100, 1s);
  Clock::time_point t{};
  CHECK_FALSE(p.Tick(0, t));
  for (int i = 1; i <= 20; ++i) CHECK_FALSE(p.Tick(uint64_t(i) * 50, t + i * 500ms));
  CHECK_FALSE(p.Tick(1000, t + 10500ms));
  CHECK(p.Tick(1000, t + 11500ms));
}

TEST_CASE("TrimAfterQuiet leaves small amounts of work alone", "[common][memory]") {
  // The next units add to the same count: 99 + 1 is a burst.
  Expect({{0, 0ms, false}, {99, 100ms, false}, {99, 10000ms, false}, {100, 11000ms, false},
          {100, 12000ms, true}});
}

TEST_CASE("TrimAfterQuiet counts the next burst from the last trim", "[common][memory]") {
  Expect({{0, 0ms, false},
          {300, 1000ms, false},
          {300, 2000ms, true},
          {350, 3000ms, false},
          {350, 10000ms, false},  // 50 since the trim
          {400, 11000ms, false},
          {400, 12000ms, true}});
}

TEST_CASE("TrimAfterQuiet counts what came before its first tick", "[common][memory]") {
  // The start-up lists come before the trimmer's first look.
  Expect({{5000, 0ms, false}, {5000, 1000ms, true}});
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
