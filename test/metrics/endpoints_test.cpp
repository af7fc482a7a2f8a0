#include "metrics/endpoints.h"

#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <vector>

#include "expiry/collector.h"
#include "metrics/operator_metrics.h"
#include "support/http_get.h"

using certguard::Code;
using certguard::Status;
using certguard::metrics::Endpoints;
using certguard::metrics::OperatorMetrics;
using certguard::testing::HttpGet;

namespace {

// A collectable whose value changes between scrapes, as the expiry collector's does.
class Counting : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family{"test_scrapes", "scrapes so far", prometheus::MetricType::Gauge,
                                    {}};
    prometheus::ClientMetric m;
    m.gauge.value = static_cast<double>(++scrapes_);
    family.metric.push_back(m);
    return {family};
  }

 private:
  mutable std::atomic<int> scrapes_{0};
};

}  // namespace

TEST_CASE("Endpoints render the registry and collectables", "[metrics]") {
  Endpoints endpoints;
  OperatorMetrics op(endpoints.registry(), "1.2.3", "abc");
  endpoints.AddCollectable(std::make_shared<Counting>());

  std::string text = endpoints.RenderMetrics();
  CHECK(text.find("certguard_build_info{git_commit=\"abc\",version=\"1.2.3\"} 1") !=
        std::string::npos);
  CHECK(text.find("certguard_leader 0") != std::string::npos);
  CHECK(text.find("test_scrapes 1") != std::string::npos);

  op.SetLeader(true);
  text = endpoints.RenderMetrics();
  CHECK(text.find("certguard_leader 1") != std::string::npos);
  CHECK(text.find("test_scrapes 2") != std::string::npos);
}

TEST_CASE("Readyz reports every check and fails on any", "[metrics]") {
  Endpoints endpoints;
  CHECK(endpoints.Readyz(false).status == 200);  // no checks: ready

  std::atomic<bool> synced{false};
  endpoints.AddReadinessCheck("informers-synced", [&] {
    return synced ? Status::Ok() : certguard::Unavailable("secrets not synced");
  });
  endpoints.AddReadinessCheck("leader-known", [] { return Status::Ok(); });

  auto not_ready = endpoints.Readyz(false);
  CHECK(not_ready.status == 503);
  CHECK(not_ready.body ==
        "[-]informers-synced failed: secrets not synced\n[+]leader-known ok\nreadyz check failed\n");

  synced = true;
  CHECK(endpoints.Readyz(false).body == "ok\n");
  auto verbose = endpoints.Readyz(true);
  CHECK(verbose.status == 200);
  CHECK(verbose.body == "[+]informers-synced ok\n[+]leader-known ok\nreadyz check passed\n");
}

TEST_CASE("Endpoints serve /metrics, /healthz and /readyz over HTTP", "[metrics]") {
  Endpoints endpoints;
  OperatorMetrics op(endpoints.registry(), "1.2.3", "abc");
  std::atomic<bool> ready{false};
  endpoints.AddReadinessCheck("caches", [&] {
    return ready ? Status::Ok() : certguard::Unavailable("not synced");
  });
  REQUIRE(endpoints.Start({"127.0.0.1:0", "127.0.0.1:0"}).ok());
  REQUIRE(endpoints.metrics_port() > 0);
  REQUIRE(endpoints.health_port() > 0);
  REQUIRE(endpoints.metrics_port() != endpoints.health_port());

  auto metrics = HttpGet(endpoints.metrics_port(), "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.headers.find("text/plain; version=0.0.4") != std::string::npos);
  CHECK(metrics.body.find("certguard_build_info{") != std::string::npos);
  // Each address serves only its own paths.
  CHECK(HttpGet(endpoints.metrics_port(), "/healthz").status == 404);
  CHECK(HttpGet(endpoints.health_port(), "/metrics").status == 404);

  CHECK(HttpGet(endpoints.health_port(), "/healthz").body == "ok\n");
  CHECK(HttpGet(endpoints.health_port(), "/readyz").status == 503);
  ready = true;
  CHECK(HttpGet(endpoints.health_port(), "/readyz").status == 200);
  CHECK(HttpGet(endpoints.health_port(), "/readyz?verbose").body.find("[+]caches ok") !=
        std::string::npos);

  endpoints.Stop();
  CHECK(endpoints.metrics_port() == 0);
}

TEST_CASE("Endpoints refuse a bad address and can disable a server", "[metrics]") {
  Endpoints endpoints;
  auto st = endpoints.Start({"nowhere:80", "127.0.0.1:0"});
  CHECK(st.code() == Code::kInvalidArgument);
  CHECK(st.message().find("metrics server") != std::string::npos);
  CHECK(endpoints.health_port() == 0);  // nothing stays bound on error

  REQUIRE(endpoints.Start({"0", "127.0.0.1:0"}).ok());
  CHECK(endpoints.metrics_port() == 0);
  CHECK(endpoints.health_port() > 0);
}

TEST_CASE("Endpoints answer /healthz and /metrics with 200 idle connections on each port",
          "[metrics]") {
  Endpoints endpoints;
  OperatorMetrics op(endpoints.registry(), "1.2.3", "abc");
  REQUIRE(endpoints.Start({"127.0.0.1:0", "127.0.0.1:0"}).ok());
  std::vector<int> idle;
  for (int port : {endpoints.metrics_port(), endpoints.health_port()}) {
    for (int i = 0; i < 200; ++i) {
      int fd = certguard::testing::OpenIdleConnection(port);
      REQUIRE(fd >= 0);
      idle.push_back(fd);
    }
  }
  // The chart's probes time out after 1 s; 1.5 s here only guards against a hang.
  auto health = certguard::testing::HttpGetWithin(endpoints.health_port(), "/healthz", 1500);
  CHECK(health.status == 200);
  auto ready = certguard::testing::HttpGetWithin(endpoints.health_port(), "/readyz", 1500);
  CHECK(ready.status == 200);
  auto metrics = certguard::testing::HttpGetWithin(endpoints.metrics_port(), "/metrics", 1500);
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("certguard_build_info{") != std::string::npos);
  for (int fd : idle) close(fd);
}

namespace {

// A collectable with fixed values: two renders of it are the same text.
class Fixed : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family{
        "test_fixed", "fixed values", prometheus::MetricType::Gauge, {}};
    for (int i = 0; i < 50; ++i) {
      prometheus::ClientMetric m;
      m.label = {{"i", std::to_string(i)}};
      m.gauge.value = i * 0.25;
      family.metric.push_back(m);
    }
    return {family};
  }
};

}  // namespace

TEST_CASE("Endpoints stream a large /metrics as the whole text one piece at a time", "[metrics]") {
  using namespace std::chrono;
  Endpoints endpoints;
  OperatorMetrics op(endpoints.registry(), "1.2.3", "abc");
  for (int f = 0; f < 300; ++f) {
    auto& family = prometheus::BuildCounter()
                       .Name("test_family_" + std::to_string(f) + "_total")
                       .Help("one of many")
                       .Register(endpoints.registry());
    for (int s = 0; s < 10; ++s) family.Add({{"series", std::to_string(s)}}).Increment(f + s);
  }
  auto fixed = std::make_shared<Fixed>();
  endpoints.AddCollectable(fixed);
  // 20,000 certificates: 2,000 objects of 10 (per object within the default cap).
  auto inventory = std::make_shared<certguard::expiry::Inventory>();
  const sys_seconds now = sys_days{2026y / December / 6};
  for (int o = 0; o < 2000; ++o) {
    std::vector<certguard::expiry::CertFacts> certs;
    for (int c = 0; c < 10; ++c) {
      certguard::expiry::CertFacts f;
      f.subject_cn = "service-" + std::to_string(o) + ".ns.svc";
      f.issuer_cn = "issuer-" + std::to_string(o % 7);
      f.serial = std::to_string(o * 10 + c);
      f.not_before = now - days{c};
      f.not_after = now + hours{o * 10 + c};
      certs.push_back(f);
    }
    inventory->UpsertFacts(
        {{certguard::expiry::SourceKind::kSecret, "ns", "tls-" + std::to_string(o)}, "tls.crt"},
        {"", certs});
  }
  REQUIRE(inventory->certificate_count() == 20000);
  auto collector =
      std::make_shared<certguard::expiry::ExpiryCollector>(inventory, [&] { return now; });
  endpoints.AddCollectable(collector);

  // The text as it was built before streaming: every family serialized at once,
  // then the inventory's text whole.
  std::vector<prometheus::MetricFamily> families = endpoints.registry().Collect();
  for (auto& f : fixed->Collect()) families.push_back(std::move(f));
  std::ostringstream serialized;
  prometheus::TextSerializer().Serialize(serialized, families);
  std::string whole = serialized.str();
  collector->AppendText(whole);
  REQUIRE(whole.size() > 10 * 1024 * 1024);

  CHECK(endpoints.RenderMetrics() == whole);

  REQUIRE(endpoints.Start({"127.0.0.1:0", "0"}).ok());
  auto reply = HttpGet(endpoints.metrics_port(), "/metrics");
  REQUIRE(reply.status == 200);
  CHECK(reply.chunked);
  CHECK_FALSE(reply.incomplete);
  CHECK(reply.body.size() == whole.size());
  CHECK(reply.body == whole);
  // One piece at a time: the server's 64 KiB budget, overshot by at most one
  // family of the registry or one key's lines (10 here, 3 KB), never the page.
  const auto stats = endpoints.metrics_server_stats();
  CHECK(stats.served == 1);
  CHECK(stats.max_buffered_bytes <= 64 * 1024 + 8 * 1024);
  CHECK(stats.max_buffered_bytes * 100 < whole.size());
}
