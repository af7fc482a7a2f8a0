// Kubelet renewals and re-bootstraps on the real control plane: a node whose
// serving certificate nears its end while its renewal waits shows
// certguard_node_renewal_stuck 1 (and `csr explain` says so), 0 once the
// renewal is issued; a re-bootstrap of a node whose client certificate is
// valid is refused until `approve-pending --recovery` opens a window.
#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "csr_support.h"

namespace certguard::test {
namespace {

using namespace csr_it;

std::string Metrics(const Cluster& cluster, int port) {
  return cluster.Run("curl -sS http://127.0.0.1:" + std::to_string(port) + "/metrics").out;
}

TEST_CASE(
    "csr: a serving renewal waiting while the certificate nears its end is stuck until it is "
    "issued",
    "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-renewal-stuck");
  auto kc = cluster.NodeIdentity("rn-a", {"InternalIP=10.46.0.1"});
  REQUIRE(kc.ok());
  auto cg = StartCertguard(cluster, "renewal-stuck", {"--csr-node-wait-timeout=300s"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
  const int port = MetricsPort(*cg);
  REQUIRE(port > 0);
  const std::string stuck = "certguard_node_renewal_stuck{kind=\"serving\",node=\"rn-a\"}";
  const std::string days = "certguard_node_certificate_expiry_days{kind=\"serving\",node=\"rn-a\"}";

  // The current serving certificate: ten minutes, well inside the 28-day window.
  std::string first =
      CreateCsr(cluster, *kc, "--node rn-a --type serving --ip 10.46.0.1 --expiration-seconds 600",
                work + "/first");
  REQUIRE(Eventually([&] { return StateOf(GetCsr(cluster, first)) == "Issued"; },
                     std::chrono::seconds(30)));
  REQUIRE(Eventually([&] { return MetricValue(Metrics(cluster, port), stuck) == 0; },
                     std::chrono::seconds(10)));
  const double left = MetricValue(Metrics(cluster, port), days);
  CHECK(left > 0);
  CHECK(left <= 600.0 / 86400);

  // The renewal names an address the Node does not list yet: it waits, pending.
  // A second later, as a kubelet's renewal is: of two CSRs made in the same second
  // the greater name counts as the newer (csr/supersede.h) and would supersede it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::string renewal = CreateCsr(
      cluster, *kc, "--node rn-a --type serving --ip 10.46.0.1 --ip 10.46.0.2", work + "/renewal");
  CHECK(Eventually([&] { return MetricValue(Metrics(cluster, port), stuck) == 1; },
                   std::chrono::seconds(20)));
  CHECK(StateOf(GetCsr(cluster, renewal)) == "");
  // The client certificate of rn-a is not known from any CSR: no series for it.
  CHECK(MetricValue(Metrics(cluster, port),
                    "certguard_node_certificate_expiry_days{kind=\"client\",node=\"rn-a\"}") == -1);

  // csr explain shows the node's current certificate and the stuck renewal.
  CommandResult explain = cluster.Run(CertguardCommand(cluster, "csr explain " + renewal));
  INFO(explain.out << explain.err);
  CHECK(explain.out.find("Node:       rn-a") != std::string::npos);
  CHECK(explain.out.find("serving:  CSR " + first) != std::string::npos);
  CHECK(explain.out.find("renewal pending: " + renewal) != std::string::npos);
  CHECK(explain.out.find("RENEWAL STUCK") != std::string::npos);
  CHECK(explain.out.find("client:   no issued certificate known") != std::string::npos);
  CommandResult json = cluster.Run(CertguardCommand(cluster, "csr explain " + renewal + " -o json"));
  auto j = nlohmann::json::parse(json.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["nodeCertificates"]["serving"]["csr"] == first);
  CHECK(j["nodeCertificates"]["serving"]["renewalStuck"] == true);
  CHECK(j["nodeCertificates"]["client"].is_null());

  // The Node lists the address: the renewal is approved and issued, stuck goes 0.
  REQUIRE(cluster.NodeIdentity("rn-a", {"InternalIP=10.46.0.1", "InternalIP=10.46.0.2"}).ok());
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, renewal)) == "Issued"; },
                   std::chrono::seconds(30)));
  CHECK(Eventually([&] { return MetricValue(Metrics(cluster, port), stuck) == 0; },
                   std::chrono::seconds(10)));
  // The renewal asked for no lifetime: the current certificate is the new, longer one.
  CHECK(MetricValue(Metrics(cluster, port), days) > left);
  CHECK(cg->Stop() == 0);
}

TEST_CASE(
    "csr: a re-bootstrap of a node with a valid client certificate waits for approve-pending "
    "--recovery",
    "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-recovery");
  CommandResult token = cluster.Run("test/cluster/bootstrap-token.sh " + ShellQuote(cluster.dir()));
  INFO(token.err);
  REQUIRE(token.ok());
  const std::string bootstrap_kc = Trim(token.out);
  auto kc = cluster.NodeIdentity("rb-a", {"InternalIP=10.46.1.1"});
  REQUIRE(kc.ok());
  // rb-a's client certificate, issued through a CSR: certguard knows it is valid.
  {
    auto cg = StartCertguard(cluster, "recovery-issue");
    REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
    std::string own = CreateCsr(cluster, *kc, "--node rb-a --type client", work + "/own");
    REQUIRE(Eventually([&] { return StateOf(GetCsr(cluster, own)) == "Issued"; },
                       std::chrono::seconds(30)));
    CHECK(cg->Stop() == 0);
  }
  // rb-a has been NotReady for an hour (powered off, or lost in a restore).
  const std::string since = cluster.Run("date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ").out;
  CommandResult not_ready = cluster.Kubectl(
      "patch node rb-a --subresource=status --type merge -p "
      "'{\"status\":{\"conditions\":[{\"type\":"
      "\"Ready\",\"status\":\"Unknown\",\"reason\":\"NodeStatusUnknown\",\"lastHeartbeatTime\":\"" +
      Trim(since) + "\",\"lastTransitionTime\":\"" + Trim(since) + "\"}]}}'");
  INFO(not_ready.err);
  REQUIRE(not_ready.ok());
  CommandResult policy =
      cluster.Run("kubectl --kubeconfig " + ShellQuote(cluster.admin_kubeconfig()) +
                  " apply -f - <<'EOF'\n"
                  "apiVersion: certguard.io/v1alpha1\n"
                  "kind: CSRApprovalPolicy\n"
                  "metadata: {name: restore}\n"
                  "spec:\n"
                  "  signerNames: [kubernetes.io/kube-apiserver-client-kubelet]\n"
                  "  bootstrap: {existingNodes: WhenNotReady, notReadyForSeconds: 600}\n"
                  "  onRefusal: Ignore\n"
                  "EOF");
  INFO(policy.err);
  REQUIRE(policy.ok());
  DeleteOnExit cleanup{cluster, "csrapprovalpolicy restore"};

  // A bootstrap request for rb-a: its certificate is valid and no window is open.
  std::string boot =
      CreateCsr(cluster, bootstrap_kc, "--bootstrap --node rb-a --type client", work + "/boot");
  CommandResult before = cluster.Run(CertguardCommand(cluster, "approve-pending"));
  INFO(before.out << before.err);
  CHECK(before.ok());
  CHECK(before.out.find("BootstrapNodeCertValid,RecoveryWindowNotOpen") != std::string::npos);
  CHECK(StateOf(GetCsr(cluster, boot)) == "");

  // --dry-run opens nothing and says what it would do.
  CommandResult dry = cluster.Run(CertguardCommand(cluster, "approve-pending --recovery 30m --dry-run"));
  INFO(dry.out << dry.err);
  CHECK(dry.out.find("would open the recovery window of policy restore") != std::string::npos);
  CHECK(dry.out.find("WouldApprove") != std::string::npos);
  CHECK(
      Trim(
          cluster
              .Kubectl(
                  "get csrapprovalpolicy restore -o jsonpath={.spec.bootstrap.recoveryWindowUntil}")
              .out)
          .empty());
  CHECK(StateOf(GetCsr(cluster, boot)) == "");

  // The window: the policy's field is set to now + 30m, and the re-bootstrap is approved.
  CommandResult recovery = cluster.Run(CertguardCommand(cluster, "approve-pending --recovery 30m"));
  INFO(recovery.out << recovery.err);
  CHECK(recovery.ok());
  CHECK(recovery.out.find("recovery window of policy restore open until") != std::string::npos);
  const std::string until = Trim(
      cluster
          .Kubectl(
              "get csrapprovalpolicy restore -o jsonpath={.spec.bootstrap.recoveryWindowUntil}")
          .out);
  const std::string now = Trim(cluster.Run("date -u +%Y-%m-%dT%H:%M:%SZ").out);
  CHECK(SecondsBetween(now, until) > 1700);
  CHECK(SecondsBetween(now, until) <= 1800);
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, boot)) == "Issued"; },
                   std::chrono::seconds(30)));
  CHECK(DecisionMessage(GetCsr(cluster, boot)).find("recovery window is open until") !=
        std::string::npos);

  // A window that has closed lets nothing through, and says so.
  REQUIRE(cluster
              .Kubectl(
                  "patch csrapprovalpolicy restore --type merge -p "
                  "'{\"spec\":{\"bootstrap\":{\"recoveryWindowUntil\":\"2020-01-01T00:00:00Z\"}}}'")
              .ok());
  std::string again =
      CreateCsr(cluster, bootstrap_kc, "--bootstrap --node rb-a --type client --key-type rsa",
                work + "/again");
  CommandResult closed = cluster.Run(CertguardCommand(cluster, "approve-pending"));
  INFO(closed.out << closed.err);
  CHECK(closed.out.find("RecoveryWindowClosed") != std::string::npos);
  CHECK(StateOf(GetCsr(cluster, again)) == "");
  // Without a policy allowing re-bootstraps, --recovery has nothing to open.
  cluster.Kubectl("delete csrapprovalpolicy restore");
  CommandResult none = cluster.Run(CertguardCommand(cluster, "approve-pending --recovery 30m"));
  CHECK_FALSE(none.ok());
  CHECK(none.err.find("a recovery window would change nothing") != std::string::npos);
  CommandResult too_long = cluster.Run(CertguardCommand(cluster, "approve-pending --recovery 48h"));
  CHECK(too_long.exit_code == 2);
  cluster.Kubectl("delete csr " + again + " " + boot + " --ignore-not-found");
}

}  // namespace
}  // namespace certguard::test
