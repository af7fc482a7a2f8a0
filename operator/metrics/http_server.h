// A small HTTP/1.1 server for the operator's own endpoints (/metrics, /healthz,
// /readyz), over civetweb. Handlers are plain functions of a request; the server
// owns its threads. Thread-safe: handlers may run concurrently on the server's
// threads, so they must be thread-safe themselves.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

struct mg_context;
struct mg_connection;

namespace certguard::metrics {

// "host:port" as the operator's flags take it: ":8080" (every interface),
// "127.0.0.1:8080", "[::1]:8080", "localhost:0". Port 0 picks a free port.
struct BindAddress {
  std::string host;  // empty: every interface; an IP literal otherwise (v6 without brackets)
  int port = 0;

  // The civetweb `listening_ports` value for it.
  std::string ToListeningPort() const;
};

// Pure. InvalidArgument for a missing or bad port, or a host that is not an IP literal
// (or "localhost"): the server does no name lookup.
Result<BindAddress> ParseBindAddress(std::string_view text);

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // without the query
  std::string query;   // without the '?'
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Exact paths ("/healthz") to handlers. Other paths answer 404; methods other
  // than GET and HEAD answer 405. HEAD gets the GET headers without the body.
  using Routes = std::map<std::string, HttpHandler>;

  // Binds and starts serving. Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const BindAddress& address, Routes routes,
                                                   int threads = 2);
  ~HttpServer();  // stops serving and joins the threads
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound (useful after port 0).
  int port() const { return port_; }

  // Runs the route for one request, as the server would. Exposed for tests.
  static HttpResponse Dispatch(const Routes& routes, const HttpRequest& request);

 private:
  explicit HttpServer(Routes routes) : routes_(std::move(routes)) {}
  static int HandleRequest(::mg_connection* conn, void* self);

  Routes routes_;
  struct mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace certguard::metrics
