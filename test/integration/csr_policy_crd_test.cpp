// The CSRApprovalPolicy CRD on a real API server: the examples are accepted,
// defaults are filled in as the engine assumes, and bad values are rejected.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "csr/policy.h"
#include "support/cluster.h"

namespace certguard::test {
namespace {

CommandResult ApplyPolicy(const Cluster& cluster, const std::string& work, const std::string& name,
                          const std::string& spec) {
  const std::string file = work + "/" + name + ".yaml";
  cluster.Run("cat > " + ShellQuote(file) + " <<'EOF'\napiVersion: certguard.io/v1alpha1\n"
              "kind: CSRApprovalPolicy\nmetadata:\n  name: " + name + "\nspec:\n" + spec +
              "\nEOF\n");
  return cluster.Kubectl("apply -f " + ShellQuote(file));
}

TEST_CASE("csr: the CSRApprovalPolicy CRD validates and defaults policies",
          "[integration][csr]") {
  const Cluster& cluster = RequireCluster();
  const std::string work = cluster.ScratchDir("csr-policy-crd");
  auto crd = cluster.Kubectl("apply -f crds/certguard.io_csrapprovalpolicies.yaml");
  INFO(crd.err);
  REQUIRE(crd.ok());
  REQUIRE(cluster
              .Kubectl("wait --for condition=established --timeout=60s "
                       "crd/csrapprovalpolicies.certguard.io")
              .ok());

  // Every policy made here is gone when the test ends: a policy left behind
  // would decide for the other tests of the shared plane.
  struct Cleanup {
    const Cluster& cluster;
    ~Cleanup() {
      cluster.Kubectl("delete csrapprovalpolicy kubeadm-nodes okd-workers restore-from-snapshot "
                      "defaults --ignore-not-found");
    }
  } cleanup{cluster};
  auto examples = cluster.Kubectl("apply -f deploy/examples/csrapprovalpolicy-kubeadm.yaml "
                                  "-f deploy/examples/csrapprovalpolicy-okd.yaml "
                                  "-f deploy/examples/csrapprovalpolicy-restore.yaml");
  INFO(examples.err);
  CHECK(examples.ok());

  // An empty spec gets the defaults the engine's DefaultPolicy has.
  REQUIRE(ApplyPolicy(cluster, work, "defaults", "  {}").ok());
  auto got = cluster.Kubectl("get csrapprovalpolicy defaults -o json");
  REQUIRE(got.ok());
  auto policy = csr::PolicyFromObject(nlohmann::json::parse(got.out));
  REQUIRE(policy.ok());
  CHECK(policy->valid());
  auto spec = nlohmann::json::parse(got.out)["spec"];
  CHECK(spec["signerNames"].size() == 2);
  CHECK(spec["requireNodeAddressMatch"] == true);
  CHECK(spec["maxExpirationSeconds"] == csr::kDefaultMaxExpirationSeconds);
  CHECK(spec["bootstrap"]["groups"] == nlohmann::json::array({"system:bootstrappers"}));
  CHECK(spec["bootstrap"]["existingNodes"] == "Refuse");
  CHECK(spec["onRefusal"] == "Deny");
  CHECK(spec["dryRun"] == false);

  struct Bad {
    const char* name;
    const char* spec;
  };
  for (const auto& b : std::vector<Bad>{
           {"bad-enum", "  onRefusal: Approve"},
           {"bad-signer", "  signerNames: [example.com/custom]"},
           {"bad-regex-type", "  nodeNamePattern: 7"},
           {"bad-existing", "  bootstrap:\n    existingNodes: Always"},
           {"bad-expiry", "  maxExpirationSeconds: 10"},
           {"bad-cidr", "  allowedIPRanges: [\"not a cidr\"]"},
           {"bad-group", "  bootstrap:\n    groups: [system:authenticated]"},
           {"bad-relax", "  requireNodeAddressMatch: false"},
           {"huge-expiry", "  maxExpirationSeconds: 9223372036854775807"},
           {"huge-not-ready", "  bootstrap:\n    notReadyForSeconds: 9223372036854775807"},
           {"bad-denied-cidr", "  deniedIPRanges: [\"not a cidr\"]"},
       }) {
    SECTION(b.name) {
      auto r = ApplyPolicy(cluster, work, b.name, b.spec);
      INFO(r.out << r.err);
      CHECK_FALSE(r.ok());
      CHECK(r.err.find("Invalid") != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace certguard::test
