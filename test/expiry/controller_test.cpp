#include "expiry/controller.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "kube/resource.h"
#include "trust/spec.h"
#include "support/kube/fake_client.h"
#include "support/pki.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using namespace certguard::expiry;
using certguard::kube::Json;
using certguard::kube::testing::FakeClient;
using certguard::testing::Base64;
using certguard::testing::Cert;
using certguard::testing::CertBuilder;
using certguard::testing::WaitFor;
namespace resources = certguard::kube::resources;

namespace {


// "kind/ns/name/key node cn" of every certificate shown, sorted.
std::vector<std::string> Shown(const Inventory& inv) {
  std::vector<std::string> out;
  inv.ForEach([&](const ObjectRef& o, const std::string& key, const std::string& node,
                  const CertFacts& c) {
    out.push_back(std::string(SourceKindName(o.kind)) + "/" + o.ns + "/" + o.name + "/" + key +
                  " " + node + " " + c.subject_cn);
  });
  std::sort(out.begin(), out.end());
  return out;
}

Json TlsSecret(const std::string& name, const Cert& cert, const std::string& type = "kubernetes.io/tls",
               std::map<std::string, std::string> labels = {}) {
  Json o = {{"metadata", {{"name", name}}},
            {"type", type},
            {"data", {{"tls.crt", Base64(cert.pem)}, {"tls.key", Base64(cert.key.PrivatePem())}}}};
  if (!labels.empty()) o["metadata"]["labels"] = labels;
  return o;
}

const Cert& Ca() {
  static const Cert ca = CertBuilder().Cn("ca").Ca().Build();
  return ca;
}

// The metadata of a target (ConfigMap or Secret) of TrustBundle "cluster".
Json TargetMetadata() {
  return {{"name", "cluster-ca"}, {"labels", {{certguard::trust::kBundleLabel, "cluster"}}}};
}

// TrustBundle "cluster"'s ConfigMap target, and its Secret target, holding `pem`.
Json ConfigMapTarget(const std::string& pem) {
  return {{"metadata", TargetMetadata()}, {"data", {{"ca.crt", pem}}}};
}
Json SecretTarget(const std::string& pem) {
  return {{"metadata", TargetMetadata()}, {"type", "Opaque"}, {"data", {{"ca.crt", Base64(pem)}}}};
}

// The TrustBundle targets alone: no CSRs, no TLS Secrets.
ExpirySources TargetsOnly() {
  ExpirySources sources;
  sources.csrs = false;
  sources.tls_secrets = false;
  return sources;
}

}  // namespace

TEST_CASE("ExpiryController follows TLS Secrets, selected objects and kubelet CSRs", "[expiry]") {
  FakeClient api;
  Cert web = CertBuilder().Cn("web").IssuedBy(Ca()).Build();
  Cert web2 = CertBuilder().Cn("web-renewed").IssuedBy(Ca()).Build();
  Cert opaque = CertBuilder().Cn("opaque").IssuedBy(Ca()).Build();
  REQUIRE(api.Create(resources::kSecrets, "apps", TlsSecret("web", web)).ok());
  // Opaque Secrets count only when the selector picks them.
  REQUIRE(api.Create(resources::kSecrets, "apps", TlsSecret("plain", opaque, "Opaque")).ok());
  REQUIRE(api.Create(resources::kSecrets, "apps",
                     TlsSecret("picked", opaque, "Opaque", {{"certguard.io/expiry", "true"}}))
              .ok());
  // A TLS Secret the selector also picks is read once.
  REQUIRE(api.Create(resources::kSecrets, "apps",
                     TlsSecret("both", web, "kubernetes.io/tls", {{"certguard.io/expiry", "true"}}))
              .ok());
  REQUIRE(api.Create(resources::kConfigMaps, "apps",
                     Json{{"metadata", {{"name", "ca"}, {"labels", {{"certguard.io/expiry", "true"}}}}},
                          {"data", {{"ca.crt", Ca().pem}}}})
              .ok());
  REQUIRE(api.Create(resources::kConfigMaps, "apps",
                     Json{{"metadata", {{"name", "unpicked"}}}, {"data", {{"ca.crt", Ca().pem}}}})
              .ok());

  auto inv = std::make_shared<Inventory>();
  ExpirySources sources;
  sources.secret_selector = "certguard.io/expiry=true";
  sources.configmap_selector = "certguard.io/expiry=true";
  ExpiryController controller(api, inv, sources);
  CHECK_FALSE(controller.Synced());
  controller.Start();
  REQUIRE(WaitFor([&] { return controller.Synced(); }));
  REQUIRE(WaitFor([&] { return Shown(*inv).size() == 4; }));
  CHECK(Shown(*inv) == std::vector<std::string>{"configmap/apps/ca/ca.crt  ca",
                                                "secret/apps/both/tls.crt  web",
                                                "secret/apps/picked/tls.crt  opaque",
                                                "secret/apps/web/tls.crt  web"});

  // Updated: the series follows; deleted: it goes.
  Json renewed = TlsSecret("web", web2);
  renewed["metadata"]["namespace"] = "apps";
  auto current = api.Get(resources::kSecrets, "apps", "web");
  REQUIRE(current.ok());
  renewed["metadata"]["resourceVersion"] = (*current)["metadata"]["resourceVersion"];
  REQUIRE(api.Update(resources::kSecrets, "apps", renewed).ok());
  REQUIRE(WaitFor([&] {
    auto s = Shown(*inv);
    return std::find(s.begin(), s.end(), "secret/apps/web/tls.crt  web-renewed") != s.end();
  }));
  REQUIRE(api.Delete(resources::kSecrets, "apps", "both").ok());
  REQUIRE(api.Delete(resources::kConfigMaps, "apps", "ca").ok());
  REQUIRE(WaitFor([&] { return Shown(*inv).size() == 2; }));
  CHECK(Shown(*inv) == std::vector<std::string>{"secret/apps/picked/tls.crt  opaque",
                                                "secret/apps/web/tls.crt  web-renewed"});

  // A kubelet CSR: pending shows nothing, issued shows under its node.
  Cert kubelet = CertBuilder().Cn("system:node:n1").O("system:nodes").IssuedBy(Ca()).Build();
  Json csr = {{"metadata", {{"name", "csr-a"}}},
              {"spec",
               {{"signerName", "kubernetes.io/kube-apiserver-client-kubelet"},
                {"username", "system:node:n1"}}}};
  REQUIRE(api.Create(resources::kCertificateSigningRequests, "", csr).ok());
  auto got = api.Get(resources::kCertificateSigningRequests, "", "csr-a");
  REQUIRE(got.ok());
  Json issued = *got;
  issued["status"]["certificate"] = Base64(kubelet.pem);
  REQUIRE(api.Update(resources::kCertificateSigningRequests, "", issued, "status").ok());
  REQUIRE(WaitFor([&] { return Shown(*inv).size() == 3; }));
  CHECK(Shown(*inv)[0] == "csr//csr-a/status.certificate n1 system:node:n1");
  controller.Stop();
}

TEST_CASE("ExpiryController: a TrustBundle's targets give one series per certificate",
          "[expiry]") {
  FakeClient api;
  Cert next = CertBuilder().Cn("ca-next").Ca().Build();
  REQUIRE(api.Create(resources::kConfigMaps, "a", ConfigMapTarget(Ca().pem + next.pem)).ok());
  REQUIRE(api.Create(resources::kConfigMaps, "b", ConfigMapTarget(Ca().pem + next.pem)).ok());
  auto inv = std::make_shared<Inventory>();
  ExpiryController controller(api, inv, TargetsOnly());
  controller.Start();
  REQUIRE(WaitFor([&] { return Shown(*inv).size() == 2; }));
  CHECK(Shown(*inv) == std::vector<std::string>{"trustbundle//cluster/ca.crt  ca",
                                                "trustbundle//cluster/ca.crt  ca-next"});
  REQUIRE(api.Delete(resources::kConfigMaps, "a", "cluster-ca").ok());
  REQUIRE(api.Delete(resources::kConfigMaps, "b", "cluster-ca").ok());
  REQUIRE(WaitFor([&] { return Shown(*inv).empty(); }));
}

TEST_CASE("ExpiryController: a TrustBundle's Secret targets count as its targets", "[expiry]") {
  FakeClient api;
  Cert next = CertBuilder().Cn("ca-next").Ca().Build();
  REQUIRE(api.Create(resources::kSecrets, "a", SecretTarget(Ca().pem)).ok());
  auto inv = std::make_shared<Inventory>();
  ExpiryController controller(api, inv, TargetsOnly());
  controller.Start();
  REQUIRE(WaitFor([&] { return Shown(*inv).size() == 1; }));
  CHECK(Shown(*inv) == std::vector<std::string>{"trustbundle//cluster/ca.crt  ca"});
  // A ConfigMap target of the same name adds its certificate; deleting the Secret leaves it.
  REQUIRE(api.Create(resources::kConfigMaps, "a", ConfigMapTarget(next.pem)).ok());
  REQUIRE(WaitFor([&] { return Shown(*inv).size() == 2; }));
  REQUIRE(api.Delete(resources::kSecrets, "a", "cluster-ca").ok());
  REQUIRE(WaitFor([&] { return Shown(*inv).size() == 1; }));
  CHECK(Shown(*inv) == std::vector<std::string>{"trustbundle//cluster/ca.crt  ca-next"});
  controller.Stop();
}

TEST_CASE("ListInventory lists the same sources once and reports what failed", "[expiry]") {
  FakeClient api;
  Cert web = CertBuilder().Cn("web").IssuedBy(Ca()).Build();
  REQUIRE(api.Create(resources::kSecrets, "apps", TlsSecret("web", web)).ok());
  Json hooks = {{"metadata", {{"name", "policy"}}},
                {"webhooks", {{{"name", "a.example.com"},
                               {"clientConfig", {{"caBundle", Base64(Ca().pem)}}}}}}};
  REQUIRE(api.Create(resources::kValidatingWebhookConfigurations, "", hooks).ok());
  ExpirySources sources;
  sources.webhooks = true;
  api.InjectError("list", certguard::Status(certguard::Code::kForbidden, "no"), 1);  // the CSRs
  Inventory inv;
  auto errors = ListInventory(api, sources, inv);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("certificatesigningrequests: ", 0) == 0);
  CHECK(Shown(inv) == std::vector<std::string>{"secret/apps/web/tls.crt  web",
                                               "validatingwebhook//policy/a.example.com  ca"});
}

TEST_CASE("Expiry sources: selectors are checked", "[expiry]") {
  ExpirySources s;
  CHECK(Validate(s).ok());
  s.secret_selector = "app in (a,b),!legacy,tier!=x";
  CHECK(Validate(s).ok());
  s.configmap_selector = "a=b;rm -rf";
  CHECK_FALSE(Validate(s).ok());
}

namespace {
// Fails the `fail_at`-th list call (1-based), as a server dropping a paged list midway would.
class FailingListClient : public FakeClient {
 public:
  explicit FailingListClient(int fail_at) : fail_at_(fail_at) {}
  certguard::Result<Json> List(const certguard::kube::Resource& r, const std::string& ns,
                               const certguard::kube::ListOptions& o) override {
    if (++calls_ == fail_at_) return certguard::Status(certguard::Code::kUnavailable, "dropped");
    return FakeClient::List(r, ns, o);
  }

 private:
  int fail_at_;
  int calls_ = 0;
};
}  // namespace

TEST_CASE("ListInventory reads page by page and reports its progress after each page",
          "[expiry]") {
  FakeClient api;
  Cert web = CertBuilder().Cn("web").IssuedBy(Ca()).Build();
  for (int i = 0; i < 1001; ++i) {
    REQUIRE(api.Create(resources::kSecrets, "apps", TlsSecret("web-" + std::to_string(i), web)).ok());
  }
  ExpirySources sources;  // CSRs, TLS Secrets, TrustBundle targets
  std::vector<ListProgress> seen;
  Inventory inv;
  auto errors = ListInventory(api, sources, inv, [&](const ListProgress& p) { seen.push_back(p); });
  REQUIRE(errors.empty());
  CHECK(Shown(inv).size() == 1001);
  // CSRs: one empty page, then done; Secrets: pages of 500, 500 and 1, then done; bundle
  // targets, ConfigMaps then Secrets, likewise.
  REQUIRE(seen.size() == 2 + 4 + 2 + 2);
  CHECK(seen[0].what == "certificatesigningrequests");
  CHECK(seen[1].done);
  const std::vector<int64_t> objects = {500, 1000, 1001, 1001};
  for (int i = 0; i < 4; ++i) {
    const ListProgress& p = seen[2 + i];
    INFO(i);
    CHECK(p.what == "secrets");
    CHECK(p.source == 2);
    CHECK(p.sources == 4);
    CHECK(p.objects == objects[i]);
    CHECK(p.total == objects[i]);
    CHECK(p.pages == std::min(i + 1, 3));
    CHECK(p.done == (i == 3));
  }
  CHECK(seen[7].what == "configmaps (certguard.io/trustbundle)");
  CHECK(seen[7].source == 3);
  CHECK(seen[7].done);
  CHECK(seen.back().what == "secrets (certguard.io/trustbundle)");
  CHECK(seen.back().source == 4);
  CHECK(seen.back().total == 1001);
  CHECK(seen.back().done);
}

TEST_CASE("ListInventory adds nothing of a list that fails after its first page", "[expiry]") {
  FailingListClient api(3);  // CSRs (1), Secrets page 1 (2), Secrets page 2 (3)
  Cert web = CertBuilder().Cn("web").IssuedBy(Ca()).Build();
  for (int i = 0; i < 600; ++i) {
    REQUIRE(api.Create(resources::kSecrets, "apps", TlsSecret("web-" + std::to_string(i), web)).ok());
  }
  ExpirySources sources;
  sources.trust_bundles = false;
  Inventory inv;
  int done = 0;
  auto errors = ListInventory(api, sources, inv, [&](const ListProgress& p) { done += p.done; });
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("secrets: ", 0) == 0);
  CHECK(errors[0].find("dropped") != std::string::npos);
  CHECK(Shown(inv).empty());
  CHECK(done == 2);  // each list says it ended, the failed one too
}

TEST_CASE("ListInventory reads TrustBundle Secret targets, and keeps the ConfigMaps when the "
          "Secret list is refused",
          "[expiry]") {
  FakeClient api;
  Cert next = CertBuilder().Cn("ca-next").Ca().Build();
  REQUIRE(api.Create(resources::kSecrets, "a", SecretTarget(next.pem)).ok());
  REQUIRE(api.Create(resources::kConfigMaps, "a", ConfigMapTarget(Ca().pem)).ok());
  const ExpirySources sources = TargetsOnly();
  Inventory inv;
  REQUIRE(ListInventory(api, sources, inv).empty());
  CHECK(Shown(inv) == std::vector<std::string>{"trustbundle//cluster/ca.crt  ca",
                                               "trustbundle//cluster/ca.crt  ca-next"});
  // The Secret list (the second) refused: the ConfigMaps' certificates are still shown.
  FailingListClient failing(2);
  REQUIRE(failing.Create(resources::kSecrets, "a", SecretTarget(next.pem)).ok());
  REQUIRE(failing.Create(resources::kConfigMaps, "a", ConfigMapTarget(Ca().pem)).ok());
  Inventory partial;
  auto errors = ListInventory(failing, sources, partial);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].rfind("secrets (certguard.io/trustbundle): ", 0) == 0);
  CHECK(Shown(partial) == std::vector<std::string>{"trustbundle//cluster/ca.crt  ca"});
}
