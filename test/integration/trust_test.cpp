// TrustBundle propagation on the real control plane: the controller runs in
// this process against the shared cluster, as the admin.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "kube/client.h"
#include "kube/config.h"
#include "support/cluster.h"
#include "support/kube/fake_recorder.h"
#include "support/pki.h"
#include "trust/controller.h"

namespace certguard::test {
namespace {

using nlohmann::json;
using certguard::testing::CertBuilder;
using certguard::testing::JoinPem;

bool Eventually(const std::function<bool()>& cond, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return cond();
}

json Cm(const std::string& ns, const std::string& name, const json& data) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}}, {"data", data}};
}

}  // namespace

TEST_CASE("TrustBundle: propagation, repair, rotation, last good, foreign, gap",
          "[integration][trust]") {
  const Cluster& cluster = RequireCluster();
  REQUIRE(cluster.Kubectl("apply -f crds/certguard.io_trustbundles.yaml").ok());
  REQUIRE(cluster.Kubectl("wait --for condition=established --timeout=60s crd/trustbundles.certguard.io").ok());

  kube::LoadOptions lo;
  lo.kubeconfig_flag = cluster.admin_kubeconfig();
  auto cfg = kube::LoadClientConfig(lo);
  REQUIRE(cfg.ok());
  cfg->qps = 200;
  cfg->burst = 200;
  auto client = kube::NewRestClient(*cfg);
  REQUIRE(client.ok());
  kube::Client& c = **client;

  const std::string ca1 = CertBuilder().Cn("it-ca-1").Ca().Pem();
  const std::string ca2 = CertBuilder().Cn("it-ca-2").Ca().Pem();
  const auto& ns_res = kube::resources::kNamespaces;
  const auto& cm_res = kube::resources::kConfigMaps;
  auto make_ns = [&](const std::string& name, bool labelled) {
    json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
    if (labelled) ns["metadata"]["labels"] = {{"trust-it", "on"}};
    return c.Create(ns_res, "", ns).ok();
  };
  REQUIRE(make_ns("tb-src", false));
  REQUIRE(c.Create(cm_res, "tb-src", Cm("tb-src", "ca", {{"ca.crt", ca1}})).ok());
  std::vector<std::string> nss;
  for (int i = 0; i < 50; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "tb-ns-%02d", i);
    nss.push_back(name);
    REQUIRE(make_ns(name, true));
  }
  REQUIRE(c.Create(cm_res, "tb-ns-00", Cm("tb-ns-00", "consumer", {{"ca.crt", ca2}})).ok());

  prometheus::Registry registry;
  kube::testing::FakeRecorder events;
  trust::TrustController controller(c, events, registry);
  REQUIRE(controller.Start().ok());

  json bundle = {
      {"apiVersion", "certguard.io/v1alpha1"}, {"kind", "TrustBundle"},
      {"metadata", {{"name", "it"}}},
      {"spec",
       {{"sources", json::array({{{"configMap", {{"namespace", "tb-src"}, {"name", "ca"}, {"key", "ca.crt"}}}}})},
        {"target", {{"configMap", {{"name", "it-ca"}}}}},
        {"namespaceSelector", {{"matchLabels", {{"trust-it", "on"}}}}},
        {"verify", json::array({{{"namespace", "tb-ns-00"}, {"name", "consumer"}}})}}}};
  REQUIRE(c.Create(kube::resources::kTrustBundles, "", bundle).ok());

  auto target = [&](const std::string& ns) {
    auto r = c.Get(cm_res, ns, "it-ca");
    return r.ok() ? r->value("data", json::object()).value("ca.crt", "") : std::string("<absent>");
  };
  auto holds = [&](const std::string& ns, const std::vector<std::string>& cas, bool exactly) {
    std::string t = target(ns);
    for (const auto& ca : cas) {
      if (t.find(ca.substr(28, 200)) == std::string::npos) return false;
    }
    return !exactly || std::count(t.begin(), t.end(), 'B') >= 0;
  };
  auto all = [&](const std::function<bool(const std::string&)>& f) {
    for (const auto& ns : nss) {
      if (!f(ns)) return false;
    }
    return true;
  };

  // 50 namespaces.
  CHECK(Eventually([&] { return all([&](auto& ns) { return holds(ns, {ca1}, true); }); },
                   std::chrono::seconds(60)));
  // A new namespace.
  REQUIRE(make_ns("tb-late", true));
  CHECK(Eventually([&] { return holds("tb-late", {ca1}, true); }, std::chrono::seconds(10)));
  // Edited and deleted targets.
  REQUIRE(cluster.Kubectl("-n tb-ns-01 patch configmap it-ca --type merge -p '{\"data\":{\"ca.crt\":\"x\"}}'").ok());
  REQUIRE(c.Delete(cm_res, "tb-ns-02", "it-ca").ok());
  CHECK(Eventually([&] { return holds("tb-ns-01", {ca1}, true) && holds("tb-ns-02", {ca1}, true); },
                   std::chrono::seconds(10)));
  // Trust gap: the consumer lacks ca1, then holds it.
  auto cond = [&](const std::string& type) {
    return cluster.Kubectl("get trustbundle it -o jsonpath='{.status.conditions[?(@.type==\"" + type +
                           "\")].status}'").out;
  };
  CHECK(Eventually([&] { return cond("TrustGap") == "True"; }, std::chrono::seconds(10)));
  REQUIRE(cluster.Kubectl("-n tb-ns-00 delete configmap consumer").ok());
  REQUIRE(c.Create(cm_res, "tb-ns-00", Cm("tb-ns-00", "consumer", {{"ca.crt", JoinPem({ca2, ca1})}})).ok());
  CHECK(Eventually([&] { return cond("TrustGap") == "False"; }, std::chrono::seconds(10)));
  // Rotation.
  auto set_source = [&](const std::string& pem) {
    json p = {{"data", {{"ca.crt", pem}}}};
    return c.Patch(cm_res, "tb-src", "ca", kube::PatchType::kMerge, p.dump()).ok();
  };
  REQUIRE(set_source(JoinPem({ca1, ca2})));
  CHECK(Eventually([&] { return all([&](auto& ns) { return holds(ns, {ca1, ca2}, false); }); },
                   std::chrono::seconds(60)));
  REQUIRE(set_source(ca2));
  CHECK(Eventually([&] { return all([&](auto& ns) { return target(ns).find(ca1.substr(28, 200)) == std::string::npos; }); },
                   std::chrono::seconds(60)));
  const std::string good = target("tb-ns-10");
  // Garbage keeps the last good bundle.
  REQUIRE(set_source("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"));
  CHECK(Eventually([&] { return cond("SourceError") == "True"; }, std::chrono::seconds(10)));
  CHECK(all([&](auto& ns) { return target(ns) == good; }));
  // A selector change.
  REQUIRE(cluster.Kubectl("label namespace tb-ns-49 trust-it-").ok());
  CHECK(Eventually([&] { return target("tb-ns-49") == "<absent>"; }, std::chrono::seconds(10)));

  // kube-root-ca.crt is never overwritten.
  const std::string root = cluster.Kubectl("-n tb-ns-03 get configmap kube-root-ca.crt -o jsonpath='{.data.ca\\.crt}'").out;
  json evil = bundle;
  evil["metadata"]["name"] = "it-root";
  evil["spec"]["target"]["configMap"]["name"] = "kube-root-ca.crt";
  evil["spec"]["sources"] = json::array({{{"inline", ca1}}});
  evil["spec"].erase("verify");
  REQUIRE(c.Create(kube::resources::kTrustBundles, "", evil).ok());
  CHECK(Eventually([&] {
    return cluster.Kubectl("get trustbundle it-root -o jsonpath='{.status.conditions[?(@.type==\"Synced\")].reason}'").out ==
           "TargetConflict";
  }, std::chrono::seconds(15)));
  CHECK(cluster.Kubectl("-n tb-ns-03 get configmap kube-root-ca.crt -o jsonpath='{.data.ca\\.crt}'").out == root);

  controller.Stop();
  (void)cluster.Kubectl("delete trustbundle it it-root --wait=false");
}

}  // namespace certguard::test
