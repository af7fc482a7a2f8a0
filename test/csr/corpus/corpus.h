// The public adversarial corpus of kubelet CSRs: each case says how to mint the
// request (at test time, with OpenSSL), who asks, and the decision the built-in
// default policy must reach, with the reason code that must be among its reasons.
// Run by corpus_test.cpp through the engine and by test/cli/csr_evaluate_test.cpp
// through `certguard csr evaluate`. Nodes: CorpusNodes().
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "csr/evaluate.h"
#include "support/hostile_csrs.h"
#include "support/pki.h"
#include "x509/pem.h"

namespace certguard::testing::corpus {

inline constexpr char kClient[] = "kubernetes.io/kube-apiserver-client-kubelet";
inline constexpr char kServing[] = "kubernetes.io/kubelet-serving";
inline const std::vector<std::string> kClientUsages{"digital signature", "key encipherment",
                                                    "client auth"};
inline const std::vector<std::string> kServingUsages{"digital signature", "key encipherment",
                                                     "server auth"};
inline const std::vector<std::string> kNodeGroups{"system:nodes", "system:authenticated"};
inline const std::vector<std::string> kBootstrapGroups{
    "system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token",
    "system:authenticated"};

struct Case {
  std::string name;
  std::function<std::string()> request;  // the PEM (or any bytes) of spec.request
  std::string signer;
  std::vector<std::string> usages;
  std::string username;
  std::vector<std::string> groups;
  std::optional<int64_t> expiration_seconds;
  csr::Verdict want;
  std::string code;  // must be among the decision's reason codes
};

// A kubelet-shaped CSR for `node`: O=system:nodes, CN=system:node:NODE.
inline CsrBuilder NodeCsr(const std::string& node) {
  return CsrBuilder().Subject({{"O", "system:nodes"}, {"CN", "system:node:" + node}});
}

// worker-1 and worker-2 exist (Ready); worker-3 does not. worker-4 is compromised: its
// kubelet wrote the API server's Service name and address into its own Node's addresses.
inline nlohmann::json CorpusNodes() {
  auto node = [](const std::string& name, const std::string& ip4, const std::string& ip6) {
    return nlohmann::json{
        {"apiVersion", "v1"},
        {"kind", "Node"},
        {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
        {"status",
         {{"addresses",
           {{{"type", "InternalIP"}, {"address", ip4}},
            {{"type", "InternalIP"}, {"address", ip6}},
            {{"type", "Hostname"}, {"address", name}},
            {{"type", "InternalDNS"}, {"address", name + ".internal.example"}}}},
          {"conditions",
           {{{"type", "Ready"},
             {"status", "True"},
             {"lastTransitionTime", "2026-11-01T00:00:00Z"}}}}}}};
  };
  nlohmann::json compromised = node("worker-4", "10.0.0.14", "fd00::14");
  for (auto [type, address] : {std::pair{"Hostname", "kubernetes.default.svc"},
                               std::pair{"InternalDNS", "kubernetes.default.svc.cluster.local"},
                               std::pair{"InternalIP", "10.96.0.1"}}) {
    compromised["status"]["addresses"].push_back({{"type", type}, {"address", address}});
  }
  return {{"apiVersion", "v1"},
          {"kind", "List"},
          {"items", {node("worker-1", "10.0.0.11", "fd00::11"),
                     node("worker-2", "10.0.0.12", "fd00::12"), compromised}}};
}

// The CertificateSigningRequest object the API server would hold for `c`.
inline nlohmann::json CsrObject(const Case& c) {
  std::string b64 = x509::pem::EncodeBody(c.request());
  std::erase(b64, '\n');
  nlohmann::json spec = {{"request", b64},      {"signerName", c.signer},
                         {"usages", c.usages},  {"username", c.username},
                         {"groups", c.groups},  {"uid", "8f7d1c2e-0000-4000-8000-000000000001"}};
  if (c.expiration_seconds) spec["expirationSeconds"] = *c.expiration_seconds;
  return {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", "csr-" + c.name}, {"creationTimestamp", "2026-11-24T06:00:00Z"}}},
          {"spec", spec}};
}

inline Case Client(std::string name, std::function<std::string()> request, csr::Verdict want,
                   std::string code, std::string node = "worker-1") {
  return {std::move(name), std::move(request), kClient, kClientUsages,
          "system:node:" + node, kNodeGroups, std::nullopt, want, std::move(code)};
}

inline Case Serving(std::string name, std::function<std::string()> request, csr::Verdict want,
                    std::string code, std::string node = "worker-1") {
  return {std::move(name), std::move(request), kServing, kServingUsages,
          "system:node:" + node, kNodeGroups, std::nullopt, want, std::move(code)};
}

inline std::vector<Case> Corpus() {
  using csr::Verdict;
  namespace r = csr::reason;
  auto serving_pem = [] {
    return NodeCsr("worker-1").Dns("worker-1").Ip("10.0.0.11").Ip("fd00::11").Pem();
  };
  auto client_pem = [] { return NodeCsr("worker-1").Pem(); };
  std::vector<Case> cases;

  // What must be approved.
  cases.push_back(Client("client-renewal", client_pem, Verdict::kApprove, r::kApprovedRenewal));
  cases.push_back(Client("client-renewal-ed25519",
                         [] { return NodeCsr("worker-1").Key(Key::Ed25519()).Pem(); },
                         Verdict::kApprove, r::kApprovedRenewal));
  {
    Case c = Client("bootstrap-new-node", [] { return NodeCsr("worker-3").Pem(); },
                    Verdict::kApprove, r::kApprovedBootstrap, "worker-3");
    c.username = "system:bootstrap:abcdef";
    c.groups = kBootstrapGroups;
    cases.push_back(c);
  }
  cases.push_back(Serving("serving", serving_pem, Verdict::kApprove, r::kApprovedServing));
  cases.push_back(Serving(
      "serving-ipv6-long-form-rsa2048",
      [] {
        return NodeCsr("worker-1")
            .Dns("WORKER-1.internal.example")
            .Ip("fd00:0:0:0:0:0:0:11")
            .Key(Key::Rsa(2048))
            .Pem();
      },
      Verdict::kApprove, r::kApprovedServing));

  // Adversarial: SANs.
  cases.push_back(Serving("another-nodes-ip",
                          [] { return NodeCsr("worker-1").Dns("worker-1").Ip("10.0.0.12").Pem(); },
                          Verdict::kDeny, r::kSANNotNodeAddress));
  cases.push_back(Serving("foreign-dns-name",
                          [] { return NodeCsr("worker-1").Dns("kubernetes.default.svc").Pem(); },
                          Verdict::kDeny, r::kSANNotNodeAddress));
  cases.push_back(Serving("dns-prefix-trick",
                          [] { return NodeCsr("worker-1").Dns("worker-1.evil.example").Pem(); },
                          Verdict::kDeny, r::kSANNotNodeAddress));
  cases.push_back(Serving("wildcard-dns",
                          [] { return NodeCsr("worker-1").Dns("*.internal.example").Pem(); },
                          Verdict::kDeny, r::kSANInvalidDNSName));
  cases.push_back(Serving("loopback-ip",
                          [] { return NodeCsr("worker-1").Dns("worker-1").Ip("127.0.0.1").Pem(); },
                          Verdict::kDeny, r::kSANAddressNotRoutable));
  cases.push_back(Serving("email-san",
                          [] {
                            return NodeCsr("worker-1").Dns("worker-1").Email("a@b.example").Pem();
                          },
                          Verdict::kDeny, r::kSANTypeNotAllowed));
  cases.push_back(Serving(
      "uri-san",
      [] { return NodeCsr("worker-1").Dns("worker-1").Uri("spiffe://cluster/ns/a/sa/b").Pem(); },
      Verdict::kDeny, r::kSANTypeNotAllowed));
  cases.push_back(Serving("serving-without-sans", client_pem, Verdict::kDeny, r::kNoSANs));
  cases.push_back(Client("sans-on-client-csr", serving_pem, Verdict::kDeny, r::kSANsOnClientCert));
  cases.push_back(Serving("serving-for-unknown-node",
                          [] { return NodeCsr("worker-3").Dns("worker-3").Pem(); },
                          Verdict::kDeny, r::kNodeNotFound, "worker-3"));

  // Adversarial: who asks.
  {
    Case c = Client("cn-not-the-requester", client_pem, Verdict::kDeny, r::kRequesterNotSubject);
    c.username = "system:node:worker-2";
    cases.push_back(c);
  }
  {
    Case c = Serving("serving-cn-not-the-requester", serving_pem, Verdict::kDeny,
                     r::kRequesterNotSubject);
    c.username = "system:node:worker-2";
    cases.push_back(c);
  }
  {
    Case c = Serving("non-node-requester", serving_pem, Verdict::kDeny, r::kRequesterNotNode);
    c.username = "system:serviceaccount:default:builder";
    c.groups = {"system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"};
    cases.push_back(c);
  }
  {
    Case c = Client("non-node-client-requester", client_pem, Verdict::kDeny,
                    r::kRequesterNotBootstrapper);
    c.username = "alice";
    c.groups = {"system:authenticated"};
    cases.push_back(c);
  }
  {
    Case c = Client("node-username-without-group", client_pem, Verdict::kDeny,
                    r::kRequesterNotInNodesGroup);
    c.groups = {"system:authenticated"};
    cases.push_back(c);
  }
  {
    Case c = Client("bootstrap-for-existing-node", client_pem, Verdict::kDeny,
                    r::kBootstrapForExistingNode);
    c.username = "system:bootstrap:abcdef";
    c.groups = kBootstrapGroups;
    cases.push_back(c);
  }

  // Adversarial: usages.
  {
    Case c = Serving("client-auth-added-to-serving", serving_pem, Verdict::kDeny,
                     r::kUsagesNotAllowed);
    c.usages.push_back("client auth");
    cases.push_back(c);
  }
  {
    Case c = Client("server-auth-added-to-client", client_pem, Verdict::kDeny,
                    r::kUsagesNotAllowed);
    c.usages.push_back("server auth");
    cases.push_back(c);
  }
  {
    Case c = Serving("serving-without-server-auth", serving_pem, Verdict::kDeny,
                     r::kUsagesNotAllowed);
    c.usages = {"digital signature", "key encipherment"};
    cases.push_back(c);
  }

  // Adversarial: subject, key, signature, extensions.
  cases.push_back(Client(
      "o-system-masters-alone",
      [] {
        return CsrBuilder()
            .Subject({{"O", "system:masters"}, {"CN", "system:node:worker-1"}})
            .Pem();
      },
      Verdict::kDeny, r::kSubjectNotNode));
  cases.push_back(Client("o-system-masters-added",
                         [] { return NodeCsr("worker-1").O("system:masters").Pem(); },
                         Verdict::kDeny, r::kSubjectNotNode));
  cases.push_back(Client("ou-added", [] { return NodeCsr("worker-1").Attribute("OU", "x").Pem(); },
                         Verdict::kDeny, r::kSubjectExtraAttributes));
  cases.push_back(Client("rsa-1024", [] { return NodeCsr("worker-1").Key(Key::Rsa(1024)).Pem(); },
                         Verdict::kDeny, r::kKeyTooWeak));
  cases.push_back(Client("ecdsa-secp256k1",
                         [] { return NodeCsr("worker-1").Key(Key::Ec("secp256k1")).Pem(); },
                         Verdict::kDeny, r::kKeyAlgorithmNotAllowed));
  cases.push_back(Client("ed448", [] { return NodeCsr("worker-1").Key(Key::Ed448()).Pem(); },
                         Verdict::kDeny, r::kKeyAlgorithmNotAllowed));
  cases.push_back(Client("tampered-signature",
                         [] { return NodeCsr("worker-1").TamperSignature().Pem(); },
                         Verdict::kDeny, r::kSignatureInvalid));
  cases.push_back(Client("signed-by-another-key",
                         [] { return NodeCsr("worker-1").SignWith(Key::Ec()).Pem(); },
                         Verdict::kDeny, r::kSignatureInvalid));
  cases.push_back(Client(
      "requests-ca-extension",
      [] { return NodeCsr("worker-1").Extension("basicConstraints", "critical,CA:TRUE").Pem(); },
      Verdict::kDeny, r::kExtensionNotAllowed));
  cases.push_back(Client("garbage-request", [] { return std::string("not a CSR at all"); },
                         Verdict::kDeny, r::kCsrUnparseable));


  // Signer and lifetime.
  {
    Case c = Client("non-kubelet-signer", client_pem, Verdict::kIgnore, r::kSignerNotHandled);
    c.signer = "kubernetes.io/kube-apiserver-client";
    cases.push_back(c);
  }
  {
    Case c = Client("ten-year-expiration", client_pem, Verdict::kDeny, r::kExpirationTooLong);
    c.expiration_seconds = 315360000;
    cases.push_back(c);
  }

  // What a compromised node claims about itself (worker-4's Node lists these).
  cases.push_back(Serving(
      "node-claims-kubernetes-service",
      [] {
        return NodeCsr("worker-4").Dns("worker-4").Dns("kubernetes.default.svc").Ip("10.0.0.14")
            .Ip("10.96.0.1").Pem();
      },
      Verdict::kDeny, r::kSANControlPlaneName, "worker-4"));
  cases.push_back(Serving(
      "node-claims-cluster-domain-name",
      [] {
        return NodeCsr("worker-4").Dns("kubernetes.default.svc.cluster.local").Ip("10.0.0.14")
            .Pem();
      },
      Verdict::kDeny, r::kSANControlPlaneName, "worker-4"));
  cases.push_back(Serving(
      "node-own-addresses-still-approved",
      [] { return NodeCsr("worker-4").Dns("worker-4").Ip("10.0.0.14").Pem(); },
      Verdict::kApprove, r::kApprovedServing, "worker-4"));
  return cases;
}

// Serving requests of worker-1 that two parsers read differently (smuggled SANs,
// DER tricks: support/hostile_csrs.h), each refused by the strict reading.
inline std::vector<Case> ParityCorpus() {
  std::vector<Case> cases;
  for (auto& h : HostileCsrs(HostileTarget{}, Key::Ec())) {
    cases.push_back(Serving("parity-" + h.name, [der = h.der] { return der; }, csr::Verdict::kDeny,
                            h.code));
  }
  return cases;
}

}  // namespace certguard::testing::corpus
