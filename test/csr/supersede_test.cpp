#include "csr/supersede.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <tuple>

#include "csr/pending.h"
#include "csr/policy.h"
#include "support/csr_object.h"
#include "support/pki.h"

using namespace certguard::csr;
using certguard::testing::Base64;
using certguard::testing::CsrBuilder;
using certguard::testing::CsrObject;
using certguard::testing::WithApproved;
using nlohmann::json;

namespace {

certguard::x509::Time At(int minute, int second = 0) {
  using namespace std::chrono;
  return sys_days(year_month_day{year(2026), month(11), day(24)}) + hours(5) + minutes(minute) +
         seconds(second);
}


// A kubelet CSR: `user` asks, for the subject CN `cn`.
json Csr(const std::string& name, const std::string& signer, const std::string& user,
         const std::string& cn, const std::string& created) {
  CsrBuilder b;
  b.Subject({{"O", "system:nodes"}, {"CN", cn}});
  if (signer == kServingSigner) b.Dns("worker-1");
  return CsrObject(name, signer)
      .Uid("uid-" + name)
      .Created(created)
      .Request(b.Pem())
      .Username(user)
      .Usages({"digital signature", "client auth"})
      .NoStatus()
      .Json();
}

CsrRequest Request(const json& csr) {
  auto r = RequestFromObject(csr);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("DuplicateGroup is signer, requester and subject CN", "[csr][supersede]") {
  const std::string node = "system:node:worker-1";
  std::string a = DuplicateGroup(Request(Csr("a", kClientSigner, node, node, "2026-11-24T05:00:00Z")));
  std::string b = DuplicateGroup(Request(Csr("b", kClientSigner, node, node, "2026-11-24T05:01:00Z")));
  CHECK_FALSE(a.empty());
  CHECK(a == b);
  // Another signer, another requester or another CN: another group.
  CHECK(DuplicateGroup(Request(Csr("c", kServingSigner, node, node, "2026-11-24T05:00:00Z"))) != a);
  CHECK(DuplicateGroup(Request(
            Csr("d", kClientSigner, "system:node:worker-2", node, "2026-11-24T05:00:00Z"))) != a);
  CHECK(DuplicateGroup(Request(Csr("e", kClientSigner, node, "system:node:worker-2",
                                   "2026-11-24T05:00:00Z"))) != a);
  // A bootstrap identity's retries for one node group together, apart from the node's own.
  std::string boot1 = DuplicateGroup(
      Request(Csr("f", kClientSigner, "system:bootstrap:abcdef", node, "2026-11-24T05:00:00Z")));
  std::string boot2 = DuplicateGroup(
      Request(Csr("g", kClientSigner, "system:bootstrap:abcdef", node, "2026-11-24T05:02:00Z")));
  CHECK(boot1 == boot2);
  CHECK(boot1 != a);
  CHECK(DuplicateGroup(Request(Csr("h", kClientSigner, "system:bootstrap:abcdef",
                                   "system:node:worker-2", "2026-11-24T05:02:00Z"))) != boot1);
}

TEST_CASE("DuplicateGroup is empty for what cannot be grouped", "[csr][supersede]") {
  const std::string node = "system:node:worker-1";
  CHECK(DuplicateGroup(Request(Csr("a", "example.com/other", node, node, "2026-11-24T05:00:00Z")))
            .empty());
  CHECK(DuplicateGroup(Request(Csr("b", kClientSigner, "", node, "2026-11-24T05:00:00Z"))).empty());
  json garbage = Csr("c", kClientSigner, node, node, "2026-11-24T05:00:00Z");
  garbage["spec"]["request"] = Base64("not a CSR");
  CHECK(DuplicateGroup(Request(garbage)).empty());
  // Two CNs: which one would be the subject is ambiguous.
  json two = Csr("d", kClientSigner, node, node, "2026-11-24T05:00:00Z");
  two["spec"]["request"] =
      Base64(CsrBuilder().Subject({{"CN", node}, {"CN", "system:node:worker-2"}}).Pem());
  CHECK(DuplicateGroup(Request(two)).empty());
}

TEST_CASE("NewestOf picks the latest creationTimestamp, then the greatest name",
          "[csr][supersede]") {
  CHECK_FALSE(NewestOf({}).has_value());
  CHECK(NewestOf({{"only", At(1)}}) == 0u);
  CHECK(NewestOf({{"csr-b", At(1)}, {"csr-a", At(3)}, {"csr-c", At(2)}}) == 1u);
  // The same second: the name decides, whatever the order given.
  CHECK(NewestOf({{"csr-b", At(3)}, {"csr-a", At(3)}}) == 0u);
  CHECK(NewestOf({{"csr-a", At(3)}, {"csr-b", At(3)}}) == 1u);
  // No creationTimestamp: older than any with one, even with a greater name.
  CHECK(NewestOf({{"csr-z", std::nullopt}, {"csr-a", At(0)}}) == 1u);
  CHECK(NewestOf({{"csr-a", std::nullopt}, {"csr-b", std::nullopt}}) == 1u);
  CHECK(IsNewer({"x", At(2)}, {"y", At(1)}));
  CHECK_FALSE(IsNewer({"x", At(1)}, {"x", At(1)}));  // not newer than itself
}

TEST_CASE("ParseSupersededAction reads deny and leave only", "[csr][supersede]") {
  CHECK(*ParseSupersededAction("deny") == SupersededAction::kDeny);
  CHECK(*ParseSupersededAction("leave") == SupersededAction::kLeave);
  CHECK(*ParseSupersededAction("off") == SupersededAction::kOff);
  for (const char* bad : {"", "Deny", "approve", "deny "}) {
    INFO(bad);
    CHECK_FALSE(ParseSupersededAction(bad).ok());
  }
}

TEST_CASE("PendingIndex names the newest CSR of a group and what it supersedes",
          "[csr][supersede]") {
  const std::string node = "system:node:worker-1";
  PendingIndex index;
  CHECK(index.Update("old", Csr("old", kClientSigner, node, node, "2026-11-24T05:00:00Z")).empty());
  CHECK(index.SupersededBy("old").empty());
  // A retry arrives: it supersedes the old one.
  auto superseded = index.Update("new", Csr("new", kClientSigner, node, node, "2026-11-24T05:05:00Z"));
  CHECK(superseded == std::vector<std::string>{"old"});
  CHECK(index.SupersededBy("old") == "new");
  CHECK(index.SupersededBy("new").empty());
  // An older one seen late supersedes nothing, and is superseded itself.
  CHECK(index.Update("older", Csr("older", kClientSigner, node, node, "2026-11-24T04:00:00Z")) ==
        std::vector<std::string>{"old", "older"});
  CHECK(index.SupersededBy("older") == "new");

  // Once the newest is decided it still supersedes the older pending ones.
  json decided = WithApproved(Csr("new", kClientSigner, node, node, "2026-11-24T05:05:00Z"));
  CHECK(index.Update("new", decided).empty());
  CHECK(index.SupersededBy("old") == "new");
  // Once it is deleted, the next newest leads.
  index.Remove("new");
  CHECK(index.SupersededBy("old").empty());
  CHECK(index.SupersededBy("older") == "old");
}

TEST_CASE("PendingIndex never groups CSRs of different requesters", "[csr][supersede]") {
  const std::string node = "system:node:worker-1";
  PendingIndex index;
  (void)index.Update("own", Csr("own", kClientSigner, node, node, "2026-11-24T05:00:00Z"));
  // Another identity asks later for the same node: the node's own request stands.
  CHECK(index.Update("boot", Csr("boot", kClientSigner, "system:bootstrap:abcdef", node,
                                 "2026-11-24T05:10:00Z"))
            .empty());
  CHECK(index.Update("other", Csr("other", kClientSigner, "system:node:worker-2", node,
                                  "2026-11-24T05:10:00Z"))
            .empty());
  CHECK(index.SupersededBy("own").empty());
  CHECK(index.SupersededBy("boot").empty());
  // Nor across signers.
  CHECK(index.Update("serving", Csr("serving", kServingSigner, node, node, "2026-11-24T05:20:00Z"))
            .empty());
  CHECK(index.SupersededBy("own").empty());
}

TEST_CASE("Superseded CSRs do not count against the flood guard", "[csr][supersede]") {
  const std::string node = "system:node:worker-1";
  PendingIndex index;
  for (int i = 0; i < 12; ++i) {
    std::string name = "csr-" + std::to_string(10 + i);
    (void)index.Update(name, Csr(name, kClientSigner, node, node,
                                 "2026-11-24T05:" + std::to_string(10 + i) + ":00Z"));
  }
  PendingSummary s = index.Summary(At(30));
  // The backlog shows all twelve; the flood guard sees one request of node worker-1.
  CHECK(s.per_signer[kClientSigner].pending == 12);
  CHECK(s.total == 1);
  CHECK(s.per_requester["node:worker-1"] == 1);
  CHECK_FALSE(CheckFlood(s, "node:worker-1", FloodLimits{10, 500}).hold);
  // Twelve requests of twelve different subjects are a flood all the same.
  PendingIndex distinct;
  for (int i = 0; i < 12; ++i) {
    std::string name = "csr-" + std::to_string(i);
    (void)distinct.Update(name, Csr(name, kClientSigner, node,
                                    "system:node:worker-" + std::to_string(i),
                                    "2026-11-24T05:10:00Z"));
  }
  PendingSummary d = distinct.Summary(At(30));
  CHECK(d.total == 12);
  CHECK(CheckFlood(d, "node:worker-1", FloodLimits{10, 500}).hold);
}

TEST_CASE("PendingIndex without grouping supersedes nothing and counts every CSR",
          "[csr][supersede]") {
  const std::string node = "system:node:worker-1";
  PendingIndex index(/*group_duplicates=*/false);
  (void)index.Update("a", Csr("a", kClientSigner, node, node, "2026-11-24T05:00:00Z"));
  CHECK(index.Update("b", Csr("b", kClientSigner, node, node, "2026-11-24T05:05:00Z")).empty());
  CHECK(index.SupersededBy("a").empty());
  PendingSummary s = index.Summary(At(30));
  CHECK(s.total == 2);
  CHECK(s.per_requester["node:worker-1"] == 2);
}

TEST_CASE("The flood guard's counts follow a group as its newest is decided, deleted and retried",
          "[csr][supersede]") {
  const std::string node = "system:node:worker-1";
  PendingIndex index;
  auto counts = [&] {
    PendingSummary s = index.Summary(At(30));
    return std::tuple(s.total, s.per_requester["node:worker-1"],
                      s.per_signer[kClientSigner].pending);
  };
  (void)index.Update("old", Csr("old", kClientSigner, node, node, "2026-11-24T05:00:00Z"));
  (void)index.Update("new", Csr("new", kClientSigner, node, node, "2026-11-24T05:05:00Z"));
  CHECK(counts() == std::tuple(1, 1, 2));  // the retry counts, the one it supersedes does not
  // The newest decided: it still supersedes the old one, which stays uncounted.
  (void)index.Update("new", WithApproved(Csr("new", kClientSigner, node, node,
                                             "2026-11-24T05:05:00Z")));
  CHECK(counts() == std::tuple(0, 0, 1));
  // Deleted: the old one leads its group again and counts.
  index.Remove("new");
  CHECK(counts() == std::tuple(1, 1, 1));
  // A retry seen again under the same key changes nothing; a newer one takes over.
  (void)index.Update("old", Csr("old", kClientSigner, node, node, "2026-11-24T05:00:00Z"));
  CHECK(counts() == std::tuple(1, 1, 1));
  (void)index.Update("next", Csr("next", kClientSigner, node, node, "2026-11-24T05:09:00Z"));
  CHECK(counts() == std::tuple(1, 1, 2));
  // The oldest pending one is still "old", created 05:00.
  CHECK(index.Summary(At(30)).per_signer[kClientSigner].oldest_age_seconds == 30 * 60);
  // Another signer's request: taken out of every count and out of its group.
  (void)index.Update("next", Csr("next", "example.com/other", node, node, "2026-11-24T05:09:00Z"));
  index.Remove("old");
  CHECK(counts() == std::tuple(0, 0, 0));
  CHECK(index.Summary(At(30)).per_requester.count("node:worker-1") == 0);
}
