// The I/O shell of the trust check of `check-expiration --trust-bundle` and the
// node agent: reads the reference bundles and, with --check-server, connects
// to each kubeconfig's server. The decision is trust_gap.h's. Thread-compatible.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "expiry/scan.h"
#include "expiry/trust_gap.h"
#include "x509/types.h"

namespace certguard::expiry {

struct Reference {
  std::vector<x509::CertificateInfo> cas;  // every certificate of every bundle, in order
  std::vector<std::string> errors;         // "FILE: why", for files or blocks that cannot be read
};

// Reads --trust-bundle files as this process sees them (a ConfigMap mounted
// into the pod), not under --root. A file over max_bytes, unreadable or with
// no certificate is an error; its readable certificates still count.
Reference ReadReference(const std::vector<std::string>& files, size_t max_bytes);

struct TrustOptions {
  // Only these kubeconfigs (or those under these directories) are compared
  // (InTrustScope); empty: all. Keeps kubeconfigs of other servers (a control
  // plane's localhost kubeconfigs) out of a comparison with api-int's bundle.
  std::vector<std::string> scope;
  bool check_server = false;  // verify each https server's chain with the kubeconfig's CA
  std::chrono::milliseconds server_timeout{5000};
  // Past it no server is connected to (a reason says so): the scan's budget.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// One gap per scanned kubeconfig in scope. With check_server, a server whose chain the
// kubeconfig's own CA does not verify adds "server URL: reason" to missing (it
// counts); a server that cannot be reached adds a reason only. Entries that
// trust no CA of their own (none named, unreadable, insecure) are not connected to;
// one server with one CA is checked once per call.
std::vector<KubeconfigGap> KubeconfigGaps(const std::vector<ScannedKubeconfig>& kubeconfigs,
                                          const Reference& reference, x509::Time now,
                                          const TrustOptions& options);

}  // namespace certguard::expiry
