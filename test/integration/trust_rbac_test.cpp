// The trust controller under certguard's shipped RBAC (deploy/certguard.yaml,
// through its ServiceAccount's token): a TrustBundle with a Secret source and an
// inline source reaches labelled namespaces, its status is written, and nothing
// is refused with 403.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rbac_support.h"
#include "support/certguard_process.h"
#include "support/cluster.h"
#include "support/pki.h"
#include "x509/parse.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Cert;
using testing::CertBuilder;

std::string Apply(const Cluster& cluster, const json& object) {
  CommandResult r = cluster.Run("echo " + ShellQuote(object.dump()) + " | kubectl apply -f -");
  INFO(r.err);
  REQUIRE(r.ok());
  return r.out;
}

// The certificates (as SHA-256 fingerprints) of ConfigMap NS/NAME's key ca.crt; empty if absent.
std::set<std::string> TargetFingerprints(const Cluster& cluster, const std::string& ns,
                                         const std::string& name) {
  CommandResult r = cluster.Kubectl("-n " + ns + " get configmap " + name + " -o json");
  std::set<std::string> out;
  if (!r.ok()) return out;
  json cm = json::parse(r.out, nullptr, false);
  if (!cm.is_object() || !cm.contains("data")) return out;
  for (const auto& c : x509::ParseBundle(cm["data"].value("ca.crt", "")).certificates) {
    out.insert(c.sha256_fingerprint);
  }
  return out;
}

TEST_CASE("trust: the controller works under the RBAC of deploy/ through a ServiceAccount token",
          "[integration][trust]") {
  const Cluster& cluster = RequireCluster();
  REQUIRE(cluster.Kubectl("apply -f crds/").ok());
  REQUIRE(cluster.Kubectl("wait --for condition=established --timeout=60s "
                          "crd/trustbundles.certguard.io").ok());
  const std::string work = cluster.ScratchDir("trust-rbac");
  const std::string kubeconfig = DeployedServiceAccountKubeconfig(cluster, work);
  const std::string id = std::to_string(std::random_device{}() % 1000000);
  const std::string bundle = "rbac-" + id;

  Cert from_secret = CertBuilder().Cn("rbac secret ca " + id).Ca().Build();
  Cert inline_ca = CertBuilder().Cn("rbac inline ca " + id).Ca().Build();
  const std::string src_ns = "trust-rbac-src-" + id;
  REQUIRE(cluster.Kubectl("create namespace " + src_ns).ok());
  Apply(cluster, {{"apiVersion", "v1"}, {"kind", "Secret"},
                  {"metadata", {{"name", "ca"}, {"namespace", src_ns}}},
                  {"stringData", {{"ca.crt", from_secret.pem}}}});
  std::vector<std::string> targets;
  for (int i = 0; i < 2; ++i) {
    std::string ns = "trust-rbac-" + id + "-" + std::to_string(i);
    REQUIRE(cluster.Kubectl("create namespace " + ns).ok());
    REQUIRE(cluster.Kubectl("label namespace " + ns + " certguard.io/rbac-test=" + id).ok());
    targets.push_back(ns);
  }

  CertguardProcess cg({"run", "--kubeconfig", kubeconfig, "--controllers=trust",
                       "--leader-elect=true", "--leader-election-namespace=certguard",
                       "--leader-election-id=certguard-trust-rbac",
                       "--metrics-bind-address=127.0.0.1:0", "--health-bind-address=127.0.0.1:0"},
                      work + "/certguard.log");
  Apply(cluster,
        {{"apiVersion", "certguard.io/v1alpha1"},
         {"kind", "TrustBundle"},
         {"metadata", {{"name", bundle}}},
         {"spec",
          {{"sources", json::array({json{{"secret", {{"namespace", src_ns}, {"name", "ca"},
                                                     {"key", "ca.crt"}}}},
                                    json{{"inline", inline_ca.pem}}})},
           {"target", {{"configMap", {{"name", "rbac-ca"}, {"key", "ca.crt"}}}}},
           {"namespaceSelector", {{"matchLabels", {{"certguard.io/rbac-test", id}}}}}}}});

  auto fingerprint = [](const Cert& c) {
    auto parsed = x509::ParseCertificate(c.pem);
    REQUIRE(parsed.ok());
    return parsed->sha256_fingerprint;
  };
  const std::set<std::string> want = {fingerprint(from_secret), fingerprint(inline_ca)};
  for (const auto& ns : targets) {
    INFO(ns << "\n" << cg.Log());
    CHECK(Eventually([&] { return TargetFingerprints(cluster, ns, "rbac-ca") == want; }, 60s));
  }
  // The status subresource is writable under the ClusterRole.
  CHECK(Eventually(
      [&] {
        CommandResult r = cluster.Kubectl("get trustbundle " + bundle +
                                          " -o jsonpath='{.status.conditions[?(@.type==\"Synced\")].status}'");
        return r.ok() && r.out == "True";
      },
      30s));
  CHECK(cluster.Kubectl("get lease certguard-trust-rbac -n certguard").ok());
  CHECK(cg.Log().find("Forbidden") == std::string::npos);
  CHECK(cg.running());
  CHECK(cg.Stop() == 0);
  cluster.Kubectl("delete trustbundle " + bundle);
}

}  // namespace
}  // namespace certguard::test
