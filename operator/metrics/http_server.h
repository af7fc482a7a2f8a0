// A small HTTP/1.1 server for the operator's own endpoints (/metrics, /healthz,
// /readyz). One event loop per server reads requests from non-blocking sockets
// and writes the answers, so an idle or slow client never holds a thread: a
// request is handed to its handler only once its headers are complete, each
// connection has a deadline to send them and one to read the answer, and the
// number of open connections is capped (when full, the connection that has
// waited longest without a complete request is closed to make room).
// Handlers run on the loop thread, one at a time; they must be quick and
// thread-safe against the rest of the program. Each answer closes its connection.
// A large answer (/metrics) is streamed: the loop asks for the next piece only
// once the previous one is sent, so the server holds one piece per connection,
// never the whole answer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"

namespace certguard::metrics {

// "host:port" as the operator's flags take it: ":8080" (every interface),
// "127.0.0.1:8080", "[::1]:8080", "localhost:0". Port 0 picks a free port.
struct BindAddress {
  std::string host;  // empty: every interface; an IP literal otherwise (v6 without brackets)
  int port = 0;

  // "host:port" for messages ("[v6]:port"; "port" alone for every interface).
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

// Produces a body piece by piece. Each call appends the next piece to `out`
// (about `budget` bytes; more by at most one indivisible item of the producer)
// and returns true while more follows, false once the body is complete (what it
// appended in that last call is still sent). Runs on the loop thread between
// polls: it must not block. An exception ends the answer unfinished.
using BodyStream = std::function<bool(std::string& out, size_t budget)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // When set, the body comes from it instead, sent with chunked transfer coding:
  // unlike a body cut short before Connection: close, an answer that fails
  // half-way is seen as incomplete by the client.
  BodyStream stream = nullptr;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  // Open connections at most; a new one beyond it evicts the oldest that has
  // not sent a complete request yet (or is refused when every one has).
  size_t max_connections = 256;
  // From accept to the end of the request headers.
  std::chrono::milliseconds read_timeout{5000};
  // From the complete request to the last byte of the answer sent.
  std::chrono::milliseconds write_timeout{30000};
  // Request line and headers; a longer request gets 431.
  size_t max_request_bytes = 8192;
  // The `budget` asked of a BodyStream for each piece.
  size_t stream_piece_bytes = 64 * 1024;
};

// What the loop did, for tests and debugging.
struct HttpServerStats {
  uint64_t accepted = 0;
  uint64_t served = 0;     // answers fully sent
  uint64_t timed_out = 0;  // closed at a read or write deadline
  uint64_t evicted = 0;    // closed to make room under the connection cap
  uint64_t refused = 0;    // closed at accept: the cap was full of busy connections
  uint64_t aborted = 0;    // streamed answers ended unfinished (the stream threw)
  // The most answer bytes one connection held at once: a whole body, or one
  // streamed piece with its headers and chunk framing.
  size_t max_buffered_bytes = 0;
};

class HttpServer {
 public:
  // Exact paths ("/healthz") to handlers. Other paths answer 404; methods other
  // than GET and HEAD answer 405. HEAD gets the GET headers without the body.
  using Routes = std::map<std::string, HttpHandler>;

  // Binds and starts serving. Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const BindAddress& address, Routes routes,
                                                   HttpServerOptions options = {});
  ~HttpServer();  // stops serving (open connections are closed) and joins the loop
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound (useful after port 0).
  int port() const { return port_; }
  HttpServerStats Stats() const;

  // Runs the route for one request, as the server would. Exposed for tests.
  static HttpResponse Dispatch(const Routes& routes, const HttpRequest& request);

 private:
  struct Loop;
  HttpServer() = default;

  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  int port_ = 0;
};

// Pure. Parses the request line of a complete header block ("GET /p?q HTTP/1.1\r\n...");
// InvalidArgument when it is not an HTTP/1.x request line.
Result<HttpRequest> ParseRequestHead(std::string_view head);

}  // namespace certguard::metrics
