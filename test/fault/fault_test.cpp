// Fault tests: certguard approving a burst of kubelet serving CSRs while
// something breaks. Each test runs its own control plane (test/cluster/up.sh in
// a directory under the working directory), because it kills or reconfigures
// kube-apiserver, and its own `certguard run`. The burst mixes valid CSRs with
// attacks (a node asking for another node's IP). After each fault the test
// checks that nothing was wrongly approved, that no CSR is left undecided and
// that none was decided twice, and it records the recovery time (printed, and
// appended to fault_recovery.txt in the working directory).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "kube/config.h"
#include "support/certguard_process.h"
#include "support/cluster.h"
#include "support/pki.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using kube::Json;
namespace res = kube::resources;

constexpr const char* kLabel = "fault.certguard.io/test";

double Secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::shared_ptr<kube::RestClient> ClientFor(const std::string& kubeconfig) {
  kube::LoadOptions lo;
  lo.kubeconfig_flag = kubeconfig;
  auto config = kube::LoadClientConfig(lo);
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  config->qps = 0;
  config->request_timeout = 10s;
  auto client = kube::NewRestClient(*config);
  REQUIRE(client.ok());
  return *client;
}

// A private control plane with certguard's CRDs; stopped when the test ends.
class Plane {
 public:
  explicit Plane(const std::string& name)
      : own_((std::filesystem::current_path() / "fault-planes" / name).string()),
        cluster_(&own_.cluster()) {
    auto crds = cluster_->Kubectl("apply -f crds/ && kubectl wait --for condition=established "
                                  "--timeout=60s -f crds/");
    INFO(crds.err);
    REQUIRE(crds.ok());
    admin_ = ClientFor(cluster_->admin_kubeconfig());
  }

  const Cluster& cluster() const { return *cluster_; }
  kube::RestClient& admin() { return *admin_; }
  const std::string& dir() const { return cluster_->dir(); }

  // SIGKILLs kube-apiserver (its command line kept to start it again).
  void KillApiserver() {
    auto r = cluster_->Run(
        "d=\"$CERTGUARD_CLUSTER_DIR\"; pid=$(cat \"$d/run/kube-apiserver.pid\");"
        " tr '\\0' '\\n' < /proc/$pid/cmdline > \"$d/run/apiserver.args\";"
        " kill -KILL $pid; for i in $(seq 100); do kill -0 $pid 2>/dev/null || exit 0; sleep 0.1;"
        " done; exit 1");
    INFO(r.err);
    REQUIRE(r.ok());
  }
  // Starts kube-apiserver again with its old command line plus `extra` flags
  // (later flags win) and waits until it is ready.
  void StartApiserver(const std::string& extra = "") {
    auto r = cluster_->Run(
        "d=\"$CERTGUARD_CLUSTER_DIR\"; mapfile -t args < \"$d/run/apiserver.args\";"
        " setsid \"${args[@]}\" " + extra +
        " </dev/null >>\"$d/logs/kube-apiserver.log\" 2>&1 &"
        " echo $! > \"$d/run/kube-apiserver.pid\"");
    INFO(r.err);
    REQUIRE(r.ok());
    REQUIRE(WaitReady(90s));
  }
  bool WaitReady(std::chrono::seconds limit) {
    kube::HttpRequest readyz;
    readyz.path = "/readyz";
    readyz.timeout = 2s;
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      auto r = admin_->Call(readyz);
      if (r.ok() && r->status == 200) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

 private:
  OwnCluster own_;
  const Cluster* cluster_;
  std::shared_ptr<kube::RestClient> admin_;
};

struct Node {
  std::string name, ip;
  std::shared_ptr<kube::RestClient> client;  // the node's kubelet credentials
};

std::vector<Node> MakeNodes(const Plane& plane, const std::string& prefix, int count) {
  std::vector<Node> nodes(count);
  for (int i = 0; i < count; ++i) {
    Node& n = nodes[i];
    n.name = prefix + "-" + std::to_string(i);
    n.ip = "10.77." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    auto kc = plane.cluster().NodeIdentity(n.name, {"InternalIP=" + n.ip, "Hostname=" + n.name});
    INFO(kc.status().ToString());
    REQUIRE(kc.ok());
    n.client = ClientFor(*kc);
  }
  return nodes;
}

// A serving CSR from `requester` naming `node` with IP `ip`: valid when all three agree.
Json ServingCsr(const std::string& name, const std::string& node, const std::string& ip,
                const std::string& test) {
  std::string pem = testing::CsrBuilder()
                        .Subject({{"O", "system:nodes"}, {"CN", "system:node:" + node}})
                        .Dns(node)
                        .Ip(ip)
                        .Pem();
  const std::string b64 = certguard::testing::Base64(pem);
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", name}, {"labels", {{kLabel, test}}}}},
          {"spec",
           {{"request", b64},
            {"signerName", "kubernetes.io/kubelet-serving"},
            {"usages", {"digital signature", "server auth"}}}}};
}

// The CSRs of one test and what each must end as.
struct Burst {
  std::string test;
  std::vector<std::pair<Json, const Node*>> csrs;  // object, created by that node
  std::map<std::string, std::string> expected;     // name -> Approved | Denied
};

// `per_node` valid CSRs per node and, every third node, one attack: a CSR for
// the node's own name carrying the next node's IP.
Burst MakeBurst(const std::string& test, const std::vector<Node>& nodes, int per_node) {
  Burst b;
  b.test = test;
  for (int k = 0; k < per_node; ++k) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      std::string name = test + "-" + nodes[i].name + "-" + std::to_string(k);
      b.csrs.push_back({ServingCsr(name, nodes[i].name, nodes[i].ip, test), &nodes[i]});
      b.expected[name] = "Approved";
    }
  }
  for (size_t i = 0; i < nodes.size(); i += 3) {
    const Node& victim = nodes[(i + 1) % nodes.size()];
    std::string name = test + "-" + nodes[i].name + "-attack";
    b.csrs.push_back({ServingCsr(name, nodes[i].name, victim.ip, test), &nodes[i]});
    b.expected[name] = "Denied";
  }
  return b;
}

// Creates CSR `i` of the burst, retrying while the API server is away or throttling.
void Create(const Burst& b, size_t i) {
  const auto& [obj, node] = b.csrs[i];
  Status s;
  for (auto end = Clock::now() + 120s; Clock::now() < end;) {
    s = node->client->Create(res::kCertificateSigningRequests, "", obj).status();
    if (s.ok() || s.code() == Code::kAlreadyExists) return;
    if (s.code() != Code::kUnavailable && s.code() != Code::kTooManyRequests &&
        s.code() != Code::kDeadlineExceeded) {
      break;
    }
    std::this_thread::sleep_for(200ms);
  }
  FAIL("creating " << obj["metadata"]["name"] << ": " << s.ToString());
}

// The decision conditions ("Approved", "Denied", "Failed"; several if decided twice) of
// every CSR of the test; nullopt while the list fails.
std::optional<std::map<std::string, std::vector<std::string>>> Decisions(kube::Client& admin,
                                                                         const std::string& test) {
  kube::ListOptions lo;
  lo.label_selector = std::string(kLabel) + "=" + test;
  auto list = admin.List(res::kCertificateSigningRequests, "", lo);
  if (!list.ok()) return std::nullopt;
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& item : (*list)["items"]) {
    auto& conds = out[item["metadata"].value("name", "")];
    if (!item.contains("status") || !item["status"].contains("conditions")) continue;
    for (const auto& c : item["status"]["conditions"]) {
      std::string type = c.value("type", "");
      if (c.value("status", "") == "True" &&
          (type == "Approved" || type == "Denied" || type == "Failed")) {
        conds.push_back(type);
      }
    }
  }
  return out;
}

size_t CountDecided(const std::map<std::string, std::vector<std::string>>& d) {
  return std::count_if(d.begin(), d.end(), [](const auto& kv) { return !kv.second.empty(); });
}

// Waits until every CSR of the burst is decided (or `limit`), then checks each
// decision. Returns when the last one was seen decided. On a failure it shows the
// CSRs concerned and the tail of `log` (certguard's own), which CI keeps nowhere else.
Clock::time_point ExpectAllDecidedCorrectly(kube::Client& admin, const Burst& b,
                                            std::chrono::seconds limit,
                                            const CertguardProcess* log = nullptr) {
  std::map<std::string, std::vector<std::string>> d;
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (auto got = Decisions(admin, b.test)) {
      d = *got;
      if (d.size() == b.expected.size() && CountDecided(d) == b.expected.size()) break;
    }
    std::this_thread::sleep_for(200ms);
  }
  auto done = Clock::now();
  int wrongly_approved = 0, undecided = 0, wrong = 0, twice = 0;
  std::ostringstream why;
  for (const auto& [name, want] : b.expected) {
    auto it = d.find(name);
    if (it == d.end() || it->second.empty()) {
      ++undecided;
      why << "undecided: " << name << "\n";
      continue;
    }
    if (it->second.size() > 1) {
      ++twice;
      why << "decided more than once: " << name << "\n";
    }
    if (it->second.front() != want) {
      ++wrong;
      if (it->second.front() == "Approved") ++wrongly_approved;
      why << name << ": " << it->second.front() << ", expected " << want << "\n";
    }
  }
  std::string tail;
  if (log != nullptr && (undecided + wrong + twice) > 0) {
    constexpr size_t kTail = 20000;
    tail = log->Log();
    if (tail.size() > kTail) tail = "...\n" + tail.substr(tail.size() - kTail);
  }
  INFO(why.str());
  INFO("certguard's log (its tail, on a failure):\n" << tail);
  CHECK(wrongly_approved == 0);
  CHECK(undecided == 0);
  CHECK(wrong == 0);
  CHECK(twice == 0);
  return done;
}

// One figure of a test, e.g. Record("x", "all decided after the restart", 3.1, "s").
void Record(const std::string& test, const std::string& what, double value,
            const std::string& unit) {
  std::ofstream("fault_recovery.txt", std::ios::app) << test << ": " << what << " " << value
                                                     << " " << unit << "\n";
  WARN(test << ": " << what << " " << value << " " << unit);
}

// Starts `certguard run` (no leader election unless `extra` turns it on) and waits
// until its CSR controller runs, unless `wait` is false.
std::unique_ptr<CertguardProcess> StartCertguard(const Plane& plane, const std::string& log,
                                                 std::vector<std::string> extra = {},
                                                 bool wait = true) {
  std::vector<std::string> args = {"run",
                                   "--kubeconfig",
                                   plane.cluster().admin_kubeconfig(),
                                   "--leader-elect=false",
                                   "--controllers",
                                   "csr",
                                   "--metrics-bind-address",
                                   "0",
                                   "--health-bind-address",
                                   "0",
                                   // Many requests per node, each decided on its own.
                                   "--csr-superseded=off"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto cg = std::make_unique<CertguardProcess>(args, plane.dir() + "/" + log);
  if (wait) {
    INFO(cg->Log());
    REQUIRE(cg->WaitForLog("csr controller started", 60s));
  }
  return cg;
}

TEST_CASE("csr: kube-apiserver killed and restarted during a burst", "[fault]") {
  Plane plane("apiserver-kill");
  auto nodes = MakeNodes(plane, "ak", 10);
  auto cg = StartCertguard(plane, "certguard.log");
  Burst b = MakeBurst("apiserver-kill", nodes, 6);  // 60 valid, 4 attacks

  // Half of the burst, then the API server dies while certguard works through it.
  size_t half = b.csrs.size() / 2;
  for (size_t i = 0; i < half; ++i) Create(b, i);
  plane.KillApiserver();
  auto killed = Clock::now();
  std::this_thread::sleep_for(5s);  // certguard's calls and watches fail meanwhile
  plane.StartApiserver();
  auto back = Clock::now();
  for (size_t i = half; i < b.csrs.size(); ++i) Create(b, i);
  auto done = ExpectAllDecidedCorrectly(plane.admin(), b, 180s, cg.get());
  CHECK(cg->running());
  Record("apiserver-kill", "apiserver down", Secs(back - killed), "s");
  Record("apiserver-kill", "all decided after the restart", Secs(done - back), "s");
}

TEST_CASE("csr: certguard SIGKILLed in the middle of approvals, then restarted", "[fault]") {
  Plane plane("certguard-kill");
  auto nodes = MakeNodes(plane, "ck", 10);
  auto cg = StartCertguard(plane, "certguard-1.log");
  Burst b = MakeBurst("certguard-kill", nodes, 9);  // 90 valid, 4 attacks
  std::thread creator([&] {
    for (size_t i = 0; i < b.csrs.size(); ++i) Create(b, i);
  });
  // Kill it once it has decided some but not all (at 20 QPS a 104-CSR burst takes seconds).
  size_t decided_before = 0;
  auto end = Clock::now() + 60s;
  while (Clock::now() < end) {
    if (auto d = Decisions(plane.admin(), b.test)) {
      decided_before = CountDecided(*d);
      if (decided_before >= 15) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  cg->Kill();
  auto killed = Clock::now();
  creator.join();
  auto d = Decisions(plane.admin(), b.test);
  REQUIRE(d);
  size_t decided_at_kill = CountDecided(*d);
  INFO("decided when killed: " << decided_at_kill << " of " << b.expected.size());
  CHECK(decided_before >= 15);
  CHECK(decided_at_kill < b.expected.size());  // the kill really was mid-burst

  auto cg2 = StartCertguard(plane, "certguard-2.log");
  auto restarted = Clock::now();
  auto done = ExpectAllDecidedCorrectly(plane.admin(), b, 180s, cg2.get());
  Record("certguard-kill", "decided before SIGKILL", static_cast<double>(decided_at_kill), "CSRs");
  Record("certguard-kill", "restart to ready", Secs(restarted - killed), "s");
  Record("certguard-kill", "all decided after the restart", Secs(done - restarted), "s");
}

TEST_CASE("csr: the leader SIGKILLed mid-burst, the standby takes over", "[fault]") {
  Plane plane("leader-kill");
  auto nodes = MakeNodes(plane, "lk", 8);
  REQUIRE(plane.cluster().Kubectl("create namespace certguard").ok());
  std::vector<std::string> election = {"--leader-elect=true",
                                       "--leader-election-lease-duration",
                                       "4s",
                                       "--leader-election-renew-deadline",
                                       "3s",
                                       "--leader-election-retry-period",
                                       "1s"};
  auto leader = StartCertguard(plane, "certguard-a.log", election);
  auto standby = StartCertguard(plane, "certguard-b.log", election, false);
  INFO(standby->Log());
  REQUIRE(standby->WaitForLog("leader is another replica", 30s));
  CHECK(standby->Log().find("csr controller started") == std::string::npos);

  Burst b = MakeBurst("leader-kill", nodes, 8);  // 64 valid, 3 attacks
  std::thread creator([&] {
    for (size_t i = 0; i < b.csrs.size(); ++i) Create(b, i);
  });
  auto end = Clock::now() + 60s;
  size_t decided_before = 0;
  while (Clock::now() < end && decided_before < 10) {
    if (auto d = Decisions(plane.admin(), b.test)) decided_before = CountDecided(*d);
    std::this_thread::sleep_for(20ms);
  }
  leader->Kill();
  auto killed = Clock::now();
  creator.join();
  auto d = Decisions(plane.admin(), b.test);
  REQUIRE(d);
  size_t decided_at_kill = CountDecided(*d);
  CHECK(decided_before >= 10);
  CHECK(decided_at_kill < b.expected.size());  // the standby has work left

  INFO(standby->Log());
  REQUIRE(standby->WaitForLog("csr controller started", 60s));
  auto took_over = Clock::now();
  auto done = ExpectAllDecidedCorrectly(plane.admin(), b, 180s, standby.get());
  CHECK(standby->running());
  Record("leader-kill", "decided before SIGKILL", static_cast<double>(decided_at_kill), "CSRs");
  Record("leader-kill", "standby leading after (lease 4s)", Secs(took_over - killed), "s");
  Record("leader-kill", "all decided after the kill", Secs(done - killed), "s");
}

TEST_CASE("csr: a Node deleted while its serving CSR is pending", "[fault]") {
  Plane plane("node-deleted");
  auto nodes = MakeNodes(plane, "nd", 4);
  Burst b;
  b.test = "node-deleted";
  for (int k = 0; k < 2; ++k) {
    std::string name = "node-deleted-nd-0-" + std::to_string(k);
    b.csrs.push_back({ServingCsr(name, "nd-0", nodes[0].ip, b.test), &nodes[0]});
    b.expected[name] = "Denied";  // its Node is gone when it is decided
  }
  for (size_t i = 1; i < nodes.size(); ++i) {
    std::string name = "node-deleted-" + nodes[i].name;
    b.csrs.push_back({ServingCsr(name, nodes[i].name, nodes[i].ip, b.test), &nodes[i]});
    b.expected[name] = "Approved";
  }
  for (size_t i = 0; i < b.csrs.size(); ++i) Create(b, i);
  // One pending CSR per node at most: node nd-0's two CSRs, there before certguard
  // starts, are held (ApprovalPaused); the other nodes' single CSRs are approved.
  auto cg = StartCertguard(plane, "certguard.log",
                           {"--csr-max-pending-per-node", "1", "--csr-node-wait-timeout", "5s"});

  // nd-0's CSRs stay pending while the others are decided.
  std::this_thread::sleep_for(3s);
  auto d = Decisions(plane.admin(), b.test);
  REQUIRE(d);
  CHECK((*d)["node-deleted-nd-0-0"].empty());
  CHECK((*d)["node-deleted-nd-0-1"].empty());

  REQUIRE(plane.admin().Delete(res::kNodes, "", "nd-0").ok());
  auto deleted = Clock::now();
  auto done = ExpectAllDecidedCorrectly(plane.admin(), b, 120s, cg.get());
  Record("node-deleted", "pending CSRs of the deleted Node denied after", Secs(done - deleted),
         "s");
  auto explain = plane.cluster().Kubectl("get csr node-deleted-nd-0-0 -o "
                                         "jsonpath='{.status.conditions[0].message}'");
  INFO(explain.out);
  CHECK(explain.out.find("NodeNotFound") != std::string::npos);
}

TEST_CASE("csr: a throttled API server answering 429", "[fault]") {
  Plane plane("throttled");
  auto nodes = MakeNodes(plane, "th", 10);
  // No priority and fairness, one request in flight of each kind: the classic
  // max-in-flight filter answers 429 to everything beyond.
  plane.KillApiserver();
  plane.StartApiserver("--enable-priority-and-fairness=false --max-requests-inflight=1 "
                       "--max-mutating-requests-inflight=1");
  auto throttled_at = Clock::now();
  auto cg = StartCertguard(plane, "certguard.log");
  Burst b = MakeBurst("throttled", nodes, 5);  // 50 valid, 4 attacks
  std::vector<std::thread> creators;
  std::atomic<size_t> next{0};
  for (int t = 0; t < 4; ++t) {
    creators.emplace_back([&] {
      for (size_t i = next++; i < b.csrs.size(); i = next++) Create(b, i);
    });
  }
  for (auto& t : creators) t.join();
  auto done = ExpectAllDecidedCorrectly(plane.admin(), b, 180s, cg.get());
  CHECK(cg->running());

  // The server really throttled: its own count of 429 answers.
  kube::HttpRequest metrics;
  metrics.path = "/metrics";
  Result<kube::HttpResponse> m = Status(Code::kUnavailable, "not asked");
  for (int i = 0; i < 50 && !(m.ok() && m->status == 200); ++i) {
    m = plane.admin().Call(metrics);
    if (!(m.ok() && m->status == 200)) std::this_thread::sleep_for(200ms);
  }
  REQUIRE(m.ok());
  long throttled = 0;
  std::istringstream lines(m->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("apiserver_request_total{", 0) == 0 &&
        line.find("code=\"429\"") != std::string::npos) {
      throttled += std::stol(line.substr(line.rfind(' ') + 1));
    }
  }
  CHECK(throttled > 0);
  Record("throttled", "429 answers", static_cast<double>(throttled), "");
  Record("throttled", "burst created and all decided in", Secs(done - throttled_at), "s");
}

}  // namespace
}  // namespace certguard::test
