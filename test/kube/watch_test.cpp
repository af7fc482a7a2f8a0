#include "kube/watch.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using certguard::Code;
using certguard::kube::EventType;
using certguard::kube::WatchDecoder;
using certguard::kube::WatchEvent;

namespace {

const std::string kStream =
    R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"}}})"
    "\n"
    R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"2"},"data":{"k":"v\nw"}}})"
    "\r\n"
    "\n"
    R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}})"
    "\n"
    R"({"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"8"}}})"
    "\n"
    R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})"
    "\n";

struct Seen {
  std::vector<EventType> types;
  std::vector<std::string> rvs;
};

void Check(const Seen& s) {
  REQUIRE(s.types.size() == 5);
  CHECK(s.types[0] == EventType::kAdded);
  CHECK(s.types[1] == EventType::kModified);
  CHECK(s.types[2] == EventType::kBookmark);
  CHECK(s.types[3] == EventType::kDeleted);
  CHECK(s.types[4] == EventType::kError);
  CHECK(s.rvs == std::vector<std::string>{"1", "2", "7", "8", ""});
}

auto Collect(Seen& s) {
  return [&s](WatchEvent&& ev) {
    s.types.push_back(ev.type);
    s.rvs.push_back(ev.object.contains("metadata")
                        ? ev.object["metadata"].value("resourceVersion", "")
                        : "");
    return true;
  };
}

}  // namespace

TEST_CASE("Watch decoder: whole stream in one chunk", "[kube][watch]") {
  WatchDecoder d;
  Seen s;
  REQUIRE(d.Feed(kStream, Collect(s)).ok());
  Check(s);
  CHECK(d.buffered() == 0);
}

TEST_CASE("Watch decoder: stream split at every byte boundary", "[kube][watch]") {
  for (size_t i = 0; i <= kStream.size(); ++i) {
    WatchDecoder d;
    Seen s;
    REQUIRE(d.Feed(std::string_view(kStream).substr(0, i), Collect(s)).ok());
    REQUIRE(d.Feed(std::string_view(kStream).substr(i), Collect(s)).ok());
    INFO("split at " << i);
    Check(s);
    CHECK(d.buffered() == 0);
  }
}

TEST_CASE("Watch decoder: split at every pair of boundaries and byte by byte", "[kube][watch]") {
  const std::string_view all(kStream);
  for (size_t i = 0; i <= all.size(); i += 3) {
    for (size_t j = i; j <= all.size(); j += 7) {
      WatchDecoder d;
      Seen s;
      REQUIRE(d.Feed(all.substr(0, i), Collect(s)).ok());
      REQUIRE(d.Feed(all.substr(i, j - i), Collect(s)).ok());
      REQUIRE(d.Feed(all.substr(j), Collect(s)).ok());
      Check(s);
    }
  }
  WatchDecoder d;
  Seen s;
  for (char c : kStream) REQUIRE(d.Feed(std::string_view(&c, 1), Collect(s)).ok());
  Check(s);
}

TEST_CASE("Watch decoder: an incomplete last line is held back", "[kube][watch]") {
  WatchDecoder d;
  Seen s;
  std::string partial = R"({"type":"ADDED","object":{"metadata":{"name":"x"}}})";
  REQUIRE(d.Feed(partial, Collect(s)).ok());
  CHECK(s.types.empty());
  CHECK(d.buffered() == partial.size());
  REQUIRE(d.Feed("\n", Collect(s)).ok());
  CHECK(s.types.size() == 1);
}

TEST_CASE("Watch decoder: the consumer can stop mid-chunk", "[kube][watch]") {
  WatchDecoder d;
  int n = 0;
  REQUIRE(d.Feed(kStream, [&](WatchEvent&&) { return ++n < 2; }).ok());
  CHECK(n == 2);
  CHECK(d.stopped());
  REQUIRE(d.Feed(kStream, [&](WatchEvent&&) { return ++n < 100; }).ok());
  CHECK(n == 2);
}

TEST_CASE("Watch decoder rejects malformed lines", "[kube][watch]") {
  auto ignore = [](WatchEvent&&) { return true; };
  for (const char* bad : {"not json\n", "[1,2]\n", "{\"type\":\"ADDED\"}\n",
                          "{\"type\":\"ADDED\",\"object\":\"str\"}\n",
                          "{\"type\":\"EXPLODED\",\"object\":{}}\n",
                          "{\"type\":7,\"object\":{}}\n", "{\"type\":\"ADDED\",\"obj\n"}) {
    WatchDecoder d;
    INFO(bad);
    certguard::Status s = d.Feed(bad, ignore);
    CHECK(s.code() == Code::kInvalidArgument);
  }
}

TEST_CASE("Watch decoder bounds the line length", "[kube][watch]") {
  WatchDecoder d(64);
  auto ignore = [](WatchEvent&&) { return true; };
  std::string long_line(40, 'x');
  REQUIRE(d.Feed(long_line, ignore).ok());
  CHECK(d.Feed(long_line, ignore).code() == Code::kInvalidArgument);
  WatchDecoder d2(64);
  CHECK(d2.Feed(std::string(100, 'y') + "\n", ignore).code() == Code::kInvalidArgument);
}

TEST_CASE("Watch decoder drops the object's fields asked for, never the event's", "[kube][watch]") {
  WatchDecoder d(WatchDecoder::kDefaultMaxLine, {"metadata.managedFields", "type"});
  std::vector<WatchEvent> seen;
  const std::string line =
      R"({"type":"ADDED","object":{"type":"kept? no","metadata":{"name":"a","managedFields":[{}]}}})"
      "\n";
  REQUIRE(d.Feed(line, [&](WatchEvent&& ev) {
                 seen.push_back(std::move(ev));
                 return true;
               }).ok());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].type == EventType::kAdded);
  CHECK(seen[0].object == nlohmann::json::parse(R"({"metadata":{"name":"a"}})"));
}
