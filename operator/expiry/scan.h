// The I/O shell of `certguard certs check-expiration` and the node agent: reads
// files, directories and kubeconfigs into findings. No file stops the scan: an
// unreadable one (a read error, a FIFO or device, a file over the size budget,
// a directory past the depth budget, a path that leaves --root) becomes a
// finding with an error, and the scan goes on. Thread-compatible.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "expiry/check.h"
#include "expiry/trust_gap.h"

namespace certguard::expiry {

struct ScanOptions {
  // Where the node's file system is: every path, symlink and kubeconfig
  // reference is resolved under it and cannot leave it (common/rooted_fs.h).
  std::string root = "/";
  size_t max_file_bytes = 1024 * 1024;  // a file over this is reported, not read
  int max_depth = 32;                   // directories nested deeper are reported, not read
  std::chrono::milliseconds file_time_budget{10000};
  // Past this the scan reads nothing more and says so in one finding.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // Polled between files: when true the scan returns what it has.
  std::function<bool()> cancelled;
  bool without_openat2 = false;  // resolve by a walk, as on Linux < 5.6 (tests)
};

// The node locations that exist under `root` ("/" on a node), as paths on the
// node (not prefixed with root), in this order: /etc/kubernetes/pki; the
// kubeconfigs in /etc/kubernetes: *.conf and *.kubeconfig (kubeadm's
// kubelet.conf, admin.conf, ...) and names starting with "kubeconfig" (OKD's
// kubeconfig, Talos' kubeconfig-kubelet); /var/lib/kubelet/kubeconfig (OKD);
// /var/lib/kubelet/pki.
std::vector<std::string> DefaultNodePaths(const std::string& root = "/");

// Reads each path, resolved under options.root (a relative path: from the
// working directory when the root is "/", else from the root). A file whatever
// its name; a directory recursively, taking .crt, .pem, .cert and .der files as
// certificates, .conf and .kubeconfig files as kubeconfigs, and files without an
// extension or with "kubeconfig" in their name as kubeconfigs when they are
// (others, and those over the size budget, are skipped quietly). In directories,
// files without a certificate (keys) are skipped silently, symlinks to
// directories are not followed, and kubelet's rotated copies
// (NAME-2026-01-02-03-04-05.pem beside NAME-current.pem) are left out. A file
// reached twice (a kubeconfig's reference, a symlink) is read once. Private keys
// are never decoded. Findings are named by the path as given (or joined from it).
std::vector<Finding> ScanPaths(const std::vector<std::string>& paths, const ScanOptions& options = {});

// A kubeconfig the scan read: whom each cluster entry trusts. A
// certificate-authority file is read under the root, beside the kubeconfig.
struct ScannedKubeconfig {
  std::string source;  // as its findings name it (Finding::kubeconfig)
  std::vector<ClusterTrust> clusters;
};

struct ScanResult {
  std::vector<Finding> findings;
  std::vector<ScannedKubeconfig> kubeconfigs;
};

// ScanPaths, with the kubeconfigs it read.
ScanResult Scan(const std::vector<std::string>& paths, const ScanOptions& options = {});

}  // namespace certguard::expiry
