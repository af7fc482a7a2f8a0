#include "expiry/kubeconfig_trust.h"

#include <fcntl.h>

#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "common/rooted_fs.h"
#include "x509/read.h"
#include "x509/server_chain.h"

namespace certguard::expiry {

Reference ReadReference(const std::vector<std::string>& files, size_t max_bytes) {
  Reference out;
  auto fs = common::RootedFs::Open("/");
  if (!fs.ok()) {
    out.errors.push_back("/: " + fs.status().message());
    return out;
  }
  common::ReadLimits limits;
  limits.max_bytes = max_bytes;
  for (const auto& file : files) {
    std::error_code ec;
    const std::string path = std::filesystem::absolute(file, ec).string();
    auto fd = fs->OpenPath(path, O_PATH);
    if (!fd.ok()) {
      out.errors.push_back(file + ": " + fd.status().message());
      continue;
    }
    auto content = common::ReadRegularFile(fd->get(), limits,
                                           [&] { return fs->OpenPath(path, O_RDONLY | O_NONBLOCK); });
    if (!content.ok()) {
      out.errors.push_back(file + ": " + content.status().message());
      continue;
    }
    x509::FileCertificates read = x509::ReadCertificates(*content);
    for (auto& e : read.errors) out.errors.push_back(file + ": " + e);
    if (read.certs.empty() && read.errors.empty()) out.errors.push_back(file + ": no certificate found");
    for (auto& c : read.certs) out.cas.push_back(std::move(c));
  }
  return out;
}

std::vector<KubeconfigGap> KubeconfigGaps(const std::vector<ScannedKubeconfig>& kubeconfigs,
                                          const Reference& reference, x509::Time now,
                                          const TrustOptions& options) {
  std::vector<KubeconfigGap> out;
  // Many kubeconfigs of a node name one server with one CA: one handshake each.
  std::map<std::pair<std::string, std::string>, x509::ServerChainCheck> checked;
  for (const auto& k : kubeconfigs) {
    if (!InTrustScope(k.source, options.scope)) continue;
    KubeconfigGap g{k.source, ComputeTrustGap(k.clusters, reference.cas, now)};
    if (options.check_server) {
      for (const auto& c : k.clusters) {
        if (c.insecure || !c.ca_error.empty() || c.ca_source.empty() || c.server.empty()) continue;
        auto key = std::make_pair(c.server, c.ca);
        auto it = checked.find(key);
        if (it == checked.end()) {
          if (std::chrono::steady_clock::now() > options.deadline) {
            g.gap.reasons.push_back("server " + c.server + ": not checked: the scan went over its time budget");
            continue;
          }
          it = checked.emplace(std::move(key), x509::CheckServerChain(c.server, c.ca, options.server_timeout)).first;
        }
        const x509::ServerChainCheck& check = it->second;
        if (check.verified) continue;
        const std::string what = "server " + c.server + ": " + check.reason;
        (check.reached ? g.gap.missing : g.gap.reasons).push_back(what);
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace certguard::expiry
