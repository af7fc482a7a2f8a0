#include "support/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace certguard::testing {

namespace {

// Decodes a chunked body strictly (no extensions, no trailers): what precedes
// the first malformed or missing part, and `incomplete` set then.
std::string Unchunk(const std::string& in, bool& incomplete) {
  std::string out;
  size_t at = 0;
  for (;;) {
    size_t eol = in.find("\r\n", at);
    if (eol == std::string::npos || eol == at) break;
    size_t size = 0;
    try {
      size_t used = 0;
      size = std::stoul(in.substr(at, eol - at), &used, 16);
      if (used != eol - at) break;
    } catch (const std::exception&) {
      break;
    }
    at = eol + 2;
    if (size == 0) {
      incomplete = in.compare(at, std::string::npos, "\r\n") != 0;
      return out;
    }
    if (in.size() < at + size + 2 || in.compare(at + size, 2, "\r\n") != 0) break;
    out.append(in, at, size);
    at += size + 2;
  }
  incomplete = true;
  return out;
}

HttpReply Get(int port, const std::string& path, const std::string& method, int timeout_ms) {
  HttpReply reply;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return reply;
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline) {
      close(fd);
      return reply;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t split = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || split == std::string::npos) return reply;
  reply.headers = raw.substr(0, split);
  reply.body = raw.substr(split + 4);
  reply.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  if (method != "HEAD" &&
      reply.headers.find("\r\nTransfer-Encoding: chunked") != std::string::npos) {
    reply.chunked = true;
    reply.body = Unchunk(reply.body, reply.incomplete);
  }
  return reply;
}

}  // namespace

HttpReply HttpGet(int port, const std::string& path, const std::string& method) {
  return Get(port, path, method, 10000);
}

HttpReply HttpGetWithin(int port, const std::string& path, int timeout_ms) {
  return Get(port, path, "GET", timeout_ms);
}

int OpenIdleConnection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace certguard::testing
