#include "kube/watch.h"

#include "common/json_parse.h"
#include "kube/json_sax.h"

namespace certguard::kube {

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
    case EventType::kBookmark: return "BOOKMARK";
    case EventType::kError: return "ERROR";
  }
  return "UNKNOWN";
}

Result<WatchEvent> ParseWatchEvent(std::string_view line, const std::vector<std::string>& drop) {
  auto parsed = ParseJsonPruned(line, drop);
  if (!parsed.ok() && common::IsTooDeep(parsed.status())) {
    return parsed.status().Annotate("watch event");
  }
  if (!parsed.ok() || !parsed->is_object()) {
    return InvalidArgument("watch event is not a JSON object");
  }
  nlohmann::json& j = *parsed;
  auto type = j.find("type");
  auto object = j.find("object");
  if (type == j.end() || !type->is_string() || object == j.end() || !object->is_object()) {
    return InvalidArgument("watch event lacks type or object");
  }
  const std::string& t = type->get_ref<const std::string&>();
  WatchEvent ev;
  if (t == "ADDED") {
    ev.type = EventType::kAdded;
  } else if (t == "MODIFIED") {
    ev.type = EventType::kModified;
  } else if (t == "DELETED") {
    ev.type = EventType::kDeleted;
  } else if (t == "BOOKMARK") {
    ev.type = EventType::kBookmark;
  } else if (t == "ERROR") {
    ev.type = EventType::kError;
  } else {
    return InvalidArgument("unknown watch event type \"" + t.substr(0, 32) + "\"");
  }
  ev.object = std::move(*object);
  return ev;
}

WatchDecoder::WatchDecoder(size_t max_line, std::vector<std::string> drop) : max_line_(max_line) {
  drop_.reserve(drop.size());
  for (auto& d : drop) drop_.push_back("object." + d);
}

Status WatchDecoder::DecodeLine(std::string_view line, const WatchEventFn& on_event) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  bool blank = true;
  for (char c : line) {
    if (c != ' ' && c != '\t') {
      blank = false;
      break;
    }
  }
  if (blank) return Status::Ok();
  auto ev = ParseWatchEvent(line, drop_);
  if (!ev.ok()) return ev.status();
  if (!on_event(std::move(ev).value())) stopped_ = true;
  return Status::Ok();
}

Status WatchDecoder::Feed(std::string_view chunk, const WatchEventFn& on_event) {
  if (stopped_) return Status::Ok();
  while (!chunk.empty()) {
    auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      if (buffer_.size() + chunk.size() > max_line_) {
        return InvalidArgument("watch event longer than " + std::to_string(max_line_) + " bytes");
      }
      buffer_.append(chunk);
      return Status::Ok();
    }
    std::string_view piece = chunk.substr(0, nl);
    chunk.remove_prefix(nl + 1);
    Status s;
    if (buffer_.empty()) {
      if (piece.size() > max_line_) {
        return InvalidArgument("watch event longer than " + std::to_string(max_line_) + " bytes");
      }
      s = DecodeLine(piece, on_event);
    } else {
      if (buffer_.size() + piece.size() > max_line_) {
        return InvalidArgument("watch event longer than " + std::to_string(max_line_) + " bytes");
      }
      buffer_.append(piece);
      std::string line;
      line.swap(buffer_);
      s = DecodeLine(line, on_event);
    }
    if (!s.ok()) return s;
    if (stopped_) return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace certguard::kube
