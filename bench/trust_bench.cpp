// One TrustBundle reaching N labelled namespaces (2,000 by default) on a real
// control plane, with `certguard run --controllers=trust` as its own process at
// its default client limits (20 QPS, burst 30; --qps, --burst). Two windows:
//   create  the TrustBundle is created: a target is written in every namespace;
//   change  its source gains a CA: every target is updated.
// For each: the time until certguard's own metrics say every target is synced
// (checked afterwards against the API server), the API requests certguard made
// (kube-apiserver's apiserver_request_total over the resources certguard uses,
// minus the bench's single write), and the time next to the floor the QPS limit
// sets for N writes ((N - burst) / qps). Also certguard's resident memory.
// Prints a table, writes FILE (default bench/results/trust.json) and exits 1
// when a window takes over --max-ratio (1.25) times that floor.
//
//   certguard_bench_trust [--namespaces N] [--cluster DIR] [--qps Q] [--burst B]
//                         [--max-ratio R] [--out FILE]
//
// Without --cluster it starts its own plane with test/cluster/up.sh in a
// temporary directory and stops it at the end (logs kept on failure).
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
#include "support/certguard_process.h"
#include "support/http_get.h"
#include "support/pki.h"
#include "x509/parse.h"

using namespace std::chrono;
using nlohmann::json;
namespace kube = certguard::kube;
namespace res = certguard::kube::resources;

namespace {

const std::set<std::string> kCertguardResources = {"configmaps", "trustbundles", "events",
                                                   "namespaces", "secrets"};

// Thrown by Fail and caught in main, so that certguard and the plane are stopped.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& why) { throw BenchError(why); }

std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) Fail("cannot run: " + cmd);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Fail("no free port");
  }
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// The value of the first series of `name` whose label text contains every `labels` item.
std::optional<double> Series(const std::string& page, const std::string& name,
                             const std::vector<std::string>& labels) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = std::all_of(labels.begin(), labels.end(),
                           [&](const std::string& l) { return line.find(l) != std::string::npos; });
    if (!all) continue;
    return std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return std::nullopt;
}

// apiserver_request_total summed by "VERB resource" over the resources certguard uses.
std::map<std::string, double> ApiRequests(kube::RestClient& admin) {
  kube::HttpRequest req;
  req.path = "/metrics";
  auto r = admin.Call(req);
  if (!r.ok() || r->status != 200) Fail("GET /metrics of kube-apiserver failed");
  std::map<std::string, double> out;
  std::istringstream in(r->body);
  auto label = [](const std::string& line, const std::string& key) {
    auto at = line.find("," + key + "=\"");
    if (at == std::string::npos) at = line.find("{" + key + "=\"");
    if (at == std::string::npos) return std::string();
    at += key.size() + 3;
    return line.substr(at, line.find('"', at) - at);
  };
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("apiserver_request_total{", 0) != 0) continue;
    std::string resource = label(line, "resource");
    if (!kCertguardResources.count(resource)) continue;
    out[label(line, "verb") + " " + resource] +=
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

struct Memory {
  double rss_mib = 0, hwm_mib = 0;
};
Memory MemoryOf(pid_t pid) {
  Memory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) m.rss_mib = std::atof(line.c_str() + 6) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) m.hwm_mib = std::atof(line.c_str() + 6) / 1024;
  }
  return m;
}

bool WaitUntil(const std::function<bool()>& cond, seconds limit, milliseconds every = 50ms) {
  auto end = steady_clock::now() + limit;
  while (steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(every);
  }
  return cond();
}

struct Window {
  std::string name;
  double seconds = 0;
  std::map<std::string, double> requests;
  double floor_seconds = 0;
  double ratio = 0;
};

}  // namespace

static int Run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines as they come
  int n = 2000;
  double qps = 20.0;  // certguard's default client limit (--kube-api-qps, --kube-api-burst)
  int burst = 30;
  double max_ratio = 1.25;
  std::string out = "bench/results/trust.json", cluster_dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--namespaces" && i + 1 < argc) {
      n = std::atoi(argv[++i]);
    } else if (a == "--cluster" && i + 1 < argc) {
      cluster_dir = argv[++i];
    } else if (a == "--qps" && i + 1 < argc) {
      qps = std::atof(argv[++i]);
    } else if (a == "--burst" && i + 1 < argc) {
      burst = std::atoi(argv[++i]);
    } else if (a == "--max-ratio" && i + 1 < argc) {
      max_ratio = std::atof(argv[++i]);
    } else if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: certguard_bench_trust [--namespaces N] [--cluster DIR] [--qps Q] "
                   "[--burst B] [--max-ratio R] [--out FILE]\n");
      return 2;
    }
  }
  if (qps <= 0 || burst < 1) Fail("--qps and --burst must be positive");
  if (n <= burst) Fail("--namespaces must be over the burst (" + std::to_string(burst) + ")");
  const std::string scripts = std::string(CERTGUARD_SOURCE_DIR) + "/test/cluster/";

  // The plane.
  bool own_plane = cluster_dir.empty();
  int rc = 0;
  if (own_plane) {
    char tmpl[] = "/tmp/certguard-bench-trust-XXXXXX";
    if (!mkdtemp(tmpl)) Fail("mkdtemp failed");
    cluster_dir = tmpl;
    std::printf("starting a control plane in %s\n", cluster_dir.c_str());
    std::string log = Shell(scripts + "up.sh " + Quote(cluster_dir) + " 2>&1", &rc);
    if (rc != 0) Fail("test/cluster/up.sh failed:\n" + log);
  }
  struct Down {
    bool own;
    std::string cmd;
    ~Down() {
      if (!own) return;
      int ignored = 0;
      Shell(cmd, &ignored);
    }
  } down{own_plane, scripts + "down.sh " + Quote(cluster_dir) + " >/dev/null 2>&1"};

  {
    const std::string crd =
        std::string(CERTGUARD_SOURCE_DIR) + "/crds/certguard.io_trustbundles.yaml";
    std::string log = Shell("set -a; . " + Quote(cluster_dir + "/env") +
                                "; \"$KUBECTL\" apply --server-side -f " + Quote(crd) +
                                " && \"$KUBECTL\" wait --for condition=established " +
                                "--timeout=60s crd/trustbundles.certguard.io 2>&1",
                            &rc);
    if (rc != 0) Fail("installing the TrustBundle CRD failed:\n" + log);
  }

  kube::LoadOptions lo;
  lo.kubeconfig_flag = cluster_dir + "/admin.kubeconfig";
  auto cfg = kube::LoadClientConfig(lo);
  if (!cfg.ok()) Fail("kubeconfig: " + cfg.status().ToString());
  cfg->qps = 0;  // set-up at full speed
  auto admin_r = kube::NewRestClient(*cfg);
  if (!admin_r.ok()) Fail(admin_r.status().ToString());
  kube::RestClient& admin = **admin_r;

  // Set-up: N labelled namespaces, each with the kube-root-ca.crt that
  // kube-controller-manager publishes (awaited, so its writes stay out of the windows).
  char idbuf[16];
  std::snprintf(idbuf, sizeof idbuf, "%04x", static_cast<unsigned>(getpid()) & 0xffff);
  const std::string id = idbuf;
  const std::string label = "bench-trust-" + id;
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
  const std::string src_ns = label + "-src";
  auto ca1 = certguard::testing::CertBuilder().Cn("bench-ca-1").Ca().Pem();
  auto ca2 = certguard::testing::CertBuilder().Cn("bench-ca-2").Ca().Pem();
  if (!admin.Create(res::kNamespaces, "",
                    {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", src_ns}}}})
           .ok() ||
      !admin.Create(res::kConfigMaps, src_ns,
                    {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", "ca"}, {"namespace", src_ns}}},
                     {"data", {{"ca.crt", ca1}}}})
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

  // certguard, as deployed: its own process, default client limits.
  const int metrics_port = FreePort(), health_port = FreePort();
  const std::string log_path = cluster_dir + "/certguard-bench.log";
  certguard::test::CertguardProcess cg(
      {"run", "--kubeconfig", cluster_dir + "/admin.kubeconfig", "--controllers", "trust",
       "--leader-elect=false", "--kube-api-qps", std::to_string(qps), "--kube-api-burst",
       std::to_string(burst), "--metrics-bind-address",
       "127.0.0.1:" + std::to_string(metrics_port), "--health-bind-address",
       "127.0.0.1:" + std::to_string(health_port)},
      log_path);
  if (!WaitUntil([&] { return certguard::testing::HttpGet(health_port, "/readyz").status == 200; },
                 seconds(120), 200ms)) {
    Fail("certguard not ready; log: " + log_path);
  }
  const Memory idle = MemoryOf(cg.pid());
  auto page = [&] { return certguard::testing::HttpGet(metrics_port, "/metrics").body; };
  auto synced = [&](double certificates) {
    std::string p = page();
    const std::string b = "bundle=\"" + label + "\"";
    return Series(p, "certguard_trustbundle_certificates", {b}) == certificates &&
           Series(p, "certguard_trustbundle_targets", {b, "state=\"synced\""}) == double(n) &&
           Series(p, "certguard_trustbundle_targets", {b, "state=\"outdated\""}) == 0.0 &&
           Series(p, "certguard_trustbundle_targets", {b, "state=\"failed\""}) == 0.0;
  };

  std::vector<Window> windows;
  // `own`: the bench's write that starts the window ("VERB resource"), not certguard's.
  auto measure = [&](const std::string& name, const std::string& own,
                     const std::function<bool()>& act, double certificates) {
    Window w;
    w.name = name;
    // The floor assumes a full burst: let certguard's token bucket refill first.
    std::this_thread::sleep_for(milliseconds(int(1000 * burst / qps) + 500));
    auto before = ApiRequests(admin);
    auto t0 = steady_clock::now();
    if (!act()) Fail(name + ": the bench's write failed");
    if (!WaitUntil([&] { return synced(certificates); }, seconds(1200))) {
      Fail(name + ": targets not synced in 20 minutes; log: " + log_path);
    }
    w.seconds = duration<double>(steady_clock::now() - t0).count();
    // The status write follows the metrics: count it in, then the bench's own requests out.
    int own_gets = 0;
    auto status_done = [&] {
      ++own_gets;
      auto b = admin.Get(res::kTrustBundles, "", label);
      if (!b.ok()) return false;
      json st = b->value("status", json::object());
      return st.value("certificates", 0) == certificates &&
             st.value("targets", json::object()).value("synced", -1) == n;
    };
    if (!WaitUntil(status_done, seconds(60), 100ms)) Fail(name + ": status not written");
    w.requests = Diff(ApiRequests(admin), before);
    const std::pair<std::string, int> mine[] = {{own, 1}, {"GET trustbundles", own_gets}};
    for (const auto& [key, count] : mine) {
      if (auto it = w.requests.find(key); it != w.requests.end()) {
        it->second -= count;
        if (it->second <= 0) w.requests.erase(it);
      }
    }
    w.floor_seconds = (n - burst) / qps;
    w.ratio = w.seconds / w.floor_seconds;
    windows.push_back(w);
  };

  json bundle = {{"apiVersion", "certguard.io/v1alpha1"},
                 {"kind", "TrustBundle"},
                 {"metadata", {{"name", label}}},
                 {"spec",
                  {{"sources", json::array({{{"configMap",
                                              {{"namespace", src_ns},
                                               {"name", "ca"},
                                               {"key", "ca.crt"}}}}})},
                   {"target", {{"configMap", {{"name", "bench-ca"}}}}},
                   {"namespaceSelector", {{"matchLabels", {{label, "on"}}}}}}}};
  measure(
      "create", "POST trustbundles",
      [&] { return admin.Create(res::kTrustBundles, "", bundle).ok(); }, 1);
  measure("change", "PATCH configmaps",
          [&] {
            json patch = {{"data", {{"ca.crt", ca1 + ca2}}}};
            return admin
                .Patch(res::kConfigMaps, src_ns, "ca", kube::PatchType::kMerge, patch.dump())
                .ok();
          },
          2);
  const Memory end = MemoryOf(cg.pid());

  // What certguard's metrics said, checked against the API server.
  kube::ListOptions lo2;
  lo2.label_selector = "certguard.io/trustbundle=" + label;
  auto targets = kube::ListAll(admin, res::kConfigMaps, "", lo2);
  if (!targets.ok()) Fail("listing targets: " + targets.status().ToString());
  int good = 0;
  for (const auto& cm : targets->items) {
    std::string pem = cm.value("data", json::object()).value("ca.crt", "");
    good += certguard::x509::ParseBundle(pem).certificates.size() == 2;
  }
  if (good != n) {
    Fail("certguard reported every target synced, but " + std::to_string(good) + " of " +
         std::to_string(n) + " hold the new bundle");
  }
  int stopped = cg.Stop();

  std::printf("\nTrustBundle to %d namespaces, certguard at %.0f QPS, burst %d\n", n, qps, burst);
  std::printf("%-8s %10s %10s %10s %7s  %s\n", "window", "seconds", "floor s", "requests",
              "ratio", "requests by verb and resource");
  bool over = false;
  json jw = json::array();
  for (const auto& w : windows) {
    std::printf("%-8s %10.1f %10.1f %10.0f %7.2f  %s\n", w.name.c_str(), w.seconds,
                w.floor_seconds, Sum(w.requests), w.ratio, Breakdown(w.requests).c_str());
    over = over || w.ratio > max_ratio;
    jw.push_back({{"window", w.name},
                  {"seconds", w.seconds},
                  {"qps_floor_seconds", w.floor_seconds},
                  {"ratio", w.ratio},
                  {"api_requests", Sum(w.requests)},
                  {"api_requests_by_verb_resource", w.requests}});
  }
  std::printf("certguard resident memory: %.1f MiB idle with %d namespaces cached, %.1f MiB at "
              "the end, %.1f MiB peak\n",
              idle.rss_mib, n, end.rss_mib, end.hwm_mib);
  std::printf("ratio = seconds / ((namespaces - burst) / qps) (goal <= %.2f); certguard exit %d\n",
              max_ratio, stopped);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ec);
  std::ofstream(out) << json{{"benchmark", "trust"},
                             {"namespaces", n},
                             {"qps", qps},
                             {"burst", burst},
                             {"max_ratio", max_ratio},
                             {"setup_seconds", setup_s},
                             {"windows", jw},
                             {"rss_mib_idle", idle.rss_mib},
                             {"rss_mib_end", end.rss_mib},
                             {"rss_mib_peak", end.hwm_mib}}
                            .dump(2)
                     << "\n";
  if (over) {
    std::fprintf(stderr, "certguard_bench_trust: a window took over %.2fx the QPS floor\n",
                 max_ratio);
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const BenchError& e) {
    std::fprintf(stderr, "certguard_bench_trust: %s\n", e.what());
    return 2;
  }
}
