// `certguard run` with leader election, as the chart runs it, on the real
// control plane: it keeps its lease while it waits for CRDs applied after it
// started (and /readyz says so), it runs no controller without the lease, and
// of two replicas one decides and the other takes over when it is killed.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "csr_support.h"
#include "support/http_get.h"

namespace certguard::test {
namespace {

using namespace csr_it;
using namespace std::chrono_literals;
using certguard::testing::HttpGet;

// certguard run with leader election on the Lease default/LEASE.
std::unique_ptr<CertguardProcess> StartLeader(const Cluster& cluster, const std::string& log_name,
                                              const std::string& lease,
                                              const std::string& controllers = "csr",
                                              std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"run",
                                   "--kubeconfig", cluster.admin_kubeconfig(),
                                   "--controllers=" + controllers,
                                   "--metrics-bind-address=127.0.0.1:0",
                                   "--health-bind-address=127.0.0.1:0",
                                   "--log-level=debug",
                                   "--leader-elect=true",
                                   "--leader-election-namespace=default",
                                   "--leader-election-id=" + lease};
  for (auto& e : extra) args.push_back(std::move(e));
  return std::make_unique<CertguardProcess>(
      args, cluster.ScratchDir("logs-" + log_name) + "/certguard.log");
}

// Short lease timings for the tests that wait for a lease to change hands.
const std::vector<std::string> kFastLease = {"--leader-election-lease-duration=4s",
                                             "--leader-election-renew-deadline=3s",
                                             "--leader-election-retry-period=500ms"};

int HealthPort(const CertguardProcess& p) {
  std::string log = p.Log();
  auto at = log.find("health_port=");
  if (at == std::string::npos) return 0;
  return std::atoi(log.c_str() + at + 12);
}

struct LeaseSpec {
  std::string holder, renew;
};

LeaseSpec ReadLease(const Cluster& cluster, const std::string& name) {
  CommandResult r = cluster.Kubectl("get lease -n default " + name + " -o json");
  if (!r.ok()) return {};
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object()) return {};
  auto spec = j.value("spec", nlohmann::json::object());
  return {spec.value("holderIdentity", ""), spec.value("renewTime", "")};
}

// MicroTime now, as a Lease holds it.
std::string MicroTimeNow() {
  return certguard::common::FormatRfc3339(
      std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()), 6);
}

// Another identity takes the Lease, as a rogue or mistaken writer would.
void Steal(const Cluster& cluster, const std::string& lease, const std::string& holder) {
  CommandResult r = cluster.Kubectl(
      "patch lease -n default " + lease + " --type merge -p " +
      ShellQuote(nlohmann::json{{"spec",
                                 {{"holderIdentity", holder},
                                  {"leaseDurationSeconds", 3600},
                                  {"renewTime", MicroTimeNow()}}}}
                     .dump()));
  INFO(r.err);
  REQUIRE(r.ok());
}

bool Decided(const Cluster& cluster, const std::string& csr) {
  std::string s = StateOf(GetCsr(cluster, csr));
  return s == "Approved" || s == "Issued";
}

void ApplyCrds(const Cluster& cluster) {
  CommandResult r = cluster.Kubectl("apply -f crds/");
  INFO(r.err);
  REQUIRE(r.ok());
  REQUIRE(cluster.Kubectl("wait --for condition=established --timeout=60s "
                          "crd/csrapprovalpolicies.certguard.io crd/trustbundles.certguard.io")
              .ok());
}

// Puts the CRDs back when the test ends, passed or not: later tests need them.
struct RestoreCrds {
  const Cluster& cluster;
  ~RestoreCrds() {
    cluster.Kubectl("apply -f crds/");
    cluster.Kubectl("wait --for condition=established --timeout=60s "
                    "crd/csrapprovalpolicies.certguard.io crd/trustbundles.certguard.io");
  }
};

TEST_CASE("leader: without its CRDs it keeps the lease, says what it waits for, and decides within seconds of them",
          "[integration][csr][leader]") {
  const Cluster& cluster = RequireCluster();
  const std::string work = cluster.ScratchDir("leader-late-crds");
  const std::string lease = "certguard-late-crds";
  auto kc = cluster.NodeIdentity("late-crds-a", {"InternalIP=10.39.0.1"});
  REQUIRE(kc.ok());
  RestoreCrds restore{cluster};
  CommandResult del = cluster.Kubectl(
      "delete crd csrapprovalpolicies.certguard.io trustbundles.certguard.io --ignore-not-found "
      "--wait=true --timeout=60s");
  INFO(del.err);
  REQUIRE(del.ok());
  cluster.Kubectl("delete lease -n default " + lease + " --ignore-not-found");

  // The chart's lease timings (15 s, renew deadline 10 s).
  auto cg = StartLeader(cluster, "leader-late-crds", lease, "csr,trust,expiry");
  REQUIRE(cg->WaitForLog("leading: starting the controllers", 60s));
  const int health = HealthPort(*cg);
  REQUIRE(health > 0);
  const LeaseSpec first = ReadLease(cluster, lease);
  REQUIRE(!first.holder.empty());

  // /readyz names both missing CRDs.
  std::string body;
  CHECK(Eventually([&] {
    auto r = HttpGet(health, "/readyz");
    body = r.body;
    return r.status == 503 &&
           body.find("csr: waiting for CRD csrapprovalpolicies.certguard.io") != std::string::npos &&
           body.find("trust: waiting for CRD trustbundles.certguard.io") != std::string::npos;
  }, 20s));
  INFO(body);

  // Twice the renew deadline: the same holder, renewing, and nothing lost.
  LeaseSpec last = first;
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(2s);
    LeaseSpec now = ReadLease(cluster, lease);
    CHECK(now.holder == first.holder);
    CHECK(now.renew >= last.renew);  // MicroTime: fixed width, UTC
    last = now;
    REQUIRE(cg->running());
  }
  CHECK(last.renew > first.renew);
  CHECK(cg->Log().find("stopped leading") == std::string::npos);
  CHECK(cg->Log().find("leadership lost") == std::string::npos);
  CHECK(HttpGet(health, "/readyz").status == 503);

  // The CRDs arrive: ready and deciding within seconds.
  ApplyCrds(cluster);
  const auto applied = std::chrono::steady_clock::now();
  std::string csr = CreateCsr(cluster, *kc, "--node late-crds-a --type client", work + "/c");
  CHECK(Eventually([&] { return Decided(cluster, csr); }, 20s));
  CHECK(Eventually([&] { return HttpGet(health, "/readyz").status == 200; }, 20s));
  WARN("CRDs applied; ready and decided "
       << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                applied)
              .count()
       << " ms later");
  CHECK(ReadLease(cluster, lease).holder == first.holder);
  CHECK(cg->Stop() == 0);
}

TEST_CASE("leader: with the lease stolen it stops deciding, and a replica that never held it never decides",
          "[integration][csr][leader]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("leader-stolen");
  const std::string lease = "certguard-stolen";
  auto kc = cluster.NodeIdentity("stolen-a", {"InternalIP=10.39.1.1"});
  REQUIRE(kc.ok());
  cluster.Kubectl("delete lease -n default " + lease + " --ignore-not-found");

  auto cg = StartLeader(cluster, "leader-stolen", lease, "csr", kFastLease);
  REQUIRE(cg->WaitForLog("csr controller started", 60s));
  std::string before = CreateCsr(cluster, *kc, "--node stolen-a --type client", work + "/before");
  REQUIRE(Eventually([&] { return Decided(cluster, before); }, 20s));

  Steal(cluster, lease, "thief");
  // It sees another holder at its next renewal and stops at once.
  CHECK(cg->Wait(10s) == 1);
  CHECK(cg->Log().find("leadership lost, exiting") != std::string::npos);
  CHECK(cg->Log().find("stopping controller") != std::string::npos);

  // A replica started while the thief holds a valid lease stands by: no
  // controller, no decision, and ready (a standby replica is).
  auto standby = StartLeader(cluster, "leader-stolen-standby", lease, "csr", kFastLease);
  REQUIRE(standby->WaitForLog("leader is another replica", 60s));
  std::string during = CreateCsr(cluster, *kc, "--node stolen-a --type client", work + "/during");
  std::this_thread::sleep_for(5s);
  CHECK(StateOf(GetCsr(cluster, during)).empty());
  CHECK(standby->Log().find("starting controller") == std::string::npos);
  const int health = HealthPort(*standby);
  REQUIRE(health > 0);
  CHECK(HttpGet(health, "/readyz").status == 200);
  CHECK(ReadLease(cluster, lease).holder == "thief");

  // The thief lets go: the standby takes the lease and decides what waited.
  Steal(cluster, lease, "");
  CHECK(Eventually([&] { return Decided(cluster, during); }, 30s));
  CHECK(ReadLease(cluster, lease).holder != "thief");
  CHECK(standby->Stop() == 0);
}

TEST_CASE("leader: of two replicas one decides, and the other takes over when it is killed",
          "[integration][csr][leader]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("leader-replicas");
  const std::string lease = "certguard-replicas";
  auto kc = cluster.NodeIdentity("replicas-a", {"InternalIP=10.39.2.1"});
  REQUIRE(kc.ok());
  cluster.Kubectl("delete lease -n default " + lease + " --ignore-not-found");

  auto a = StartLeader(cluster, "leader-replicas-a", lease, "csr", kFastLease);
  REQUIRE(a->WaitForLog("csr controller started", 60s));
  auto b = StartLeader(cluster, "leader-replicas-b", lease, "csr", kFastLease);
  REQUIRE(b->WaitForLog("leader is another replica", 60s));

  std::string one = CreateCsr(cluster, *kc, "--node replicas-a --type client", work + "/one");
  REQUIRE(Eventually([&] { return Decided(cluster, one); }, 20s));
  CHECK(a->Log().find("csr=" + one) != std::string::npos);
  CHECK(b->Log().find("csr=" + one) == std::string::npos);
  CHECK(b->Log().find("starting controller") == std::string::npos);

  const std::string a_holder = ReadLease(cluster, lease).holder;
  a->Kill();  // no release: b waits for the lease to run out
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(b->WaitForLog("csr controller started", 60s));
  const auto took = std::chrono::steady_clock::now() - killed;
  CHECK(took >= 3s);  // not before a's lease (4 s) ran out
  std::string two = CreateCsr(cluster, *kc, "--node replicas-a --type client", work + "/two");
  CHECK(Eventually([&] { return Decided(cluster, two); }, 20s));
  CHECK(b->Log().find("csr=" + two) != std::string::npos);
  const std::string b_holder = ReadLease(cluster, lease).holder;
  CHECK(!b_holder.empty());
  CHECK(b_holder != a_holder);
  WARN("replica killed; the other decided "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms later");
  CHECK(b->Stop() == 0);
}

}  // namespace
}  // namespace certguard::test
