#include "support/kube/fake_transport.h"

#include <nlohmann/json.hpp>
#include <thread>

namespace certguard::kube::testing {

HttpResponse JsonResponse(int status, const std::string& body, Headers headers) {
  headers.emplace_back("Content-Type", "application/json");
  return HttpResponse{status, std::move(headers), body};
}

HttpResponse StatusResponse(int code, const std::string& reason, const std::string& message,
                            Headers headers) {
  nlohmann::json s = {{"kind", "Status"},     {"apiVersion", "v1"}, {"status", "Failure"},
                      {"message", message},   {"reason", reason},   {"code", code}};
  return JsonResponse(code, s.dump(), std::move(headers));
}

void FakeTransport::OnDo(DoHandler h) {
  std::lock_guard<std::mutex> lock(mu_);
  do_ = std::move(h);
}

void FakeTransport::OnStream(StreamHandler h) {
  std::lock_guard<std::mutex> lock(mu_);
  stream_ = std::move(h);
}

Result<HttpResponse> FakeTransport::Do(const HttpRequest& request) {
  DoHandler h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    h = do_;
  }
  if (!h) return Unavailable("fake transport: no Do handler");
  return h(request);
}

Result<HttpResponse> FakeTransport::Stream(const HttpRequest& request, const ChunkFn& on_chunk,
                                           CancelToken& cancel) {
  StreamHandler h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    streams_++;
    h = stream_;
    cv_.notify_all();
  }
  if (!h) return Unavailable("fake transport: no Stream handler");
  StreamReply reply = h(request);
  if (!reply.response.ok()) return reply.response;
  HttpResponse resp = reply.response.value();
  if (resp.status < 200 || resp.status >= 300) return resp;
  for (const auto& c : reply.chunks) {
    if (cancel.cancelled()) return Unavailable("cancelled");
    if (!on_chunk(c)) return HttpResponse{resp.status, resp.headers, {}};
  }
  if (reply.hold_open) {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    cancel.SetCallback([&] {
      std::lock_guard<std::mutex> l(m);
      done = true;
      cv.notify_all();
    });
    {
      std::unique_lock<std::mutex> l(m);
      cv.wait(l, [&] { return done; });
    }
    cancel.ClearCallback();
    return Unavailable("cancelled");
  }
  return HttpResponse{resp.status, resp.headers, {}};
}

std::vector<HttpRequest> FakeTransport::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeTransport::streams_started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return streams_;
}

bool FakeTransport::WaitForStreams(size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return streams_ >= n; });
}

}  // namespace certguard::kube::testing
