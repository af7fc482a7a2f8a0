// The controller's start-up on the in-memory API: Start never blocks, and
// caches that sync late (the CRD installed after certguard started) still get
// workers.
#include "trust/controller.h"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <chrono>

#include "support/certguard_process.h"
#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"
#include "support/pki.h"
#include "x509/parse.h"

using namespace certguard;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("TrustController: Start returns at once while the CRD is missing and the workers start once it appears",
          "[trust]") {
  kube::testing::FakeClient api;
  const std::string ca = certguard::testing::CertBuilder().Cn("late-ca").Ca().Pem();
  REQUIRE(api.Create(kube::resources::kNamespaces, "",
                     {{"apiVersion", "v1"},
                      {"kind", "Namespace"},
                      {"metadata", {{"name", "app"}, {"labels", {{"ca", "yes"}}}}}})
              .ok());
  REQUIRE(api.Create(kube::resources::kTrustBundles, "",
                     {{"apiVersion", "certguard.io/v1alpha1"},
                      {"kind", "TrustBundle"},
                      {"metadata", {{"name", "late"}, {"uid", "u-1"}}},
                      {"spec",
                       {{"sources", json::array({{{"inline", ca}}})},
                        {"target", {{"configMap", {{"name", "late-ca"}}}}},
                        {"namespaceSelector", {{"matchLabels", {{"ca", "yes"}}}}}}}})
              .ok());
  api.SetMissing(kube::resources::kTrustBundles, true);

  prometheus::Registry registry;
  kube::testing::FakeRecorder events;
  trust::TrustController controller(api, events, registry, {});
  const auto t0 = std::chrono::steady_clock::now();
  controller.Start();
  // Generous: it must not wait for a cache that cannot fill.
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK_FALSE(controller.Synced());
  CHECK(test::Eventually(
      [&] { return controller.WaitingFor() == "waiting for CRD trustbundles.certguard.io"; }, 20s));
  CHECK(api.Objects(kube::resources::kConfigMaps).count("app/late-ca") == 0);

  // The CRD appears: the informers list it, the workers run and write the target.
  api.SetMissing(kube::resources::kTrustBundles, false);
  CHECK(test::Eventually(
      [&] { return api.Objects(kube::resources::kConfigMaps).count("app/late-ca") == 1; }, 20s));
  CHECK(controller.Synced());
  CHECK(controller.WaitingFor().empty());
  controller.Stop();
}

TEST_CASE("TrustController: Stop before the caches ever sync returns promptly", "[trust]") {
  kube::testing::FakeClient api;
  api.SetMissing(kube::resources::kTrustBundles, true);
  prometheus::Registry registry;
  kube::testing::FakeRecorder events;
  trust::TrustController controller(api, events, registry, {});
  controller.Start();
  const auto t0 = std::chrono::steady_clock::now();
  controller.Stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK_FALSE(controller.Synced());
}

TEST_CASE("TrustController: sources are read by name, unrelated ConfigMaps never whole",
          "[trust]") {
  kube::testing::FakeClient api;
  const std::string ca1 = certguard::testing::CertBuilder().Cn("src-ca-1").Ca().Pem();
  const std::string ca2 = certguard::testing::CertBuilder().Cn("src-ca-2").Ca().Pem();
  auto configmap = [](const std::string& ns, const std::string& name, const json& data) {
    return json{{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"metadata", {{"name", name}, {"namespace", ns}}},
                {"data", data}};
  };
  REQUIRE(api.Create(kube::resources::kNamespaces, "",
                     {{"apiVersion", "v1"},
                      {"kind", "Namespace"},
                      {"metadata", {{"name", "app"}, {"labels", {{"ca", "yes"}}}}}})
              .ok());
  REQUIRE(api.Create(kube::resources::kConfigMaps, "src", configmap("src", "ca", {{"ca.crt", ca1}}))
              .ok());
  REQUIRE(api.Create(kube::resources::kConfigMaps, "app",
                     configmap("app", "big", {{"blob", std::string(64 * 1024, 'x')}}))
              .ok());
  REQUIRE(api.Create(kube::resources::kTrustBundles, "",
                     {{"apiVersion", "certguard.io/v1alpha1"},
                      {"kind", "TrustBundle"},
                      {"metadata", {{"name", "b"}, {"uid", "u-b"}}},
                      {"spec",
                       {{"sources", json::array({{{"configMap",
                                                   {{"namespace", "src"},
                                                    {"name", "ca"},
                                                    {"key", "ca.crt"}}}}})},
                        {"target", {{"configMap", {{"name", "b-ca"}}}}},
                        {"namespaceSelector", {{"matchLabels", {{"ca", "yes"}}}}}}}})
              .ok());
  prometheus::Registry registry;
  kube::testing::FakeRecorder events;
  trust::TrustController controller(api, events, registry, {});
  controller.Start();
  auto target_holds = [&](const std::string& cn) {
    auto objects = api.Objects(kube::resources::kConfigMaps);
    auto it = objects.find("app/b-ca");
    if (it == objects.end()) return false;
    auto certs = x509::ParseBundle(it->second["data"].value("ca.crt", "")).certificates;
    return certs.size() == 1 && certs[0].subject.CommonName().value_or("") == cn;
  };
  CHECK(test::Eventually([&] { return target_holds("src-ca-1"); }, 20s));
  // A change of the source is read again (its cached data was for the older version).
  json updated = api.Objects(kube::resources::kConfigMaps).at("src/ca");
  updated["data"]["ca.crt"] = ca2;
  REQUIRE(api.Update(kube::resources::kConfigMaps, "src", updated).ok());
  CHECK(test::Eventually([&] { return target_holds("src-ca-2"); }, 20s));
  controller.Stop();
  size_t source_gets = 0;
  for (const std::string& a : api.Actions()) {
    INFO(a);
    CHECK(a != "get configmaps app/big");
    source_gets += a == "get configmaps src/ca";
  }
  CHECK(source_gets >= 2);
}
