// Where the API server is and how to authenticate: from a kubeconfig (kubectl's
// rules) or from the pod's service account. Loading does file I/O; the merge
// and resolution rules are plain functions tested on their own.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace certguard::kube {

// A resolved client configuration: every file already read, except the token
// file, which is re-read when it changes (bound service-account tokens rotate).
struct ClientConfig {
  std::string server;            // "https://10.0.0.1:443" (no trailing slash)
  std::string ca_pem;            // trust only this CA; empty: system roots
  std::string client_cert_pem;   // client certificate chain, PEM
  std::string client_key_pem;    // its private key, PEM
  std::string bearer_token;      // static token
  std::string token_file;        // token re-read on change; wins over bearer_token
  std::string tls_server_name;   // host name to verify instead of the URL's host
  bool insecure_skip_tls_verify = false;  // only when explicitly allowed
  std::string default_namespace = "default";
  std::string context_name;      // kubeconfig context used, for messages

  double qps = 20.0;             // client-side rate limit (token bucket)
  int burst = 30;
  std::chrono::milliseconds request_timeout{30000};
};

struct LoadOptions {
  std::string kubeconfig_flag;  // --kubeconfig: one file, wins over everything
  std::string context;          // --context: overrides current-context
  bool allow_insecure_tls = false;  // --allow-insecure-tls: accept insecure-skip-tls-verify
  // Environment and file-system roots, injectable for tests.
  std::function<std::optional<std::string>(const std::string&)> getenv;  // default: ::getenv
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// Order, like controller-runtime: --kubeconfig; $KUBECONFIG (':'-separated,
// merged); in-cluster when KUBERNETES_SERVICE_HOST is set; ~/.kube/config.
// InvalidArgument for a bad or incomplete configuration, NotFound when no
// source exists.
Result<ClientConfig> LoadClientConfig(const LoadOptions& options);

// Service account: KUBERNETES_SERVICE_HOST/PORT, DIR/token (kept as token_file),
// DIR/ca.crt, DIR/namespace.
Result<ClientConfig> InClusterConfig(const LoadOptions& options);

// One kubeconfig file's text and where it came from (relative paths in it
// resolve against its directory).
struct KubeconfigFile {
  std::string path;
  std::string text;
};

// kubectl's merge of several files (first file to set a map entry or
// current-context wins), then resolution of the chosen context into a
// ClientConfig. Reads the certificate, key, CA and token files named in it.
Result<ClientConfig> ResolveKubeconfig(const std::vector<KubeconfigFile>& files,
                                       const std::string& context_override,
                                       bool allow_insecure_tls);

// Reads files in order; missing files in $KUBECONFIG are skipped like kubectl,
// a missing --kubeconfig file is an error (`must_exist`).
Result<std::vector<KubeconfigFile>> ReadKubeconfigFiles(const std::vector<std::string>& paths,
                                                        bool must_exist);

// The bearer token to send now. Thread-safe. Re-reads the file when its
// modification time, size or inode changed (checked on each call with stat).
class TokenSource {
 public:
  // Static token (no file).
  explicit TokenSource(std::string token) : token_(std::move(token)) {}
  // File-backed token; `fallback` is used if the file cannot be read.
  TokenSource(std::string file, std::string fallback);

  std::string Token();
  // Forces a re-read on the next Token() (after a 401).
  void Invalidate();

 private:
  std::mutex mu_;
  std::string file_;
  std::string token_;
  long long mtime_ns_ = -1;
  long long size_ = -1;
  unsigned long long inode_ = 0;
};

}  // namespace certguard::kube
