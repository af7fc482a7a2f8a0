// The certificate fields of a kubeconfig, for check-expiration: the embedded
// client-certificate-data / certificate-authority-data and the files named by
// client-certificate / certificate-authority. Keys are never read. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace certguard::expiry {

struct KubeconfigCert {
  std::string label;  // "user kubernetes-admin", "cluster kubernetes"
  std::string field;  // "client-certificate-data", "certificate-authority", ...
  std::string data;   // decoded bytes of a *-data field
  std::string path;   // a file field's path as written (relative to the kubeconfig's directory)
};

// True when the text is a YAML map with kind Config, clusters or users.
bool LooksLikeKubeconfig(std::string_view text);

// InvalidArgument when the text is not YAML, not a kubeconfig, or a *-data field is
// not base64. Entries in the file's order: clusters, then users.
Result<std::vector<KubeconfigCert>> KubeconfigCertificates(std::string_view text);

// A cluster entry, for the trust check: whom it trusts and where it connects.
struct KubeconfigCluster {
  std::string name;
  std::string server;
  std::string ca_data;   // decoded certificate-authority-data
  std::string ca_path;   // certificate-authority as written
  std::string ca_error;  // why certificate-authority-data could not be decoded
  bool insecure = false;  // insecure-skip-tls-verify: true
};

// The cluster entries in the file's order. InvalidArgument when the text is not
// a kubeconfig; a bad certificate-authority-data is the entry's ca_error.
Result<std::vector<KubeconfigCluster>> KubeconfigClusters(std::string_view text);

}  // namespace certguard::expiry
