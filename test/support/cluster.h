// Integration tests' access to the real control plane that test/cluster/up.sh
// starts (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1). CTest
// starts one per run (fixture `cluster`) and names its directory in
// $CERTGUARD_TEST_CLUSTER. Typical use:
//
//   const auto& cluster = certguard::test::RequireCluster();  // fails the test if absent
//   auto kc = cluster.NodeIdentity("node-a", {"InternalIP=10.0.0.5"});
//   REQUIRE(kc.ok());
//   auto r = cluster.Kubectl("get csr -o name", *kc);        // as the node
//   CHECK(r.exit_code == 0);
//   auto s = cluster.Run("test/cluster/kubelet-csr.sh wait --kubeconfig \"$KUBECONFIG\" ...");
//
// A Cluster is immutable once loaded: its methods may be called from several threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace certguard::test {

// What a command printed and how it ended.
struct CommandResult {
  int exit_code = -1;  // the exit status; -1 if it could not run or was killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
  bool ok() const { return exit_code == 0; }
};

// One shell word: `ShellQuote("a b'c")` is `'a b'\''c'`.
std::string ShellQuote(std::string_view word);

// Runs `bash -c COMMAND` (environment inherited), capturing stdout and stderr.
CommandResult RunShell(const std::string& command);

// A running control plane, as described by the DIR/env that up.sh wrote.
class Cluster {
 public:
  // The cluster in $CERTGUARD_TEST_CLUSTER. NotFound when the variable is unset or
  // DIR/env is missing; Unavailable when its kube-apiserver process is not running.
  static Result<Cluster> FromEnvironment();
  static Result<Cluster> Load(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // https://127.0.0.1:PORT
  const std::string& server() const { return server_; }
  // Kubeconfig of the cluster admin (O=system:masters).
  const std::string& admin_kubeconfig() const { return kubeconfig_; }
  // A value of DIR/env: KUBE_APISERVER_PORT, CLUSTER_CA, SIGNER_CA, TOOLS_DIR, ...
  // (see test/cluster/up.sh); empty if absent.
  std::string Env(const std::string& key) const;

  // Runs COMMAND in bash with DIR/env exported (so KUBECONFIG is the admin's),
  // the tools (kubectl, helm, ...) first on PATH and the repository root as
  // working directory, so that test/cluster/*.sh and openssl are at hand.
  CommandResult Run(const std::string& command) const;
  // `kubectl ARGS` as the admin or, given one, with KUBECONFIG. ARGS is shell text.
  CommandResult Kubectl(const std::string& args, const std::string& kubeconfig = "") const;
  // test/cluster/node-identity.sh: mints node NAME's kubelet client identity and
  // creates its Node with ADDRESSES ("InternalIP=10.0.0.5", "Hostname=node-a").
  // Returns the node's kubeconfig path.
  Result<std::string> NodeIdentity(const std::string& name,
                                   const std::vector<std::string>& addresses = {}) const;
  // A fresh, empty directory DIR/work/NAME for a test's files.
  std::string ScratchDir(const std::string& name) const;

 private:
  std::string dir_;
  std::string server_;
  std::string kubeconfig_;
  std::map<std::string, std::string> env_;
};

// A control plane of a test's own, for tests that stop, restart or reconfigure
// it so that the shared one never goes away under other tests: test/cluster/up.sh
// in `dir` (emptied first), with `env` words before it (for example
// "UP_EXTRA_CONTROLLERS=garbagecollector"); down.sh when it goes out of scope.
// The constructor fails the current test when the plane does not start.
class OwnCluster {
 public:
  explicit OwnCluster(std::string dir, const std::string& env = "");
  ~OwnCluster();
  OwnCluster(const OwnCluster&) = delete;
  OwnCluster& operator=(const OwnCluster&) = delete;

  const Cluster& cluster() const { return *cluster_; }
  const Cluster* operator->() const { return cluster_.get(); }

 private:
  void Down() const;
  std::string dir_;
  std::unique_ptr<Cluster> cluster_;
};

// The run's shared cluster. Fails the current test (a Catch2 REQUIRE, never a
// skip) when there is none.
const Cluster& RequireCluster();

}  // namespace certguard::test
