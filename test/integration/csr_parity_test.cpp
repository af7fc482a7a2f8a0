// The live parser-parity attack (issue: a second extensionRequest after a
// non-minimal first one got another node's IP signed). Node parity-1, with its
// own kubelet identity, creates every smuggling and DER-trick CSR through the
// API; certguard (default policy) must never approve one, and no certificate
// kube-controller-manager issues may carry a SAN that is not parity-1's own.
#include <catch2/catch.hpp>
#include <iostream>
#include <map>

#include "csr_support.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "support/hostile_csrs.h"
#include "support/pki.h"
#include "support/wait.h"
#include "x509/parse.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using namespace csr_it;
const kube::Resource& kCsrs = kube::resources::kCertificateSigningRequests;

std::shared_ptr<kube::RestClient> ClientFor(const std::string& kubeconfig) {
  kube::LoadOptions load;
  load.kubeconfig_flag = kubeconfig;
  auto config = kube::LoadClientConfig(load);
  REQUIRE(config.ok());
  auto client = kube::NewRestClient(*config);
  REQUIRE(client.ok());
  return *client;
}

nlohmann::json ServingCsr(const std::string& name, const std::string& der) {
  const std::string b64 =
      certguard::testing::Base64(x509::pem::Encode("CERTIFICATE REQUEST", der));
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"request", b64},
            {"signerName", "kubernetes.io/kubelet-serving"},
            {"usages", {"digital signature", "key encipherment", "server auth"}}}}};
}

TEST_CASE(
    "csr: a node smuggling SANs past the parser (second extensionRequest, msExtReq, DER "
    "tricks) is never approved and no foreign SAN is ever issued",
    "[integration][csr][parity]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  testing::HostileTarget t;
  t.node = "parity-1";
  t.own_dns = "parity-1";
  t.own_ip = "10.0.9.11";
  t.foreign_ip = "10.0.9.12";  // parity-2's address
  auto kc = cluster.NodeIdentity(t.node, {"InternalIP=" + t.own_ip, "Hostname=" + t.node});
  REQUIRE(kc.ok());
  REQUIRE(cluster.NodeIdentity("parity-2", {"InternalIP=" + t.foreign_ip}).ok());

  // Every hostile request comes from one node: each is decided on its own, none superseded.
  auto cg = StartCertguard(cluster, "parity", {"--csr-superseded=off"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  auto node = ClientFor(*kc);
  auto admin = ClientFor(cluster.admin_kubeconfig());
  const testing::Key key = testing::Key::Ec();
  std::map<std::string, std::string> created;  // CSR name -> expected reason code
  int api_refused = 0;
  for (const auto& c : testing::HostileCsrs(t, key)) {
    INFO(c.name);
    const std::string name = "parity-" + c.name;
    (void)admin->Delete(kCsrs, "", name);
    REQUIRE(
        Eventually([&] { return admin->Get(kCsrs, "", name).status().code() == Code::kNotFound; },
                   std::chrono::seconds(20)));
    auto made = node->Create(kCsrs, "", ServingCsr(name, c.der));
    if (!made.ok()) {
      // kube-apiserver refuses what Go cannot parse (asked by a node: Forbidden) or
      // whose signature Go does not verify (Invalid): never approvable either.
      INFO(made.status().ToString());
      CHECK((made.status().code() == Code::kForbidden ||
             made.status().code() == Code::kInvalidArgument ||
             made.status().ToString().find("Invalid") != std::string::npos));
      ++api_refused;
      continue;
    }
    CHECK((*made)["spec"]["username"] == "system:node:" + t.node);
    created[name] = c.code;
  }
  // The same request done right is issued, with parity-1's own SANs only.
  const std::string good = "parity-good";
  (void)admin->Delete(kCsrs, "", good);
  REQUIRE(Eventually([&] { return admin->Get(kCsrs, "", good).status().code() == Code::kNotFound; },
                     std::chrono::seconds(20)));
  REQUIRE(node->Create(kCsrs, "", ServingCsr(good, testing::GoodServingCsr(t, key))).ok());

  for (const auto& [name, code] : created) {
    INFO(name << " (want Denied, " << code << ")");
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, name)) == "Denied"; },
                     std::chrono::seconds(60)));
    CHECK(DecisionMessage(GetCsr(cluster, name)).find(code) != std::string::npos);
  }
  REQUIRE(Eventually([&] { return StateOf(GetCsr(cluster, good)) == "Issued"; },
                     std::chrono::seconds(60)));

  // Every certificate issued for any of them carries parity-1's own SANs only.
  int issued = 0;
  created[good] = "";
  for (const auto& [name, code] : created) {
    INFO(name);
    nlohmann::json obj = GetCsr(cluster, name);
    const auto& st = obj.value("status", nlohmann::json::object());
    if (!st.contains("certificate")) continue;
    ++issued;
    auto pem = x509::pem::DecodeBody(st["certificate"].get<std::string>());
    REQUIRE(pem.ok());
    auto cert = x509::ParseCertificate(*pem);
    REQUIRE(cert.ok());
    CHECK(cert->subject.CommonName() == "system:node:" + t.node);
    CHECK(cert->sans.dns == std::vector<std::string>{t.own_dns});
    REQUIRE(cert->sans.ips.size() == 1);
    CHECK(cert->sans.ips[0].ToString() == t.own_ip);
    CHECK_FALSE(cert->is_ca);
  }
  CHECK(issued == 1);  // the good one only
  std::cout << "parity: " << created.size() - 1 << " hostile CSRs denied by certguard, "
            << api_refused << " refused by the API server, 1 good CSR issued with its own SANs\n";
  CHECK(created.size() - 1 >= 20);
  CHECK(cg->Stop() == 0);
}

}  // namespace
}  // namespace certguard::test
