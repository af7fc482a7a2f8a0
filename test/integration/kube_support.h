// Shared pieces of the kube integration tests: clients for the test plane,
// ConfigMaps to watch, waits paced for the API server, the check that an
// informer's cache matches the server, and the bound on a process's peak
// memory against the size of what it listed.
#pragma once

#include <sys/types.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "kube/client.h"
#include "kube/informer.h"
#include "kube/config.h"
#include "support/cluster.h"
#include "support/wait.h"

namespace certguard::test {

// A config from a kubeconfig file; fails the test when it does not load.
inline kube::ClientConfig KubeConfigFrom(const std::string& kubeconfig) {
  kube::LoadOptions o;
  o.kubeconfig_flag = kubeconfig;
  auto c = kube::LoadClientConfig(o);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return *c;
}

// A client for `config`, with the QPS limit lifted for bulk set-up when `fast`.
inline std::shared_ptr<kube::RestClient> KubeClientFor(kube::ClientConfig config,
                                                       bool fast = false) {
  if (fast) {
    config.qps = 0;
  }
  auto c = kube::NewRestClient(config);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return *c;
}

inline std::shared_ptr<kube::RestClient> AdminClient(const Cluster& cluster, bool fast = false) {
  return KubeClientFor(KubeConfigFrom(cluster.admin_kubeconfig()), fast);
}

// Creates namespace `name` (fine if it exists).
inline void EnsureNamespace(kube::Client& client, const std::string& name) {
  auto r = client.Create(kube::resources::kNamespaces, "",
                         {{"apiVersion", "v1"}, {"kind", "Namespace"},
                          {"metadata", {{"name", name}}}});
  INFO(r.status().ToString());
  REQUIRE((r.ok() || r.status().code() == Code::kAlreadyExists));
}

// A ConfigMap `name` holding v=`v`, with `labels` when there are any.
inline kube::Json ConfigMapOf(const std::string& name, const std::string& v,
                              const kube::Json& labels = kube::Json::object()) {
  kube::Json meta = {{"name", name}};
  if (!labels.empty()) meta["labels"] = labels;
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta}, {"data", {{"v", v}}}};
}

// testing::WaitFor at a pace of its own: each check of these tests costs API requests.
struct ApiWait {
  std::chrono::milliseconds poll;
  bool operator()(const std::function<bool()>& pred, std::chrono::milliseconds limit) const {
    return testing::WaitFor(pred, limit, poll);
  }
};

// Whether the informer's cache of ConfigMaps in `ns` holds exactly the server's
// objects (those matching `selector`) at the same resourceVersions; if not, why.
inline bool CacheMatchesServer(kube::Client& client, const kube::Informer& inf,
                               const std::string& ns, const std::string& selector,
                               std::string* why) {
  kube::ListOptions o;
  o.label_selector = selector;
  auto list = kube::ListAll(client, kube::resources::kConfigMaps, ns, o, 500);
  if (!list.ok()) {
    *why = list.status().ToString();
    return false;
  }
  if (list->items.size() != inf.store().Size()) {
    *why = std::to_string(list->items.size()) + " on the server, " +
           std::to_string(inf.store().Size()) + " cached";
    return false;
  }
  for (const auto& item : list->items) {
    auto c = inf.store().Get(kube::KeyOf(item));
    if (!c || (*c)["metadata"]["resourceVersion"] != item["metadata"]["resourceVersion"]) {
      *why = "differs at " + kube::KeyOf(item);
      return false;
    }
  }
  return true;
}

// Peak resident memory of a running process (VmHWM), in MiB.
inline double PeakMib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024;
  }
  return -1;
}

// Checks a process's `peak` (PeakMib) against `listed_mib`, the size of what it
// listed: below it, as when lists are paged and never held whole.
inline void CheckPeakBelow(double peak, double listed_mib) {
  CHECK(peak > 0);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Under ASan or TSan the runtime's shadow memory and quarantine of freed blocks dominate the
  // resident size (615 MiB measured under ASan), so the bound means nothing there; the normal
  // build checks it. The paging itself still runs under the sanitizer.
  WARN("sanitizer build: peak " << peak << " MiB not compared with " << listed_mib << " MiB");
#else
  CHECK(peak < listed_mib);
#endif
}

}  // namespace certguard::test
