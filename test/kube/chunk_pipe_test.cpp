#include "kube/chunk_pipe.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/wait.h"

using certguard::kube::ChunkPipe;
using certguard::testing::WaitFor;
using namespace std::chrono_literals;

TEST_CASE("ChunkPipe hands bytes over in order, then the end", "[kube][chunk_pipe]") {
  ChunkPipe pipe;
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) REQUIRE(pipe.Push(std::to_string(i) + ","));
    REQUIRE(pipe.Push(""));  // nothing to hand over, still accepted
    pipe.Close();
  });
  std::string got;
  for (std::string_view piece; !(piece = pipe.Next()).empty();) got += piece;
  producer.join();
  std::string want;
  for (int i = 0; i < 100; ++i) want += std::to_string(i) + ",";
  CHECK(got == want);
  CHECK(pipe.Next().empty());  // the end stays the end
}

TEST_CASE("ChunkPipe's iterator hands runs over a piece at a time, mixed with single bytes",
          "[kube][chunk_pipe]") {
  ChunkPipe pipe;
  REQUIRE(pipe.Push("abc"));
  REQUIRE(pipe.Push("de"));
  pipe.Close();
  auto it = pipe.begin();
  REQUIRE(it != pipe.end());  // fetches the first piece, as every reader compares first
  CHECK(*it == 'a');
  CHECK(it.Span() == "abc");
  it.Skip(2);
  CHECK(it.Span() == "c");
  ++it;
  CHECK(it.Span() == "de");  // the next piece, once the current one is read
  CHECK(*it == 'd');
  it.Skip(2);
  CHECK(it.Span().empty());
  CHECK(it == pipe.end());
}

TEST_CASE("ChunkPipe holds a producer back once the bound is reached", "[kube][chunk_pipe]") {
  ChunkPipe pipe(10);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int i = 0; i < 3; ++i) {
      if (pipe.Push("abcdef")) ++pushed;
    }
    pipe.Close();
  });
  REQUIRE(WaitFor([&] { return pushed.load() == 1; }));
  // 6 bytes wait; 6 more would pass the bound of 10.
  std::this_thread::sleep_for(50ms);
  CHECK(pushed.load() == 1);
  CHECK(pipe.Next() == "abcdef");
  REQUIRE(WaitFor([&] { return pushed.load() == 2; }));
  CHECK(pipe.Next() == "abcdef");
  CHECK(pipe.Next() == "abcdef");
  CHECK(pipe.Next().empty());
  producer.join();
  CHECK(pushed.load() == 3);
}

TEST_CASE("ChunkPipe lets a piece larger than the bound through, alone", "[kube][chunk_pipe]") {
  ChunkPipe pipe(4);
  REQUIRE(pipe.Push("0123456789"));
  CHECK(pipe.Next() == "0123456789");
}

TEST_CASE("ChunkPipe: once the reader abandons it, a waiting and every later Push say stop",
          "[kube][chunk_pipe]") {
  ChunkPipe pipe(4);
  REQUIRE(pipe.Push("abcd"));
  std::atomic<int> result{-1};
  std::thread producer([&] { result = pipe.Push("efgh") ? 1 : 0; });
  std::this_thread::sleep_for(20ms);
  CHECK(result.load() == -1);  // waiting on the bound
  pipe.Abandon();
  producer.join();
  CHECK(result.load() == 0);
  CHECK_FALSE(pipe.Push("ijkl"));
  CHECK(pipe.Next().empty());
}

TEST_CASE("ChunkPipe's iterator feeds a JSON parser across any split", "[kube][chunk_pipe]") {
  const std::string text = R"({"items":[{"name":"a\u00e9\"b"},{"n":[1,-2.5e3,true,null]}],"k":"v"})";
  for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, text.size()}) {
    ChunkPipe pipe(16);
    std::thread producer([&] {
      for (size_t at = 0; at < text.size(); at += piece) {
        if (!pipe.Push(std::string_view(text).substr(at, piece))) break;
      }
      pipe.Close();
    });
    nlohmann::json out = nlohmann::json::parse(pipe.begin(), pipe.end());
    pipe.Abandon();
    producer.join();
    CHECK(out == nlohmann::json::parse(text));
  }
}

TEST_CASE("ChunkPipe's iterator ends where the producer closed: a cut text is an error",
          "[kube][chunk_pipe]") {
  ChunkPipe pipe;
  REQUIRE(pipe.Push(R"({"items":[{"a":)"));
  pipe.Close();
  CHECK_THROWS(nlohmann::json::parse(pipe.begin(), pipe.end()));
}
