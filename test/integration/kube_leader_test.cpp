// Leader election between two processes on the real API server: one acts;
// killed with SIGKILL (no release), the other takes over once the lease runs out.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "integration/kube_support.h"
#include "kube/leader.h"

extern char** environ;

namespace certguard::test {
namespace {

using namespace std::chrono_literals;

long long NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* kLeaseName = "kube-leader-test";
constexpr auto kLeaseDuration = 4s;
constexpr auto kRenewDeadline = 3s;
constexpr auto kRetryPeriod = 500ms;

// Runs in a child process (started by the test below): elects, and while
// leading appends "act MS" to $KUBE_LEADER_OUT every 100 ms, until killed.
TEST_CASE("kube leader child", "[.kube-leader-child]") {
  const char* kubeconfig = std::getenv("KUBE_LEADER_KUBECONFIG");
  const char* id = std::getenv("KUBE_LEADER_ID");
  const char* out_path = std::getenv("KUBE_LEADER_OUT");
  REQUIRE(kubeconfig);
  REQUIRE(id);
  REQUIRE(out_path);
  auto client = KubeClientFor(KubeConfigFrom(kubeconfig));
  std::ofstream out(out_path, std::ios::app);
  std::mutex mu;
  auto note = [&](const std::string& what) {
    std::lock_guard<std::mutex> l(mu);
    out << what << " " << NowMs() << std::endl;
  };
  kube::LeaderElectionConfig cfg;
  cfg.lease_name = kLeaseName;
  cfg.lease_namespace = "default";
  cfg.identity = id;
  cfg.lease_duration = kLeaseDuration;
  cfg.renew_deadline = kRenewDeadline;
  cfg.retry_period = kRetryPeriod;
  REQUIRE(kube::Validate(cfg).ok());
  kube::LeaderElector elector(*client, cfg,
                              {[&] { note("started"); }, [&] { note("stopped"); }, nullptr});
  elector.Start();
  note("ready");
  for (;;) {
    if (elector.IsLeader()) note("act");
    std::this_thread::sleep_for(100ms);
  }
}

struct Child {
  pid_t pid = -1;
  std::string out;
};

Child Spawn(const std::string& id, const std::string& kubeconfig, const std::string& out) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("KUBE_LEADER_KUBECONFIG=" + kubeconfig);
  env_strings.push_back("KUBE_LEADER_ID=" + id);
  env_strings.push_back("KUBE_LEADER_OUT=" + out);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string self = "/proc/self/exe", filter = "[.kube-leader-child]";
  char* argv[] = {self.data(), filter.data(), nullptr};
  Child c;
  c.out = out;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  REQUIRE(posix_spawn(&c.pid, "/proc/self/exe", &fa, nullptr, argv, envp.data()) == 0);
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

// Lines "WHAT MS" of a child's log.
std::vector<std::pair<std::string, long long>> Log(const Child& c) {
  std::vector<std::pair<std::string, long long>> out;
  std::ifstream in(c.out);
  std::string what;
  long long ms;
  while (in >> what >> ms) out.emplace_back(what, ms);
  return out;
}

long long First(const Child& c, const std::string& what) {
  for (const auto& [w, ms] : Log(c)) {
    if (w == what) return ms;
  }
  return -1;
}

long long Last(const Child& c, const std::string& what) {
  long long last = -1;
  for (const auto& [w, ms] : Log(c)) {
    if (w == what) last = ms;
  }
  return last;
}

void Kill(Child& c) {
  if (c.pid > 0) {
    kill(c.pid, SIGKILL);
    waitpid(c.pid, nullptr, 0);
    c.pid = -1;
  }
}

TEST_CASE("kube: two processes elect one leader and the other takes over when it is killed",
          "[integration][kube]") {
  const Cluster& cluster = RequireCluster();
  auto admin = AdminClient(cluster);
  (void)admin->Delete(kube::resources::kLeases, "default", kLeaseName);
  const std::string work = cluster.ScratchDir("kube-leader");
  Child a = Spawn("replica-a", cluster.admin_kubeconfig(), work + "/a.log");
  struct Reap {
    Child& c;
    ~Reap() { Kill(c); }
  } reap_a{a};
  auto wait_for = [](const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end && !pred()) std::this_thread::sleep_for(50ms);
    return pred();
  };
  REQUIRE(wait_for([&] { return First(a, "act") > 0; }, 20s));
  Child b = Spawn("replica-b", cluster.admin_kubeconfig(), work + "/b.log");
  Reap reap_b{b};
  REQUIRE(wait_for([&] { return First(b, "ready") > 0; }, 20s));
  std::this_thread::sleep_for(3s);
  CHECK(First(b, "act") < 0);  // one acts, the other waits
  CHECK(First(b, "started") < 0);

  Kill(a);  // no release: the lease must run out
  long long killed = NowMs();
  long long a_last_act = Last(a, "act");
  REQUIRE(wait_for([&] { return First(b, "started") > 0; }, 20s));
  long long took = First(b, "started") - killed;
  REQUIRE(wait_for([&] { return First(b, "act") > 0; }, 5s));
  CHECK(First(b, "act") > a_last_act);  // never both at once
  CHECK(took <= std::chrono::milliseconds(kLeaseDuration + 2 * kRetryPeriod).count());
  CHECK(took >= std::chrono::milliseconds(kLeaseDuration - kRetryPeriod).count() - 1000);
  auto lease = admin->Get(kube::resources::kLeases, "default", kLeaseName);
  REQUIRE(lease.ok());
  CHECK((*lease)["spec"]["holderIdentity"] == "replica-b");
  CHECK((*lease)["spec"]["leaseTransitions"] == 1);
  WARN("leader killed; the other replica led " << took << " ms later (lease "
                                               << kLeaseDuration.count() << " s)");
  Kill(b);
}

}  // namespace
}  // namespace certguard::test
