// IpAddress and IpRange.
#include <catch2/catch.hpp>
#include <string>

#include "x509/types.h"

using certguard::Code;
using certguard::x509::IpAddress;
using certguard::x509::IpRange;

TEST_CASE("IpAddress parses and prints canonical text", "[x509][ip]") {
  struct Case {
    const char* in;
    const char* out;
    bool v4;
  };
  for (const Case& c : std::vector<Case>{
           {"10.0.0.11", "10.0.0.11", true},
           {"0.0.0.0", "0.0.0.0", true},
           {"255.255.255.255", "255.255.255.255", true},
           {"fd00:0:0:0:0:0:0:11", "fd00::11", false},
           {"FD00::0011", "fd00::11", false},
           {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", false},  // RFC 5952: first longest run
           {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", false},  // no :: for one group
           {"::", "::", false},
           {"::1", "::1", false},
           {"::ffff:10.0.0.1", "10.0.0.1", true},  // IPv4-mapped is the IPv4 address
           {"::ffff:a00:1", "10.0.0.1", true},
           // ::/96 is not IPv4-mapped: Go writes hex groups where glibc's
           // inet_ntop writes "::128.0.0.17" (found by the csr_parity fuzzer).
           {"::8000:11", "::8000:11", false},
           {"::128.0.0.17", "::8000:11", false},
           {"::a00:1", "::a00:1", false},
           {"0:0:0:0:0:1:0:0", "::1:0:0", false},
           {"1:0:0:2:0:0:0:3", "1:0:0:2::3", false},  // the longer run, not the first
           {"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0", false},
       }) {
    CAPTURE(c.in);
    auto ip = IpAddress::Parse(c.in);
    REQUIRE(ip.ok());
    CHECK(ip->ToString() == c.out);
    CHECK(ip->is_v4() == c.v4);
    // Round trip.
    CHECK(*IpAddress::Parse(ip->ToString()) == *ip);
  }
}

TEST_CASE("IpAddress equality ignores spelling", "[x509][ip]") {
  CHECK(*IpAddress::Parse("fd00::11") == *IpAddress::Parse("fd00:0:0:0:0:0:0:11"));
  CHECK(*IpAddress::Parse("::ffff:192.0.2.1") == *IpAddress::Parse("192.0.2.1"));
  CHECK_FALSE(*IpAddress::Parse("::192.0.2.1") == *IpAddress::Parse("192.0.2.1"));  // not mapped
  CHECK_FALSE(*IpAddress::Parse("10.0.0.1") == *IpAddress::Parse("10.0.0.2"));
}

TEST_CASE("IpAddress rejects what is not an address", "[x509][ip]") {
  for (const std::string& bad : std::vector<std::string>{
           "", " 10.0.0.1", "10.0.0.1 ", "10.0.0", "10.0.0.256", "010.0.0.1", "1.2.3.4.5",
           "0x0a.0.0.1", "10.0.0.1/32", "fe80::1%eth0", ":::", "1:2:3:4:5:6:7:8:9", "gggg::",
           "localhost", std::string("10.0.0.1\0", 9), std::string(100, '1')}) {
    CAPTURE(bad);
    auto ip = IpAddress::Parse(bad);
    REQUIRE_FALSE(ip.ok());
    CHECK(ip.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("IpAddress::FromBytes takes 4 or 16 bytes", "[x509][ip]") {
  const uint8_t v4[4] = {192, 168, 0, 1};
  auto a = IpAddress::FromBytes(v4, 4);
  REQUIRE(a.ok());
  CHECK(a->ToString() == "192.168.0.1");
  CHECK(a->bytes()[10] == 0xff);
  CHECK(a->bytes()[12] == 192);

  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 1;
  auto b = IpAddress::FromBytes(v6, 16);
  REQUIRE(b.ok());
  CHECK(b->ToString() == "2001:db8::1");

  for (size_t len : {0u, 3u, 5u, 8u, 15u, 17u, 32u}) {
    uint8_t buf[32] = {};
    auto bad = IpAddress::FromBytes(buf, len);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().message() == "an IP address is 4 or 16 bytes, got " + std::to_string(len));
  }
}

TEST_CASE("IpAddress classifies special addresses", "[x509][ip]") {
  auto P = [](const char* s) { return *IpAddress::Parse(s); };
  CHECK(P("127.0.0.1").IsLoopback());
  CHECK(P("127.255.0.9").IsLoopback());
  CHECK(P("::1").IsLoopback());
  CHECK(P("::ffff:127.0.0.1").IsLoopback());
  CHECK_FALSE(P("10.0.0.1").IsLoopback());
  CHECK_FALSE(P("::2").IsLoopback());

  CHECK(P("0.0.0.0").IsUnspecified());
  CHECK(P("::").IsUnspecified());
  CHECK_FALSE(P("0.0.0.1").IsUnspecified());

  CHECK(P("169.254.169.254").IsLinkLocal());
  CHECK(P("fe80::1").IsLinkLocal());
  CHECK(P("febf::1").IsLinkLocal());
  CHECK_FALSE(P("fec0::1").IsLinkLocal());
  CHECK_FALSE(P("169.253.0.1").IsLinkLocal());

  CHECK(P("224.0.0.1").IsMulticast());
  CHECK(P("239.255.255.255").IsMulticast());
  CHECK(P("ff02::1").IsMulticast());
  CHECK_FALSE(P("240.0.0.1").IsMulticast());
}

TEST_CASE("IpRange parses CIDRs and tests membership", "[x509][ip]") {
  auto P = [](const char* s) { return *IpAddress::Parse(s); };

  auto r8 = IpRange::Parse("10.0.0.0/8");
  REQUIRE(r8.ok());
  CHECK(r8->ToString() == "10.0.0.0/8");
  CHECK(r8->Contains(P("10.0.0.0")));
  CHECK(r8->Contains(P("10.255.255.255")));
  CHECK(r8->Contains(P("::ffff:10.1.2.3")));
  CHECK_FALSE(r8->Contains(P("11.0.0.0")));
  CHECK_FALSE(r8->Contains(P("9.255.255.255")));
  CHECK_FALSE(r8->Contains(P("a00::1")));  // IPv6 never matches an IPv4 range

  auto r20 = IpRange::Parse("172.16.0.0/12");
  REQUIRE(r20.ok());
  CHECK(r20->Contains(P("172.31.255.1")));
  CHECK_FALSE(r20->Contains(P("172.32.0.1")));

  auto host = IpRange::Parse("192.168.1.7/32");
  REQUIRE(host.ok());
  CHECK(host->Contains(P("192.168.1.7")));
  CHECK_FALSE(host->Contains(P("192.168.1.6")));

  auto all4 = IpRange::Parse("0.0.0.0/0");
  REQUIRE(all4.ok());
  CHECK(all4->Contains(P("203.0.113.9")));
  CHECK_FALSE(all4->Contains(P("::1")));

  auto v6 = IpRange::Parse("fd00:0::/64");
  REQUIRE(v6.ok());
  CHECK(v6->ToString() == "fd00::/64");
  CHECK(v6->Contains(P("fd00::11")));
  CHECK(v6->Contains(P("fd00::ffff:ffff:ffff:ffff")));
  CHECK_FALSE(v6->Contains(P("fd00:0:0:1::1")));
  CHECK_FALSE(v6->Contains(P("10.0.0.1")));

  auto odd = IpRange::Parse("2001:db8::/29");
  REQUIRE(odd.ok());
  CHECK(odd->Contains(P("2001:dbf:ffff::1")));
  CHECK_FALSE(odd->Contains(P("2001:dc0::1")));

  auto all6 = IpRange::Parse("::/0");
  REQUIRE(all6.ok());
  CHECK(all6->Contains(P("2001:db8::1")));
  CHECK_FALSE(all6->Contains(P("10.0.0.1")));  // IPv4 (and IPv4-mapped) live in IPv4 ranges

  auto mapped = IpRange::Parse("::ffff:10.0.0.0/104");
  REQUIRE(mapped.ok());
  CHECK(mapped->ToString() == "10.0.0.0/8");
  CHECK(mapped->Contains(P("10.9.9.9")));
}

TEST_CASE("IpRange rejects bad CIDRs", "[x509][ip]") {
  for (const char* bad :
       {"", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8",
        "10.0.0.0/8 ", "10.0.0.0/08x", "10.0.0.0/0008", "/8", "10.0.0/8", "fd00::/129",
        "fd00::/64/64", "::ffff:10.0.0.0/95", "host.example/24"}) {
    CAPTURE(bad);
    auto r = IpRange::Parse(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("IpRange refuses host bits and names the network meant", "[x509][ip]") {
  auto r = IpRange::Parse("10.0.0.5/8");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "CIDR range \"10.0.0.5/8\" has host bits set; did you mean 10.0.0.0/8?");
  auto r6 = IpRange::Parse("fd00::1/64");
  REQUIRE_FALSE(r6.ok());
  CHECK(r6.status().message() ==
        "CIDR range \"fd00::1/64\" has host bits set; did you mean fd00::/64?");
  auto odd = IpRange::Parse("192.168.1.128/25");
  CHECK(odd.ok());
  auto odd_bad = IpRange::Parse("192.168.1.64/25");
  REQUIRE_FALSE(odd_bad.ok());
  CHECK(odd_bad.status().message().find("did you mean 192.168.1.0/25?") != std::string::npos);
}
