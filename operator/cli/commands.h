// Each subcommand registers itself on the app and, when chosen, sets `run`.
// A subcommand lives in its own file under cli/ and keeps its flags to itself.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>

namespace certguard::cli {

struct Context {
  std::ostream& out;
  std::ostream& err;
  std::function<int()> run;  // set by the chosen subcommand's callback
};

void AddVersionCommand(CLI::App& app, Context& ctx);
void AddCertsCommand(CLI::App& app, Context& ctx);  // certs check-expiration
void AddCsrCommand(CLI::App& app, Context& ctx);    // csr evaluate
void AddRunCommand(CLI::App& app, Context& ctx);
void AddApprovePendingCommand(CLI::App& app, Context& ctx);
void AddNodeAgentCommand(CLI::App& app, Context& ctx);
// csr explain: adds to the `csr` command if it exists, so register it after the others.
void AddCsrExplainCommand(CLI::App& app, Context& ctx);

}  // namespace certguard::cli
