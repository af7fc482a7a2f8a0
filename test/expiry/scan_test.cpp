#include "expiry/scan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "support/pki.h"
#include "support/temp_dir.h"

using namespace std::chrono;
using namespace certguard::expiry;
using namespace certguard::testing;
namespace fs = std::filesystem;

namespace {

// source -> subject CN (or "error: ...") for each finding, in order.
std::vector<std::string> Describe(const std::vector<Finding>& findings, const std::string& root) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    std::string source = f.source;
    for (size_t at; (at = source.find(root)) != std::string::npos;) source.replace(at, root.size(), "<root>");
    out.push_back(source + " = " + (f.cert ? f.cert->subject_cn : "error: " + f.error));
  }
  return out;
}

// A kubeadm node: PKI, kubeconfigs, and the kubelet's rotated client certificates.
struct Node {
  TempDir dir;
  std::string root = dir.path();
  Cert ca = CertBuilder().Cn("kubernetes").Ca().Build();
  Cert etcd_ca = CertBuilder().Cn("etcd-ca").Ca().Build();

  Node() {
    Key key = Key::Ec();
    dir.Write("etc/kubernetes/pki/ca.crt", ca.pem);
    dir.Write("etc/kubernetes/pki/ca.key", ca.key.PrivatePem());
    dir.Write("etc/kubernetes/pki/apiserver.crt",
              CertBuilder().Cn("kube-apiserver").IssuedBy(ca).Pem());
    dir.Write("etc/kubernetes/pki/etcd/ca.crt", etcd_ca.pem);
    dir.Write("etc/kubernetes/pki/etcd/peer.der", CertBuilder().Cn("etcd-peer").IssuedBy(etcd_ca).Der());
    dir.Write("etc/kubernetes/pki/sa.pub", key.PublicPem());
    dir.Write("etc/kubernetes/pki/README.txt", "not a certificate");
    dir.Write("etc/kubernetes/pki/sa.pem", key.PrivatePem());  // a key only: skipped quietly
    dir.Write("etc/kubernetes/admin.conf",
              "apiVersion: v1\nkind: Config\nclusters:\n- name: kubernetes\n  cluster:\n"
              "    certificate-authority-data: " + Base64(ca.der) +
              "\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: " +
              Base64(CertBuilder().Cn("kubernetes-admin").O("system:masters").IssuedBy(ca).Pem()) +
              "\n    client-key-data: " + Base64(key.PrivatePem()) +
              "\n");
    dir.Write("etc/kubernetes/kubelet.conf",
              "apiVersion: v1\nkind: Config\nclusters:\n- name: default-cluster\n  cluster:\n"
              "    certificate-authority: pki/ca.crt\nusers:\n- name: default-auth\n  user:\n"
              "    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n"
              "    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n");
    dir.Write("etc/kubernetes/not-kube.conf", "some: other\nconfig: file\n");
    Cert old_client = CertBuilder().Cn("system:node:old").IssuedBy(ca).Build();
    Cert client = CertBuilder().Cn("system:node:worker-1").IssuedBy(ca).Build();
    dir.Write("var/lib/kubelet/pki/kubelet-client-2025-11-20-10-00-00.pem",
              old_client.pem + old_client.key.PrivatePem());
    dir.Write("var/lib/kubelet/pki/kubelet-client-2026-11-20-10-00-00.pem",
              client.pem + client.key.PrivatePem());
    fs::create_symlink("kubelet-client-2026-11-20-10-00-00.pem",
                       fs::path(dir.path()) / "var/lib/kubelet/pki/kubelet-client-current.pem");
    dir.Write("var/lib/kubelet/pki/kubelet.crt", CertBuilder().Cn("worker-1@1700000000").Pem());
    dir.Write("var/lib/kubelet/pki/kubelet.key", key.PrivatePem());
  }
};

}  // namespace

TEST_CASE("DefaultNodePaths lists the node's PKI and kubeconfigs that exist", "[expiry][cli]") {
  Node node;
  // Paths on the node, found under the root.
  CHECK(DefaultNodePaths(node.root) ==
        std::vector<std::string>{"/etc/kubernetes/pki", "/etc/kubernetes/admin.conf",
                                 "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/not-kube.conf",
                                 "/var/lib/kubelet/pki"});
  TempDir empty;
  CHECK(DefaultNodePaths(empty.path()).empty());
}

TEST_CASE("ScanPaths reads a kubeadm node's certificates once each", "[expiry][cli]") {
  Node node;
  const bool walk = GENERATE(false, true);  // openat2, or the walk of kernels before 5.6
  ScanOptions options;
  options.root = node.root;
  options.without_openat2 = walk;
  auto findings = ScanPaths(DefaultNodePaths(node.root), options);
  // Named as on the node: the root is where it is mounted, not part of the name.
  CHECK(Describe(findings, node.root) ==
        std::vector<std::string>{
            "/etc/kubernetes/pki/apiserver.crt = kube-apiserver",
            "/etc/kubernetes/pki/ca.crt = kubernetes",
            "/etc/kubernetes/pki/etcd/ca.crt = etcd-ca",
            "/etc/kubernetes/pki/etcd/peer.der = etcd-peer",
            "/etc/kubernetes/admin.conf (cluster kubernetes) = kubernetes",
            "/etc/kubernetes/admin.conf (user kubernetes-admin) = kubernetes-admin",
            // kubelet.conf's CA file was read already; its client certificate is the current one.
            "/var/lib/kubelet/pki/kubelet-client-current.pem (user default-auth in "
            "/etc/kubernetes/kubelet.conf) = system:node:worker-1",
            // explicitly named (not found in a directory walk): not a kubeconfig
            "/etc/kubernetes/not-kube.conf = error: not a kubeconfig",
            "/var/lib/kubelet/pki/kubelet.crt = worker-1@1700000000",
        });
  // At "/" the same tree is named by its full paths.
  auto at_slash = ScanPaths({node.root + "/etc/kubernetes/pki"});
  REQUIRE(at_slash.size() == 4);
  CHECK(at_slash[0].source == node.root + "/etc/kubernetes/pki/apiserver.crt");
}

TEST_CASE("ScanPaths reports unreadable inputs and goes on", "[expiry][cli]") {
  Node node;
  TempDir extra;
  std::string missing = extra.path() + "/missing.crt";
  std::string key_only = extra.Write("key.pem", Key::Ec().PrivatePem());
  std::string garbage = extra.Write("garbage.crt", "\x30\x82 not DER");
  std::string bad_ref = extra.Write("bad.kubeconfig",
                                    "kind: Config\nusers:\n- name: u\n  user:\n    client-certificate: nope.crt\n");
  std::string rotated = node.root + "/var/lib/kubelet/pki/kubelet-client-2025-11-20-10-00-00.pem";
  auto findings = ScanPaths({missing, key_only, garbage, bad_ref, rotated});
  auto d = Describe(findings, extra.path());
  REQUIRE(d.size() == 5);
  CHECK(d[0] == "<root>/missing.crt = error: no such file or directory");
  CHECK(d[1] == "<root>/key.pem = error: no certificate found");
  CHECK(d[2].rfind("<root>/garbage.crt = error: neither PEM nor a DER certificate", 0) == 0);
  CHECK(d[3] == "<root>/nope.crt (user u in <root>/bad.kubeconfig) = error: client-certificate: no such file");
  CHECK(findings[4].cert->subject_cn == "system:node:old");  // named explicitly: read
  for (const auto& f : findings) CHECK(f.error.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("ScanPaths: a file named twice is read once, unreadable files are errors", "[expiry][cli]") {
  Node node;
  std::string ca = node.root + "/etc/kubernetes/pki/ca.crt";
  CHECK(ScanPaths({ca, ca, node.root + "/etc/kubernetes/pki/../pki/ca.crt"}).size() == 1);
  if (geteuid() != 0) {  // root reads any file
    fs::permissions(ca, fs::perms::none);
    auto f = ScanPaths({ca});
    REQUIRE(f.size() == 1);
    CHECK_FALSE(f[0].cert.has_value());
  }
}

TEST_CASE("DefaultNodePaths finds the OKD and Talos kubeconfigs, which have no extension", "[expiry][cli]") {
  TempDir dir;
  const std::string kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";
  dir.Write("etc/kubernetes/kubeconfig", kubeconfig);           // OKD
  dir.Write("etc/kubernetes/kubeconfig-kubelet", kubeconfig);   // Talos
  dir.Write("etc/kubernetes/kubelet-ca.crt", "not listed: the directory scan would read it");
  dir.Write("var/lib/kubelet/kubeconfig", kubeconfig);          // OKD
  dir.Write("var/lib/kubelet/pki/kubelet.crt", CertBuilder().Cn("k").Pem());
  CHECK(DefaultNodePaths(dir.path()) ==
        std::vector<std::string>{"/etc/kubernetes/kubeconfig", "/etc/kubernetes/kubeconfig-kubelet",
                                 "/var/lib/kubelet/kubeconfig", "/var/lib/kubelet/pki"});
}

TEST_CASE("Scan: in a directory, files without an extension are read when they are kubeconfigs", "[expiry][cli]") {
  TempDir dir;
  Cert ca = CertBuilder().Cn("lb-signer").Ca().Build();
  dir.Write("etc/kubernetes/kubeconfig",
            "apiVersion: v1\nkind: Config\nclusters:\n- name: api-int\n  cluster:\n"
            "    server: https://api-int.example:6443\n    certificate-authority-data: " +
                Base64(ca.pem) + "\n");
  dir.Write("etc/kubernetes/my-kubeconfig.yaml", "apiVersion: v1\nkind: Config\nclusters: []\n");
  dir.Write("etc/kubernetes/cloud-config", "[Global]\nzone = a\n");    // no extension, no kubeconfig
  dir.Write("etc/kubernetes/kubeconfig.bak.yaml", "not yaml: [");       // "kubeconfig" in the name
  dir.Write("etc/kubernetes/big", std::string(4096, 'x'));             // over the budget: skipped
  dir.Write("etc/kubernetes/notes.txt", "apiVersion: v1\nkind: Config\n");  // an extension: skipped
  ScanOptions options;
  options.root = dir.path();
  options.max_file_bytes = 1024;
  ScanResult r = Scan({"/etc/kubernetes"}, options);
  CHECK(Describe(r.findings, dir.path()) ==
        std::vector<std::string>{"/etc/kubernetes/kubeconfig (cluster api-int) = lb-signer"});
  CHECK(r.findings[0].kubeconfig == "/etc/kubernetes/kubeconfig");
  REQUIRE(r.kubeconfigs.size() == 2);
  CHECK(r.kubeconfigs[0].source == "/etc/kubernetes/kubeconfig");
  REQUIRE(r.kubeconfigs[0].clusters.size() == 1);
  const ClusterTrust& c = r.kubeconfigs[0].clusters[0];
  CHECK(c.name == "api-int");
  CHECK(c.server == "https://api-int.example:6443");
  CHECK(c.ca_source == "certificate-authority-data");
  CHECK(c.ca == ca.pem);
  CHECK(r.kubeconfigs[1].source == "/etc/kubernetes/my-kubeconfig.yaml");
  CHECK(r.kubeconfigs[1].clusters.empty());
  // A FIFO or a directory named like a kubeconfig is never opened for reading: no error, no hang.
  REQUIRE(::mkfifo((dir.path() + "/etc/kubernetes/kubeconfig-fifo").c_str(), 0600) == 0);
  fs::create_directories(dir.path() + "/etc/kubernetes/kubeconfig.d");
  ScanResult quiet = Scan({"/etc/kubernetes"}, options);
  CHECK(Describe(quiet.findings, dir.path()) == Describe(r.findings, dir.path()));
  // Named directly, a file that is no kubeconfig nor certificate is an error.
  ScanResult named = Scan({"/etc/kubernetes/cloud-config"}, options);
  REQUIRE(named.findings.size() == 1);
  CHECK_FALSE(named.findings[0].error.empty());
}

TEST_CASE("Scan: a certificate-authority file is read under the root, beside the kubeconfig", "[expiry][cli]") {
  Node node;
  ScanOptions options;
  options.root = node.root;
  ScanResult r = Scan({"/etc/kubernetes/kubelet.conf"}, options);
  REQUIRE(r.kubeconfigs.size() == 1);
  REQUIRE(r.kubeconfigs[0].clusters.size() == 1);
  const ClusterTrust& c = r.kubeconfigs[0].clusters[0];
  CHECK(c.ca_source == "certificate-authority pki/ca.crt");
  CHECK(c.ca == node.ca.pem);
  CHECK(c.ca_error.empty());
  // A reference that leaves the root stops at it, and a missing file is the entry's error.
  node.dir.Write("etc/kubernetes/escape.conf",
                 "apiVersion: v1\nkind: Config\nclusters:\n- name: e\n  cluster:\n"
                 "    certificate-authority: ../../../../../../missing-ca.crt\n");
  r = Scan({"/etc/kubernetes/escape.conf"}, options);
  REQUIRE(r.kubeconfigs.size() == 1);
  CHECK(r.kubeconfigs[0].clusters[0].ca_error ==
        "certificate-authority ../../../../../../missing-ca.crt: no such file");
  // A CA that exists outside the root, named absolutely: resolved under the root, not read.
  TempDir host;
  const std::string outside = host.Write("outside-ca.crt", node.ca.pem);
  node.dir.Write("etc/kubernetes/outside.conf",
                 "apiVersion: v1\nkind: Config\nclusters:\n- name: o\n  cluster:\n"
                 "    certificate-authority: " + outside + "\n");
  r = Scan({"/etc/kubernetes/outside.conf"}, options);
  REQUIRE(r.kubeconfigs.size() == 1);
  CHECK(r.kubeconfigs[0].clusters[0].ca.empty());
  CHECK(r.kubeconfigs[0].clusters[0].ca_error == "certificate-authority " + outside + ": no such file");
}
