#include "common/duration.h"

#include <catch2/catch.hpp>
#include <string>

using certguard::Code;
using certguard::common::FormatDuration;
using certguard::common::Millis;
using certguard::common::ParseDuration;

TEST_CASE("ParseDuration reads Go-style durations", "[common][duration]") {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {
      {"0", 0},          {"0s", 0},         {"15s", 15000},     {"10m", 600000},
      {"1h30m", 5400000}, {"1h", 3600000},   {"500ms", 500},     {"1.5h", 5400000},
      {"2.5s", 2500},    {"1m0.5s", 60500}, {"90s", 90000},     {"1h1m1s1ms", 3661001},
      {".5s", 500},      {"3.s", 3000},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto d = ParseDuration(c.text);
    REQUIRE(d.ok());
    CHECK(d->count() == c.ms);
  }
}

TEST_CASE("ParseDuration refuses bad text", "[common][duration]") {
  for (const char* bad : {"", "10", "-5s", "+5s", "5x", "5 s", "s", "1h-5m", "1.2.3s", ".s",
                          "5S", "10mm", "99999999999999999999999h", "1d"}) {
    INFO(bad);
    auto d = ParseDuration(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kInvalidArgument);
  }
  CHECK(ParseDuration("5x").status().message().find("unknown unit") != std::string::npos);
  CHECK(ParseDuration("10").status().message().find("missing unit") != std::string::npos);
}

TEST_CASE("FormatDuration prints the shortest form and round-trips", "[common][duration]") {
  CHECK(FormatDuration(Millis(0)) == "0s");
  CHECK(FormatDuration(Millis(250)) == "250ms");
  CHECK(FormatDuration(Millis(15000)) == "15s");
  CHECK(FormatDuration(Millis(2500)) == "2.5s");
  CHECK(FormatDuration(Millis(600000)) == "10m");
  CHECK(FormatDuration(Millis(5400000)) == "1h30m");
  CHECK(FormatDuration(Millis(3600000)) == "1h");
  CHECK(FormatDuration(Millis(3601000)) == "1h0m1s");
  for (int64_t ms : {1, 999, 1000, 1001, 59999, 61000, 3599999, 86400000, 90061005}) {
    INFO(ms);
    auto back = ParseDuration(FormatDuration(Millis(ms)));
    REQUIRE(back.ok());
    CHECK(back->count() == ms);
  }
}
