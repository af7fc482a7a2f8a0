// Truststore passwords from Secrets: the pure check of the value read, and
// the reader over a fake API server, with every refusal reason.
#include "trust/passwords.h"

#include <catch2/catch.hpp>
#include <string>

#include "kube/resource.h"
#include "support/kube/fake_client.h"
#include "support/pki.h"

using namespace certguard;
using namespace certguard::trust;
using certguard::kube::testing::FakeClient;
using certguard::testing::Base64;
using nlohmann::json;

namespace {

const SecretKeyRef kRef{"certs", "p12-pass", "password"};

json SecretWith(const json& data) {
  return {{"metadata", {{"namespace", "certs"}, {"name", "p12-pass"}}}, {"data", data}};
}

TrustBundleSpec SpecWithRefs(const json& jks_ref, const json& p12_ref) {
  json formats = json::object();
  if (!jks_ref.is_null()) formats["jks"] = {{"key", "t.jks"}, {"passwordSecretRef", jks_ref}};
  if (!p12_ref.is_null()) formats["pkcs12"] = {{"key", "t.p12"}, {"passwordSecretRef", p12_ref}};
  auto parsed =
      ParseSpec({{"sources", json::array({{{"inline", "x"}}})},
                 {"target", {{"configMap", {{"name", "ca"}}}, {"additionalFormats", formats}}},
                 {"namespaces", json::array({"a"})}});
  REQUIRE(parsed.ok());
  return *parsed;
}

}  // namespace

TEST_CASE("PasswordFromSecret takes the referenced key's bytes as they are", "[trust][passwords]") {
  json secret = SecretWith({{"password", Base64("s3cret pass")}, {"other", Base64("x")}});
  auto pw = PasswordFromSecret(kRef, &secret, /*pkcs12=*/true);
  REQUIRE(pw.ok());
  CHECK(*pw == "s3cret pass");
  // Byte for byte: a trailing newline is part of a JKS password, and refused for PKCS#12.
  json newline = SecretWith({{"password", Base64("pw\n")}});
  auto jks = PasswordFromSecret(kRef, &newline, /*pkcs12=*/false);
  REQUIRE(jks.ok());
  CHECK(*jks == "pw\n");
  // An empty value is an empty password (PKCS#12 without one), not a missing key.
  json empty = SecretWith({{"password", ""}});
  auto none = PasswordFromSecret(kRef, &empty, /*pkcs12=*/true);
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("PasswordFromSecret refuses each unusable Secret, naming it but not the value",
          "[trust][passwords]") {
  auto refused = [](const json* secret, bool pkcs12, Code code) {
    auto pw = PasswordFromSecret(kRef, secret, pkcs12);
    REQUIRE_FALSE(pw.ok());
    CHECK(pw.status().code() == code);
    CHECK_THAT(pw.status().message(), Catch::StartsWith("secret certs/p12-pass[password]: "));
    return pw.status().message();
  };
  CHECK_THAT(refused(nullptr, true, Code::kNotFound), Catch::Contains("the Secret does not exist"));
  json other_key = SecretWith({{"pass", Base64("x")}});
  CHECK_THAT(refused(&other_key, true, Code::kNotFound), Catch::Contains("has no such key"));
  json no_data = {{"metadata", {{"name", "p12-pass"}}}};
  CHECK_THAT(refused(&no_data, false, Code::kNotFound), Catch::Contains("has no such key"));
  json not_b64 = SecretWith({{"password", "not base64!"}});
  CHECK_THAT(refused(&not_b64, true, Code::kInvalidArgument),
             Catch::Contains("the value is not base64"));
  json accented = SecretWith({{"password", Base64("s\xc3\xa9same")}});
  const std::string m = refused(&accented, true, Code::kInvalidArgument);
  CHECK_THAT(m, Catch::Contains("the password must be printable ASCII"));
  CHECK_THAT(m, !Catch::Contains("s\xc3\xa9same"));
  // The same bytes make a JKS password; a NUL does not.
  CHECK(PasswordFromSecret(kRef, &accented, /*pkcs12=*/false).ok());
  json nul = SecretWith({{"password", Base64(std::string("a\0b", 3))}});
  CHECK_THAT(refused(&nul, false, Code::kInvalidArgument),
             Catch::Contains("the password must not contain NUL"));
}

TEST_CASE("ReadPasswords fills in both formats' passwords from their Secrets",
          "[trust][passwords]") {
  FakeClient api;
  REQUIRE(api.Create(kube::resources::kSecrets, "certs",
                     {{"metadata", {{"name", "pw"}}},
                      {"data", {{"jks", Base64("jks-pw")}, {"p12", Base64("p12-pw")}}}})
              .ok());
  TrustBundleSpec spec = SpecWithRefs({{"namespace", "certs"}, {"name", "pw"}, {"key", "jks"}},
                                      {{"namespace", "certs"}, {"name", "pw"}, {"key", "p12"}});
  bool reads = false;
  REQUIRE(ReadPasswords(spec, api, reads).ok());
  CHECK(reads);
  CHECK(spec.jks.password == "jks-pw");
  CHECK(spec.pkcs12.password == "p12-pw");

  // No reference: nothing read, the inline passwords stay.
  auto inline_spec =
      ParseSpec({{"sources", json::array({{{"inline", "x"}}})},
                 {"target",
                  {{"configMap", {{"name", "ca"}}},
                   {"additionalFormats", {{"pkcs12", {{"key", "t.p12"}, {"password", "i"}}}}}}},
                 {"namespaces", json::array({"a"})}});
  REQUIRE(inline_spec.ok());
  bool no_reads = false;
  REQUIRE(ReadPasswords(*inline_spec, api, no_reads).ok());
  CHECK_FALSE(no_reads);
  CHECK(inline_spec->pkcs12.password == "i");
}

TEST_CASE("ReadPasswords names the field of a missing Secret or key, and keeps an API error's code",
          "[trust][passwords]") {
  FakeClient api;
  REQUIRE(api.Create(kube::resources::kSecrets, "certs",
                     {{"metadata", {{"name", "pw"}}}, {"data", {{"p12", Base64("p12-pw")}}}})
              .ok());
  bool reads = false;
  TrustBundleSpec missing_secret =
      SpecWithRefs(nullptr, {{"namespace", "certs"}, {"name", "gone"}, {"key", "p12"}});
  Status s = ReadPasswords(missing_secret, api, reads);
  CHECK(s.code() == Code::kNotFound);
  CHECK_THAT(s.message(),
             Catch::StartsWith("spec.target.additionalFormats.pkcs12.passwordSecretRef: "
                               "secret certs/gone[p12]: the Secret does not exist"));
  TrustBundleSpec missing_key =
      SpecWithRefs({{"namespace", "certs"}, {"name", "pw"}, {"key", "jks"}}, nullptr);
  s = ReadPasswords(missing_key, api, reads);
  CHECK(s.code() == Code::kNotFound);
  CHECK_THAT(s.message(), Catch::StartsWith("spec.target.additionalFormats.jks.passwordSecretRef: "
                                            "secret certs/pw[jks]: the Secret has no such key"));
  CHECK(missing_key.jks.password.empty());
  TrustBundleSpec ok =
      SpecWithRefs(nullptr, {{"namespace", "certs"}, {"name", "pw"}, {"key", "p12"}});
  api.InjectError("get", Unavailable("etcd is gone"));
  s = ReadPasswords(ok, api, reads);
  CHECK(s.code() == Code::kUnavailable);
  CHECK_THAT(s.message(), Catch::Contains("etcd is gone"));
  CHECK(ok.pkcs12.password.empty());
}
