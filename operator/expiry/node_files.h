// The node agent's pure core: a scan of the node's files (expiry/scan.h) as
// inventory objects, with `node` set, so the node's certificates get the same
// metrics as the cluster's. Pure; thread-safe.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "expiry/check.h"
#include "expiry/inventory.h"

namespace certguard::expiry {

// Where a finding of ScanPaths came from, as an inventory source:
//   "/etc/kubernetes/pki/ca.crt"                      -> {file, "", path}, key ""
//   "/etc/kubernetes/admin.conf (user admin)"         -> {kubeconfig, "", path}, key "user admin"
//   "/var/lib/kubelet/pki/c.pem (user x in K.conf)"   -> {file, "", referenced path}, key ""
SourceRef SourceOfFinding(const Finding& finding);

// The certificates of a scan, grouped per object and key, every one with `node`.
// Findings with an error are left out (see ScanErrors).
using ObjectKeys = std::map<ObjectRef, std::map<std::string, SourceCerts>>;
std::pair<ObjectKeys, ObjectKeys> FilesAndKubeconfigs(const std::vector<Finding>& findings,
                                                      const std::string& node);

// Makes the inventory's file and kubeconfig objects exactly those of a scan.
void ReplaceNodeFiles(Inventory& inventory, const std::vector<Finding>& findings,
                      const std::string& node);

size_t ScanErrors(const std::vector<Finding>& findings);

}  // namespace certguard::expiry
