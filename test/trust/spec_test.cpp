#include "trust/spec.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "common/names.h"

using certguard::Code;
using certguard::trust::ParseSpec;
using certguard::trust::SourceKind;
using nlohmann::json;

namespace {

json Valid() {
  return json::parse(R"({
    "sources": [
      {"configMap": {"namespace": "openshift-kube-apiserver-operator",
                     "name": "loadbalancer-serving-ca", "key": "ca-bundle.crt"}},
      {"configMap": {"namespace": "kube-system", "name": "extra-cas"}},
      {"secret": {"namespace": "certs", "name": "root", "key": "ca.crt"}},
      {"inline": "-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----\n"}
    ],
    "target": {"configMap": {"name": "trusted-ca", "labels": {"team": "infra"},
                             "annotations": {"note": "managed"}}},
    "namespaceSelector": {"matchLabels": {"trust": "enabled"}},
    "namespaces": ["openshift-multus", "openshift-multus", "default"],
    "dropExpired": true,
    "verify": [{"name": "kube-root-ca.crt"},
               {"namespace": "openshift-multus", "name": "kube-root-ca.crt", "key": "ca.crt"}]
  })");
}

}  // namespace

TEST_CASE("ParseSpec reads every field of a valid TrustBundle", "[trust]") {
  auto r = ParseSpec(Valid());
  REQUIRE(r.ok());
  const auto& s = *r;
  REQUIRE(s.sources.size() == 4);
  CHECK(s.sources[0].kind == SourceKind::kConfigMap);
  CHECK(s.sources[0].Describe(0) ==
        "configMap openshift-kube-apiserver-operator/loadbalancer-serving-ca[ca-bundle.crt]");
  CHECK(s.sources[1].key.empty());  // every key
  CHECK(s.sources[1].Describe(1) == "configMap kube-system/extra-cas");
  CHECK(s.sources[2].kind == SourceKind::kSecret);
  CHECK(s.sources[2].Describe(2) == "secret certs/root[ca.crt]");
  CHECK(s.sources[3].kind == SourceKind::kInline);
  CHECK(s.sources[3].Describe(3) == "inline[3]");
  CHECK(s.target.name == "trusted-ca");
  CHECK(s.target.key == "ca.crt");  // default
  CHECK(s.target.labels.at("team") == "infra");
  CHECK(s.target.annotations.at("note") == "managed");
  REQUIRE(s.namespace_selector.has_value());
  CHECK((*s.namespace_selector)["matchLabels"]["trust"] == "enabled");
  CHECK(s.namespaces == std::vector<std::string>{"openshift-multus", "default"});  // deduplicated
  CHECK(s.drop_expired);
  CHECK_FALSE(s.ca_only);
  REQUIRE(s.verify.size() == 2);
  CHECK(s.verify[0].ns.empty());
  CHECK(s.verify[0].key == "ca.crt");
  CHECK(s.verify[1].ns == "openshift-multus");
}

TEST_CASE("ParseSpec lists every problem at once", "[trust]") {
  json spec = Valid();
  spec["sources"][0]["secret"] = {{"namespace", "a"}, {"name", "b"}, {"key", "c"}};  // two kinds
  spec["sources"][2]["secret"].erase("key");                                        // secret needs a key
  spec["target"]["configMap"]["key"] = "bad/key";
  spec["target"]["configMap"]["labels"]["certguard.io/trustbundle"] = "x";
  spec["namespaces"].push_back("Not_A_Namespace");
  spec["caOnly"] = "yes";
  auto r = ParseSpec(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  const std::string m = r.status().message();
  CHECK_THAT(m, Catch::Contains("spec.sources[0]: exactly one of configMap, secret, inline"));
  CHECK_THAT(m, Catch::Contains("spec.sources[2].secret.key: required"));
  CHECK_THAT(m, Catch::Contains("spec.target.configMap.key"));
  CHECK_THAT(m, Catch::Contains("certguard.io/trustbundle is set by certguard"));
  CHECK_THAT(m, Catch::Contains("spec.namespaces[3]: not a valid namespace name"));
  CHECK_THAT(m, Catch::Contains("spec.caOnly: must be a boolean"));
}

TEST_CASE("ParseSpec refuses missing essentials and wrong shapes without throwing", "[trust]") {
  CHECK(ParseSpec(json::array()).status().code() == Code::kInvalidArgument);
  CHECK(ParseSpec(json()).status().code() == Code::kInvalidArgument);

  auto empty = ParseSpec(json::object());
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.status().message(), Catch::Contains("spec.sources: at least one source"));
  CHECK_THAT(empty.status().message(),
             Catch::Contains("spec.target: configMap or secret is required"));
  CHECK_THAT(empty.status().message(), Catch::Contains("namespaceSelector or namespaces"));

  json spec = Valid();
  spec["sources"] = json::array({json::object(), 42, {{"inline", ""}}, {{"configMap", "x"}}});
  spec["namespaceSelector"] = "all";
  spec["verify"] = json::array({{{"namespace", 7}}});
  auto r = ParseSpec(spec);
  REQUIRE_FALSE(r.ok());
  const std::string m = r.status().message();
  CHECK_THAT(m, Catch::Contains("spec.sources[0]: exactly one"));
  CHECK_THAT(m, Catch::Contains("spec.sources[1]: must be an object"));
  CHECK_THAT(m, Catch::Contains("spec.sources[2].inline: must not be empty"));
  CHECK_THAT(m, Catch::Contains("spec.sources[3].configMap: must be an object"));
  CHECK_THAT(m, Catch::Contains("spec.namespaceSelector: must be a label selector object"));
  CHECK_THAT(m, Catch::Contains("spec.verify[0].namespace: must be a string"));
  CHECK_THAT(m, Catch::Contains("spec.verify[0].name: required"));
}

TEST_CASE("A selector alone or names alone are enough", "[trust]") {
  json spec = Valid();
  spec.erase("namespaces");
  CHECK(ParseSpec(spec).ok());
  spec = Valid();
  spec.erase("namespaceSelector");
  CHECK(ParseSpec(spec).ok());
  spec["namespaces"] = json::array();
  CHECK_FALSE(ParseSpec(spec).ok());
}

TEST_CASE("Name and key validators follow Kubernetes' rules", "[trust]") {
  using namespace certguard::trust;
  using certguard::common::IsDnsLabel;
  using certguard::common::IsDnsSubdomain;
  CHECK(IsDnsLabel("openshift-multus"));
  CHECK(IsDnsLabel("a"));
  CHECK_FALSE(IsDnsLabel(""));
  CHECK_FALSE(IsDnsLabel("-a"));
  CHECK_FALSE(IsDnsLabel("a-"));
  CHECK_FALSE(IsDnsLabel("A"));
  CHECK_FALSE(IsDnsLabel(std::string(64, 'a')));
  CHECK(IsDnsLabel(std::string(63, 'a')));
  CHECK(IsDnsSubdomain("kube-root-ca.crt"));
  CHECK_FALSE(IsDnsSubdomain("a..b"));
  CHECK_FALSE(IsDnsSubdomain(".a"));
  CHECK(IsConfigMapKey("ca-bundle.crt"));
  CHECK(IsConfigMapKey("CA_1"));
  CHECK_FALSE(IsConfigMapKey(".."));
  CHECK_FALSE(IsConfigMapKey("a/b"));
  CHECK_FALSE(IsConfigMapKey(""));
}

TEST_CASE("ParseSpec reads a Secret target beside or instead of the ConfigMap target", "[trust]") {
  json spec = Valid();
  spec["target"]["secret"] = {{"name", "trusted-ca-secret"},
                              {"key", "bundle.pem"},
                              {"labels", {{"team", "sec"}}},
                              {"annotations", {{"note", "s"}}}};
  auto both = ParseSpec(spec);
  REQUIRE(both.ok());
  CHECK(both->target.name == "trusted-ca");
  CHECK(both->secret_target.name == "trusted-ca-secret");
  CHECK(both->secret_target.key == "bundle.pem");
  CHECK(both->secret_target.labels.at("team") == "sec");
  CHECK(both->secret_target.annotations.at("note") == "s");

  spec["target"].erase("configMap");
  spec["target"]["secret"] = {{"name", "only-secret"}};
  auto only = ParseSpec(spec);
  REQUIRE(only.ok());
  CHECK(only->target.name.empty());  // no ConfigMap target
  CHECK(only->secret_target.name == "only-secret");
  CHECK(only->secret_target.key == "ca.crt");  // default, as for a ConfigMap

  auto none = ParseSpec(Valid());
  REQUIRE(none.ok());
  CHECK(none->secret_target.name.empty());  // no Secret target
}

TEST_CASE("ParseSpec refuses each bad Secret target field", "[trust]") {
  auto problem = [](const json& target) {
    json spec = Valid();
    spec["target"] = target;
    auto r = ParseSpec(spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    return r.status().message();
  };
  CHECK_THAT(problem(json::object()),
             Catch::Contains("spec.target: configMap or secret is required"));
  CHECK_THAT(problem({{"secret", nullptr}}),
             Catch::Contains("spec.target: configMap or secret is required"));
  CHECK_THAT(problem("trusted-ca"), Catch::Contains("spec.target: must be an object"));
  CHECK_THAT(problem({{"secret", "x"}}), Catch::Contains("spec.target.secret: must be an object"));
  CHECK_THAT(problem({{"secret", json::object()}}),
             Catch::Contains("spec.target.secret.name: required"));
  CHECK_THAT(problem({{"secret", {{"name", 3}}}}),
             Catch::Contains("spec.target.secret.name: must be a string"));
  CHECK_THAT(problem({{"secret", {{"name", "Not_Valid"}}}}),
             Catch::Contains("spec.target.secret.name: not a valid Secret name"));
  CHECK_THAT(problem({{"secret", {{"name", "s"}, {"key", "a/b"}}}}),
             Catch::Contains("spec.target.secret.key: \"a/b\" is not a valid ConfigMap key"));
  CHECK_THAT(
      problem({{"secret", {{"name", "s"}, {"labels", {{"certguard.io/trustbundle", "x"}}}}}}),
      Catch::Contains("spec.target.secret.labels: certguard.io/trustbundle is set by certguard"));
  CHECK_THAT(problem({{"secret", {{"name", "s"}, {"labels", "x"}}}}),
             Catch::Contains("spec.target.secret.labels: must be a map of strings"));
  CHECK_THAT(problem({{"secret", {{"name", "s"}, {"annotations", {{"a", 1}}}}}}),
             Catch::Contains("spec.target.secret.annotations.a: must be a string"));
  CHECK_THAT(
      problem({{"secret", {{"name", "s"}, {"type", "kubernetes.io/tls"}}}}),
      Catch::Contains("spec.target.secret.type: unknown field (name, key, labels, annotations)"));
  CHECK_THAT(problem({{"secret", {{"name", "s"}}}, {"pkcs12", {{"name", "p"}}}}),
             Catch::Contains(
                 "spec.target.pkcs12: unknown field (configMap, secret, additionalFormats)"));
}

TEST_CASE("ParseSpec reads additional formats with trust-manager's default passwords", "[trust]") {
  json spec = Valid();
  spec["target"]["additionalFormats"] = {{"jks", {{"key", "bundle.jks"}}},
                                         {"pkcs12", {{"key", "bundle.p12"}}}};
  auto r = ParseSpec(spec);
  REQUIRE(r.ok());
  CHECK(r->jks.key == "bundle.jks");
  CHECK(r->jks.password == "changeit");
  CHECK(r->pkcs12.key == "bundle.p12");
  CHECK(r->pkcs12.password.empty());

  spec["target"]["additionalFormats"] = {{"jks", {{"key", "t.jks"}, {"password", "s\u00e9same"}}},
                                         {"pkcs12", {{"key", "t.p12"}, {"password", "p w!~"}}}};
  auto given = ParseSpec(spec);
  REQUIRE(given.ok());
  CHECK(given->jks.password == "s\xc3\xa9same");
  CHECK(given->pkcs12.password == "p w!~");

  auto none = ParseSpec(Valid());
  REQUIRE(none.ok());
  CHECK(none->jks.key.empty());
  CHECK(none->pkcs12.key.empty());
}

TEST_CASE("ParseSpec refuses each bad additional format field", "[trust]") {
  auto problem = [](const json& formats, const json& secret = nullptr) {
    json spec = Valid();
    spec["target"]["additionalFormats"] = formats;
    if (!secret.is_null()) spec["target"]["secret"] = secret;
    auto r = ParseSpec(spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    return r.status().message();
  };
  const std::string fp = "spec.target.additionalFormats";
  CHECK_THAT(problem("jks"), Catch::Contains(fp + ": must be an object"));
  CHECK_THAT(problem({{"pem", {{"key", "a"}}}}),
             Catch::Contains(fp + ".pem: unknown field (jks, pkcs12)"));
  CHECK_THAT(problem({{"jks", "a.jks"}}), Catch::Contains(fp + ".jks: must be an object"));
  CHECK_THAT(problem({{"jks", json::object()}}), Catch::Contains(fp + ".jks.key: required"));
  CHECK_THAT(problem({{"pkcs12", {{"key", "a.p12"}, {"profile", "LegacyRC2"}}}}),
             Catch::Contains(fp + ".pkcs12.profile: unknown field (key, password, passwordSecretRef)"));
  CHECK_THAT(problem({{"jks", {{"key", "a/b"}}}}),
             Catch::Contains(fp + ".jks.key: \"a/b\" is not a valid ConfigMap key"));
  CHECK_THAT(problem({{"jks", {{"key", "a.jks"}, {"password", 3}}}}),
             Catch::Contains(fp + ".jks.password: must be a string"));
  CHECK_THAT(problem({{"jks", {{"key", "a.jks"}, {"password", std::string("a\0b", 3)}}}}),
             Catch::Contains(fp + ".jks.password: must not contain NUL"));
  CHECK_THAT(problem({{"pkcs12", {{"key", "a.p12"}, {"password", "s\u00e9same"}}}}),
             Catch::Contains(fp + ".pkcs12.password: must be printable ASCII"));
  CHECK_THAT(problem({{"pkcs12", {{"key", "a.p12"}, {"password", "tab\there"}}}}),
             Catch::Contains(fp + ".pkcs12.password: must be printable ASCII"));
  // The ConfigMap target's key is ca.crt by default.
  CHECK_THAT(problem({{"jks", {{"key", "ca.crt"}}}}),
             Catch::Contains(fp + ".jks.key: must differ from the target's PEM key"));
  CHECK_THAT(problem({{"pkcs12", {{"key", "s.pem"}}}}, {{"name", "s"}, {"key", "s.pem"}}),
             Catch::Contains(fp + ".pkcs12.key: must differ from the target's PEM key"));
  CHECK_THAT(problem({{"jks", {{"key", "t"}}}, {"pkcs12", {{"key", "t"}}}}),
             Catch::Contains(fp + ".pkcs12.key: must differ from jks.key"));
  json spec = Valid();
  spec["target"]["configMap"]["annotations"] = {{"certguard.io/pkcs12-digest", "x"}};
  auto r = ParseSpec(spec);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(),
             Catch::Contains("spec.target.configMap.annotations: "
                             "certguard.io/pkcs12-digest is set by certguard"));
  spec["target"]["configMap"]["annotations"] = {{"certguard.io/truststore-keys", "x"}};
  auto keys = ParseSpec(spec);
  REQUIRE_FALSE(keys.ok());
  CHECK_THAT(keys.status().message(),
             Catch::Contains("spec.target.configMap.annotations: "
                             "certguard.io/truststore-keys is set by certguard"));
}

TEST_CASE("ParseSpec reads a password from a Secret reference, with no default beside it",
          "[trust]") {
  json spec = Valid();
  spec["target"]["additionalFormats"] = {
      {"jks", {{"key", "t.jks"},
               {"passwordSecretRef", {{"namespace", "certs"}, {"name", "jks-pass"}, {"key", "pw"}}}}},
      {"pkcs12",
       {{"key", "t.p12"},
        {"passwordSecretRef", {{"namespace", "certs"}, {"name", "p12-pass"}, {"key", "p"}}}}}};
  auto r = ParseSpec(spec);
  REQUIRE(r.ok());
  REQUIRE(r->jks.password_ref);
  CHECK(r->jks.password_ref->ns == "certs");
  CHECK(r->jks.password_ref->name == "jks-pass");
  CHECK(r->jks.password_ref->key == "pw");
  // Filled in from the Secret at reconcile time, never "changeit" meanwhile.
  CHECK(r->jks.password.empty());
  REQUIRE(r->pkcs12.password_ref);
  CHECK(r->pkcs12.password_ref->Describe() == "secret certs/p12-pass[p]");
  // An inline password leaves no reference.
  spec["target"]["additionalFormats"] = {{"pkcs12", {{"key", "t.p12"}, {"password", "x"}}}};
  auto inline_only = ParseSpec(spec);
  REQUIRE(inline_only.ok());
  CHECK_FALSE(inline_only->pkcs12.password_ref);
  CHECK(inline_only->pkcs12.password == "x");
}

TEST_CASE("ParseSpec refuses each bad passwordSecretRef", "[trust]") {
  auto problem = [](const json& format) {
    json spec = Valid();
    spec["target"]["additionalFormats"] = {{"pkcs12", format}};
    auto r = ParseSpec(spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    return r.status().message();
  };
  const std::string fp = "spec.target.additionalFormats.pkcs12";
  const json ref = {{"namespace", "certs"}, {"name", "p"}, {"key", "pw"}};
  CHECK_THAT(problem({{"key", "t.p12"}, {"password", ""}, {"passwordSecretRef", ref}}),
             Catch::Contains(fp + ": password and passwordSecretRef are mutually exclusive"));
  CHECK_THAT(problem({{"key", "t.p12"}, {"passwordSecretRef", "certs/p"}}),
             Catch::Contains(fp + ".passwordSecretRef: must be an object"));
  for (const char* field : {"namespace", "name", "key"}) {
    json missing = ref;
    missing.erase(field);
    CHECK_THAT(problem({{"key", "t.p12"}, {"passwordSecretRef", missing}}),
               Catch::Contains(fp + ".passwordSecretRef." + field + ": required"));
  }
  json extra = ref;
  extra["optional"] = true;
  CHECK_THAT(problem({{"key", "t.p12"}, {"passwordSecretRef", extra}}),
             Catch::Contains(fp + ".passwordSecretRef.optional: unknown field (namespace, name, key)"));
  json bad_ns = ref;
  bad_ns["namespace"] = "Certs";
  CHECK_THAT(problem({{"key", "t.p12"}, {"passwordSecretRef", bad_ns}}),
             Catch::Contains(fp + ".passwordSecretRef.namespace: not a valid namespace name"));
  json bad_name = ref;
  bad_name["name"] = "a_b";
  CHECK_THAT(problem({{"key", "t.p12"}, {"passwordSecretRef", bad_name}}),
             Catch::Contains(fp + ".passwordSecretRef.name: not a valid Secret name"));
  json bad_key = ref;
  bad_key["key"] = "a/b";
  CHECK_THAT(problem({{"key", "t.p12"}, {"passwordSecretRef", bad_key}}),
             Catch::Contains(fp + ".passwordSecretRef.key: \"a/b\" is not a valid Secret key"));
  json number = ref;
  number["key"] = 3;
  CHECK_THAT(problem({{"key", "t.p12"}, {"passwordSecretRef", number}}),
             Catch::Contains(fp + ".passwordSecretRef.key: must be a string"));
}
