// Watch events and the framing of a watch stream: newline-delimited JSON
// objects that may arrive split anywhere across chunks.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace certguard::kube {

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };

const char* EventTypeName(EventType type);

struct WatchEvent {
  EventType type = EventType::kAdded;
  nlohmann::json object;  // for kError, a Status object
};

// Return false to stop the watch.
using WatchEventFn = std::function<bool(WatchEvent&& event)>;

// Splits a byte stream into watch events. Not thread-safe (one per stream).
class WatchDecoder {
 public:
  static constexpr size_t kDefaultMaxLine = 64u << 20;
  // `drop`: paths of the event's object never built, as in ParseWatchEvent.
  explicit WatchDecoder(size_t max_line = kDefaultMaxLine, std::vector<std::string> drop = {});

  // Delivers every event completed by `chunk`, in order. Blank lines are
  // skipped. InvalidArgument for a line that is not a watch event or is longer
  // than max_line (the stream should then be dropped). Returns OK early, and
  // stops delivering, once `on_event` returns false (see stopped()).
  Status Feed(std::string_view chunk, const WatchEventFn& on_event);

  // Bytes of an incomplete line held back.
  size_t buffered() const { return buffer_.size(); }
  bool stopped() const { return stopped_; }

 private:
  Status DecodeLine(std::string_view line, const WatchEventFn& on_event);

  size_t max_line_;
  std::vector<std::string> drop_;  // prefixed with "object."
  std::string buffer_;
  bool stopped_ = false;
};

// Parses one event line (no newline). InvalidArgument when malformed. The value
// of each path on `drop` (object keys from the root of the event, dot-separated:
// "object.metadata.managedFields") is skipped by the parser, never built.
Result<WatchEvent> ParseWatchEvent(std::string_view line,
                                   const std::vector<std::string>& drop = {});

}  // namespace certguard::kube
