#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <vector>

#include "cli/app.h"
#include "cli/cli_support.h"
#include "support/pki.h"
#include "support/temp_dir.h"

using namespace std::chrono;
using certguard::testing::CertBuilder;
using certguard::testing::TempDir;

namespace {

certguard::testing::CliRun Agent(const std::vector<std::string>& args) {
  return certguard::testing::RunCli({"node-agent"}, args);
}

}  // namespace

TEST_CASE("node-agent --once exports the node's files with the node label", "[cli]") {
  TempDir root;
  auto now = floor<seconds>(system_clock::now());
  auto ca = CertBuilder().Cn("kubernetes").Ca().NotBefore(now - days{1}).NotAfter(now + days{3650}).Build();
  auto kubelet = CertBuilder().Cn("system:node:worker-1").IssuedBy(ca).NotBefore(now - days{1})
                     .NotAfter(now + days{10}).Build();
  root.Write("etc/kubernetes/pki/ca.crt", ca.pem);
  root.Write("etc/kubernetes/pki/ca.key", ca.key.PrivatePem());
  root.Write("var/lib/kubelet/pki/kubelet-client-current.pem", kubelet.pem + kubelet.key.PrivatePem());
  root.Write("etc/kubernetes/pki/broken.crt", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n");

  auto r = Agent({"--root", root.path(), "--node", "worker-1", "--once"});
  REQUIRE(r.code == 0);
  const std::string pki = root.path() + "/etc/kubernetes/pki/ca.crt";
  CHECK(r.out.find("source_kind=\"file\",namespace=\"\",name=\"" + pki +
                   "\",key=\"\",node=\"worker-1\",subject_cn=\"kubernetes\"") != std::string::npos);
  CHECK(r.out.find("subject_cn=\"system:node:worker-1\",issuer_cn=\"kubernetes\"") !=
        std::string::npos);
  CHECK(r.out.find("certguard_node_agent_scan_errors 1") != std::string::npos);
  CHECK(r.out.find("PRIVATE") == std::string::npos);
  // Days left of the kubelet certificate: about 10.
  auto at = r.out.find("certguard_certificate_expiry_days{source_kind=\"file\",namespace=\"\",name=\"" +
                       root.path() + "/var/lib/kubelet/pki/kubelet-client-current.pem\"");
  REQUIRE(at != std::string::npos);
  auto line = r.out.substr(at, r.out.find('\n', at) - at);
  double days_left = std::stod(line.substr(line.rfind(' ') + 1));
  CHECK(days_left > 9.9);
  CHECK(days_left <= 10.0);
}

TEST_CASE("node-agent: bad arguments exit 2", "[cli]") {
  CHECK(Agent({"--interval", "soon", "--once"}).code == 2);
  CHECK(Agent({"--interval", "0s", "--once"}).code == 2);
  CHECK(Agent({"--unknown"}).code == 2);
}
