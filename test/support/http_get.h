// A blocking HTTP/1.1 client for tests: one request to 127.0.0.1, read to EOF.
#pragma once

#include <string>

namespace certguard::testing {

struct HttpReply {
  int status = 0;       // 0 when the connection failed or the reply was not HTTP
  std::string headers;  // the raw header block, status line included
  std::string body;     // with chunked transfer coding: decoded
  bool chunked = false;
  bool incomplete = false;  // a chunked body that ended before its terminating chunk
};

HttpReply HttpGet(int port, const std::string& path, const std::string& method = "GET");
// The same with a bound on connect + send + receive: status 0 when it takes longer.
HttpReply HttpGetWithin(int port, const std::string& path, int timeout_ms);

// Opens a TCP connection to 127.0.0.1:port and sends nothing: an idle client.
// Returns the descriptor, -1 when the connection failed. The caller closes it.
int OpenIdleConnection(int port);

}  // namespace certguard::testing
