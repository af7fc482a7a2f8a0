// 200 CSRs at once, with certguard killed (SIGKILL) in the middle and
// restarted: every CSR is decided, none twice.
#include <catch2/catch.hpp>
#include <iostream>
#include <map>
#include <thread>

#include "csr/approval.h"
#include "csr_support.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "support/pki.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using namespace csr_it;

std::shared_ptr<kube::RestClient> ClientFor(const std::string& kubeconfig) {
  kube::LoadOptions load;
  load.kubeconfig_flag = kubeconfig;
  auto config = kube::LoadClientConfig(load);
  REQUIRE(config.ok());
  config->qps = 500;
  config->burst = 500;
  auto client = kube::NewRestClient(*config);
  REQUIRE(client.ok());
  return *client;
}

using certguard::x509::pem::Base64;

// A kubelet CSR of node `node`: a client certificate, or a serving one for `ip`.
nlohmann::json KubeletCsr(const std::string& name, const std::string& node, const std::string& ip) {
  auto builder = testing::CsrBuilder().Subject({{"O", "system:nodes"}, {"CN", "system:node:" + node}});
  if (!ip.empty()) builder.Ip(ip);
  std::string pem = builder.Pem();
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"request", Base64(pem)},
            {"signerName", ip.empty() ? "kubernetes.io/kube-apiserver-client-kubelet"
                                      : "kubernetes.io/kubelet-serving"},
            {"usages", ip.empty() ? nlohmann::json{"digital signature", "client auth"}
                                  : nlohmann::json{"digital signature", "server auth"}}}}};
}

// name -> number of Approved/Denied conditions, for CSRs named PREFIX*.
std::map<std::string, int> Decided(kube::Client& admin, const std::string& prefix,
                                   std::map<std::string, std::string>* states = nullptr) {
  std::map<std::string, int> out;
  auto list = kube::ListAll(admin, kube::resources::kCertificateSigningRequests, "", {});
  if (!list.ok()) return out;
  for (const auto& item : list->items) {
    std::string name = item["metadata"]["name"];
    if (name.rfind(prefix, 0) != 0) continue;
    int n = csr::DecisionConditionCount(item);
    if (n > 0) out[name] = n;
    if (states) (*states)[name] = csr::CsrStateName(csr::StateOf(item));
  }
  return out;
}

// Deletes the CSRs named PREFIX* (left by an earlier run on the same plane).
void DeleteCsrs(kube::Client& admin, const std::string& prefix) {
  auto list = kube::ListAll(admin, kube::resources::kCertificateSigningRequests, "", {});
  REQUIRE(list.ok());
  for (const auto& item : list->items) {
    std::string name = item["metadata"]["name"];
    if (name.rfind(prefix, 0) == 0) {
      (void)admin.Delete(kube::resources::kCertificateSigningRequests, "", name);
    }
  }
  REQUIRE(Eventually(
      [&] {
        auto now = kube::ListAll(admin, kube::resources::kCertificateSigningRequests, "", {});
        if (!now.ok()) return false;
        for (const auto& item : now->items) {
          if (item["metadata"]["name"].get<std::string>().rfind(prefix, 0) == 0) return false;
        }
        return true;
      },
      std::chrono::seconds(60)));
}

// The shared plane ready for a burst: the CRDs, clients of nodes
// PREFIX0..PREFIX<n-1> (node i at address SUBNET.<i+1>), an admin client, and
// no CSR named PREFIX* left by an earlier run.
struct BurstSetup {
  BurstSetup(const std::string& prefix, const std::string& subnet, int n)
      : cluster(RequireCluster()) {
    PrepareCluster(cluster);
    for (int i = 0; i < n; ++i) {
      auto kc = cluster.NodeIdentity(prefix + std::to_string(i),
                                     {"InternalIP=" + subnet + "." + std::to_string(i + 1)});
      REQUIRE(kc.ok());
      nodes.push_back(ClientFor(*kc));
    }
    admin = ClientFor(cluster.admin_kubeconfig());
    DeleteCsrs(*admin, prefix);
  }
  const Cluster& cluster;
  std::vector<std::shared_ptr<kube::RestClient>> nodes;
  std::shared_ptr<kube::RestClient> admin;
};

// Of the CSRs `decided` (Decided()): how many were decided more than once, and
// how many were approved (Approved or Issued in `states`) where `expect_approved`
// says otherwise, or the reverse.
struct Tally {
  int twice = 0, wrong = 0;
};

Tally TallyDecisions(const std::map<std::string, int>& decided,
                     std::map<std::string, std::string>& states,
                     std::map<std::string, bool>& expect_approved) {
  Tally t;
  for (const auto& [name, n] : decided) {
    t.twice += n != 1;
    bool approved = states[name] == "Approved" || states[name] == "Issued";
    t.wrong += approved != expect_approved[name];
  }
  return t;
}

TEST_CASE("csr: a burst of 200 CSRs is decided completely, across a kill -9 and restart, none twice",
          "[integration][csr][burst]") {
  constexpr int kNodes = 4, kPerNode = 50;
  const BurstSetup s("burst-", "10.40.0", kNodes);
  const std::vector<std::string> election = {
      "--leader-elect=true", "--leader-election-id=certguard-burst",
      "--leader-election-namespace=default", "--leader-election-lease-duration=4s",
      "--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms",
      "--csr-max-pending-per-node=0", "--csr-max-pending=0",
      // 50 requests per node, each decided on its own (none superseded).
      "--csr-superseded=off",
      // 20 writes a second at most: 200 decisions take seconds, so the kill
      // below lands in the middle of the burst whatever the machine's speed.
      "--kube-api-qps=20", "--kube-api-burst=30"};
  auto cg = StartCertguard(s.cluster, "burst-1", election);
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  // 150 client renewals; node 0 asks 50 times for a serving certificate for
  // node 1's address (refused at once: it is another Node's).
  std::map<std::string, bool> expect_approved;
  std::vector<std::pair<int, nlohmann::json>> objects;
  for (int i = 0; i < kNodes; ++i) {
    for (int j = 0; j < kPerNode; ++j) {
      std::string name = "burst-" + std::to_string(i) + "-" + std::to_string(j);
      bool good = i != 0;
      objects.emplace_back(i, KubeletCsr(name, "burst-" + std::to_string(i), good ? "" : "10.40.0.2"));
      expect_approved[name] = good;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  for (auto& [i, obj] : objects) {
    auto created = s.nodes[i]->Create(kube::resources::kCertificateSigningRequests, "", obj);
    INFO(created.status().ToString());
    REQUIRE(created.ok());
  }
  auto created_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Kill it in the middle of the burst.
  size_t at_kill = 0;
  REQUIRE(Eventually([&] { return Decided(*s.admin, "burst-").size() >= 30; }, std::chrono::seconds(60)));
  cg->Kill();
  at_kill = Decided(*s.admin, "burst-").size();
  CHECK(at_kill < objects.size());

  auto cg2 = StartCertguard(s.cluster, "burst-2", election);
  bool all = Eventually([&] { return Decided(*s.admin, "burst-").size() == objects.size(); },
                        std::chrono::seconds(180));
  auto total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, std::string> states;
  auto decided = Decided(*s.admin, "burst-", &states);
  INFO(cg2->Log().substr(0, 4000));
  CHECK(all);
  CHECK(decided.size() == objects.size());
  const Tally tally = TallyDecisions(decided, states, expect_approved);
  CHECK(tally.twice == 0);
  CHECK(tally.wrong == 0);
  std::cout << "burst: " << objects.size() << " CSRs created in " << created_s << " s, "
            << at_kill << " decided before the kill, all decided " << total_s
            << " s after the first was created (restart included)\n";
  CHECK(cg2->Stop() == 0);
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_CASE("csr: two certguards racing without leader election decide every CSR once",
          "[integration][csr][burst]") {
  // Both see every CSR and write on their copy: the second write of a CSR meets
  // 409 Conflict, re-reads it, finds it decided and leaves it.
  constexpr int kNodes = 2, kPerNode = 50;
  const BurstSetup s("race-", "10.41.0", kNodes);
  const std::vector<std::string> flags = {"--csr-max-pending-per-node=0", "--csr-max-pending=0",
                                          "--csr-superseded=off",
                                          "--workers=4"};
  auto a = StartCertguard(s.cluster, "race-a", flags);
  auto b = StartCertguard(s.cluster, "race-b", flags);
  REQUIRE(a->WaitForLog("csr controller started", std::chrono::seconds(60)));
  REQUIRE(b->WaitForLog("csr controller started", std::chrono::seconds(60)));

  // Node race-1 asks for serving certificates of race-0's address (refused at once).
  std::map<std::string, bool> expect_approved;
  for (int i = 0; i < kNodes; ++i) {
    for (int j = 0; j < kPerNode; ++j) {
      std::string name = "race-" + std::to_string(i) + "-" + std::to_string(j);
      bool good = i == 0;
      auto created =
          s.nodes[i]->Create(kube::resources::kCertificateSigningRequests, "",
                           KubeletCsr(name, "race-" + std::to_string(i), good ? "" : "10.41.0.1"));
      INFO(created.status().ToString());
      REQUIRE(created.ok());
      expect_approved[name] = good;
    }
  }
  CHECK(Eventually([&] { return Decided(*s.admin, "race-").size() == expect_approved.size(); },
                   std::chrono::seconds(120)));
  std::map<std::string, std::string> states;
  auto decided = Decided(*s.admin, "race-", &states);
  const Tally tally = TallyDecisions(decided, states, expect_approved);
  CHECK(decided.size() == expect_approved.size());
  CHECK(tally.twice == 0);
  CHECK(tally.wrong == 0);
  CHECK(a->Stop() == 0);
  CHECK(b->Stop() == 0);
  const std::string logs = a->Log() + b->Log();
  CHECK(logs.find("Forbidden") == std::string::npos);
  std::cout << "race: " << decided.size() << " CSRs decided once each by two certguards; "
            << Count(logs, "csr decided") << " decisions written, "
            << Count(logs, "deciding again on a fresh copy") << " conflicts re-read\n";
  // Every CSR was written by exactly one of them, once.
  CHECK(Count(logs, "csr decided") == static_cast<int>(expect_approved.size()));
}

}  // namespace
}  // namespace certguard::test
