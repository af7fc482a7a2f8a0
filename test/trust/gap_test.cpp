#include "trust/gap.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "support/pki.h"
#include "trust/build.h"

using namespace certguard::trust;
using certguard::testing::CertBuilder;
using certguard::testing::JoinPem;
using certguard::x509::Time;

namespace {

Time Now() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

std::vector<certguard::x509::CertificateInfo> Certs(const std::string& pem) {
  SourceContent s;
  s.id = "t";
  s.entries = {{"k", pem}};
  return Build({s}, {}, Now()).certificates;
}

}  // namespace

TEST_CASE("A consumer holding every CA has no gap", "[trust]") {
  std::string old_ca = CertBuilder().Cn("api-int-old").Ca().Pem();
  std::string new_ca = CertBuilder().Cn("api-int-new").Ca().Pem();
  auto bundle = Certs(JoinPem({old_ca, new_ca}));
  std::string other = CertBuilder().Cn("unrelated").Ca().Pem();

  auto ok = CheckConsumer(bundle, JoinPem({other, new_ca, old_ca}), Now());
  CHECK_FALSE(ok.gap());
  CHECK(ok.Describe().empty());

  // The OKD 4.15 failure: the new CA never reached the consumer.
  auto gap = CheckConsumer(bundle, old_ca, Now());
  CHECK(gap.gap());
  REQUIRE(gap.missing_fingerprints.size() == 1);
  CHECK(gap.missing_subjects[0] == "CN=api-int-new");
  CHECK_THAT(gap.Describe(), Catch::StartsWith("lacks CN=api-int-new ("));
}

TEST_CASE("An absent consumer is a gap, garbage in a consumer does not hide its CAs", "[trust]") {
  std::string ca = CertBuilder().Cn("ca").Ca().Pem();
  auto bundle = Certs(ca);
  auto absent = CheckConsumer(bundle, std::nullopt, Now());
  CHECK(absent.gap());
  CHECK(absent.Describe() == "missing");

  std::string junk = "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n";
  CHECK_FALSE(CheckConsumer(bundle, JoinPem({junk, ca}), Now()).gap());
  CHECK(CheckConsumer(bundle, junk, Now()).gap());
  CHECK(CheckConsumer(bundle, "", Now()).gap());
}

TEST_CASE("An expired CA of the bundle is not required", "[trust]") {
  Time now = Now();
  using std::chrono::hours;
  std::string expired = CertBuilder().Cn("old").Ca().NotBefore(now - hours(10)).NotAfter(now - hours(1)).Pem();
  std::string live = CertBuilder().Cn("live").Ca().Pem();
  auto bundle = Certs(JoinPem({expired, live}));
  REQUIRE(bundle.size() == 2);
  CHECK_FALSE(CheckConsumer(bundle, live, now).gap());
  CHECK(CheckConsumer(bundle, expired, now).gap());
}

TEST_CASE("ExpandVerify names each consumer once", "[trust]") {
  std::vector<VerifySpec> verify = {{"", "kube-root-ca.crt", "ca.crt"},
                                    {"openshift-multus", "kube-root-ca.crt", "ca.crt"},
                                    {"openshift-multus", "kube-root-ca.crt", "ca.crt"}};
  auto refs = ExpandVerify(verify, {"b", "openshift-multus", "a"});
  REQUIRE(refs.size() == 3);
  CHECK(refs[0] == ConsumerRef{"a", "kube-root-ca.crt", "ca.crt"});
  CHECK(refs[1] == ConsumerRef{"b", "kube-root-ca.crt", "ca.crt"});
  CHECK(refs[2] == ConsumerRef{"openshift-multus", "kube-root-ca.crt", "ca.crt"});
  CHECK(ExpandVerify({}, {"a"}).empty());
}
