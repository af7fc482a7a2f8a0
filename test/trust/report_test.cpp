// Reporting, the last part of a TrustBundle reconcile: the facts collected,
// the status computed once and written only when it changed, the events.
#include "trust/report.h"

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include <string>

#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"

using namespace certguard;
using namespace certguard::trust;
using nlohmann::json;
using namespace std::chrono_literals;
using certguard::kube::testing::FakeClient;
using certguard::kube::testing::FakeRecorder;

namespace {

size_t CountActions(const FakeClient& api, const std::string& prefix) {
  size_t n = 0;
  for (const std::string& a : api.Actions()) n += a.rfind(prefix, 0) == 0;
  return n;
}

const x509::Time kNow = x509::Time(std::chrono::seconds(1795496400));

}  // namespace

TEST_CASE("CollectFacts counts targets written, failed and still outdated", "[trust][report]") {
  BuildResult build;
  build.pem = "pem";
  build.fingerprint = "fp";
  Publish publish{"pem", false};
  TargetWrites writes;
  writes.plan.in_sync = 2;
  writes.plan.outdated = 3;
  writes.plan.foreign = 1;
  writes.plan.actions = {{TargetActionKind::kCreate, "a", "x", ""},
                         {TargetActionKind::kUpdate, "b", "x", ""},
                         {TargetActionKind::kSkipForeign, "c", "x", "foreign"}};
  writes.written = 1;
  writes.write_failures = 1;
  writes.write_errors = {{"b", "x", "update: failed"}};
  ConsumerReport consumers;
  consumers.verified = 4;
  consumers.gaps = {{"d", "app", "lacks"}};
  StatusFacts f = CollectFacts(7, build, publish, build, writes, {{"c", "x", "foreign"}}, consumers);
  CHECK(f.generation == 7);
  CHECK(f.synced == 3);
  CHECK(f.failed == 2);
  CHECK(f.outdated == 1);
  CHECK(f.fingerprint == "fp");
  CHECK(f.foreign.size() == 1);
  CHECK(f.write_errors.size() == 1);
  CHECK(f.verified == 4);
  CHECK(f.gaps.size() == 1);
  CHECK_FALSE(f.empty_bundle);
  build.pem.clear();
  CHECK(CollectFacts(1, build, {}, build, {}, {}, {}).empty_bundle);
}

TEST_CASE("Reporter writes a changed status once and an unchanged one never", "[trust][report]") {
  FakeClient api;
  FakeRecorder events;
  prometheus::Registry registry;
  TrustMetrics metrics(registry);
  auto created = api.Create(kube::resources::kTrustBundles, "",
                            {{"metadata", {{"name", "cluster-ca"}, {"generation", 2}}}});
  REQUIRE(created.ok());
  Reporter first(api, events, metrics, *created, kNow);
  CHECK(first.ref().name == "cluster-ca");
  CHECK(first.generation() == 2);
  StatusFacts facts;
  facts.generation = 2;
  facts.pem = "pem";
  facts.fingerprint = "fp";
  facts.certificates = 1;
  api.ClearActions();
  REQUIRE(first.Report(facts, {}, 3).ok());
  CHECK(CountActions(api, "patch trustbundles") == 1);
  REQUIRE(events.reasons() == std::vector<std::string>{"BundleUpdated"});
  CHECK_THAT(events.entries()[0].message, Catch::Contains("written to 3 targets"));

  // The object as the cache now shows it: the same facts write nothing, tell nothing new.
  auto now = api.Get(kube::resources::kTrustBundles, "", "cluster-ca");
  REQUIRE(now.ok());
  Reporter second(api, events, metrics, *now, kNow + 60s);
  api.ClearActions();
  REQUIRE(second.Report(facts, {}, 0).ok());
  CHECK(api.Actions().empty());
  CHECK(events.reasons().size() == 1);
}

TEST_CASE("Reporter says why a spec is invalid, in an event and the status",
          "[trust][report]") {
  FakeClient api;
  FakeRecorder events;
  prometheus::Registry registry;
  TrustMetrics metrics(registry);
  auto created = api.Create(kube::resources::kTrustBundles, "",
                            {{"metadata", {{"name", "cluster-ca"}}}});
  REQUIRE(created.ok());
  Reporter report(api, events, metrics, *created, kNow);
  REQUIRE(report.InvalidSpec("spec.sources: required").ok());
  CHECK(events.reasons() == std::vector<std::string>{"InvalidSpec"});
  auto now = api.Get(kube::resources::kTrustBundles, "", "cluster-ca");
  REQUIRE(now.ok());
  CHECK_THAT((*now)["status"].dump(), Catch::Contains("spec.sources: required"));
  // A failed status write is returned.
  api.InjectError("patch", Unavailable("injected"));
  Reporter again(api, events, metrics, *created, kNow);
  CHECK(again.InvalidSpec("spec.sources: required").code() == Code::kUnavailable);
}
