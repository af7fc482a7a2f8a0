#include "metrics/http_server.h"

#include <catch2/catch.hpp>

#include "support/http_get.h"

using certguard::Code;
using certguard::metrics::HttpRequest;
using certguard::metrics::HttpResponse;
using certguard::metrics::HttpServer;
using certguard::metrics::ParseBindAddress;
using certguard::testing::HttpGet;

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
  auto address = ParseBindAddress("127.0.0.1:0");
  REQUIRE(address.ok());
  HttpServer::Routes routes{{"/hello", [](const HttpRequest&) {
                               return HttpResponse{200, "text/plain", "hi\n"};
                             }},
                            {"/boom", [](const HttpRequest&) -> HttpResponse {
                               throw std::runtime_error("bad");
                             }}};
  auto server = HttpServer::Start(*address, routes);
  REQUIRE(server.ok());
  int port = (*server)->port();
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

  server->reset();
  CHECK(HttpGet(port, "/hello").status == 0);  // stopped: connection refused
}
