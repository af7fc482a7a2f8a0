// Progress of long command-line work on the real control plane: the per-pass
// summary lines of `approve-pending --watch` and what `certs check-expiration
// --kubeconfig --progress always` reports on stderr (cli/progress.h).
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "csr_support.h"

namespace certguard::test {
namespace {

using namespace csr_it;

struct PassLine {
  int pass = 0, decided = 0, approved = 0, denied = 0, in_all = -1, held = 0, pending = 0;
  int quiet = 0, of = 0;
};

// The "pass N: ..." lines of `out`, parsed; a line that starts so but does not
// parse fails the test.
std::vector<PassLine> PassLines(const std::string& out) {
  static const std::regex line(
      R"(^pass (\d+): (\d+) decided \((\d+) approved, (\d+) denied(?:; (\d+) in all)?\), (\d+) held, )"
      R"((\d+) pending, quiet for (\d+)s of (\d+)s$)");
  std::vector<PassLine> passes;
  std::istringstream in(out);
  for (std::string text; std::getline(in, text);) {
    if (text.rfind("pass ", 0) != 0) continue;
    std::smatch m;
    INFO(text);
    REQUIRE(std::regex_match(text, m, line));
    PassLine p;
    p.pass = std::stoi(m[1]);
    p.decided = std::stoi(m[2]);
    p.approved = std::stoi(m[3]);
    p.denied = std::stoi(m[4]);
    if (m[5].matched) p.in_all = std::stoi(m[5]);
    p.held = std::stoi(m[6]);
    p.pending = std::stoi(m[7]);
    p.quiet = std::stoi(m[8]);
    p.of = std::stoi(m[9]);
    passes.push_back(p);
  }
  return passes;
}

TEST_CASE("cli: approve-pending --watch prints one summary line per pass", "[integration][cli]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("cli-progress-watch");
  auto kc_a = cluster.NodeIdentity("prog-a", {"InternalIP=10.36.0.1"});
  auto kc_b = cluster.NodeIdentity("prog-b", {"InternalIP=10.36.0.2"});
  REQUIRE(kc_a.ok());
  REQUIRE(kc_b.ok());
  const std::string good = CreateCsr(cluster, *kc_a, "--node prog-a --type client", work + "/1");
  const std::string bad =
      CreateCsr(cluster, *kc_a, "--node prog-a --type serving --ip 10.36.0.2", work + "/2");
  // Two of prog-b's own: over a per-node cap of 1, so both are held.
  const std::string held_1 = CreateCsr(cluster, *kc_b, "--node prog-b --type client", work + "/3");
  const std::string held_2 = CreateCsr(cluster, *kc_b, "--node prog-b --type client", work + "/4");

  CommandResult r = cluster.Run(
      CertguardCommand(cluster,
                "approve-pending --watch --interval 1s --until-quiet 3s --csr-superseded=off "
                "--csr-max-pending-per-node 1"));
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(StateOf(GetCsr(cluster, good)) != "");
  CHECK(StateOf(GetCsr(cluster, bad)) == "Denied");
  CHECK(StateOf(GetCsr(cluster, held_1)) == "");
  CHECK(StateOf(GetCsr(cluster, held_2)) == "");

  const auto passes = PassLines(r.out);
  // Quiet for 3 s at one pass a second: at least 3 passes after the first.
  REQUIRE(passes.size() >= 4);
  int total = 0;
  for (size_t i = 0; i < passes.size(); ++i) {
    const PassLine& p = passes[i];
    INFO("pass " << p.pass);
    CHECK(p.pass == static_cast<int>(i) + 1);
    CHECK(p.decided == p.approved + p.denied);
    total += p.decided;
    if (i > 0) CHECK(p.in_all == total);
    if (i == 0) CHECK(p.in_all == -1);
    CHECK(p.of == 3);
    if (i > 0) CHECK(p.quiet >= passes[i - 1].quiet);
    // prog-b's two requests stay held on every pass.
    CHECK(p.held >= 2);
    CHECK(p.pending >= p.held);
  }
  // The first pass decided this test's two (others left by earlier tests may join them).
  CHECK(passes[0].approved >= 1);
  CHECK(passes[0].denied >= 1);
  CHECK(passes[0].quiet == 0);
  // Nothing new came: later passes decide nothing and the quiet time grows.
  CHECK(passes.back().decided == 0);
  CHECK(passes.back().quiet >= 3);
  CHECK(r.out.find("quiet for 3s: done") != std::string::npos);
  // Not a terminal: no live status line anywhere.
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find("next pass in") == std::string::npos);

  // On a terminal (script(1) gives it one): the live status line between passes,
  // erased before each pass's output and at the end.
  CommandResult tty =
      cluster.Run("script -qec " +
                  ShellQuote(CertguardCommand(cluster,
                                       "approve-pending --watch --interval 2s --until-quiet 3s "
                                       "--csr-superseded=off --csr-max-pending-per-node 1")) +
                  " /dev/null");
  INFO(tty.out);
  REQUIRE(tty.ok());
  CHECK(tty.out.find("\rpass 1 done: ") != std::string::npos);
  CHECK(tty.out.find("next pass in 2s\x1b[K") != std::string::npos);
  CHECK(tty.out.find("next pass in 1s\x1b[K") != std::string::npos);
  CHECK(tty.out.find("pass 2: 0 decided") != std::string::npos);
  const std::string tail = tty.out.substr(tty.out.rfind("quiet for 3s: done"));
  CHECK(tail.find("\r\x1b[K") != std::string::npos);

  // Without --watch nothing changes: the table only.
  CommandResult once =
      cluster.Run(CertguardCommand(cluster, "approve-pending --dry-run --csr-max-pending-per-node 1"));
  INFO(once.out);
  REQUIRE(once.ok());
  CHECK(once.out.find("pass 1:") == std::string::npos);
  REQUIRE(cluster.Kubectl("delete csr " + held_1 + " " + held_2).ok());
}

TEST_CASE("cli: check-expiration --kubeconfig --progress always reports each list on stderr only",
          "[integration][cli]") {
  const Cluster& cluster = RequireCluster();
  CommandResult r =
      cluster.Run(CertguardCommand(cluster, "certs check-expiration --progress always -o json"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // One line per list: CSRs, TLS Secrets, TrustBundle targets (ConfigMaps, then Secrets).
  static const std::regex line(
      R"(^read ([a-z]+[^:]*): [0-9,]+ objects? in \d+ pages?, list (\d) of 4, [0-9,]+ objects? in all$)");
  std::istringstream err(r.err);
  std::vector<std::string> lists;
  for (std::string text; std::getline(err, text);) {
    std::smatch m;
    if (std::regex_match(text, m, line)) lists.push_back(m[1].str() + "/" + m[2].str());
  }
  CHECK(lists == std::vector<std::string>{"certificatesigningrequests/1", "secrets/2",
                                          "configmaps (certguard.io/trustbundle)/3",
                                          "secrets (certguard.io/trustbundle)/4"});
  // The report on stdout stays machine-readable.
  CHECK(r.out.find("read ") == std::string::npos);
  CHECK(nlohmann::json::parse(r.out, nullptr, false).is_array());

  // On a terminal: a live line, erased before the report.
  CommandResult tty =
      cluster.Run("script -qec " +
                  ShellQuote(CertguardCommand(cluster, "certs check-expiration -o json")) + " /dev/null");
  INFO(tty.out);
  REQUIRE(tty.ok());
  CHECK(tty.out.find("\rread secrets: ") != std::string::npos);
  CHECK(tty.out.find("\r\x1b[K[") != std::string::npos);

  // auto (the default) off a terminal, and never: nothing on stderr about the reading.
  for (const char* mode : {"", " --progress never"}) {
    CommandResult quiet =
        cluster.Run(CertguardCommand(cluster, std::string("certs check-expiration -o json") + mode));
    INFO(mode << quiet.err);
    REQUIRE(quiet.exit_code == 0);
    CHECK(quiet.err.find("read ") == std::string::npos);
    CHECK(quiet.err.find("reading ") == std::string::npos);
  }
}

}  // namespace
}  // namespace certguard::test
