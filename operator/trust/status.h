// The TrustBundle's status (conditions, counts, fingerprint) from what a
// reconcile found. Pure: the clock is passed in. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trust/build.h"
#include "x509/types.h"

namespace certguard::trust {

struct TargetProblem {
  std::string ns;
  std::string name;
  std::string message;
};

struct StatusFacts {
  int64_t generation = 0;
  std::string spec_error;  // not empty: the spec is invalid, nothing else was done
  // Not empty: a passwordSecretRef could not be read or used; nothing was
  // written and, as for spec_error, the rest of the status is kept.
  std::string password_error;

  // Sources: what the latest build found.
  std::vector<SourceIssue> issues;
  bool empty_bundle = false;  // the sources read fine but no certificate was kept

  // The bundle written (the fresh one or the last good); empty pem: none.
  std::string pem;
  bool last_good = false;
  size_t certificates = 0;
  std::string fingerprint;
  std::optional<x509::Time> earliest_not_after;

  // Targets over the selected namespaces.
  size_t synced = 0;
  size_t outdated = 0;
  size_t failed = 0;  // write errors and foreign ConfigMaps
  std::vector<TargetProblem> foreign;
  std::vector<TargetProblem> write_errors;
  // The spec names a Secret target but Secret targets are off: it was not written.
  bool secret_targets_disabled = false;

  // Consumers that lack a CA of the bundle.
  std::vector<TargetProblem> gaps;
  size_t verified = 0;  // consumers checked
};

// The whole status object. `previous` is the current status (or null): a
// condition whose status did not change keeps its lastTransitionTime, and
// lastChange moves only when the fingerprint does, so an unchanged world gives
// an identical status (and no write).
nlohmann::json ComputeStatus(const StatusFacts& facts, const nlohmann::json& previous,
                             x509::Time now);

// The condition of that type in a status, or null.
const nlohmann::json* FindCondition(const nlohmann::json& status, const std::string& type);

}  // namespace certguard::trust
