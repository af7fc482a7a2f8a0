#include "cli/app.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <vector>

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cli(std::vector<const char*> args) {
  args.insert(args.begin(), "certguard");
  std::ostringstream out, err;
  int code = certguard::cli::Main(static_cast<int>(args.size()), args.data(), out, err);
  return {code, out.str(), err.str()};
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
  for (auto args : {std::vector<const char*>{"frobnicate"}, std::vector<const char*>{"--bogus"},
                    std::vector<const char*>{"version", "--bogus"}, std::vector<const char*>{}}) {
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
