// The `certguard` command line: global flags, then one subcommand.
#pragma once

#include <iosfwd>

namespace certguard::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and found a problem
inline constexpr int kExitUsage = 2;    // bad arguments or unreadable input

// Parses argv and runs the chosen subcommand. Usage errors go to `err` with exit 2.
int Main(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace certguard::cli
