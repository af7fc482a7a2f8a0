#include "x509/server_chain.h"

#include <catch2/catch.hpp>

using certguard::x509::CheckServerChain;

// Refusals that come before any connection: the URL.
TEST_CASE("CheckServerChain refuses URLs it cannot check, without connecting", "[x509][server-chain]") {
  struct Case {
    const char* url;
    const char* reason;
  };
  for (const Case& c : {Case{"http://127.0.0.1:6443", "not an https URL"},
                        Case{"127.0.0.1:6443", "not an https URL"},
                        Case{"https://user@127.0.0.1:6443", "user information"},
                        Case{"https://[::1:6443", "unterminated IPv6"},
                        Case{"https://[::1]x", "junk after the IPv6"},
                        Case{"https://:6443", "without a host"},
                        Case{"https://127.0.0.1:64x3", "bad port"},
                        Case{"https://127.0.0.1:123456", "bad port"}}) {
    auto r = CheckServerChain(c.url, "", std::chrono::milliseconds(100));
    INFO(c.url << " -> " << r.reason);
    CHECK_FALSE(r.reached);
    CHECK_FALSE(r.verified);
    CHECK(r.reason.find(c.reason) != std::string::npos);
  }
}

TEST_CASE("CheckServerChain: nothing listening is not reached, with the connect error", "[x509][server-chain]") {
  // Port 1 on loopback: refused at once (nothing runs there as an unprivileged test).
  auto r = CheckServerChain("https://127.0.0.1:1/api", "", std::chrono::milliseconds(2000));
  CHECK_FALSE(r.reached);
  CHECK_FALSE(r.verified);
  CHECK(r.reason.rfind("connect: ", 0) == 0);
}
