#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <vector>

namespace certguard::metrics {

namespace {

using Clock = std::chrono::steady_clock;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

bool IsIpLiteral(const std::string& host, bool v6) {
  unsigned char buf[16];
  return inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), buf) == 1;
}

std::string HeadOf(const HttpResponse& r) {
  std::string length = r.stream ? "\r\nTransfer-Encoding: chunked"
                                : "\r\nContent-Length: " + std::to_string(r.body.size());
  return "HTTP/1.1 " + std::to_string(r.status) + " " + ReasonPhrase(r.status) +
         "\r\nContent-Type: " + r.content_type + length +
         "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
}

std::string ChunkSizeLine(size_t size) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), size, 16);
  return std::string(buf, ec == std::errc() ? end : buf) + "\r\n";
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

Result<HttpRequest> ParseRequestHead(std::string_view head) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return InvalidArgument("malformed request line");
  }
  if (line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) return InvalidArgument("not HTTP/1.x");
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (target.front() != '/') return InvalidArgument("request target must be a path");
  HttpRequest r;
  r.method = std::string(line.substr(0, sp1));
  size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  return r;
}

HttpResponse HttpServer::Dispatch(const Routes& routes, const HttpRequest& request) {
  auto it = routes.find(request.path);
  if (it == routes.end()) return {404, "text/plain; charset=utf-8", "404 page not found\n"};
  if (request.method != "GET" && request.method != "HEAD") {
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  return it->second(request);
}

struct HttpServer::Loop {
  static constexpr int kPiecesPerTurn = 4;

  struct Conn {
    int fd = -1;
    bool writing = false;
    std::string in;
    std::string head;  // the answer's status line and headers, or a chunk's size line
    std::string body;  // sent after head: the body, or one streamed piece and its framing
    size_t sent = 0;   // of head, then of body
    BodyStream stream;  // the rest of a streamed body; empty once it is all in `body`
    Clock::time_point opened;
    Clock::time_point deadline;
  };

  Routes routes;
  HttpServerOptions options;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  Clock::time_point accept_paused_until{};
  std::vector<Conn> conns;
  mutable std::mutex stats_mu;
  HttpServerStats stats;

  ~Loop() {
    for (Conn& c : conns) ::close(c.fd);
    for (int fd : {listen_fd, wake[0], wake[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void Count(uint64_t HttpServerStats::*field) {
    std::lock_guard lock(stats_mu);
    ++(stats.*field);
  }

  void NoteBuffered(const Conn& c) {
    const size_t bytes = c.head.size() + c.body.size();
    std::lock_guard lock(stats_mu);
    if (bytes > stats.max_buffered_bytes) stats.max_buffered_bytes = bytes;
  }

  void Respond(Conn& c, HttpResponse r, bool head_only) {
    c.head = HeadOf(r);
    if (!head_only) {
      c.body = std::move(r.body);
      c.stream = std::move(r.stream);
      if (c.stream) c.body.clear();
    }
    NoteBuffered(c);
    c.in.clear();
    c.in.shrink_to_fit();
    c.writing = true;
    c.deadline = Clock::now() + options.write_timeout;
  }

  // Replaces what was sent with the stream's next piece, framed as a chunk (the
  // last one followed by the terminating chunk). False when the stream threw:
  // the answer ends there, without its terminating chunk.
  bool NextPiece(Conn& c) {
    c.sent = 0;
    c.head.clear();
    c.body.clear();  // keeps its capacity: the next piece reuses it
    bool more = false;
    try {
      do {
        more = c.stream(c.body, options.stream_piece_bytes);
      } while (more && c.body.empty());  // an empty chunk would end the body
    } catch (const std::exception&) {
      Count(&HttpServerStats::aborted);
      return false;
    }
    if (!c.body.empty()) {
      c.head = ChunkSizeLine(c.body.size());
      c.body += "\r\n";
    }
    if (!more) {
      c.body += "0\r\n\r\n";
      c.stream = nullptr;
    }
    NoteBuffered(c);
    return true;
  }

  // Reads what is there; false when the connection is done with (closed by the peer).
  bool Read(Conn& c) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.in.append(buf, static_cast<size_t>(n));
      size_t end = c.in.find("\r\n\r\n");
      if (end != std::string::npos) {
        HttpResponse response;
        bool head_only = false;
        auto request = ParseRequestHead(std::string_view(c.in).substr(0, end + 2));
        if (!request.ok()) {
          response = {400, "text/plain; charset=utf-8", request.status().message() + "\n"};
        } else {
          head_only = request->method == "HEAD";
          try {
            response = Dispatch(routes, *request);
          } catch (const std::exception& e) {
            response = {500, "text/plain; charset=utf-8",
                        std::string("internal error: ") + e.what() + "\n"};
          }
        }
        Respond(c, std::move(response), head_only);
        return true;
      }
      if (c.in.size() > options.max_request_bytes) {
        Respond(c, {431, "text/plain; charset=utf-8", "request headers too large\n"}, false);
        return true;
      }
    }
  }

  // Sends what the socket takes; false when the connection is done with.
  bool Write(Conn& c) {
    // A few pieces per turn, so that a fast reader of a large answer does not
    // keep the loop from the other connections.
    for (int pieces = 0;; ++pieces) {
      const size_t total = c.head.size() + c.body.size();
      while (c.sent < total) {
        const bool in_head = c.sent < c.head.size();
        const std::string& part = in_head ? c.head : c.body;
        const size_t offset = in_head ? c.sent : c.sent - c.head.size();
        ssize_t n = ::send(c.fd, part.data() + offset, part.size() - offset,
                           MSG_NOSIGNAL | (in_head && !c.body.empty() ? MSG_MORE : 0));
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c.sent += static_cast<size_t>(n);
      }
      // Everything held is sent: only now is the next piece made.
      if (!c.stream) break;
      if (pieces == kPiecesPerTurn) return true;
      if (!NextPiece(c)) return false;
    }
    Count(&HttpServerStats::served);
    ::shutdown(c.fd, SHUT_WR);
    return false;
  }

  void Accept() {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors: the pending connection stays queued and the listening
        // socket readable; look again a little later rather than spin.
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          accept_paused_until = Clock::now() + std::chrono::milliseconds(100);
        }
        return;  // EAGAIN, or an error of that one connection
      }
      Count(&HttpServerStats::accepted);
      if (conns.size() >= options.max_connections) {
        // Make room by closing the oldest connection still without a request:
        // whoever holds connections open cannot keep a new client out.
        size_t victim = conns.size();
        for (size_t i = 0; i < conns.size(); ++i) {
          if (conns[i].writing) continue;
          if (victim == conns.size() || conns[i].opened < conns[victim].opened) victim = i;
        }
        if (victim == conns.size()) {
          ::close(fd);
          Count(&HttpServerStats::refused);
          continue;
        }
        ::close(conns[victim].fd);
        conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(victim));
        Count(&HttpServerStats::evicted);
      }
      Conn c;
      c.fd = fd;
      c.opened = Clock::now();
      c.deadline = c.opened + options.read_timeout;
      conns.push_back(std::move(c));
    }
  }

  void Run() {
    std::vector<pollfd> fds;
    while (!stopping.load()) {
      fds.clear();
      auto now = Clock::now();
      const bool accepting = now >= accept_paused_until;
      fds.push_back({wake[0], POLLIN, 0});
      fds.push_back({listen_fd, static_cast<short>(accepting ? POLLIN : 0), 0});
      auto wait = std::chrono::milliseconds(accepting ? 1000 : 100);
      for (const Conn& c : conns) {
        fds.push_back({c.fd, static_cast<short>(c.writing ? POLLOUT : POLLIN), 0});
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now);
        if (left < wait) wait = left;
      }
      if (wait.count() < 0) wait = std::chrono::milliseconds(0);
      int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()) + 1);
      if (ready < 0 && errno != EINTR) break;
      if (stopping.load()) break;

      // Connections first (their indices match fds), then new ones.
      now = Clock::now();
      std::vector<Conn> keep;
      keep.reserve(conns.size());
      for (size_t i = 0; i < conns.size(); ++i) {
        Conn& c = conns[i];
        short revents = fds[i + 2].revents;
        bool open = true;
        if (revents != 0) {
          if (!c.writing && (revents & (POLLIN | POLLHUP | POLLERR))) open = Read(c);
          if (open && c.writing) open = (revents & POLLERR) == 0 && Write(c);
        }
        if (open && now >= c.deadline) {
          open = false;
          Count(&HttpServerStats::timed_out);
        }
        if (open) {
          keep.push_back(std::move(c));
        } else {
          ::close(c.fd);
        }
      }
      conns.swap(keep);
      if (fds[1].revents & POLLIN) Accept();
    }
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const BindAddress& address, Routes routes,
                                                      HttpServerOptions options) {
  const std::string where = address.ToListeningPort();
  auto loop = std::make_unique<Loop>();
  loop->routes = std::move(routes);
  loop->options = options;
  if (loop->options.max_connections < 1) loop->options.max_connections = 1;

  bool v6 = address.host.find(':') != std::string::npos;
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET6, address.host.c_str(), &a->sin6_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(address.port));
    if (address.host.empty()) {
      a->sin_addr.s_addr = htonl(INADDR_ANY);
    } else {
      inet_pton(AF_INET, address.host.c_str(), &a->sin_addr);
    }
    len = sizeof(*a);
  }
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unavailable("cannot listen on " + where + ": " + std::strerror(errno));
  loop->listen_fd = fd;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 128) != 0) {
    return Unavailable("cannot listen on " + where + ": " + std::strerror(errno));
  }
  if (::pipe2(loop->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Internal(std::string("pipe: ") + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return Internal("listening on " + where + " but the bound port is unknown");
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                           : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  server->loop_ = std::move(loop);
  server->thread_ = std::thread([l = server->loop_.get()] { l->Run(); });
  return server;
}

HttpServerStats HttpServer::Stats() const {
  std::lock_guard lock(loop_->stats_mu);
  return loop_->stats;
}

HttpServer::~HttpServer() {
  if (!loop_) return;
  loop_->stopping = true;
  char b = 1;
  [[maybe_unused]] ssize_t n = ::write(loop_->wake[1], &b, 1);
  if (thread_.joinable()) thread_.join();
}

}  // namespace certguard::metrics
