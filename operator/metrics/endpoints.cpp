#include "metrics/endpoints.h"

#include <prometheus/text_serializer.h>

#include <cstdint>
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

namespace {

// The state of one /metrics answer: where the last piece stopped.
class MetricsWriter {
 public:
  MetricsWriter(std::vector<std::shared_ptr<prometheus::Collectable>> sources,
                std::vector<std::shared_ptr<const TextCollectable>> texts)
      : sources_(std::move(sources)), texts_(std::move(texts)) {}

  bool Next(std::string& out, size_t budget) {
    const size_t start = out.size();
    while (out.size() - start < budget) {
      if (family_ < families_.size()) {
        // One family per call: the same text as serializing them all at once.
        std::ostringstream text;
        serializer_.Serialize(text, {std::move(families_[family_++])});
        out += std::move(text).str();
      } else if (next_source_ < sources_.size()) {
        families_ = sources_[next_source_++]->Collect();
        family_ = 0;
      } else if (writer_) {
        if (!writer_->Next(out, budget - (out.size() - start))) writer_.reset();
      } else if (next_text_ < texts_.size()) {
        families_.clear();
        writer_ = texts_[next_text_++]->NewTextWriter();
      } else {
        return false;
      }
    }
    return true;
  }

 private:
  prometheus::TextSerializer serializer_;
  std::vector<std::shared_ptr<prometheus::Collectable>> sources_;
  std::vector<std::shared_ptr<const TextCollectable>> texts_;
  std::vector<prometheus::MetricFamily> families_;
  size_t family_ = 0;
  size_t next_source_ = 0;
  size_t next_text_ = 0;
  std::unique_ptr<TextCollectable::TextWriter> writer_;
};

}  // namespace

void TextCollectable::AppendText(std::string& out) const {
  auto writer = NewTextWriter();
  while (writer->Next(out, SIZE_MAX)) {
  }
}

BodyStream Endpoints::StreamMetrics() const {
  std::vector<std::shared_ptr<prometheus::Collectable>> sources{registry_};
  std::vector<std::shared_ptr<const TextCollectable>> texts;
  {
    std::lock_guard lock(mu_);
    for (const auto& c : collectables_) {
      if (auto text = std::dynamic_pointer_cast<const TextCollectable>(c)) {
        texts.push_back(std::move(text));
      } else {
        sources.push_back(c);
      }
    }
  }
  // std::function needs a copyable callable: share the writer.
  auto writer = std::make_shared<MetricsWriter>(std::move(sources), std::move(texts));
  return [writer](std::string& out, size_t budget) { return writer->Next(out, budget); };
}

std::string Endpoints::RenderMetrics() const {
  BodyStream stream = StreamMetrics();
  std::string out;
  while (stream(out, SIZE_MAX)) {
  }
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
    return HttpResponse{200, kMetricsContentType, {}, StreamMetrics()};
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

HttpServerStats Endpoints::metrics_server_stats() const {
  std::lock_guard lock(mu_);
  return metrics_server_ ? metrics_server_->Stats() : HttpServerStats{};
}

int Endpoints::health_port() const {
  std::lock_guard lock(mu_);
  return health_server_ ? health_server_->port() : 0;
}

}  // namespace certguard::metrics
