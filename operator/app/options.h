// The options of `certguard run` and the pure rules behind their defaults.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "csr/defaults.h"
#include "expiry/filter.h"

namespace certguard::expiry {
struct ExpirySources;  // expiry/controller.h
}  // namespace certguard::expiry

namespace certguard::app {

// Every controller `run` knows, in start order.
inline const std::vector<std::string> kControllerNames{"csr", "trust", "expiry"};

inline constexpr int kMaxWorkers = 64;
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(8760);  // a year

struct RunOptions {
  std::string kubeconfig;
  std::string context;
  std::vector<std::string> controllers = kControllerNames;
  bool leader_elect = true;
  std::string leader_election_id = "certguard";
  std::string leader_election_namespace;  // empty: DefaultLeaderElectionNamespace
  std::chrono::milliseconds lease_duration = std::chrono::seconds(15);
  std::chrono::milliseconds renew_deadline = std::chrono::seconds(10);
  std::chrono::milliseconds retry_period = std::chrono::seconds(2);
  std::string metrics_bind_address = ":8080";
  std::string health_bind_address = ":8081";
  std::chrono::milliseconds csr_node_wait_timeout = csr::kDefaultNodeWaitTimeout;
  int csr_max_pending_per_node = csr::kDefaultMaxPendingPerNode;
  int csr_max_pending = csr::kDefaultMaxPending;
  // What becomes of a CSR a newer duplicate supersedes: "deny" or "leave".
  std::string csr_superseded = csr::kDefaultSuperseded;
  // certguard_node_renewal_stuck: how close to its expiry a certificate whose
  // renewal is pending or denied counts as stuck (the alerts' warning threshold).
  std::chrono::milliseconds csr_renewal_stuck_window = csr::kDefaultRenewalStuckWindow;
  // The built-in deny list: no certificate for a name in the cluster domain or an
  // address in a service range.
  std::string cluster_domain = "cluster.local";
  std::vector<std::string> service_cidrs;
  int workers = 16;
  // Client-side rate limit of every API call (token bucket), like kube-controller-manager's
  // --kube-api-qps/--kube-api-burst; 0 QPS: no limit, the default, as in controller-runtime:
  // the API server's Priority and Fairness paces clients, and its 429s are retried
  // after their Retry-After (kube/client.h).
  double kube_api_qps = 0;
  int kube_api_burst = 30;
  // The trust controller also writes TrustBundles' Secret targets, and watches Secrets.
  bool trust_secret_targets = false;
  // The expiry inventory's sources (--expiry-*): see expiry/controller.h.
  bool expiry_tls_secrets = true;
  std::string expiry_secret_selector;
  std::string expiry_configmap_selector;
  bool expiry_trust_bundles = true;
  bool expiry_csrs = true;
  bool expiry_webhooks = false;
  // Which namespaces, certificates and labels the inventory exports (expiry/filter.h).
  std::vector<std::string> expiry_include_namespaces;
  std::vector<std::string> expiry_exclude_namespaces;
  std::string expiry_include_namespace_selector;
  std::string expiry_exclude_namespace_selector;
  bool expiry_leaf_only = false;
  std::vector<std::string> expiry_secret_label_keys;
  std::string expiry_csr_signers = "kubelet";
  // Bounds on the inventory (and so on /metrics): certificates kept per object and in all.
  size_t expiry_max_series_per_object = 500;
  size_t expiry_max_series = 50000;
};

// "csr,trust" -> {"csr", "trust"} in kControllerNames order, duplicates
// merged. InvalidArgument for an unknown or empty name.
Result<std::vector<std::string>> ParseControllerList(const std::string& text);

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// $POD_NAMESPACE, else the first line of SA_DIR/namespace, else "certguard".
std::string DefaultLeaderElectionNamespace(const Getenv& getenv,
                                           const std::string& service_account_dir);

// The expiry inventory's sources and filter of `options` (--expiry-csr-signers parsed).
Result<expiry::ExpirySources> ExpirySourcesOf(const RunOptions& options);

// InvalidArgument unless lease > renew deadline > retry period > 0 (when
// leader election is on), 1 <= workers <= kMaxWorkers, the pending caps and the QPS
// are >= 0, the burst >= 1, every duration at most kMaxDuration, and the cluster
// domain and service CIDRs parse.
Status Validate(const RunOptions& options);

// A replica's identity on the Lease: $POD_NAME (else the host name) plus "_"
// and `suffix`.
std::string LeaderIdentity(const Getenv& getenv, const std::string& hostname,
                           const std::string& suffix);

}  // namespace certguard::app
