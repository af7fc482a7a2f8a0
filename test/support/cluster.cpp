#include "support/cluster.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace certguard::test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string ShellQuote(std::string_view word) {
  std::string q = "'";
  for (char c : word) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

CommandResult RunShell(const std::string& command) {
  CommandResult result;
  char err_path[] = "/tmp/certguard-test-stderr-XXXXXX";
  int err_fd = mkstemp(err_path);
  if (err_fd < 0) {
    result.err = "mkstemp failed";
    return result;
  }
  close(err_fd);
  std::string full = "bash -c " + ShellQuote(command) + " 2>" + ShellQuote(err_path) + " </dev/null";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) {
    unlink(err_path);
    result.err = "popen failed";
    return result;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.out.append(buf, n);
  int status = pclose(pipe);
  result.err = ReadFile(err_path);
  unlink(err_path);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

Result<Cluster> Cluster::FromEnvironment() {
  const char* dir = getenv("CERTGUARD_TEST_CLUSTER");
  if (dir == nullptr || *dir == '\0') {
    return NotFound(
        "CERTGUARD_TEST_CLUSTER is not set: run integration tests through ctest (fixture "
        "`cluster`), or start one with test/cluster/up.sh DIR and export "
        "CERTGUARD_TEST_CLUSTER=DIR");
  }
  return Load(dir);
}

Result<Cluster> Cluster::Load(const std::string& dir) {
  std::ifstream in(dir + "/env");
  if (!in) return NotFound(dir + "/env not found: is the cluster up (test/cluster/up.sh)?");
  Cluster c;
  c.dir_ = dir;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    c.env_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  c.server_ = c.Env("KUBE_SERVER");
  c.kubeconfig_ = c.Env("KUBECONFIG");
  if (c.server_.empty() || c.kubeconfig_.empty()) {
    return InvalidArgument(dir + "/env lacks KUBE_SERVER or KUBECONFIG");
  }
  const std::string pid = c.Env("KUBE_APISERVER_PID");
  if (pid.empty() || kill(static_cast<pid_t>(std::stol(pid)), 0) != 0) {
    return Unavailable("kube-apiserver (pid " + pid + ") of " + dir + " is not running");
  }
  return c;
}

std::string Cluster::Env(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? std::string() : it->second;
}

CommandResult Cluster::Run(const std::string& command) const {
  std::string prologue = "set -a; . " + ShellQuote(dir_ + "/env") + "; set +a; " +
                         "export PATH=\"$TOOLS_DIR:$PATH\"; cd " +
                         ShellQuote(CERTGUARD_SOURCE_DIR) + " || exit 1; ";
  return RunShell(prologue + command);
}

CommandResult Cluster::Kubectl(const std::string& args, const std::string& kubeconfig) const {
  return Run("kubectl --kubeconfig " + ShellQuote(kubeconfig.empty() ? kubeconfig_ : kubeconfig) +
             " " + args);
}

Result<std::string> Cluster::NodeIdentity(const std::string& name,
                                          const std::vector<std::string>& addresses) const {
  std::string cmd = "test/cluster/node-identity.sh " + ShellQuote(dir_) + " " + ShellQuote(name);
  for (const auto& a : addresses) cmd += " --address " + ShellQuote(a);
  CommandResult r = Run(cmd);
  if (!r.ok()) return Internal("node-identity.sh " + name + " failed: " + r.err);
  std::string path = r.out.substr(0, r.out.find('\n'));
  return path;
}

std::string Cluster::ScratchDir(const std::string& name) const {
  std::filesystem::path p = std::filesystem::path(dir_) / "work" / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

OwnCluster::OwnCluster(std::string dir, const std::string& env) : dir_(std::move(dir)) {
  Down();  // a plane left by an earlier run of the same test
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  auto up = RunShell("cd " + ShellQuote(CERTGUARD_SOURCE_DIR) + " && " + env +
                     " test/cluster/up.sh " + ShellQuote(dir_));
  INFO(up.out << up.err);
  REQUIRE(up.ok());
  auto c = Cluster::Load(dir_);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  cluster_ = std::make_unique<Cluster>(std::move(*c));
}

OwnCluster::~OwnCluster() { Down(); }

void OwnCluster::Down() const {
  RunShell(ShellQuote(std::string(CERTGUARD_SOURCE_DIR) + "/test/cluster/down.sh") + " " +
           ShellQuote(dir_) + " >/dev/null 2>&1");
}

const Cluster& RequireCluster() {
  static const Result<Cluster> cluster = Cluster::FromEnvironment();
  INFO(cluster.status().ToString());
  REQUIRE(cluster.ok());
  return cluster.value();
}

}  // namespace certguard::test
