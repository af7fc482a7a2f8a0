// Time for the whole operator: one Time type, one RFC 3339 formatter, one
// parser, DaysUntil, and the Clock interface every component that reads the
// time is given (a FakeClock in tests).
//
// The parser's grammar is strict, what the API server writes (Go's RFC3339 and
// RFC3339Nano) and nothing else:
//   YYYY-MM-DD "T" hh:mm:ss [ "." 1*9DIGIT ] ( "Z" | ("+" / "-") hh:mm )
// Upper-case T and Z only; hours 00-23, minutes and seconds 00-59 (no leap
// second: Go rejects it too); a real calendar date; offset hours 00-23.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace certguard::common {

// Seconds precision: certificates may say 9999-12-31, beyond nanosecond clocks.
using Time = std::chrono::sys_seconds;
// Sub-second times (Lease MicroTime, log lines); microseconds reach year 294247.
using MicroTime = std::chrono::sys_time<std::chrono::microseconds>;

// "2026-11-24T05:18:33Z".
std::string FormatRfc3339(Time t);
// With `fraction_digits` (0 to 6) digits after the seconds, truncated:
// "2026-11-24T05:18:33.123456Z" for 6.
std::string FormatRfc3339(MicroTime t, int fraction_digits);

// The grammar above, to the microsecond (further digits are truncated).
// InvalidArgument, quoting at most 64 characters of the text, otherwise.
Result<MicroTime> ParseRfc3339Micro(std::string_view text);
// The same, truncated to the second.
Result<Time> ParseRfc3339(std::string_view text);

// Days from `now` to `not_after`, fractional; negative once past.
double DaysUntil(Time not_after, Time now);

// Where time comes from. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The wall clock, to the second.
  virtual Time Now() const = 0;
  // The wall clock to the microsecond, for times written with a fraction (Lease
  // renewals, several a second apart). Defaults to Now().
  virtual MicroTime NowMicro() const { return Now(); }
  // A monotonic clock, for ages and time-to-live: never jumps with the wall clock.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
};

// The process's real clocks. Lives for the whole program.
const Clock& SystemClock();

// A clock that moves only when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(Time now) : now_(now) {}
  Time Now() const override;
  std::chrono::steady_clock::time_point Steady() const override;
  void Set(Time now);
  // Moves both clocks forward.
  void Advance(std::chrono::seconds by);

 private:
  mutable std::mutex mu_;
  Time now_;
  std::chrono::steady_clock::time_point steady_{};
};

}  // namespace certguard::common
