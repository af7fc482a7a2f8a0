// The start-up contract of `certguard run` (app/group.h): Start never blocks,
// readiness says what each controller waits for, and the controllers run only
// while this replica holds the lease, which it keeps while they wait for CRDs.
#include "app/group.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/manager.h"
#include "kube/leader.h"
#include "kube/resource.h"
#include "metrics/endpoints.h"
#include "support/kube/election.h"
#include "support/kube/fake_client.h"
#include "support/kube/fake_recorder.h"
#include "support/wait.h"

using namespace certguard;
using namespace std::chrono_literals;
using certguard::testing::WaitFor;
using certguard::kube::Json;

namespace {

// A runnable whose sync the test controls; records Start and Stop in `log`.
class FakeRunnable : public app::Runnable {
 public:
  FakeRunnable(std::string name, std::vector<std::string>& log, std::mutex& mu)
      : name_(std::move(name)), log_(log), mu_(mu) {}
  void Start() override { Note("start"); }
  void Stop() override { Note("stop"); }
  bool Synced() const override { return synced.load(); }
  std::string WaitingFor() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting;
  }

  std::atomic<bool> synced{false};
  std::string waiting;  // under mu_

 private:
  void Note(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(what + " " + name_);
  }
  std::string name_;
  std::vector<std::string>& log_;
  std::mutex& mu_;
};

struct FakeGroup {
  FakeGroup() {
    auto a = std::make_unique<FakeRunnable>("csr", log, mu);
    auto b = std::make_unique<FakeRunnable>("trust", log, mu);
    csr = a.get();
    trust = b.get();
    group.Add("csr", std::move(a));
    group.Add("trust", std::move(b));
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(mu);
    return log;
  }
  std::mutex mu;
  std::vector<std::string> log;
  app::RunnableGroup group;
  FakeRunnable* csr = nullptr;
  FakeRunnable* trust = nullptr;
};

kube::LeaderElectionConfig FastElection(const std::string& id) {
  return kube::testing::Election(id, 3s, 2s, 100ms);
}

Json LeaseHeldBy(const std::string& holder) {
  const std::string now = kube::FormatMicroTime(kube::WallClock::now());
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", "certguard"}, {"namespace", "ns"}}},
          {"spec",
           {{"holderIdentity", holder},
            {"leaseDurationSeconds", 3600},
            {"acquireTime", now},
            {"renewTime", now}}}};
}

Status Rewrite(kube::testing::FakeClient& api, const std::string& holder) {
  auto lease = api.Get(kube::resources::kLeases, "ns", "certguard");
  if (!lease.ok()) return lease.status();
  Json l = *lease;
  l["spec"] = LeaseHeldBy(holder)["spec"];
  return api.Update(kube::resources::kLeases, "ns", l).status();
}

struct Leadership {
  std::atomic<int> leading{0}, lost{0};
  std::atomic<bool> shutting_down{false};
  kube::LeaderElector::Callbacks For(app::RunnableGroup& group) {
    return app::RunWhileLeading(
        group, [this](bool on) { leading += on ? 1 : -1; },
        [this] { return shutting_down.load(); }, [this] { lost++; });
  }
};

}  // namespace

TEST_CASE("RunnableGroup: readiness names what each controller waits for", "[app]") {
  FakeGroup g;
  CHECK(g.group.Ready().ok());  // a standby replica is ready
  g.group.StartAll();
  g.group.StartAll();  // once
  CHECK(g.Log() == std::vector<std::string>{"start csr", "start trust"});
  {
    std::lock_guard<std::mutex> lock(g.mu);
    g.trust->waiting = "waiting for CRD trustbundles.certguard.io";
  }
  Status st = g.group.Ready();
  CHECK(st.code() == Code::kUnavailable);
  // A runnable with nothing to say still names itself.
  CHECK(st.message() == "csr: not synced; trust: waiting for CRD trustbundles.certguard.io");
  g.csr->synced = true;
  CHECK(g.group.Ready().message() == "trust: waiting for CRD trustbundles.certguard.io");
  g.trust->synced = true;
  CHECK(g.group.Ready().ok());
  g.group.StopAll();
  g.group.StopAll();
  g.group.StartAll();  // never again once stopped
  CHECK(g.Log() ==
        std::vector<std::string>{"start csr", "start trust", "stop trust", "stop csr"});
}

TEST_CASE("RunnableGroup: stopped before it started, nothing runs", "[app]") {
  FakeGroup g;
  g.group.StopAll();
  g.group.StartAll();
  CHECK(g.Log().empty());
  CHECK_FALSE(g.group.started());
}

TEST_CASE("Leader election: the controllers start only once the lease is ours and stop when it is stolen",
          "[app][leader]") {
  kube::testing::FakeClient api;
  REQUIRE(api.Create(kube::resources::kLeases, "ns", LeaseHeldBy("other")).ok());
  FakeGroup g;
  Leadership l;
  kube::LeaderElector elector(api, FastElection("me"), l.For(g.group));
  elector.Start();
  // Another replica holds a valid lease: several attempts, no controller.
  REQUIRE(WaitFor([&] {
    size_t gets = 0;
    for (const std::string& a : api.Actions()) gets += a == "get leases ns/certguard";
    return gets >= 5;
  }));
  CHECK_FALSE(g.group.started());
  CHECK(g.Log().empty());
  CHECK(l.leading == 0);

  REQUIRE(Rewrite(api, "").ok());  // released
  REQUIRE(WaitFor([&] { return g.group.started(); }));
  CHECK(elector.IsLeader());
  CHECK(l.leading == 1);
  CHECK(g.Log() == std::vector<std::string>{"start csr", "start trust"});

  // Someone hands the lease to another identity: leadership is lost, Run is told.
  REQUIRE(Rewrite(api, "thief").ok());
  REQUIRE(WaitFor([&] { return l.lost.load() == 1; }));
  CHECK(l.leading == 0);
  CHECK_FALSE(elector.IsLeader());
  g.group.StopAll();  // what Run does when told
  CHECK(g.Log().back() == "stop csr");
  l.shutting_down = true;
  elector.Stop();
  CHECK(l.lost == 1);
}

TEST_CASE("certguard run's controllers start at once without their CRDs, keep the lease, and run once the CRDs appear",
          "[app][leader]") {
  kube::testing::FakeClient api;
  api.SetMissing(kube::resources::kCsrApprovalPolicies, true);
  api.SetMissing(kube::resources::kTrustBundles, true);
  app::RunOptions options;
  kube::testing::FakeRecorder events, routine;
  metrics::Endpoints endpoints;
  app::ManagerContext ctx{options, api, events, routine, endpoints.registry(), endpoints};
  app::RunnableGroup group;
  for (auto& entry : app::BuiltinControllers()) {
    REQUIRE(entry.factory);
    auto r = entry.factory(ctx);
    REQUIRE(r.ok());
    group.Add(entry.name, std::move(*r));
  }
  Leadership l;
  kube::LeaderElector::Callbacks cb = l.For(group);
  std::atomic<long long> start_ms{-1};
  auto start_all = cb.on_started_leading;
  cb.on_started_leading = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    start_all();
    start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
  };
  kube::LeaderElector elector(api, FastElection("me"), cb);
  elector.Start();
  REQUIRE(WaitFor([&] { return start_ms.load() >= 0; }));
  CHECK(start_ms < 5000);  // generous: it used to wait minutes for the trust caches

  auto waiting_for_crds = [&] {
    const std::string m = group.Ready().message();
    return m.find("csr: waiting for CRD csrapprovalpolicies.certguard.io") != std::string::npos &&
           m.find("trust: waiting for CRD trustbundles.certguard.io") != std::string::npos;
  };
  REQUIRE(WaitFor(waiting_for_crds, 10s));
  // Past the renew deadline (2 s) while waiting: still the leader.
  std::this_thread::sleep_for(3s);
  CHECK(elector.IsLeader());
  CHECK(l.lost == 0);
  CHECK(waiting_for_crds());

  api.SetMissing(kube::resources::kCsrApprovalPolicies, false);
  api.SetMissing(kube::resources::kTrustBundles, false);
  Status ready;
  CHECK(WaitFor([&] { return (ready = group.Ready()).ok(); }, 20s));
  INFO(ready.message());
  CHECK(l.lost == 0);
  l.shutting_down = true;
  group.StopAll();
  elector.Stop();
}
