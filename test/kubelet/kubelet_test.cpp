// certguard against the kubelet's own certificate code (label `kubelet`): every
// CSR in these tests is made by k8s.io/kubernetes/pkg/kubelet/certificate and
// k8s.io/client-go/util/certificate, run by kubelet-certs (see kubelets.h).
// Each test starts its own control plane, some with a short signing duration
// so that kubelets rotate inside the test.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/csr_support.h"
#include "kubelet/kubelets.h"
#include "support/http_get.h"

using namespace certguard::test;
using namespace certguard::test::csr_it;
using namespace certguard::test::kubelet;
using namespace std::chrono;
using nlohmann::json;

namespace {

std::string PlaneDir(const std::string& name) {
  return (std::filesystem::current_path() / "kubelet-planes" / name).string();
}

// The plane, the CRDs, a bootstrap token for the kubelets, and certguard with
// every controller, as the chart runs it.
struct Setup {
  explicit Setup(const std::string& name, const std::string& env = "")
      : plane(PlaneDir(name), env), cluster(plane.cluster()) {
    PrepareCluster(cluster);
    bootstrap = BootstrapKubeconfig(cluster);
  }
  // kubelet-certs for `nodes`, state under `dir`, joining with the bootstrap token.
  Kubelets Join(const std::string& dir, const std::vector<NodeSpec>& nodes, bool serve) const {
    return Kubelets(cluster, dir, nodes, bootstrap, serve);
  }
  std::unique_ptr<CertguardProcess> Certguard(const std::string& log, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", "--kubeconfig", cluster.admin_kubeconfig(),
                                     "--controllers=csr,expiry", "--leader-elect=false",
                                     "--metrics-bind-address=127.0.0.1:0",
                                     "--health-bind-address=127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto cg = std::make_unique<CertguardProcess>(
        args, cluster.ScratchDir("logs-" + log) + "/certguard.log");
    REQUIRE(cg->WaitForLog("csr controller started", seconds(60)));
    return cg;
  }
  OwnCluster plane;
  const Cluster& cluster;
  std::string bootstrap;  // its kubeconfig
};

// CSRs of `signer` asked by `user` (any requester when empty), as JSON items.
std::vector<json> CsrsOf(const Cluster& cluster, const std::string& signer, const std::string& user) {
  std::vector<json> out;
  CommandResult r = cluster.Kubectl("get csr -o json");
  auto list = json::parse(r.out, nullptr, false);
  if (!list.is_object()) return out;
  for (const auto& item : list.value("items", json::array())) {
    const auto& spec = item.value("spec", json::object());
    if (spec.value("signerName", "") == signer &&
        (user.empty() || spec.value("username", "") == user)) {
      out.push_back(item);
    }
  }
  return out;
}

std::vector<NodeSpec> Workers(int count, const std::string& prefix = "worker-") {
  std::vector<NodeSpec> nodes;
  for (int i = 1; i <= count; ++i) {
    nodes.push_back({prefix + std::to_string(i),
                     "10.40." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)});
  }
  return nodes;
}

// A TLS handshake with the kubelet's serving port that verifies the chain
// against kube-controller-manager's signing CA, the node's name and its IP.
CommandResult VerifyServing(const Cluster& cluster, int port, const NodeSpec& node) {
  return cluster.Run("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                     " -CAfile \"$SIGNER_CA\" -verify_return_error -verify_hostname " +
                     ShellQuote(node.name) + " -verify_ip " + ShellQuote(node.ip) +
                     " </dev/null 2>&1 | grep -E '^Verify return code|subject='");
}

}  // namespace

TEST_CASE("Real kubelets with serving rotation on get serving certificates, an attacker with "
          "another node's IP never does",
          "[kubelet]") {
  Setup s("serving");
  auto cg = s.Certguard("kubelet-serving");
  const auto workers = Workers(3);
  Kubelets kubelets = s.Join(s.cluster.ScratchDir("serving-kubelets"), workers, true);

  for (const auto& w : workers) {
    INFO(w.name << "\n" << kubelets.Log());
    REQUIRE(Eventually([&] { return !kubelets.Serial(w.name, "serving").empty(); }, seconds(90)));
    const int port = kubelets.Status(w.name).value("port", 0);
    REQUIRE(port > 0);
    CommandResult tls = VerifyServing(s.cluster, port, w);
    INFO(tls.out);
    CHECK(tls.out.find("Verify return code: 0 (ok)") != std::string::npos);
    CHECK(tls.out.find("CN = system:node:" + w.name) != std::string::npos);
  }
  // Each serving CSR was decided by certguard, as ApprovedServing.
  for (const auto& w : workers) {
    auto csrs = CsrsOf(s.cluster, "kubernetes.io/kubelet-serving", "system:node:" + w.name);
    REQUIRE(csrs.size() == 1);
    INFO(DecisionMessage(csrs[0]));
    CHECK(DecisionMessage(csrs[0]).find(": ApprovedServing") != std::string::npos);
  }

  // A compromised kubelet reports worker-1's IP as its own Node's address and
  // asks for a serving certificate with it: denied, again at each retry.
  const NodeSpec evil{"evil-1", workers[0].ip};
  Kubelets attacker = s.Join(s.cluster.ScratchDir("serving-attacker"), {evil}, true);
  REQUIRE(Eventually([&] { return !attacker.Serial(evil.name, "client").empty(); }, seconds(60)));
  INFO(attacker.Log());
  REQUIRE(Eventually(
      [&] {
        auto csrs = CsrsOf(s.cluster, "kubernetes.io/kubelet-serving", "system:node:evil-1");
        int denied = 0;
        for (const auto& c : csrs) denied += StateOf(c) == "Denied";
        return denied >= 2;
      },
      seconds(90)));
  for (const auto& c : CsrsOf(s.cluster, "kubernetes.io/kubelet-serving", "system:node:evil-1")) {
    INFO(c.dump());
    CHECK(StateOf(c) != "Issued");
    CHECK(StateOf(c) != "Approved");
  }
  CHECK(attacker.Serial(evil.name, "serving").empty());
}

TEST_CASE("Client certificates of real kubelets rotate before expiry, hands-off, and the expiry "
          "metric follows",
          "[kubelet]") {
  // kube-controller-manager backdates notBefore by 5 minutes and, for a signing
  // duration under 8 hours, not notAfter: a 2 minute duration is a 7 minute
  // certificate, which the kubelet renews at 70-90 % of its lifetime, from at
  // once to 1.3 minutes after issue, always before it expires.
  Setup s("rotation", "UP_SIGNING_DURATION=2m");
  auto cg = s.Certguard("kubelet-rotation");
  const auto workers = Workers(2);
  Kubelets kubelets = s.Join(s.cluster.ScratchDir("rotation-kubelets"), workers, false);

  for (const auto& w : workers) {
    INFO(w.name << "\n" << kubelets.Log());
    // The first certificate and two renewals.
    REQUIRE(Eventually([&] { return kubelets.Count(w.name, "client") >= 3; }, seconds(420)));
  }
  const int port = MetricsPort(*cg);
  REQUIRE(port > 0);
  for (const auto& w : workers) {
    // Every renewal was the node's own request, approved by certguard.
    auto renewals = CsrsOf(s.cluster, "kubernetes.io/kube-apiserver-client-kubelet",
                           "system:node:" + w.name);
    REQUIRE(renewals.size() >= 2);
    for (const auto& c : renewals) {
      INFO(c.dump());
      CHECK(DecisionMessage(c).find(": ApprovedRenewal") != std::string::npos);
    }
    // The expiry inventory shows the node's newest client certificate.
    const std::string serial = NormalSerial(kubelets.Serial(w.name, "client"));
    INFO(w.name << " holds " << serial);
    CHECK(Eventually(
        [&] {
          // A renewal may land between two reads: compare with what the kubelet holds now.
          const std::string now_serial = NormalSerial(kubelets.Serial(w.name, "client"));
          const std::string text = certguard::testing::HttpGet(port, "/metrics").body;
          size_t at = 0;
          while ((at = text.find("certguard_certificate_expiry_days{", at)) != std::string::npos) {
            const std::string line = text.substr(at, text.find('\n', at) - at);
            at += line.size();
            const auto sp = line.find("serial=\"");
            if (line.find("node=\"" + w.name + "\"") == std::string::npos ||
                line.find("source_kind=\"csr\"") == std::string::npos || sp == std::string::npos) {
              continue;
            }
            const std::string exposed = line.substr(sp + 8, line.find('"', sp + 8) - sp - 8);
            if (NormalSerial(exposed) == now_serial) return true;
          }
          return false;
        },
        seconds(60)));
  }
}

TEST_CASE("Restore from a snapshot: kubelets with expired client certificates behind pending "
          "CSRs are cleared by policy",
          "[kubelet]") {
  // One-minute certificates: they expire while the kubelets are down.
  Setup s("restore", "UP_SIGNING_DURATION=1m");
  const auto workers = Workers(5, "restored-");
  const std::string state = s.cluster.ScratchDir("restore-kubelets");
  std::set<std::string> expired;
  {
    auto cg = s.Certguard("restore-before");
    Kubelets first = s.Join(state, workers, false);
    for (const auto& w : workers) {
      INFO(first.Log());
      REQUIRE(Eventually([&] { return !first.Serial(w.name, "client").empty(); }, seconds(90)));
    }
    for (const auto& w : workers) expired.insert(first.Serial(w.name, "client"));
    // The snapshot: kubelets and certguard go down together.
    first.process().Kill();
    cg->Kill();
  }
  // The node lifecycle controller of the restored cluster marks them NotReady.
  for (const auto& w : workers) {
    const std::string since = "2026-01-01T00:00:00Z";
    CommandResult r = s.cluster.Kubectl(
        "patch node " + w.name + " --subresource=status --type=merge -p " +
        ShellQuote(json{{"status",
                         {{"conditions",
                           json::array({{{"type", "Ready"},
                                         {"status", "Unknown"},
                                         {"reason", "NodeStatusUnknown"},
                                         {"lastHeartbeatTime", since},
                                         {"lastTransitionTime", since}}})}}}}
                       .dump()));
    INFO(r.err);
    REQUIRE(r.ok());
  }
  // Wait out every client certificate (one minute after issue, plus clock slack).
  std::this_thread::sleep_for(seconds(65));

  // The kubelets come back first: expired certificates, so each asks again
  // with the bootstrap credentials, and nothing decides yet.
  Kubelets again = s.Join(state, workers, false);
  std::vector<json> pending;
  REQUIRE(Eventually(
      [&] {
        pending.clear();
        CommandResult r = s.cluster.Kubectl("get csr -o json");
        auto list = json::parse(r.out, nullptr, false);
        if (!list.is_object()) return false;
        for (const auto& item : list.value("items", json::array())) {
          if (StateOf(item).empty()) pending.push_back(item);
        }
        return pending.size() >= workers.size();
      },
      seconds(90)));
  for (const auto& c : pending) {
    CHECK(c["spec"].value("username", "").rfind("system:bootstrap:", 0) == 0);
  }

  // certguard with a policy that lets a bootstrap identity re-mint the client
  // certificate of a node NotReady for a minute, as the restore recipe sets it.
  CommandResult policy = s.cluster.Kubectl("apply -f - <<'EOF'\n"
      "apiVersion: certguard.io/v1alpha1\n"
      "kind: CSRApprovalPolicy\n"
      "metadata: {name: restore}\n"
      "spec:\n"
      "  signerNames: [kubernetes.io/kube-apiserver-client-kubelet]\n"
      "  bootstrap: {allow: true, existingNodes: WhenNotReady, notReadyForSeconds: 60}\n"
      "EOF");
  INFO(policy.err);
  REQUIRE(policy.ok());
  const auto started = steady_clock::now();
  auto cg = s.Certguard("restore-after");
  for (const auto& w : workers) {
    INFO(again.Log());
    REQUIRE(Eventually(
        [&] {
          const std::string serial = again.Serial(w.name, "client");
          return !serial.empty() && expired.count(serial) == 0;
        },
        seconds(60)));
  }
  const double took = duration<double>(steady_clock::now() - started).count();
  std::printf("restore: %zu nodes hold a valid client certificate %.1f s after certguard started\n",
              workers.size(), took);
  CHECK(took < 60);
  // Each pending bootstrap request was approved as a re-bootstrap of a NotReady node.
  for (const auto& c : pending) {
    auto now = GetCsr(s.cluster, c["metadata"].value("name", ""));
    INFO(now.dump());
    CHECK(StateOf(now) == "Issued");
    CHECK(DecisionMessage(now).find("re-bootstraps node") != std::string::npos);
  }
}

TEST_CASE("Mass restart: 200 real kubelets join and restart at once, the flood guard at its "
          "defaults",
          "[kubelet]") {
  Setup s("mass");
  auto cg = s.Certguard("kubelet-mass");
  const auto workers = Workers(200, "mass-");
  const std::string state = s.cluster.ScratchDir("mass-kubelets");

  const auto start = steady_clock::now();
  {
    Kubelets kubelets = s.Join(state, workers, true);
    for (const auto& w : workers) {
      INFO(w.name << "\n" << kubelets.Log().substr(0, 4000));
      REQUIRE(Eventually([&] { return !kubelets.Serial(w.name, "serving").empty(); }, seconds(300)));
    }
    const double joined = duration<double>(steady_clock::now() - start).count();
    std::printf("mass restart: 200 kubelets hold client and serving certificates %.1f s after "
                "they started\n",
                joined);
    kubelets.process().Kill();
  }
  auto csr_count = [&] {
    return CsrsOf(s.cluster, "kubernetes.io/kubelet-serving", "").size() +
           CsrsOf(s.cluster, "kubernetes.io/kube-apiserver-client-kubelet", "").size();
  };
  const size_t csrs_before = csr_count();
  // One client and one serving request each, and a few retries a kubelet makes
  // when a connection drops under it (its transport closes them on a new certificate).
  CHECK(csrs_before >= 2 * workers.size());
  for (const auto& w : workers) std::filesystem::remove(state + "/" + w.name + "/status.json");
  // All 200 restart at once with the certificates they hold: no new request, serving at once.
  const auto restart = steady_clock::now();
  Kubelets again = s.Join(state, workers, true);
  for (const auto& w : workers) {
    INFO(w.name);
    REQUIRE(Eventually(
        [&] {
          const auto st = again.Status(w.name);
          return st.is_object() && st.value("port", 0) > 0 && again.Count(w.name, "serving") >= 1;
        },
        seconds(120)));
    // The certificate it held before the restart, and no other.
    CHECK(again.Count(w.name, "serving") == 1);
  }
  std::printf("mass restart: 200 kubelets serving again %.1f s after the restart\n",
              duration<double>(steady_clock::now() - restart).count());
  CHECK(csr_count() == csrs_before);
}
