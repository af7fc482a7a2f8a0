// A scripted HttpTransport for unit tests: handlers decide each reply, and
// every request is recorded. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "kube/http.h"

namespace certguard::kube::testing {

// Builds a JSON response.
HttpResponse JsonResponse(int status, const std::string& body, Headers headers = {});
// A Kubernetes Status body for `code`/`reason`.
HttpResponse StatusResponse(int code, const std::string& reason, const std::string& message,
                            Headers headers = {});

class FakeTransport : public HttpTransport {
 public:
  using DoHandler = std::function<Result<HttpResponse>(const HttpRequest&)>;
  struct StreamReply {
    Result<HttpResponse> response = HttpResponse{200, {}, {}};  // non-2xx: body returned
    std::vector<std::string> chunks;  // delivered in order on 2xx
    bool hold_open = false;           // then wait for cancel instead of ending
  };
  using StreamHandler = std::function<StreamReply(const HttpRequest&)>;

  void OnDo(DoHandler h);
  void OnStream(StreamHandler h);

  Result<HttpResponse> Do(const HttpRequest& request) override;
  Result<HttpResponse> Stream(const HttpRequest& request, const ChunkFn& on_chunk,
                              CancelToken& cancel) override;

  std::vector<HttpRequest> requests() const;
  size_t streams_started() const;
  // Waits until `n` streams have started; false after `timeout_ms`.
  bool WaitForStreams(size_t n, int timeout_ms = 5000);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  DoHandler do_;
  StreamHandler stream_;
  std::vector<HttpRequest> requests_;
  size_t streams_ = 0;
};

}  // namespace certguard::kube::testing
