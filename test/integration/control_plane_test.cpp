// The control plane of test/cluster/ is a real one: kube-apiserver enforces
// node authorization, kube-controller-manager signs approved kubelet CSRs with
// the signing CA, and nothing approves a CSR on its own.
#include <catch2/catch.hpp>

#include "support/cluster.h"

namespace certguard::test {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST_CASE("a node's serving CSR: 403 to self-approval, signed by kcm once an admin approves",
          "[integration][cluster]") {
  const Cluster& cluster = RequireCluster();
  const std::string work = cluster.ScratchDir("smoke-serving");

  auto kubeconfig = cluster.NodeIdentity("smoke-node", {"InternalIP=10.20.30.40", "Hostname=smoke-node"});
  INFO(kubeconfig.status().ToString());
  REQUIRE(kubeconfig.ok());
  CHECK(Trim(cluster.Kubectl("get node smoke-node -o jsonpath='{.status.addresses[0].address}'").out) ==
        "10.20.30.40");

  // As the node, a serving CSR shaped as the kubelet makes it.
  CommandResult created = cluster.Run(
      "test/cluster/kubelet-csr.sh create --kubeconfig " + ShellQuote(*kubeconfig) +
      " --node smoke-node --type serving --dns smoke-node --ip 10.20.30.40 --out " + ShellQuote(work + "/serving"));
  INFO(created.err);
  REQUIRE(created.ok());
  const std::string csr = Trim(created.out);
  REQUIRE(csr.rfind("csr-", 0) == 0);

  // The API server filled the requester in from the client certificate.
  CHECK(Trim(cluster.Kubectl("get csr " + csr + " -o jsonpath='{.spec.username}'").out) ==
        "system:node:smoke-node");
  CHECK(Trim(cluster.Kubectl("get csr " + csr + " -o jsonpath='{.spec.signerName}'").out) ==
        "kubernetes.io/kubelet-serving");

  // The node may not approve its own CSR: PUT to /approval answers 403.
  CommandResult self_approve = cluster.Run(
      "set -o pipefail; kubectl --kubeconfig " + ShellQuote(*kubeconfig) + " get csr " + csr +
      " -o json | jq '.status.conditions = [{type: \"Approved\", status: \"True\", reason: \"Self\","
      " message: \"self-approved\"}]' | curl -sS -o /dev/null -w '%{http_code}' -X PUT"
      " --cacert \"$CLUSTER_CA\" --cert " + ShellQuote(cluster.dir() + "/nodes/smoke-node.crt") +
      " --key " + ShellQuote(cluster.dir() + "/nodes/smoke-node.key") +
      " -H 'Content-Type: application/json' --data-binary @- "
      "\"$KUBE_SERVER/apis/certificates.k8s.io/v1/certificatesigningrequests/" + csr + "/approval\"");
  INFO(self_approve.err);
  CHECK(self_approve.out == "403");
  CommandResult kubectl_approve = cluster.Kubectl("certificate approve " + csr, *kubeconfig);
  CHECK_FALSE(kubectl_approve.ok());
  CHECK(kubectl_approve.err.find("Forbidden") != std::string::npos);

  // Nothing in the plane approves or signs it by itself.
  CommandResult pending = cluster.Run("test/cluster/kubelet-csr.sh wait --timeout 3 --kubeconfig " +
                                      ShellQuote(*kubeconfig) + " --name " + csr + " --out " +
                                      ShellQuote(work + "/serving"));
  CHECK(pending.exit_code == 5);
  CHECK(Trim(pending.out) == "timeout");

  // Approved as admin, kube-controller-manager signs it.
  CommandResult approve = cluster.Kubectl("certificate approve " + csr);
  INFO(approve.err);
  REQUIRE(approve.ok());
  CommandResult issued = cluster.Run("test/cluster/kubelet-csr.sh wait --timeout 30 --kubeconfig " +
                                     ShellQuote(*kubeconfig) + " --name " + csr + " --out " +
                                     ShellQuote(work + "/serving"));
  INFO(issued.out << issued.err);
  REQUIRE(issued.exit_code == 0);

  // Signed by the signing CA, not by the cluster CA.
  const std::string crt = ShellQuote(work + "/serving.crt");
  CHECK(cluster.Run("openssl verify -CAfile \"$SIGNER_CA\" " + crt).ok());
  CHECK_FALSE(cluster.Run("openssl verify -CAfile \"$CLUSTER_CA\" " + crt).ok());
  CommandResult text = cluster.Run("openssl x509 -noout -subject -ext subjectAltName,extendedKeyUsage -nameopt RFC2253 -in " + crt);
  REQUIRE(text.ok());
  CHECK(text.out.find("CN=system:node:smoke-node,O=system:nodes") != std::string::npos);
  CHECK(text.out.find("DNS:smoke-node") != std::string::npos);
  CHECK(text.out.find("IP Address:10.20.30.40") != std::string::npos);
  CHECK(text.out.find("TLS Web Server Authentication") != std::string::npos);
  // The certificate belongs to the key the node generated.
  CHECK(cluster.Run("cmp <(openssl x509 -noout -pubkey -in " + crt + ") <(openssl pkey -pubout -in " +
                    ShellQuote(work + "/serving.key") + ")").ok());
}

TEST_CASE("a bootstrap-token client CSR is attributed to the bootstrapper, a denial reaches the kubelet",
          "[integration][cluster]") {
  const Cluster& cluster = RequireCluster();
  const std::string work = cluster.ScratchDir("smoke-bootstrap");

  CommandResult token = cluster.Run("test/cluster/bootstrap-token.sh \"$CERTGUARD_CLUSTER_DIR\"");
  INFO(token.err);
  REQUIRE(token.ok());
  const std::string kubeconfig = Trim(token.out);
  const std::string token_id = Trim(cluster.Run("cut -d. -f1 \"$CERTGUARD_CLUSTER_DIR/bootstrap.token\"").out);
  REQUIRE(token_id.size() == 6);

  CommandResult created = cluster.Run("test/cluster/kubelet-csr.sh create --bootstrap --kubeconfig " +
                                      ShellQuote(kubeconfig) + " --node boot-node --type client --out " +
                                      ShellQuote(work + "/client"));
  INFO(created.err);
  REQUIRE(created.ok());
  const std::string csr = Trim(created.out);
  CHECK(csr.rfind("node-csr-", 0) == 0);
  CHECK(Trim(cluster.Kubectl("get csr " + csr + " -o jsonpath='{.spec.username}'").out) ==
        "system:bootstrap:" + token_id);
  const std::string groups = cluster.Kubectl("get csr " + csr + " -o jsonpath='{.spec.groups}'").out;
  CHECK(groups.find("\"system:bootstrappers\"") != std::string::npos);
  CHECK(groups.find("\"system:bootstrappers:kubeadm:default-node-token\"") != std::string::npos);
  CHECK(Trim(cluster.Kubectl("get csr " + csr + " -o jsonpath='{.spec.usages}'").out) ==
        "[\"digital signature\",\"client auth\"]");

  // The bootstrapper may not read anything else.
  CHECK_FALSE(cluster.Kubectl("get secrets -n kube-system", kubeconfig).ok());

  CHECK(cluster.Kubectl("certificate deny " + csr).ok());
  CommandResult denied = cluster.Run("test/cluster/kubelet-csr.sh wait --timeout 30 --kubeconfig " +
                                     ShellQuote(kubeconfig) + " --name " + csr + " --out " +
                                     ShellQuote(work + "/client"));
  CHECK(denied.exit_code == 3);
  CHECK(denied.out.rfind("denied: ", 0) == 0);
}

TEST_CASE("kube-root-ca.crt is published into new namespaces with the cluster CA",
          "[integration][cluster]") {
  const Cluster& cluster = RequireCluster();
  REQUIRE(cluster.Kubectl("create namespace smoke-ns").ok());
  CommandResult published = cluster.Run(
      "for i in $(seq 50); do kubectl -n smoke-ns get configmap kube-root-ca.crt -o "
      "jsonpath='{.data.ca\\.crt}' 2>/dev/null && exit 0; sleep 0.2; done; exit 1");
  REQUIRE(published.ok());
  CHECK(published.out == cluster.Run("cat \"$CLUSTER_CA\"").out);
  CHECK(cluster.Kubectl("delete namespace smoke-ns --wait=false").ok());
}

}  // namespace
}  // namespace certguard::test
