// Hand-built facts for the tests of the CSR policy engine (no OpenSSL): a fixed
// instant, addresses, a kubelet's client and serving requests, policies from JSON, and what
// a decision says.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "csr/evaluate.h"
#include "csr/policy.h"
#include "csr/request.h"
#include "x509/types.h"

namespace certguard::testing {

// The tests' "now": a fixed instant, so that nothing depends on the clock.
inline const x509::Time kNow =
    x509::Time{std::chrono::sys_days{std::chrono::year{2026} / 11 / 24}} + std::chrono::hours(6);

// An address the test knows to be valid.
inline x509::IpAddress Ip(const char* text) { return x509::IpAddress::Parse(text).value(); }

// The parsed CSR of node `node`'s kubelet: O=system:nodes, CN=system:node:NODE, an
// ECDSA P-256 key, a valid signature, no SANs.
inline x509::CsrInfo NodeCsr(const std::string& node) {
  x509::CsrInfo c;
  c.subject.attributes = {{"O", "system:nodes"}, {"CN", "system:node:" + node}};
  c.key.algorithm = x509::KeyAlgorithm::kEcdsa;
  c.key.bits = 256;
  c.key.curve = "P-256";
  c.signature_valid = true;
  return c;
}

// Node `node`'s kubelet asking for its client certificate, with its own credentials.
inline csr::CsrRequest KubeletClient(const std::string& node = "worker-1") {
  csr::CsrRequest r;
  r.name = "csr-client";
  r.signer_name = csr::kClientSigner;
  r.usages = {"digital signature", "client auth"};
  r.username = "system:node:" + node;
  r.groups = {"system:nodes", "system:authenticated"};
  r.csr = NodeCsr(node);
  return r;
}

// Node `node`'s kubelet asking for its serving certificate, with no SANs yet: the
// names and addresses are what the tests vary.
inline csr::CsrRequest KubeletServing(const std::string& node = "worker-1") {
  csr::CsrRequest r = KubeletClient(node);
  r.name = "csr-serving";
  r.signer_name = csr::kServingSigner;
  r.usages = {"digital signature", "server auth"};
  return r;
}

// A CSRApprovalPolicy object's text as a Policy; fails the test if it does not load.
inline csr::Policy PolicyFromJson(const std::string& text) {
  auto p = csr::PolicyFromObject(nlohmann::json::parse(text));
  REQUIRE(p.ok());
  return *p;
}

inline bool HasCode(const csr::Reasons& reasons, const std::string& code) {
  for (const auto& r : reasons) {
    if (r.code == code) return true;
  }
  return false;
}

// "Verdict by 'policy': [code: message] ...", for a failing test's message.
inline std::string Describe(const csr::Decision& d) {
  std::string s = std::string(csr::VerdictName(d.verdict)) + " by '" + d.policy + "':";
  for (const auto& r : d.reasons) s += " [" + r.code + ": " + r.message + "]";
  return s;
}

}  // namespace certguard::testing
