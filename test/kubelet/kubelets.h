// Kubelets played by the kubelet's own certificate code: the kubelet-certs
// tool (hack/tools/kubernetes/kubelet-certs, built by hack/tools/build.sh from
// the pinned k8s.io/kubernetes) runs bootstrap, client rotation and the serving
// certificate manager for each node, and reports what each holds in
// DIR/NODE/status.json.
#pragma once

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/certguard_process.h"
#include "support/cluster.h"

namespace certguard::test::kubelet {

// "worker-1=10.0.0.11": a kubelet and the addresses it reports for its Node.
struct NodeSpec {
  std::string name;
  std::string ip;
  std::string Flag() const { return name + "=" + ip; }
};

class Kubelets {
 public:
  // Starts one kubelet-certs process for `nodes`, state under `dir`, joining with
  // `bootstrap_kubeconfig`; `serve` turns on serverTLSBootstrap.
  Kubelets(const Cluster& cluster, std::string dir, const std::vector<NodeSpec>& nodes,
           const std::string& bootstrap_kubeconfig, bool serve)
      : dir_(std::move(dir)) {
    std::vector<std::string> args = {"-bootstrap-kubeconfig", bootstrap_kubeconfig, "-dir", dir_};
    if (serve) args.push_back("-serve");
    for (const auto& n : nodes) {
      args.push_back("-node");
      args.push_back(n.Flag());
    }
    const std::string binary = cluster.Env("TOOLS_DIR") + "/kubelet-certs";
    process_ = std::make_unique<CertguardProcess>(binary, args, dir_ + ".log");
  }

  // What kubelet-certs last wrote for `node`; null before it wrote anything.
  nlohmann::json Status(const std::string& node) const {
    std::ifstream in(dir_ + "/" + node + "/status.json");
    std::stringstream text;
    text << in.rdbuf();
    return nlohmann::json::parse(text.str(), nullptr, false);
  }

  // The serial of the node's current certificate of `kind` ("client" or
  // "serving"); empty while it has none.
  std::string Serial(const std::string& node, const std::string& kind) const {
    const auto st = Status(node);
    if (!st.is_object() || !st.contains(kind) || !st[kind].is_object()) return "";
    return st[kind].value("serial", "");
  }
  int Count(const std::string& node, const std::string& kind) const {
    const auto st = Status(node);
    if (!st.is_object() || !st.contains(kind) || !st[kind].is_object()) return 0;
    return st[kind].value("count", 0);
  }

  CertguardProcess& process() { return *process_; }
  std::string Log() const { return process_->Log(); }

 private:
  std::string dir_;
  std::unique_ptr<CertguardProcess> process_;
};

// A bootstrap token as `kubeadm token create` makes it; the kubeconfig's path.
inline std::string BootstrapKubeconfig(const Cluster& cluster) {
  CommandResult r = cluster.Run("test/cluster/bootstrap-token.sh " + ShellQuote(cluster.dir()));
  INFO(r.err);
  REQUIRE(r.ok());
  std::string path = r.out;
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  return path;
}

// Serials as Go prints them (lower case, no leading zeros), whatever the source.
inline std::string NormalSerial(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == ':') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const auto first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

}  // namespace certguard::test::kubelet
