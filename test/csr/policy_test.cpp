#include "csr/policy.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace certguard;
using namespace certguard::csr;

namespace {

Policy Parse(const std::string& spec) {
  auto obj = nlohmann::json::parse(
      R"({"apiVersion":"certguard.io/v1alpha1","kind":"CSRApprovalPolicy",)"
      R"("metadata":{"name":"p"},"spec":)" +
      spec + "}");
  auto p = PolicyFromObject(obj);
  REQUIRE(p.ok());
  return *p;
}

bool ErrorMentions(const Policy& p, const std::string& field) {
  for (const auto& e : p.errors)
    if (e.find(field) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("DefaultPolicy has the documented defaults", "[csr][policy]") {
  Policy p = DefaultPolicy();
  CHECK(p.name == "default");
  CHECK(p.signer_names == std::vector<std::string>{kClientSigner, kServingSigner});
  CHECK_FALSE(p.node_name_pattern.has_value());
  CHECK(p.node_selector.empty());
  CHECK_FALSE(p.allowed_ip_ranges.has_value());
  CHECK_FALSE(p.allowed_dns_patterns.has_value());
  CHECK(p.require_node_address_match);
  CHECK(p.max_expiration_seconds == 31708800);
  CHECK(p.bootstrap.allow);
  CHECK(p.bootstrap.groups == std::vector<std::string>{"system:bootstrappers"});
  CHECK(p.bootstrap.usernames.empty());
  CHECK(p.bootstrap.existing_nodes == ExistingNodes::kRefuse);
  CHECK(p.bootstrap.not_ready_for_seconds == 600);
  CHECK(p.on_refusal == OnRefusal::kDeny);
  CHECK_FALSE(p.dry_run);
  CHECK(p.valid());
}

TEST_CASE("an empty spec gives the defaults under the policy's name", "[csr][policy]") {
  Policy p = Parse("{}");
  CHECK(p.name == "p");
  CHECK(p.valid());
  CHECK(p.max_expiration_seconds == kDefaultMaxExpirationSeconds);
  auto no_spec = PolicyFromObject(nlohmann::json::parse(
      R"({"kind":"CSRApprovalPolicy","metadata":{"name":"bare"}})"));
  REQUIRE(no_spec.ok());
  CHECK(no_spec->valid());
}

TEST_CASE("every field is read", "[csr][policy]") {
  Policy p = Parse(R"({
    "signerNames": ["kubernetes.io/kubelet-serving"],
    "nodeNamePattern": "worker-[0-9]+",
    "nodeSelector": {"matchLabels": {"pool": "a"},
                     "matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]},
    "allowedIPRanges": ["10.0.0.0/8", "fd00::/8"],
    "allowedDNSPatterns": ["[a-z0-9-]+\\.example"],
    "requireNodeAddressMatch": false,
    "maxExpirationSeconds": 86400,
    "bootstrap": {"allow": false, "groups": ["g"], "usernames": ["u"],
                  "existingNodes": "WhenNotReady", "notReadyForSeconds": 1200},
    "onRefusal": "Ignore",
    "dryRun": true})");
  INFO((p.errors.empty() ? std::string() : p.errors[0]));
  REQUIRE(p.valid());
  CHECK(p.signer_names == std::vector<std::string>{kServingSigner});
  REQUIRE(p.node_name_pattern.has_value());
  CHECK(p.node_name_pattern->Matches("worker-12"));
  CHECK_FALSE(p.node_name_pattern->Matches("worker-12.evil"));  // anchored
  CHECK_FALSE(p.node_name_pattern->Matches("xworker-1"));
  CHECK(p.node_selector.Matches({{"pool", "a"}, {"zone", "x"}}));
  CHECK_FALSE(p.node_selector.Matches({{"pool", "a"}}));
  REQUIRE(p.allowed_ip_ranges.has_value());
  CHECK(p.allowed_ip_ranges->size() == 2);
  REQUIRE(p.allowed_dns_patterns.has_value());
  CHECK((*p.allowed_dns_patterns)[0].Matches("a-1.example"));
  CHECK_FALSE((*p.allowed_dns_patterns)[0].Matches("a.example.evil"));
  CHECK_FALSE(p.require_node_address_match);
  CHECK(p.max_expiration_seconds == 86400);
  CHECK_FALSE(p.bootstrap.allow);
  CHECK(p.bootstrap.groups == std::vector<std::string>{"g"});
  CHECK(p.bootstrap.usernames == std::vector<std::string>{"u"});
  CHECK(p.bootstrap.existing_nodes == ExistingNodes::kWhenNotReady);
  CHECK(p.bootstrap.not_ready_for_seconds == 1200);
  CHECK(p.on_refusal == OnRefusal::kIgnore);
  CHECK(p.dry_run);
}

TEST_CASE("bad fields make the policy invalid, naming the field", "[csr][policy]") {
  struct Case {
    const char* spec;
    const char* field;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"nodeNamePattern": "(unclosed"})", "nodeNamePattern"},
           {R"({"nodeNamePattern": 7})", "nodeNamePattern"},
           {R"({"allowedIPRanges": ["10.0.0.0/33"]})", "allowedIPRanges"},
           {R"({"allowedIPRanges": ["not-a-cidr"]})", "allowedIPRanges"},
           {R"({"allowedIPRanges": "10.0.0.0/8"})", "allowedIPRanges"},
           {R"({"allowedDNSPatterns": ["[a-"]})", "allowedDNSPatterns"},
           {R"({"signerNames": ["example.com/other"]})", "signerNames"},
           {R"({"signerNames": []})", "signerNames"},
           {R"({"onRefusal": "Approve"})", "onRefusal"},
           {R"({"dryRun": "yes"})", "dryRun"},
           {R"({"maxExpirationSeconds": 10})", "maxExpirationSeconds"},
           {R"({"maxExpirationSeconds": "1d"})", "maxExpirationSeconds"},
           {R"({"bootstrap": {"existingNodes": "Always"}})", "existingNodes"},
           {R"({"bootstrap": {"notReadyForSeconds": -1}})", "notReadyForSeconds"},
           {R"({"bootstrap": {"groups": ["system:nodes"]}})", "groups"},
           {R"({"bootstrap": []})", "bootstrap"},
           {R"({"nodeSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}})",
            "nodeSelector"},
           {R"({"requireNodeAddressMatch": false})", "requireNodeAddressMatch"},
           {R"({"requireNodeAddressMatch": false, "allowedIPRanges": []})",
            "requireNodeAddressMatch"},
           {R"([1, 2])", "spec"},
       }) {
    SECTION(c.spec) {
      Policy p = Parse(c.spec);
      CHECK_FALSE(p.valid());
      CHECK(ErrorMentions(p, c.field));
    }
  }
}

TEST_CASE("objects that are not policies are errors", "[csr][policy]") {
  CHECK_FALSE(
      PolicyFromObject(nlohmann::json::parse(R"({"kind":"Node","metadata":{"name":"a"}})")).ok());
  CHECK_FALSE(PolicyFromObject(nlohmann::json::parse(R"({"kind":"CSRApprovalPolicy"})")).ok());
  CHECK_FALSE(PolicyFromObject(nlohmann::json::parse(R"([])")).ok());
  CHECK_FALSE(PolicyFromObject(nlohmann::json::parse(
      R"({"kind":"CSRApprovalPolicy","metadata":{"name":""}})")).ok());
}

TEST_CASE("patterns are anchored and survive hostile input", "[csr][policy]") {
  auto p = CompilePattern("a|b");
  REQUIRE(p.ok());
  CHECK(p->Matches("a"));
  CHECK_FALSE(p->Matches("ab"));  // ^(?:a|b)$, not ^a|b$
  CHECK_FALSE(CompilePattern(std::string(2000, 'a')).ok());
  CHECK_FALSE(CompilePattern("(").ok());
  Pattern empty;
  CHECK_FALSE(empty.Matches("x"));
}

TEST_CASE("RecoveryWindowTargets: valid WhenNotReady policies of the client signer",
          "[csr][policy][rebootstrap]") {
  auto make = [](const std::string& json) {
    auto p = certguard::csr::PolicyFromObject(nlohmann::json::parse(json));
    REQUIRE(p.ok());
    return *p;
  };
  std::vector<certguard::csr::Policy> policies{
      make(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"z-restore"},
               "spec":{"bootstrap":{"existingNodes":"WhenNotReady"}}})"),
      make(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"a-restore"},
               "spec":{"signerNames":["kubernetes.io/kube-apiserver-client-kubelet"],
                       "bootstrap":{"existingNodes":"WhenNotReady"}}})"),
      make(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"refuse"},"spec":{}})"),
      make(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"serving-only"},
               "spec":{"signerNames":["kubernetes.io/kubelet-serving"],
                       "bootstrap":{"existingNodes":"WhenNotReady"}}})"),
      make(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"no-bootstrap"},
               "spec":{"bootstrap":{"allow":false,"existingNodes":"WhenNotReady"}}})"),
      make(R"({"kind":"CSRApprovalPolicy","metadata":{"name":"invalid"},
               "spec":{"bootstrap":{"existingNodes":"WhenNotReady","recoveryWindowUntil":"soon"}}})"),
  };
  CHECK(certguard::csr::RecoveryWindowTargets(policies) ==
        std::vector<std::string>{"a-restore", "z-restore"});
  const auto until =
      certguard::x509::Time{std::chrono::sys_days{std::chrono::year{2026} / 12 / 6}} +
      std::chrono::hours(10) + std::chrono::minutes(30);
  CHECK(nlohmann::json::parse(certguard::csr::RecoveryWindowPatch(until)) ==
        nlohmann::json::parse(
            R"({"spec":{"bootstrap":{"recoveryWindowUntil":"2026-12-06T10:30:00Z"}}})"));
}
