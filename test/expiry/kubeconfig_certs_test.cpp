#include "expiry/kubeconfig_certs.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "x509/pem.h"

using namespace certguard::expiry;

TEST_CASE("KubeconfigCertificates finds embedded data and file references", "[expiry][cli]") {
  std::string ca_b64 = certguard::x509::pem::EncodeBody("CA-BYTES");
  std::string client_b64 = certguard::x509::pem::EncodeBody("CLIENT-BYTES");
  // Base64 on one line, as kubeconfigs hold it.
  auto one_line = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '\n'), s.end());
    return s;
  };
  std::string text = R"(apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: )" + one_line(ca_b64) + R"(
- name: other
  cluster:
    server: https://other
    certificate-authority: pki/ca.crt
users:
- name: kubernetes-admin
  user:
    client-certificate-data: )" + one_line(client_b64) + R"(
    client-key-data: c2VjcmV0
- name: default-auth
  user:
    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem
    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem
- name: token-user
  user:
    token: abc
)";
  REQUIRE(LooksLikeKubeconfig(text));
  auto certs = KubeconfigCertificates(text);
  REQUIRE(certs.ok());
  REQUIRE(certs->size() == 4);
  CHECK((*certs)[0].label == "cluster kubernetes");
  CHECK((*certs)[0].field == "certificate-authority-data");
  CHECK((*certs)[0].data == "CA-BYTES");
  CHECK((*certs)[1].label == "cluster other");
  CHECK((*certs)[1].path == "pki/ca.crt");
  CHECK((*certs)[2].label == "user kubernetes-admin");
  CHECK((*certs)[2].data == "CLIENT-BYTES");
  CHECK((*certs)[3].path == "/var/lib/kubelet/pki/kubelet-client-current.pem");
  for (const auto& c : *certs) CHECK(c.data.find("secret") == std::string::npos);  // keys unread
}

TEST_CASE("KubeconfigCertificates rejects what is not a kubeconfig", "[expiry][cli]") {
  for (const char* bad : {"", "just text", "- a\n- b\n", "foo: bar\n", "clusters: [\n",
                          "-----BEGIN CERTIFICATE-----\n"}) {
    INFO(bad);
    CHECK_FALSE(LooksLikeKubeconfig(bad));
    CHECK_FALSE(KubeconfigCertificates(bad).ok());
  }
  auto bad_b64 = KubeconfigCertificates(
      "users:\n- name: u\n  user:\n    client-certificate-data: '***'\n");
  REQUIRE_FALSE(bad_b64.ok());
  CHECK(bad_b64.status().message().find("user u") != std::string::npos);
  // Odd shapes are skipped, not fatal.
  auto odd = KubeconfigCertificates("kind: Config\nclusters: 3\nusers:\n- 7\n- name: x\n  user: []\n");
  REQUIRE(odd.ok());
  CHECK(odd->empty());
}

TEST_CASE("KubeconfigClusters: name, server, CA data or file, insecure, bad base64", "[expiry][kubeconfig-trust]") {
  const std::string text = R"(apiVersion: v1
kind: Config
clusters:
- name: api-int
  cluster:
    server: https://api-int.example:6443
    certificate-authority-data: )" + certguard::x509::pem::EncodeBody("CA") + R"(
- name: local
  cluster:
    server: https://localhost:6443
    certificate-authority: ca.crt
- name: lax
  cluster:
    server: https://x
    insecure-skip-tls-verify: true
- name: broken
  cluster:
    certificate-authority-data: "!!!"
- not a map
users: []
)";
  auto clusters = KubeconfigClusters(text);
  REQUIRE(clusters.ok());
  REQUIRE(clusters->size() == 4);
  CHECK((*clusters)[0].name == "api-int");
  CHECK((*clusters)[0].server == "https://api-int.example:6443");
  CHECK((*clusters)[0].ca_data == "CA");
  CHECK((*clusters)[1].ca_path == "ca.crt");
  CHECK((*clusters)[1].ca_data.empty());
  CHECK((*clusters)[2].insecure);
  CHECK_FALSE((*clusters)[0].insecure);
  CHECK((*clusters)[3].ca_error == "certificate-authority-data is not base64");
  CHECK_FALSE(KubeconfigClusters("just text").ok());
  CHECK_FALSE(KubeconfigClusters("clusters: [").ok());
}

TEST_CASE("KubeconfigClusters: aliases may not repeat more CA data than the text holds", "[expiry][kubeconfig-trust]") {
  std::string text = "anchors:\n  d: &d " + std::string(200, 'A') + "\nclusters:\n";
  for (int i = 0; i < 50; ++i) {
    text += "- name: c" + std::to_string(i) + "\n  cluster:\n    certificate-authority-data: *d\n";
  }
  auto clusters = KubeconfigClusters(text);
  REQUIRE_FALSE(clusters.ok());
  CHECK(clusters.status().message().find("aliases") != std::string::npos);
}
