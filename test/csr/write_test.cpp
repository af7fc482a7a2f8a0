#include "csr/write.h"

#include <catch2/catch.hpp>
#include <deque>
#include <string>

using namespace certguard;
using namespace certguard::csr;
using nlohmann::json;

namespace {

// Scripted answers for Update and Get; records what was sent.
class FakeClient : public kube::Client {
 public:
  std::deque<Result<json>> update_answers, get_answers;
  std::vector<json> updates;
  std::vector<std::string> update_subresources;
  int gets = 0;

  Result<json> Get(const kube::Resource&, const std::string&, const std::string&,
                   const std::string& = {}) override {
    ++gets;
    return Pop(get_answers);
  }
  Result<json> List(const kube::Resource&, const std::string&, const kube::ListOptions&) override {
    return Internal("not scripted");
  }
  Result<json> Create(const kube::Resource&, const std::string&, const json&,
                      const kube::WriteOptions& = {}) override {
    return Internal("not scripted");
  }
  Result<json> Update(const kube::Resource&, const std::string&, const json& object,
                      const std::string& subresource = {},
                      const kube::WriteOptions& = {}) override {
    updates.push_back(object);
    update_subresources.push_back(subresource);
    return Pop(update_answers);
  }
  Result<json> Patch(const kube::Resource&, const std::string&, const std::string&,
                     kube::PatchType, const std::string&, const kube::WriteOptions& = {},
                     const std::string& = {}) override {
    return Internal("not scripted");
  }
  Status Delete(const kube::Resource&, const std::string&, const std::string&,
                const kube::DeleteOptions& = {}) override {
    return Internal("not scripted");
  }
  Status Watch(const kube::Resource&, const std::string&, const kube::WatchOptions&,
               const kube::WatchEventFn&, kube::CancelToken&) override {
    return Internal("not scripted");
  }

 private:
  static Result<json> Pop(std::deque<Result<json>>& q) {
    if (q.empty()) return Internal("no scripted answer left");
    Result<json> r = std::move(q.front());
    q.pop_front();
    return r;
  }
};

json Pending(const std::string& rv) {
  return {{"metadata", {{"name", "csr-1"}, {"resourceVersion", rv}}},
          {"spec", {{"signerName", "kubernetes.io/kubelet-serving"}}},
          {"status", json::object()}};
}

Plan ApprovePlan() {
  Plan p;
  p.action = Plan::Action::kApprove;
  p.message = "policy default: ApprovedServing: ok";
  return p;
}

x509::Time Clock() { return x509::Time(std::chrono::seconds(1795000000)); }

}  // namespace

TEST_CASE("WriteDecision writes the condition through /approval", "[csr][write]") {
  FakeClient client;
  client.update_answers.push_back(json::object());
  int replans = 0;
  WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                [&](const json&) { ++replans; return ApprovePlan(); }, Clock);
  REQUIRE(r.status.ok());
  CHECK(r.written);
  CHECK(replans == 0);
  REQUIRE(client.updates.size() == 1);
  CHECK(client.update_subresources[0] == "approval");
  CHECK(client.updates[0]["metadata"]["resourceVersion"] == "7");
  CHECK(client.updates[0]["status"]["conditions"][0]["type"] == "Approved");
}

TEST_CASE("WriteDecision re-reads and decides again on a conflict", "[csr][write]") {
  FakeClient client;
  client.update_answers.push_back(Status(Code::kConflict, "the object has been modified"));
  client.update_answers.push_back(json::object());
  client.get_answers.push_back(Pending("8"));
  Plan deny;
  deny.action = Plan::Action::kDeny;
  deny.message = "policy p: X: y";
  WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                [&](const json& fresh) {
                                  CHECK(fresh["metadata"]["resourceVersion"] == "8");
                                  return deny;
                                },
                                Clock);
  REQUIRE(r.status.ok());
  CHECK(r.written);
  CHECK(r.plan.action == Plan::Action::kDeny);
  REQUIRE(client.updates.size() == 2);
  CHECK(client.updates[1]["metadata"]["resourceVersion"] == "8");
  CHECK(client.updates[1]["status"]["conditions"][0]["type"] == "Denied");
  CHECK(client.updates[1]["status"]["conditions"].size() == 1);
}

TEST_CASE("WriteDecision does not decide twice what someone else decided", "[csr][write]") {
  FakeClient client;
  client.update_answers.push_back(Status(Code::kConflict, "modified"));
  json approved = Pending("9");
  approved["status"]["conditions"] = json::array({{{"type", "Approved"}, {"status", "True"}}});
  client.get_answers.push_back(approved);
  Plan skip;
  skip.action = Plan::Action::kSkip;
  WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                [&](const json&) { return skip; }, Clock);
  CHECK(r.status.ok());
  CHECK_FALSE(r.written);
  CHECK(r.plan.action == Plan::Action::kSkip);
  CHECK(client.updates.size() == 1);
}

TEST_CASE("WriteDecision reports deletions, errors and endless conflicts", "[csr][write]") {
  SECTION("deleted") {
    FakeClient client;
    client.update_answers.push_back(NotFound("gone"));
    WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                  [](const json&) { return ApprovePlan(); }, Clock);
    CHECK(r.status.ok());
    CHECK_FALSE(r.written);
    CHECK(r.plan.action == Plan::Action::kSkip);
  }
  SECTION("forbidden") {
    FakeClient client;
    client.update_answers.push_back(Status(Code::kForbidden, "no approve on signer"));
    WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                  [](const json&) { return ApprovePlan(); }, Clock);
    CHECK(r.status.code() == Code::kForbidden);
    CHECK_FALSE(r.written);
  }
  SECTION("conflicts forever") {
    FakeClient client;
    for (int i = 0; i < 3; ++i) {
      client.update_answers.push_back(Status(Code::kConflict, "modified"));
      client.get_answers.push_back(Pending(std::to_string(10 + i)));
    }
    WriteResult r = WriteDecision(client, Pending("7"), ApprovePlan(),
                                  [](const json&) { return ApprovePlan(); }, Clock, 3);
    CHECK(r.status.code() == Code::kConflict);
    CHECK(client.updates.size() == 3);
  }
  SECTION("nothing to write") {
    FakeClient client;
    Plan ignore;
    ignore.action = Plan::Action::kIgnore;
    WriteResult r = WriteDecision(client, Pending("7"), ignore,
                                  [](const json&) { return ApprovePlan(); }, Clock);
    CHECK(r.status.ok());
    CHECK(client.updates.empty());
  }
}
