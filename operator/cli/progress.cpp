#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>

namespace certguard::cli {

namespace {

// Whole seconds, as Go writes durations ("0s", "45s", "1m30s", "2h0m0s" is "2h").
std::string Secs(Millis d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = 0;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
  if (s % 60 != 0 || out.empty()) out += std::to_string(s % 60) + "s";
  return out;
}

// 15210 -> "15,210".
std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return Thousands(n) + " " + (n == 1 ? one : many);
}

}  // namespace

PassCounts CountPass(const std::vector<std::string>& decisions) {
  PassCounts c;
  for (const auto& d : decisions) {
    if (d == "Approved" || d == "WouldApprove") {
      ++c.approved;
    } else if (d == "Denied" || d == "WouldDeny") {
      ++c.denied;
    } else if (d == "Deleted") {
      // gone while the pass ran: neither decided nor pending
    } else {
      if (d == "Held") ++c.held;
      ++c.pending;
    }
  }
  return c;
}

std::string FormatPassSummary(const PassSummary& s) {
  const int decided = s.counts.approved + s.counts.denied;
  std::string out = "pass " + std::to_string(s.pass) + ": " + Thousands(decided) +
                    (s.dry_run ? " would be decided" : " decided") + " (" +
                    Thousands(s.counts.approved) + " approved, " + Thousands(s.counts.denied) +
                    " denied";
  if (s.pass > 1) out += "; " + Thousands(s.decided_total) + " in all";
  out += "), " + Thousands(s.counts.held) + " held, " + Thousands(s.counts.pending) +
         " pending, quiet for " + Secs(s.quiet) + " of " + Secs(s.until_quiet);
  return out;
}

std::string FormatWaitStatus(const PassSummary& last, Millis quiet, Millis next_pass_in) {
  return "pass " + std::to_string(last.pass) + " done: " + Thousands(last.counts.pending) +
         " pending, " + Thousands(last.counts.held) + " held, quiet for " + Secs(quiet) + " of " +
         Secs(last.until_quiet) + ", next pass in " + Secs(next_pass_in + Millis(999));
}

std::string FormatReadProgress(const expiry::ListProgress& p) {
  std::string out = p.done ? "read " : "reading ";
  out += p.what + ": " + Plural(p.objects, "object", "objects");
  if (p.done) {
    out += " in " + Plural(p.pages, "page", "pages");
  } else if (p.pages > 0) {
    out += " (page " + std::to_string(p.pages) + ")";
  }
  out += ", list " + std::to_string(p.source) + " of " + std::to_string(p.sources) + ", " +
         Plural(p.total, "object", "objects") + " in all";
  return out;
}

std::string StatusLine(std::string_view text, int width) {
  const size_t room = width > 1 ? static_cast<size_t>(width - 1) : 0;
  std::string out = "\r";
  out += text.substr(0, room);
  out += "\x1b[K";
  return out;
}

Result<ProgressMode> ParseProgressMode(std::string_view text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  return InvalidArgument("want auto, always or never, got \"" + std::string(text) + "\"");
}

ProgressStyle StyleFor(ProgressMode mode, bool terminal) {
  if (mode == ProgressMode::kNever) return ProgressStyle::kOff;
  if (terminal) return ProgressStyle::kLive;
  return mode == ProgressMode::kAlways ? ProgressStyle::kLines : ProgressStyle::kOff;
}

bool IsTerminal(const std::ostream& stream) {
  if (&stream == &std::cerr || &stream == &std::clog) return isatty(STDERR_FILENO) == 1;
  if (&stream == &std::cout) return isatty(STDOUT_FILENO) == 1;
  return false;
}

int TerminalWidth() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace certguard::cli
