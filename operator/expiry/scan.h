// The I/O shell of `certguard certs check-expiration`: reads files, directories
// and kubeconfigs into findings. An unreadable input becomes a finding with an
// error; nothing stops the scan. Thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "expiry/check.h"

namespace certguard::expiry {

// The node locations read without --path, under `root` ("/" on a node):
// <root>/etc/kubernetes/pki, <root>/etc/kubernetes/*.conf, <root>/var/lib/kubelet/pki.
// Only those that exist, in that order.
std::vector<std::string> DefaultNodePaths(const std::string& root = "/");

// Reads each path: a file whatever its name; a directory recursively, taking
// .crt, .pem, .cert and .der files as certificates and .conf and .kubeconfig
// files as kubeconfigs. In directories, files without a certificate (keys) are
// skipped silently, and kubelet's rotated copies (NAME-2026-01-02-03-04-05.pem
// beside NAME-current.pem) are left out. A file reached twice (a kubeconfig's
// reference, a symlink) is read once. Private keys are never decoded.
std::vector<Finding> ScanPaths(const std::vector<std::string>& paths);

}  // namespace certguard::expiry
