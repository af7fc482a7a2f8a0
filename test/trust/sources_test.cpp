// Gathering, the first part of a TrustBundle reconcile: the namespaces selected,
// the sources read (ConfigMaps from the view, Secrets from the API server),
// the consumers checked.
#include "trust/sources.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "support/kube/fake_client.h"
#include "support/pki.h"
#include "support/trust/map_view.h"

using namespace certguard;
using namespace certguard::testing;
using namespace certguard::trust;
using namespace std::chrono_literals;
using certguard::kube::testing::FakeClient;
using certguard::trust::testing::MapView;
using nlohmann::json;

namespace {

json Ns(const std::string& name, json labels = json::object(), bool terminating = false) {
  return {{"metadata", {{"name", name}, {"labels", labels}}},
          {"status", {{"phase", terminating ? "Terminating" : "Active"}}}};
}

json Cm(const std::string& ns, const std::string& name, json data) {
  return MapView::ConfigMapObject(ns, name, std::move(data));
}

TrustBundleSpec SpecOf(const json& spec) {
  auto parsed = ParseSpec(spec);
  REQUIRE(parsed.ok());
  return *parsed;
}

const x509::Time kNow = x509::Time(std::chrono::seconds(1795496400));

}  // namespace

TEST_CASE("SelectNamespaces picks by name and label, sorted, terminating ones left out",
          "[trust][sources]") {
  MapView view;
  view.namespaces = {{"b", Ns("b", {{"trust", "on"}})},
                     {"a", Ns("a")},
                     {"c", Ns("c", {{"trust", "on"}}, /*terminating=*/true)},
                     {"d", Ns("d", {{"trust", "off"}})}};
  TrustBundleSpec spec;
  spec.namespaces = {"a", "c"};
  auto selector = common::LabelSelector::FromJson({{"matchLabels", {{"trust", "on"}}}});
  REQUIRE(selector.ok());
  CHECK(SelectNamespaces(spec, *selector, view) == std::vector<std::string>{"a", "b"});
  CHECK(SelectNamespaces(spec, std::nullopt, view) == std::vector<std::string>{"a"});
}

TEST_CASE("CompactNamespace keeps what selection reads, and selection reads the same from it",
          "[trust][sources]") {
  json whole = {{"apiVersion", "v1"},
                {"kind", "Namespace"},
                {"metadata",
                 {{"name", "team-a"},
                  {"uid", "u-1"},
                  {"resourceVersion", "42"},
                  {"creationTimestamp", "2026-01-01T00:00:00Z"},
                  {"labels", {{"trust", "on"}, {"kubernetes.io/metadata.name", "team-a"}}},
                  {"annotations", {{"big", std::string(4096, 'x')}}}}},
                {"spec", {{"finalizers", {"kubernetes"}}}},
                {"status", {{"phase", "Active"}}}};
  json compact = CompactNamespace(whole);
  CHECK(compact == json{{"metadata",
                         {{"name", "team-a"},
                          {"uid", "u-1"},
                          {"resourceVersion", "42"},
                          {"labels", whole["metadata"]["labels"]}}},
                        {"status", {{"phase", "Active"}}}});
  json deleting = whole;
  deleting["metadata"]["deletionTimestamp"] = "2026-02-01T00:00:00Z";
  deleting["status"].erase("phase");
  CHECK(CompactNamespace(deleting)["metadata"]["deletionTimestamp"] == "2026-02-01T00:00:00Z");
  CHECK_FALSE(CompactNamespace(deleting).contains("status"));
  CHECK(CompactNamespace(json::array()) == json{{"metadata", json::object()}});

  // Selection over the compacted namespaces equals selection over the whole ones.
  MapView full, small;
  json terminating = Ns("c", {{"trust", "on"}}, /*terminating=*/true);
  for (const auto& [name, ns] : std::vector<std::pair<std::string, json>>{
           {"team-a", whole}, {"b", Ns("b", {{"trust", "on"}})}, {"c", terminating},
           {"d", deleting}, {"e", Ns("e", {{"trust", "off"}})}}) {
    full.namespaces[name] = ns;
    small.namespaces[name] = CompactNamespace(ns);
  }
  auto selector = common::LabelSelector::FromJson({{"matchLabels", {{"trust", "on"}}}});
  REQUIRE(selector.ok());
  TrustBundleSpec spec;
  spec.namespaces = {"e"};
  CHECK(SelectNamespaces(spec, *selector, full) == std::vector<std::string>{"b", "e", "team-a"});
  CHECK(SelectNamespaces(spec, *selector, small) == SelectNamespaces(spec, *selector, full));
}

TEST_CASE("GatherSources reads ConfigMaps from the view and Secrets from the API",
          "[trust][sources]") {
  const std::string ca = CertBuilder().Cn("gather-ca").Ca().Pem();
  const std::string b64 = Base64(ca);
  MapView view;
  view.configmaps["kube-system/root"] = Cm("kube-system", "root", {{"ca.crt", ca}, {"x", "y"}});
  FakeClient api;
  REQUIRE(api.Create(kube::resources::kSecrets, "certs",
                     {{"metadata", {{"name", "ca"}}}, {"data", {{"tls.crt", b64}}}})
              .ok());
  const TrustBundleSpec spec = SpecOf(
      {{"sources",
        json::array({{{"configMap", {{"namespace", "kube-system"}, {"name", "root"}, {"key", "ca.crt"}}}},
                     {{"configMap", {{"namespace", "kube-system"}, {"name", "root"}, {"key", "nope"}}}},
                     {{"configMap", {{"namespace", "kube-system"}, {"name", "absent"}}}},
                     {{"secret", {{"namespace", "certs"}, {"name", "ca"}, {"key", "tls.crt"}}}},
                     {{"secret", {{"namespace", "certs"}, {"name", "ca"}, {"key", "nope"}}}},
                     {{"inline", ca}}})},
       {"target", {{"configMap", {{"name", "cluster-ca"}}}}},
       {"namespaces", json::array({"a"})}});
  const GatheredSources got = GatherSources(spec, view, api);
  REQUIRE(got.contents.size() == 6);
  CHECK(got.has_secret);
  CHECK(got.contents[0].read_status.ok());
  CHECK(got.contents[0].entries == std::vector<std::pair<std::string, std::string>>{{"ca.crt", ca}});
  CHECK(got.contents[1].read_status.code() == Code::kNotFound);
  CHECK_THAT(got.contents[1].read_status.message(), Catch::Contains("has no key nope"));
  CHECK(got.contents[2].read_status.code() == Code::kNotFound);
  CHECK_THAT(got.contents[2].read_status.message(), Catch::Contains("not found"));
  CHECK(got.contents[3].read_status.ok());
  CHECK(got.contents[3].entries == std::vector<std::pair<std::string, std::string>>{{"tls.crt", ca}});
  CHECK(got.contents[4].read_status.code() == Code::kNotFound);
  CHECK(got.contents[5].entries == std::vector<std::pair<std::string, std::string>>{{"", ca}});
}

TEST_CASE("CheckConsumers finds the consumers that lack a CA of the bundle", "[trust][sources]") {
  const std::string ca1 = CertBuilder().Cn("consumer-ca-1").Ca().Pem();
  const std::string ca2 = CertBuilder().Cn("consumer-ca-2").Ca().Pem();
  SourceContent both;
  both.id = "t";
  both.entries = {{"1", ca1}, {"2", ca2}};
  const BuildResult bundle = Build({both}, {}, kNow);
  REQUIRE(bundle.certificates.size() == 2);
  MapView view;
  view.configmaps["a/app"] = Cm("a", "app", {{"ca.crt", ca1}});
  view.configmaps["b/app"] = Cm("b", "app", {{"ca.crt", ca1 + ca2}});
  TrustBundleSpec spec;
  VerifySpec v;
  v.name = "app";
  v.key = "ca.crt";
  spec.verify = {v};
  const ConsumerReport r = CheckConsumers(spec, {"a", "b"}, bundle.certificates, view, kNow);
  CHECK(r.verified == 2);
  REQUIRE(r.gaps.size() == 1);
  CHECK(r.gaps[0].ns == "a");
  CHECK(r.gap_metric.at({"a", "app"}));
  CHECK_FALSE(r.gap_metric.at({"b", "app"}));
}
