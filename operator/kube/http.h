// The HTTP transport under every Kubernetes call. One implementation speaks
// HTTPS through cpprestsdk (http_cpprest.cpp, the only file that includes its
// headers); tests use a scripted fake (test/support/kube/fake_transport.h).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace certguard::kube {

struct ClientConfig;

// Header names are compared case-insensitively by lookups; stored as given.
using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; empty when absent.
std::string HeaderValue(const Headers& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  std::string path;  // absolute path plus query: "/api/v1/namespaces?limit=500"
  Headers headers;   // Authorization is added by the transport
  std::string body;
  // Limit for the call; for Stream, how long the stream may stay silent.
  std::chrono::milliseconds timeout{30000};
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// Cancels a stream from another thread. Thread-safe. Once cancelled, stays cancelled.
class CancelToken {
 public:
  void Cancel();
  bool cancelled() const { return cancelled_.load(); }
  // Runs `fn` on Cancel() (at once if already cancelled). One callback at a time;
  // ClearCallback() before the callback's captures go away: once it returns, the
  // callback is not running. The callback must not call back into this token.
  void SetCallback(std::function<void()> fn);
  void ClearCallback();

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::function<void()> fn_;
};

// Receives the body of a 2xx streaming response piece by piece, split anywhere.
// Return false to stop reading.
using ChunkFn = std::function<bool(std::string_view chunk)>;

// Thread-safe: many threads may call Do and Stream at once.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // One request, whole body in memory. Any HTTP status is a response; a
  // Status is returned only when no response came (kUnavailable: connection or
  // TLS failure; kDeadlineExceeded: timeout).
  virtual Result<HttpResponse> Do(const HttpRequest& request) = 0;

  // A long-lived request. On a 2xx status the body goes to `on_chunk` as it
  // arrives and the returned response has an empty body; on any other status
  // the body is collected into the response and `on_chunk` is not called.
  // Returns when the server ends the body, `on_chunk` returns false, or
  // `cancel` fires (then kCancelled-like: Status kUnavailable "cancelled").
  virtual Result<HttpResponse> Stream(const HttpRequest& request, const ChunkFn& on_chunk,
                                      CancelToken& cancel) = 0;
};

// The HTTPS transport for a resolved ClientConfig (server, CA, client
// certificate, bearer token or token file). InvalidArgument for a bad URL or
// unreadable key material.
Result<std::shared_ptr<HttpTransport>> NewHttpsTransport(const ClientConfig& config);

// Sizes the I/O thread pool every HTTPS transport shares (cpprestsdk's: 40
// threads unless told, each with its stack and malloc arena, for I/O that is
// asynchronous). The first request sizes it to a thread per core (2 to 4)
// unless this was called before; false (and no change) when the pool already
// exists.
bool SetHttpIoThreads(size_t threads);

// cpprest gives every new TLS connection a context loaded with the system's CA
// bundle (OpenSSL's default file, read whole), and the transport then replaces
// that store with the cluster CA: about 2.4 MiB of parsed certificates kept by
// an idle process, and a parse per connection, for nothing. Called first thing
// in main, before any thread exists (it sets SSL_CERT_FILE): OpenSSL's default
// file becomes the empty /dev/null, and a transport without a cluster CA loads
// the bundle that was the default (SSL_CERT_FILE as it was, else OpenSSL's
// built-in path) itself, so it trusts exactly what it trusted before. Once per
// process; later calls do nothing.
void DeferSystemTrust();

}  // namespace certguard::kube
