#include "expiry/filter.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "expiry/objects.h"
#include "support/pki.h"

using namespace certguard::expiry;
using certguard::common::Labels;
using certguard::testing::Base64;
using certguard::testing::Cert;
using certguard::testing::CertBuilder;
using nlohmann::json;

namespace {

ExpiryFilter Make(const ExpiryFilterOptions& o) {
  auto f = ExpiryFilter::Make(o);
  INFO(f.status().ToString());
  REQUIRE(f.ok());
  return *f;
}

std::string RefusalOf(const ExpiryFilterOptions& o) {
  auto f = ExpiryFilter::Make(o);
  REQUIRE_FALSE(f.ok());
  return f.status().message();
}

json Secret(const std::string& ns, const std::string& pem, json labels = json::object()) {
  return {{"metadata", {{"name", "web"}, {"namespace", ns}, {"labels", labels}}},
          {"type", "kubernetes.io/tls"},
          {"data", {{"tls.crt", Base64(pem)}, {"ca.crt", Base64(pem)}}}};
}

}  // namespace

TEST_CASE("expiry filter: namespaces by name, with * and exclude first", "[expiry][filter]") {
  ExpiryFilterOptions o;
  CHECK(Make(o).IncludesNamespace("anything", nullptr));
  CHECK_FALSE(Make(o).FiltersNamespaces());
  o.include_namespaces = {"apps", "team-*"};
  o.exclude_namespaces = {"team-legacy", "*-tmp"};
  const ExpiryFilter f = Make(o);
  CHECK(f.FiltersNamespaces());
  CHECK_FALSE(f.UsesNamespaceLabels());
  CHECK(f.IncludesNamespace("apps", nullptr));
  CHECK(f.IncludesNamespace("team-a", nullptr));
  CHECK(f.IncludesNamespace("team-", nullptr));
  CHECK_FALSE(f.IncludesNamespace("apps2", nullptr));
  CHECK_FALSE(f.IncludesNamespace("kube-system", nullptr));
  CHECK_FALSE(f.IncludesNamespace("team-legacy", nullptr));  // exclude wins
  CHECK_FALSE(f.IncludesNamespace("team-a-tmp", nullptr));
  ExpiryFilterOptions only_exclude;
  only_exclude.exclude_namespaces = {"kube-system"};
  CHECK(Make(only_exclude).IncludesNamespace("apps", nullptr));
  CHECK_FALSE(Make(only_exclude).IncludesNamespace("kube-system", nullptr));
}

TEST_CASE("expiry filter: namespaces by label selector", "[expiry][filter]") {
  ExpiryFilterOptions o;
  o.include_namespace_selector = "certguard.io/expiry in (on,yes)";
  o.exclude_namespace_selector = "tier=scratch";
  o.exclude_namespaces = {"blocked"};
  const ExpiryFilter f = Make(o);
  CHECK(f.UsesNamespaceLabels());
  const Labels on{{"certguard.io/expiry", "on"}};
  const Labels on_scratch{{"certguard.io/expiry", "on"}, {"tier", "scratch"}};
  const Labels off{{"certguard.io/expiry", "off"}};
  CHECK(f.IncludesNamespace("a", &on));
  CHECK_FALSE(f.IncludesNamespace("a", &on_scratch));
  CHECK_FALSE(f.IncludesNamespace("a", &off));
  CHECK_FALSE(f.IncludesNamespace("blocked", &on));
  // Labels not known yet: not included until they are.
  CHECK_FALSE(f.IncludesNamespace("a", nullptr));
  ExpiryFilterOptions exclude_only;
  exclude_only.exclude_namespace_selector = "!keep";
  const Labels keep{{"keep", ""}};
  const Labels none;
  CHECK(Make(exclude_only).IncludesNamespace("a", &keep));
  CHECK_FALSE(Make(exclude_only).IncludesNamespace("a", &none));
}

TEST_CASE("expiry filter: one decision per object", "[expiry][filter]") {
  Cert ca = CertBuilder().Cn("ca").Ca().Build();
  Cert leaf = CertBuilder().Cn("leaf").IssuedBy(ca).Build();
  const std::string chain = leaf.pem + ca.pem;
  ExpiryFilterOptions o;
  o.include_namespaces = {"apps"};
  o.leaf_only = true;
  o.secret_label_keys = {"app.kubernetes.io/name", "team"};
  const ExpiryFilter f = Make(o);
  CHECK(f.label_names() ==
        std::vector<std::string>{"secret_label_app_kubernetes_io_name", "secret_label_team"});

  const json in = Secret("apps", chain, {{"app.kubernetes.io/name", "shop"}, {"other", "x"}});
  auto keys = f.Decide(SourceKind::kSecret, in, nullptr, SecretCertificates(in));
  REQUIRE(keys);
  REQUIRE(keys->size() == 2);
  for (const auto& [key, source] : *keys) {
    INFO(key);
    REQUIRE(source.certs.size() == 1);  // leaf-only: the chain's first certificate
    CHECK(source.certs[0].subject_cn == "leaf");
    CHECK(source.labels == std::vector<std::string>{"shop", ""});
  }
  const json out = Secret("other", chain);
  CHECK_FALSE(f.Decide(SourceKind::kSecret, out, nullptr, SecretCertificates(out)));

  // Without leaf-only the chain stays whole; CSRs and cluster objects ignore namespaces.
  ExpiryFilterOptions whole = o;
  whole.leaf_only = false;
  auto all = Make(whole).Decide(SourceKind::kSecret, in, nullptr, SecretCertificates(in));
  REQUIRE(all);
  CHECK(all->at("tls.crt").certs.size() == 2);
  const json csr = {{"metadata", {{"name", "csr-1"}}}};
  Keys csr_keys{{"status.certificate", SourceCerts{"", {CertFacts{}, CertFacts{}}}}};
  auto kept = f.Decide(SourceKind::kCsr, csr, nullptr, csr_keys);
  REQUIRE(kept);
  CHECK(kept->at("status.certificate").certs.size() == 2);
  CHECK(kept->at("status.certificate").labels.empty());
  // ConfigMaps follow the namespace rules but carry no Secret labels.
  json cm = {{"metadata", {{"name", "c"}, {"namespace", "other"}}}};
  CHECK_FALSE(f.Decide(SourceKind::kConfigMap, cm, nullptr, Keys{}));
}

TEST_CASE("expiry filter: secret label names are sanitized Prometheus names", "[expiry][filter]") {
  CHECK(SecretLabelName("team") == "secret_label_team");
  CHECK(SecretLabelName("app.kubernetes.io/part-of") == "secret_label_app_kubernetes_io_part_of");
  CHECK(SecretLabelName("Tier_2") == "secret_label_Tier_2");
}

TEST_CASE("expiry filter: bad flag values are refused, naming the flag", "[expiry][filter]") {
  ExpiryFilterOptions o;
  o.include_namespaces = {"Apps"};
  CHECK(RefusalOf(o).find("--expiry-include-namespaces") != std::string::npos);
  o = {};
  o.exclude_namespaces = {"a/b"};
  CHECK(RefusalOf(o).find("--expiry-exclude-namespaces") != std::string::npos);
  o = {};
  o.exclude_namespaces = {""};
  CHECK(RefusalOf(o).find("--expiry-exclude-namespaces") != std::string::npos);
  o = {};
  o.include_namespace_selector = "team in (a";
  CHECK(RefusalOf(o).find("--expiry-include-namespace-selector") != std::string::npos);
  o = {};
  o.exclude_namespace_selector = "x=$(id)";
  CHECK(RefusalOf(o).find("--expiry-exclude-namespace-selector") != std::string::npos);
  o = {};
  o.secret_label_keys = {"bad key"};
  CHECK(RefusalOf(o).find("is not a label key") != std::string::npos);
  o = {};
  o.secret_label_keys = {"a.b", "a_b"};  // both secret_label_a_b
  CHECK(RefusalOf(o).find("secret_label_a_b") != std::string::npos);
  o = {};
  for (int i = 0; i <= static_cast<int>(kMaxSecretLabelKeys); ++i) {
    o.secret_label_keys.push_back("k" + std::to_string(i));
  }
  CHECK(RefusalOf(o).find("at most 10") != std::string::npos);
  o.secret_label_keys.pop_back();
  CHECK(ExpiryFilter::Make(o).ok());
  CHECK(*ParseCsrSigners("kubelet") == CsrSigners::kKubelet);
  CHECK(*ParseCsrSigners("all") == CsrSigners::kAll);
  for (const char* bad : {"", "Kubelet", "kubelet,all", "none"}) {
    auto s = ParseCsrSigners(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message().find("--expiry-csr-signers") != std::string::npos);
  }
}

TEST_CASE("expiry filter: refusals name the flag with the command's prefix", "[expiry][filter]") {
  // check-expiration names its flags without --expiry-.
  ExpiryFilterOptions o;
  o.exclude_namespaces = {"Team"};
  auto f = ExpiryFilter::Make(o, "--");
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().message().rfind("--exclude-namespaces: \"Team\"", 0) == 0);
  o = {};
  o.include_namespace_selector = "a in (b";
  f = ExpiryFilter::Make(o, "--");
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().message().rfind("--include-namespace-selector: ", 0) == 0);
  auto s = ParseCsrSigners("some", "--");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().rfind("--csr-signers: \"some\"", 0) == 0);
  // The default stays the --expiry- of `run`.
  CHECK(ParseCsrSigners("some").status().message().rfind("--expiry-csr-signers: ", 0) == 0);
}
