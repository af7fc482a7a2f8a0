#include "kube/controller.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <thread>

#include "support/wait.h"

using namespace std::chrono_literals;
using certguard::Code;
using certguard::Status;
using namespace certguard::kube;

namespace {

using certguard::testing::WaitFor;

// Scripted reconciler: returns the next result for each key, counts calls.
class Script : public Reconciler {
 public:
  std::map<std::string, std::vector<ReconcileResult>> results;
  std::map<std::string, int> calls;
  std::atomic<int> concurrent{0}, max_concurrent{0};
  std::mutex mu;

  ReconcileResult Reconcile(const std::string& key) override {
    int now = ++concurrent;
    int prev = max_concurrent.load();
    while (now > prev && !max_concurrent.compare_exchange_weak(prev, now)) {
    }
    std::this_thread::sleep_for(1ms);
    ReconcileResult r;
    {
      std::lock_guard<std::mutex> l(mu);
      int i = calls[key]++;
      auto& list = results[key];
      r = i < static_cast<int>(list.size()) ? list[i] : ReconcileResult::Done();
    }
    --concurrent;
    return r;
  }
  int Calls(const std::string& key) {
    std::lock_guard<std::mutex> l(mu);
    return calls[key];
  }
};

QueueOptions Fast() {
  QueueOptions o;
  o.backoff = Backoff{1ms, 50ms, 2.0, 0.0};
  return o;
}

}  // namespace

TEST_CASE("Controller: retry uses backoff until success, then forgets", "[kube][controller]") {
  Script s;
  s.results["a"] = {ReconcileResult::Retry(Status(Code::kUnavailable, "x")),
                    ReconcileResult::Retry(Status(Code::kUnavailable, "x")),
                    ReconcileResult::Done()};
  WorkQueue q(Fast());
  Controller c("test", s, q, 2);
  c.Start();
  q.Add("a");
  REQUIRE(WaitFor([&] { return s.Calls("a") == 3; }));
  REQUIRE(WaitFor([&] { return q.NumRequeues("a") == 0; }));
  std::this_thread::sleep_for(30ms);
  CHECK(s.Calls("a") == 3);
  c.Stop();
  CHECK(c.Stats().retries == 2);
  CHECK(c.Stats().reconciles == 3);
}

TEST_CASE("Controller: terminal errors are not retried", "[kube][controller]") {
  Script s;
  s.results["bad"] = {ReconcileResult::Terminal(Status(Code::kInvalidArgument, "malformed"))};
  WorkQueue q(Fast());
  Controller c("test", s, q, 1);
  c.Start();
  q.Add("bad");
  REQUIRE(WaitFor([&] { return c.Stats().terminal_errors == 1; }));
  std::this_thread::sleep_for(30ms);
  CHECK(s.Calls("bad") == 1);
  CHECK(q.NumRequeues("bad") == 0);
}

TEST_CASE("Controller: requeue-after looks again later", "[kube][controller]") {
  Script s;
  s.results["exp"] = {ReconcileResult::RequeueAfter(40ms), ReconcileResult::Done()};
  WorkQueue q(Fast());
  Controller c("test", s, q, 1);
  c.Start();
  auto start = std::chrono::steady_clock::now();
  q.Add("exp");
  REQUIRE(WaitFor([&] { return s.Calls("exp") == 2; }));
  CHECK(std::chrono::steady_clock::now() - start >= 40ms);
  CHECK(c.Stats().requeues_after == 1);
}

TEST_CASE("Controller: retry honours a server's Retry-After", "[kube][controller]") {
  Script s;
  Status throttled(Code::kTooManyRequests, "slow");
  throttled.WithRetryAfter(1);
  s.results["t"] = {ReconcileResult::Retry(throttled)};
  WorkQueue q(Fast());
  Controller c("test", s, q, 1);
  c.Start();
  auto start = std::chrono::steady_clock::now();
  q.Add("t");
  REQUIRE(WaitFor([&] { return s.Calls("t") == 2; }, 5s));
  CHECK(std::chrono::steady_clock::now() - start >= 1s);
}

TEST_CASE("Controller: workers run different keys in parallel, one key at a time",
          "[kube][controller]") {
  Script s;
  WorkQueue q(Fast());
  Controller c("test", s, q, 4);
  c.Start();
  for (int round = 0; round < 50; ++round) {
    for (int k = 0; k < 8; ++k) q.Add("k" + std::to_string(k));
  }
  REQUIRE(WaitFor([&] {
    for (int k = 0; k < 8; ++k) {
      if (s.Calls("k" + std::to_string(k)) == 0) return false;
    }
    return q.Len() == 0;
  }));
  c.Stop();
  CHECK(s.max_concurrent <= 4);
  CHECK(s.max_concurrent >= 2);
}

TEST_CASE("Controller: a throwing reconciler is retried, not fatal", "[kube][controller]") {
  struct Thrower : Reconciler {
    std::atomic<int> n{0};
    ReconcileResult Reconcile(const std::string&) override {
      if (n++ == 0) throw std::runtime_error("boom");
      return ReconcileResult::Done();
    }
  } t;
  WorkQueue q(Fast());
  Controller c("test", t, q, 1);
  c.Start();
  q.Add("x");
  REQUIRE(WaitFor([&] { return t.n == 2; }));
  CHECK(c.Stats().retries == 1);
}
