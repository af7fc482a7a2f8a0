#include "cli/progress.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "cli/cli_support.h"

using namespace certguard::cli;
using certguard::expiry::ListProgress;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("CountPass counts each decision of approve-pending's rows once", "[cli][progress]") {
  PassCounts c = CountPass({"Approved", "Denied", "Approved", "Held", "Held", "WaitingForNode",
                            "Ignored", "Error", "Deleted", "DryRunPolicy:Approve"});
  CHECK(c.approved == 2);
  CHECK(c.denied == 1);
  CHECK(c.held == 2);
  // Held, waiting, ignored, failed and dry-run-policy rows stay pending; a deleted one is gone.
  CHECK(c.pending == 6);

  PassCounts dry = CountPass({"WouldApprove", "WouldDeny", "WouldDeny"});
  CHECK(dry.approved == 1);
  CHECK(dry.denied == 2);
  CHECK(dry.pending == 0);

  PassCounts none = CountPass({});
  CHECK(none.approved + none.denied + none.held + none.pending == 0);
}

TEST_CASE("FormatPassSummary: decided, held, pending and time quiet on one line",
          "[cli][progress]") {
  PassSummary s;
  s.pass = 1;
  s.counts = {2, 1, 1, 4};
  s.decided_total = 3;
  s.quiet = milliseconds(10'900);
  s.until_quiet = seconds(120);
  CHECK(FormatPassSummary(s) ==
        "pass 1: 3 decided (2 approved, 1 denied), 1 held, 4 pending, quiet for 10s of 2m");

  s.pass = 3;
  s.counts = {0, 0, 0, 0};
  s.decided_total = 1234;
  s.quiet = seconds(90);
  s.until_quiet = seconds(3600 + 30);
  CHECK(FormatPassSummary(s) ==
        "pass 3: 0 decided (0 approved, 0 denied; 1,234 in all), 0 held, "
        "0 pending, quiet for 1m30s of 1h30s");

  s.pass = 1;
  s.dry_run = true;
  s.counts = {5, 0, 0, 0};
  s.quiet = milliseconds(0);
  CHECK(FormatPassSummary(s).rfind("pass 1: 5 would be decided (5 approved, 0 denied), ", 0) == 0);
  CHECK(FormatPassSummary(s).find("quiet for 0s of") != std::string::npos);
}

TEST_CASE("FormatWaitStatus counts down to the next pass, rounding up", "[cli][progress]") {
  PassSummary s;
  s.pass = 2;
  s.counts = {1, 0, 1, 3};
  s.until_quiet = seconds(120);
  CHECK(FormatWaitStatus(s, milliseconds(12'400), milliseconds(17'200)) ==
        "pass 2 done: 3 pending, 1 held, quiet for 12s of 2m, next pass in 18s");
  // The last fraction of a second still shows 1s, never 0s before the pass.
  CHECK(FormatWaitStatus(s, seconds(0), milliseconds(1)).find("next pass in 1s") !=
        std::string::npos);
  CHECK(FormatWaitStatus(s, seconds(0), seconds(3)).find("next pass in 3s") != std::string::npos);
}

TEST_CASE("FormatReadProgress: the list being read, its pages, the total", "[cli][progress]") {
  ListProgress p;
  p.what = "secrets";
  p.objects = 12'500;
  p.pages = 25;
  p.source = 2;
  p.sources = 5;
  p.total = 15'210;
  CHECK(FormatReadProgress(p) ==
        "reading secrets: 12,500 objects (page 25), list 2 of 5, 15,210 objects in all");
  p.done = true;
  p.pages = 26;
  CHECK(FormatReadProgress(p) ==
        "read secrets: 12,500 objects in 26 pages, list 2 of 5, 15,210 objects in all");
  p.what = "configmaps (a=b)";
  p.objects = 1;
  p.pages = 1;
  p.total = 1;
  CHECK(FormatReadProgress(p) ==
        "read configmaps (a=b): 1 object in 1 page, list 2 of 5, 1 object in all");
}

TEST_CASE("StatusLine rewrites one terminal line and never wraps it", "[cli][progress]") {
  CHECK(StatusLine("abc", 80) == "\rabc\x1b[K");
  // One column is left free: a full line would wrap on most terminals.
  CHECK(StatusLine("abcdefghij", 6) == "\rabcde\x1b[K");
  CHECK(StatusLine("abc", 0) == "\r\x1b[K");
  CHECK(kClearLine == "\r\x1b[K");
}

TEST_CASE("The progress mode: auto shows a live line only on a terminal, always also elsewhere",
          "[cli][progress]") {
  CHECK(*ParseProgressMode("auto") == ProgressMode::kAuto);
  CHECK(*ParseProgressMode("always") == ProgressMode::kAlways);
  CHECK(*ParseProgressMode("never") == ProgressMode::kNever);
  for (const char* bad : {"", "yes", "AUTO", "1"}) {
    INFO(bad);
    CHECK_FALSE(ParseProgressMode(bad).ok());
  }
  CHECK(StyleFor(ProgressMode::kAuto, true) == ProgressStyle::kLive);
  CHECK(StyleFor(ProgressMode::kAuto, false) == ProgressStyle::kOff);
  CHECK(StyleFor(ProgressMode::kAlways, true) == ProgressStyle::kLive);
  CHECK(StyleFor(ProgressMode::kAlways, false) == ProgressStyle::kLines);
  CHECK(StyleFor(ProgressMode::kNever, true) == ProgressStyle::kOff);
  CHECK(StyleFor(ProgressMode::kNever, false) == ProgressStyle::kOff);
  std::ostringstream s;
  CHECK_FALSE(IsTerminal(s));
}

TEST_CASE("A --progress of an unknown mode is refused before connecting", "[cli][progress]") {
  auto check = certguard::testing::RunCli({"certs", "check-expiration"},
                                          {"--kubeconfig", "/nonexistent", "--progress", "loud"});
  CHECK(check.code == kExitUsage);
  CHECK(check.err.find("--progress: want auto, always or never") != std::string::npos);
  auto approve = certguard::testing::RunCli({"approve-pending"},
                                            {"--kubeconfig", "/nonexistent", "--progress", "loud"});
  CHECK(approve.code == kExitUsage);
  CHECK(approve.err.find("--progress: want auto, always or never") != std::string::npos);
}
