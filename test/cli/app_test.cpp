#include "cli/app.h"
#include "cli/cli_support.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <vector>

namespace {

certguard::testing::CliRun Cli(const std::vector<std::string>& args) {
  return certguard::testing::RunCli({}, args);
}

}  // namespace

TEST_CASE("certguard version names version, commit and OpenSSL", "[cli]") {
  auto r = Cli({"version"});
  CHECK(r.code == 0);
  CHECK(r.out.find("certguard 0.") == 0);
  CHECK(r.out.find("git commit: ") != std::string::npos);
  CHECK(r.out.find("openssl: OpenSSL 3.") != std::string::npos);
}

TEST_CASE("certguard --help lists the subcommands", "[cli]") {
  auto r = Cli({"--help"});
  CHECK(r.code == 0);
  CHECK(r.out.find("version") != std::string::npos);
  CHECK(r.out.find("--log-format") != std::string::npos);
}

TEST_CASE("unknown commands and flags print usage to stderr and exit 2", "[cli]") {
  for (auto args : {std::vector<std::string>{"frobnicate"}, std::vector<std::string>{"--bogus"},
                    std::vector<std::string>{"version", "--bogus"}, std::vector<std::string>{}}) {
    auto r = Cli(args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("Usage") != std::string::npos);
  }
}

TEST_CASE("a bad --log-format is a usage error", "[cli]") {
  auto r = Cli({"--log-format", "xml", "version"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
}

TEST_CASE("run refuses a negative series bound instead of reading it as none", "[cli]") {
  for (const char* flag : {"--expiry-max-series-per-object", "--expiry-max-series"}) {
    INFO(flag);
    auto r = Cli({"run", flag, "-1"});
    CHECK(r.code == 2);
    CHECK(r.err.find(flag) != std::string::npos);
  }
}

TEST_CASE("run and check-expiration share the inventory filter flags", "[cli]") {
  // The same registration: each flag of one is the other's with --expiry- in front.
  for (const char* name : {"include-namespaces", "exclude-namespaces", "include-namespace-selector",
                           "exclude-namespace-selector", "leaf-only", "csr-signers"}) {
    INFO(name);
    auto run = Cli({"run", "--help"});
    auto check = Cli({"certs", "check-expiration", "--help"});
    CHECK(run.out.find(std::string("--expiry-") + name) != std::string::npos);
    CHECK(check.out.find(std::string(" --") + name) != std::string::npos);
    CHECK(check.out.find(std::string("--expiry-") + name) == std::string::npos);
  }
  // run still refuses a bad value, naming its own flag.
  auto r = Cli({"run", "--expiry-csr-signers", "some"});
  CHECK(r.code == 2);
  CHECK(r.err.find("--expiry-csr-signers") != std::string::npos);
}
