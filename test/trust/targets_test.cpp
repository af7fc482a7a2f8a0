// Writing, the second part of a TrustBundle reconcile: targets planned against
// the cache, written a few at a time, and the writes the cache has not shown
// yet trusted for a time-to-live on the injected clock.
#include "trust/targets.h"

#include <catch2/catch.hpp>

#include <string>

#include "common/time.h"
#include "support/kube/fake_client.h"
#include "support/pki.h"
#include "support/trust/map_view.h"
#include "trust/build.h"

using namespace certguard;
using namespace certguard::trust;
using certguard::trust::testing::MapView;
using nlohmann::json;
using namespace std::chrono_literals;
using certguard::kube::testing::FakeClient;
using certguard::testing::CertBuilder;

namespace {

json Cm(const std::string& ns, const std::string& name, json data) {
  return MapView::ConfigMapObject(ns, name, std::move(data));
}

DesiredTarget Desired(const std::string& pem) {
  TargetSpec t;
  t.name = "cluster-ca";
  t.key = "ca.crt";
  return {{"cluster-ca", "tb-uid"}, t, pem, DigestMarker(pem)};
}

size_t CountActions(const FakeClient& api, const std::string& prefix) {
  size_t n = 0;
  for (const std::string& a : api.Actions()) n += a.rfind(prefix, 0) == 0;
  return n;
}

const common::Time kNow = common::Time(std::chrono::seconds(1795496400));

}  // namespace

TEST_CASE("TargetWriter creates each target once and trusts its writes the cache lags on",
          "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {2, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("writer-ca").Ca().Pem());

  TargetWrites first = writer.Write(desired, {"a", "b", "c"}, {});
  CHECK(first.written == 3);
  CHECK(first.write_errors.empty());
  CHECK(first.first_error.ok());
  CHECK_FALSE(first.trusting_writes);
  CHECK(api.Objects(kube::resources::kConfigMaps).size() == 3);

  // The cache has shown none of them yet: no write again, and the writes are trusted.
  api.ClearActions();
  TargetWrites second = writer.Write(desired, {"a", "b", "c"}, {});
  CHECK(second.plan.in_sync == 3);
  CHECK(second.written == 0);
  CHECK(second.trusting_writes);
  CHECK(api.Actions().empty());

  // Past the time-to-live on the injected clock, the cache is believed again:
  // it still shows nothing, so the creates are tried again and find the objects.
  clock.Advance(31s);
  TargetWrites third = writer.Write(desired, {"a", "b", "c"}, {});
  CHECK_FALSE(third.trusting_writes);
  CHECK(CountActions(api, "create configmaps") == 3);
  CHECK(third.write_errors.size() == 3);
  CHECK(third.write_failures == 3);
  CHECK(third.first_error.code() == Code::kAlreadyExists);
}

TEST_CASE("TargetWriter stops trusting a write once the cache shows it", "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("observe-ca").Ca().Pem());
  REQUIRE(writer.Write(desired, {"a"}, {}).written == 1);
  const json written = api.Objects(kube::resources::kConfigMaps).begin()->second;
  writer.Observe("a", "cluster-ca", written["metadata"]["resourceVersion"], false);
  // The cache showed the write, then lost it: the writer believes the cache.
  TargetWrites again = writer.Write(desired, {"a"}, {});
  CHECK_FALSE(again.trusting_writes);
  CHECK(CountActions(api, "create configmaps") == 2);
  // With the cache showing it, nothing is written.
  api.ClearActions();
  TargetWrites synced = writer.Write(desired, {"a"}, {FactsOf(written)});
  CHECK(synced.plan.in_sync == 1);
  CHECK(api.Actions().empty());
}

TEST_CASE("TargetWriter forgets a bundle's writes", "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("forget-ca").Ca().Pem());
  REQUIRE(writer.Write(desired, {"a"}, {}).written == 1);
  writer.Forget("cluster-ca");
  CHECK_FALSE(writer.Write(desired, {"a"}, {}).trusting_writes);
}

TEST_CASE("TargetWriter deletes targets of namespaces no longer selected", "[trust][targets]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {4, 30s});
  const DesiredTarget desired = Desired(CertBuilder().Cn("delete-ca").Ca().Pem());
  REQUIRE(writer.Write(desired, {"a", "b"}, {}).written == 2);
  std::vector<ConfigMapFacts> cached;
  for (const auto& [k, v] : api.Objects(kube::resources::kConfigMaps)) cached.push_back(FactsOf(v));
  TargetWrites w = writer.Write(desired, {"a"}, cached);
  CHECK(w.plan.Count(TargetActionKind::kDelete) == 1);
  CHECK(w.write_errors.empty());
  CHECK(api.Objects(kube::resources::kConfigMaps).size() == 1);
  // A target already gone counts as deleted.
  TargetWrites gone = writer.Write(desired, {"a"}, cached);
  CHECK(gone.write_errors.empty());
}

TEST_CASE("ExistingTargets takes labelled targets and same-named ConfigMaps", "[trust][targets]") {
  MapView view;
  json own = Cm("x", "old-name", {});
  own["metadata"]["labels"] = {{kBundleLabel, "cluster-ca"}};
  view.configmaps["x/old-name"] = own;
  view.configmaps["a/cluster-ca"] = Cm("a", "cluster-ca", {});
  view.configmaps["z/cluster-ca"] = Cm("z", "cluster-ca", {});  // not selected
  auto existing = ExistingTargets(Desired("pem"), {"a", "b"}, view);
  REQUIRE(existing.size() == 2);
  CHECK(existing[0].ns == "x");
  CHECK(existing[1].ns == "a");
}

TEST_CASE("TargetWriter writes a Secret target as an Opaque Secret",
          "[trust][targets][secret-target]") {
  FakeClient api;
  common::FakeClock clock(kNow);
  TargetWriter writer(api, clock, {1, 30s});
  const std::string pem = CertBuilder().Cn("secret-ca").Ca().Pem();
  DesiredTarget desired = Desired(pem);
  desired.secret = true;
  TargetWrites w = writer.Write(desired, {"a"}, {});
  CHECK(w.written == 1);
  CHECK(CountActions(api, "create secrets") == 1);
  CHECK(api.Objects(kube::resources::kConfigMaps).empty());
  REQUIRE(api.Objects(kube::resources::kSecrets).size() == 1);
  const json s = api.Objects(kube::resources::kSecrets).begin()->second;
  CHECK(s["kind"] == "Secret");
  CHECK(s["type"] == "Opaque");
  CHECK(s["data"]["ca.crt"] == certguard::testing::Base64(pem));
  CHECK(s["metadata"]["labels"][kBundleLabel] == "cluster-ca");
}

TEST_CASE("MergeWrites adds the Secret targets' writes to the ConfigMaps'", "[trust][targets]") {
  TargetWrites cms;
  cms.plan.actions = {{TargetActionKind::kKeep, "a", "t", "in sync"}};
  cms.plan.in_sync = 1;
  cms.written = 2;
  TargetWrites secrets;
  secrets.plan.actions = {{TargetActionKind::kCreate, "a", "t", "missing"}};
  secrets.plan.outdated = 1;
  secrets.plan.foreign = 2;
  secrets.write_failures = 1;
  secrets.write_errors = {{"a", "t", "create: boom"}};
  secrets.first_error = Status(Code::kUnavailable, "boom");
  secrets.trusting_writes = true;
  TargetWrites m = MergeWrites(cms, secrets);
  CHECK(m.plan.actions.size() == 2);
  CHECK(m.plan.Count(TargetActionKind::kCreate) == 1);
  CHECK(m.plan.in_sync == 1);
  CHECK(m.plan.outdated == 1);
  CHECK(m.plan.foreign == 2);
  CHECK(m.written == 2);
  CHECK(m.write_failures == 1);
  REQUIRE(m.write_errors.size() == 1);
  CHECK(m.write_errors[0].name == "Secret t");
  CHECK(m.first_error.code() == Code::kUnavailable);
  CHECK(m.trusting_writes);
}
