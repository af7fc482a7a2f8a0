// `certguard node-agent` as the DaemonSet runs it: a process serving the
// node's files as metrics, rescanning them, and stopping cleanly on SIGTERM.
// It needs no API server.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <regex>

#include "support/certguard_process.h"
#include "support/http_get.h"
#include "support/pki.h"
#include "support/temp_dir.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using certguard::testing::CertBuilder;
using certguard::testing::HttpGet;
using certguard::testing::TempDir;

int PortFromLog(const std::string& log, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(log, m, std::regex(name + "=\"?(\\d+)"))) return 0;
  return std::stoi(m[1]);
}

}  // namespace

TEST_CASE("expiry: node-agent serves the node's files, follows changes, exits 0 on SIGTERM",
          "[integration][expiry][node-agent]") {
  TempDir root;
  auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto ca = CertBuilder().Cn("kubernetes").Ca().NotAfter(now + 24h * 3650).Build();
  root.Write("etc/kubernetes/pki/ca.crt", ca.pem);
  root.Write("var/lib/kubelet/pki/kubelet-client-current.pem",
             CertBuilder().Cn("system:node:agent-node").IssuedBy(ca).NotAfter(now + 24h * 20).Pem());

  CertguardProcess agent({"node-agent", "--root", root.path(), "--node", "agent-node",
                          "--interval", "200ms", "--metrics-bind-address", "127.0.0.1:0",
                          "--health-bind-address", "127.0.0.1:0"},
                         root.path() + "/agent.log");
  REQUIRE(agent.WaitForLog("serving endpoints", 20s));
  const int metrics = PortFromLog(agent.Log(), "metrics_port");
  const int health = PortFromLog(agent.Log(), "health_port");
  REQUIRE(metrics > 0);
  REQUIRE(health > 0);
  REQUIRE(Eventually([&] { return HttpGet(health, "/readyz").status == 200; }, 20s));

  auto count = [&](const std::string& text) {
    std::string body = HttpGet(metrics, "/metrics").body;
    size_t n = 0;
    for (size_t at = body.find(text); at != std::string::npos; at = body.find(text, at + 1)) ++n;
    return n;
  };
  // Three metrics per certificate, each with the node label.
  CHECK(count("node=\"agent-node\",subject_cn=\"system:node:agent-node\"") == 3);
  CHECK(count("node=\"agent-node\",subject_cn=\"kubernetes\"") == 3);

  // A certificate added on disk shows at the next scan; one removed goes.
  root.Write("etc/kubernetes/pki/front-proxy-ca.crt", CertBuilder().Cn("front-proxy-ca").Ca().Pem());
  CHECK(Eventually([&] { return count("subject_cn=\"front-proxy-ca\"") == 3; }, 10s));
  std::filesystem::remove(root.path() + "/etc/kubernetes/pki/ca.crt");
  CHECK(Eventually([&] { return count("subject_cn=\"kubernetes\"") == 0; }, 10s));

  CHECK(agent.Stop() == 0);
}

}  // namespace certguard::test
