#include "expiry/node_files.h"

namespace certguard::expiry {

SourceRef SourceOfFinding(const Finding& finding) {
  const std::string& s = finding.source;
  size_t open = s.rfind(" (");
  if (open == std::string::npos || s.empty() || s.back() != ')') {
    return SourceRef{ObjectRef{SourceKind::kFile, "", s}, ""};
  }
  std::string path = s.substr(0, open);
  std::string label = s.substr(open + 2, s.size() - open - 3);
  if (label.find(" in ") != std::string::npos) {
    // A file a kubeconfig names: the file is the object.
    return SourceRef{ObjectRef{SourceKind::kFile, "", path}, ""};
  }
  return SourceRef{ObjectRef{SourceKind::kKubeconfig, "", path}, label};
}

std::pair<ObjectKeys, ObjectKeys> FilesAndKubeconfigs(const std::vector<Finding>& findings,
                                                      const std::string& node) {
  ObjectKeys files, kubeconfigs;
  for (const Finding& f : findings) {
    if (!f.cert) continue;
    SourceRef ref = SourceOfFinding(f);
    ObjectKeys& out = ref.object.kind == SourceKind::kKubeconfig ? kubeconfigs : files;
    SourceCerts& certs = out[ref.object][ref.key];
    certs.node = node;
    certs.certs.push_back(*f.cert);
  }
  return {std::move(files), std::move(kubeconfigs)};
}

void ReplaceNodeFiles(Inventory& inventory, const std::vector<Finding>& findings,
                      const std::string& node) {
  auto [files, kubeconfigs] = FilesAndKubeconfigs(findings, node);
  inventory.ReplaceKind(SourceKind::kFile, std::move(files));
  inventory.ReplaceKind(SourceKind::kKubeconfig, std::move(kubeconfigs));
}

size_t ScanErrors(const std::vector<Finding>& findings) {
  size_t n = 0;
  for (const Finding& f : findings) n += f.cert ? 0 : 1;
  return n;
}

}  // namespace certguard::expiry
