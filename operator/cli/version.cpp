#include <openssl/crypto.h>

#include <ostream>

#include "cli/app.h"
#include "cli/commands.h"
#include "common/version.h"

namespace certguard::cli {

void AddVersionCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("version", "Print the version, git commit and OpenSSL version");
  cmd->callback([&ctx] {
    ctx.run = [&ctx] {
      ctx.out << "certguard " << kVersion << "\n"
              << "git commit: " << kGitCommit << "\n"
              << "openssl: " << OpenSSL_version(OPENSSL_VERSION) << "\n";
      return kExitOk;
    };
  });
}

}  // namespace certguard::cli
