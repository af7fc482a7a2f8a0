// `certs check-expiration --check-server` on the real control plane: the
// plane's own kubeconfig verifies the apiserver's chain; a copy holding another
// CA (a node kubeconfig left with a CA that no longer signs the server) is a
// trust gap with the reason, and exit 1 with --fail-on-trust-gap.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kube_support.h"
#include "support/certguard_process.h"
#include "support/cluster.h"
#include "support/pki.h"
#include "support/temp_dir.h"

namespace certguard::test {
namespace {

using certguard::testing::CertBuilder;
using certguard::testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CommandResult Check(const Cluster& cluster, const std::string& args) {
  return cluster.Run(ShellQuote(CertguardBinary()) + " certs check-expiration -o json " + args);
}

}  // namespace

TEST_CASE("kubeconfig trust: --check-server verifies the apiserver with the kubeconfig's own CA",
          "[integration][expiry][kubeconfig-trust]") {
  const Cluster& cluster = RequireCluster();
  TempDir dir;
  const std::string cluster_ca = cluster.Env("CLUSTER_CA");
  REQUIRE(!cluster_ca.empty());
  const std::string ca_pem = ReadAll(cluster_ca);
  REQUIRE(ca_pem.find("BEGIN CERTIFICATE") != std::string::npos);
  auto kubeconfig = [&](const std::string& name, const std::string& ca_file, const std::string& server) {
    return dir.Write(name, "apiVersion: v1\nkind: Config\nclusters:\n- name: plane\n  cluster:\n"
                           "    server: " + server + "\n    certificate-authority: " + ca_file +
                           "\nusers:\n- name: u\n  user:\n    token: none\n");
  };
  dir.Write("plane-ca.crt", ca_pem);
  dir.Write("other-ca.crt", CertBuilder().Cn("not-the-plane-ca").Ca().Pem());

  // The plane's CA: the served chain verifies, no gap, exit 0.
  const std::string good = kubeconfig("good", "plane-ca.crt", cluster.server());
  CommandResult r = Check(cluster, "--check-server --fail-on-trust-gap --path " + ShellQuote(good));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 1);
  CHECK(doc[0]["trust_gap"] == nlohmann::json::array());

  // Another CA: the handshake fails on the chain, a gap with the reason, exit 1.
  const std::string stale = kubeconfig("stale", "other-ca.crt", cluster.server());
  r = Check(cluster, "--check-server --fail-on-trust-gap --path " + ShellQuote(stale));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 1);
  REQUIRE(doc[0]["trust_gap"].size() == 1);
  const std::string gap = doc[0]["trust_gap"][0];
  CHECK(gap.rfind("server " + cluster.server() + ": ", 0) == 0);
  CHECK(gap.find("issuer certificate") != std::string::npos);

  // The plane's CA but a name the serving certificate does not hold: a gap too.
  const std::string port = cluster.Env("KUBE_APISERVER_PORT");
  REQUIRE(!port.empty());
  const std::string wrong_name = kubeconfig("wrong-name", "plane-ca.crt", "https://127.0.0.2:" + port);
  r = Check(cluster, "--check-server --path " + ShellQuote(wrong_name));
  INFO(r.out << r.err);
  doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_array());
  if (doc[0]["trust_gap"].empty()) {
    // Only when 127.0.0.2 does not reach the apiserver (it binds 127.0.0.1 only): then a reason.
    REQUIRE(doc[0].contains("trust_gap_reasons"));
    CHECK(doc[0]["trust_gap_reasons"][0].get<std::string>().find("connect: ") != std::string::npos);
  } else {
    CHECK(doc[0]["trust_gap"][0].get<std::string>().find("IP address mismatch") != std::string::npos);
  }

  // Nothing listening: not a trust gap, a reason; exit 0.
  const std::string closed = kubeconfig("closed", "plane-ca.crt", "https://127.0.0.1:1");
  r = Check(cluster, "--check-server --fail-on-trust-gap --path " + ShellQuote(closed));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_array());
  CHECK(doc[0]["trust_gap"] == nlohmann::json::array());
  CHECK(doc[0]["trust_gap_reasons"][0].get<std::string>().find("connect: Connection refused") !=
        std::string::npos);

  // With the plane's CA as the reference too: the stale kubeconfig lacks it.
  r = Check(cluster, "--trust-bundle " + ShellQuote(dir.path() + "/plane-ca.crt") + " --path " +
                         ShellQuote(stale) + " --path " + ShellQuote(good));
  INFO(r.out << r.err);
  doc = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 2);
  CHECK(doc[0]["trust_gap"].size() == 1);
  CHECK(doc[1]["trust_gap"] == nlohmann::json::array());
}

}  // namespace certguard::test
