// `certguard node-agent` as the DaemonSet runs it: a process serving the
// node's files as metrics, rescanning them, and stopping cleanly on SIGTERM.
// It needs no API server.
#include <sys/stat.h>

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

namespace certguard::test {

// Files that once crashed or stalled the agent: /proc/self/mem (EIO), a link to
// /proc/kmsg (a read that blocks), FIFOs. The agent reports them, serves, stays
// alive and ends on SIGTERM at once.
TEST_CASE("expiry: node-agent survives unreadable and blocking files and ends on SIGTERM",
          "[integration][expiry][node-agent]") {
  TempDir dir;
  dir.Write("pki/good.crt", CertBuilder().Cn("survivor").Pem());
  const std::string pki = dir.path() + "/pki";
  std::filesystem::create_symlink("/proc/self/mem", pki + "/mem.crt");
  std::filesystem::create_symlink("/proc/kmsg", pki + "/kmsg.crt");
  REQUIRE(::mkfifo((pki + "/fifo.crt").c_str(), 0600) == 0);
  std::filesystem::create_symlink("fifo.crt", pki + "/fifo-link.pem");

  CertguardProcess agent({"node-agent", "--path", pki, "--path", pki + "/fifo.crt", "--node", "n",
                          "--interval", "200ms", "--metrics-bind-address", "127.0.0.1:0",
                          "--health-bind-address", "127.0.0.1:0"},
                         dir.path() + "/agent.log");
  REQUIRE(agent.WaitForLog("serving endpoints", 20s));
  const int metrics = PortFromLog(agent.Log(), "metrics_port");
  const int health = PortFromLog(agent.Log(), "health_port");
  REQUIRE(Eventually([&] { return HttpGet(health, "/readyz").status == 200; }, 20s));
  CHECK(HttpGet(health, "/healthz").status == 200);
  const std::string body = HttpGet(metrics, "/metrics").body;
  CHECK(body.find("subject_cn=\"survivor\"") != std::string::npos);
  CHECK(body.find("certguard_node_agent_scan_errors 5") != std::string::npos);
  CHECK(agent.Log().find("on the proc pseudo file system") != std::string::npos);

  // Mid-run (scans every 200 ms): SIGTERM ends it well within a pod's grace period.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(agent.Stop(std::chrono::seconds(10)) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}

}  // namespace certguard::test
