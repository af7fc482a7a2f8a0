// The controller's start-up on the in-memory API: caches that sync late (the
// CRD installed after certguard started) still get workers.
#include "trust/controller.h"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <chrono>

#include "support/certguard_process.h"
#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"
#include "support/pki.h"

using namespace certguard;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("TrustController: caches that sync after Start gave up still get their workers",
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
  // Every first list fails, as while the CRD is missing.
  api.InjectError("list", NotFound("404 page not found"), 3);

  prometheus::Registry registry;
  kube::testing::FakeRecorder events;
  trust::TrustControllerOptions options;
  options.sync_timeout = 50ms;
  trust::TrustController controller(api, events, registry, options);
  Status st = controller.Start();
  CHECK(st.code() == Code::kUnavailable);
  CHECK(api.Objects(kube::resources::kConfigMaps).count("app/late-ca") == 0);

  // The informers retry; once they list, the workers run and write the target.
  CHECK(test::Eventually(
      [&] { return api.Objects(kube::resources::kConfigMaps).count("app/late-ca") == 1; }, 20s));
  CHECK(controller.Synced().ok());
  controller.Stop();
}

TEST_CASE("TrustController: Stop before the caches ever sync returns promptly", "[trust]") {
  kube::testing::FakeClient api;
  api.InjectError("list", NotFound("404 page not found"), 1000);
  prometheus::Registry registry;
  kube::testing::FakeRecorder events;
  trust::TrustControllerOptions options;
  options.sync_timeout = 20ms;
  trust::TrustController controller(api, events, registry, options);
  CHECK(!controller.Start().ok());
  const auto t0 = std::chrono::steady_clock::now();
  controller.Stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(!controller.Synced().ok());
}
