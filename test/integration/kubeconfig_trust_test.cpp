// `certs check-expiration --check-server` on the real control plane: the
// plane's own kubeconfig verifies the apiserver's chain; a copy holding another
// CA (a node kubeconfig left with a CA that no longer signs the server) is a
// trust gap with the reason, and exit 1 with --fail-on-trust-gap.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kube_support.h"
#include <chrono>
#include <filesystem>
#include <regex>

#include "support/certguard_process.h"
#include "support/cluster.h"
#include "support/http_get.h"
#include "x509/pem.h"
#include "support/pki.h"
#include "support/temp_dir.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using namespace certguard::testing;  // the test PKI, HttpGet, TempDir

std::string EmbeddedKubeconfig(const std::string& ca_pem) {
  const std::string b64 = x509::pem::Base64(ca_pem);
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: api-int\n  cluster:\n"
         "    server: https://api-int.example:6443\n    certificate-authority-data: " + b64 + "\n";
}

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

TEST_CASE("kubeconfig trust: the node agent's gauge follows the fix and the file's removal",
          "[integration][expiry][kubeconfig-trust][node-agent]") {
  TempDir root;
  TempDir mounted;
  auto old_ca = CertBuilder().Cn("lb-signer-old").Ca().Build();
  auto new_ca = CertBuilder().Cn("lb-signer-new").Ca().Build();
  // The bundle as a ConfigMap volume holds it: a symlink swapped on update.
  mounted.Write("..data-1/ca-bundle.crt", old_ca.pem);
  std::filesystem::create_directory_symlink("..data-1", mounted.path() + "/..data");
  std::filesystem::create_symlink("..data/ca-bundle.crt", mounted.path() + "/ca-bundle.crt");
  root.Write("etc/kubernetes/kubeconfig", EmbeddedKubeconfig(old_ca.pem));

  CertguardProcess agent({"node-agent", "--root", root.path(), "--node", "n1", "--interval", "200ms",
                          "--trust-bundle", mounted.path() + "/ca-bundle.crt",
                          "--metrics-bind-address", "127.0.0.1:0", "--health-bind-address", "127.0.0.1:0"},
                         root.path() + "/agent.log");
  REQUIRE(agent.WaitForLog("serving endpoints", 20s));
  const int metrics = PortFromLog(agent.Log(), "metrics_port");
  REQUIRE(metrics > 0);
  const std::string series =
      "certguard_node_kubeconfig_trust_gap{node=\"n1\",path=\"/etc/kubernetes/kubeconfig\"} ";
  auto value = [&]() -> std::string {
    std::string body = HttpGet(metrics, "/metrics").body;
    size_t at = body.find(series);
    if (at == std::string::npos) return "absent";
    return body.substr(at + series.size(), body.find('\n', at) - at - series.size());
  };
  CHECK(Eventually([&] { return value() == "0"; }, 10s));

  // The CA rotates: the TrustBundle target gets old + new, the node kubeconfig does not.
  mounted.Write("..data-2/ca-bundle.crt", old_ca.pem + new_ca.pem);
  std::filesystem::create_directory_symlink("..data-2", mounted.path() + "/..data-tmp");
  std::filesystem::rename(mounted.path() + "/..data-tmp", mounted.path() + "/..data");
  CHECK(Eventually([&] { return value() == "1"; }, 10s));
  CHECK(agent.WaitForLog("kubeconfig trust gap", 10s));

  // Fixed on the node (written by a rename, as tools do): back to 0.
  root.Write("etc/kubernetes/kubeconfig.new", EmbeddedKubeconfig(old_ca.pem + new_ca.pem));
  std::filesystem::rename(root.path() + "/etc/kubernetes/kubeconfig.new",
                          root.path() + "/etc/kubernetes/kubeconfig");
  CHECK(Eventually([&] { return value() == "0"; }, 10s));

  // Gone from the node: its series goes.
  std::filesystem::remove(root.path() + "/etc/kubernetes/kubeconfig");
  CHECK(Eventually([&] { return value() == "absent"; }, 10s));
  CHECK(agent.Stop() == 0);
}

}  // namespace certguard::test
