// What a transport can do besides HttpTransport: hand the body of a one-off
// request over as it arrives, so that a large List is parsed while it is
// received and never held whole. RestClient::ListEach uses it when its
// transport has it (the HTTPS one does) and otherwise reads the body whole.
#pragma once

#include "kube/http.h"

namespace certguard::kube {

class BodyStreamer {
 public:
  virtual ~BodyStreamer() = default;

  // One request like HttpTransport::Do, except that a 2xx body goes to
  // `on_chunk` as it arrives (the response's body is then empty); any other
  // status collects the body as Do does. `on_chunk` returning false stops
  // reading (the connection is dropped) and the call returns the response.
  // `request.timeout` bounds each silence, not the whole body. Thread-safe.
  virtual Result<HttpResponse> DoStreaming(const HttpRequest& request, const ChunkFn& on_chunk) = 0;
};

}  // namespace certguard::kube
