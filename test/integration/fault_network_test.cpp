// certguard cut off from the API server in the middle of its work: a proxy the
// test controls sits between them. During the outage etcd is compacted, so the
// watches certguard resumes get 410 Gone and it must list again. Afterwards
// every CSR created meanwhile is decided once and rightly, and the time it took
// is recorded.
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include "csr_support.h"
#include "support/tcp_proxy.h"

namespace certguard::test {
namespace {

using namespace csr_it;
using namespace std::chrono_literals;

// Approved/Denied conditions on the CSR: more than one would mean decided twice.
int Decisions(const nlohmann::json& csr) {
  int n = 0;
  if (!csr.is_object()) return 0;
  for (const auto& c : csr.value("status", nlohmann::json::object())
                           .value("conditions", nlohmann::json::array())) {
    std::string type = c.value("type", "");
    n += (type == "Approved" || type == "Denied") ? 1 : 0;
  }
  return n;
}

void EtcdCompactNow(const Cluster& cluster) {
  CommandResult rev = cluster.Run(
      "curl -sS --max-time 5 http://127.0.0.1:$ETCD_PORT/v3/kv/range -d '{\"key\":\"AA==\"}'");
  REQUIRE(rev.ok());
  std::string revision = nlohmann::json::parse(rev.out)["header"]["revision"];
  CommandResult r = cluster.Run(
      "curl -sS --max-time 30 http://127.0.0.1:$ETCD_PORT/v3/kv/compaction -d "
      "'{\"revision\":\"" + revision + "\",\"physical\":true}'");
  INFO(r.out << r.err);
  REQUIRE(r.ok());
}

TEST_CASE("fault: the network to the API server is cut and etcd compacted mid-work",
          "[integration][fault]") {
  const Cluster& cluster = RequireCluster();
  REQUIRE(cluster.Kubectl("apply -f crds/").ok());
  const std::string work = cluster.ScratchDir("fault-network");
  TcpProxy proxy("127.0.0.1", std::stoi(cluster.Env("KUBE_APISERVER_PORT")));
  const std::string kubeconfig = work + "/via-proxy.kubeconfig";
  REQUIRE(cluster
              .Run("sed 's#https://127.0.0.1:[0-9]*#https://127.0.0.1:" +
                   std::to_string(proxy.port()) + "#' " + ShellQuote(cluster.admin_kubeconfig()) +
                   " > " + ShellQuote(kubeconfig))
              .ok());

  std::map<std::string, std::string> nodes = {{"fault-net-a", "10.77.0.1"},
                                              {"fault-net-b", "10.77.0.2"},
                                              {"fault-net-c", "10.77.0.3"}};
  std::map<std::string, std::string> kubeconfigs;
  for (const auto& [node, ip] : nodes) {
    auto kc = cluster.NodeIdentity(node, {"InternalIP=" + ip, "Hostname=" + node});
    REQUIRE(kc.ok());
    kubeconfigs[node] = *kc;
  }

  // Node a's attack is its newest serving CSR: decided on its own, it supersedes nothing.
  auto cg = StartCertguard(cluster, "fault-network", {"--csr-superseded=off"}, kubeconfig);
  REQUIRE(cg->WaitForLog("csr controller started", 60s));
  // Before the fault: decisions flow through the proxy.
  std::string before = CreateCsr(cluster, kubeconfigs["fault-net-a"],
                              "--node fault-net-a --type client", work + "/before");
  REQUIRE(Eventually([&] { return StateOf(GetCsr(cluster, before)) == "Issued"; }, 60s));
  const size_t connections_before = proxy.accepted();
  REQUIRE(connections_before >= 1);

  // The outage: open connections torn down, new ones refused.
  proxy.SetBlocked(true);
  proxy.CutAll();
  std::map<std::string, std::string> want;  // CSR name -> "Approved" or "Denied"
  for (const auto& [node, ip] : nodes) {
    want[CreateCsr(cluster, kubeconfigs[node], "--node " + node + " --type client",
                work + "/" + node + "-client")] = "Approved";
    want[CreateCsr(cluster, kubeconfigs[node],
                "--node " + node + " --type serving --dns " + node + " --ip " + ip,
                work + "/" + node + "-serving")] = "Approved";
  }
  // An attacker inside the outage: node a asks for node b's address.
  const std::string attack = CreateCsr(cluster, kubeconfigs["fault-net-a"],
                                    "--node fault-net-a --type serving --ip 10.77.0.2",
                                    work + "/attack");
  want[attack] = "Denied";
  EtcdCompactNow(cluster);
  std::this_thread::sleep_for(5s);  // the outage lasts 5 s
  // Nothing could be decided while certguard was cut off: the cut was real.
  for (const auto& [name, _] : want) {
    INFO(name);
    CHECK(StateOf(GetCsr(cluster, name)).empty());
  }
  CHECK(proxy.refused() >= 1);  // certguard kept trying

  // The network comes back.
  proxy.SetBlocked(false);
  const auto back = std::chrono::steady_clock::now();
  bool all = Eventually(
      [&] {
        for (const auto& [name, _] : want) {
          if (Decisions(GetCsr(cluster, name)) == 0) return false;
        }
        return true;
      },
      120s);
  const double recovery =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count();
  std::cout << "fault network: " << want.size() << " CSRs created during a 5 s outage with an "
            << "etcd compaction, all decided " << recovery << " s after the network came back\n";
  REQUIRE(all);
  for (const auto& [name, expected] : want) {
    nlohmann::json csr = GetCsr(cluster, name);
    INFO(name << ": " << DecisionMessage(csr));
    CHECK(Decisions(csr) == 1);
    std::string state = StateOf(csr);
    if (expected == "Approved") {
      CHECK((state == "Approved" || state == "Issued"));
    } else {
      CHECK(state == "Denied");
      CHECK(DecisionMessage(csr).find("SANNotNodeAddress") != std::string::npos);
    }
  }
  CHECK(proxy.accepted() > connections_before);  // it reconnected, not some other path
  CHECK(cg->running());
  CHECK(cg->Stop() == 0);
}

}  // namespace
}  // namespace certguard::test
