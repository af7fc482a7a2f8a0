#include "cli/app.h"

#include <ostream>
#include <string>

#include "cli/commands.h"
#include "common/log.h"

namespace certguard::cli {

int Main(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"certguard: keeps a Kubernetes cluster's certificates healthy", "certguard"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the subcommand

  std::string log_format = "text";
  std::string log_level = "info";
  app.add_option("--log-format", log_format, "Log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "Log level: trace, debug, info, warn, error, off");

  Context ctx{out, err, {}};
  AddVersionCommand(app, ctx);
  AddCertsCommand(app, ctx);
  AddCsrCommand(app, ctx);
  AddRunCommand(app, ctx);
  AddApprovePendingCommand(app, ctx);
  AddNodeAgentCommand(app, ctx);
  AddCsrExplainCommand(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "certguard: " << e.what() << "\n\n" << app.help();
    return kExitUsage;
  }

  if (auto st = log::Init(log_format, log_level); !st.ok()) {
    err << "certguard: " << st.message() << "\n";
    return kExitUsage;
  }
  if (!ctx.run) {
    err << app.help();
    return kExitUsage;
  }
  return ctx.run();
}

}  // namespace certguard::cli
