#include "kube/leader.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "common/time.h"
#include "support/kube/election.h"
#include "support/kube/fake_client.h"
#include "support/wait.h"

using namespace std::chrono_literals;
using certguard::Code;
using certguard::Result;
using certguard::Status;
using namespace certguard::kube;
using certguard::kube::testing::FakeClient;
using Action = LeaderDecision::Action;

namespace {

using certguard::testing::WaitFor;

LeaderElectionConfig Config(const std::string& id) {
  return certguard::kube::testing::Election(id, 15s, 10s, 2s);
}

const WallClock::time_point kT0 = WallClock::time_point(std::chrono::seconds(1790000000));

LeaseRecord Held(const std::string& holder, WallClock::time_point renew, int duration = 15) {
  LeaseRecord r;
  r.holder = holder;
  r.lease_duration_seconds = duration;
  r.acquire_time = renew - 60s;
  r.renew_time = renew;
  r.transitions = 3;
  r.resource_version = "77";
  return r;
}

}  // namespace

TEST_CASE("Leader decision: create, renew, wait, take over", "[kube][leader]") {
  auto c = Config("me");
  auto d = DecideLeadership(std::nullopt, kT0, c);
  CHECK(d.action == Action::kCreate);
  CHECK(d.desired.holder == "me");
  CHECK(d.desired.lease_duration_seconds == 15);
  CHECK(d.desired.acquire_time == kT0);
  CHECK(d.desired.transitions == 0);
  auto odd = c;
  odd.lease_duration = 1500ms;  // the API keeps whole seconds: rounded up, never down
  CHECK(DecideLeadership(std::nullopt, kT0, odd).desired.lease_duration_seconds == 2);

  d = DecideLeadership(Held("me", kT0 - 5s), kT0, c);
  CHECK(d.action == Action::kRenew);
  CHECK(d.desired.renew_time == kT0);
  CHECK(d.desired.acquire_time == kT0 - 65s);  // kept
  CHECK(d.desired.transitions == 3);
  CHECK(d.desired.resource_version == "77");

  CHECK(DecideLeadership(Held("other", kT0 - 14s), kT0, c).action == Action::kWait);
  d = DecideLeadership(Held("other", kT0 - 15s), kT0, c);
  CHECK(d.action == Action::kAcquire);
  CHECK(d.desired.transitions == 4);
  CHECK(d.desired.acquire_time == kT0);
  // The holder's own duration counts, not ours.
  CHECK(DecideLeadership(Held("other", kT0 - 20s, 30), kT0, c).action == Action::kWait);
  // Released (empty holder) is free at once.
  CHECK(DecideLeadership(Held("", kT0), kT0, c).action == Action::kAcquire);
  // No renewTime at all: expired.
  LeaseRecord no_time = Held("other", kT0);
  no_time.renew_time.reset();
  CHECK(DecideLeadership(no_time, kT0, c).action == Action::kAcquire);
}

TEST_CASE("Leader decision uses local observation time when given (clock skew)",
          "[kube][leader]") {
  auto c = Config("me");
  // The holder's clock is an hour behind: by renewTime it looks long expired,
  // but we saw this record change only 5 s ago, so it is still valid.
  auto skewed = Held("other", kT0 - 1h);
  CHECK(DecideLeadership(skewed, kT0, c).action == Action::kAcquire);
  CHECK(DecideLeadership(skewed, kT0, c, kT0 - 5s).action == Action::kWait);
  CHECK(DecideLeadership(skewed, kT0, c, kT0 - 15s).action == Action::kAcquire);
}

TEST_CASE("Leader election config is validated", "[kube][leader]") {
  CHECK(Validate(Config("me")).ok());
  auto c = Config("");
  CHECK(Validate(c).code() == Code::kInvalidArgument);
  c = Config("me");
  c.renew_deadline = 15s;
  CHECK(Validate(c).code() == Code::kInvalidArgument);
  c = Config("me");
  c.retry_period = 10s;
  CHECK(Validate(c).code() == Code::kInvalidArgument);
  c = Config("me");
  c.lease_namespace = "";
  CHECK(Validate(c).code() == Code::kInvalidArgument);
}

TEST_CASE("MicroTime round-trips and rejects garbage", "[kube][leader]") {
  auto t = kT0 + 123456us;
  std::string s = FormatMicroTime(t);
  CHECK(s == "2026-09-21T14:13:20.123456Z");
  CHECK(ParseMicroTime(s) == t);
  CHECK(ParseMicroTime("2026-09-21T14:13:20Z") == kT0);
  CHECK(ParseMicroTime("2026-09-21T14:13:20.5Z") == kT0 + 500ms);
  CHECK(ParseMicroTime("2026-09-21T16:13:20.000000+02:00") == kT0);
  for (const char* bad : {"", "yesterday", "2026-09-21", "2026-13-01T00:00:00Z",
                          "2026-09-21T12:53:20", "2026-09-21T12:53:20.Z",
                          "2026-09-21T12:53:20Zjunk"}) {
    INFO(bad);
    CHECK_FALSE(ParseMicroTime(bad).has_value());
  }
}

TEST_CASE("Lease JSON round-trips through the record", "[kube][leader]") {
  LeaseRecord r = Held("pod-a", kT0);
  Json lease = {{"metadata", {{"resourceVersion", "77"}}}, {"spec", LeaseSpecJson(r)}};
  LeaseRecord back = LeaseFromJson(lease);
  CHECK(back.holder == "pod-a");
  CHECK(back.lease_duration_seconds == 15);
  CHECK(back.renew_time == kT0);
  CHECK(back.acquire_time == kT0 - 60s);
  CHECK(back.transitions == 3);
  CHECK(back.resource_version == "77");
  CHECK(LeaseFromJson(Json{{"spec", "bad"}}).holder.empty());
}

namespace {

// Forwards to a shared FakeClient unless cut off; a cut-off call hangs (like a
// partitioned network) until the link is restored (at most 10 s), then fails.
class Link : public Client {
 public:
  explicit Link(Client& to) : to_(to) {}
  std::atomic<bool> cut{false};
  Result<Json> Get(const Resource& r, const std::string& ns, const std::string& name,
                   const std::string& sub = {}) override {
    if (Hang()) return Status(Code::kUnavailable, "partitioned");
    return to_.Get(r, ns, name, sub);
  }
  Result<Json> List(const Resource& r, const std::string& ns, const ListOptions& o) override {
    return to_.List(r, ns, o);
  }
  Result<Json> Create(const Resource& r, const std::string& ns, const Json& o,
                      const WriteOptions& w = {}) override {
    if (Hang()) return Status(Code::kUnavailable, "partitioned");
    return to_.Create(r, ns, o, w);
  }
  Result<Json> Update(const Resource& r, const std::string& ns, const Json& o,
                      const std::string& sub = {}, const WriteOptions& w = {}) override {
    if (Hang()) return Status(Code::kUnavailable, "partitioned");
    return to_.Update(r, ns, o, sub, w);
  }
  Result<Json> Patch(const Resource& r, const std::string& ns, const std::string& n, PatchType t,
                     const std::string& b, const WriteOptions& w = {},
                     const std::string& sub = {}) override {
    return to_.Patch(r, ns, n, t, b, w, sub);
  }
  Status Delete(const Resource& r, const std::string& ns, const std::string& n,
                const DeleteOptions& o = {}) override {
    return to_.Delete(r, ns, n, o);
  }
  Status Watch(const Resource& r, const std::string& ns, const WatchOptions& o,
               const WatchEventFn& f, CancelToken& c) override {
    return to_.Watch(r, ns, o, f, c);
  }

 private:
  bool Hang() {
    if (!cut) return false;
    for (int i = 0; i < 200 && cut; ++i) std::this_thread::sleep_for(50ms);
    return true;
  }
  Client& to_;
};

LeaderElectionConfig Fast(const std::string& id) {
  LeaderElectionConfig c = Config(id);
  c.lease_duration = 3s;
  c.renew_deadline = 2s;
  c.retry_period = 100ms;
  return c;
}

struct Flags {
  std::atomic<int> started{0}, stopped{0};
  std::atomic<long long> started_at{0}, stopped_at{0};
  LeaderElector::Callbacks Callbacks() {
    return {[this] {
              started++;
              started_at = Now();
            },
            [this] {
              stopped++;
              stopped_at = Now();
            },
            nullptr};
  }
  static long long Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

TEST_CASE("Two electors: one leads, on release the other takes over", "[kube][leader]") {
  FakeClient api;
  Flags fa, fb;
  LeaderElector a(api, Fast("a"), fa.Callbacks());
  a.Start();
  REQUIRE(WaitFor([&] { return a.IsLeader(); }));
  LeaderElector b(api, Fast("b"), fb.Callbacks());
  b.Start();
  std::this_thread::sleep_for(400ms);
  CHECK_FALSE(b.IsLeader());
  CHECK(b.CurrentHolder() == "a");
  auto lease = api.Get(resources::kLeases, "ns", "certguard");
  REQUIRE(lease.ok());
  CHECK((*lease)["spec"]["holderIdentity"] == "a");

  auto stop_at = std::chrono::steady_clock::now();
  a.Stop();  // releases
  CHECK(fa.stopped == 1);
  REQUIRE(WaitFor([&] { return b.IsLeader(); }));
  CHECK(std::chrono::steady_clock::now() - stop_at < 1s);  // no need to wait for expiry
  // b's callback runs a moment after b.IsLeader() turns true, on b's thread.
  CHECK(WaitFor([&] { return fb.started.load() == 1; }));
  auto after = api.Get(resources::kLeases, "ns", "certguard");
  REQUIRE(after.ok());
  CHECK((*after)["spec"]["holderIdentity"] == "b");
  CHECK((*after)["spec"]["leaseTransitions"] == 1);
  b.Stop();
}

TEST_CASE("A crashed leader's lease is taken after it expires", "[kube][leader]") {
  FakeClient api;
  Flags fa, fb;
  auto ca = Fast("a");
  ca.release_on_cancel = false;  // as if the process died
  LeaderElector a(api, ca, fa.Callbacks());
  a.Start();
  REQUIRE(WaitFor([&] { return a.IsLeader(); }));
  LeaderElector b(api, Fast("b"), fb.Callbacks());
  b.Start();
  std::this_thread::sleep_for(300ms);
  auto killed = std::chrono::steady_clock::now();
  a.Stop();
  REQUIRE(WaitFor([&] { return b.IsLeader(); }, 5s));
  auto took = std::chrono::steady_clock::now() - killed;
  CHECK(took >= 2700ms);  // waited for the lease (3 s since the last renewal it saw)
  CHECK(took < 4500ms);
  b.Stop();
}

TEST_CASE("A partitioned leader stops acting before another can take over",
          "[kube][leader]") {
  FakeClient api;
  Link la(api);
  Flags fa, fb;
  LeaderElector a(la, Fast("a"), fa.Callbacks());
  a.Start();
  REQUIRE(WaitFor([&] { return a.IsLeader(); }));
  LeaderElector b(api, Fast("b"), fb.Callbacks());
  b.Start();
  std::this_thread::sleep_for(300ms);
  auto cut_at = Flags::Now();
  la.cut = true;  // a's calls now hang
  REQUIRE(WaitFor([&] { return fa.stopped == 1; }, 5s));
  CHECK_FALSE(a.IsLeader());
  CHECK(fa.stopped_at - cut_at < 2500);  // at the renew deadline, not when the call returns
  // started_at is set by b's callback, a moment after b.IsLeader() turns true.
  REQUIRE(WaitFor([&] { return b.IsLeader() && fb.started_at.load() != 0; }, 8s));
  CHECK(fa.stopped_at.load() < fb.started_at.load());
  la.cut = false;
  // Back on the network, a sees b holds the lease and does not act again.
  std::this_thread::sleep_for(1500ms);
  CHECK_FALSE(a.IsLeader());
  CHECK(fa.started == 1);
  a.Stop();
  b.Stop();
}

TEST_CASE("A leader that loses the lease to a conflicting writer stops at once",
          "[kube][leader]") {
  FakeClient api;
  Flags fa;
  LeaderElector a(api, Fast("a"), fa.Callbacks());
  a.Start();
  REQUIRE(WaitFor([&] { return a.IsLeader(); }));
  // Someone (an operator with kubectl) hands the lease to another identity.
  auto lease = api.Get(resources::kLeases, "ns", "certguard");
  REQUIRE(lease.ok());
  Json l = *lease;
  l["spec"]["holderIdentity"] = "intruder";
  l["spec"]["renewTime"] = FormatMicroTime(WallClock::now());
  REQUIRE(api.Update(resources::kLeases, "ns", l).ok());
  REQUIRE(WaitFor([&] { return fa.stopped == 1; }, 2s));
  CHECK_FALSE(a.IsLeader());
  a.Stop();
  CHECK(fa.stopped == 1);  // once per leadership
}

namespace {

// Fast retries, but a lease and a deadline that real time never reaches in a test:
// only the injected clock can make them pass.
LeaderElectionConfig OnClock(const std::string& id, const certguard::common::Clock& clock) {
  LeaderElectionConfig c = Config(id);  // lease 15 s, renew deadline 10 s
  c.retry_period = 50ms;
  c.clock = &clock;
  return c;
}

}  // namespace

TEST_CASE("An elector judges another's lease expired by the injected clock", "[kube][leader]") {
  certguard::common::FakeClock clock(certguard::common::Time(std::chrono::seconds(1790000000)));
  FakeClient api;
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "certguard"}, {"namespace", "ns"}}},
                {"spec", LeaseSpecJson(Held("other", kT0))}};
  REQUIRE(api.Create(resources::kLeases, "ns", lease).ok());
  Flags fb;
  LeaderElector b(api, OnClock("b", clock), fb.Callbacks());
  b.Start();
  REQUIRE(WaitFor([&] { return b.CurrentHolder() == "other"; }));
  clock.Advance(14s);  // 14 s after b first saw the holder: still valid
  std::this_thread::sleep_for(300ms);  // several attempts
  CHECK_FALSE(b.IsLeader());
  CHECK(fb.started == 0);
  clock.Advance(1s);  // 15 s: expired
  REQUIRE(WaitFor([&] { return b.IsLeader(); }, 2s));
  auto taken = api.Get(resources::kLeases, "ns", "certguard");
  REQUIRE(taken.ok());
  // The times it writes are the injected ones, to the microsecond.
  CHECK((*taken)["spec"]["holderIdentity"] == "b");
  CHECK((*taken)["spec"]["acquireTime"] == FormatMicroTime(kT0 + 15s));
  CHECK((*taken)["spec"]["renewTime"] == FormatMicroTime(kT0 + 15s));
  CHECK((*taken)["spec"]["leaseTransitions"] == 4);
  b.Stop();
}

TEST_CASE("A leader stops at the renew deadline of the injected clock", "[kube][leader]") {
  certguard::common::FakeClock clock(certguard::common::Time(std::chrono::seconds(1790000000)));
  FakeClient api;
  Flags fa;
  LeaderElector a(api, OnClock("a", clock), fa.Callbacks());
  a.Start();
  REQUIRE(WaitFor([&] { return a.IsLeader(); }));
  auto created = api.Get(resources::kLeases, "ns", "certguard");
  REQUIRE(created.ok());
  CHECK((*created)["spec"]["acquireTime"] == FormatMicroTime(kT0));
  // Every renewal fails from now on; real time alone would take 10 s to matter.
  api.InjectError("update", Status(Code::kUnavailable, "partitioned"), 10000);
  clock.Advance(10s);  // exactly the deadline: still leading
  CHECK(a.IsLeader());
  clock.Advance(1s);
  CHECK_FALSE(a.IsLeader());
  // The watchdog re-reads the clock at least once a retry period.
  REQUIRE(WaitFor([&] { return fa.stopped == 1; }, 2s));
  CHECK(fa.started == 1);
  a.Stop();
}
