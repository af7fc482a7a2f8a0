#include "expiry/inventory.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/pki.h"
#include "x509/parse.h"

using namespace std::chrono;
using namespace certguard::expiry;
using certguard::x509::Time;

namespace {

const Time kT0 = sys_days{2026y / November / 24};

CertFacts Facts(std::string cn, std::string serial, Time not_before, Time not_after,
                bool is_ca = false) {
  CertFacts f;
  f.subject_cn = std::move(cn);
  f.subject = "CN=" + f.subject_cn;
  f.issuer_cn = "ca";
  f.issuer = "CN=ca";
  f.serial = std::move(serial);
  f.not_before = not_before;
  f.not_after = not_after;
  f.is_ca = is_ca;
  return f;
}

SourceCerts Certs(std::vector<CertFacts> certs, std::string node = {}) {
  return SourceCerts{std::move(node), std::move(certs)};
}

struct Seen {
  std::string where;  // "kind/ns/name/key node serial"
};

std::vector<std::string> Shown(const Inventory& inv) {
  std::vector<std::string> out;
  inv.ForEach([&](const ObjectRef& o, const std::string& key, const std::string& node,
                  const CertFacts& c) {
    out.push_back(std::string(certguard::expiry::SourceKindName(o.kind)) + "/" + o.ns + "/" +
                  o.name + "/" + key + " " + node + " " + c.serial);
  });
  return out;
}

SourceRef Secret(std::string ns, std::string name, std::string key) {
  return SourceRef{ObjectRef{SourceKind::kSecret, std::move(ns), std::move(name)}, std::move(key)};
}

SourceRef Csr(std::string name) {
  return SourceRef{ObjectRef{SourceKind::kCsr, "", std::move(name)}, "status.certificate"};
}

}  // namespace

TEST_CASE("Inventory upserts, replaces and removes one key", "[expiry]") {
  Inventory inv;
  inv.UpsertFacts(Secret("a", "web", "tls.crt"), Certs({Facts("web", "01", kT0, kT0 + days{90})}));
  inv.UpsertFacts(Secret("a", "web", "ca.crt"), Certs({Facts("ca", "02", kT0, kT0 + days{900}, true)}));
  CHECK(Shown(inv) == std::vector<std::string>{"secret/a/web/ca.crt  02", "secret/a/web/tls.crt  01"});
  CHECK(inv.certificate_count() == 2);
  CHECK(inv.source_count() == 2);

  // An update replaces, it does not add.
  inv.UpsertFacts(Secret("a", "web", "tls.crt"), Certs({Facts("web", "03", kT0, kT0 + days{90})}));
  CHECK(Shown(inv) == std::vector<std::string>{"secret/a/web/ca.crt  02", "secret/a/web/tls.crt  03"});
  CHECK(inv.certificate_count() == 2);

  inv.Remove(Secret("a", "web", "tls.crt"));
  inv.Remove(Secret("a", "web", "nope"));   // unknown key: no-op
  inv.Remove(Secret("b", "other", "x"));    // unknown object: no-op
  CHECK(Shown(inv) == std::vector<std::string>{"secret/a/web/ca.crt  02"});
  CHECK(inv.certificate_count() == 1);
  CHECK(inv.source_count() == 1);
}

TEST_CASE("Inventory keeps every certificate of a bundle and drops duplicates", "[expiry]") {
  using namespace certguard::testing;
  Cert root = CertBuilder().Cn("root").Ca().Serial("0A").Build();
  Cert inter = CertBuilder().Cn("intermediate").Ca().IssuedBy(root).Serial("0B").Build();
  Cert leaf = CertBuilder().Cn("leaf").IssuedBy(inter).Serial("0C").Build();
  auto bundle = certguard::x509::ParseBundle(JoinPem({leaf.pem, inter.pem, root.pem, leaf.pem}));
  REQUIRE(bundle.errors.empty());
  REQUIRE(bundle.certificates.size() == 4);

  Inventory inv;
  inv.Upsert(Secret("ns", "chain", "tls.crt"), bundle.certificates);
  CHECK(Shown(inv) == std::vector<std::string>{"secret/ns/chain/tls.crt  0C",
                                               "secret/ns/chain/tls.crt  0B",
                                               "secret/ns/chain/tls.crt  0A"});
  std::vector<CertFacts> facts;
  inv.ForEach([&](const ObjectRef&, const std::string&, const std::string&, const CertFacts& c) {
    facts.push_back(c);
  });
  CHECK(facts[0].subject_cn == "leaf");
  CHECK(facts[0].issuer_cn == "intermediate");
  CHECK(facts[0].subject == "CN=leaf");
  CHECK_FALSE(facts[0].is_ca);
  CHECK(facts[2].is_ca);
  CHECK(facts[2].issuer_cn == "root");
}

TEST_CASE("Inventory replaces and removes whole objects", "[expiry]") {
  Inventory inv;
  ObjectRef web{SourceKind::kSecret, "a", "web"};
  inv.ReplaceObject(web, {{"tls.crt", Certs({Facts("web", "01", kT0, kT0 + days{9})})},
                          {"ca.crt", Certs({Facts("ca", "02", kT0, kT0 + days{9}, true)})}});
  inv.UpsertFacts(Secret("a", "zzz", "tls.crt"), Certs({Facts("z", "09", kT0, kT0 + days{9})}));
  CHECK(inv.certificate_count() == 3);

  // ca.crt left the Secret: it must leave the inventory too.
  inv.ReplaceObject(web, {{"tls.crt", Certs({Facts("web", "03", kT0, kT0 + days{9})})}});
  CHECK(Shown(inv) ==
        std::vector<std::string>{"secret/a/web/tls.crt  03", "secret/a/zzz/tls.crt  09"});

  inv.RemoveObject(web);
  inv.RemoveObject(web);  // twice: no-op
  CHECK(Shown(inv) == std::vector<std::string>{"secret/a/zzz/tls.crt  09"});
  CHECK(inv.certificate_count() == 1);
  CHECK(inv.source_count() == 1);
}

TEST_CASE("ReplaceKind makes one kind match a relist and leaves the others", "[expiry]") {
  Inventory inv;
  inv.UpsertFacts(Secret("a", "old", "tls.crt"), Certs({Facts("old", "01", kT0, kT0 + days{9})}));
  inv.UpsertFacts({{SourceKind::kConfigMap, "a", "cm"}, "ca.crt"},
                  Certs({Facts("ca", "02", kT0, kT0 + days{9}, true)}));
  inv.ReplaceKind(SourceKind::kSecret,
                  {{ObjectRef{SourceKind::kSecret, "b", "new"},
                    {{"tls.crt", Certs({Facts("new", "03", kT0, kT0 + days{9})})}}},
                   // another kind in the list is ignored
                   {ObjectRef{SourceKind::kFile, "", "/x"},
                    {{"", Certs({Facts("f", "04", kT0, kT0 + days{9})})}}}});
  CHECK(Shown(inv) ==
        std::vector<std::string>{"secret/b/new/tls.crt  03", "configmap/a/cm/ca.crt  02"});
  CHECK(inv.certificate_count() == 2);
}

TEST_CASE("A node's newer kubelet certificate supersedes the older one", "[expiry]") {
  Inventory inv;
  inv.UpsertFacts(Csr("csr-old"), Certs({Facts("system:node:n1", "01", kT0, kT0 + days{365})}, "n1"));
  inv.UpsertFacts(Csr("csr-n2"), Certs({Facts("system:node:n2", "02", kT0, kT0 + days{365})}, "n2"));
  CHECK(Shown(inv).size() == 2);

  inv.UpsertFacts(Csr("csr-new"),
                  Certs({Facts("system:node:n1", "03", kT0 + days{300}, kT0 + days{665})}, "n1"));
  CHECK(Shown(inv) == std::vector<std::string>{"csr//csr-n2/status.certificate n2 02",
                                               "csr//csr-new/status.certificate n1 03"});
  CHECK(inv.certificate_count() == 3);  // still stored, only hidden

  // An older CSR arriving late does not take over.
  inv.UpsertFacts(Csr("csr-older"),
                  Certs({Facts("system:node:n1", "04", kT0 - days{300}, kT0 + days{65})}, "n1"));
  CHECK(Shown(inv).size() == 2);
  CHECK(Shown(inv)[1] == "csr//csr-new/status.certificate n1 03");

  // When the newest is deleted (garbage-collected), the best remaining one shows.
  inv.RemoveObject(ObjectRef{SourceKind::kCsr, "", "csr-new"});
  CHECK(Shown(inv)[1] == "csr//csr-old/status.certificate n1 01");
  inv.Remove(Csr("csr-old"));
  CHECK(Shown(inv)[1] == "csr//csr-older/status.certificate n1 04");

  // A CSR with no certificate yet (pending) shows nothing and supersedes nothing.
  inv.UpsertFacts(Csr("csr-pending"), Certs({}, "n1"));
  CHECK(Shown(inv)[1] == "csr//csr-older/status.certificate n1 04");
}

TEST_CASE("Supersession follows a CSR moved to another node and relists", "[expiry]") {
  Inventory inv;
  inv.UpsertFacts(Csr("a"), Certs({Facts("x", "01", kT0, kT0 + days{1})}, "n1"));
  inv.UpsertFacts(Csr("b"), Certs({Facts("x", "02", kT0 + days{1}, kT0 + days{2})}, "n1"));
  CHECK(Shown(inv) == std::vector<std::string>{"csr//b/status.certificate n1 02"});
  inv.UpsertFacts(Csr("b"), Certs({Facts("x", "02", kT0 + days{1}, kT0 + days{2})}, "n2"));
  CHECK(Shown(inv) == std::vector<std::string>{"csr//a/status.certificate n1 01",
                                               "csr//b/status.certificate n2 02"});
  inv.ReplaceKind(SourceKind::kCsr,
                  {{ObjectRef{SourceKind::kCsr, "", "c"},
                    {{"status.certificate", Certs({Facts("x", "03", kT0, kT0 + days{3})}, "n2")}}}});
  CHECK(Shown(inv) == std::vector<std::string>{"csr//c/status.certificate n2 03"});
  // Certificates of other kinds with a node are never superseded.
  inv.UpsertFacts({{SourceKind::kFile, "", "/var/lib/kubelet/pki/a.pem"}, ""},
                  Certs({Facts("x", "04", kT0, kT0 + days{3})}, "n2"));
  inv.UpsertFacts({{SourceKind::kFile, "", "/var/lib/kubelet/pki/b.pem"}, ""},
                  Certs({Facts("x", "05", kT0 + days{1}, kT0 + days{3})}, "n2"));
  CHECK(Shown(inv).size() == 3);
}

TEST_CASE("A node's client and serving certificates supersede only their own kind", "[expiry]") {
  Inventory inv;
  auto with_group = [](SourceCerts c, std::string group) {
    c.group = std::move(group);
    return c;
  };
  inv.UpsertFacts(Csr("client-1"),
                  with_group(Certs({Facts("x", "01", kT0, kT0 + days{365})}, "n1"), "client"));
  inv.UpsertFacts(Csr("serving-1"),
                  with_group(Certs({Facts("x", "02", kT0 + days{1}, kT0 + days{366})}, "n1"),
                             "serving"));
  // The newer serving certificate does not hide the node's client certificate.
  CHECK(Shown(inv) == std::vector<std::string>{"csr//client-1/status.certificate n1 01",
                                               "csr//serving-1/status.certificate n1 02"});
  inv.UpsertFacts(Csr("client-2"),
                  with_group(Certs({Facts("x", "03", kT0 + days{200}, kT0 + days{565})}, "n1"),
                             "client"));
  CHECK(Shown(inv) == std::vector<std::string>{"csr//client-2/status.certificate n1 03",
                                               "csr//serving-1/status.certificate n1 02"});
  // Moving a source to another group re-indexes both.
  inv.UpsertFacts(Csr("client-2"),
                  with_group(Certs({Facts("x", "03", kT0 + days{200}, kT0 + days{565})}, "n1"),
                             "serving"));
  CHECK(Shown(inv) == std::vector<std::string>{"csr//client-1/status.certificate n1 01",
                                               "csr//client-2/status.certificate n1 03"});
  inv.RemoveObject(ObjectRef{SourceKind::kCsr, "", "client-2"});
  CHECK(Shown(inv) == std::vector<std::string>{"csr//client-1/status.certificate n1 01",
                                               "csr//serving-1/status.certificate n1 02"});
}

TEST_CASE("Inventory is safe under concurrent writers and readers", "[expiry]") {
  Inventory inv;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&inv, t] {
      for (int i = 0; i < 500; ++i) {
        auto src = Secret("ns" + std::to_string(t), "s" + std::to_string(i % 50), "tls.crt");
        inv.UpsertFacts(src, Certs({Facts("c", std::to_string(i), kT0, kT0 + days{1})}));
        if (i % 3 == 0) inv.Remove(src);
        inv.UpsertFacts(Csr("csr" + std::to_string(i % 7)),
                        Certs({Facts("n", std::to_string(i), kT0 + seconds{i}, kT0 + days{1})},
                              "node" + std::to_string(i % 3)));
      }
    });
  }
  threads.emplace_back([&inv] {
    for (int i = 0; i < 200; ++i) (void)Shown(inv);
  });
  for (auto& th : threads) th.join();
  size_t shown = Shown(inv).size();
  // Each of the 3 nodes shows exactly one CSR; secrets: what survived.
  size_t csr_shown = 0;
  for (const auto& s : Shown(inv)) csr_shown += s.rfind("csr/", 0) == 0;
  CHECK(csr_shown == 3);
  CHECK(shown <= inv.certificate_count());
}
