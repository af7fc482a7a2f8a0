#include "expiry/objects.h"

#include <catch2/catch.hpp>

#include "support/pki.h"
#include "trust/spec.h"
#include "x509/parse.h"

using namespace certguard::expiry;
using certguard::testing::Base64;
using certguard::testing::Cert;
using certguard::testing::CertBuilder;
using certguard::testing::JoinPem;
using nlohmann::json;

namespace {


const Cert& Ca() {
  static const Cert ca = CertBuilder().Cn("cluster-ca").Ca().Build();
  return ca;
}

json Csr(const std::string& signer, const std::string& certificate_pem,
         const std::string& username = "system:node:n1") {
  json o = {{"metadata", {{"name", "csr-1"}}},
            {"spec", {{"signerName", signer}, {"username", username}}}};
  if (!certificate_pem.empty()) o["status"]["certificate"] = Base64(certificate_pem);
  return o;
}

std::vector<std::string> Cns(const Keys& keys, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& c : keys.at(key).certs) out.push_back(c.subject_cn);
  return out;
}

}  // namespace

TEST_CASE("CsrCertificates reads issued kubelet CSRs only", "[expiry]") {
  Cert client = CertBuilder().Cn("system:node:n1").O("system:nodes").IssuedBy(Ca()).Build();
  auto keys = CsrCertificates(Csr("kubernetes.io/kube-apiserver-client-kubelet", client.pem));
  REQUIRE(keys.size() == 1);
  const SourceCerts& s = keys.at("status.certificate");
  CHECK(s.node == "n1");
  CHECK(s.group == "client");
  CHECK(Cns(keys, "status.certificate") == std::vector<std::string>{"system:node:n1"});

  // Serving: another group, so it does not hide the client certificate.
  auto serving = CsrCertificates(Csr("kubernetes.io/kubelet-serving", client.pem));
  CHECK(serving.at("status.certificate").group == "serving");

  // The node falls back to the requester when the CN is not a node's.
  Cert odd = CertBuilder().Cn("something").IssuedBy(Ca()).Build();
  auto fallback = CsrCertificates(
      Csr("kubernetes.io/kube-apiserver-client-kubelet", odd.pem, "system:node:n7"));
  CHECK(fallback.at("status.certificate").node == "n7");

  CHECK(CsrCertificates(Csr("kubernetes.io/kube-apiserver-client-kubelet", "")).empty());
  CHECK(CsrCertificates(Csr("example.com/other", client.pem)).empty());
  json garbage = Csr("kubernetes.io/kubelet-serving", "");
  garbage["status"]["certificate"] = "!!!not base64";
  CHECK(CsrCertificates(garbage).empty());
  garbage["status"]["certificate"] = Base64("not a certificate");
  CHECK(CsrCertificates(garbage).empty());
  CHECK(CsrCertificates(json::array()).empty());
  CHECK(CsrCertificates(json{{"spec", "x"}, {"status", 3}}).empty());
}

TEST_CASE("SecretCertificates decodes data and skips keys and junk", "[expiry]") {
  Cert leaf = CertBuilder().Cn("web").IssuedBy(Ca()).Build();
  json secret = {{"metadata", {{"name", "web"}, {"namespace", "apps"}}},
                 {"type", "kubernetes.io/tls"},
                 {"data",
                  {{"tls.crt", Base64(JoinPem({leaf.pem, Ca().pem}))},
                   {"tls.key", Base64(leaf.key.PrivatePem())},
                   {"ca.crt", Base64(Ca().der)},
                   {"bad", "%%%"},
                   {"number", 5}}}};
  auto keys = SecretCertificates(secret);
  REQUIRE(keys.size() == 2);
  CHECK(Cns(keys, "tls.crt") == std::vector<std::string>{"web", "cluster-ca"});
  CHECK(Cns(keys, "ca.crt") == std::vector<std::string>{"cluster-ca"});
  CHECK(RefOf(SourceKind::kSecret, secret) == ObjectRef{SourceKind::kSecret, "apps", "web"});
  CHECK(SecretCertificates(json{{"data", "x"}}).empty());
}

TEST_CASE("ConfigMapCertificates reads data and binaryData", "[expiry]") {
  json cm = {{"metadata", {{"name", "ca"}, {"namespace", "x"}}},
             {"data", {{"ca.crt", Ca().pem}, {"other", "hello"}}},
             {"binaryData", {{"ca.der", Base64(Ca().der)}}}};
  auto keys = ConfigMapCertificates(cm);
  REQUIRE(keys.size() == 2);
  CHECK(keys.count("ca.crt") == 1);
  CHECK(keys.count("ca.der") == 1);
}

TEST_CASE("Webhook and APIService caBundles", "[expiry]") {
  Cert other = CertBuilder().Cn("webhook-ca").Ca().Build();
  json hooks = {{"metadata", {{"name", "policy"}}},
                {"webhooks",
                 {{{"name", "a.example.com"}, {"clientConfig", {{"caBundle", Base64(Ca().pem)}}}},
                  {{"name", "b.example.com"},
                   {"clientConfig", {{"caBundle", Base64(JoinPem({Ca().pem, other.pem}))}}}},
                  {{"name", "c.example.com"}, {"clientConfig", {{"url", "https://x"}}}},
                  {{"clientConfig", {{"caBundle", Base64(Ca().pem)}}}}}}};
  auto keys = WebhookCertificates(hooks);
  REQUIRE(keys.size() == 2);
  CHECK(Cns(keys, "b.example.com") == std::vector<std::string>{"cluster-ca", "webhook-ca"});

  json api = {{"metadata", {{"name", "v1beta1.metrics.k8s.io"}}},
              {"spec", {{"caBundle", Base64(other.pem)}}}};
  CHECK(Cns(ApiServiceCertificates(api), "spec.caBundle") == std::vector<std::string>{"webhook-ca"});
  CHECK(ApiServiceCertificates(json{{"spec", {{"insecureSkipTLSVerify", true}}}}).empty());
}

TEST_CASE("MetadataOnly keeps what a cache needs and no data", "[expiry]") {
  json secret = {{"metadata",
                  {{"name", "s"}, {"namespace", "n"}, {"resourceVersion", "7"}, {"uid", "u"},
                   {"labels", {{"a", "b"}}}}},
                 {"type", "kubernetes.io/tls"},
                 {"data", {{"tls.key", "c2VjcmV0"}}}};
  json kept = MetadataOnly(secret);
  CHECK(kept == json{{"metadata",
                      {{"name", "s"}, {"namespace", "n"}, {"resourceVersion", "7"}, {"uid", "u"}}},
                     {"type", "kubernetes.io/tls"}});
  CHECK(MetadataOnly(json::array()) == json{{"metadata", json::object()}});
}

TEST_CASE("BundleTargets merges a bundle's targets and follows changes", "[expiry]") {
  Cert next = CertBuilder().Cn("cluster-ca-2").Ca().Build();
  auto target = [](const std::string& ns, const std::string& bundle, const std::string& pem) {
    json cm = {{"metadata", {{"name", "trust"}, {"namespace", ns}}}, {"data", {{"ca.crt", pem}}}};
    if (!bundle.empty()) cm["metadata"]["labels"][certguard::trust::kBundleLabel] = bundle;
    return cm;
  };
  BundleTargets b;
  CHECK(b.Update(target("a", "cluster", Ca().pem)) == std::set<std::string>{"cluster"});
  CHECK(b.Update(target("b", "cluster", Ca().pem)) == std::set<std::string>{"cluster"});
  CHECK(Cns(b.Of("cluster"), "ca.crt") == std::vector<std::string>{"cluster-ca"});

  // One target moves on to the rotated bundle: both certificates are deployed somewhere.
  b.Update(target("a", "cluster", JoinPem({Ca().pem, next.pem, next.pem})));
  CHECK(b.Of("cluster").at("ca.crt").certs.size() == 2);
  b.Update(target("b", "cluster", next.pem));
  b.Update(target("a", "cluster", next.pem));
  CHECK(Cns(b.Of("cluster"), "ca.crt") == std::vector<std::string>{"cluster-ca-2"});

  // Relabelled to another bundle: both are touched.
  CHECK(b.Update(target("a", "other", Ca().pem)) == std::set<std::string>{"cluster", "other"});
  CHECK(b.Bundles() == std::set<std::string>{"cluster", "other"});
  // Label removed: no longer a target.
  CHECK(b.Update(target("a", "", Ca().pem)) == std::set<std::string>{"other"});
  CHECK(b.Of("other").empty());
  CHECK(b.Remove("b", "trust") == std::set<std::string>{"cluster"});
  CHECK(b.Remove("b", "trust").empty());
  CHECK(b.Bundles().empty());
}

TEST_CASE("BundleTargets reads Secret targets, apart from a ConfigMap of the same name",
          "[expiry]") {
  Cert next = CertBuilder().Cn("cluster-ca-2").Ca().Build();
  auto labels = json{{certguard::trust::kBundleLabel, "cluster"}};
  json cm = {{"metadata", {{"name", "trust"}, {"namespace", "a"}, {"labels", labels}}},
             {"data", {{"ca.crt", Ca().pem}}}};
  // data in base64, beside a key that holds no certificate (a truststore's password-protected bytes).
  json secret = {{"metadata", {{"name", "trust"}, {"namespace", "a"}, {"labels", labels}}},
                 {"type", "Opaque"},
                 {"data", {{"ca.crt", Base64(next.pem)}, {"bundle.p12", Base64("not a certificate")}}}};
  BundleTargets b;
  CHECK(b.Update(cm) == std::set<std::string>{"cluster"});
  CHECK(b.UpdateSecret(secret) == std::set<std::string>{"cluster"});
  CHECK(Cns(b.Of("cluster"), "ca.crt") == std::vector<std::string>{"cluster-ca", "cluster-ca-2"});
  CHECK(b.Of("cluster").count("bundle.p12") == 0);
  // Removing the Secret leaves the ConfigMap's certificate, and the reverse.
  CHECK(b.Remove("a", "trust", /*secret=*/true) == std::set<std::string>{"cluster"});
  CHECK(Cns(b.Of("cluster"), "ca.crt") == std::vector<std::string>{"cluster-ca"});
  CHECK(b.Remove("a", "trust", /*secret=*/true).empty());
  b.UpdateSecret(secret);
  CHECK(b.Remove("a", "trust") == std::set<std::string>{"cluster"});
  CHECK(Cns(b.Of("cluster"), "ca.crt") == std::vector<std::string>{"cluster-ca-2"});
  // A Secret whose label is removed is no longer a target.
  secret["metadata"].erase("labels");
  CHECK(b.UpdateSecret(secret) == std::set<std::string>{"cluster"});
  CHECK(b.Bundles().empty());
}

TEST_CASE("FindingsOf names each certificate's source", "[expiry]") {
  Inventory inv;
  Cert kubelet = CertBuilder().Cn("system:node:n1").IssuedBy(Ca()).Build();
  inv.ReplaceObject({SourceKind::kCsr, "", "csr-1"},
                    CsrCertificates(Csr("kubernetes.io/kubelet-serving", kubelet.pem)));
  inv.ReplaceObject({SourceKind::kSecret, "apps", "web"},
                    {{"tls.crt", SourceCerts{"", {FactsOf(*certguard::x509::ParseCertificate(Ca().pem))}}}});
  auto findings = FindingsOf(inv);
  REQUIRE(findings.size() == 2);
  CHECK(findings[0].source == "csr csr-1 status.certificate (node n1)");
  CHECK(findings[0].cert->subject_cn == "system:node:n1");
  CHECK(findings[1].source == "secret apps/web tls.crt");
  CHECK(findings[1].error.empty());
}

TEST_CASE("CsrCertificatesAnySigner also reads other signers' issued CSRs", "[expiry][filter]") {
  Cert user = CertBuilder().Cn("alice").IssuedBy(Ca()).Build();
  auto keys = CsrCertificatesAnySigner(Csr("example.com/users", user.pem, "alice"));
  REQUIRE(keys.size() == 1);
  CHECK(keys.at("status.certificate").node.empty());  // never superseded by another CSR
  CHECK(keys.at("status.certificate").group == "example.com/users");
  CHECK(Cns(keys, "status.certificate") == std::vector<std::string>{"alice"});
  // Kubelet signers read as CsrCertificates does.
  Cert client = CertBuilder().Cn("system:node:n1").O("system:nodes").IssuedBy(Ca()).Build();
  auto kubelet = CsrCertificatesAnySigner(Csr("kubernetes.io/kube-apiserver-client-kubelet", client.pem));
  CHECK(kubelet.at("status.certificate").node == "n1");
  CHECK(CsrCertificatesAnySigner(Csr("example.com/users", "")).empty());
  CHECK(CsrCertificatesAnySigner(Csr("", user.pem)).empty());
}
