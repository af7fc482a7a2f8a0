// Kubelet-serving CSRs that smuggle SANs or break DER in ways two parsers read
// differently (issue: a second extensionRequest, msExtReq, multi-valued or empty
// SETs, non-minimal lengths, ...). Each is validly signed and names the reason
// code certguard must refuse it with. Used by the unit table, the Go-oracle
// differential test, `certguard csr evaluate` and the live attack test.
#pragma once

#include <string>
#include <vector>

#include "support/pki.h"

namespace certguard::testing {

struct HostileCsr {
  std::string name;
  std::string der;
  std::string code;  // reason code (csr/reasons.h) of the refusal
};

struct HostileTarget {
  std::string node = "worker-1";
  std::string own_dns = "worker-1";
  std::string own_ip = "10.0.0.11";
  std::string foreign_dns = "kubernetes.default.svc";
  std::string foreign_ip = "10.0.0.12";
};

// Every hostile case for `t`, each signed by `key` (its own public key inside).
std::vector<HostileCsr> HostileCsrs(const HostileTarget& t, const Key& key);

// The same request done right: t.node's own SANs in one extensionRequest.
std::string GoodServingCsr(const HostileTarget& t, const Key& key);

}  // namespace certguard::testing
