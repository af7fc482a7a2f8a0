// Abandoned retries and addresses still filling in, on the real control plane:
// of a node's several pending CSRs only the newest is decided (the older ones
// are denied Superseded, and do not trip the flood guard), and a serving CSR
// naming an address its Node does not list yet waits for the Node instead of
// being denied for good.
#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "csr_support.h"

namespace certguard::test {
namespace {

using namespace csr_it;

TEST_CASE("csr: of a node's pending retries the newest is approved, the older ones denied Superseded",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-supersede");
  auto kc = cluster.NodeIdentity("sup-a", {"InternalIP=10.45.0.1"});
  REQUIRE(kc.ok());
  // Four retries of sup-a's client certificate, made while nobody decides (certguard is down).
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) {
    names.push_back(CreateCsr(cluster, *kc, "--node sup-a --type client", work + "/" + std::to_string(i)));
  }
  // Made last, for sup-a's name but by another identity (the API server lets no
  // other node ask for sup-a's name; an admin may): it supersedes none of sup-a's.
  std::string foreign = CreateCsr(cluster, cluster.admin_kubeconfig(), "--node sup-a --type client",
                                  work + "/foreign");

  // Which of the four is newest, as certguard orders them: creationTimestamp, then name.
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& n : names) {
    nlohmann::json csr = GetCsr(cluster, n);
    REQUIRE(csr.is_object());
    order.emplace_back(csr["metadata"].value("creationTimestamp", ""), n);
  }
  std::sort(order.begin(), order.end());
  const std::string newest = order.back().second;

  // A per-node cap below the number of retries: the abandoned ones must not hold the newest.
  auto cg = StartCertguard(cluster, "supersede", {"--csr-max-pending-per-node=2"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, newest)) == "Issued"; }, std::chrono::seconds(30)));
  for (const auto& n : names) {
    if (n == newest) continue;
    INFO(n);
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, n)) == "Denied"; }, std::chrono::seconds(30)));
    std::string message = DecisionMessage(GetCsr(cluster, n));
    CHECK(message.find("Superseded: the newer CSR " + newest) != std::string::npos);
    CHECK(EventsOf(cluster, n).find("Denied:") != std::string::npos);
  }
  // The other node's request is refused for what it is, not as a duplicate.
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, foreign)) == "Denied"; }, std::chrono::seconds(30)));
  std::string foreign_message = DecisionMessage(GetCsr(cluster, foreign));
  CHECK(foreign_message.find("RequesterNot") != std::string::npos);
  CHECK(foreign_message.find("Superseded") == std::string::npos);
  CHECK(EventsOf(cluster, newest).find("ApprovalPaused") == std::string::npos);

  int port = MetricsPort(*cg);
  REQUIRE(port > 0);
  CommandResult metrics = cluster.Run("curl -sS http://127.0.0.1:" + std::to_string(port) + "/metrics");
  CHECK(MetricValue(metrics.out,
                    "certguard_csr_decision_reasons_total{decision=\"Deny\",reason=\"Superseded\","
                    "signer_name=\"kubernetes.io/kube-apiserver-client-kubelet\"}") >= 3);
  CHECK(cg->Stop() == 0);
}

TEST_CASE("csr: --csr-superseded=leave leaves the older retries pending and decides the newest",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-supersede-leave");
  auto kc = cluster.NodeIdentity("sup-l", {"InternalIP=10.45.0.5"});
  REQUIRE(kc.ok());
  std::string first = CreateCsr(cluster, *kc, "--node sup-l --type client", work + "/0");
  std::string second = CreateCsr(cluster, *kc, "--node sup-l --type client", work + "/1");
  nlohmann::json a = GetCsr(cluster, first), b = GetCsr(cluster, second);
  std::pair<std::string, std::string> ka{a["metadata"].value("creationTimestamp", ""), first};
  std::pair<std::string, std::string> kb{b["metadata"].value("creationTimestamp", ""), second};
  const std::string newest = ka < kb ? second : first;
  const std::string older = ka < kb ? first : second;
  auto cg = StartCertguard(cluster, "supersede-leave", {"--csr-superseded=leave"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, newest)) == "Issued"; }, std::chrono::seconds(30)));
  CHECK(Eventually([&] { return EventsOf(cluster, older).find("Ignored:Superseded") != std::string::npos; },
                   std::chrono::seconds(20)));
  CHECK(StateOf(GetCsr(cluster, older)) == "");
  CHECK(cg->Stop() == 0);
  cluster.Kubectl("delete csr " + older);
}

TEST_CASE("csr: a serving CSR naming an address its Node lists a few seconds later is approved, not denied",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-address-wait");
  auto kc = cluster.NodeIdentity("aw-a", {"InternalIP=10.43.0.1"});
  auto kc_b = cluster.NodeIdentity("aw-b", {"InternalIP=10.43.0.9"});
  REQUIRE(kc.ok());
  REQUIRE(kc_b.ok());
  auto cg = StartCertguard(cluster, "address-wait", {"--csr-node-wait-timeout=60s"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  // aw-a's second address is not on its Node yet (a cloud controller adds it later).
  std::string name = CreateCsr(cluster, *kc, "--node aw-a --type serving --ip 10.43.0.1 --ip 10.43.0.2",
                               work + "/a");
  // aw-b names an address that aw-a lists: never aw-b's, refused at once.
  std::string stolen = CreateCsr(cluster, *kc_b, "--node aw-b --type serving --ip 10.43.0.9 --ip 10.43.0.1",
                                 work + "/b");
  REQUIRE(Eventually([&] { return EventsOf(cluster, name).find("WaitingForNode:") != std::string::npos; },
                     std::chrono::seconds(20)));
  CHECK(EventsOf(cluster, name).find("does not list every address") != std::string::npos);
  CHECK(StateOf(GetCsr(cluster, name)) == "");
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, stolen)) == "Denied"; }, std::chrono::seconds(20)));
  nlohmann::json refused = GetCsr(cluster, stolen);
  CHECK(DecisionMessage(refused).find("IP 10.43.0.1 is an address of node aw-a") != std::string::npos);
  CHECK(SecondsBetween(refused["metadata"].value("creationTimestamp", ""), DecisionTime(refused)) < 30);

  // A few seconds later the Node gets its second address: approved.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  CHECK(StateOf(GetCsr(cluster, name)) == "");
  REQUIRE(cluster.NodeIdentity("aw-a", {"InternalIP=10.43.0.1", "InternalIP=10.43.0.2"}).ok());
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, name)) == "Issued"; }, std::chrono::seconds(30)));
  CHECK(cg->Stop() == 0);
}

}  // namespace
}  // namespace certguard::test
