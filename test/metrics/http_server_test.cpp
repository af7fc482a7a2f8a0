#include "metrics/http_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/http_get.h"

using certguard::Code;
using namespace certguard::metrics;
using namespace certguard::testing;

namespace {

// A server of `routes` on a free loopback port; the test fails unless it starts.
std::unique_ptr<HttpServer> StartOnLoopback(HttpServer::Routes routes,
                                            HttpServerOptions options = {}) {
  auto address = ParseBindAddress("127.0.0.1:0");
  REQUIRE(address.ok());
  auto server = HttpServer::Start(*address, std::move(routes), options);
  REQUIRE(server.ok());
  return std::move(*server);
}

}  // namespace

TEST_CASE("ParseBindAddress accepts the flag forms", "[metrics]") {
  auto all = ParseBindAddress(":8080");
  REQUIRE(all.ok());
  CHECK(all->host.empty());
  CHECK(all->port == 8080);
  CHECK(all->ToListeningPort() == "8080");

  auto v4 = ParseBindAddress("127.0.0.1:0");
  REQUIRE(v4.ok());
  CHECK(v4->ToListeningPort() == "127.0.0.1:0");

  auto v6 = ParseBindAddress("[::1]:9443");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->ToListeningPort() == "[::1]:9443");

  auto local = ParseBindAddress("localhost:8081");
  REQUIRE(local.ok());
  CHECK(local->host == "127.0.0.1");
}

TEST_CASE("ParseBindAddress rejects bad addresses", "[metrics]") {
  for (const char* bad : {"", "8080", ":", ":-1", ":65536", ":80x", "example.com:80",
                          "::1:80", "[127.0.0.1]:80", "1.2.3:80", "[::1:80"}) {
    INFO(bad);
    auto r = ParseBindAddress(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("Dispatch routes exact paths and GET/HEAD only", "[metrics]") {
  HttpServer::Routes routes{{"/a", [](const HttpRequest& r) {
                               return HttpResponse{200, "text/plain", "a:" + r.query};
                             }}};
  CHECK(HttpServer::Dispatch(routes, {"GET", "/a", "x=1"}).body == "a:x=1");
  CHECK(HttpServer::Dispatch(routes, {"GET", "/a/b", ""}).status == 404);
  CHECK(HttpServer::Dispatch(routes, {"GET", "/", ""}).status == 404);
  CHECK(HttpServer::Dispatch(routes, {"POST", "/a", ""}).status == 405);
  CHECK(HttpServer::Dispatch(routes, {"HEAD", "/a", ""}).status == 200);
}

TEST_CASE("HttpServer serves its routes on a loopback port", "[metrics]") {
  HttpServer::Routes routes{{"/hello", [](const HttpRequest&) {
                               return HttpResponse{200, "text/plain", "hi\n"};
                             }},
                            {"/boom", [](const HttpRequest&) -> HttpResponse {
                               throw std::runtime_error("bad");
                             }}};
  auto server = StartOnLoopback(routes);
  int port = server->port();
  REQUIRE(port > 0);

  auto ok = HttpGet(port, "/hello");
  CHECK(ok.status == 200);
  CHECK(ok.body == "hi\n");
  CHECK(ok.headers.find("Content-Length: 3") != std::string::npos);

  auto head = HttpGet(port, "/hello", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());

  CHECK(HttpGet(port, "/nope").status == 404);
  CHECK(HttpGet(port, "/hello", "DELETE").status == 405);
  auto boom = HttpGet(port, "/boom");
  CHECK(boom.status == 500);
  CHECK(boom.body.find("bad") != std::string::npos);

  // A second server on the same port is refused with a Status, not a crash.
  auto taken = ParseBindAddress("127.0.0.1:" + std::to_string(port));
  REQUIRE(taken.ok());
  auto second = HttpServer::Start(*taken, routes);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Code::kUnavailable);

  server.reset();
  CHECK(HttpGet(port, "/hello").status == 0);  // stopped: connection refused
}

TEST_CASE("ParseRequestHead reads the request line strictly", "[metrics]") {
  auto ok = ParseRequestHead("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n");
  REQUIRE(ok.ok());
  CHECK(ok->method == "GET");
  CHECK(ok->path == "/metrics");
  CHECK(ok->query == "x=1");
  for (const char* bad : {"", "GET\r\n", "GET /a\r\n", "GET /a HTTP/2\r\n", "GET  /a HTTP/1.1\r\n",
                          "GET a HTTP/1.1\r\n", "GET /a HTTP/1.1 x\r\n"}) {
    INFO(bad);
    CHECK_FALSE(ParseRequestHead(bad).ok());
  }
}

namespace {

struct IdleConnections {
  std::vector<int> fds;
  IdleConnections(int port, int n) {
    for (int i = 0; i < n; ++i) {
      int fd = OpenIdleConnection(port);
      if (fd >= 0) fds.push_back(fd);
    }
  }
  ~IdleConnections() {
    for (int fd : fds) close(fd);
  }
};

HttpServer::Routes Hello() {
  return {{"/hello", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "hi\n"}; }}};
}

}  // namespace

TEST_CASE("HttpServer answers while 200 idle connections are open", "[metrics]") {
  auto server = StartOnLoopback(Hello());
  const int port = server->port();
  IdleConnections idle(port, 200);
  REQUIRE(idle.fds.size() == 200);
  // Several requests in a row: none may wait for an idle client. 1.5 s only guards
  // against a hang (the answer takes milliseconds; see the bench figures).
  for (int i = 0; i < 5; ++i) {
    auto reply = HttpGetWithin(port, "/hello", 1500);
    CHECK(reply.status == 200);
    CHECK(reply.body == "hi\n");
  }
  CHECK(server->Stats().served == 5);
}

TEST_CASE("HttpServer closes a connection that sends no complete request in time", "[metrics]") {
  HttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  auto server = StartOnLoopback(Hello(), options);
  int fd = OpenIdleConnection(server->port());
  REQUIRE(fd >= 0);
  const std::string partial = "GET /hello HTTP/1.1\r\nHost: a\r\n";  // never finished
  REQUIRE(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(partial.size()));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[16];
  CHECK(recv(fd, buf, sizeof(buf), 0) == 0);  // closed by the server, nothing answered
  close(fd);
  CHECK(server->Stats().timed_out == 1);
}

TEST_CASE("HttpServer makes room under its connection cap by closing the oldest idle one",
          "[metrics]") {
  HttpServerOptions options;
  options.max_connections = 4;
  auto server = StartOnLoopback(Hello(), options);
  const int port = server->port();
  IdleConnections idle(port, 10);
  REQUIRE(idle.fds.size() == 10);
  auto reply = HttpGetWithin(port, "/hello", 1500);
  CHECK(reply.status == 200);
  // 10 idle + 1 request through 4 slots: at least 7 evictions, and the oldest went first.
  CHECK(server->Stats().evicted >= 7);
  timeval tv{2, 0};
  setsockopt(idle.fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[16];
  CHECK(recv(idle.fds[0], buf, sizeof(buf), 0) == 0);
}

TEST_CASE("HttpServer refuses oversized and malformed requests", "[metrics]") {
  HttpServerOptions options;
  options.max_request_bytes = 1024;
  auto server = StartOnLoopback(Hello(), options);
  CHECK(HttpGetWithin(server->port(), "/hello?" + std::string(4096, 'a'), 2000).status == 431);
  CHECK(HttpGetWithin(server->port(), "nopath", 2000).status == 400);
}

namespace {

// Lines of varied length, `count` of them, at most kMaxLine bytes each; each call
// of the stream appends whole lines until it has `budget` bytes.
constexpr size_t kMaxLine = 120;

std::string LineOf(size_t i) {
  return "line " + std::to_string(i) + " " + std::string(i % 97, 'x') + "\n";
}

certguard::metrics::BodyStream Lines(size_t count) {
  auto next = std::make_shared<size_t>(0);
  return [next, count](std::string& out, size_t budget) {
    const size_t start = out.size();
    while (*next < count && out.size() - start < budget) out += LineOf((*next)++);
    return *next < count;
  };
}

std::string AllLines(size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += LineOf(i);
  return out;
}

}  // namespace

TEST_CASE("HttpServer streams a large body and holds one piece of it at a time", "[metrics]") {
  constexpr size_t kLines = 100000;  // about 6 MB
  HttpServerOptions options;
  options.stream_piece_bytes = 4096;
  HttpServer::Routes routes{{"/big", [](const HttpRequest&) {
                               return HttpResponse{200, "text/plain", {}, Lines(kLines)};
                             }}};
  auto server = StartOnLoopback(routes, options);

  auto reply = HttpGet(server->port(), "/big");
  const std::string expected = AllLines(kLines);
  REQUIRE(reply.status == 200);
  CHECK(reply.chunked);
  CHECK_FALSE(reply.incomplete);
  CHECK(reply.headers.find("Content-Length") == std::string::npos);
  CHECK(reply.body.size() == expected.size());
  CHECK(reply.body == expected);

  // A piece is the budget plus at most one line, its chunk size line and CRLFs
  // (and the final piece the terminating chunk); the headers are held alone first.
  const auto stats = server->Stats();
  CHECK(stats.served == 1);
  CHECK(stats.max_buffered_bytes <= options.stream_piece_bytes + kMaxLine + 32);
  CHECK(stats.max_buffered_bytes * 1000 < expected.size());

  // HEAD: the same headers, no body.
  auto head = HttpGet(server->port(), "/big", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.headers.find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(head.body.empty());
}

TEST_CASE("HttpServer ends a streamed answer unfinished when the stream throws", "[metrics]") {
  HttpServer::Routes routes{{"/half", [](const HttpRequest&) {
                               auto calls = std::make_shared<int>(0);
                               HttpResponse r{200, "text/plain", {}, nullptr};
                               r.stream = [calls](std::string& out, size_t) -> bool {
                                 if ((*calls)++ > 0) throw std::runtime_error("inventory gone");
                                 out += "first piece\n";
                                 return true;
                               };
                               return r;
                             }}};
  auto server = StartOnLoopback(routes);
  auto reply = HttpGet(server->port(), "/half");
  CHECK(reply.status == 200);
  CHECK(reply.chunked);
  CHECK(reply.incomplete);  // no terminating chunk: the client knows it is cut short
  CHECK(reply.body == "first piece\n");
  CHECK(server->Stats().aborted == 1);
  CHECK(server->Stats().served == 0);
}

TEST_CASE("HttpServer answers others while a client does not read its large answer", "[metrics]") {
  HttpServerOptions options;
  options.stream_piece_bytes = 4096;
  auto routes = Hello();
  routes["/big"] = [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", {}, Lines(1000000)};  // about 60 MB
  };
  auto server = StartOnLoopback(routes, options);
  const int port = server->port();
  // Asks for the large answer and never reads it: the socket buffers fill up.
  int stalled = OpenIdleConnection(port);
  REQUIRE(stalled >= 0);
  const std::string request = "GET /big HTTP/1.1\r\nHost: a\r\n\r\n";
  REQUIRE(send(stalled, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size()));
  for (int i = 0; i < 3; ++i) {
    auto reply = HttpGetWithin(port, "/hello", 1500);  // a guard against a hang only
    CHECK(reply.status == 200);
    CHECK(reply.body == "hi\n");
  }
  close(stalled);
  CHECK(server->Stats().max_buffered_bytes <= options.stream_piece_bytes + kMaxLine + 32);
}
