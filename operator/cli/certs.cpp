// certguard certs check-expiration: days to expiry of a node's certificates.
#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/commands.h"
#include "expiry/check.h"
#include "expiry/scan.h"

namespace certguard::cli {

namespace {

struct CheckExpirationFlags {
  std::vector<std::string> paths;
  std::string output = "table";
  std::string fail_within;
};

int RunCheckExpiration(const CheckExpirationFlags& flags, Context& ctx) {
  std::chrono::seconds window{0};
  if (!flags.fail_within.empty()) {
    auto parsed = expiry::ParseWindow(flags.fail_within);
    if (!parsed.ok()) {
      ctx.err << "certguard: --fail-within: " << parsed.status().message() << "\n";
      return kExitUsage;
    }
    window = *parsed;
  }
  const x509::Time now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  std::vector<std::string> paths = flags.paths.empty() ? expiry::DefaultNodePaths() : flags.paths;
  std::vector<expiry::Finding> findings = expiry::ScanPaths(paths);

  if (flags.output == "json") {
    ctx.out << expiry::RenderJson(findings, now);
  } else {
    ctx.out << expiry::RenderTable(findings, now);
    for (const auto& f : findings) {
      if (!f.cert) ctx.err << "certguard: " << f.source << ": " << f.error << "\n";
    }
    bool any = false;
    for (const auto& f : findings) any = any || f.cert.has_value();
    if (!any) ctx.err << "certguard: no certificate found\n";
  }
  if (!flags.fail_within.empty() && expiry::AnyExpiresWithin(findings, now, window)) {
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void AddCertsCommand(CLI::App& app, Context& ctx) {
  auto* certs = app.add_subcommand("certs", "Certificate commands");
  certs->require_subcommand(1);
  auto flags = std::make_shared<CheckExpirationFlags>();
  auto* check = certs->add_subcommand(
      "check-expiration",
      "Days to expiry of certificates in files, directories and kubeconfigs (default: the "
      "node's /etc/kubernetes/pki, /etc/kubernetes/*.conf and /var/lib/kubelet/pki)");
  check->add_option("--path", flags->paths,
                    "A certificate file, bundle, kubeconfig or directory (searched recursively); "
                    "repeatable")
      ->check(CLI::ExistingPath);
  check->add_option("-o,--output", flags->output, "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  check->add_option("--fail-within", flags->fail_within,
                    "Exit 1 when a certificate expires within this window: 30d, 12h, 1d12h");
  check->callback([&ctx, flags] { ctx.run = [&ctx, flags] { return RunCheckExpiration(*flags, ctx); }; });
}

}  // namespace certguard::cli
