#include "expiry/node_files.h"

#include <catch2/catch.hpp>

using namespace certguard::expiry;

namespace {

Finding Cert(std::string source, std::string cn) {
  CertFacts f;
  f.subject_cn = std::move(cn);
  f.serial = f.subject_cn;
  return Finding{std::move(source), f, {}};
}

}  // namespace

TEST_CASE("SourceOfFinding tells files from kubeconfig entries", "[expiry]") {
  auto file = SourceOfFinding(Cert("/etc/kubernetes/pki/ca.crt", "x"));
  CHECK(file == SourceRef{ObjectRef{SourceKind::kFile, "", "/etc/kubernetes/pki/ca.crt"}, ""});
  auto embedded = SourceOfFinding(Cert("/etc/kubernetes/admin.conf (user kubernetes-admin)", "x"));
  CHECK(embedded == SourceRef{ObjectRef{SourceKind::kKubeconfig, "", "/etc/kubernetes/admin.conf"},
                              "user kubernetes-admin"});
  auto referenced = SourceOfFinding(
      Cert("/var/lib/kubelet/pki/kubelet-client-current.pem (user default-auth in "
           "/etc/kubernetes/kubelet.conf)",
           "x"));
  CHECK(referenced == SourceRef{ObjectRef{SourceKind::kFile, "",
                                          "/var/lib/kubelet/pki/kubelet-client-current.pem"},
                                ""});
  // Odd names stay files.
  CHECK(SourceOfFinding(Cert("/tmp/a (copy).crt", "x")).object.kind == SourceKind::kFile);
  CHECK(SourceOfFinding(Cert("", "x")).object.name.empty());
}

TEST_CASE("ReplaceNodeFiles makes the inventory's files those of the last scan", "[expiry]") {
  Inventory inv;
  // A cluster source is never touched by a node scan.
  inv.UpsertFacts({{SourceKind::kSecret, "ns", "s"}, "tls.crt"}, SourceCerts{"", {CertFacts{}}});
  std::vector<Finding> first = {Cert("/pki/ca.crt", "ca"), Cert("/pki/ca.crt", "ca-next"),
                                Cert("/admin.conf (user admin)", "admin"),
                                Cert("/admin.conf (cluster kubernetes)", "ca"),
                                Finding{"/pki/broken.crt", std::nullopt, "bad"}};
  ReplaceNodeFiles(inv, first, "node-1");
  CHECK(ScanErrors(first) == 1);
  std::vector<std::string> shown;
  auto describe = [&] {
    shown.clear();
    inv.ForEach([&](const ObjectRef& o, const std::string& key, const std::string& node,
                    const CertFacts& c) {
      shown.push_back(std::string(SourceKindName(o.kind)) + " " + o.name + " [" + key + "] " +
                      node + " " + c.subject_cn);
    });
    return shown;
  };
  CHECK(describe() == std::vector<std::string>{
                          "secret s [tls.crt]  ",
                          "file /pki/ca.crt [] node-1 ca",
                          "file /pki/ca.crt [] node-1 ca-next",
                          "kubeconfig /admin.conf [cluster kubernetes] node-1 ca",
                          "kubeconfig /admin.conf [user admin] node-1 admin",
                      });
  // The next scan: a file gone, a kubeconfig entry renewed.
  ReplaceNodeFiles(inv, {Cert("/admin.conf (user admin)", "admin-renewed")}, "node-1");
  CHECK(describe() == std::vector<std::string>{
                          "secret s [tls.crt]  ",
                          "kubeconfig /admin.conf [user admin] node-1 admin-renewed",
                      });
}
