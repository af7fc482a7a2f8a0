#include "app/options.h"

#include <algorithm>
#include <fstream>
#include <set>

#include "csr/evaluate.h"
#include "csr/supersede.h"
#include "expiry/controller.h"

namespace certguard::app {

Result<std::vector<std::string>> ParseControllerList(const std::string& text) {
  std::set<std::string> wanted;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                     : comma - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name.empty()) return InvalidArgument("--controllers: empty controller name in \"" + text + "\"");
    if (std::find(kControllerNames.begin(), kControllerNames.end(), name) ==
        kControllerNames.end()) {
      return InvalidArgument("--controllers: unknown controller \"" + name +
                             "\" (known: csr, trust, expiry)");
    }
    wanted.insert(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<std::string> out;
  for (const auto& n : kControllerNames) {
    if (wanted.count(n)) out.push_back(n);
  }
  return out;
}

std::string DefaultLeaderElectionNamespace(const Getenv& getenv,
                                           const std::string& service_account_dir) {
  if (getenv) {
    if (auto ns = getenv("POD_NAMESPACE"); ns && !ns->empty()) return *ns;
  }
  std::ifstream in(service_account_dir + "/namespace");
  std::string line;
  if (in && std::getline(in, line)) {
    line.erase(line.find_last_not_of(" \t\r\n") + 1);
    if (!line.empty()) return line;
  }
  return "certguard";
}

Status Validate(const RunOptions& o) {
  if (o.controllers.empty()) return InvalidArgument("--controllers: no controller to run");
  if (o.leader_elect) {
    if (!(o.retry_period.count() > 0 && o.renew_deadline > o.retry_period &&
          o.lease_duration > o.renew_deadline)) {
      return InvalidArgument(
          "leader election needs lease-duration > renew-deadline > retry-period > 0");
    }
    if (o.leader_election_id.empty()) return InvalidArgument("--leader-election-id is empty");
  }
  if (o.workers < 1 || o.workers > kMaxWorkers) {
    return InvalidArgument("--workers must be from 1 to " + std::to_string(kMaxWorkers));
  }
  // Durations end up added to clock readings in nanoseconds: a bound keeps the sums finite.
  for (auto [flag, d] : {std::pair{"--leader-election-lease-duration", o.lease_duration},
                         std::pair{"--leader-election-renew-deadline", o.renew_deadline},
                         std::pair{"--leader-election-retry-period", o.retry_period},
                         std::pair{"--csr-node-wait-timeout", o.csr_node_wait_timeout},
                         std::pair{"--csr-renewal-stuck-window", o.csr_renewal_stuck_window}}) {
    if (d > kMaxDuration) return InvalidArgument(std::string(flag) + " must be at most 8760h");
  }
  if (!(o.kube_api_qps >= 0) || o.kube_api_burst < 1) {
    return InvalidArgument("--kube-api-qps must be >= 0 and --kube-api-burst at least 1");
  }
  if (o.csr_max_pending < 0 || o.csr_max_pending_per_node < 0) {
    return InvalidArgument("--csr-max-pending and --csr-max-pending-per-node must be >= 0");
  }
  if (o.csr_node_wait_timeout.count() < 0) {
    return InvalidArgument("--csr-node-wait-timeout must not be negative");
  }
  if (o.csr_renewal_stuck_window.count() < 0) {
    return InvalidArgument("--csr-renewal-stuck-window must not be negative");
  }
  if (auto n = csr::MakeClusterNetwork(o.cluster_domain, o.service_cidrs); !n.ok()) {
    return n.status();
  }
  if (auto a = csr::ParseSupersededAction(o.csr_superseded); !a.ok()) {
    return InvalidArgument("--csr-superseded " + a.status().message());
  }
  auto expiry = ExpirySourcesOf(o);
  if (!expiry.ok()) return expiry.status();
  return expiry::Validate(*expiry);
}

Result<expiry::ExpirySources> ExpirySourcesOf(const RunOptions& o) {
  expiry::ExpirySources s;
  s.csrs = o.expiry_csrs;
  s.tls_secrets = o.expiry_tls_secrets;
  s.secret_selector = o.expiry_secret_selector;
  s.configmap_selector = o.expiry_configmap_selector;
  s.trust_bundles = o.expiry_trust_bundles;
  s.webhooks = o.expiry_webhooks;
  s.filter.include_namespaces = o.expiry_include_namespaces;
  s.filter.exclude_namespaces = o.expiry_exclude_namespaces;
  s.filter.include_namespace_selector = o.expiry_include_namespace_selector;
  s.filter.exclude_namespace_selector = o.expiry_exclude_namespace_selector;
  s.filter.leaf_only = o.expiry_leaf_only;
  s.filter.secret_label_keys = o.expiry_secret_label_keys;
  auto signers = expiry::ParseCsrSigners(o.expiry_csr_signers);
  if (!signers.ok()) return signers.status();
  s.filter.csr_signers = *signers;
  return s;
}

std::string LeaderIdentity(const Getenv& getenv, const std::string& hostname,
                           const std::string& suffix) {
  std::string base;
  if (getenv) {
    if (auto pod = getenv("POD_NAME"); pod && !pod->empty()) base = *pod;
  }
  if (base.empty()) base = hostname.empty() ? "certguard" : hostname;
  return base + "_" + suffix;
}

}  // namespace certguard::app
