// The operator's observability endpoints, shared by every part of `certguard run`:
//   /metrics  on --metrics-bind-address: every registered collectable, text format
//   /healthz  on --health-bind-address: 200 while the process serves requests and
//             every liveness check passes, else 500
//   /readyz   on --health-bind-address: 200 when every readiness check passes, else 503
// Thread-safe: checks and collectables may be added from any thread, before or
// after Start.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include "common/status.h"
#include "metrics/http_server.h"

namespace certguard::metrics {

// A collector that appends its own exposition text, for collectors with many
// series: building MetricFamily objects and serializing them costs several
// times more per scrape. Collect() must describe the same series.
class TextCollectable : public prometheus::Collectable {
 public:
  virtual void AppendText(std::string& out) const = 0;
};

// OK when ready; otherwise the reason, shown on /readyz.
using ReadinessCheck = std::function<Status()>;

// The text exposition format's media type.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

struct EndpointsOptions {
  std::string metrics_bind_address = ":8080";  // "0" disables the metrics server
  std::string health_bind_address = ":8081";   // "0" disables the health server
};

class Endpoints {
 public:
  Endpoints();
  ~Endpoints();  // stops the servers

  // The registry for counters, gauges and histograms; it is always collected.
  prometheus::Registry& registry() { return *registry_; }
  const std::shared_ptr<prometheus::Registry>& shared_registry() const { return registry_; }

  // A collector whose values are computed at scrape time (the certificate inventory).
  // A TextCollectable is rendered through AppendText.
  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable);

  // A named check for /readyz ("informers-synced", "leader-known").
  void AddReadinessCheck(std::string name, ReadinessCheck check);
  // A named check for /healthz: a failure asks for a restart (the node agent's stuck scan).
  void AddLivenessCheck(std::string name, ReadinessCheck check);

  // Binds both addresses. InvalidArgument for a bad address, Unavailable when one
  // cannot be bound; on error nothing stays bound.
  Status Start(const EndpointsOptions& options);
  void Stop();

  // Bound ports, 0 when that server is not running.
  int metrics_port() const;
  int health_port() const;

  // What the endpoints answer, without the HTTP around it.
  std::string RenderMetrics() const;
  HttpResponse Healthz() const;
  // Like the Kubernetes API server: "[+]name ok" / "[-]name failed: reason" lines;
  // on success only "ok" unless `verbose`.
  HttpResponse Readyz(bool verbose) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::vector<std::pair<std::string, ReadinessCheck>> checks_;
  std::vector<std::pair<std::string, ReadinessCheck>> liveness_checks_;
  std::unique_ptr<HttpServer> metrics_server_;
  std::unique_ptr<HttpServer> health_server_;
};

}  // namespace certguard::metrics
