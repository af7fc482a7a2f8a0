#include "kube/resource.h"

#include <catch2/catch.hpp>

using namespace certguard::kube;

TEST_CASE("Resource paths for core, grouped, namespaced and cluster resources",
          "[kube][resource]") {
  using namespace certguard::kube::resources;
  CHECK(kConfigMaps.CollectionPath("ns1") == "/api/v1/namespaces/ns1/configmaps");
  CHECK(kConfigMaps.CollectionPath("") == "/api/v1/configmaps");
  CHECK(kConfigMaps.ObjectPath("ns1", "cm") == "/api/v1/namespaces/ns1/configmaps/cm");
  CHECK(kNodes.ObjectPath("ignored", "n1") == "/api/v1/nodes/n1");
  CHECK(kCertificateSigningRequests.ObjectPath("", "csr-1", "approval") ==
        "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval");
  CHECK(kLeases.ObjectPath("kube-system", "l") ==
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l");
  CHECK(kTrustBundles.CollectionPath("x") == "/apis/certguard.io/v1alpha1/trustbundles");
  CHECK(kCsrApprovalPolicies.ApiVersion() == "certguard.io/v1alpha1");
  CHECK(kSecrets.ApiVersion() == "v1");
  CHECK(kEventsV1.GroupVersionPath() == "/apis/events.k8s.io/v1");
}

TEST_CASE("Keys round-trip", "[kube][resource]") {
  std::string ns, name;
  CHECK(MakeKey("a", "b") == "a/b");
  CHECK(MakeKey("", "b") == "b");
  SplitKey("a/b", &ns, &name);
  CHECK(ns == "a");
  CHECK(name == "b");
  SplitKey("node-1", &ns, &name);
  CHECK(ns.empty());
  CHECK(name == "node-1");
}

TEST_CASE("Query values are percent-encoded", "[kube][resource]") {
  CHECK(UrlEncode("app=web,tier!=db") == "app%3Dweb%2Ctier%21%3Ddb");
  CHECK(UrlEncode("a b/c&d") == "a%20b%2Fc%26d");
  CHECK(UrlEncode("Az09-_.~") == "Az09-_.~");
}
