// kube-apiserver stopped and restarted under a running informer. Runs its own
// control plane (test/cluster/up.sh in a scratch directory) so that the
// shared one never goes away under other tests.
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "integration/kube_support.h"
#include "kube/informer.h"
#include "support/wait.h"

namespace certguard::test {
namespace {

using namespace std::chrono_literals;
namespace res = kube::resources;

const ApiWait WaitFor{50ms};

TEST_CASE("kube: kube-apiserver stopped and restarted mid-watch and the cache catches up",
          "[integration][kube]") {
  const Cluster& shared = RequireCluster();
  OwnCluster plane(shared.ScratchDir("kube-restart-plane"),
                   "CERTGUARD_TOOLS=" + ShellQuote(shared.Env("TOOLS_DIR")));

  auto client = AdminClient(plane.cluster(), true);
  const std::string ns = "kube-restart";
  EnsureNamespace(*client, ns);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(client->Create(res::kConfigMaps, ns, ConfigMapOf("r" + std::to_string(i), "0")).ok());
  }
  kube::InformerOptions o;
  o.ns = ns;
  o.retry_backoff = kube::Backoff{200ms, 2s, 2.0, 0.5};
  kube::Informer inf(*client, res::kConfigMaps, o);
  inf.Start();
  REQUIRE(inf.WaitForSync(20s));
  std::string why;
  REQUIRE(WaitFor([&] { return CacheMatchesServer(*client, inf, ns, "", &why); }, 10s));
  // A change made after the sync reaches the cache only through a watch: so the
  // first watch is open before the server goes away (synced means listed, and
  // the watch may not have been made yet).
  REQUIRE(client->Create(res::kConfigMaps, ns, ConfigMapOf("r-live", "0")).ok());
  REQUIRE(WaitFor([&] { return inf.store().Get(kube::MakeKey(ns, "r-live")) != nullptr; }, 10s));
  const uint64_t watches_before = inf.Stats().watches;
  REQUIRE(watches_before >= 1);

  // Stop kube-apiserver (keeping its command line), wait, start it again. On
  // SIGTERM it stops listening at once but keeps serving open watches until
  // its shutdown times out (20 s and more), still fed by etcd: so SIGKILL after
  // 5 s, and the stop fails unless the process is gone.
  auto stop = plane->Run(
      "d=\"$CERTGUARD_CLUSTER_DIR\"; pid=$(cat \"$d/run/kube-apiserver.pid\");"
      " tr '\\0' '\\n' < /proc/$pid/cmdline > \"$d/run/apiserver.args\";"
      " alive() { tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -q .; };"
      " kill -TERM $pid; for i in $(seq 50); do alive || break; sleep 0.1; done;"
      " if alive; then kill -KILL $pid; for i in $(seq 50); do alive || break; sleep 0.1; done; fi;"
      " ! alive || { echo \"kube-apiserver $pid still running\" >&2; exit 1; }");
  INFO(stop.err);
  REQUIRE(stop.ok());
  auto stopped_at = std::chrono::steady_clock::now();
  kube::HttpRequest readyz;
  readyz.path = "/readyz";
  readyz.timeout = 2s;
  CHECK_FALSE(client->Call(readyz).ok());  // really down
  std::this_thread::sleep_for(3s);         // the informer's reconnects fail meanwhile
  auto start = plane->Run(
      "d=\"$CERTGUARD_CLUSTER_DIR\"; mapfile -t args < \"$d/run/apiserver.args\";"
      " setsid \"${args[@]}\" </dev/null >>\"$d/logs/kube-apiserver.log\" 2>&1 &"
      " echo $! > \"$d/run/kube-apiserver.pid\"");
  INFO(start.err);
  REQUIRE(start.ok());
  REQUIRE(WaitFor(
      [&] {
        auto r = client->Call(readyz);
        return r.ok() && r->status == 200;
      },
      60s));
  auto back_at = std::chrono::steady_clock::now();

  // Changes after the restart reach the cache through the re-established watch.
  // (A write may meet a pooled connection the restart closed: retried like any
  // kUnavailable.)
  auto retried = [](const std::function<Status()>& fn) {
    Status s;
    for (int i = 0; i < 5; ++i) {
      s = fn();
      if (s.code() != Code::kUnavailable) break;
      std::this_thread::sleep_for(200ms);
    }
    return s;
  };
  Status patched = retried([&] {
    return client->Patch(res::kConfigMaps, ns, "r1", kube::PatchType::kMerge,
                         R"({"data":{"v":"1"}})").status();
  });
  INFO(patched.ToString());
  REQUIRE(patched.ok());
  REQUIRE(retried([&] { return client->Delete(res::kConfigMaps, ns, "r2"); }).ok());
  REQUIRE(retried([&] {
            return client->Create(res::kConfigMaps, ns, ConfigMapOf("r-new", "1")).status();
          }).ok());
  REQUIRE(WaitFor([&] { return CacheMatchesServer(*client, inf, ns, "", &why); }, 30s));
  auto caught_up = std::chrono::steady_clock::now();
  auto st = inf.Stats();
  // The watch open before the stop died with the server, so the changes above
  // can only have come through a new one. Whether a reconnect also failed first depends on timing
  // (the server may already listen again when the first reconnect is made).
  CHECK(st.watches > watches_before);
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  WARN("kube-apiserver down " << ms(back_at - stopped_at) << " ms; cache matched the server "
                              << ms(caught_up - back_at) << " ms after it was ready; informer: "
                              << st.watches << " watches, " << st.errors << " errors, "
                              << st.gone << " 410s, " << st.lists << " lists");
  inf.Stop();
}

}  // namespace
}  // namespace certguard::test
