// `/metrics` of certguard next to x509-certificate-exporter on one real
// control plane: N Secrets of type kubernetes.io/tls (10,000 by default),
// each a leaf certificate of its own (ECDSA P-256, issued by one CA) and its
// key, spread over M namespaces; then each exporter in turn, never two at once:
//
//   certguard_bench_scrape --cluster DIR [--secrets N] [--namespaces M] [--scrapes K]
//       --exporter 'NAME=SHELL COMMAND' ...   # $METRICS_PORT and $PROBE_PORT are set for it
//       --unavailable 'NAME=WHY' ...          # reported, not run
//       --meta 'KEY=VALUE' ...                # e.g. date, machine, commit
//       [--out FILE] [--timeout S]
//
// For each: the time from its start until one scrape holds a series for every
// one of the N certificates (certguard_certificate_expiry_days for a name
// starting with "certguard", x509_cert_not_after for the others; the count
// must be exactly N or the run fails), its resident memory 3 s later (idle),
// then K scrapes one after the other, each the wall time of a GET of the whole
// page over a new connection: median and p99; then its peak resident memory
// (VmHWM: the first list, the sync and the scrapes). Prints a table, writes
// FILE (default bench/results/metrics.json) with the ratios certguard /
// exporter, and exits 1 when a run failed.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "support/http_get.h"
#include "support/pki.h"
#include "x509/pem.h"

using namespace std::chrono;
using Json = nlohmann::json;
namespace kube = certguard::kube;
namespace res = certguard::kube::resources;
namespace bench = certguard::bench;
using certguard::testing::CertBuilder;
using certguard::testing::HttpGet;
using certguard::testing::Key;
using certguard::x509::pem::Base64;

namespace {

constexpr const char* kNamespacePrefix = "bench-metrics-";

struct Options : bench::CompareArgs {
  int secrets = 10000;
  int namespaces = 100;
  int scrapes = 50;
};

Options ParseArgs(int argc, char** argv) {
  Options o;
  o.out = "bench/results/metrics.json";
  bench::ParseCompareArgs(argc, argv, "--exporter", o,
                          {{"--secrets", bench::IntFlag("--secrets", o.secrets, 1, 1000000)},
                           {"--namespaces", bench::IntFlag("--namespaces", o.namespaces, 1, 10000)},
                           {"--scrapes", bench::IntFlag("--scrapes", o.scrapes, 1, 100000)}});
  return o;
}

std::string Namespace(int i) { return kNamespacePrefix + std::to_string(i); }

// The series that stands for one certificate in each exporter's page.
std::string SeriesMetric(const std::string& name) {
  return name.rfind("certguard", 0) == 0 ? "certguard_certificate_expiry_days"
                                         : "x509_cert_not_after";
}

// Series of `metric` for the benchmark's Secrets in `page` (certguard labels
// them namespace="...", the exporter secret_namespace="...").
int CountSeries(const std::string& page, const std::string& metric) {
  const std::string head = metric + "{";
  const std::string ns = std::string("namespace=\"") + kNamespacePrefix;
  int n = 0;
  size_t pos = 0;
  while (pos < page.size()) {
    size_t end = page.find('\n', pos);
    if (end == std::string::npos) end = page.size();
    if (page.compare(pos, head.size(), head) == 0) {
      size_t ns_at = page.find(ns, pos);
      n += ns_at != std::string::npos && ns_at < end;
    }
    pos = end + 1;
  }
  return n;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::shared_ptr<kube::RestClient> Admin(const std::string& kubeconfig) {
  kube::LoadOptions lo;
  lo.kubeconfig_flag = kubeconfig;
  auto config = kube::LoadClientConfig(lo);
  if (!config.ok()) bench::Die(kubeconfig + ": " + config.status().ToString());
  config->qps = 0;  // the set-up is not what is measured
  auto client = kube::NewRestClient(*config);
  if (!client.ok()) bench::Die(client.status().ToString());
  return *client;
}

// The namespaces and Secrets, created by 8 threads; Secrets already there from
// an earlier run on the same plane are kept.
void MakeSecrets(kube::RestClient& admin, const Options& o) {
  const auto start = steady_clock::now();
  for (int i = 0; i < o.namespaces; ++i) {
    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", Namespace(i)}}}};
    auto c = admin.Create(res::kNamespaces, "", ns);
    if (!c.ok() && c.status().code() != certguard::Code::kAlreadyExists) {
      bench::Fail("namespace " + Namespace(i) + ": " + c.status().ToString());
    }
  }
  Key ca_key = Key::Ec();
  auto ca = CertBuilder().Cn("bench-metrics-ca").Key(ca_key).Ca().Build();
  std::atomic<int> next{0}, failed{0};
  auto work = [&] {
    for (int i; (i = next++) < o.secrets;) {
      Key key = Key::Ec();
      std::string name = "tls-" + std::to_string(i);
      std::string ns = Namespace(i % o.namespaces);
      std::string crt = CertBuilder()
                            .Cn(name + "." + ns + ".svc")
                            .Dns(name + "." + ns + ".svc")
                            .ExtKeyUsage("serverAuth")
                            .Key(key)
                            .IssuedBy(ca)
                            .Pem();
      Json secret = {{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"type", "kubernetes.io/tls"},
                     {"metadata", {{"name", name}, {"namespace", ns}}},
                     {"data", {{"tls.crt", Base64(crt)}, {"tls.key", Base64(key.PrivatePem())}}}};
      auto c = admin.Create(res::kSecrets, ns, secret);
      if (!c.ok() && c.status().code() != certguard::Code::kAlreadyExists) ++failed;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (failed) bench::Fail(std::to_string(failed.load()) + " Secrets not created");
  std::printf("set-up: %d TLS Secrets in %d namespaces in %.1f s\n", o.secrets, o.namespaces,
              bench::Seconds(steady_clock::now() - start));
}

Json RunExporter(const Options& o, const std::string& name, const std::string& command) {
  Json r = {{"name", name}, {"command", command}, {"status", "ok"}};
  const std::string metric = SeriesMetric(name);
  r["series_metric"] = metric;
  const int port = bench::FreePort(), probe_port = bench::FreePort();
  setenv("METRICS_PORT", std::to_string(port).c_str(), 1);
  setenv("PROBE_PORT", std::to_string(probe_port).c_str(), 1);
  const std::string log = o.cluster_dir + "/bench-metrics-" + name + ".log";
  std::printf("== %s (log %s)\n", name.c_str(), log.c_str());
  std::fflush(stdout);
  auto fail = [&](const std::string& why) {
    r["status"] = "failed";
    r["reason"] = why + "; log tail: " + bench::Tail(log, 600);
    std::printf("   failed: %s\n", why.c_str());
    return r;
  };

  const auto start = steady_clock::now();
  bench::Child child(command, log);
  int last_count = -1;
  bool synced = bench::WaitUntil(
      [&] {
        if (child.Ended()) return true;
        auto page = HttpGet(port, "/metrics");
        if (page.status == 200) last_count = CountSeries(page.body, metric);
        return last_count >= o.secrets;
      },
      seconds(o.timeout_seconds), milliseconds(250));
  const double sync_s = bench::Seconds(steady_clock::now() - start);
  if (auto code = child.Ended()) return fail("exited with " + std::to_string(*code));
  if (!synced) {
    return fail("not every certificate exported after " + std::to_string(o.timeout_seconds) +
                " s (" + std::to_string(last_count) + " series of " + metric + ")");
  }
  if (last_count != o.secrets) {
    return fail(std::to_string(last_count) + " series of " + metric + " for " +
                std::to_string(o.secrets) + " certificates");
  }
  r["sync_seconds"] = sync_s;
  std::this_thread::sleep_for(3s);
  r["rss_idle_mib"] = bench::MemoryOf(child.pid()).rss_mib;

  std::vector<double> ms;
  size_t bytes = 0;
  for (int i = 0; i < o.scrapes; ++i) {
    const auto t0 = steady_clock::now();
    auto page = HttpGet(port, "/metrics");
    ms.push_back(bench::Seconds(steady_clock::now() - t0) * 1000);
    if (page.status != 200)
      return fail("scrape " + std::to_string(i) + ": HTTP " + std::to_string(page.status));
    int n = CountSeries(page.body, metric);
    if (n != o.secrets) {
      return fail("scrape " + std::to_string(i) + ": " + std::to_string(n) + " series of " +
                  metric);
    }
    bytes = page.body.size();
  }
  const bench::Memory end = bench::MemoryOf(child.pid());
  r["series"] = o.secrets;
  r["scrapes"] = o.scrapes;
  r["page_bytes"] = bytes;
  r["scrape_p50_ms"] = Percentile(ms, 0.5);
  r["scrape_p99_ms"] = Percentile(ms, 0.99);
  r["rss_end_mib"] = end.rss_mib;
  r["rss_peak_mib"] = end.hwm_mib;
  child.Stop();
  std::printf(
      "   synced in %.1f s; scrape p50 %.1f ms, p99 %.1f ms (%zu bytes); RSS idle %.1f MiB, "
      "peak %.1f MiB\n",
      sync_s, r["scrape_p50_ms"].get<double>(), r["scrape_p99_ms"].get<double>(), bytes,
      r["rss_idle_mib"].get<double>(), end.hwm_mib);
  return r;
}

}  // namespace

static int Run(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options o = ParseArgs(argc, argv);
  auto admin = Admin(o.cluster_dir + "/admin.kubeconfig");
  MakeSecrets(*admin, o);

  Json results = bench::UnavailableResults(o);
  for (const auto& [name, command] : o.contenders) results.push_back(RunExporter(o, name, command));

  // Ratios certguard / the exporter (the first peer that ran fine): below 1
  // is better on every figure.
  const char* figures[] = {"sync_seconds", "scrape_p50_ms", "scrape_p99_ms", "rss_idle_mib",
                           "rss_peak_mib"};
  const Json* peer = nullptr;
  for (const auto& r : results) {
    if (!peer && r["name"].get<std::string>().rfind("certguard", 0) != 0 && r["status"] == "ok") {
      peer = &r;
    }
  }
  Json ratios = Json::object();
  if (peer) {
    ratios["against"] = (*peer)["name"];
    for (auto& r : results) {
      if (&r == peer || r["status"] != "ok") continue;
      Json rr = Json::object();
      for (const char* f : figures) rr[f] = r[f].get<double>() / (*peer)[f].get<double>();
      r["vs_exporter"] = rr;
    }
  }

  std::printf("\n%d TLS Secrets in %d namespaces, %d scrapes each\n", o.secrets, o.namespaces,
              o.scrapes);
  std::printf("%-28s %-11s %8s %10s %10s %9s %9s %9s\n", "exporter", "status", "sync s", "p50 ms",
              "p99 ms", "page KiB", "idle MiB", "peak MiB");
  bool failed = false;
  for (const auto& r : results) {
    std::string status = r["status"];
    Json kib = Json::object();
    if (r.contains("page_bytes")) kib["k"] = r["page_bytes"].get<double>() / 1024;
    std::printf("%-28s %-11s %8s %10s %10s %9s %9s %9s\n", r["name"].get<std::string>().c_str(),
                status.c_str(), bench::Fmt(r, "sync_seconds").c_str(),
                bench::Fmt(r, "scrape_p50_ms").c_str(), bench::Fmt(r, "scrape_p99_ms").c_str(),
                bench::Fmt(kib, "k", "%.0f").c_str(), bench::Fmt(r, "rss_idle_mib").c_str(),
                bench::Fmt(r, "rss_peak_mib").c_str());
    if (status == "failed") failed = true;
  }
  for (const auto& r : results) {
    if (r.contains("vs_exporter")) {
      const Json& v = r["vs_exporter"];
      std::printf("  %s / %s: sync %s, scrape p50 %s, p99 %s, RSS idle %s, peak %s\n",
                  r["name"].get<std::string>().c_str(),
                  ratios["against"].get<std::string>().c_str(),
                  bench::Fmt(v, "sync_seconds", "%.2f").c_str(),
                  bench::Fmt(v, "scrape_p50_ms", "%.2f").c_str(),
                  bench::Fmt(v, "scrape_p99_ms", "%.2f").c_str(),
                  bench::Fmt(v, "rss_idle_mib", "%.2f").c_str(),
                  bench::Fmt(v, "rss_peak_mib", "%.2f").c_str());
    }
  }
  bench::PrintReasons(results);

  Json out = {{"benchmark", "/metrics against x509-certificate-exporter"},
              {"meta", bench::MetaOf(o)},
              {"secrets", o.secrets},
              {"namespaces", o.namespaces},
              {"scrapes", o.scrapes},
              {"ratios_against", ratios.value("against", Json())},
              {"exporters", results}};
  bench::WriteResults(o.out, out);
  return failed ? 1 : 0;
}

int main(int argc, char** argv) { return bench::RunMain("certguard_bench_scrape", Run, argc, argv); }
