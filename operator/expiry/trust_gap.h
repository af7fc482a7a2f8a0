// Which CAs of a reference bundle a kubeconfig does not trust: the OKD 4.15
// api-int outage, where the serving CA rotated and the nodes' kubeconfigs kept
// only the old one in certificate-authority-data. Pure: the caller reads the
// files; the clock is passed in. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "expiry/check.h"
#include "x509/types.h"

namespace certguard::expiry {

// What one cluster entry of a kubeconfig trusts.
struct ClusterTrust {
  std::string name;       // the cluster entry's name
  std::string server;     // its server URL (for --check-server)
  std::string ca_source;  // "certificate-authority-data", the certificate-authority path, or ""
  std::string ca;         // the CA bytes (PEM or DER): the decoded data or the file's content
  std::string ca_error;   // why they could not be had (not base64, file unreadable)
  bool insecure = false;  // insecure-skip-tls-verify: trusts any server
};

struct TrustGap {
  // Subjects of the reference CAs some cluster entry does not trust, in the
  // reference's order, each once. The gauge counts these.
  std::vector<std::string> missing;
  // Why: a CA that cannot be read, an entry that names none. Said, not counted.
  std::vector<std::string> reasons;
};

// A reference CA is trusted by a cluster entry when the entry's CA bytes hold the
// same certificate, or one with the same subject and public key that has not
// expired at `now` (a CA re-issued on the same key verifies the same chains).
// Reference CAs expired at `now` are left out: they verify nothing. An entry
// whose CA cannot be read (garbage, unreadable file) or that names none (it
// would trust only the system's roots) lacks every reference CA, with a reason;
// an insecure entry lacks none. Bad certificate blocks among good ones are
// reasons; the good ones still count.
TrustGap ComputeTrustGap(const std::vector<ClusterTrust>& clusters,
                         const std::vector<x509::CertificateInfo>& reference, x509::Time now);

// True when a kubeconfig named `source` is to be compared: `scope` is empty, or
// lists it or a directory above it ("/etc/kubernetes" holds
// "/etc/kubernetes/kubeconfig"; "/etc/kube" does not).
bool InTrustScope(const std::string& source, const std::vector<std::string>& scope);

// One kubeconfig's gap, named as its findings name it (Finding::kubeconfig).
struct KubeconfigGap {
  std::string source;
  TrustGap gap;
};

// Sets trust_gap (and trust_gap_reasons) on every finding of each kubeconfig; a
// kubeconfig without any finding (a token user and no CA) gets one, an error
// that says what it lacks, so that every kubeconfig has an entry.
void AttachTrustGaps(std::vector<Finding>& findings, const std::vector<KubeconfigGap>& gaps);

}  // namespace certguard::expiry
