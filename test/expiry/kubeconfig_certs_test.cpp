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
