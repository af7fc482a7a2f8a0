// `certguard node-agent` as the DaemonSet runs it: a process serving the
// node's files as metrics, rescanning them, and stopping cleanly on SIGTERM.
// It needs no API server.
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "support/certguard_process.h"
#include "support/http_get.h"
#include "support/pki.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using namespace certguard::testing;  // the test PKI, HttpGet, TempDir

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

namespace certguard::test {
namespace {

// The thread of `pid` whose name (/proc/PID/task/TID/comm) is `name`; 0 when none.
pid_t ThreadNamed(pid_t pid, const std::string& name) {
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(task, ec)) {
    std::ifstream comm(entry.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) return std::stoi(entry.path().filename());
  }
  return 0;
}

// A scanned directory with what once hung a scan: a link to a FIFO no one writes
// to, a link to a terminal master (its read blocks until the other side writes),
// and enough certificates that a scan takes a while.
struct HostileDir {
  TempDir dir;
  std::string pki = dir.path() + "/pki";
  explicit HostileDir(int certificates) {
    const std::string pem = CertBuilder().Cn("survivor").Pem();
    for (int i = 0; i < certificates; ++i) dir.Write("pki/cert-" + std::to_string(i) + ".crt", pem);
    REQUIRE(::mkfifo((dir.path() + "/fifo").c_str(), 0600) == 0);
    std::filesystem::create_symlink(dir.path() + "/fifo", pki + "/fifo-link.pem");
    std::filesystem::create_symlink("/dev/ptmx", pki + "/ptmx-link.crt");
  }
};

// While a thread of another process is this test's tracee, that process's exit
// is reported only once the thread is reaped: on an early test failure, kill
// the process and reap the thread, so that the process's own wait cannot hang.
struct TracedThread {
  pid_t pid = 0;
  pid_t tid = 0;
  bool attached = false;
  ~TracedThread() {
    if (!attached) return;
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(tid, &status, __WALL) == tid && !WIFEXITED(status) && !WIFSIGNALED(status)) {
    }
  }
};

int ScanErrors(const std::string& metrics) {
  std::smatch m;
  if (!std::regex_search(metrics, m, std::regex("\ncertguard_node_agent_scan_errors (\\d+)"))) {
    return -1;
  }
  return std::stoi(m[1]);
}

}  // namespace

TEST_CASE("expiry: certs check-expiration reports a FIFO and a blocking device as unreadable",
          "[integration][expiry][node-agent]") {
  HostileDir d(3);
  CertguardProcess check({"certs", "check-expiration", "--path", d.pki},
                         d.dir.path() + "/check.log");
  // Seconds at most: a read that blocked would hang here (the guard is generous).
  REQUIRE(check.Wait(std::chrono::seconds(30)) == 0);
  const std::string log = check.Log();
  CHECK(log.find("survivor") != std::string::npos);
  CHECK(log.find("certguard: " + d.pki + "/fifo-link.pem: ") != std::string::npos);
  CHECK(log.find("certguard: " + d.pki + "/ptmx-link.crt: ") != std::string::npos);
}

// A read blocked in the kernel (a hung NFS or FUSE mount) cannot be shown on
// demand; a scan thread stopped with ptrace is held the same way: it neither
// progresses nor sees a signal, and cannot be joined. The agent must then fail
// /healthz past --scan-timeout and still end on SIGTERM within 5 s.
TEST_CASE("expiry: node-agent fails /healthz while a scan is stuck and ends on SIGTERM in 5 s",
          "[integration][expiry][node-agent]") {
  HostileDir d(400);
  // Long enough for a whole scan of the 400 files on a loaded or sanitized build:
  // a scan cut at its budget reports the rest as skipped, not the two links.
  const auto budget = testing::Scaled(1500ms);
  CertguardProcess agent(
      {"node-agent", "--path", d.pki, "--node", "n", "--interval", "10ms", "--scan-timeout",
       std::to_string(budget.count()) + "ms", "--metrics-bind-address", "127.0.0.1:0",
       "--health-bind-address", "127.0.0.1:0"},
      d.dir.path() + "/agent.log");
  REQUIRE(agent.WaitForLog("serving endpoints", 20s));
  const int metrics = PortFromLog(agent.Log(), "metrics_port");
  const int health = PortFromLog(agent.Log(), "health_port");
  REQUIRE(Eventually([&] { return HttpGet(health, "/readyz").status == 200; }, 20s));
  CHECK(HttpGet(health, "/healthz").status == 200);
  // Both links are reported, and every certificate is read.
  CHECK(ScanErrors(HttpGet(metrics, "/metrics").body) == 2);
  CHECK(agent.Log().find("fifo-link.pem") != std::string::npos);
  CHECK(agent.Log().find("ptmx-link.crt") != std::string::npos);

  const pid_t scanner = ThreadNamed(agent.pid(), "certguard-scan");
  REQUIRE(scanner > 0);
  TracedThread traced{agent.pid(), scanner};
  // Stop the scan thread until it is caught inside a scan (between two scans
  // /healthz rightly stays 200): then /healthz must fail once the budget has passed.
  bool stuck = false;
  for (int attempt = 0; attempt < 20 && !stuck; ++attempt) {
    REQUIRE(::ptrace(PTRACE_SEIZE, scanner, nullptr, nullptr) == 0);
    traced.attached = true;
    REQUIRE(::ptrace(PTRACE_INTERRUPT, scanner, nullptr, nullptr) == 0);
    int status = 0;
    REQUIRE(::waitpid(scanner, &status, __WALL) == scanner);
    REQUIRE(WIFSTOPPED(status));
    stuck = Eventually([&] { return HttpGet(health, "/healthz").status == 500; }, 1500ms + 2s);
    if (!stuck) {
      REQUIRE(::ptrace(PTRACE_DETACH, scanner, nullptr, nullptr) == 0);
      traced.attached = false;
    }
  }
  REQUIRE(stuck);
  const auto failed = HttpGet(health, "/healthz");
  CHECK(failed.body.find("[-]scan failed: ") != std::string::npos);
  // The metrics and readiness still answer: only liveness asks for a restart.
  CHECK(HttpGet(metrics, "/metrics").status == 200);

  // SIGTERM with the scan still held: the process ends, exit 0, within 5 s.
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(::kill(agent.pid(), SIGTERM) == 0);
  // The stopped thread is this test's tracee: reap it as the process ends, or
  // the process's own exit is never reported.
  bool reaped = Eventually(
      [&] {
        int status = 0;
        pid_t r = ::waitpid(scanner, &status, __WALL | WNOHANG);
        return r < 0 || (r == scanner && (WIFEXITED(status) || WIFSIGNALED(status)));
      },
      10s);
  CHECK(reaped);
  traced.attached = !reaped;
  CHECK(agent.Wait(std::chrono::seconds(10)) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(agent.Log().find("a scan is blocked in a read; exiting without it") != std::string::npos);
}

}  // namespace certguard::test
