// The operational side of CSR approval on the real control plane: dry-run
// policies, policy changes, approve-pending, csr explain, the node wait, the
// flood guard and the least-privilege RBAC.
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "csr_support.h"
#include "rbac_support.h"

namespace certguard::test {
namespace {

using namespace csr_it;

TEST_CASE("csr: a dry-run policy writes nothing, and changing or removing it re-decides the pending CSR",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-dryrun");
  auto kc = cluster.NodeIdentity("dry-a", {"InternalIP=10.33.0.1"});
  REQUIRE(kc.ok());
  std::ofstream(work + "/policy.yaml") << R"(apiVersion: certguard.io/v1alpha1
kind: CSRApprovalPolicy
metadata:
  name: audit-only
spec:
  dryRun: true
)";
  DeleteOnExit cleanup{cluster, "csrapprovalpolicy audit-only"};
  cluster.Kubectl("delete csrapprovalpolicy audit-only --ignore-not-found");
  REQUIRE(cluster.Kubectl("apply -f " + ShellQuote(work + "/policy.yaml")).ok());
  auto cg = StartCertguard(cluster, "dryrun");
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  std::string name = CreateCsr(cluster, *kc, "--node dry-a --type client", work + "/c");
  REQUIRE(Eventually([&] { return EventsOf(cluster, name).find("DryRun:") != std::string::npos; },
                     std::chrono::seconds(30)));
  CHECK(EventsOf(cluster, name).find("would Approve") != std::string::npos);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  nlohmann::json csr = GetCsr(cluster, name);
  CHECK(StateOf(csr) == "");
  CHECK_FALSE(csr.value("status", nlohmann::json::object()).contains("conditions"));
  // The policy counts what it would have done.
  CHECK(Eventually(
      [&] {
        return Trim(cluster.Kubectl("get csrapprovalpolicy audit-only -o jsonpath='{.status.dryRun}'").out) != "" &&
               Trim(cluster.Kubectl("get csrapprovalpolicy audit-only -o jsonpath='{.status.dryRun}'").out) != "0";
      },
      std::chrono::seconds(20)));
  CHECK(Trim(cluster.Kubectl("get csrapprovalpolicy audit-only -o jsonpath='{.status.conditions[0].status}'").out) == "True");

  // `csr explain` says why it is still pending.
  CommandResult explain = cluster.Run(CertguardCommand(cluster, "csr explain " + name));
  INFO(explain.err);
  CHECK(explain.ok());
  CHECK(explain.out.find("dry run") != std::string::npos);

  // The policy changes: it no longer applies to dry-a, and without an applicable
  // policy the CSR is left for a person (Ignored, NoApplicablePolicy).
  REQUIRE(cluster.Kubectl("patch csrapprovalpolicy audit-only --type merge -p "
                          "'{\"spec\":{\"nodeNamePattern\":\"other-.*\"}}'").ok());
  REQUIRE(Eventually([&] { return EventsOf(cluster, name).find("Ignored:") != std::string::npos; },
                     std::chrono::seconds(30)));
  CHECK(EventsOf(cluster, name).find("NoApplicablePolicy") != std::string::npos);
  CHECK(StateOf(GetCsr(cluster, name)) == "");

  // The policy goes: the built-in default decides the pending CSR at once.
  REQUIRE(cluster.Kubectl("delete csrapprovalpolicy audit-only").ok());
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, name)) == "Issued"; }, std::chrono::seconds(30)));
  CHECK(DecisionMessage(GetCsr(cluster, name)).find("policy default: ApprovedRenewal") != std::string::npos);
  CHECK(cg->Stop() == 0);
}

TEST_CASE("csr: a policy's status counts its decisions and names the last one",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-policy-status");
  auto kc = cluster.NodeIdentity("count-a", {"InternalIP=10.39.0.1"});
  REQUIRE(kc.ok());
  // The address count-a's refused request names is another Node's: denied at once, no wait.
  REQUIRE(cluster.NodeIdentity("count-b", {"InternalIP=10.39.0.9"}).ok());
  std::ofstream(work + "/policy.yaml") << R"(apiVersion: certguard.io/v1alpha1
kind: CSRApprovalPolicy
metadata:
  name: counted
spec:
  nodeNamePattern: "count-.*"
)";
  DeleteOnExit cleanup{cluster, "csrapprovalpolicy counted"};
  REQUIRE(cluster.Kubectl("apply -f " + ShellQuote(work + "/policy.yaml")).ok());
  auto cg = StartCertguard(cluster, "policy-status");
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  std::string good = CreateCsr(cluster, *kc, "--node count-a --type client", work + "/good");
  REQUIRE(Eventually([&] { return StateOf(GetCsr(cluster, good)) == "Issued"; }, std::chrono::seconds(30)));
  std::string bad = CreateCsr(cluster, *kc, "--node count-a --type serving --ip 10.39.0.9", work + "/bad");
  REQUIRE(Eventually([&] { return StateOf(GetCsr(cluster, bad)) == "Denied"; }, std::chrono::seconds(30)));
  CHECK(DecisionMessage(GetCsr(cluster, good)).find("policy counted: ApprovedRenewal") != std::string::npos);
  CHECK(DecisionMessage(GetCsr(cluster, bad)).find("policy counted: SANNotNodeAddress") != std::string::npos);

  nlohmann::json status;
  CHECK(Eventually(
      [&] {
        CommandResult r = cluster.Kubectl("get csrapprovalpolicy counted -o json");
        if (!r.ok()) return false;
        nlohmann::json p = nlohmann::json::parse(r.out, nullptr, false);
        if (!p.is_object()) return false;
        status = p.value("status", nlohmann::json::object());
        return status.value("approved", 0) == 1 && status.value("denied", 0) == 1 &&
               status.value("lastDecision", nlohmann::json::object()).value("csr", "") == bad &&
               status.value("observedGeneration", 0) == p["metadata"].value("generation", -1);
      },
      std::chrono::seconds(20)));
  INFO(status.dump());
  CHECK(status.value("ignored", -1) == 0);
  CHECK(status.value("dryRun", -1) == 0);
  CHECK(status["lastDecision"].value("decision", "") == "Deny");
  CHECK(status["lastDecision"].value("reason", "") == "SANNotNodeAddress");
  CHECK(status["conditions"][0].value("type", "") == "Valid");
  CHECK(status["conditions"][0].value("status", "") == "True");
  CHECK(cg->Stop() == 0);
}

TEST_CASE("csr: an invalid policy gets a False Valid condition naming the field", "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-invalid-policy");
  std::ofstream(work + "/policy.yaml") << R"(apiVersion: certguard.io/v1alpha1
kind: CSRApprovalPolicy
metadata:
  name: broken-regex
spec:
  nodeNamePattern: "worker-(["
  dryRun: true
)";
  DeleteOnExit cleanup{cluster, "csrapprovalpolicy broken-regex"};
  CommandResult applied = cluster.Kubectl("apply -f " + ShellQuote(work + "/policy.yaml"));
  INFO(applied.err);
  REQUIRE(applied.ok());
  auto cg = StartCertguard(cluster, "invalid-policy");
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
  CHECK(Eventually(
      [&] {
        return Trim(cluster.Kubectl("get csrapprovalpolicy broken-regex -o jsonpath='{.status.conditions[0].status}'").out) == "False";
      },
      std::chrono::seconds(20)));
  CHECK(cluster.Kubectl("get csrapprovalpolicy broken-regex -o jsonpath='{.status.conditions[0].message}'")
            .out.find("nodeNamePattern") != std::string::npos);
  CHECK(cg->Stop() == 0);
  CHECK(cluster.Kubectl("delete csrapprovalpolicy broken-regex").ok());
}

TEST_CASE("csr: approve-pending clears a backlog left while certguard was down", "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-approve-pending");
  auto kc_a = cluster.NodeIdentity("ap-a", {"InternalIP=10.34.0.1", "Hostname=ap-a"});
  auto kc_b = cluster.NodeIdentity("ap-b", {"InternalIP=10.34.0.2"});
  REQUIRE(kc_a.ok());
  REQUIRE(kc_b.ok());
  std::vector<std::string> good = {
      CreateCsr(cluster, *kc_a, "--node ap-a --type client", work + "/1"),
      CreateCsr(cluster, *kc_a, "--node ap-a --type serving --dns ap-a --ip 10.34.0.1", work + "/2"),
      CreateCsr(cluster, *kc_b, "--node ap-b --type client", work + "/3")};
  std::string bad = CreateCsr(cluster, *kc_a, "--node ap-a --type serving --ip 10.34.0.2", work + "/4");

  // --dry-run: the table, nothing written. (ap-a's refused serving request is
  // its newest: --csr-superseded=off lets the good one be decided too.)
  CommandResult dry = cluster.Run(CertguardCommand(cluster, "approve-pending --dry-run --csr-superseded=off"));
  INFO(dry.out << dry.err);
  REQUIRE(dry.ok());
  CHECK(dry.out.rfind("NAME", 0) == 0);
  CHECK(dry.out.find("REQUESTER") != std::string::npos);
  for (const auto& n : good) {
    CHECK(dry.out.find(n) != std::string::npos);
    CHECK(StateOf(GetCsr(cluster, n)) == "");
  }
  CHECK(dry.out.find("WouldDeny") != std::string::npos);
  CHECK(dry.out.find("SANNotNodeAddress") != std::string::npos);

  CommandResult real = cluster.Run(CertguardCommand(cluster, "approve-pending --csr-superseded=off"));
  INFO(real.out << real.err);
  REQUIRE(real.ok());
  for (const auto& n : good) {
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, n)) == "Issued"; }, std::chrono::seconds(30)));
  }
  CHECK(StateOf(GetCsr(cluster, bad)) == "Denied");
  CHECK(real.out.find("Approved") != std::string::npos);
  CHECK(real.out.find("Denied") != std::string::npos);

  // --watch: a CSR that arrives while it runs is decided; it stops once quiet.
  // The CSR is created only once the first pass is over, and the quiet period
  // is far longer than creating one takes.
  CertguardProcess watch({"approve-pending", "--watch", "--interval", "1s", "--until-quiet", "10s",
                          "--kubeconfig", cluster.admin_kubeconfig()},
                         work + "/watch.log");
  REQUIRE(Eventually(
      [&] {
        std::string log = watch.Log();
        return log.find("NAME") != std::string::npos ||
               log.find("no pending kubelet CSR") != std::string::npos;
      },
      std::chrono::seconds(30)));
  const std::string late = CreateCsr(cluster, *kc_b, "--node ap-b --type client", work + "/5");
  CHECK(watch.Wait(std::chrono::seconds(60)) == 0);
  const std::string watched = watch.Log();
  INFO(watched);
  CHECK(watched.find("quiet for 10s: done") != std::string::npos);
  CHECK(watched.find(late) != std::string::npos);
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, late)) == "Issued"; }, std::chrono::seconds(30)));

  // explain on the refused one names every reason.
  CommandResult explain = cluster.Run(CertguardCommand(cluster, "csr explain " + bad));
  CHECK(explain.ok());
  CHECK(explain.out.find("State:      Denied") != std::string::npos);
  CHECK(explain.out.find("SANNotNodeAddress: IP 10.34.0.2 is not an address of node ap-a") !=
        std::string::npos);
  CommandResult missing = cluster.Run(CertguardCommand(cluster, "csr explain no-such-csr"));
  CHECK(missing.exit_code == 1);
}

TEST_CASE("csr: approve-pending holds a flooding node's approvals, says why, and goes on once it ends",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-approve-pending-flood");
  auto kc = cluster.NodeIdentity("apf-a", {"InternalIP=10.38.0.1"});
  auto kc_other = cluster.NodeIdentity("apf-b", {"InternalIP=10.38.0.2"});
  REQUIRE(kc.ok());
  REQUIRE(kc_other.ok());
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) {
    names.push_back(CreateCsr(cluster, *kc, "--node apf-a --type client", work + "/" + std::to_string(i)));
  }
  const std::string other = CreateCsr(cluster, *kc_other, "--node apf-b --type client", work + "/b");
  const std::string why = "MaxPendingPerNode: node:apf-a has 4 pending, cap 3";

  CommandResult dry = cluster.Run(CertguardCommand(cluster, "approve-pending --dry-run --csr-max-pending-per-node 3 --csr-superseded=off"));
  INFO(dry.out << dry.err);
  REQUIRE(dry.ok());
  for (const auto& n : names) {
    size_t line = dry.out.find(n);
    REQUIRE(line != std::string::npos);
    std::string row = dry.out.substr(line, dry.out.find('\n', line) - line);
    CHECK(row.find("Held") != std::string::npos);
    CHECK(row.find(why) != std::string::npos);
  }
  CHECK(dry.out.find("WouldApprove") != std::string::npos);  // apf-b is not held

  CommandResult held = cluster.Run(CertguardCommand(cluster, "approve-pending --csr-max-pending-per-node 3 --csr-superseded=off"));
  INFO(held.out << held.err);
  REQUIRE(held.ok());
  CHECK(held.out.find("4 approvals are held by the pending-flood guard") != std::string::npos);
  for (const auto& n : names) CHECK(StateOf(GetCsr(cluster, n)) == "");
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, other)) == "Issued"; }, std::chrono::seconds(30)));
  CHECK(Eventually(
      [&] { return EventsOf(cluster, names[0]).find("ApprovalPaused:") != std::string::npos; },
      std::chrono::seconds(20)));
  CHECK(EventsOf(cluster, names[0]).find("--csr-max-pending-per-node") != std::string::npos);

  // One request withdrawn: the node is back at its cap and the rest goes through.
  REQUIRE(cluster.Kubectl("delete csr " + names[3]).ok());
  CommandResult resumed = cluster.Run(CertguardCommand(cluster, "approve-pending --csr-max-pending-per-node 3 --csr-superseded=off"));
  INFO(resumed.out << resumed.err);
  REQUIRE(resumed.ok());
  CHECK(resumed.out.find("held by the pending-flood guard") == std::string::npos);
  for (int i = 0; i < 3; ++i) {
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, names[i])) == "Issued"; },
                     std::chrono::seconds(30)));
  }
}

TEST_CASE("csr: a serving CSR waits for its Node, boundedly", "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-node-wait");
  auto kc_a = cluster.NodeIdentity("nw-a", {"InternalIP=10.35.0.1"});
  auto kc_b = cluster.NodeIdentity("nw-b", {"InternalIP=10.35.0.2"});
  REQUIRE(kc_a.ok());
  REQUIRE(kc_b.ok());
  REQUIRE(cluster.Kubectl("delete node nw-a nw-b").ok());
  // Long enough that nw-a registers well inside it, even on a loaded machine.
  auto cg = StartCertguard(cluster, "node-wait", {"--csr-node-wait-timeout=20s"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  std::string a = CreateCsr(cluster, *kc_a, "--node nw-a --type serving --ip 10.35.0.1", work + "/a");
  std::string b = CreateCsr(cluster, *kc_b, "--node nw-b --type serving --ip 10.35.0.2", work + "/b");
  REQUIRE(Eventually([&] { return EventsOf(cluster, a).find("WaitingForNode:") != std::string::npos; },
                     std::chrono::seconds(20)));
  CHECK(StateOf(GetCsr(cluster, a)) == "");
  CommandResult explain = cluster.Run(CertguardCommand(cluster, "csr explain " + a));
  CHECK(explain.out.find("waits for its Node") != std::string::npos);
  CHECK(explain.out.find("NodeNotFound") != std::string::npos);

  // nw-a registers: approved at once. nw-b never does: refused after the timeout.
  REQUIRE(cluster.NodeIdentity("nw-a", {"InternalIP=10.35.0.1"}).ok());
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, a)) == "Issued"; }, std::chrono::seconds(20)));
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, b)) == "Denied"; }, std::chrono::seconds(60)));
  nlohmann::json refused = GetCsr(cluster, b);
  CHECK(DecisionMessage(refused).find("NodeNotFound") != std::string::npos);
  // Refused once the wait was over, not before.
  CHECK(SecondsBetween(refused["metadata"].value("creationTimestamp", ""), DecisionTime(refused)) >= 20);
  CHECK(cg->Stop() == 0);
}

TEST_CASE("csr: the flood guard pauses approvals past the cap and resumes by itself",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-flood");
  auto kc = cluster.NodeIdentity("flood-a", {"InternalIP=10.36.0.1"});
  REQUIRE(kc.ok());
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back(CreateCsr(cluster, *kc, "--node flood-a --type client", work + "/" + std::to_string(i)));
  }
  // Five requests of one node, each counted (none superseded): a flood.
  auto cg = StartCertguard(cluster, "flood", {"--csr-max-pending-per-node=3", "--csr-superseded=off"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
  REQUIRE(Eventually([&] { return EventsOf(cluster, names[0]).find("ApprovalPaused:") != std::string::npos; },
                     std::chrono::seconds(20)));
  for (const auto& n : names) CHECK(StateOf(GetCsr(cluster, n)) == "");
  int port = MetricsPort(*cg);
  REQUIRE(port > 0);
  CommandResult metrics = cluster.Run("curl -sS http://127.0.0.1:" + std::to_string(port) + "/metrics");
  CHECK(metrics.out.find("certguard_csr_approvals_paused{scope=\"node\"} 1") != std::string::npos);
  CHECK(EventsOf(cluster, names[0]).find("--csr-max-pending-per-node") != std::string::npos);
  const std::string client_signer = "{signer_name=\"kubernetes.io/kube-apiserver-client-kubelet\"}";
  CHECK(MetricValue(metrics.out, "certguard_csr_pending" + client_signer) >= 5);
  // The oldest held request ages (the gauges are refreshed every 10 s).
  CHECK(Eventually(
      [&] {
        metrics = cluster.Run("curl -sS http://127.0.0.1:" + std::to_string(port) + "/metrics");
        return MetricValue(metrics.out, "certguard_csr_oldest_pending_age_seconds" + client_signer) >= 1;
      },
      std::chrono::seconds(20)));

  // The flood ends (two requests withdrawn): the rest is approved without help.
  REQUIRE(cluster.Kubectl("delete csr " + names[3] + " " + names[4]).ok());
  for (int i = 0; i < 3; ++i) {
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, names[i])) == "Issued"; }, std::chrono::seconds(40)));
  }
  CHECK(Eventually(
      [&] {
        metrics = cluster.Run("curl -sS http://127.0.0.1:" + std::to_string(port) + "/metrics");
        return metrics.out.find("certguard_csr_approvals_paused{scope=\"node\"} 0") != std::string::npos;
      },
      std::chrono::seconds(20)));
  CHECK(metrics.out.find("certguard_csr_decisions_total{decision=\"Approve\",reason=\"ApprovedRenewal\",signer_name=\"kubernetes.io/kube-apiserver-client-kubelet\"}") != std::string::npos);
  CHECK(MetricValue(metrics.out, "certguard_csr_decision_latency_seconds_count") >= 3);
  CHECK(metrics.out.find("certguard_csr_pending{signer_name=\"kubernetes.io/kubelet-serving\"}") != std::string::npos);
  CHECK(cg->Stop() == 0);
}

TEST_CASE("csr: held CSRs go through as soon as a denial shrinks the backlog",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-flood-deny");
  auto kc = cluster.NodeIdentity("flood-d", {"InternalIP=10.36.0.4"});
  REQUIRE(kc.ok());
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back(CreateCsr(cluster, *kc, "--node flood-d --type client", work + "/" + std::to_string(i)));
  }
  auto cg = StartCertguard(cluster, "flood-deny", {"--csr-max-pending-per-node=3", "--csr-superseded=off"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
  for (const auto& n : names) {
    REQUIRE(Eventually([&] { return EventsOf(cluster, n).find("ApprovalPaused:") != std::string::npos; },
                       std::chrono::seconds(20)));
  }
  // An admin denies two: 3 pending, at the cap. The held ones are looked at
  // again at once, not at their 30 s recheck.
  const auto denied_at = std::chrono::steady_clock::now();
  REQUIRE(cluster.Kubectl("certificate deny " + names[3] + " " + names[4]).ok());
  for (int i = 0; i < 3; ++i) {
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, names[i])) == "Issued"; }, std::chrono::seconds(40)));
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - denied_at).count();
  INFO("approved " << took << " s after the denials");
  CHECK(took < 15);
  CHECK(StateOf(GetCsr(cluster, names[3])) == "Denied");
  CHECK(cg->Stop() == 0);
}

TEST_CASE("csr: certguard runs under the ClusterRole of deploy/ through a ServiceAccount token",
          "[integration][csr][rbac]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-rbac");
  // deploy/certguard.yaml as shipped: its ServiceAccount and RBAC are what this test runs under.
  const std::string kubeconfig = DeployedServiceAccountKubeconfig(cluster, work);
  const std::string sa = "system:serviceaccount:certguard:certguard";

  // The signers rule names only the two kubelet signers: asked as the approval
  // admission plugin asks (a SubjectAccessReview of verb approve on resource
  // signers with the signer as name; `kubectl auth can-i` cannot say this, it
  // turns an unknown resource into group "*").
  auto can = [&](const std::string& verb, std::string resource, const std::string& name) {
    std::string subresource;
    if (auto slash = resource.find('/'); slash != std::string::npos) {
      subresource = resource.substr(slash + 1);
      resource.resize(slash);
    }
    nlohmann::json review = {
        {"apiVersion", "authorization.k8s.io/v1"},
        {"kind", "SubjectAccessReview"},
        {"spec",
         {{"user", sa},
          {"groups", {"system:serviceaccounts", "system:serviceaccounts:certguard",
                      "system:authenticated"}},
          {"resourceAttributes",
           {{"group", "certificates.k8s.io"}, {"resource", resource}, {"verb", verb},
            {"subresource", subresource}, {"name", name}}}}}};
    CommandResult r = cluster.Run("echo " + ShellQuote(review.dump()) +
                                  " | kubectl create -f - -o jsonpath='{.status.allowed}'");
    INFO(r.err);
    REQUIRE(r.ok());
    return Trim(r.out) == "true";
  };
  CHECK(can("approve", "signers", "kubernetes.io/kubelet-serving"));
  CHECK(can("approve", "signers", "kubernetes.io/kube-apiserver-client-kubelet"));
  CHECK_FALSE(can("approve", "signers", "kubernetes.io/kube-apiserver-client"));
  CHECK_FALSE(can("approve", "signers", "kubernetes.io/legacy-unknown"));
  CHECK_FALSE(can("approve", "signers", "kubernetes.io/*"));
  CHECK_FALSE(can("approve", "signers", "example.com/any"));
  CHECK_FALSE(can("sign", "signers", "kubernetes.io/kubelet-serving"));
  // CSRs: read, and write only the approval; never create, update, delete.
  CHECK(can("update", "certificatesigningrequests/approval", ""));
  CHECK_FALSE(can("update", "certificatesigningrequests", ""));
  CHECK_FALSE(can("update", "certificatesigningrequests/status", ""));
  CHECK_FALSE(can("create", "certificatesigningrequests", ""));
  CHECK_FALSE(can("delete", "certificatesigningrequests", ""));
  CommandResult names = cluster.Kubectl(
      "get clusterrole certguard -o jsonpath='{.rules[?(@.resources[0]==\"signers\")].resourceNames}'");
  CHECK(Trim(names.out) == "[\"kubernetes.io/kube-apiserver-client-kubelet\",\"kubernetes.io/kubelet-serving\"]");

  auto kc = cluster.NodeIdentity("rbac-a", {"InternalIP=10.37.0.1"});
  REQUIRE(kc.ok());
  auto cg = StartCertguard(cluster, "rbac",
                           {"--leader-elect=true", "--leader-election-namespace=certguard"},
                           kubeconfig);
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));
  std::string name = CreateCsr(cluster, *kc, "--node rbac-a --type serving --ip 10.37.0.1", work + "/s");
  CHECK(Eventually([&] { return StateOf(GetCsr(cluster, name)) == "Issued"; }, std::chrono::seconds(30)));
  CHECK(Eventually([&] { return EventsOf(cluster, name).find("Approved:") != std::string::npos; },
                   std::chrono::seconds(20)));
  CHECK(cluster.Kubectl("get lease certguard -n certguard").ok());
  CHECK(cg->Log().find("Forbidden") == std::string::npos);

  // The same identity cannot approve for any other signer.
  CommandResult other = cluster.Run(
      "set -e; cd " + ShellQuote(work) + "; kubectl delete csr rbac-other-signer --ignore-not-found >/dev/null;"
      " openssl ecparam -name prime256v1 -genkey -noout -out o.key 2>/dev/null;"
      " openssl req -new -key o.key -subj '/CN=someone' -out o.csr;"
      " jq -n --arg r \"$(base64 -w0 o.csr)\" '{apiVersion: \"certificates.k8s.io/v1\", kind: \"CertificateSigningRequest\","
      " metadata: {name: \"rbac-other-signer\"}, spec: {request: $r, signerName: \"kubernetes.io/kube-apiserver-client\","
      " usages: [\"client auth\"]}}' | kubectl create -f - >/dev/null");
  REQUIRE(other.ok());
  CommandResult approve = cluster.Kubectl("certificate approve rbac-other-signer", kubeconfig);
  CHECK_FALSE(approve.ok());
  CHECK(approve.err.find("Forbidden") != std::string::npos);
  // certguard leaves it alone.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(StateOf(GetCsr(cluster, "rbac-other-signer")) == "");
  CHECK(cg->Stop() == 0);
}

}  // namespace
}  // namespace certguard::test
