// The kubelet renewal join: issued, pending and denied CSRs -> per node rows,
// the index that feeds it, and the metric families made of the rows.
#include "csr/renewal.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "csr/approval.h"
#include "csr/policy.h"
#include "csr/renewal_metrics.h"
#include "support/csr_facts.h"
#include "support/csr_object.h"
#include "support/pki.h"

using namespace certguard;
using namespace certguard::csr;
using namespace std::chrono_literals;
using namespace certguard::testing;
using nlohmann::json;

namespace {

constexpr std::chrono::seconds kWindow = 28 * 24h;

const Cert& Ca() {
  static const Cert ca = CertBuilder().Cn("kubernetes").Ca().Build();
  return ca;
}

std::string Signer(CertKind kind) {
  return kind == CertKind::kClient ? kClientSigner : kServingSigner;
}

// Asked for by `username`, not yet decided.
json Requested(const std::string& name, CertKind kind, x509::Time created,
               const std::string& username) {
  return CsrObject(name, Signer(kind))
      .Created(common::FormatRfc3339(created))
      .Username(username)
      .NoStatus()
      .Json();
}

json Issued(const std::string& name, const std::string& node, CertKind kind, x509::Time created,
            x509::Time not_before, x509::Time not_after) {
  json o = Requested(name, kind, created, "system:node:" + node);
  std::string pem = CertBuilder()
                        .Cn("system:node:" + node)
                        .O("system:nodes")
                        .NotBefore(not_before)
                        .NotAfter(not_after)
                        .IssuedBy(Ca())
                        .Pem();
  o["status"]["conditions"] = json::array({{{"type", "Approved"}, {"status", "True"}}});
  o["status"]["certificate"] = Base64(pem);
  return o;
}

json Pending(const std::string& name, const std::string& node, CertKind kind, x509::Time created) {
  return Requested(name, kind, created, "system:node:" + node);
}

json Denied(const std::string& name, const std::string& node, CertKind kind, x509::Time created) {
  json o = Requested(name, kind, created, "system:node:" + node);
  o["status"]["conditions"] = json::array({{{"type", "Denied"}, {"status", "True"}}});
  return o;
}

KubeletCsr Facts(const json& o) {
  auto k = KubeletCsrOf(o);
  REQUIRE(k.has_value());
  return *k;
}

const NodeRenewal* Row(const std::vector<NodeRenewal>& rows, const std::string& node,
                       CertKind kind) {
  for (const auto& r : rows) {
    if (r.node == node && r.kind == kind) return &r;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("KubeletCsrOf reads node, kind, state and the issued certificate", "[csr][renewal]") {
  auto issued = Facts(Issued("csr-a", "w1", CertKind::kClient, kNow - 2h, kNow - 2h, kNow + 24h));
  CHECK(issued.node == "w1");
  CHECK(issued.kind == CertKind::kClient);
  CHECK(issued.state == CsrState::kIssued);
  CHECK(issued.created == kNow - 2h);
  REQUIRE(issued.cert.has_value());
  CHECK(issued.cert->not_before == kNow - 2h);
  CHECK(issued.cert->not_after == kNow + 24h);
  CHECK(issued.cert->csr == "csr-a");

  auto denied = Facts(Denied("csr-b", "w1", CertKind::kServing, kNow));
  CHECK(denied.kind == CertKind::kServing);
  CHECK(denied.state == CsrState::kDenied);
  CHECK_FALSE(denied.cert.has_value());

  SECTION("a bootstrap request names its node in the request's CN") {
    json o = Requested("csr-boot", CertKind::kClient, kNow, "system:bootstrap:abcdef");
    o["spec"]["request"] = Base64(CsrBuilder().Cn("system:node:w9").O("system:nodes").Pem());
    auto k = Facts(o);
    CHECK(k.node == "w9");
    CHECK(k.state == CsrState::kPending);
  }
  SECTION("other signers and requests naming no node are left out") {
    json other = Requested("csr-x", CertKind::kClient, kNow, "system:node:w1");
    other["spec"]["signerName"] = "example.com/other";
    CHECK_FALSE(KubeletCsrOf(other).has_value());
    CHECK_FALSE(KubeletCsrOf(Requested("csr-y", CertKind::kClient, kNow, "alice")).has_value());
    CHECK_FALSE(KubeletCsrOf(json::array()).has_value());
  }
}

TEST_CASE("JoinRenewals: a certificate expiring soon with its renewal pending or denied is stuck",
          "[csr][renewal]") {
  const auto client = CertKind::kClient;
  const auto serving = CertKind::kServing;
  std::vector<KubeletCsr> csrs{
      // w1: client expires in 5 days, its renewal pending: stuck.
      Facts(Issued("c1", "w1", client, kNow - 25 * 24h, kNow - 25 * 24h, kNow + 5 * 24h)),
      Facts(Pending("c2", "w1", client, kNow - 1h)),
      // w1: serving expires in 200 days, renewal denied: waiting, not stuck yet.
      Facts(Issued("s1", "w1", serving, kNow - 100 * 24h, kNow - 100 * 24h, kNow + 200 * 24h)),
      Facts(Denied("s2", "w1", serving, kNow - 1h)),
      // w2: client expires in 3 days, denied renewal: stuck.
      Facts(Issued("c3", "w2", client, kNow - 27 * 24h, kNow - 27 * 24h, kNow + 3 * 24h)),
      Facts(Denied("c4", "w2", client, kNow - 2h)),
      // w3: expires in 3 days, nothing pending: not stuck (the kubelet has not tried yet).
      Facts(Issued("c5", "w3", client, kNow - 27 * 24h, kNow - 27 * 24h, kNow + 3 * 24h)),
  };
  auto rows = JoinRenewals(csrs, kNow, kWindow);
  REQUIRE(rows.size() == 4);
  const NodeRenewal* w1c = Row(rows, "w1", client);
  REQUIRE(w1c);
  CHECK(w1c->stuck);
  CHECK(w1c->pending == std::vector<std::string>{"c2"});
  REQUIRE(w1c->current);
  CHECK(w1c->current->name == "c1");
  const NodeRenewal* w1s = Row(rows, "w1", serving);
  REQUIRE(w1s);
  CHECK_FALSE(w1s->stuck);
  CHECK(w1s->denied == std::vector<std::string>{"s2"});
  CHECK(Row(rows, "w2", client)->stuck);
  CHECK_FALSE(Row(rows, "w3", client)->stuck);
  // A wider window makes the serving one stuck too.
  CHECK(Row(JoinRenewals(csrs, kNow, 365 * 24h), "w1", serving)->stuck);
}

TEST_CASE("JoinRenewals: once a renewal is issued, older pending and denied CSRs no longer count",
          "[csr][renewal]") {
  const auto client = CertKind::kClient;
  std::vector<KubeletCsr> csrs{
      Facts(Issued("old", "w1", client, kNow - 30 * 24h, kNow - 30 * 24h, kNow + 2 * 24h)),
      Facts(Denied("try-1", "w1", client, kNow - 3h)),
      Facts(Pending("try-2", "w1", client, kNow - 2h)),
  };
  CHECK(Row(JoinRenewals(csrs, kNow, kWindow), "w1", client)->stuck);
  // The retry was approved and issued: the new certificate is current, and the
  // CSRs made before it are history. (kube-controller-manager backdates
  // not_before by five minutes: the CSR's creation time is what is compared.)
  csrs.push_back(
      Facts(Issued("try-3", "w1", client, kNow - 1h, kNow - 1h - 5min, kNow + 30 * 24h)));
  auto rows = JoinRenewals(csrs, kNow, kWindow);
  const NodeRenewal* r = Row(rows, "w1", client);
  REQUIRE(r);
  CHECK_FALSE(r->stuck);
  CHECK(r->pending.empty());
  CHECK(r->denied.empty());
  CHECK(r->current->name == "try-3");
}

TEST_CASE("JoinRenewals: edge cases", "[csr][renewal]") {
  const auto client = CertKind::kClient;
  SECTION("an expired certificate with a pending renewal is stuck") {
    auto rows =
        JoinRenewals({Facts(Issued("a", "w1", client, kNow - 40 * 24h, kNow - 40 * 24h, kNow - 1h)),
                      Facts(Pending("b", "w1", client, kNow - 10min))},
                     kNow, kWindow);
    CHECK(rows.at(0).stuck);
  }
  SECTION("no known certificate: a row, never stuck") {
    auto rows = JoinRenewals({Facts(Pending("b", "w1", client, kNow))}, kNow, kWindow);
    REQUIRE(rows.size() == 1);
    CHECK_FALSE(rows[0].current);
    CHECK(rows[0].pending == std::vector<std::string>{"b"});
    CHECK_FALSE(rows[0].stuck);
  }
  SECTION("the window's edge is inside") {
    std::vector<KubeletCsr> csrs{
        Facts(Issued("a", "w1", client, kNow - 24h, kNow - 24h, kNow + kWindow)),
        Facts(Pending("b", "w1", client, kNow))};
    CHECK(JoinRenewals(csrs, kNow, kWindow).at(0).stuck);
    CHECK_FALSE(JoinRenewals(csrs, kNow - 1s, kWindow).at(0).stuck);
  }
  SECTION("the current certificate is the latest not_before, as the inventory picks it") {
    std::vector<KubeletCsr> csrs{
        Facts(Issued("a", "w1", client, kNow - 2h, kNow - 1h, kNow + 24h)),
        Facts(Issued("b", "w1", client, kNow - 3h, kNow - 2h, kNow + 48h))};
    CHECK(CurrentCertificate(csrs, "w1", client)->name == "a");
    CHECK_FALSE(CurrentCertificate(csrs, "w1", CertKind::kServing).has_value());
    CHECK_FALSE(CurrentCertificate(csrs, "w2", client).has_value());
  }
}

TEST_CASE("RenewalIndex remembers a deleted CSR's certificate until its Node goes",
          "[csr][renewal]") {
  RenewalIndex index;
  const auto client = CertKind::kClient;
  index.Update("a", Issued("a", "w1", client, kNow - 2h, kNow - 2h, kNow + 24h));
  index.Update("p", Pending("p", "w1", client, kNow - 1h));
  index.Update("other", Issued("other", "w2", client, kNow - 2h, kNow - 2h, kNow + 48h));
  REQUIRE(index.Current("w1", client).has_value());
  CHECK(index.Current("w1", client)->not_after == kNow + 24h);
  CHECK_FALSE(index.Current("w1", CertKind::kServing).has_value());

  // kube-controller-manager's cleaner deletes the issued CSR an hour later.
  index.Remove("a");
  REQUIRE(index.Current("w1", client).has_value());
  CHECK(index.Current("w1", client)->csr == "a");
  CHECK(index.Snapshot().size() == 3);
  CHECK(JoinRenewals(index.Snapshot(), kNow, kWindow).size() == 2);

  // The pending one is decided: denied. Then deleted: nothing is remembered of it.
  index.Update("p", Denied("p", "w1", client, kNow - 1h));
  CHECK(Row(JoinRenewals(index.Snapshot(), kNow, kWindow), "w1", client)->denied.size() == 1);
  index.Remove("p");
  CHECK(index.Snapshot().size() == 2);

  // A CSR that is no kubelet's any more (changed signer in a test double) is forgotten.
  json odd = Pending("q", "w1", client, kNow);
  index.Update("q", odd);
  odd["spec"]["signerName"] = "example.com/x";
  index.Update("q", odd);
  CHECK(index.Snapshot().size() == 2);

  index.ForgetNode("w1");
  CHECK_FALSE(index.Current("w1", client).has_value());
  CHECK(index.Current("w2", client).has_value());
  CHECK(index.Snapshot().size() == 1);
}

TEST_CASE("RenewalIndex keeps each node's CSRs apart as it grows, shrinks and CSRs change node",
          "[csr][renewal]") {
  RenewalIndex index;
  const auto serving = CertKind::kServing;
  constexpr int kNodes = 20, kPerNode = 10;
  auto node = [](int n) { return "w" + std::to_string(n); };
  auto name = [](int n, int i) { return "c-" + std::to_string(n) + "-" + std::to_string(i); };
  // Interleaved, so every node's CSRs are added while the map rehashes.
  for (int i = 0; i < kPerNode; ++i) {
    for (int n = 0; n < kNodes; ++n) {
      index.Update(name(n, i), Issued(name(n, i), node(n), serving, kNow - 10h, kNow - 10h + std::chrono::hours(i),
                                      kNow + std::chrono::hours(24 * (n + 1) + i)));
    }
  }
  CHECK(index.Snapshot().size() == kNodes * kPerNode);
  for (int n = 0; n < kNodes; ++n) {
    auto current = index.Current(node(n), serving);
    REQUIRE(current.has_value());
    CHECK(current->csr == name(n, kPerNode - 1));
    CHECK(current->not_after == kNow + std::chrono::hours(24 * (n + 1) + kPerNode - 1));
  }
  // Each node's newest goes: the next newest is current, nothing is remembered
  // over it (the deleted one is newer, so it is remembered and stays current).
  for (int n = 0; n < kNodes; ++n) index.Remove(name(n, kPerNode - 1));
  CHECK(index.Snapshot().size() == kNodes * kPerNode);  // 20 remembered
  for (int n = 0; n < kNodes; ++n) CHECK(index.Current(node(n), serving)->csr == name(n, kPerNode - 1));
  // A CSR re-recorded under another node (its certificate names w1) moves there:
  // w0 keeps its others, w1's current is the moved one when it is newer.
  index.Update(name(0, 3), Issued(name(0, 3), node(1), serving, kNow - 1h, kNow - 1h, kNow + 9000h));
  CHECK(index.Current(node(1), serving)->csr == name(0, 3));
  index.ForgetNode(node(0));
  CHECK(index.Current(node(0), serving)->csr == name(0, kPerNode - 2));
  // Every live CSR of w0 removed (issued ones are remembered, one per node and kind).
  for (int i = 0; i < kPerNode - 1; ++i) index.Remove(name(0, i));
  index.ForgetNode(node(0));
  CHECK_FALSE(index.Current(node(0), serving).has_value());
  CHECK(index.Current(node(1), serving)->csr == name(0, 3));
  for (const auto& c : index.Snapshot()) CHECK(c.node != node(0));
}

TEST_CASE("RenewalFamilies: expiry days per current certificate, stuck per row",
          "[csr][renewal][metrics]") {
  const auto client = CertKind::kClient;
  std::vector<KubeletCsr> csrs{Facts(Issued("a", "w1", client, kNow - 24h, kNow - 24h, kNow + 36h)),
                               Facts(Pending("b", "w1", client, kNow)),
                               Facts(Pending("c", "w2", CertKind::kServing, kNow))};
  auto families = RenewalFamilies(JoinRenewals(csrs, kNow, kWindow), kNow);
  REQUIRE(families.size() == 2);
  CHECK(families[0].name == "certguard_node_certificate_expiry_days");
  REQUIRE(families[0].metric.size() == 1);  // w2 has no known certificate
  CHECK(families[0].metric[0].gauge.value == Approx(1.5));
  CHECK(families[0].metric[0].label.at(0).value == "client");
  CHECK(families[0].metric[0].label.at(1).value == "w1");
  CHECK(families[1].name == "certguard_node_renewal_stuck");
  REQUIRE(families[1].metric.size() == 2);
  CHECK(families[1].metric[0].gauge.value == 1);
  CHECK(families[1].metric[1].label.at(0).value == "serving");
  CHECK(families[1].metric[1].gauge.value == 0);
}
