// The one-process install: certguard runs the csr, trust and expiry controllers
// together, with the arguments of the chart's Deployment and under the chart's
// RBAC (rendered with helm template, applied, and used through its
// ServiceAccount's token). One CSR is approved, one TrustBundle propagated and
// one expiry series exported, and nothing is refused with 403.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/yaml_json.h"
#include "csr_support.h"
#include "rbac_support.h"
#include "support/pki.h"

namespace certguard::test {
namespace {

using namespace csr_it;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kNamespace[] = "certguard-aio";
constexpr char kRelease[] = "aio";

std::string Apply(const Cluster& cluster, const json& object) {
  CommandResult r = cluster.Run("echo " + ShellQuote(object.dump()) + " | kubectl apply -f -");
  INFO(r.err);
  REQUIRE(r.ok());
  return r.out;
}

// The chart rendered with its default values, as `helm install aio -n certguard-aio` would.
std::vector<json> RenderChart(const Cluster& cluster) {
  CommandResult r = cluster.Run(std::string("helm template ") + kRelease + " charts/certguard -n " +
                                kNamespace + " --kube-version 1.34.0");
  INFO(r.err);
  REQUIRE(r.ok());
  auto docs = common::ParseDocuments(r.out);
  REQUIRE(docs.ok());
  std::vector<json> out;
  for (auto& d : *docs) {
    if (d.is_object() && !d.empty()) out.push_back(std::move(d));
  }
  return out;
}

const json* Find(const std::vector<json>& docs, const std::string& kind) {
  for (const auto& d : docs) {
    if (d.value("kind", "") == kind) return &d;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("install: csr, trust and expiry run in one process under the chart's RBAC",
          "[integration][csr][trust][expiry][rbac]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("all-in-one");
  const std::string id = std::to_string(std::random_device{}() % 1000000);
  cluster.Kubectl(std::string("create namespace ") + kNamespace);  // fine if it exists

  // Everything the chart installs but the workloads (the plane schedules no Pods):
  // the ServiceAccount, the ClusterRole, the leader-election Role and their bindings.
  std::vector<json> docs = RenderChart(cluster);
  const json* deployment = Find(docs, "Deployment");
  REQUIRE(deployment != nullptr);
  const json* role = Find(docs, "ClusterRole");
  REQUIRE(role != nullptr);
  std::string service_account;
  for (const auto& d : docs) {
    const std::string kind = d.value("kind", "");
    if (kind == "Deployment" || kind == "DaemonSet") continue;
    if (kind == "ServiceAccount") service_account = d["metadata"].value("name", "");
    Apply(cluster, d);
  }
  REQUIRE_FALSE(service_account.empty());
  const std::string kubeconfig =
      ServiceAccountKubeconfig(cluster, kNamespace, service_account, work + "/sa.kubeconfig");

  // The Deployment's arguments as rendered, but for the listen addresses (free
  // loopback ports here) and the API server (through the token).
  const json& container = (*deployment)["spec"]["template"]["spec"]["containers"][0];
  std::vector<std::string> args;
  bool all_three = false;
  for (const auto& a : container["args"]) {
    std::string arg = a.get<std::string>();
    if (arg.rfind("--metrics-bind-address=", 0) == 0) arg = "--metrics-bind-address=127.0.0.1:0";
    if (arg.rfind("--health-bind-address=", 0) == 0) arg = "--health-bind-address=127.0.0.1:0";
    if (arg.rfind("--log-format=", 0) == 0) arg = "--log-format=text";
    if (arg.rfind("--controllers=", 0) == 0) {
      std::set<std::string> named;
      std::stringstream list(arg.substr(14));
      for (std::string c; std::getline(list, c, ',');) named.insert(c);
      all_three = named == std::set<std::string>{"csr", "expiry", "trust"};
    }
    args.push_back(arg);
  }
  REQUIRE(all_three);
  REQUIRE(args.front() == "run");
  args.push_back("--kubeconfig");
  args.push_back(kubeconfig);

  // What each controller will act on.
  auto kc = cluster.NodeIdentity("aio-a", {"InternalIP=10.44.0.1"});
  REQUIRE(kc.ok());
  testing::Cert ca = testing::CertBuilder().Cn("aio ca " + id).Ca().Build();
  const std::string target_ns = "aio-target-" + id;
  REQUIRE(cluster.Kubectl("create namespace " + target_ns).ok());
  REQUIRE(cluster.Kubectl("label namespace " + target_ns + " certguard.io/aio=" + id).ok());
  const std::string bundle = "aio-" + id;
  DeleteOnExit drop_bundle{cluster, "trustbundle " + bundle};
  Apply(cluster, {{"apiVersion", "certguard.io/v1alpha1"},
                  {"kind", "TrustBundle"},
                  {"metadata", {{"name", bundle}}},
                  {"spec",
                   {{"sources", json::array({json{{"inline", ca.pem}}})},
                    {"target", {{"configMap", {{"name", "aio-ca"}, {"key", "ca.crt"}}}}},
                    {"namespaceSelector", {{"matchLabels", {{"certguard.io/aio", id}}}}}}}});
  testing::Cert leaf = testing::CertBuilder().Cn("aio-leaf-" + id).Build();
  Apply(cluster, {{"apiVersion", "v1"},
                  {"kind", "Secret"},
                  {"type", "kubernetes.io/tls"},
                  {"metadata", {{"name", "aio-tls-" + id}, {"namespace", target_ns}}},
                  {"stringData", {{"tls.crt", leaf.pem}, {"tls.key", leaf.key.PrivatePem()}}}});

  CertguardProcess cg(args, work + "/certguard.log");
  REQUIRE(cg.WaitForLog("csr controller started", 60s));
  std::string csr = CreateCsr(cluster, *kc, "--node aio-a --type serving --ip 10.44.0.1", work + "/s");
  {
    INFO(cg.Log());
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, csr)) == "Issued"; }, 30s));
    CHECK(Eventually(
        [&] {
          CommandResult r = cluster.Kubectl("-n " + target_ns + " get configmap aio-ca -o jsonpath='{.data.ca\\.crt}'");
          return r.ok() && r.out.find("BEGIN CERTIFICATE") != std::string::npos;
        },
        60s));
  }
  int port = MetricsPort(cg);
  REQUIRE(port > 0);
  std::string metrics;
  CHECK(Eventually(
      [&] {
        metrics = cluster.Run("curl -sS http://127.0.0.1:" + std::to_string(port) + "/metrics").out;
        // One line: the days left of the Secret's certificate.
        size_t at = 0;
        while ((at = metrics.find("certguard_certificate_expiry_days{", at)) != std::string::npos) {
          size_t end = metrics.find('\n', at);
          if (metrics.substr(at, end - at).find("aio-tls-" + id) != std::string::npos) return true;
          at = end;
        }
        return false;
      },
      60s));
  INFO(metrics.substr(0, 4000));
  CHECK(metrics.find("certguard_csr_decisions_total{decision=\"Approve\",reason=\"ApprovedServing\"") !=
        std::string::npos);
  CHECK(cluster.Kubectl(std::string("get lease certguard -n ") + kNamespace).ok());
  CHECK(cg.Log().find("Forbidden") == std::string::npos);
  CHECK(cg.running());
  CHECK(cg.Stop() == 0);
}

}  // namespace certguard::test
