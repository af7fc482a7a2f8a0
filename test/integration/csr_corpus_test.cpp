// The whole adversarial corpus (test/csr/corpus/corpus.h) on the real control
// plane: each request is created through the API by the identity the case
// names (a node's certificate, a bootstrap token, a service account token, a
// plain user's certificate), certguard decides, kube-controller-manager signs
// what is approved. The API server itself refuses some requests before
// certguard sees them; those are listed with the reason it gives.
#include <algorithm>
#include <catch2/catch.hpp>
#include <iostream>
#include <map>
#include <set>

#include "csr/approval.h"
#include "csr/corpus/corpus.h"
#include "csr_support.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/resource.h"
#include "x509/pem.h"

namespace certguard::test {
namespace {

using namespace csr_it;
namespace corpus = testing::corpus;

const kube::Resource& kCsrs = kube::resources::kCertificateSigningRequests;

std::shared_ptr<kube::RestClient> ClientFor(const std::string& kubeconfig) {
  kube::LoadOptions load;
  load.kubeconfig_flag = kubeconfig;
  auto config = kube::LoadClientConfig(load);
  INFO(kubeconfig << ": " << config.status().ToString());
  REQUIRE(config.ok());
  auto client = kube::NewRestClient(*config);
  REQUIRE(client.ok());
  return *client;
}

// A client certificate of the cluster CA for SUBJECT ("/CN=alice"), and its kubeconfig.
std::string CertIdentity(const Cluster& cluster, const std::string& work, const std::string& name,
                         const std::string& subject) {
  const std::string base = work + "/" + name;
  CommandResult r = cluster.Run(
      "set -e; b=" + ShellQuote(base) +
      "; openssl ecparam -name prime256v1 -genkey -noout -out \"$b.key\" 2>/dev/null"
      "; openssl req -new -key \"$b.key\" -subj " + ShellQuote(subject) + " -out \"$b.csr\""
      "; printf 'keyUsage=critical,digitalSignature\\nextendedKeyUsage=clientAuth\\n' > \"$b.ext\""
      "; flock \"$(dirname \"$CLUSTER_CA\")/ca.srl.lock\" openssl x509 -req -in \"$b.csr\" -CA \"$CLUSTER_CA\""
      " -CAkey \"$CLUSTER_CA_KEY\" -CAcreateserial -CAserial \"$(dirname \"$CLUSTER_CA\")/ca.srl\""
      " -days 1 -sha256 -extfile \"$b.ext\" -out \"$b.crt\" 2>/dev/null"
      "; k=\"$b.kubeconfig\"; kubectl config --kubeconfig \"$k\" set-cluster c --server \"$KUBE_SERVER\""
      " --certificate-authority \"$CLUSTER_CA\" >/dev/null"
      "; kubectl config --kubeconfig \"$k\" set-credentials u --client-certificate \"$b.crt\""
      " --client-key \"$b.key\" >/dev/null"
      "; kubectl config --kubeconfig \"$k\" set-context c --cluster c --user u >/dev/null"
      "; kubectl config --kubeconfig \"$k\" use-context c >/dev/null");
  INFO(r.err);
  REQUIRE(r.ok());
  return base + ".kubeconfig";
}

// A kubeconfig for a service account's token.
std::string TokenIdentity(const Cluster& cluster, const std::string& work, const std::string& ns,
                          const std::string& sa) {
  cluster.Kubectl("create serviceaccount " + sa + " -n " + ns);
  CommandResult token = cluster.Kubectl("create token " + sa + " -n " + ns + " --duration 1h");
  INFO(token.err);
  REQUIRE(token.ok());
  const std::string k = work + "/sa-" + sa + ".kubeconfig";
  CommandResult r = cluster.Run(
      "set -e; k=" + ShellQuote(k) +
      "; kubectl config --kubeconfig \"$k\" set-cluster c --server \"$KUBE_SERVER\""
      " --certificate-authority \"$CLUSTER_CA\" >/dev/null"
      "; kubectl config --kubeconfig \"$k\" set-credentials u --token " +
      ShellQuote(Trim(token.out)) +
      " >/dev/null; kubectl config --kubeconfig \"$k\" set-context c --cluster c --user u >/dev/null"
      "; kubectl config --kubeconfig \"$k\" use-context c >/dev/null");
  INFO(r.err);
  REQUIRE(r.ok());
  return k;
}

// The CSR a client sends for a case: what the API server fills (username,
// groups, uid) and the timestamps are left out.
nlohmann::json Sent(const corpus::Case& c, const std::string& name) {
  nlohmann::json obj = corpus::CsrObject(c);
  obj["metadata"] = {{"name", name}};
  for (const char* k : {"username", "groups", "uid"}) obj["spec"].erase(k);
  return obj;
}

// (No ';' in test names: CTest's discovery splits a name there and then runs
// nothing under either half.)
TEST_CASE("csr: the adversarial corpus, created by the matching identities, is refused with its "
          "reasons and Events, nothing of it signed, and its good requests are issued",
          "[integration][csr][corpus]") {
  const Cluster& cluster = RequireCluster();
  PrepareCluster(cluster);
  const std::string work = cluster.ScratchDir("csr-corpus");

  // The corpus's Nodes: worker-1 and worker-2 with its addresses; worker-3
  // has an identity but no Node.
  std::map<std::string, std::string> node_kc;
  const nlohmann::json corpus_nodes = corpus::CorpusNodes();
  for (const auto& node : corpus_nodes["items"]) {
    std::vector<std::string> addresses;
    for (const auto& a : node["status"]["addresses"]) {
      addresses.push_back(a["type"].get<std::string>() + "=" + a["address"].get<std::string>());
    }
    const std::string name = node["metadata"]["name"].get<std::string>();
    auto kc = cluster.NodeIdentity(name, addresses);
    REQUIRE(kc.ok());
    node_kc[name] = *kc;
  }
  auto kc3 = cluster.NodeIdentity("worker-3", {});
  REQUIRE(kc3.ok());
  node_kc["worker-3"] = *kc3;
  REQUIRE(cluster.Kubectl("delete node worker-3").ok());

  // The other identities, and the right to create CSRs for those that are not
  // nodes or bootstrappers (RBAC, as an admin could have granted it).
  CommandResult token = cluster.Run("test/cluster/bootstrap-token.sh " + ShellQuote(cluster.dir()));
  INFO(token.err);
  REQUIRE(token.ok());
  const std::string bootstrap_kc = Trim(token.out);
  const std::string alice_kc = CertIdentity(cluster, work, "alice", "/CN=alice");
  const std::string nogroup_kc = CertIdentity(cluster, work, "nogroup", "/CN=system:node:worker-1");
  const std::string builder_kc = TokenIdentity(cluster, work, "default", "builder");
  cluster.Kubectl("delete clusterrolebinding corpus-csr-creators --ignore-not-found");
  cluster.Kubectl("create clusterrole corpus-csr-creator --verb=create,get,list,watch "
                  "--resource=certificatesigningrequests");
  REQUIRE(cluster
              .Kubectl("create clusterrolebinding corpus-csr-creators --clusterrole "
                       "corpus-csr-creator --user alice --user system:node:worker-1 "
                       "--serviceaccount default:builder")
              .ok());

  auto identity_of = [&](const corpus::Case& c) -> std::string {
    const std::set<std::string> groups(c.groups.begin(), c.groups.end());
    if (c.username.rfind("system:node:", 0) == 0) {
      if (!groups.count("system:nodes")) return nogroup_kc;
      return node_kc.at(c.username.substr(12));
    }
    if (c.username.rfind("system:bootstrap:", 0) == 0) return bootstrap_kc;
    if (c.username == "alice") return alice_kc;
    if (c.username == "system:serviceaccount:default:builder") return builder_kc;
    FAIL("no identity for " << c.username);
    return "";
  };

  // What the API server refuses before any approver sees it: NodeRestriction
  // lets a node create only its own CSRs (and, asked by a node, refuses what it
  // cannot parse), validation refuses a signature that does not verify.
  const std::map<std::string, std::string> refused_by_api = {
      {"cn-not-the-requester", "Forbidden"},  {"serving-cn-not-the-requester", "Forbidden"},
      {"ecdsa-secp256k1", "Forbidden"},       {"garbage-request", "Forbidden"},
      {"tampered-signature", "Invalid"},      {"signed-by-another-key", "Invalid"},
      {"ed448", "Invalid"},
  };

  // A few identities make the whole corpus: each request is decided on its own, none superseded.
  auto cg = StartCertguard(cluster, "corpus", {"--csr-node-wait-timeout=5s", "--csr-superseded=off"});
  REQUIRE(cg->WaitForLog("csr controller started", std::chrono::seconds(60)));

  auto admin = ClientFor(cluster.admin_kubeconfig());
  std::map<std::string, corpus::Case> created;
  int api_refused = 0;
  for (const auto& c : corpus::Corpus()) {
    INFO(c.name);
    const std::string name = "corpus-" + c.name;
    (void)admin->Delete(kCsrs, "", name);
    REQUIRE(Eventually([&] { return admin->Get(kCsrs, "", name).status().code() == Code::kNotFound; },
                       std::chrono::seconds(20)));
    auto client = ClientFor(identity_of(c));
    auto made = client->Create(kCsrs, "", Sent(c, name));
    auto refused = refused_by_api.find(c.name);
    if (refused != refused_by_api.end()) {
      INFO(made.status().ToString());
      CHECK_FALSE(made.ok());
      CHECK(made.status().ToString().find(refused->second) != std::string::npos);
      ++api_refused;
      continue;
    }
    INFO(made.status().ToString());
    REQUIRE(made.ok());
    // The API server put the identity the case names on it.
    const std::string user = (*made)["spec"]["username"].get<std::string>();
    if (c.username.rfind("system:bootstrap:", 0) == 0) {
      CHECK(user.rfind("system:bootstrap:", 0) == 0);
    } else {
      CHECK(user == c.username);
    }
    created.emplace(name, c);
  }

  int approved = 0, denied = 0, ignored = 0;
  for (const auto& [name, c] : created) {
    INFO(c.name << " (want " << csr::VerdictName(c.want) << ", " << c.code << ")");
    if (c.want == csr::Verdict::kIgnore) continue;
    const std::string want = c.want == csr::Verdict::kApprove ? "Issued" : "Denied";
    CHECK(Eventually([&] { return StateOf(GetCsr(cluster, name)) == want; },
                     std::chrono::seconds(60)));
    nlohmann::json obj = GetCsr(cluster, name);
    CHECK(DecisionMessage(obj).find(c.code) != std::string::npos);
    const std::string event = c.want == csr::Verdict::kApprove ? "Approved:" : "Denied:";
    CHECK(Eventually(
        [&] {
          std::string events = EventsOf(cluster, name);
          return events.find(event) != std::string::npos && events.find(c.code) != std::string::npos;
        },
        std::chrono::seconds(30)));
    if (c.want == csr::Verdict::kApprove) {
      ++approved;
    } else {
      ++denied;
      CHECK(csr::DecisionConditionCount(obj) == 1);
    }
  }
  // The other signer's request: certguard never touched it, nobody signed it.
  for (const auto& [name, c] : created) {
    if (c.want != csr::Verdict::kIgnore) continue;
    INFO(c.name);
    ++ignored;
    nlohmann::json obj = GetCsr(cluster, name);
    CHECK(StateOf(obj) == "");
    CHECK(EventsOf(cluster, name).empty());
  }
  // Nothing refused was signed (kube-controller-manager had every chance by now).
  for (const auto& [name, c] : created) {
    if (c.want == csr::Verdict::kApprove) continue;
    INFO(c.name);
    nlohmann::json obj = GetCsr(cluster, name);
    CHECK_FALSE(obj["status"].contains("certificate"));
  }
  std::cout << "corpus: " << corpus::Corpus().size() << " cases: " << api_refused
            << " refused by the API server, " << approved << " approved and issued, " << denied
            << " denied by certguard, " << ignored << " left alone (another signer)\n";
  // Every case the corpus wants approved was approved and issued live.
  const auto cases = corpus::Corpus();
  CHECK(approved == std::count_if(cases.begin(), cases.end(), [](const corpus::Case& c) {
          return c.want == csr::Verdict::kApprove;
        }));
  CHECK(cg->Stop() == 0);
  cluster.Kubectl("delete clusterrolebinding corpus-csr-creators --ignore-not-found");
}

}  // namespace
}  // namespace certguard::test
