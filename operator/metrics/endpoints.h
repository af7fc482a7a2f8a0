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

// A collector that writes its own exposition text, for collectors with many
// series: building MetricFamily objects and serializing them costs several
// times more per scrape, and the text is written piece by piece as /metrics
// is sent, never whole. Collect() must describe the same series.
class TextCollectable : public prometheus::Collectable {
 public:
  // One pass over the collector's series. Holds what it needs (it may outlive
  // the collector); not thread-safe itself, one per scrape.
  class TextWriter {
   public:
    virtual ~TextWriter() = default;
    // Appends the next piece to `out`: about `budget` bytes, more by at most one
    // indivisible item. True while more follows; false once all was written.
    virtual bool Next(std::string& out, size_t budget) = 0;
  };
  virtual std::unique_ptr<TextWriter> NewTextWriter() const = 0;

  // The whole text at once (tests and `--once`).
  void AppendText(std::string& out) const;
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
  // A TextCollectable is written through its TextWriter, a piece at a time.
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
  // The metrics server's counters (all zero when it is not running).
  HttpServerStats metrics_server_stats() const;

  // /metrics piece by piece, as the server sends it: the registry's families,
  // then other collectables', then TextCollectables' text. Each source is
  // collected when its turn comes and each family serialized on its own, so a
  // piece holds about `budget` bytes, or one family when that is larger.
  BodyStream StreamMetrics() const;
  // What the endpoints answer, without the HTTP around it (/metrics whole: for
  // tests and benchmarks; the server streams it).
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
