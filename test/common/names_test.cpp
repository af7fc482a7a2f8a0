// Kubernetes name rules.
#include "common/names.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace certguard::common;

TEST_CASE("IsDnsLabel takes RFC 1123 labels only", "[common][names]") {
  CHECK(IsDnsLabel("kube-system"));
  CHECK(IsDnsLabel("0"));
  CHECK(IsDnsLabel("a-0"));
  CHECK(IsDnsLabel(std::string(63, 'z')));
  for (const std::string& bad : std::vector<std::string>{"", "-a", "a-", "A", "a_b", "a.b", "a b", std::string(64, 'a'),
                                std::string("a\0b", 3)}) {
    INFO(bad);
    CHECK_FALSE(IsDnsLabel(bad));
  }
}

TEST_CASE("IsDnsSubdomain takes dot-separated labels up to 253 characters", "[common][names]") {
  CHECK(IsDnsSubdomain("worker-1"));
  CHECK(IsDnsSubdomain("worker-1.example.com"));
  CHECK(IsDnsSubdomain("kube-root-ca.crt"));
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                        std::string(63, 'c') + "." + std::string(61, 'd');
  REQUIRE(longest.size() == 253);
  CHECK(IsDnsSubdomain(longest));
  for (const std::string& bad : std::vector<std::string>{"", ".", "a.", ".a", "a..b", "a.-b", "a-.b", "Worker-1",
                                "*.example.com", "a_b.c", longest + "e",
                                std::string(64, 'a') + ".b"}) {
    INFO(bad);
    CHECK_FALSE(IsDnsSubdomain(bad));
  }
}
