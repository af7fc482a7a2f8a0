// Gathering, the first of a reconcile's three parts (then targets.h, then
// report.h): which namespaces a bundle selects, what its sources hold, and what
// its consumers trust. Reads the view, and the API server for Secrets (which
// are not watched). Thread-safe as the view and client are.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/label_selector.h"
#include "kube/client.h"
#include "trust/build.h"
#include "trust/spec.h"
#include "trust/status.h"
#include "trust/view.h"

namespace certguard::trust {

// What the namespace cache keeps of a Namespace: metadata.name, uid,
// resourceVersion, labels and deletionTimestamp, and status.phase, which is all
// SelectNamespaces and the namespace handler read.
nlohmann::json CompactNamespace(const nlohmann::json& ns);

// The names of the namespaces the spec selects (by name, or by `selector`),
// terminating ones left out, sorted.
std::vector<std::string> SelectNamespaces(const TrustBundleSpec& spec,
                                          const std::optional<common::LabelSelector>& selector,
                                          const TrustView& view);

struct GatheredSources {
  std::vector<SourceContent> contents;  // one per spec source, in order
  bool has_secret = false;              // a Secret source: poll, as no watch tells of changes
};

// Every source's entries, or why it could not be read (SourceContent::read_status).
GatheredSources GatherSources(const TrustBundleSpec& spec, const TrustView& view,
                              kube::Client& client);

struct ConsumerReport {
  std::vector<TargetProblem> gaps;  // consumers that lack a CA of the bundle
  // (ns, name) -> has a gap, for certguard_trust_gap.
  std::map<std::pair<std::string, std::string>, bool> gap_metric;
  size_t verified = 0;  // consumers checked
};

// Checks every consumer spec.verify names (in the selected namespaces) against
// the bundle's certificates.
ConsumerReport CheckConsumers(const TrustBundleSpec& spec,
                              const std::vector<std::string>& selected,
                              const std::vector<x509::CertificateInfo>& certificates,
                              const TrustView& view, x509::Time now);

}  // namespace certguard::trust
