// The CSR approval controller on the real control plane: real node identities
// ask through the API, certguard decides, kube-controller-manager signs.
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "csr_support.h"

namespace certguard::test {
namespace {

using namespace csr_it;
using std::chrono::seconds;

std::string Request(const Cluster& cluster, const std::string& kubeconfig,
                    const std::string& args, const std::string& out) {
  CommandResult r = cluster.Run("test/cluster/kubelet-csr.sh request --timeout 60 --kubeconfig " +
                                ShellQuote(kubeconfig) + " " + args + " --out " + ShellQuote(out));
  return Trim(r.out);
}

TEST_CASE("csr: three kubelets get client renewals and serving certificates approved and issued",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-kubelets");
  auto cg = StartCertguard(cluster, "kubelets");
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  const std::vector<std::pair<std::string, std::string>> nodes = {
      {"kubelet-a", "10.30.0.1"}, {"kubelet-b", "10.30.0.2"}, {"kubelet-c", "10.30.0.3"}};
  for (const auto& [node, ip] : nodes) {
    auto kc = cluster.NodeIdentity(node, {"InternalIP=" + ip, "Hostname=" + node});
    REQUIRE(kc.ok());
    CHECK(Request(cluster, *kc, "--node " + node + " --type client", work + "/" + node + "-client") ==
          "issued");
    CHECK(Request(cluster, *kc,
                  "--node " + node + " --type serving --dns " + node + " --ip " + ip,
                  work + "/" + node + "-serving") == "issued");
    // The issued serving certificate carries what was asked for.
    CommandResult text = cluster.Run("openssl x509 -noout -text -in " +
                                     ShellQuote(work + "/" + node + "-serving.crt"));
    CHECK(text.out.find("IP Address:" + ip) != std::string::npos);
  }
  // The condition and the Event say who decided and why.
  std::string name = Trim(cluster.Run("cat " + ShellQuote(work + "/kubelet-a-serving.name")).out);
  nlohmann::json csr = GetCsr(cluster, name);
  CHECK(DecisionMessage(csr).rfind("CertguardApproved: policy default: ApprovedServing", 0) == 0);
  CHECK(Eventually([&] { return EventsOf(cluster, name).find("Approved:policy default") != std::string::npos; },
                   std::chrono::seconds(20)));
  CHECK(cg->Stop() == 0);
  CHECK(cg->Log().find("stopped") != std::string::npos);
}

TEST_CASE("csr: adversarial requests made by real identities are refused with reasons, never signed",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-adversarial");
  auto kc_a = cluster.NodeIdentity("adv-a", {"InternalIP=10.31.0.1", "Hostname=adv-a"});
  auto kc_b = cluster.NodeIdentity("adv-b", {"InternalIP=10.31.0.2", "Hostname=adv-b"});
  REQUIRE(kc_a.ok());
  REQUIRE(kc_b.ok());
  // Several requests per identity, each to be refused for its own reason: none supersedes another.
  auto cg = StartCertguard(cluster, "adversarial", {"--csr-superseded=off"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  struct Case {
    const char* what;
    std::string kubeconfig;
    std::string args;
    const char* reason;
  };
  CommandResult token = cluster.Run("test/cluster/bootstrap-token.sh " + ShellQuote(cluster.dir()));
  REQUIRE(token.ok());
  const std::string bootstrap_kc = Trim(token.out);
  const std::vector<Case> cases = {
      {"serving cert for an IP the node does not have", *kc_a,
       "--node adv-a --type serving --dns adv-a --ip 10.31.0.2", "SANNotNodeAddress"},
      {"serving cert for another node's DNS name", *kc_a,
       "--node adv-a --type serving --dns adv-b --ip 10.31.0.1", "SANNotNodeAddress"},
      {"serving cert for the loopback address", *kc_a,
       "--node adv-a --type serving --dns adv-a --ip 127.0.0.1", "SANAddressNotRoutable"},
      {"client cert with SANs", *kc_b, "--node adv-b --type client --dns adv-b", "SANsOnClientCert"},
      {"client cert for longer than a year", *kc_b,
       "--node adv-b --type client --expiration-seconds 99999999", "ExpirationTooLong"},
      {"serving cert asked with a bootstrap token", bootstrap_kc,
       "--node adv-a --type serving --dns adv-a --ip 10.31.0.1", "RequesterNotNode"},
  };
  // (A node asking for another node's name never gets this far: the API
  // server's NodeRestriction refuses to create it.)
  int n = 0;
  for (const auto& c : cases) {
    INFO(c.what);
    std::string out = Request(cluster, c.kubeconfig, c.args, work + "/case" + std::to_string(n++));
    CHECK(out.rfind("denied: CertguardDenied: ", 0) == 0);
    CHECK(out.find(c.reason) != std::string::npos);
  }
  // A CSR whose subject carries an extra attribute, made by hand.
  CommandResult extra = cluster.Run(
      "set -e; cd " + ShellQuote(work) + "; kubectl delete csr adv-extra-ou --ignore-not-found >/dev/null" +
      "; openssl ecparam -name prime256v1 -genkey -noout -out x.key 2>/dev/null;"
      " openssl req -new -key x.key -subj '/O=system:nodes/OU=admins/CN=system:node:adv-a' -out x.csr;"
      " jq -n --arg r \"$(base64 -w0 x.csr)\" '{apiVersion: \"certificates.k8s.io/v1\", kind: "
      "\"CertificateSigningRequest\", metadata: {name: \"adv-extra-ou\"}, spec: {request: $r, "
      "signerName: \"kubernetes.io/kube-apiserver-client-kubelet\", usages: [\"digital signature\", "
      "\"client auth\"]}}' | kubectl --kubeconfig " + ShellQuote(*kc_a) + " create -f - -o name");
  INFO(extra.err);
  REQUIRE(extra.ok());
  REQUIRE(Eventually([&] { return StateOf(GetCsr(cluster, "adv-extra-ou")) == "Denied"; },
                     std::chrono::seconds(30)));
  CHECK(DecisionMessage(GetCsr(cluster, "adv-extra-ou")).find("SubjectExtraAttributes") !=
        std::string::npos);
  CHECK(Eventually([&] { return EventsOf(cluster, "adv-extra-ou").find("Denied:") != std::string::npos; },
                   std::chrono::seconds(20)));

  // Nothing of it was signed.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (int i = 0; i < n; ++i) {
    std::string name = Trim(cluster.Run("cat " + ShellQuote(work + "/case" + std::to_string(i) + ".name")).out);
    nlohmann::json csr = GetCsr(cluster, name);
    CHECK(StateOf(csr) == "Denied");
    CHECK_FALSE(csr["status"].contains("certificate"));
  }
  CHECK(cg->Stop() == 0);
}

TEST_CASE("csr: bootstrap with a real token: a new node is approved, an existing one refused",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-bootstrap");
  CommandResult token = cluster.Run("test/cluster/bootstrap-token.sh " + ShellQuote(cluster.dir()));
  INFO(token.err);
  REQUIRE(token.ok());
  const std::string bootstrap_kc = Trim(token.out);
  auto existing = cluster.NodeIdentity("boot-existing", {"InternalIP=10.32.0.1"});
  REQUIRE(existing.ok());
  auto cg = StartCertguard(cluster, "bootstrap");
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  CHECK(Request(cluster, bootstrap_kc, "--bootstrap --node boot-new --type client", work + "/new") ==
        "issued");
  std::string refused =
      Request(cluster, bootstrap_kc, "--bootstrap --node boot-existing --type client", work + "/old");
  CHECK(refused.rfind("denied: CertguardDenied", 0) == 0);
  CHECK(refused.find("BootstrapForExistingNode") != std::string::npos);
  std::string name = Trim(cluster.Run("cat " + ShellQuote(work + "/new.name")).out);
  CHECK(name.rfind("node-csr-", 0) == 0);
  CHECK(DecisionMessage(GetCsr(cluster, name)).find("ApprovedBootstrap") != std::string::npos);
  CHECK(cg->Stop() == 0);
}

}  // namespace
}  // namespace certguard::test
