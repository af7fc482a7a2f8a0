#include "common/time.h"

#include <algorithm>
#include <cstdio>

namespace certguard::common {
namespace {

// `n` ASCII digits at `pos` as a number; false if any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string FormatRfc3339(Time t) { return FormatRfc3339(MicroTime(t), 0); }

std::string FormatRfc3339(MicroTime t, int fraction_digits) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<microseconds>(t - day)};
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                        static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()));
  std::string out(buf, static_cast<size_t>(n));
  if (fraction_digits > 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, "%06lld", static_cast<long long>(hms.subseconds().count()));
    out += '.';
    out.append(frac, static_cast<size_t>(std::min(fraction_digits, 6)));
  }
  return out + "Z";
}

Result<MicroTime> ParseRfc3339Micro(std::string_view s) {
  auto bad = [&] {
    return InvalidArgument("not an RFC 3339 time: " + std::string(s.substr(0, 64)));
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, mo) ||
      s[7] != '-' || !Digits(s, 8, 2, d) || s[10] != 'T' || !Digits(s, 11, 2, h) ||
      s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, sec)) {
    return bad();
  }
  size_t pos = 19;
  long long micros = 0;
  if (s[pos] == '.') {
    const size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (pos - start < 6) micros = micros * 10 + (s[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - start;
    if (digits == 0 || digits > 9) return bad();
    for (size_t k = digits; k < 6; ++k) micros *= 10;
  }
  int offset_minutes = 0;
  if (pos + 1 == s.size() && s[pos] == 'Z') {
    // UTC
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || s[pos + 3] != ':' || !Digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59) {
      return bad();
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
  } else {
    return bad();
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return bad();
  return MicroTime{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} -
         minutes{offset_minutes} + microseconds{micros};
}

Result<Time> ParseRfc3339(std::string_view text) {
  auto t = ParseRfc3339Micro(text);
  if (!t.ok()) return t.status();
  return std::chrono::floor<std::chrono::seconds>(*t);
}

double DaysUntil(Time not_after, Time now) {
  return static_cast<double>((not_after - now).count()) / 86400.0;
}

namespace {

class RealClock : public Clock {
 public:
  Time Now() const override {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  }
  MicroTime NowMicro() const override {
    return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
  }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

Time FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

std::chrono::steady_clock::time_point FakeClock::Steady() const {
  std::lock_guard lock(mu_);
  return steady_;
}

void FakeClock::Set(Time now) {
  std::lock_guard lock(mu_);
  if (now > now_) steady_ += now - now_;
  now_ = now;
}

void FakeClock::Advance(std::chrono::seconds by) {
  std::lock_guard lock(mu_);
  now_ += by;
  steady_ += by;
}

}  // namespace certguard::common
