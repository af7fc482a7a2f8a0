#include "expiry/check.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "support/pki.h"
#include "x509/parse.h"

using namespace std::chrono;
using namespace certguard::expiry;
using certguard::Code;
using namespace certguard::testing;
using certguard::x509::Time;

namespace {

const Time kNow = sys_days{2026y / November / 24} + hours{5} + minutes{18} + seconds{33};

Finding Found(std::string source, const Cert& cert) {
  auto info = certguard::x509::ParseCertificate(cert.pem);
  REQUIRE(info.ok());
  return Finding{std::move(source), FactsOf(*info), ""};
}

// A small kubeadm-like PKI, valid relative to kNow.
struct Pki {
  // 3285 days = 9 x 365: with Feb 29 of 2028 and 2032, two days short of Nov 24, 2035.
  Cert ca = CertBuilder().Cn("kubernetes").Ca().Serial("01")
                .NotBefore(kNow - days{365}).NotAfter(kNow + days{3285}).Build();
  Cert front_ca = CertBuilder().Cn("front-proxy-ca").Ca().Serial("02")
                      .NotBefore(kNow - days{365}).NotAfter(kNow + days{60}).Build();
  Cert apiserver = CertBuilder().Cn("kube-apiserver").IssuedBy(ca).Serial("10")
                       .NotBefore(kNow - days{300}).NotAfter(kNow + days{65}).Build();
  Cert kubelet = CertBuilder().Cn("system:node:worker-1").O("system:nodes").IssuedBy(ca)
                     .Serial("11").NotBefore(kNow - days{364}).NotAfter(kNow + hours{20}).Build();
  Cert expired = CertBuilder().Cn("front-proxy-client").IssuedBy(front_ca).Serial("12")
                     .NotBefore(kNow - days{400}).NotAfter(kNow - days{35}).Build();
};

}  // namespace

TEST_CASE("ParseWindow takes days, hours, minutes, seconds and combinations", "[expiry][cli]") {
  CHECK(*ParseWindow("30d") == days{30});
  CHECK(*ParseWindow("12h") == hours{12});
  CHECK(*ParseWindow("90m") == minutes{90});
  CHECK(*ParseWindow("45s") == seconds{45});
  CHECK(*ParseWindow("1d12h") == hours{36});
  CHECK(*ParseWindow("2d30m15s") == days{2} + minutes{30} + seconds{15});
  CHECK(*ParseWindow("1.5h") == minutes{90});
  CHECK(*ParseWindow("0") == seconds{0});
  for (const char* bad : {"", "d", "30", "-1d", "30days", "1d-2h", "1w", "d1", "1d1d", "999999d",
                          "30 d", "1h1d"}) {
    INFO(bad);
    auto r = ParseWindow(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("ResidualTime and dates read like kubeadm's", "[expiry][cli]") {
  CHECK(ResidualTime(seconds{-5}) == "<expired>");
  CHECK(ResidualTime(seconds{0}) == "<expired>");
  CHECK(ResidualTime(seconds{45}) == "45s");
  CHECK(ResidualTime(minutes{59} + seconds{59}) == "59m");
  CHECK(ResidualTime(hours{23}) == "23h");
  CHECK(ResidualTime(days{364} + hours{23}) == "364d");
  CHECK(ResidualTime(days{365}) == "1y");
  CHECK(ResidualTime(days{3650}) == "10y");
  CHECK(FormatExpires(kNow) == "Nov 24, 2026 05:18 UTC");
  CHECK(FormatExpires(sys_days{9999y / December / 31} + hours{23} + minutes{59}) ==
        "Dec 31, 9999 23:59 UTC");
}

TEST_CASE("The table follows kubeadm certs check-expiration (golden)", "[expiry][cli]") {
  Pki pki;
  std::vector<Finding> findings = {
      Found("/etc/kubernetes/pki/apiserver.crt", pki.apiserver),
      Found("/etc/kubernetes/pki/ca.crt", pki.ca),
      Finding{"/etc/kubernetes/pki/broken.crt", std::nullopt, "certificate 1: bad base64"},
      Found("/etc/kubernetes/pki/front-proxy-ca.crt", pki.front_ca),
      Found("/etc/kubernetes/pki/front-proxy-client.crt", pki.expired),
      Found("/var/lib/kubelet/pki/kubelet-client-current.pem (user default-auth in "
            "/etc/kubernetes/kubelet.conf)",
            pki.kubelet),
  };
  const std::string expected =
      "CERTIFICATE            EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   SOURCE\n"
      "kube-apiserver         Jan 28, 2027 05:18 UTC   65d             kubernetes              /etc/kubernetes/pki/apiserver.crt\n"
      "front-proxy-client     Oct 20, 2026 05:18 UTC   <expired>       front-proxy-ca          /etc/kubernetes/pki/front-proxy-client.crt\n"
      "system:node:worker-1   Nov 25, 2026 01:18 UTC   20h             kubernetes              /var/lib/kubelet/pki/kubelet-client-current.pem (user default-auth in /etc/kubernetes/kubelet.conf)\n"
      "\n"
      "CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   SOURCE\n"
      "kubernetes              Nov 22, 2035 05:18 UTC   9y              /etc/kubernetes/pki/ca.crt\n"
      "front-proxy-ca          Jan 23, 2027 05:18 UTC   60d             /etc/kubernetes/pki/front-proxy-ca.crt\n";
  CHECK(RenderTable(findings, kNow) == expected);

  // Only CAs: one table, no blank line. Nothing: nothing.
  CHECK(RenderTable({Found("ca.crt", pki.ca)}, kNow).rfind("CERTIFICATE AUTHORITY", 0) == 0);
  CHECK(RenderTable({}, kNow).empty());
}

TEST_CASE("JSON: one array, certificates and errors in input order", "[expiry][cli]") {
  Pki pki;
  std::vector<Finding> findings = {
      Found("a.crt", pki.apiserver),
      Finding{"b.crt", std::nullopt, "no certificate found"},
      Found("ca.crt", pki.ca),
      Found("old.crt", pki.expired),
  };
  auto json = nlohmann::json::parse(RenderJson(findings, kNow));
  REQUIRE(json.is_array());
  REQUIRE(json.size() == 4);
  CHECK(json[0] == nlohmann::json{{"source", "a.crt"},
                                  {"subject", "CN=kube-apiserver"},
                                  {"issuer", "CN=kubernetes"},
                                  {"serial", "10"},
                                  {"notBefore", "2026-01-28T05:18:33Z"},
                                  {"notAfter", "2027-01-28T05:18:33Z"},
                                  {"daysLeft", 65.0},
                                  {"isCA", false}});
  CHECK(json[1] == nlohmann::json{{"source", "b.crt"}, {"error", "no certificate found"}});
  CHECK(json[2]["isCA"] == true);
  CHECK(json[3]["daysLeft"] == -35.0);
  CHECK(RenderJson({}, kNow) == "[]\n");
}

TEST_CASE("AnyExpiresWithin counts expired certificates and ignores errors", "[expiry][cli]") {
  Pki pki;
  std::vector<Finding> one = {Found("a", pki.apiserver)};  // 65 days
  CHECK(AnyExpiresWithin(one, kNow, days{66}));
  CHECK_FALSE(AnyExpiresWithin(one, kNow, days{65}));  // exactly at the edge: not within
  CHECK_FALSE(AnyExpiresWithin(one, kNow, seconds{0}));
  CHECK(AnyExpiresWithin({Found("x", pki.expired)}, kNow, seconds{0}));
  CHECK_FALSE(AnyExpiresWithin({Finding{"e", std::nullopt, "bad"}}, kNow, days{9999}));
}
