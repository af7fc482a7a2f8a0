#include "trust/build.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/pki.h"
#include "x509/parse.h"

using namespace certguard::trust;
using certguard::NotFound;
using certguard::testing::CertBuilder;
using certguard::testing::JoinPem;
using certguard::testing::Key;
using certguard::x509::Time;

namespace {

Time Now() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

SourceContent Src(const std::string& id, std::vector<std::pair<std::string, std::string>> entries) {
  SourceContent s;
  s.id = id;
  s.entries = std::move(entries);
  return s;
}

const std::string kGarbageBlock =
    "-----BEGIN CERTIFICATE-----\nthis is not base64 at all!!\n-----END CERTIFICATE-----\n";

}  // namespace

TEST_CASE("Build keeps every certificate of every source, once", "[trust]") {
  std::string a = CertBuilder().Cn("ca-a").Ca().Pem();
  std::string b = CertBuilder().Cn("ca-b").Ca().Pem();
  std::string c = CertBuilder().Cn("ca-c").Ca().Pem();
  auto r = Build({Src("one", {{"ca.crt", JoinPem({a, b, a})}}),
                  Src("two", {{"x", b}, {"y", c}})},
                 {}, Now());
  CHECK(r.issues.empty());
  REQUIRE(r.certificates.size() == 3);
  CHECK(r.duplicates == 2);
  CHECK(r.publishable());
  CHECK(r.fingerprint == BundleFingerprint(r.pem));

  // The output parses back to exactly what was kept.
  auto back = certguard::x509::ParseBundle(r.pem);
  CHECK(back.errors.empty());
  REQUIRE(back.certificates.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(back.certificates[i].sha256_fingerprint == r.certificates[i].sha256_fingerprint);
  }
}

TEST_CASE("Build's order is deterministic: same certificates, same bytes", "[trust]") {
  std::string a = CertBuilder().Cn("alpha").Ca().Pem();
  std::string b = CertBuilder().Cn("bravo").Ca().Pem();
  std::string b2 = CertBuilder().Cn("bravo").Ca().Pem();  // same subject, another key
  std::string c = CertBuilder().Cn("charlie").Ca().Pem();
  Time now = Now();
  auto r1 = Build({Src("1", {{"k", JoinPem({c, b, a, b2})}})}, {}, now);
  auto r2 = Build({Src("2", {{"k", JoinPem({b2, a})}}), Src("3", {{"k", JoinPem({c, b})}})}, {},
                  now);
  REQUIRE(r1.certificates.size() == 4);
  CHECK(r1.pem == r2.pem);
  CHECK(r1.fingerprint == r2.fingerprint);
  CHECK(r1.certificates[0].subject.CommonName() == "alpha");
  CHECK(r1.certificates[1].subject.CommonName() == "bravo");
  CHECK(r1.certificates[2].subject.CommonName() == "bravo");
  CHECK(r1.certificates[3].subject.CommonName() == "charlie");
}

TEST_CASE("dropExpired leaves out expired certificates only when asked", "[trust]") {
  Time now = Now();
  using std::chrono::hours;
  std::string old_ca = CertBuilder().Cn("old").Ca().NotBefore(now - hours(48)).NotAfter(now - hours(1)).Pem();
  std::string soon = CertBuilder().Cn("soon").Ca().NotBefore(now - hours(1)).NotAfter(now + hours(2)).Pem();
  std::string later = CertBuilder().Cn("later").Ca().NotBefore(now - hours(1)).NotAfter(now + hours(200)).Pem();
  auto src = {Src("s", {{"k", JoinPem({old_ca, soon, later})}})};

  auto kept = Build(src, {}, now);
  CHECK(kept.certificates.size() == 3);
  CHECK(kept.dropped_expired == 0);
  REQUIRE(kept.earliest_not_after);
  CHECK(*kept.earliest_not_after < now);

  auto dropped = Build(src, {.drop_expired = true}, now);
  CHECK(dropped.certificates.size() == 2);
  CHECK(dropped.dropped_expired == 1);
  REQUIRE(dropped.earliest_not_after);
  CHECK(*dropped.earliest_not_after > now);
  CHECK(*dropped.earliest_not_after <= now + hours(2));
  CHECK(dropped.publishable());
}

TEST_CASE("caOnly leaves out certificates that are not CAs", "[trust]") {
  auto ca = CertBuilder().Cn("root").Ca().Build();
  std::string leaf = CertBuilder().Cn("server").Dns("a.example").IssuedBy(ca).Pem();
  auto src = {Src("s", {{"k", JoinPem({leaf, ca.pem})}})};
  CHECK(Build(src, {}, Now()).certificates.size() == 2);
  auto r = Build(src, {.ca_only = true}, Now());
  REQUIRE(r.certificates.size() == 1);
  CHECK(r.certificates[0].is_ca);
  CHECK(r.dropped_non_ca == 1);

  // Nothing left: an empty bundle, never publishable, though no source failed.
  auto none = Build({Src("s", {{"k", leaf}})}, {.ca_only = true}, Now());
  CHECK(none.issues.empty());
  CHECK(none.pem.empty());
  CHECK(none.fingerprint.empty());
  CHECK_FALSE(none.publishable());
}

TEST_CASE("A garbage block among good ones is reported, the good ones kept", "[trust]") {
  std::string a = CertBuilder().Cn("a").Ca().Pem();
  std::string b = CertBuilder().Cn("b").Ca().Pem();
  auto r = Build({Src("configMap x/y[ca.crt]", {{"ca.crt", JoinPem({a, kGarbageBlock, b}, "# comment\n")}})},
                 {}, Now());
  CHECK(r.certificates.size() == 2);
  REQUIRE(r.issues.size() == 1);
  CHECK(r.issues[0].source == "configMap x/y[ca.crt]");
  CHECK(r.issues[0].reason == SourceErrorReason::kInvalidBlock);
  CHECK_THAT(r.issues[0].message, Catch::StartsWith("key ca.crt: block 1: "));
  // Not safe to publish: a CA may be hidden in the broken block.
  CHECK_FALSE(r.publishable());
  CHECK(std::string(SourceErrorReasonName(r.issues[0].reason)) == "InvalidBlock");
}

TEST_CASE("A private key in a source is an invalid block, never copied", "[trust]") {
  Key k = Key::Ec();
  std::string a = CertBuilder().Cn("a").Ca().Pem();
  auto r = Build({Src("s", {{"k", JoinPem({a, k.PrivatePem()})}})}, {}, Now());
  CHECK(r.certificates.size() == 1);
  REQUIRE(r.issues.size() == 1);
  CHECK(r.issues[0].reason == SourceErrorReason::kInvalidBlock);
  CHECK(r.pem.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("Unreadable, empty and all-garbage sources", "[trust]") {
  std::string a = CertBuilder().Cn("a").Ca().Pem();
  SourceContent missing;
  missing.id = "configMap ns/gone";
  missing.read_status = NotFound("configmaps \"gone\" not found");
  auto r = Build({Src("good", {{"k", a}}), missing, Src("blank", {{"k", "  \n"}}),
                  Src("nothing", {}), Src("text", {{"k", "hello, no PEM here"}}),
                  Src("junk", {{"k", kGarbageBlock}})},
                 {}, Now());
  CHECK(r.certificates.size() == 1);
  REQUIRE(r.issues.size() == 5);
  CHECK(r.issues[0].source == "configMap ns/gone");
  CHECK(r.issues[0].reason == SourceErrorReason::kUnreadable);
  CHECK_THAT(r.issues[0].message, Catch::Contains("NotFound"));
  CHECK(r.issues[1].source == "blank");
  CHECK(r.issues[1].reason == SourceErrorReason::kEmpty);
  CHECK(r.issues[2].source == "nothing");
  CHECK(r.issues[2].reason == SourceErrorReason::kEmpty);
  CHECK(r.issues[3].source == "text");
  CHECK(r.issues[4].source == "junk");
  CHECK(r.issues[4].reason == SourceErrorReason::kInvalidBlock);
  CHECK_FALSE(r.publishable());
}

TEST_CASE("BundleFingerprint is the SHA-256 of the bytes", "[trust]") {
  CHECK(BundleFingerprint("") ==
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(BundleFingerprint("abc") ==
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("The last-good rule", "[trust]") {
  std::string a = CertBuilder().Cn("a").Ca().Pem();
  std::string b = CertBuilder().Cn("b").Ca().Pem();
  auto good = Build({Src("s", {{"k", JoinPem({a, b})}})}, {}, Now());
  REQUIRE(good.publishable());

  SECTION("a good build is written") {
    auto p = DecidePublish(good, "old bundle");
    CHECK(p.pem == good.pem);
    CHECK_FALSE(p.last_good);
  }
  SECTION("garbage keeps the last good bundle") {
    auto bad = Build({Src("s", {{"k", JoinPem({a, kGarbageBlock})}})}, {}, Now());
    auto p = DecidePublish(bad, good.pem);
    CHECK(p.pem == good.pem);
    CHECK(p.last_good);
  }
  SECTION("an emptied source keeps the last good bundle") {
    auto empty = Build({Src("s", {{"k", ""}})}, {}, Now());
    auto p = DecidePublish(empty, good.pem);
    CHECK(p.pem == good.pem);
    CHECK(p.last_good);
  }
  SECTION("everything filtered out keeps the last good bundle") {
    auto leaf_only = Build({Src("s", {{"k", CertBuilder().Cn("leaf").Pem()}})}, {.ca_only = true},
                           Now());
    CHECK(DecidePublish(leaf_only, good.pem).pem == good.pem);
  }
  SECTION("with no last good bundle, nothing is written") {
    auto bad = Build({Src("s", {{"k", kGarbageBlock}})}, {}, Now());
    CHECK(DecidePublish(bad, "").pem.empty());
    CHECK(DecidePublish(bad, " \n").pem.empty());
    auto partial = Build({Src("s", {{"k", JoinPem({a, kGarbageBlock})}})}, {}, Now());
    CHECK(DecidePublish(partial, "").pem.empty());
  }
}
