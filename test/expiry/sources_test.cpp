#include "expiry/sources.h"

#include <catch2/catch.hpp>

#include "support/pki.h"

using namespace certguard::expiry;
using certguard::testing::CertBuilder;
using certguard::testing::JoinPem;
using certguard::testing::Key;

TEST_CASE("CertificatesOfFields keeps the fields that hold certificates", "[expiry]") {
  auto ca = CertBuilder().Cn("ca").Ca().Build();
  auto leaf = CertBuilder().Cn("web").IssuedBy(ca).Build();
  std::map<std::string, std::string> secret = {
      {"tls.crt", JoinPem({leaf.pem, ca.pem})},
      {"tls.key", leaf.key.PrivatePem()},
      {"ca.crt", ca.der},
      {"note", "hello"},
      {"empty", ""},
  };
  auto fields = CertificatesOfFields(secret, "n1");
  REQUIRE(fields.size() == 2);
  REQUIRE(fields.at("tls.crt").certs.size() == 2);
  CHECK(fields.at("tls.crt").certs[0].subject_cn == "web");
  CHECK(fields.at("tls.crt").certs[1].is_ca);
  CHECK(fields.at("tls.crt").node == "n1");
  CHECK(fields.at("ca.crt").certs.size() == 1);

  // Straight into the inventory: a field that disappears leaves it.
  Inventory inv;
  ObjectRef ref{SourceKind::kSecret, "ns", "web-tls"};
  inv.ReplaceObject(ref, fields);
  CHECK(inv.certificate_count() == 3);
  secret.erase("ca.crt");
  inv.ReplaceObject(ref, CertificatesOfFields(secret));
  CHECK(inv.certificate_count() == 2);
}
