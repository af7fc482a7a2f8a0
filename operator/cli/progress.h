// Progress of long command-line work, as text: the one-line summary of each
// pass of `approve-pending --watch`, the live status line it keeps on a
// terminal between passes, and what `certs check-expiration --kubeconfig`
// has read so far. Pure (formatting only), thread-safe; IsTerminal and
// TerminalWidth are the only functions that look at the process.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "expiry/list_progress.h"

namespace certguard::cli {

using Millis = std::chrono::milliseconds;

// What one pass of approve-pending did to the kubelet CSRs it found pending.
struct PassCounts {
  int approved = 0;  // written (with --dry-run: would be)
  int denied = 0;    // written (with --dry-run: would be), superseded retries included
  int held = 0;      // approvals the pending-flood guard held
  int pending = 0;   // still pending after the pass: held, waiting, ignored, failed
};

// Counts a pass from its rows' decisions (csr::BacklogRow::decision):
// Approved and WouldApprove approve, Denied and WouldDeny deny, Held is held
// and pending, Deleted (gone meanwhile) is neither; the rest stay pending.
PassCounts CountPass(const std::vector<std::string>& decisions);

struct PassSummary {
  int pass = 1;  // 1 for the first
  PassCounts counts;
  int decided_total = 0;  // approved and denied over every pass so far
  Millis quiet{0};        // since a new pending CSR last appeared
  Millis until_quiet{0};  // --until-quiet
  bool dry_run = false;
};

// "pass 2: 3 decided (2 approved, 1 denied; 7 in all), 1 held, 4 pending, quiet for 10s of 2m"
// (with --dry-run "would decide" instead of "decided"). Times in whole seconds.
std::string FormatPassSummary(const PassSummary& s);

// The status between passes:
// "pass 2 done: 4 pending, 1 held, quiet for 12s of 2m, next pass in 18s".
std::string FormatWaitStatus(const PassSummary& last, Millis quiet, Millis next_pass_in);

// While reading: "reading secrets: 12,500 objects (page 26), list 2 of 5, 15,210 objects in all";
// done: "read secrets: 12,500 objects in 26 pages, list 2 of 5, 15,210 objects in all".
std::string FormatReadProgress(const expiry::ListProgress& p);

// A status line for a terminal: carriage return, `text` cut to `width` - 1
// columns (the texts above are ASCII), then erase to the end of the line.
std::string StatusLine(std::string_view text, int width);
// Erases a status line StatusLine wrote.
inline constexpr std::string_view kClearLine = "\r\x1b[K";

// --progress: auto (a live status line on stderr when it is a terminal),
// always (on a terminal as auto, elsewhere one line per step), never.
enum class ProgressMode { kAuto, kAlways, kNever };
Result<ProgressMode> ParseProgressMode(std::string_view text);

// How progress is shown on a stream: not at all, live (one line rewritten in
// place) or as plain lines.
enum class ProgressStyle { kOff, kLive, kLines };
ProgressStyle StyleFor(ProgressMode mode, bool terminal);

// Whether `stream` is the process's standard error or output and that is a
// terminal (a string stream never is).
bool IsTerminal(const std::ostream& stream);
// Columns of the terminal on standard error; 80 when unknown.
int TerminalWidth();

}  // namespace certguard::cli
