#include "csr/cache.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "csr/approval.h"
#include "csr/node.h"
#include "csr/pending.h"
#include "kube/client.h"

using namespace certguard::csr;
using nlohmann::json;

namespace {

json BigNode() {
  return json::parse(R"({
    "apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "worker-1", "uid": "u-1", "resourceVersion": "42",
                 "labels": {"zone": "a", "node-role.kubernetes.io/worker": ""},
                 "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
                 "creationTimestamp": "2026-11-24T05:00:00Z"},
    "spec": {"podCIDR": "10.244.1.0/24", "providerID": "aws:///eu-west-1a/i-0123"},
    "status": {
      "addresses": [{"type": "InternalIP", "address": "10.0.0.11"},
                    {"type": "Hostname", "address": "worker-1"}],
      "conditions": [{"type": "MemoryPressure", "status": "False", "message": "ok"},
                     {"type": "Ready", "status": "True", "reason": "KubeletReady",
                      "message": "kubelet is posting ready status",
                      "lastHeartbeatTime": "2026-11-24T05:59:00Z",
                      "lastTransitionTime": "2026-11-24T05:01:00Z"}],
      "images": [{"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 320368}],
      "nodeInfo": {"kubeletVersion": "v1.34.4"},
      "capacity": {"cpu": "2"}}})");
}

json Csr(bool decided, bool issued = false) {
  json c = {{"apiVersion", "certificates.k8s.io/v1"},
            {"kind", "CertificateSigningRequest"},
            {"metadata",
             {{"name", "csr-1"},
              {"uid", "u-2"},
              {"resourceVersion", "7"},
              {"creationTimestamp", "2026-11-24T05:00:00Z"},
              {"labels", {{"a", "b"}}}}},
            {"spec",
             {{"request", std::string(1200, 'Q')},
              {"signerName", "kubernetes.io/kubelet-serving"},
              {"username", "system:node:worker-1"},
              {"groups", {"system:nodes", "system:authenticated"}},
              {"usages", {"digital signature", "server auth"}}}}};
  if (decided) {
    c["status"]["conditions"] = json::array(
        {{{"type", "Approved"}, {"status", "True"}, {"reason", "R"}, {"message", "long text"},
          {"lastUpdateTime", "2026-11-24T05:00:01Z"}}});
  }
  if (issued) c["status"]["certificate"] = std::string(1500, 'C');
  return c;
}

}  // namespace

TEST_CASE("NodeForCache keeps what NodeFromObject reads, and less", "[csr][cache]") {
  json node = BigNode();
  json cached = NodeForCache(node);
  auto full = NodeFromObject(node);
  auto trimmed = NodeFromObject(cached);
  REQUIRE(full.ok());
  REQUIRE(trimmed.ok());
  CHECK(trimmed->name == full->name);
  CHECK(trimmed->labels == full->labels);
  REQUIRE(trimmed->addresses.size() == 2);
  CHECK(trimmed->addresses[0].address == "10.0.0.11");
  CHECK(trimmed->ready_status == "True");
  CHECK(trimmed->ready_since == full->ready_since);
  // The informer's bookkeeping fields stay; the rest goes.
  CHECK(cached["metadata"]["resourceVersion"] == "42");
  CHECK_FALSE(cached.contains("kind"));
  CHECK_FALSE(cached["metadata"].contains("uid"));
  CHECK_FALSE(cached.contains("spec"));
  CHECK_FALSE(cached["metadata"].contains("annotations"));
  CHECK_FALSE(cached["status"].contains("images"));
  CHECK(cached["status"]["conditions"].size() == 1);
  CHECK_FALSE(cached["status"]["conditions"][0].contains("lastHeartbeatTime"));
  CHECK(cached.dump().size() < node.dump().size() / 2);
}

TEST_CASE("NodeForCache copes with a Node without status or of the wrong shape", "[csr][cache]") {
  json bare = {{"kind", "Node"}, {"metadata", {{"name", "n"}}}};
  json cached = NodeForCache(bare);
  CHECK(cached["metadata"]["name"] == "n");
  CHECK_FALSE(cached.contains("status"));
  REQUIRE(NodeFromObject(cached).ok());
  CHECK(NodeForCache(json("text")) == json("text"));
  json odd = {{"metadata", "x"}, {"status", {{"conditions", "y"}}}};
  CHECK_NOTHROW(NodeForCache(odd));
}

TEST_CASE("CsrForCache keeps a pending CSR whole", "[csr][cache]") {
  json pending = Csr(false);
  CHECK(CsrForCache(pending) == pending);
}

TEST_CASE("CsrForCache keeps of a decided CSR its name, signer, node and decision", "[csr][cache]") {
  for (bool issued : {false, true}) {
    INFO("issued " << issued);
    json decided = Csr(true, issued);
    json cached = CsrForCache(decided);
    CHECK(cached["metadata"]["name"] == "csr-1");
    CHECK(cached["metadata"]["uid"] == "u-2");
    CHECK(cached["metadata"]["resourceVersion"] == "7");
    CHECK(cached["spec"]["signerName"] == "kubernetes.io/kubelet-serving");
    CHECK(cached["spec"]["username"] == "system:node:worker-1");
    CHECK_FALSE(cached.contains("apiVersion"));
    CHECK_FALSE(cached["metadata"].contains("creationTimestamp"));
    CHECK_FALSE(cached["spec"].contains("request"));
    CHECK_FALSE(cached["status"].contains("certificate"));
    CHECK(StateOf(cached) == CsrState::kApproved);
    CHECK(IsDecided(cached));
    const json* ptr = &cached;
    CHECK(Summarize({ptr}, {}).total == 0);
    CHECK(cached.dump().size() < 300);
  }
}

TEST_CASE("CsrForCache keeps a denial a denial, and an issued CSR decided", "[csr][cache]") {
  json denied = Csr(false);
  denied["status"]["conditions"] = json::array(
      {{{"type", "Approved"}, {"status", "False"}}, {{"type", "Denied"}, {"status", "True"}}});
  CHECK(StateOf(CsrForCache(denied)) == CsrState::kDenied);

  // A certificate with no True condition (a signer that writes only that).
  json only_cert = Csr(false, true);
  REQUIRE(StateOf(only_cert) == CsrState::kIssued);
  json cached = CsrForCache(only_cert);
  CHECK(IsDecided(cached));
  CHECK_FALSE(cached["status"].contains("certificate"));
}

TEST_CASE("kNodeFieldsUnread leaves what NodeFromObject and NodeForCache read", "[csr][cache]") {
  json node = BigNode();
  json dropped = node;
  certguard::kube::DropFields(dropped, kNodeFieldsUnread);
  // Something went, and what is read of a Node did not.
  CHECK_FALSE(dropped.contains("spec"));
  CHECK_FALSE(dropped["status"].contains("images"));
  CHECK_FALSE(dropped["status"].contains("nodeInfo"));
  CHECK(NodeForCache(dropped) == NodeForCache(node));
  auto full = NodeFromObject(node);
  auto slim = NodeFromObject(dropped);
  REQUIRE(full.ok());
  REQUIRE(slim.ok());
  CHECK(slim->name == full->name);
  CHECK(slim->labels == full->labels);
  REQUIRE(slim->addresses.size() == full->addresses.size());
  for (size_t i = 0; i < slim->addresses.size(); ++i) {
    CHECK(slim->addresses[i].type == full->addresses[i].type);
    CHECK(slim->addresses[i].address == full->addresses[i].address);
  }
  CHECK(slim->ready_status == full->ready_status);
  CHECK(slim->ready_since == full->ready_since);
}
