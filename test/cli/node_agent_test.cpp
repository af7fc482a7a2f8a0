#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <vector>

#include "cli/app.h"
#include "cli/cli_support.h"
#include "support/pki.h"
#include "support/temp_dir.h"
#include "x509/pem.h"

using namespace std::chrono;
using certguard::testing::CertBuilder;
using certguard::testing::TempDir;

namespace {

certguard::testing::CliRun Agent(const std::vector<std::string>& args) {
  return certguard::testing::RunCli({"node-agent"}, args);
}

}  // namespace

TEST_CASE("node-agent --once exports the node's files with the node label", "[cli]") {
  TempDir root;
  auto now = floor<seconds>(system_clock::now());
  auto ca = CertBuilder().Cn("kubernetes").Ca().NotBefore(now - days{1}).NotAfter(now + days{3650}).Build();
  auto kubelet = CertBuilder().Cn("system:node:worker-1").IssuedBy(ca).NotBefore(now - days{1})
                     .NotAfter(now + days{10}).Build();
  root.Write("etc/kubernetes/pki/ca.crt", ca.pem);
  root.Write("etc/kubernetes/pki/ca.key", ca.key.PrivatePem());
  root.Write("var/lib/kubelet/pki/kubelet-client-current.pem", kubelet.pem + kubelet.key.PrivatePem());
  root.Write("etc/kubernetes/pki/broken.crt", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n");

  auto r = Agent({"--root", root.path(), "--node", "worker-1", "--once"});
  REQUIRE(r.code == 0);
  // Named as on the node, without the root it is mounted at.
  const std::string pki = "/etc/kubernetes/pki/ca.crt";
  CHECK(r.out.find("source_kind=\"file\",namespace=\"\",name=\"" + pki +
                   "\",key=\"\",node=\"worker-1\",subject_cn=\"kubernetes\"") != std::string::npos);
  CHECK(r.out.find("subject_cn=\"system:node:worker-1\",issuer_cn=\"kubernetes\"") !=
        std::string::npos);
  CHECK(r.out.find("certguard_node_agent_scan_errors 1") != std::string::npos);
  CHECK(r.out.find("PRIVATE") == std::string::npos);
  // Days left of the kubelet certificate: about 10.
  auto at = r.out.find("certguard_certificate_expiry_days{source_kind=\"file\",namespace=\"\",name=\""
                       "/var/lib/kubelet/pki/kubelet-client-current.pem\"");
  REQUIRE(at != std::string::npos);
  auto line = r.out.substr(at, r.out.find('\n', at) - at);
  double days_left = std::stod(line.substr(line.rfind(' ') + 1));
  CHECK(days_left > 9.9);
  CHECK(days_left <= 10.0);
}

TEST_CASE("node-agent: bad arguments exit 2", "[cli]") {
  CHECK(Agent({"--interval", "soon", "--once"}).code == 2);
  CHECK(Agent({"--interval", "0s", "--once"}).code == 2);
  CHECK(Agent({"--unknown"}).code == 2);
}

TEST_CASE("node-agent --root: nothing outside the root is exported as the node's", "[cli]") {
  TempDir host;
  const std::string host_cert = host.Write("host.crt", CertBuilder().Cn("agent-host-only").Pem());
  TempDir root;
  root.Write("etc/kubernetes/pki/ca.crt", CertBuilder().Cn("node-ca").Pem());
  std::filesystem::create_symlink(host_cert, root.path() + "/etc/kubernetes/pki/escape.crt");
  std::filesystem::create_symlink("../../../../../../../.." + host_cert,
                                  root.path() + "/etc/kubernetes/pki/up.crt");
  root.Write("etc/kubernetes/kubelet.conf",
             "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    client-certificate: " +
                 host_cert + "\n");
  // --path is a path on the node too.
  for (const auto& extra : std::vector<std::vector<std::string>>{{}, {"--path", host_cert}}) {
    std::vector<std::string> args{"--root", root.path(), "--node", "n", "--once"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = Agent(args);
    REQUIRE(r.code == 0);
    CHECK(r.out.find("agent-host-only") == std::string::npos);
    if (extra.empty()) {
      CHECK(r.out.find("subject_cn=\"node-ca\"") != std::string::npos);
      CHECK(r.out.find("certguard_node_agent_scan_errors 3") != std::string::npos);
    } else {
      CHECK(r.out.find("certguard_node_agent_scan_errors 1") != std::string::npos);
    }
  }
}

TEST_CASE("node-agent: bad budgets and a missing root exit 2", "[cli]") {
  TempDir root;
  CHECK(Agent({"--root", root.path(), "--scan-timeout", "0s", "--once"}).code == 2);
  CHECK(Agent({"--root", root.path(), "--max-depth", "-1", "--once"}).code == 2);
  CHECK(Agent({"--root", root.path() + "/missing", "--once"}).code == 2);
  CHECK(Agent({"--root", root.path(), "--max-depth", "3", "--max-file-size", "64KiB", "--once"}).code == 0);
}

TEST_CASE("node-agent --trust-bundle: a node kubeconfig that lacks the rotated CA is a gauge of 1", "[cli]") {
  TempDir root;
  TempDir mounted;  // the TrustBundle target, mounted into the pod: not under --root
  auto now = floor<seconds>(system_clock::now());
  auto old_ca = CertBuilder().Cn("lb-signer-old").Ca().NotBefore(now - days{1}).NotAfter(now + days{3650}).Build();
  auto new_ca = CertBuilder().Cn("lb-signer-new").Ca().NotBefore(now - days{1}).NotAfter(now + days{3650}).Build();
  const std::string bundle = mounted.Write("ca-bundle.crt", old_ca.pem + new_ca.pem);
  auto kubeconfig = [](const std::string& ca_pem) {
    const std::string b64 = certguard::testing::Base64(ca_pem);
    return "apiVersion: v1\nkind: Config\nclusters:\n- name: api-int\n  cluster:\n"
           "    server: https://api-int.example:6443\n    certificate-authority-data: " + b64 + "\n";
  };
  root.Write("etc/kubernetes/kubeconfig", kubeconfig(old_ca.pem));                // OKD, not fixed
  root.Write("var/lib/kubelet/kubeconfig", kubeconfig(old_ca.pem + new_ca.pem));  // OKD, fixed
  root.Write("etc/kubernetes/kubeconfig-kubelet", kubeconfig(new_ca.pem));        // Talos

  auto r = Agent({"--root", root.path(), "--node", "worker-1", "--trust-bundle", bundle, "--once"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("certguard_node_kubeconfig_trust_gap{node=\"worker-1\",path=\"/etc/kubernetes/kubeconfig\"} 1") !=
        std::string::npos);
  CHECK(r.out.find("certguard_node_kubeconfig_trust_gap{node=\"worker-1\",path=\"/var/lib/kubelet/kubeconfig\"} 0") !=
        std::string::npos);
  // Talos' kubeconfig lacks the old CA: still in the bundle, still a gap.
  CHECK(r.out.find("certguard_node_kubeconfig_trust_gap{node=\"worker-1\",path=\"/etc/kubernetes/kubeconfig-kubelet\"} 1") !=
        std::string::npos);
  CHECK(r.out.find("certguard_node_agent_scan_errors 0") != std::string::npos);
  // The kubeconfigs without an extension are exported as kubeconfigs.
  CHECK(r.out.find("source_kind=\"kubeconfig\",namespace=\"\",name=\"/etc/kubernetes/kubeconfig\",key=\"cluster api-int\"") !=
        std::string::npos);

  // Without a reference there is no trust gauge; an unreadable bundle is a scan error.
  auto plain = Agent({"--root", root.path(), "--node", "worker-1", "--once"});
  CHECK(plain.out.find("certguard_node_kubeconfig_trust_gap{") == std::string::npos);
  auto missing = Agent({"--root", root.path(), "--node", "worker-1", "--trust-bundle",
                        mounted.path() + "/missing.crt", "--once"});
  CHECK(missing.out.find("certguard_node_agent_scan_errors 1") != std::string::npos);
  CHECK(missing.out.find("path=\"/etc/kubernetes/kubeconfig\"} 0") != std::string::npos);
}

namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("node-agent caps the series per file and in all and counts what it left out", "[cli]") {
  TempDir root;
  auto now = floor<seconds>(system_clock::now());
  // a.pem: 5 certificates, b.pem: 3; each expires a day later than the one before.
  for (const auto& [file, n] :
       std::vector<std::pair<std::string, int>>{{"a.pem", 5}, {"b.pem", 3}}) {
    std::string bundle;
    for (int i = 0; i < n; ++i) {
      bundle += CertBuilder().Cn(file + "-" + std::to_string(i)).NotAfter(now + days{10 + i}).Pem();
    }
    root.Write("etc/kubernetes/pki/" + file, bundle);
  }
  const std::string days_series = "certguard_certificate_expiry_days{";

  // The defaults (500 per object, 50,000 in all) keep all 8.
  auto all = Agent({"--root", root.path(), "--node", "n", "--once"});
  REQUIRE(all.code == 0);
  CHECK(Count(all.out, days_series) == 8);
  CHECK(all.out.find("certguard_certificate_series_dropped_total{reason=\"per_object\"} 0\n") !=
        std::string::npos);

  // 2 per file: a.pem drops 3 (per_object). 3 in all: b.pem has room for 1 of its
  // 2, so the total drops the other 2 of its 3 (total).
  auto capped = Agent({"--root", root.path(), "--node", "n", "--once",
                       "--expiry-max-series-per-object", "2", "--expiry-max-series", "3"});
  REQUIRE(capped.code == 0);
  CHECK(Count(capped.out, days_series) == 3);
  CHECK(capped.out.find("certguard_certificate_series_dropped_total{reason=\"per_object\"} 3\n") !=
        std::string::npos);
  CHECK(capped.out.find("certguard_certificate_series_dropped_total{reason=\"total\"} 2\n") !=
        std::string::npos);
  // Those that expire first are kept.
  CHECK(capped.out.find("subject_cn=\"a.pem-0\"") != std::string::npos);
  CHECK(capped.out.find("subject_cn=\"a.pem-1\"") != std::string::npos);
  CHECK(capped.out.find("subject_cn=\"a.pem-2\"") == std::string::npos);
  CHECK(capped.out.find("subject_cn=\"b.pem-0\"") != std::string::npos);
  CHECK(capped.out.find("subject_cn=\"b.pem-1\"") == std::string::npos);

  // 0 lifts a bound; a value that is not a count is refused.
  CHECK(Count(Agent({"--root", root.path(), "--once", "--expiry-max-series-per-object", "0"}).out,
              days_series) == 8);
  CHECK(Agent({"--root", root.path(), "--once", "--expiry-max-series", "many"}).code == 2);
  CHECK(Agent({"--root", root.path(), "--once", "--expiry-max-series-per-object", "-1"}).code == 2);
  CHECK(Agent({"--root", root.path(), "--once", "--expiry-max-series", "-1"}).code == 2);
}
