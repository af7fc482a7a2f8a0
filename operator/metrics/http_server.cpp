#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>

#include <charconv>
#include <cstring>
#include <mutex>
#include <vector>

namespace certguard::metrics {

namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

bool IsIpLiteral(const std::string& host, bool v6) {
  unsigned char buf[16];
  return inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) == 1;
}

}  // namespace

std::string BindAddress::ToListeningPort() const {
  if (host.empty()) return std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<BindAddress> ParseBindAddress(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("bind address \"" + std::string(text) + "\": " + why);
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("want HOST:PORT or :PORT");
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);

  BindAddress out;
  if (port_text.empty()) return bad("missing port");
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || out.port < 0 ||
      out.port > 65535) {
    return bad("port must be a number from 0 to 65535");
  }

  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  out.host = std::string(host);
  if (out.host == "localhost") out.host = "127.0.0.1";
  if (out.host.empty()) return out;
  if (bracketed ? !IsIpLiteral(out.host, true) : !IsIpLiteral(out.host, false)) {
    return bad(bracketed ? "not an IPv6 address" : "host must be an IP address (IPv6 in brackets)");
  }
  return out;
}

HttpResponse HttpServer::Dispatch(const Routes& routes, const HttpRequest& request) {
  auto it = routes.find(request.path);
  if (it == routes.end()) return {404, "text/plain; charset=utf-8", "404 page not found\n"};
  if (request.method != "GET" && request.method != "HEAD") {
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  return it->second(request);
}

int HttpServer::HandleRequest(::mg_connection* conn, void* self) {
  const auto* server = static_cast<const HttpServer*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  request.path = info->local_uri ? info->local_uri : "";
  request.query = info->query_string ? info->query_string : "";

  HttpResponse response;
  try {
    response = Dispatch(server->routes_, request);
  } catch (const std::exception& e) {
    response = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
  }
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            response.status, ReasonPhrase(response.status), response.content_type.c_str(),
            response.body.size());
  if (request.method != "HEAD") mg_write(conn, response.body.data(), response.body.size());
  return response.status;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const BindAddress& address, Routes routes,
                                                      int threads) {
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });

  std::unique_ptr<HttpServer> server(new HttpServer(std::move(routes)));
  std::string ports = address.ToListeningPort();
  std::string thread_count = std::to_string(threads < 1 ? 1 : threads);
  const char* options[] = {"listening_ports", ports.c_str(),
                           "num_threads", thread_count.c_str(),
                           "request_timeout_ms", "10000",
                           nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof(callbacks));
  // civetweb prints bind errors itself; silence it, the Status says what failed.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  server->ctx_ = mg_start(&callbacks, nullptr, options);
  if (server->ctx_ == nullptr) {
    return Unavailable("cannot listen on " + ports);
  }
  // "/" catches every path, so unknown ones get our 404 rather than civetweb's file server.
  mg_set_request_handler(server->ctx_, "/", &HttpServer::HandleRequest, server.get());

  std::vector<mg_server_port> bound(4);
  int n = mg_get_server_ports(server->ctx_, static_cast<int>(bound.size()), bound.data());
  if (n < 1) return Internal("listening on " + ports + " but the bound port is unknown");
  server->port_ = bound[0].port;
  return server;
}

HttpServer::~HttpServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

}  // namespace certguard::metrics
