// The expiry controller's memory on a real control plane: N Secrets of type
// kubernetes.io/tls (500 by default) of about K KiB each (100 by default: a
// certificate and padding, as a Secret with a large bundle would be), then
// `certguard run --controllers=expiry` as its own process. Measured once every
// certificate is in certguard's metrics: its peak resident memory (VmHWM, the
// first list and the sync), its resident memory then, and again after 3 s idle.
// The Secrets' total size is printed next to them: a list held whole in memory
// peaks above it. Prints a table, writes FILE (default bench/results/expiry.json)
// and exits 1 when the peak is over --max-peak-mib (default 0: no limit).
//
//   certguard_bench_expiry [--secrets N] [--kib K] [--cluster DIR] [--max-peak-mib M]
//                          [--out FILE]
//
// Without --cluster it starts its own plane with test/cluster/up.sh in a
// temporary directory and stops it at the end. $CERTGUARD_BIN picks the binary.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
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
#include "x509/pem.h"

using namespace std::chrono;
using nlohmann::json;
namespace kube = certguard::kube;
namespace res = certguard::kube::resources;
using namespace certguard::bench;

namespace {

using certguard::x509::pem::Base64;

// Series of certguard_certificate_expiry_days for Secrets of `ns`.
int SeriesOf(const std::string& page, const std::string& ns) {
  std::istringstream in(page);
  int n = 0;
  const std::string want = "namespace=\"" + ns + "\"";
  for (std::string line; std::getline(in, line);) {
    n += line.rfind("certguard_certificate_expiry_days{", 0) == 0 &&
         line.find(want) != std::string::npos &&
         line.find("source_kind=\"secret\"") != std::string::npos;
  }
  return n;
}

}  // namespace

static int Run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int n = 500, kib = 100;
  double max_peak = 0;
  std::string out = "bench/results/expiry.json", cluster_dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--secrets" && i + 1 < argc) {
      n = std::atoi(argv[++i]);
    } else if (a == "--kib" && i + 1 < argc) {
      kib = std::atoi(argv[++i]);
    } else if (a == "--cluster" && i + 1 < argc) {
      cluster_dir = argv[++i];
    } else if (a == "--max-peak-mib" && i + 1 < argc) {
      max_peak = std::atof(argv[++i]);
    } else if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: certguard_bench_expiry [--secrets N] [--kib K] [--cluster DIR] "
                   "[--max-peak-mib M] [--out FILE]\n");
      return 2;
    }
  }
  if (n < 1 || kib < 4 || kib > 900) Fail("--secrets must be positive, --kib in [4, 900]");
  const std::string scripts = std::string(CERTGUARD_SOURCE_DIR) + "/test/cluster/";

  bool own_plane = cluster_dir.empty();
  std::optional<OwnPlane> plane;
  if (own_plane) cluster_dir = plane.emplace(scripts, "certguard-bench-expiry").dir();

  kube::LoadOptions lo;
  lo.kubeconfig_flag = cluster_dir + "/admin.kubeconfig";
  auto cfg = kube::LoadClientConfig(lo);
  if (!cfg.ok()) Fail("kubeconfig: " + cfg.status().ToString());
  cfg->qps = 0;
  auto admin_r = kube::NewRestClient(*cfg);
  if (!admin_r.ok()) Fail(admin_r.status().ToString());
  kube::RestClient& admin = **admin_r;

  // TLS Secrets already there are listed too: say how many.
  kube::ListOptions tls;
  tls.field_selector = "type=kubernetes.io/tls";
  auto before = kube::ListAll(admin, res::kSecrets, "", tls);
  if (!before.ok()) Fail("listing TLS Secrets: " + before.status().ToString());
  const size_t others = before->items.size();
  before->items.clear();

  // Set-up: one namespace of N TLS Secrets, each a certificate plus padding
  // (random, so nothing compresses it away) to about K KiB of JSON.
  char idbuf[16];
  std::snprintf(idbuf, sizeof idbuf, "%04x", static_cast<unsigned>(getpid()) & 0xffff);
  const std::string ns = std::string("bench-expiry-") + idbuf;
  if (!admin.Create(res::kNamespaces, "",
                    {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}})
           .ok()) {
    Fail("namespace not created");
  }
  const std::string crt = certguard::testing::CertBuilder().Cn("bench-expiry").Pem();
  const size_t pad_raw = static_cast<size_t>(kib) * 1024 * 3 / 4;
  const auto setup_start = steady_clock::now();
  {
    std::atomic<int> next{0}, failed{0};
    auto work = [&](unsigned seed) {
      std::mt19937 gen(seed);
      std::string pad(pad_raw, '\0');
      for (int i; (i = next++) < n;) {
        for (auto& c : pad) c = static_cast<char>(gen());
        json secret = {{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"type", "kubernetes.io/tls"},
                       {"metadata", {{"name", "s-" + std::to_string(i)}, {"namespace", ns}}},
                       {"data",
                        {{"tls.crt", Base64(crt)},
                         {"tls.key", Base64("not read")},
                         {"padding", Base64(pad)}}}};
        if (!admin.Create(res::kSecrets, ns, secret).ok()) ++failed;
      }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < 4; ++t) threads.emplace_back(work, t + 1);
    for (auto& t : threads) t.join();
    if (failed) Fail(std::to_string(failed.load()) + " Secrets not created");
  }
  const double total_mib = double(n) * kib / 1024;
  std::printf("set-up: %d Secrets of %d KiB (%.0f MiB) in %.1f s\n", n, kib, total_mib,
              duration<double>(steady_clock::now() - setup_start).count());

  const int metrics_port = FreePort(), health_port = FreePort();
  const std::string log_path = cluster_dir + "/certguard-bench-expiry.log";
  const auto start = steady_clock::now();
  certguard::test::CertguardProcess cg(
      {"run", "--kubeconfig", cluster_dir + "/admin.kubeconfig", "--controllers", "expiry",
       "--leader-elect=false", "--metrics-bind-address",
       "127.0.0.1:" + std::to_string(metrics_port), "--health-bind-address",
       "127.0.0.1:" + std::to_string(health_port)},
      log_path);
  auto all_in = [&] {
    auto p = certguard::testing::HttpGet(metrics_port, "/metrics");
    return p.status == 200 && SeriesOf(p.body, ns) == n;
  };
  if (!WaitUntil(all_in, seconds(300), 100ms)) {
    Fail("certguard did not export every certificate in 5 minutes; log: " + log_path);
  }
  const double sync_s = duration<double>(steady_clock::now() - start).count();
  const Memory synced = MemoryOf(cg.pid());
  std::this_thread::sleep_for(3s);
  const Memory idle = MemoryOf(cg.pid());
  int stopped = cg.Stop();

  // Clean up a shared plane (its kube-controller-manager runs no namespace
  // controller: the Secrets are deleted one by one, then the namespace).
  if (!own_plane) {
    std::atomic<int> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i; (i = next++) < n;) {
          (void)admin.Delete(res::kSecrets, ns, "s-" + std::to_string(i));
        }
      });
    }
    for (auto& t : threads) t.join();
    (void)admin.Delete(res::kNamespaces, "", ns);
  }

  std::printf("\n%d TLS Secrets of %d KiB (%.0f MiB in all) and %zu others, "
              "certguard --controllers=expiry\n",
              n, kib, total_mib, others);
  std::printf("%-28s %10s\n", "", "MiB");
  std::printf("%-28s %10.1f\n", "peak resident (VmHWM)", idle.hwm_mib);
  std::printf("%-28s %10.1f\n", "resident when synced", synced.rss_mib);
  std::printf("%-28s %10.1f\n", "resident after 3 s idle", idle.rss_mib);
  std::printf("every certificate exported %.1f s after start; certguard exit %d\n", sync_s,
              stopped);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(out).parent_path(), ec);
  std::ofstream(out) << json{{"benchmark", "expiry"},
                             {"secrets", n},
                             {"secret_kib", kib},
                             {"secrets_total_mib", total_mib},
                             {"other_tls_secrets", others},
                             {"sync_seconds", sync_s},
                             {"rss_mib_peak", idle.hwm_mib},
                             {"rss_mib_synced", synced.rss_mib},
                             {"rss_mib_idle", idle.rss_mib}}
                            .dump(2)
                     << "\n";
  if (max_peak > 0 && idle.hwm_mib > max_peak) {
    std::fprintf(stderr, "certguard_bench_expiry: peak %.1f MiB over --max-peak-mib %.1f\n",
                 idle.hwm_mib, max_peak);
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) { return RunMain("certguard_bench_expiry", Run, argc, argv); }
