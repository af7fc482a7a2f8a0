// Runs the certguard command line in-process, as the CLI tests do.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"

namespace certguard::testing {

// What one run printed and how it ended.
struct CliRun {
  int code;
  std::string out;
  std::string err;
};

// `certguard PREFIX... ARGS...`: prefix names the subcommand under test
// ({"certs", "check-expiration"}), args are the case's own.
inline CliRun RunCli(const std::vector<std::string>& prefix, const std::vector<std::string>& args) {
  std::vector<const char*> argv{"certguard"};
  for (const auto& a : prefix) argv.push_back(a.c_str());
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  int code = cli::Main(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

}  // namespace certguard::testing
