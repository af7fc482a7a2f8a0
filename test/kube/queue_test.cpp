#include "kube/queue.h"

#include "common/time.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace certguard::kube;
using certguard::common::FakeClock;
using certguard::common::Time;

namespace {

// The next key, which must come within a second.
std::string Next(WorkQueue& q) {
  std::string k;
  REQUIRE(q.GetFor(&k, 1s));
  return k;
}

}  // namespace

TEST_CASE("Queue: adding a queued key again is a no-op", "[kube][queue]") {
  WorkQueue q;
  q.Add("a");
  q.Add("b");
  q.Add("a");
  q.Add("a");
  CHECK(q.Len() == 2);
  CHECK(Next(q) == "a");
  CHECK(Next(q) == "b");
  std::string k = "b";  // a GetFor that times out leaves no key behind
  CHECK_FALSE(q.GetFor(&k, 20ms));
  CHECK(k.empty());
  q.Done("a");
  q.Done("b");
  CHECK(q.Len() == 0);
}

TEST_CASE("Queue: a key added while processed runs once more after Done", "[kube][queue]") {
  WorkQueue q;
  q.Add("a");
  std::string k;
  REQUIRE(q.GetFor(&k, 1s));
  q.Add("a");
  q.Add("a");
  // Not handed out while in process, even to another worker.
  CHECK(q.Len() == 0);
  std::string other;
  CHECK_FALSE(q.GetFor(&other, 20ms));
  q.Done("a");
  CHECK(q.Len() == 1);
  CHECK(Next(q) == "a");
  q.Done("a");
  CHECK(q.Len() == 0);
  CHECK_FALSE(q.GetFor(&other, 20ms));
}

TEST_CASE("Queue: many workers never hold one key at once", "[kube][queue]") {
  WorkQueue q;
  std::mutex mu;
  std::set<std::string> in_hand;
  std::atomic<int> overlaps{0};
  std::map<std::string, int> runs;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      std::string key;
      while (q.Get(&key)) {
        {
          std::lock_guard<std::mutex> l(mu);
          if (!in_hand.insert(key).second) overlaps++;
          runs[key]++;
        }
        std::this_thread::sleep_for(200us);
        {
          std::lock_guard<std::mutex> l(mu);
          in_hand.erase(key);
        }
        q.Done(key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) q.Add("k" + std::to_string(i % 5));
  q.ShutDownWithDrain();
  for (auto& t : workers) t.join();
  CHECK(overlaps == 0);
  int total = 0;
  for (auto& [k, n] : runs) total += n;
  CHECK(runs.size() == 5);
  CHECK(total >= 5);
  CHECK(total <= 2000);  // deduplicated
}

TEST_CASE("Queue: per-key backoff grows and Forget resets it", "[kube][queue]") {
  ItemBackoff b(Backoff{5ms, 1s, 2.0, 0.0});
  CHECK(b.When("a") == Duration(5ms));
  CHECK(b.When("a") == Duration(10ms));
  CHECK(b.When("a") == Duration(20ms));
  CHECK(b.When("b") == Duration(5ms));  // keys are independent
  CHECK(b.NumRequeues("a") == 3);
  for (int i = 0; i < 20; ++i) (void)b.When("a");
  CHECK(b.When("a") == Duration(1s));
  b.Forget("a");
  CHECK(b.NumRequeues("a") == 0);
  CHECK(b.When("a") == Duration(5ms));
}

TEST_CASE("Queue: AddRateLimited delays by the key's backoff", "[kube][queue]") {
  QueueOptions o;
  o.backoff = Backoff{50ms, 1s, 2.0, 0.0};
  WorkQueue q(o);
  auto start = WorkQueue::Clock::now();
  q.AddRateLimited("a");
  CHECK(q.NumRequeues("a") == 1);
  CHECK(q.Len() == 0);
  CHECK(q.WaitingLen() == 1);
  std::string k;
  REQUIRE(q.GetFor(&k, 2s));
  auto waited = WorkQueue::Clock::now() - start;
  CHECK(k == "a");
  CHECK(waited >= 50ms);
  q.Done("a");
  start = WorkQueue::Clock::now();  // before the add, which fixes when the key is due
  q.AddRateLimited("a");            // second failure: 100 ms
  REQUIRE(q.GetFor(&k, 2s));
  CHECK(WorkQueue::Clock::now() - start >= 100ms);
  q.Done("a");
  q.Forget("a");
  CHECK(q.NumRequeues("a") == 0);
}

TEST_CASE("Queue: delayed adds come out in time order and the earliest wins", "[kube][queue]") {
  WorkQueue q;
  q.AddAfter("late", 120ms);
  q.AddAfter("early", 30ms);
  q.AddAfter("late", 10s);   // a later time for a waiting key does not push it back
  q.AddAfter("now", 0ms);
  CHECK(q.Len() == 1);
  CHECK(Next(q) == "now");
  CHECK(Next(q) == "early");
  CHECK(Next(q) == "late");
  q.AddAfter("x", 10s);
  q.AddAfter("x", 20ms);  // an earlier time replaces the later one
  CHECK(Next(q) == "x");
  CHECK(q.WaitingLen() == 0);
}

TEST_CASE("Queue: a delayed key already queued is not doubled", "[kube][queue]") {
  WorkQueue q;
  q.Add("a");
  q.AddAfter("a", 10ms);
  std::this_thread::sleep_for(50ms);
  CHECK(q.Len() == 1);
}

TEST_CASE("Queue: shutdown drains queued keys, then Get returns false", "[kube][queue]") {
  WorkQueue q;
  q.Add("a");
  q.Add("b");
  q.AddAfter("later", 10s);
  q.ShutDown();
  CHECK(q.ShuttingDown());
  q.Add("c");  // ignored
  std::string k;
  REQUIRE(q.Get(&k));
  CHECK(k == "a");
  q.Done(k);
  REQUIRE(q.Get(&k));
  CHECK(k == "b");
  q.Done(k);
  CHECK_FALSE(q.Get(&k));
  CHECK(q.WaitingLen() == 0);
}

TEST_CASE("Queue: shutdown wakes blocked workers", "[kube][queue]") {
  WorkQueue q;
  std::atomic<bool> returned{false};
  std::thread t([&] {
    std::string k;
    bool got = q.Get(&k);
    returned = !got;
  });
  std::this_thread::sleep_for(20ms);
  q.ShutDown();
  t.join();
  CHECK(returned);
}

TEST_CASE("Queue: ShutDownWithDrain waits for the key in hand", "[kube][queue]") {
  WorkQueue q;
  q.Add("a");
  std::string k;
  REQUIRE(q.Get(&k));
  std::atomic<bool> drained{false};
  std::thread t([&] {
    q.ShutDownWithDrain();
    drained = true;
  });
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(drained);
  q.Done(k);
  t.join();
  CHECK(drained);
}

// Delayed adds read the injected clock: a FakeClock that does not move keeps
// every delayed key waiting however long the test runs; moving it releases
// exactly the keys that are due, in the order of their times.
TEST_CASE("Queue: AddAfter releases keys by the injected clock, in time order", "[kube][queue]") {
  FakeClock clock(Time(std::chrono::seconds(1790000000)));
  QueueOptions o;
  o.clock = &clock;
  WorkQueue q(o);
  q.AddAfter("c", 30s);
  q.AddAfter("a", 10s);
  q.AddAfter("b", 20s);
  q.AddAfter("b", 40s);  // a later time for a waiting key does not push it back
  q.AddAfter("d", 50s);
  q.AddAfter("d", 15s);  // an earlier one pulls it forward
  CHECK(q.WaitingLen() == 4);
  q.ReleaseDue();
  std::string k;
  CHECK_FALSE(q.GetFor(&k, 20ms));  // real time passed, the clock did not
  CHECK(q.WaitingLen() == 4);

  std::vector<std::string> order;
  for (int step = 0; step < 4; ++step) {
    clock.Advance(5s);
    q.ReleaseDue();
    while (q.Len() > 0) {
      REQUIRE(q.GetFor(&k, 1s));
      order.push_back(k);
      q.Done(k);
    }
  }
  // 20 s on: a (10 s), d (15 s) and b (20 s) are out; c (30 s) still waits.
  CHECK(order == std::vector<std::string>{"a", "d", "b"});
  CHECK(q.WaitingLen() == 1);
  clock.Advance(10s);
  q.ReleaseDue();
  CHECK(Next(q) == "c");
  q.Done("c");
  CHECK(q.WaitingLen() == 0);
}

TEST_CASE("Queue: rate-limited requeues wait their backoff on the injected clock", "[kube][queue]") {
  FakeClock clock(Time(std::chrono::seconds(1790000000)));
  QueueOptions o;
  o.clock = &clock;
  o.backoff = Backoff{1s, 1000s, 2.0, 0.0};
  WorkQueue q(o);
  std::string k;
  q.AddRateLimited("a");  // first failure: 1 s
  CHECK(q.Len() == 0);
  clock.Advance(1s);
  q.ReleaseDue();
  CHECK(Next(q) == "a");
  q.Done("a");

  q.AddRateLimited("a");  // second failure: 2 s
  clock.Advance(1s);
  q.ReleaseDue();
  CHECK(q.Len() == 0);
  CHECK(q.WaitingLen() == 1);
  clock.Advance(1s);
  q.ReleaseDue();
  REQUIRE(q.GetFor(&k, 1s));
  q.Done("a");

  q.Forget("a");  // success: back to 1 s
  q.AddRateLimited("a");
  clock.Advance(1s);
  q.ReleaseDue();
  CHECK(q.Len() == 1);
}
