#include "metrics/endpoints.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace certguard::metrics {

Endpoints::Endpoints() : registry_(std::make_shared<prometheus::Registry>()) {}

Endpoints::~Endpoints() { Stop(); }

void Endpoints::AddCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
  std::lock_guard lock(mu_);
  collectables_.push_back(std::move(collectable));
}

void Endpoints::AddReadinessCheck(std::string name, ReadinessCheck check) {
  std::lock_guard lock(mu_);
  checks_.emplace_back(std::move(name), std::move(check));
}

std::string Endpoints::RenderMetrics() const {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  {
    std::lock_guard lock(mu_);
    collectables = collectables_;
  }
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<const TextCollectable*> writers;
  for (const auto& c : collectables) {
    if (const auto* writer = dynamic_cast<const TextCollectable*>(c.get())) {
      writers.push_back(writer);
      continue;
    }
    auto more = c->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::ostringstream serialized;
  prometheus::TextSerializer().Serialize(serialized, families);
  std::string out = std::move(serialized).str();
  for (const auto* writer : writers) writer->AppendText(out);
  return out;
}

void Endpoints::AddLivenessCheck(std::string name, ReadinessCheck check) {
  std::lock_guard lock(mu_);
  liveness_checks_.emplace_back(std::move(name), std::move(check));
}

HttpResponse Endpoints::Healthz() const {
  std::vector<std::pair<std::string, ReadinessCheck>> checks;
  {
    std::lock_guard lock(mu_);
    checks = liveness_checks_;
  }
  std::string failed;
  for (const auto& [name, check] : checks) {
    Status st = check ? check() : Internal("no check function");
    if (!st.ok()) failed += "[-]" + name + " failed: " + st.message() + "\n";
  }
  if (!failed.empty()) return {500, "text/plain; charset=utf-8", failed + "healthz check failed\n"};
  return {200, "text/plain; charset=utf-8", "ok\n"};
}

HttpResponse Endpoints::Readyz(bool verbose) const {
  std::vector<std::pair<std::string, ReadinessCheck>> checks;
  {
    std::lock_guard lock(mu_);
    checks = checks_;
  }
  std::string lines;
  bool ready = true;
  for (const auto& [name, check] : checks) {
    Status st = check ? check() : Internal("no check function");
    if (st.ok()) {
      lines += "[+]" + name + " ok\n";
    } else {
      ready = false;
      lines += "[-]" + name + " failed: " + st.message() + "\n";
    }
  }
  if (!ready) return {503, "text/plain; charset=utf-8", lines + "readyz check failed\n"};
  return {200, "text/plain; charset=utf-8", verbose ? lines + "readyz check passed\n" : "ok\n"};
}

Status Endpoints::Start(const EndpointsOptions& options) {
  Stop();
  auto start = [](const std::string& text, HttpServer::Routes routes,
                  std::unique_ptr<HttpServer>& into) -> Status {
    if (text == "0") return Status::Ok();
    auto address = ParseBindAddress(text);
    if (!address.ok()) return address.status();
    auto server = HttpServer::Start(*address, std::move(routes));
    if (!server.ok()) return server.status();
    into = std::move(*server);
    return Status::Ok();
  };

  HttpServer::Routes metrics_routes{{"/metrics", [this](const HttpRequest&) {
    return HttpResponse{200, kMetricsContentType, RenderMetrics()};
  }}};
  HttpServer::Routes health_routes{
      {"/healthz", [this](const HttpRequest&) { return Healthz(); }},
      {"/readyz", [this](const HttpRequest& r) {
         return Readyz(r.query.find("verbose") != std::string::npos);
       }}};

  std::unique_ptr<HttpServer> metrics, health;
  if (Status st = start(options.metrics_bind_address, std::move(metrics_routes), metrics);
      !st.ok()) {
    return st.Annotate("metrics server");
  }
  if (Status st = start(options.health_bind_address, std::move(health_routes), health);
      !st.ok()) {
    return st.Annotate("health server");
  }
  std::lock_guard lock(mu_);
  metrics_server_ = std::move(metrics);
  health_server_ = std::move(health);
  return Status::Ok();
}

void Endpoints::Stop() {
  std::unique_ptr<HttpServer> metrics, health;
  {
    std::lock_guard lock(mu_);
    metrics = std::move(metrics_server_);
    health = std::move(health_server_);
  }
  // Destroyed outside the lock: a handler in flight may need it.
}

int Endpoints::metrics_port() const {
  std::lock_guard lock(mu_);
  return metrics_server_ ? metrics_server_->port() : 0;
}

int Endpoints::health_port() const {
  std::lock_guard lock(mu_);
  return health_server_ ? health_server_->port() : 0;
}

}  // namespace certguard::metrics
