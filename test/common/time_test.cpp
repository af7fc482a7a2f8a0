// The one time module: RFC 3339 both ways, DaysUntil, the fake clock.
#include "common/time.h"

#include <catch2/catch.hpp>

using namespace certguard::common;
using namespace std::chrono;

namespace {

Time At(int64_t seconds) { return Time(std::chrono::seconds(seconds)); }

}  // namespace

TEST_CASE("FormatRfc3339 writes UTC to the second", "[common][time]") {
  CHECK(FormatRfc3339(At(0)) == "1970-01-01T00:00:00Z");
  CHECK(FormatRfc3339(At(1795496400)) == "2026-11-24T05:00:00Z");
  CHECK(FormatRfc3339(sys_days{2026y / November / 24} + 5h + 18min + 33s) ==
        "2026-11-24T05:18:33Z");
  CHECK(FormatRfc3339(sys_days{2028y / February / 29}) == "2028-02-29T00:00:00Z");
  CHECK(FormatRfc3339(sys_days{9999y / December / 31} + 23h + 59min + 59s) ==
        "9999-12-31T23:59:59Z");
}

TEST_CASE("FormatRfc3339 writes a fraction of the digits asked, truncated", "[common][time]") {
  const MicroTime t = MicroTime(At(1795496400)) + 123456us;
  CHECK(FormatRfc3339(t, 6) == "2026-11-24T05:00:00.123456Z");
  CHECK(FormatRfc3339(t, 3) == "2026-11-24T05:00:00.123Z");
  CHECK(FormatRfc3339(t, 0) == "2026-11-24T05:00:00Z");
  CHECK(FormatRfc3339(MicroTime(At(0)) + 5us, 6) == "1970-01-01T00:00:00.000005Z");
  // Before 1970 the fraction still counts forward from the second.
  CHECK(FormatRfc3339(MicroTime(At(0)) - 1us, 6) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("ParseRfc3339 reads what the API server writes", "[common][time]") {
  const Time t = sys_days{year{2026} / 11 / 24} + 5h + 18min + 33s;
  CHECK(ParseRfc3339("2026-11-24T05:18:33Z").value() == t);
  CHECK(ParseRfc3339("2026-11-24T05:18:33.123456Z").value() == t);
  CHECK(ParseRfc3339("2026-11-24T05:18:33.999999999Z").value() == t);  // truncated, not rounded
  CHECK(ParseRfc3339("2026-11-24T07:18:33+02:00").value() == t);
  CHECK(ParseRfc3339("2026-11-24T00:18:33-05:00").value() == t);
  CHECK(ParseRfc3339("1970-01-01T00:00:00Z").value() == At(0));
  CHECK(ParseRfc3339("2028-02-29T00:00:00Z").ok());
}

TEST_CASE("ParseRfc3339Micro keeps microseconds", "[common][time]") {
  const MicroTime t0 = MicroTime(At(1795496400));
  CHECK(ParseRfc3339Micro("2026-11-24T05:00:00.123456Z").value() == t0 + 123456us);
  CHECK(ParseRfc3339Micro("2026-11-24T05:00:00.5Z").value() == t0 + 500ms);
  CHECK(ParseRfc3339Micro("2026-11-24T05:00:00.1234567Z").value() == t0 + 123456us);
  CHECK(ParseRfc3339Micro("2026-11-24T07:00:00.000001+02:00").value() == t0 + 1us);
  const std::string round = FormatRfc3339(t0 + 654321us, 6);
  CHECK(ParseRfc3339Micro(round).value() == t0 + 654321us);
}

TEST_CASE("ParseRfc3339 refuses everything outside the grammar", "[common][time]") {
  for (const char* bad : {
           "",                                   // empty
           "yesterday",                          // not a time
           "2026-11-24",                         // date only
           "2026-11-24 05:18:33Z",               // space for T
           "2026-11-24t05:18:33Z",               // lower-case t
           "2026-11-24T05:18:33z",               // lower-case z
           "2026-11-24T05:18:33",                // no zone
           "2026-11-24T05:18:33.Z",              // empty fraction
           "2026-11-24T05:18:33.1234567890Z",    // ten fraction digits
           "2026-11-24T05:18:33+0200",           // offset without colon
           "2026-11-24T05:18:33+24:00",          // offset hour out of range
           "2026-11-24T05:18:33+02:60",          // offset minute out of range
           "2026-11-24T05:18:33Zjunk",           // trailing text
           "2026-11-24T05:18:33Z ",              // trailing space
           " 2026-11-24T05:18:33Z",              // leading space
           "x026-11-24T05:18:33Z",               // not a digit
           "+026-11-24T05:18:33Z",               // a sign is not a digit
           "26-11-24T05:18:33Z",                 // two-digit year
           "2026-13-01T00:00:00Z",               // month 13
           "2026-00-01T00:00:00Z",               // month 0
           "2026-02-30T00:00:00Z",               // no such day
           "2027-02-29T00:00:00Z",               // not a leap year
           "2026-11-24T25:00:00Z",               // hour 25
           "2026-11-24T24:00:00Z",               // hour 24
           "2026-11-24T05:60:00Z",               // minute 60
           "2026-11-24T23:59:60Z",               // leap second
           "2026-11-24T5:18:33Z",                // one-digit hour
       }) {
    INFO(bad);
    auto r = ParseRfc3339(bad);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.status().code() == certguard::Code::kInvalidArgument);
  }
}

TEST_CASE("ParseRfc3339 quotes at most 64 characters of what it refuses", "[common][time]") {
  auto r = ParseRfc3339(std::string(1000, '9'));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "not an RFC 3339 time: " + std::string(64, '9'));
}

TEST_CASE("DaysUntil counts fractional days, negative once past", "[common][time]") {
  const Time now = At(1795496400);
  CHECK(DaysUntil(now + days{30}, now) == 30.0);
  CHECK(DaysUntil(now + 12h, now) == 0.5);
  CHECK(DaysUntil(now - 36h, now) == -1.5);
}

TEST_CASE("FakeClock moves only when told, wall and steady together", "[common][time]") {
  FakeClock clock(At(1000));
  const auto steady0 = clock.Steady();
  CHECK(clock.Now() == At(1000));
  clock.Advance(30s);
  CHECK(clock.Now() == At(1030));
  CHECK(clock.Steady() - steady0 == 30s);
  clock.Set(At(1100));
  CHECK(clock.Steady() - steady0 == 100s);
  clock.Set(At(500));  // the wall clock may go back; the steady one never does
  CHECK(clock.Now() == At(500));
  CHECK(clock.Steady() - steady0 == 100s);
}

TEST_CASE("SystemClock reads the real clocks", "[common][time]") {
  const Time before = floor<seconds>(system_clock::now());
  const Time now = SystemClock().Now();
  CHECK(now >= before);
  CHECK(now <= floor<seconds>(system_clock::now()));
  const auto s0 = SystemClock().Steady();
  CHECK(SystemClock().Steady() >= s0);
  // The microsecond reading is the same wall clock, not floored to the second.
  const MicroTime micro = SystemClock().NowMicro();
  CHECK(micro >= MicroTime(now));
  CHECK(micro <= floor<microseconds>(system_clock::now()));
}

TEST_CASE("FakeClock's microsecond reading is its wall clock", "[common][time]") {
  FakeClock clock(At(1000));
  CHECK(clock.NowMicro() == MicroTime(At(1000)));
  clock.Advance(2s);
  CHECK(clock.NowMicro() == MicroTime(At(1002)));
}
