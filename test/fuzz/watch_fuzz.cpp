// WatchDecoder on arbitrary bytes: never crashes, and framing does not depend on
// how the stream is cut into chunks. The same bytes fed whole and fed in pieces
// (cut points chosen by the first input byte) give the same events, the same
// error-or-not, and the same bytes held back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "kube/watch.h"

using namespace certguard::kube;

namespace {

struct Outcome {
  std::vector<std::string> events;  // "TYPE object-json"
  bool failed = false;
  size_t buffered = 0;
};

// Feeds `chunks` until the first error (the caller then drops the stream).
Outcome Decode(const std::vector<std::string_view>& chunks, size_t max_line) {
  Outcome out;
  WatchDecoder decoder(max_line);
  auto collect = [&](WatchEvent&& ev) {
    out.events.push_back(std::string(EventTypeName(ev.type)) + " " + ev.object.dump());
    return true;
  };
  for (std::string_view chunk : chunks) {
    if (!decoder.Feed(chunk, collect).ok()) {
      out.failed = true;
      return out;
    }
  }
  out.buffered = decoder.buffered();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 17;       // chunk length pattern
  const size_t max_line = 64 + data[0] * 16;  // small, so the length limit is reached too
  std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  Outcome whole = Decode({stream}, max_line);
  std::vector<std::string_view> pieces;
  for (size_t at = 0, i = 0; at < stream.size(); ++i) {
    size_t len = std::min(stream.size() - at, step + (i % 3));
    pieces.push_back(stream.substr(at, len));
    at += len;
  }
  Outcome split = Decode(pieces, max_line);

  FUZZ_CHECK(whole.failed == split.failed);
  FUZZ_CHECK(whole.events == split.events);
  if (!whole.failed) FUZZ_CHECK(whole.buffered == split.buffered);
  FUZZ_CHECK(whole.buffered <= max_line);
  return 0;
}
