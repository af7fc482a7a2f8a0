// One trust bundle reaching N labelled namespaces (2,000 by default) on a real
// control plane, certguard next to cert-manager's trust-manager v0.24.0, one
// after the other on the same plane and the same namespaces (each run's bundle
// and targets are deleted before the next):
//   certguard      `certguard run --controllers=trust`, its own process, at its
//                  defaults: no client-side limit, paced by the API server's
//                  Priority and Fairness (--qps, --burst set one);
//   trust-manager  a Bundle with the same source and namespace selector. It has
//                  no client rate limit flags: its client-go REST clients keep
//                  client-go's defaults, 5 QPS and burst 10 per API type;
//   certguard      again at trust-manager's limit (5 QPS, burst 10), the
//                  like-for-like row, with --peer-limit-run only: at 5 QPS it
//                  takes as long as trust-manager's run (about 13 minutes at
//                  2,000 namespaces), and make bench must stay under 30.
// Two windows each:
//   create  the bundle is created: a target is written in every namespace;
//   change  its source gains a CA: every target is updated.
// For each: the time until every namespace holds the bundle (the bench's own
// watch on the targets, parsed: the API server's view, not the controller's),
// the API requests made (kube-apiserver's apiserver_request_total over the
// resources either controller uses, after it has gone quiet, the bench's own
// requests taken out) and the floor a client limit sets for N writes,
// (N - burst) / qps (none without a limit). Also each process's resident memory (/proc/PID/status:
// VmRSS when ready and at the end, VmHWM). Prints a side-by-side table with the
// ratios certguard / trust-manager, writes FILE (default
// bench/results/trust.json) and exits 1 when a certguard window at a client
// limit takes over --max-ratio (1.25) times its floor.
//
//   certguard_bench_trust [--namespaces N] [--cluster DIR] [--qps Q] [--burst B]
//                         [--max-ratio R] [--out FILE] [--trust-manager BIN|none]
//                         [--peer-limit-run] [--meta KEY=VALUE]...
//
// trust-manager comes from hack/tools/build-peers.sh (built into the tool
// cache, its chart next to it) unless --trust-manager names a binary (with its
// chart in BIN_DIR/chart); its Bundle CRD is rendered from that chart with the
// tool cache's helm and applied at bench time. When it cannot be built or run,
// the table says why and certguard's runs still happen. Without --cluster the
// bench starts its own plane with test/cluster/up.sh in a temporary directory
// and stops it at the end (logs kept on failure).
#include <arpa/inet.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "bench_support.h"
#include "support/certguard_process.h"
#include "support/http_get.h"
#include "support/pki.h"
#include "x509/parse.h"

using namespace std::chrono;
using namespace certguard::bench;
using nlohmann::json;
namespace kube = certguard::kube;
namespace res = certguard::kube::resources;

namespace {

bool WaitUntil(const std::function<bool()>& cond, seconds limit, milliseconds every = 50ms) {
  return certguard::bench::WaitUntil(cond, limit, every);
}

// The resources certguard's trust controller and trust-manager use.
const std::set<std::string> kResources = {"configmaps", "trustbundles", "bundles",
                                          "events",     "namespaces",   "secrets"};

// trust-manager's Bundle API (trust.cert-manager.io/v1alpha1).
const kube::Resource kBundles{"trust.cert-manager.io", "v1alpha1", "bundles", "Bundle", false};
const char kTrustManagerVersion[] = "v0.24.0";
// client-go's defaults (rest.DefaultQPS, rest.DefaultBurst), which trust-manager keeps.
constexpr double kTrustManagerQps = 5.0;
constexpr int kTrustManagerBurst = 10;

// Thrown by Fail: caught in main (the plane is stopped) or, for trust-manager's
// run, recorded as the reason it did not run.
// apiserver_request_total summed by "VERB resource" over kResources.
std::map<std::string, double> ApiRequests(kube::RestClient& admin) {
  kube::HttpRequest req;
  req.path = "/metrics";
  auto r = admin.Call(req);
  if (!r.ok() || r->status != 200) Fail("GET /metrics of kube-apiserver failed");
  std::map<std::string, double> out;
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("apiserver_request_total{", 0) != 0) continue;
    std::string resource = PromLabel(line, "resource");
    if (!kResources.count(resource)) continue;
    out[PromLabel(line, "verb") + " " + resource] +=
        std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return out;
}

std::map<std::string, double> Diff(const std::map<std::string, double>& after,
                                   const std::map<std::string, double>& before) {
  std::map<std::string, double> d;
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    double n = v - (it == before.end() ? 0 : it->second);
    if (n > 0) d[k] = n;
  }
  return d;
}

double Sum(const std::map<std::string, double>& m) {
  double s = 0;
  for (const auto& [k, v] : m) s += v;
  return s;
}

std::string Breakdown(const std::map<std::string, double>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k + " " + std::to_string(int(v));
  return s;
}

// How many certificates each namespace's target holds: the ConfigMaps matching
// `selector`, listed and then watched (listed again whenever a watch ends) on
// its own thread, the PEM under `key` parsed. Counts its own requests so that a
// window can take them out.
class TargetTracker {
 public:
  TargetTracker(kube::RestClient& api, std::string selector, std::string key)
      : api_(api), selector_(std::move(selector)), key_(std::move(key)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~TargetTracker() {
    stop_ = true;
    cancel_.Cancel();
    thread_.join();
  }
  TargetTracker(const TargetTracker&) = delete;
  TargetTracker& operator=(const TargetTracker&) = delete;

  bool listed() const { return lists_ > 0; }
  // Namespaces whose target holds exactly `certificates`.
  int Holding(size_t certificates) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count_if(counts_.begin(), counts_.end(), [&](const auto& kv) {
      return kv.second == certificates;
    }));
  }
  // Requests of its own the API server has counted so far: "VERB resource" -> n.
  std::map<std::string, double> Requests() const {
    return {{"LIST configmaps", double(lists_.load())},
            {"WATCH configmaps", double(watches_ended_.load())}};
  }

 private:
  void Set(const json& cm) {
    const json& data = cm.value("data", json::object());
    size_t n = 0;
    if (auto it = data.find(key_); it != data.end() && it->is_string()) {
      n = certguard::x509::ParseBundle(it->get<std::string>()).certificates.size();
    }
    std::lock_guard<std::mutex> lock(mu_);
    counts_[cm["metadata"].value("namespace", "")] = n;
  }

  void Loop() {
    while (!stop_) {
      kube::ListOptions lo;
      lo.label_selector = selector_;
      auto l = kube::ListAll(api_, res::kConfigMaps, "", lo);
      if (!l.ok()) {
        std::this_thread::sleep_for(500ms);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        counts_.clear();
      }
      for (const auto& cm : l->items) Set(cm);
      lists_ += l->pages;
      kube::WatchOptions wo;
      wo.resource_version = l->resource_version;
      wo.label_selector = selector_;
      wo.timeout_seconds = 3600;
      std::string rv = l->resource_version;
      while (!stop_) {
        wo.resource_version = rv;
        auto st = api_.Watch(
            res::kConfigMaps, "", wo,
            [&](kube::WatchEvent&& e) {
              if (e.type == kube::EventType::kBookmark) {
                rv = e.object["metadata"].value("resourceVersion", rv);
                return true;
              }
              rv = e.object["metadata"].value("resourceVersion", rv);
              if (e.type == kube::EventType::kDeleted) {
                std::lock_guard<std::mutex> lock(mu_);
                counts_.erase(e.object["metadata"].value("namespace", ""));
              } else {
                Set(e.object);
              }
              return true;
            },
            cancel_);
        ++watches_ended_;
        if (!st.ok()) break;  // relist (410 or an error)
      }
    }
  }

  kube::RestClient& api_;
  const std::string selector_, key_;
  mutable std::mutex mu_;
  std::map<std::string, size_t> counts_;  // namespace -> certificates in its target
  std::atomic<bool> stop_{false};
  std::atomic<int> lists_{0}, watches_ended_{0};
  kube::CancelToken cancel_;
  std::thread thread_;
};

struct Window {
  std::string name;
  double seconds = 0;
  std::map<std::string, double> requests;
  double floor_seconds = 0;
  double ratio = 0;  // seconds / floor_seconds
};

struct RunResult {
  std::string name;  // "certguard", "trust-manager"
  std::string id;    // its bundle's name (its targets' too); its log is CLUSTER_DIR/ID.log
  double qps = 0;
  int burst = 0;
  bool ran = false;
  std::string why;  // when it did not run
  std::vector<Window> windows;
  Memory idle, end;
  int exit_code = 0;
  std::string log;

  std::string Limit() const {
    if (qps <= 0) return "no client limit";
    char b[64];
    std::snprintf(b, sizeof b, "%g QPS, burst %d", qps, burst);
    return b;
  }
  const Window* Find(const std::string& w) const {
    for (const auto& x : windows) {
      if (x.name == w) return &x;
    }
    return nullptr;
  }
};

// What every run shares.
struct Bench {
  kube::RestClient* admin = nullptr;
  std::string cluster_dir, label, src_ns, ca1, ca2;
  int n = 0;
  std::string trust_manager_bin;  // empty when unavailable
};

// The controller under test, as a child process.
struct Controller {
  std::unique_ptr<certguard::test::CertguardProcess> process;
  std::string bundle_kind;  // in messages
  kube::Resource bundles;
  json bundle;              // the object the create window creates
  std::string selector;     // its targets
};

std::string Fmt(double v, const char* f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

void DeleteAll(Bench& b, const std::string& selector) {
  kube::ListOptions lo;
  lo.label_selector = selector;
  auto l = kube::ListAll(*b.admin, res::kConfigMaps, "", lo);
  if (!l.ok()) Fail("listing targets to delete: " + l.status().ToString());
  std::atomic<size_t> next{0};
  std::atomic<int> failed{0};
  auto work = [&] {
    for (size_t i; (i = next++) < l->items.size();) {
      const json& m = l->items[i]["metadata"];
      auto st = b.admin->Delete(res::kConfigMaps, m.value("namespace", ""), m.value("name", ""));
      if (!st.ok() && st.code() != certguard::Code::kNotFound) ++failed;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (failed) Fail(std::to_string(failed.load()) + " targets not deleted");
}

// One controller through both windows, then its bundle and targets deleted.
RunResult RunOne(Bench& b, RunResult r, const std::function<Controller(const std::string&)>& start,
                 double max_wait_s) {
  const std::string name = r.id;
  // The source as the create window expects it (one CA), before the controller starts.
  {
    json patch = {{"data", {{"ca.crt", b.ca1}}}};
    if (!b.admin->Patch(res::kConfigMaps, b.src_ns, "ca", kube::PatchType::kMerge, patch.dump())
             .ok()) {
      Fail("resetting the source failed");
    }
  }
  Controller c = start(name);
  auto& proc = *c.process;
  std::this_thread::sleep_for(2s);  // settled after start-up
  r.idle = MemoryOf(proc.pid());
  TargetTracker tracker(*b.admin, c.selector, "ca.crt");
  if (!WaitUntil([&] { return tracker.listed(); }, seconds(60))) Fail("target watch not started");

  auto measure = [&](const std::string& window, const std::string& own,
                     const std::function<bool()>& act, size_t certificates) {
    Window w;
    w.name = window;
    // The floor assumes a full burst: let the token bucket refill first.
    if (r.qps > 0) std::this_thread::sleep_for(milliseconds(int(1000 * r.burst / r.qps)));
    std::this_thread::sleep_for(500ms);
    auto before = ApiRequests(*b.admin);
    auto own_before = tracker.Requests();
    auto t0 = steady_clock::now();
    if (!act()) Fail(window + ": the bench's write failed");
    bool died = false;
    if (!WaitUntil(
            [&] {
              died = !proc.running();
              return died || tracker.Holding(certificates) == b.n;
            },
            seconds(int(max_wait_s)), 20ms) ||
        died) {
      Fail(r.name + ", " + window + ": " +
           (died ? std::string("the process exited")
                 : std::to_string(tracker.Holding(certificates)) + " of " +
                       std::to_string(b.n) + " namespaces hold the bundle after " +
                       std::to_string(int(max_wait_s)) + " s") +
           "; log: " + r.log);
    }
    w.seconds = duration<double>(steady_clock::now() - t0).count();
    // Count in what follows the last target (the status write): wait until the
    // API server's counts stand still for 3 s (60 s at most).
    auto last = ApiRequests(*b.admin);
    auto still_since = steady_clock::now();
    for (auto give_up = steady_clock::now() + 60s;
         steady_clock::now() - still_since < 3s && steady_clock::now() < give_up;) {
      std::this_thread::sleep_for(500ms);
      auto now = ApiRequests(*b.admin);
      if (Sum(now) != Sum(last)) still_since = steady_clock::now();
      last = now;
    }
    w.requests = Diff(last, before);
    auto mine = Diff(tracker.Requests(), own_before);
    mine[own] += 1;
    for (const auto& [key, count] : mine) {
      if (auto it = w.requests.find(key); it != w.requests.end()) {
        it->second -= count;
        if (it->second <= 0) w.requests.erase(it);
      }
    }
    if (r.qps > 0) {
      w.floor_seconds = (b.n - r.burst) / r.qps;
      w.ratio = w.seconds / w.floor_seconds;
    }
    std::printf("  %s %s: %.1f s (%s), %.0f requests\n", r.name.c_str(), window.c_str(),
                w.seconds,
                w.floor_seconds > 0 ? ("floor " + Fmt(w.floor_seconds, "%.1f") + " s").c_str()
                                    : "no client limit",
                Sum(w.requests));
    r.windows.push_back(w);
  };

  measure(
      "create", "POST " + c.bundles.resource,
      [&] { return b.admin->Create(c.bundles, "", c.bundle).ok(); }, 1);
  measure(
      "change", "PATCH configmaps",
      [&] {
        json patch = {{"data", {{"ca.crt", b.ca1 + b.ca2}}}};
        return b.admin
            ->Patch(res::kConfigMaps, b.src_ns, "ca", kube::PatchType::kMerge, patch.dump())
            .ok();
      },
      2);
  r.end = MemoryOf(proc.pid());
  r.exit_code = proc.Stop();
  r.ran = true;
  // Clean for the next run: the bundle, then its targets.
  auto st = b.admin->Delete(c.bundles, "", name);
  if (!st.ok() && st.code() != certguard::Code::kNotFound) Fail("deleting " + name + " failed");
  DeleteAll(b, c.selector);
  return r;
}

struct Flags {
  int n = 2000;
  double qps = 0;  // certguard's default: no client-side limit (--kube-api-qps, --kube-api-burst)
  int burst = 0;
  double max_ratio = 1.25;
  bool peer_limit_run = false;
  std::string out = "bench/results/trust.json", cluster_dir, trust_manager;
  std::vector<std::pair<std::string, std::string>> meta;  // --meta KEY=VALUE, written as they are
};

// nullopt after printing the usage.
std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--namespaces" && i + 1 < argc) {
      f.n = std::atoi(argv[++i]);
    } else if (a == "--cluster" && i + 1 < argc) {
      f.cluster_dir = argv[++i];
    } else if (a == "--qps" && i + 1 < argc) {
      f.qps = std::atof(argv[++i]);
    } else if (a == "--burst" && i + 1 < argc) {
      f.burst = std::atoi(argv[++i]);
    } else if (a == "--max-ratio" && i + 1 < argc) {
      f.max_ratio = std::atof(argv[++i]);
    } else if (a == "--out" && i + 1 < argc) {
      f.out = argv[++i];
    } else if (a == "--trust-manager" && i + 1 < argc) {
      f.trust_manager = argv[++i];
    } else if (a == "--peer-limit-run") {
      f.peer_limit_run = true;
    } else if (a == "--meta" && i + 1 < argc) {
      f.meta.push_back(certguard::bench::SplitPair(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: certguard_bench_trust [--namespaces N] [--cluster DIR] [--qps Q] "
                   "[--burst B] [--max-ratio R] [--out FILE] [--trust-manager BIN|none] "
                   "[--peer-limit-run] [--meta KEY=VALUE]...\n");
      return std::nullopt;
    }
  }
  if (f.qps < 0) Fail("--qps must not be negative (0: no client limit)");
  if (f.qps > 0 && f.burst < 1) Fail("--burst must be positive with --qps");
  if (f.n <= std::max(f.burst, kTrustManagerBurst)) {
    Fail("--namespaces must be over the burst (" + std::to_string(f.burst) + ")");
  }
  return f;
}

// trust-manager's binary, or why there is none. Built (or found) before the
// plane starts, so that a slow first build stays out of the plane's life.
struct Peer {
  std::string bin, why;
};

Peer FindTrustManager(const std::string& flag, const std::string& source_dir) {
  Peer p;
  if (flag == "none") {
    p.why = "left out (--trust-manager none)";
  } else if (!flag.empty()) {
    p.bin = flag;
  } else {
    std::printf("building trust-manager %s (hack/tools/build-peers.sh trust-manager)\n",
                kTrustManagerVersion);
    int rc = 0;
    std::string line = Shell("bash " + Quote(source_dir + "/hack/tools/build-peers.sh") +
                                 " trust-manager",
                             &rc);
    std::istringstream in(line);
    std::string name, state, what;
    std::getline(in, name, '\t');
    std::getline(in, state, '\t');
    std::getline(in, what);
    if (name == "trust-manager" && state == "ok") {
      p.bin = what;
    } else {
      p.why = state == "unavailable" ? what : "hack/tools/build-peers.sh said: " + line;
    }
  }
  if (!p.bin.empty() && access(p.bin.c_str(), X_OK) != 0) {
    p.why = p.bin + " is not an executable";
    p.bin.clear();
  }
  return p;
}

// The TrustBundle CRD, and trust-manager's Bundle CRD rendered from its chart as
// `helm install` would (on failure, `peer` says why and loses its binary).
void InstallCrds(const std::string& env, const std::string& source_dir,
                 const std::string& cluster_dir, Peer& peer) {
  int rc = 0;
  const std::string crd = source_dir + "/crds/certguard.io_trustbundles.yaml";
  std::string log = Shell(env + "\"$KUBECTL\" apply --server-side -f " + Quote(crd) +
                              " && \"$KUBECTL\" wait --for condition=established " +
                              "--timeout=60s crd/trustbundles.certguard.io 2>&1",
                          &rc);
  if (rc != 0) Fail("installing the TrustBundle CRD failed:\n" + log);
  if (peer.bin.empty()) return;
  const std::string chart = std::filesystem::path(peer.bin).parent_path().string() + "/chart";
  const std::string rendered = cluster_dir + "/trust-manager-bundles-crd.yaml";
  log = Shell(
      env + ". " + Quote(source_dir + "/hack/tools/versions.sh") + "; \"$TOOLS_DIR/helm\" " +
          "template trust-manager " + Quote(chart) +
          " --kube-version \"${KUBERNETES_VERSION#v}\" --show-only " +
          "templates/crd-trust.cert-manager.io_bundles.yaml >" + Quote(rendered) +
          " 2>&1 || { cat " + Quote(rendered) + "; exit 1; }; \"$KUBECTL\" apply " +
          "--server-side -f " + Quote(rendered) + " 2>&1 && \"$KUBECTL\" wait --for " +
          "condition=established --timeout=60s crd/bundles.trust.cert-manager.io 2>&1",
      &rc);
  if (rc != 0) {
    peer.why = "installing its Bundle CRD from " + chart + " failed: " + log;
    peer.bin.clear();
  }
}

// Set-up: N labelled namespaces, each with the kube-root-ca.crt that
// kube-controller-manager publishes (awaited, so its writes stay out of the
// windows), and the source namespace with its CA. Returns the seconds it took.
double SetUp(Bench& b) {
  kube::RestClient& admin = *b.admin;
  const std::string& label = b.label;
  const int n = b.n;
  const auto setup_start = steady_clock::now();
  {
    std::atomic<int> next{0}, failed{0};
    auto work = [&] {
      for (int i; (i = next++) < n;) {
        json ns = {{"apiVersion", "v1"},
                   {"kind", "Namespace"},
                   {"metadata",
                    {{"name", label + "-" + std::to_string(i)}, {"labels", {{label, "on"}}}}}};
        if (!admin.Create(res::kNamespaces, "", ns).ok()) ++failed;
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) threads.emplace_back(work);
    for (auto& t : threads) t.join();
    if (failed) Fail(std::to_string(failed.load()) + " namespaces not created");
  }
  if (!admin.Create(res::kNamespaces, "",
                    {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", b.src_ns}}}})
           .ok() ||
      !admin.Create(res::kConfigMaps, b.src_ns,
                    {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", "ca"}, {"namespace", b.src_ns}}},
                     {"data", {{"ca.crt", b.ca1}}}})
           .ok()) {
    Fail("source not created");
  }
  auto published = [&] {
    kube::ListOptions o;
    o.field_selector = "metadata.name=kube-root-ca.crt";
    auto l = kube::ListAll(admin, res::kConfigMaps, "", o);
    if (!l.ok()) return false;
    int mine = 0;
    for (const auto& cm : l->items) {
      mine += cm["metadata"].value("namespace", "").rfind(label + "-", 0) == 0;
    }
    return mine == n + 1;
  };
  if (!WaitUntil(published, seconds(600), 1s)) Fail("kube-root-ca.crt not published everywhere");
  const double setup_s = duration<double>(steady_clock::now() - setup_start).count();
  std::printf("set-up: %d namespaces and their kube-root-ca.crt in %.1f s\n", n, setup_s);
  return setup_s;
}

json NamespaceSelector(const Bench& b) { return {{"matchLabels", {{b.label, "on"}}}}; }

// certguard, as deployed: its own process, at its default (qps 0) or a given
// client limit.
Controller StartCertguard(const Bench& b, double qps, int burst, const std::string& name) {
  Controller c;
  const int metrics_port = FreePort(), health_port = FreePort();
  const std::string log = b.cluster_dir + "/" + name + ".log";
  std::vector<std::string> args = {"run", "--kubeconfig", b.cluster_dir + "/admin.kubeconfig",
                                   "--controllers", "trust", "--leader-elect=false",
                                   "--metrics-bind-address",
                                   "127.0.0.1:" + std::to_string(metrics_port),
                                   "--health-bind-address",
                                   "127.0.0.1:" + std::to_string(health_port)};
  if (qps > 0) {
    args.insert(args.end(), {"--kube-api-qps", Fmt(qps, "%g"), "--kube-api-burst",
                             std::to_string(burst)});
  }
  c.process = std::make_unique<certguard::test::CertguardProcess>(std::move(args), log);
  if (!WaitUntil(
          [&] {
            return certguard::testing::HttpGet(health_port, "/readyz").status == 200 ||
                   !c.process->running();
          },
          seconds(120), 200ms) ||
      !c.process->running()) {
    Fail("certguard not ready; log: " + log);
  }
  c.bundles = res::kTrustBundles;
  c.bundle = {{"apiVersion", "certguard.io/v1alpha1"},
              {"kind", "TrustBundle"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"sources", json::array({{{"configMap",
                                           {{"namespace", b.src_ns},
                                            {"name", "ca"},
                                            {"key", "ca.crt"}}}}})},
                {"target", {{"configMap", {{"name", name}, {"key", "ca.crt"}}}}},
                {"namespaceSelector", NamespaceSelector(b)}}}};
  c.selector = "certguard.io/trustbundle=" + name;
  return c;
}

// trust-manager as its chart runs it, but: no leader election, its servers on
// 127.0.0.1 and its webhook served with a certificate minted here (not
// registered with the API server: the Bundles here are valid).
Controller StartTrustManager(const Bench& b, const std::string& bin, const std::string& name) {
  Controller c;
  const std::string tls = b.cluster_dir + "/trust-manager-tls";
  std::filesystem::create_directories(tls);
  auto cert = certguard::testing::CertBuilder().Cn("trust-manager").Ip("127.0.0.1").Build();
  std::ofstream(tls + "/tls.crt") << cert.pem;
  std::ofstream(tls + "/tls.key") << cert.key.PrivatePem();
  const int metrics_port = FreePort(), ready_port = FreePort(), webhook_port = FreePort();
  const std::string log = b.cluster_dir + "/" + name + ".log";
  c.process = std::make_unique<certguard::test::CertguardProcess>(
      bin,
      std::vector<std::string>{"--kubeconfig", b.cluster_dir + "/admin.kubeconfig",
                               "--leader-elect=false", "--trust-namespace", b.src_ns,
                               "--metrics-port", std::to_string(metrics_port),
                               "--readiness-probe-port", std::to_string(ready_port),
                               "--webhook-host", "127.0.0.1", "--webhook-port",
                               std::to_string(webhook_port), "--webhook-certificate-dir", tls},
      log);
  // Ready (its webhook serves), and its controller's caches synced.
  if (!WaitUntil(
          [&] {
            return !c.process->running() ||
                   (certguard::testing::HttpGet(ready_port, "/readyz").status == 200 &&
                    c.process->Log().find("\"Starting workers\" controller=bundles") !=
                        std::string::npos);
          },
          seconds(120), 200ms) ||
      !c.process->running()) {
    std::string tail = c.process->Log();
    if (tail.size() > 1500) tail = "..." + tail.substr(tail.size() - 1500);
    Fail((c.process->running()
              ? std::string("trust-manager not ready in 120 s")
              : "trust-manager exited (code " + std::to_string(c.process->Wait(0s)) +
                    ") before it was ready") +
         "; log " + log + ":\n" + tail);
  }
  c.bundles = kBundles;
  c.bundle = {{"apiVersion", "trust.cert-manager.io/v1alpha1"},
              {"kind", "Bundle"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"sources", json::array({{{"configMap", {{"name", "ca"}, {"key", "ca.crt"}}}}})},
                {"target",
                 {{"configMap", {{"key", "ca.crt"}}}, {"namespaceSelector", NamespaceSelector(b)}}}}}};
  c.selector = "trust.cert-manager.io/bundle=" + name;
  return c;
}

// The runs, one after the other: certguard at its defaults, trust-manager (when it
// can run), certguard at trust-manager's limit.
std::vector<RunResult> RunAll(Bench& b, const Flags& f, const Peer& peer) {
  auto max_wait = [&](double q, int bu) {
    return q > 0 ? std::max(1200.0, 3 * (b.n - bu) / q) : 1200.0;
  };
  auto plan = [&](std::string name, double q, int bu, const std::string& suffix) {
    RunResult r;
    r.name = std::move(name);
    r.qps = q;
    r.burst = bu;
    r.id = b.label + "-" + r.name + suffix;
    r.log = b.cluster_dir + "/" + r.id + ".log";
    return r;
  };
  auto certguard = [&b](double q, int bu) {
    return [&b, q, bu](const std::string& name) { return StartCertguard(b, q, bu, name); };
  };
  std::vector<RunResult> runs;
  std::printf("certguard, %s\n", f.qps > 0 ? ("at " + Fmt(f.qps, "%g") + " QPS, burst " +
                                              std::to_string(f.burst)).c_str()
                                            : "at its default: no client limit");
  runs.push_back(RunOne(b, plan("certguard", f.qps, f.burst, ""), certguard(f.qps, f.burst),
                        max_wait(f.qps, f.burst)));
  RunResult tm = plan("trust-manager", kTrustManagerQps, kTrustManagerBurst, "");
  if (peer.bin.empty()) {
    tm.why = peer.why;
    std::printf("trust-manager %s not run: %s\n", kTrustManagerVersion, peer.why.c_str());
  } else {
    std::printf("trust-manager %s (%s: client-go's defaults, no flag sets them)\n",
                kTrustManagerVersion, tm.Limit().c_str());
    try {
      tm = RunOne(
          b, tm, [&](const std::string& name) { return StartTrustManager(b, peer.bin, name); },
          max_wait(kTrustManagerQps, kTrustManagerBurst));
    } catch (const BenchError& e) {
      tm.why = e.what();
      std::printf("trust-manager failed: %s\n", tm.why.c_str());
      // Leave the plane clean for certguard's next run.
      (void)b.admin->Delete(kBundles, "", tm.id);
      DeleteAll(b, "trust.cert-manager.io/bundle=" + tm.id);
    }
  }
  runs.push_back(tm);
  if (f.peer_limit_run) {
    std::printf("certguard at trust-manager's limit, %g QPS, burst %d\n", kTrustManagerQps,
                kTrustManagerBurst);
    runs.push_back(RunOne(b, plan("certguard", kTrustManagerQps, kTrustManagerBurst, "-limit"),
                          certguard(kTrustManagerQps, kTrustManagerBurst),
                          max_wait(kTrustManagerQps, kTrustManagerBurst)));
  }
  return runs;
}

struct Ratios {
  json same = json::object();     // certguard at trust-manager's limit / trust-manager
  json by_default = json::object();  // certguard at its defaults / trust-manager
};

// The table: one column per run, then certguard / trust-manager.
Ratios PrintTable(const std::vector<RunResult>& runs, int n, double max_ratio) {
  const RunResult* same = nullptr;  // certguard at trust-manager's limit
  for (const auto& r : runs) {
    if (r.name == "certguard" && r.ran && r.qps == kTrustManagerQps &&
        r.burst == kTrustManagerBurst) {
      same = &r;
    }
  }
  const RunResult* deflt = &runs.front();
  const RunResult* peer = runs[1].ran ? &runs[1] : nullptr;
  struct Row {
    std::string label;
    std::function<std::optional<double>(const RunResult&)> get;
    const char* fmt;
    bool ratio = true;  // a floor is no measurement: no ratio
  };
  auto window_field = [](const std::string& w, int what) {
    return [w, what](const RunResult& r) -> std::optional<double> {
      const Window* x = r.Find(w);
      if (!x) return std::nullopt;
      if (what == 1 && x->floor_seconds <= 0) return std::nullopt;  // no client limit
      return what == 0 ? x->seconds : what == 1 ? x->floor_seconds : Sum(x->requests);
    };
  };
  auto memory = [](double Memory::*field, bool end) {
    return [field, end](const RunResult& r) -> std::optional<double> {
      if (!r.ran) return std::nullopt;
      return (end ? r.end : r.idle).*field;
    };
  };
  const std::vector<Row> rows = {
      {"create: seconds", window_field("create", 0), "%.1f"},
      {"create: floor (N-burst)/QPS s", window_field("create", 1), "%.1f", false},
      {"create: API requests", window_field("create", 2), "%.0f"},
      {"change: seconds", window_field("change", 0), "%.1f"},
      {"change: floor (N-burst)/QPS s", window_field("change", 1), "%.1f", false},
      {"change: API requests", window_field("change", 2), "%.0f"},
      {"RSS idle (ready) MiB", memory(&Memory::rss_mib, false), "%.1f"},
      {"RSS at the end MiB", memory(&Memory::rss_mib, true), "%.1f"},
      {"RSS peak (VmHWM) MiB", memory(&Memory::hwm_mib, true), "%.1f"},
  };
  auto ratio = [](const RunResult* a, const RunResult* p,
                  const Row& row) -> std::optional<double> {
    if (!a || !p || !row.ratio) return std::nullopt;
    auto x = row.get(*a), y = row.get(*p);
    if (!x || !y || *y == 0) return std::nullopt;
    return *x / *y;
  };
  std::printf("\nA bundle to %d namespaces on one plane, one run after the other\n", n);
  std::printf("%-30s", "");
  for (const auto& r : runs) std::printf(" %18s", r.name.c_str());
  std::printf(" %18s %18s\n", "cg/tm same limit", "cg default/tm");
  std::printf("%-30s", "client limit");
  for (const auto& r : runs) std::printf(" %18s", r.Limit().c_str());
  std::printf(" %18s %18s\n", "", "");
  Ratios ratios;
  for (const auto& row : rows) {
    std::printf("%-30s", row.label.c_str());
    for (const auto& r : runs) {
      auto v = row.get(r);
      std::printf(" %18s", v ? Fmt(*v, row.fmt).c_str() : (r.ran ? "-" : "not run"));
    }
    auto rs = ratio(same, peer, row), rd = ratio(deflt, peer, row);
    std::printf(" %18s %18s\n", rs ? Fmt(*rs, "%.2f").c_str() : "-",
                rd ? Fmt(*rd, "%.2f").c_str() : "-");
    if (rs) ratios.same[row.label] = *rs;
    if (rd) ratios.by_default[row.label] = *rd;
  }
  for (const auto& r : runs) {
    if (!r.ran) {
      std::printf("%s %s did not run: %s\n", r.name.c_str(), kTrustManagerVersion, r.why.c_str());
      continue;
    }
    for (const auto& w : r.windows) {
      std::printf("%s (%s), %s: %s\n", r.name.c_str(), r.Limit().c_str(), w.name.c_str(),
                  Breakdown(w.requests).c_str());
    }
  }
  std::printf("ratio columns: certguard / trust-manager %s (client-go's default limit, the same "
              "for certguard in \"same limit\"); floor = (namespaces - burst) / qps; certguard's "
              "goal at a client limit: seconds <= %.2f x floor\n",
              kTrustManagerVersion, max_ratio);
  return ratios;
}

// Writes the results to f.out; true when a certguard window took over
// --max-ratio times its floor.
bool WriteResults(const Flags& f, double setup_s, const std::vector<RunResult>& runs,
                  const Ratios& ratios) {
  bool over = false;
  json jruns = json::array();
  for (const auto& r : runs) {
    json jw = json::array();
    for (const auto& w : r.windows) {
      if (r.name == "certguard") over = over || w.ratio > f.max_ratio;
      json jwin = {{"window", w.name},
                   {"seconds", w.seconds},
                   {"api_requests", Sum(w.requests)},
                   {"api_requests_by_verb_resource", w.requests}};
      if (w.floor_seconds > 0) {  // a client limit
        jwin["qps_floor_seconds"] = w.floor_seconds;
        jwin["ratio"] = w.ratio;
      }
      jw.push_back(jwin);
    }
    json jr = {{"controller", r.name},
               {"qps", r.qps},
               {"burst", r.burst},
               {"ran", r.ran},
               {"status", r.ran ? "ok" : "unavailable"}};
    if (r.name == "trust-manager") jr["version"] = kTrustManagerVersion;
    if (r.ran) {
      jr["windows"] = jw;
      jr["rss_mib_idle"] = r.idle.rss_mib;
      jr["rss_mib_end"] = r.end.rss_mib;
      jr["rss_mib_peak"] = r.end.hwm_mib;
      jr["exit_code"] = r.exit_code;
    } else {
      jr["reason"] = r.why;
    }
    jruns.push_back(jr);
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(f.out).parent_path(), ec);
  json meta = json::object();
  for (const auto& [k, v] : f.meta) meta[k] = v;
  std::ofstream(f.out) << json{{"benchmark", "trust"},
                               {"meta", meta},
                               {"namespaces", f.n},
                               {"max_ratio", f.max_ratio},
                               {"setup_seconds", setup_s},
                               {"runs", jruns},
                               {"ratio_certguard_to_trust_manager_same_limit", ratios.same},
                               {"ratio_certguard_default_to_trust_manager", ratios.by_default}}
                              .dump(2)
                       << "\n";
  std::printf("wrote %s\n", f.out.c_str());
  return over;
}

}  // namespace

static int Run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines as they come
  std::optional<Flags> flags = ParseFlags(argc, argv);
  if (!flags) return 2;
  Flags& f = *flags;
  const std::string source_dir = CERTGUARD_SOURCE_DIR;
  const std::string scripts = source_dir + "/test/cluster/";
  Peer peer = FindTrustManager(f.trust_manager, source_dir);

  // The plane: its own one unless --cluster names one.
  std::optional<OwnPlane> plane;
  if (f.cluster_dir.empty()) f.cluster_dir = plane.emplace(scripts, "certguard-bench-trust").dir();
  InstallCrds("set -a; . " + Quote(f.cluster_dir + "/env") + "; ", source_dir, f.cluster_dir,
              peer);

  kube::LoadOptions lo;
  lo.kubeconfig_flag = f.cluster_dir + "/admin.kubeconfig";
  auto cfg = kube::LoadClientConfig(lo);
  if (!cfg.ok()) Fail("kubeconfig: " + cfg.status().ToString());
  cfg->qps = 0;  // set-up at full speed
  auto admin = kube::NewRestClient(*cfg);
  if (!admin.ok()) Fail(admin.status().ToString());

  char idbuf[16];
  std::snprintf(idbuf, sizeof idbuf, "%04x", static_cast<unsigned>(getpid()) & 0xffff);
  Bench b;
  b.admin = admin->get();
  b.cluster_dir = f.cluster_dir;
  b.label = std::string("bench-trust-") + idbuf;
  b.n = f.n;
  b.src_ns = b.label + "-src";
  b.ca1 = certguard::testing::CertBuilder().Cn("bench-ca-1").Ca().Pem();
  b.ca2 = certguard::testing::CertBuilder().Cn("bench-ca-2").Ca().Pem();
  const double setup_s = SetUp(b);

  const std::vector<RunResult> runs = RunAll(b, f, peer);
  const Ratios ratios = PrintTable(runs, f.n, f.max_ratio);
  if (WriteResults(f, setup_s, runs, ratios)) {
    std::fprintf(stderr, "certguard_bench_trust: a certguard window took over %.2fx its floor\n",
                 f.max_ratio);
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) { return RunMain("certguard_bench_trust", Run, argc, argv); }
