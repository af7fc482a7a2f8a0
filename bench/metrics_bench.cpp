// /metrics with many certificates: the time to render the page (collect and
// serialize, as a scrape does) and the heap the inventory needs per 1,000
// certificates. Prints a table; exits 1 when a render takes over its budget.
//
//   certguard_bench_metrics [--certs N] [--scrapes N] [--budget-ms MS]
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "expiry/collector.h"
#include "expiry/inventory.h"
#include "metrics/endpoints.h"

using namespace std::chrono;
using namespace certguard::expiry;

namespace {

size_t HeapInUse() { return mallinfo2().uordblks; }

// CPU time of this thread: on a shared machine, wall time also counts other work.
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Realistic label values: a cluster's TLS Secrets, CA bundles and kubelet CSRs.
void Fill(Inventory& inv, int count, sys_seconds now) {
  for (int i = 0; i < count; ++i) {
    CertFacts f;
    std::string n = std::to_string(i);
    f.subject_cn = "service-" + n + ".namespace-" + std::to_string(i % 200) + ".svc";
    f.subject = "CN=" + f.subject_cn + ",O=example";
    f.issuer_cn = "cluster-issuer-" + std::to_string(i % 5);
    f.issuer = "CN=" + f.issuer_cn;
    char serial[41];
    std::snprintf(serial, sizeof(serial), "%08X%08X%08X%08X", i, i * 2654435761u, ~i, i ^ 0x5a5a);
    f.serial = serial;
    f.not_before = now - days{i % 365};
    f.not_after = now + days{(i % 400) - 10};
    f.is_ca = i % 10 == 0;
    if (i % 4 == 0) {
      inv.UpsertFacts({ObjectRef{SourceKind::kCsr, "", "csr-" + n}, "status.certificate"},
                      SourceCerts{"node-" + n, {f}});
    } else {
      inv.UpsertFacts({ObjectRef{SourceKind::kSecret, "namespace-" + std::to_string(i % 200),
                                 "tls-" + n},
                       "tls.crt"},
                      SourceCerts{"", {f}});
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int certs = 10000, scrapes = 20;
  double budget_ms = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--certs")) certs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--scrapes")) scrapes = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--budget-ms")) budget_ms = std::atof(argv[i + 1]);
  }
  if (certs <= 0 || scrapes <= 0) {
    std::fprintf(stderr, "usage: certguard_bench_metrics [--certs N] [--scrapes N] [--budget-ms MS]\n");
    return 2;
  }
  const sys_seconds now = floor<seconds>(system_clock::now());

  // Memory: the heap the inventory holds, measured around filling it.
  size_t before = HeapInUse();
  auto inventory = std::make_shared<Inventory>();
  Fill(*inventory, certs, now);
  size_t after = HeapInUse();
  double bytes_per_1000 = static_cast<double>(after - before) * 1000.0 / certs;

  certguard::metrics::Endpoints endpoints;
  endpoints.AddCollectable(std::make_shared<certguard::expiry::ExpiryCollector>(inventory));

  std::vector<double> wall, cpu;
  size_t page_bytes = 0, shown = 0;
  inventory->ForEach([&](const ObjectRef&, const std::string&, const std::string&,
                         const CertFacts&) { ++shown; });
  for (int i = 0; i < scrapes + 1; ++i) {
    auto start = steady_clock::now();
    double cpu_start = ThreadCpuMs();
    std::string page = endpoints.RenderMetrics();
    double cpu_ms = ThreadCpuMs() - cpu_start;
    double wall_ms = duration<double, std::milli>(steady_clock::now() - start).count();
    page_bytes = page.size();
    if (i == 0) continue;  // the first render warms the allocator
    wall.push_back(wall_ms);
    cpu.push_back(cpu_ms);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  double median = cpu[cpu.size() / 2];

  std::printf("%-44s %s\n", "BENCHMARK", "RESULT");
  std::printf("%-44s %d (%zu series per metric)\n", "certificates", certs, shown);
  std::printf("%-44s %.1f ms median, %.1f ms max of %d (budget %.0f ms)\n",
              "/metrics render, CPU time", median, cpu.back(), scrapes, budget_ms);
  std::printf("%-44s %.1f ms median, %.1f ms max\n", "/metrics render, wall time",
              wall[wall.size() / 2], wall.back());
  std::printf("%-44s %.1f MiB\n", "/metrics page size", page_bytes / 1048576.0);
  std::printf("%-44s %.0f KiB\n", "inventory heap per 1,000 certificates", bytes_per_1000 / 1024);
  if (median > budget_ms) {
    std::printf("FAIL: median render CPU time %.1f ms is over the %.0f ms budget\n", median,
                budget_ms);
    return 1;
  }
  return 0;
}
