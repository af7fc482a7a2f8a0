#include "csr/plan.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/csr_object.h"
#include "support/pki.h"
#include "x509/pem.h"

using namespace certguard::csr;
using namespace std::chrono;
using certguard::testing::KubeletServingCsr;
using nlohmann::json;

namespace {

certguard::x509::Time Now() {
  return sys_days(year_month_day{year(2026), month(11), day(24)}) + hours(6);
}

json ServingCsr(const std::string& node, const std::string& created,
                const std::string& ip = "10.0.0.11") {
  return KubeletServingCsr(node, ip).ResourceVersion("10").Created(created).Json();
}

NodeMap Nodes() {
  NodeFacts n;
  n.name = "worker-1";
  n.addresses = {{"InternalIP", "10.0.0.11"}, {"Hostname", "worker-1"}};
  n.ready_status = "True";
  return {{"worker-1", n}};
}

NodeLookup Lookup(const NodeMap& nodes) {
  return [&nodes](const std::string& name) -> const NodeFacts* {
    auto it = nodes.find(name);
    return it == nodes.end() ? nullptr : &it->second;
  };
}

const char* kRecent = "2026-11-24T05:59:30Z";  // 30 s before Now()

}  // namespace

TEST_CASE("MakePlan approves a serving CSR of a registered node", "[csr][plan]") {
  NodeMap nodes = Nodes();
  Plan p = MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {}, {}, Now(), {});
  INFO(p.message);
  CHECK(p.action == Plan::Action::kApprove);
  CHECK(p.decision.verdict == Verdict::kApprove);
  CHECK(p.decision.policy == "default");
  CHECK(p.requester == "system:node:worker-1");
  CHECK(p.signer_name == kServingSigner);
  CHECK(p.message.rfind("policy default: ApprovedServing: ", 0) == 0);
}

TEST_CASE("MakePlan waits for a missing Node, then refuses", "[csr][plan]") {
  NodeMap none;
  PlanOptions opts;
  opts.node_wait_timeout = minutes(10);
  Plan wait = MakePlan(ServingCsr("worker-2", kRecent), Lookup(none), {}, {}, Now(), opts);
  CHECK(wait.action == Plan::Action::kWaitForNode);
  CHECK(wait.requeue_after == seconds(30));
  CHECK(wait.note.find("waited 30s of 10m") != std::string::npos);

  Plan late = MakePlan(ServingCsr("worker-2", "2026-11-24T05:49:00Z"), Lookup(none), {}, {}, Now(),
                       opts);
  CHECK(late.action == Plan::Action::kDeny);
  bool node_not_found = false;
  for (const auto& r : late.decision.reasons) node_not_found |= r.code == "NodeNotFound";
  CHECK(node_not_found);
  CHECK(late.message.find("NodeNotFound") != std::string::npos);
}

TEST_CASE("MakePlan waits for the addresses of a Node registered without them", "[csr][plan]") {
  NodeMap nodes = Nodes();
  nodes["worker-1"].addresses.clear();
  Plan p = MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {}, {}, Now(), {});
  CHECK(p.action == Plan::Action::kWaitForNode);
  CHECK(p.note.find("no addresses") != std::string::npos);
  // Past the timeout it is refused for the address it names.
  Plan late = MakePlan(ServingCsr("worker-1", "2026-11-24T05:00:00Z"), Lookup(nodes), {}, {}, Now(), {});
  CHECK(late.action == Plan::Action::kDeny);
  CHECK(late.message.find("SANNotNodeAddress") != std::string::npos);
}

TEST_CASE("MakePlan waits for an address the Node does not list yet", "[csr][plan]") {
  NodeMap nodes = Nodes();
  // worker-1 lists 10.0.0.11; its CSR also names 10.9.9.9, which no Node lists (yet).
  PlanContext context;
  context.address_owners = [](const std::string&) { return std::vector<std::string>{}; };
  Plan p = MakePlan(ServingCsr("worker-1", kRecent, "10.9.9.9"), Lookup(nodes), {}, {}, Now(), {},
                    context);
  CHECK(p.action == Plan::Action::kWaitForNode);
  CHECK(p.note.rfind("its Node does not list every address it names yet; waited 30s", 0) == 0);
  CHECK(p.requeue_after == seconds(30));
  // Once the Node lists it, approved.
  nodes["worker-1"].addresses.push_back({"InternalIP", "10.9.9.9"});
  CHECK(MakePlan(ServingCsr("worker-1", kRecent, "10.9.9.9"), Lookup(nodes), {}, {}, Now(), {},
                 context)
            .action == Plan::Action::kApprove);
  // Never listed: refused at the timeout, for the address, saying why it stopped waiting.
  nodes = Nodes();
  Plan late = MakePlan(ServingCsr("worker-1", "2026-11-24T05:49:00Z", "10.9.9.9"), Lookup(nodes),
                       {}, {}, Now(), {}, context);
  CHECK(late.action == Plan::Action::kDeny);
  CHECK(late.message.find("SANNotNodeAddress: IP 10.9.9.9 is not an address of node worker-1") !=
        std::string::npos);
  CHECK(late.message.find("(--csr-node-wait-timeout 600s)") != std::string::npos);
}

TEST_CASE("MakePlan denies a request the Node cannot fix at once", "[csr][plan]") {
  NodeMap nodes = Nodes();
  // An IP another Node lists: refused without waiting, naming that Node.
  PlanContext context;
  context.address_owners = [](const std::string& key) {
    if (key == IpKey(certguard::x509::IpAddress::Parse("10.0.0.12").value())) {
      return std::vector<std::string>{"worker-2"};
    }
    if (key == IpKey(certguard::x509::IpAddress::Parse("10.0.0.11").value())) {
      return std::vector<std::string>{"worker-1"};
    }
    return std::vector<std::string>{};
  };
  Plan p = MakePlan(ServingCsr("worker-1", kRecent, "10.0.0.12"), Lookup(nodes), {}, {}, Now(), {},
                    context);
  CHECK(p.action == Plan::Action::kDeny);
  CHECK(p.message.find("SANNotNodeAddress") != std::string::npos);
  CHECK(p.message.find("(IP 10.0.0.12 is an address of node worker-2: not waiting for it)") !=
        std::string::npos);
  // A service address: refused without waiting.
  PlanOptions opts;
  opts.network = MakeClusterNetwork("cluster.local", {"10.96.0.0/12"}).value();
  Plan svc = MakePlan(ServingCsr("worker-1", kRecent, "10.96.0.1"), Lookup(nodes), {}, {}, Now(),
                      opts, context);
  CHECK(svc.action == Plan::Action::kDeny);
  CHECK(svc.message.find("SANServiceAddress") != std::string::npos);
  // A loopback address: refused without waiting.
  Plan lo = MakePlan(ServingCsr("worker-1", kRecent, "127.0.0.1"), Lookup(nodes), {}, {}, Now(), {});
  CHECK(lo.action == Plan::Action::kDeny);
}

TEST_CASE("MakePlan refuses an address two Nodes list, to either of them", "[csr][plan]") {
  // worker-1 lists 10.0.0.11; so does evil-1, which wrote it into its own Node status.
  NodeMap nodes = Nodes();
  NodeFacts evil;
  evil.name = "evil-1";
  evil.addresses = {{"InternalIP", "10.0.0.11"}, {"Hostname", "evil-1"}};
  evil.ready_status = "True";
  nodes["evil-1"] = evil;
  const std::string shared = IpKey(certguard::x509::IpAddress::Parse("10.0.0.11").value());
  PlanContext context;
  context.address_owners = [&](const std::string& key) {
    return key == shared ? std::vector<std::string>{"evil-1", "worker-1"} : std::vector<std::string>{};
  };
  for (const std::string node : {"worker-1", "evil-1"}) {
    json csr = ServingCsr(node, kRecent);
    Plan p = MakePlan(csr, Lookup(nodes), {}, {}, Now(), {}, context);
    INFO(p.message);
    CHECK(p.action == Plan::Action::kDeny);
    REQUIRE(p.decision.reasons.size() == 1);
    CHECK(p.decision.reasons[0].code == "SANAddressShared");
    CHECK(p.message.find("IP 10.0.0.11 is listed by node " + node) != std::string::npos);
  }
  // Once only worker-1 lists it, worker-1 is approved again.
  context.address_owners = [&](const std::string& key) {
    return key == shared ? std::vector<std::string>{"worker-1"} : std::vector<std::string>{};
  };
  CHECK(MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {}, {}, Now(), {}, context).action ==
        Plan::Action::kApprove);
}

TEST_CASE("MakePlan decides a superseded CSR as --csr-superseded says", "[csr][plan]") {
  NodeMap nodes = Nodes();
  PlanContext context;
  context.superseded_by = "csr-newer";
  Plan p = MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {}, {}, Now(), {}, context);
  CHECK(p.action == Plan::Action::kDeny);
  CHECK(p.decision.verdict == Verdict::kDeny);
  REQUIRE(p.decision.reasons.size() == 1);
  CHECK(p.decision.reasons[0].code == "Superseded");
  CHECK(p.message ==
        "Superseded: the newer CSR csr-newer of the same requester (system:node:worker-1), "
        "subject and signer supersedes it");
  PlanOptions leave;
  leave.superseded = SupersededAction::kLeave;
  Plan left = MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {}, {}, Now(), leave, context);
  CHECK(left.action == Plan::Action::kIgnore);
  CHECK(left.decision.reasons[0].code == "Superseded");
  // A decided CSR stays decided, superseded or not.
  json approved = ServingCsr("worker-1", kRecent);
  approved["status"]["conditions"] = json::array({{{"type", "Approved"}, {"status", "True"}}});
  CHECK(MakePlan(approved, Lookup(nodes), {}, {}, Now(), {}, context).action == Plan::Action::kSkip);
}

TEST_CASE("MakePlan leaves decided CSRs and other signers alone", "[csr][plan]") {
  NodeMap nodes = Nodes();
  json approved = ServingCsr("worker-1", kRecent);
  approved["status"]["conditions"] = json::array({{{"type", "Approved"}, {"status", "True"}}});
  Plan p = MakePlan(approved, Lookup(nodes), {}, {}, Now(), {});
  CHECK(p.action == Plan::Action::kSkip);
  CHECK(p.state == CsrState::kApproved);
  CHECK(p.note == "already Approved");

  json other = ServingCsr("worker-1", kRecent);
  other["spec"]["signerName"] = "example.com/signer";
  Plan o = MakePlan(other, Lookup(nodes), {}, {}, Now(), {});
  CHECK(o.action == Plan::Action::kSkip);
  CHECK(o.note.find("not a kubelet signer") != std::string::npos);

  Plan junk = MakePlan(json::array(), Lookup(nodes), {}, {}, Now(), {});
  CHECK(junk.action == Plan::Action::kSkip);
}

TEST_CASE("MakePlan holds approvals in a flood but still denies", "[csr][plan]") {
  NodeMap nodes = Nodes();
  PendingSummary flood;
  flood.total = 12;
  flood.per_requester["node:worker-1"] = 12;
  PlanOptions opts;
  opts.flood = {10, 500};
  Plan held = MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {}, flood, Now(), opts);
  CHECK(held.action == Plan::Action::kHoldForFlood);
  CHECK(held.flood.scope == "node");
  CHECK(held.requeue_after == opts.flood_recheck);

  Plan denied =
      MakePlan(ServingCsr("worker-1", kRecent, "127.0.0.1"), Lookup(nodes), {}, flood, Now(), opts);
  CHECK(denied.action == Plan::Action::kDeny);

  // Without limits nothing is held.
  opts.flood = {0, 0};
  CHECK(MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {}, flood, Now(), opts).action ==
        Plan::Action::kApprove);
}

TEST_CASE("MakePlan writes nothing for dry-run and ignoring policies", "[csr][plan]") {
  NodeMap nodes = Nodes();
  Policy audit = DefaultPolicy();
  audit.name = "audit";
  audit.dry_run = true;
  Plan dry = MakePlan(ServingCsr("worker-1", kRecent), Lookup(nodes), {audit}, {}, Now(), {});
  CHECK(dry.action == Plan::Action::kDryRun);
  CHECK(dry.decision.verdict == Verdict::kApprove);
  CHECK(dry.decision.policy == "audit");

  Policy lenient = DefaultPolicy();
  lenient.name = "lenient";
  lenient.on_refusal = OnRefusal::kIgnore;
  Plan ignored = MakePlan(ServingCsr("worker-1", kRecent, "10.9.9.9"), Lookup(nodes), {lenient}, {},
                          Now(), {});
  CHECK(ignored.action == Plan::Action::kIgnore);
  CHECK(ignored.message.rfind("policy lenient: ", 0) == 0);
}

TEST_CASE("DecisionMessage names the policy and every reason", "[csr][plan]") {
  Decision d;
  d.policy = "p";
  d.reasons = {{"A", "first"}, {"B", "second"}};
  CHECK(DecisionMessage(d) == "policy p: A: first; B: second");
  d.policy.clear();
  d.reasons = {{"NoApplicablePolicy", "none"}};
  CHECK(DecisionMessage(d) == "policy (none): NoApplicablePolicy: none");
}
