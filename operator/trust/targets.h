// Writing, the second of a reconcile's three parts (after sources.h, before
// report.h): makes a bundle's target ConfigMaps match it. It plans against the
// cache (plan.h), counts its own recent writes the cache has not shown yet as
// done (in-flight, for a time-to-live on the injected clock), and creates,
// applies or deletes a few at a time.
//
// Thread-safe: Write may run for different bundles at once; Observe and Forget
// on any thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "kube/client.h"
#include "common/status.h"
#include "trust/plan.h"
#include "trust/spec.h"
#include "trust/status.h"
#include "trust/view.h"
#include "x509/types.h"

namespace certguard::trust {

// The extra keys spec.target.additionalFormats asks for, encoded from the
// bundle's certificates and PEM: JKS (each entry created at its certificate's
// notBefore, so the bytes repeat) and PKCS#12 (its input the fingerprint of
// the PEM and the password). Empty when no format is asked for. The encoders'
// InvalidArgument when the certificates cannot be encoded.
Result<std::vector<ExtraKey>> FormatKeys(const TrustBundleSpec& spec,
                                         const std::vector<x509::CertificateInfo>& certs,
                                         const std::string& pem);

// The facts planning needs from a ConfigMap object (managedFields if present),
// or from a Secret's when `secret` (its data as the cache keeps it: digest markers).
ConfigMapFacts FactsOf(const nlohmann::json& configmap, bool secret = false);

// The ConfigMaps (Secrets when desired.secret) that are or may be `desired`'s
// targets: those labelled for the bundle, and those of the target's name in the
// selected namespaces. From the view.
std::vector<ConfigMapFacts> ExistingTargets(const DesiredTarget& desired,
                                            const std::vector<std::string>& selected,
                                            const TrustView& view);

struct TargetWrites {
  TargetPlan plan;
  size_t written = 0;         // creates and updates that succeeded
  size_t write_failures = 0;  // creates and updates that failed
  std::vector<TargetProblem> write_errors;  // every failed write, deletes included
  Status first_error;                       // of the first failed write; OK when none
  // Some target is taken as written on trust: look again once the cache must show it.
  bool trusting_writes = false;
};

class TargetWriter {
 public:
  struct Options {
    int write_concurrency = 4;  // parallel writes within one call
    // A write whose echo the cache has not shown yet is trusted this long.
    std::chrono::seconds inflight_ttl{30};
  };
  // `client` and `clock` must outlive the writer.
  TargetWriter(kube::Client& client, const common::Clock& clock, Options options);

  // Plans against `existing` (ExistingTargets) and carries the writes out.
  TargetWrites Write(const DesiredTarget& desired, const std::vector<std::string>& selected,
                     std::vector<ConfigMapFacts> existing);

  // The cache showed this ConfigMap (ns/name) at resource version `rv`, or its
  // deletion: a write of ours it matches need no longer be trusted.
  void Observe(const std::string& ns, const std::string& name, const std::string& rv,
               bool deleted);
  // The bundle is gone: drop what was remembered of its writes.
  void Forget(const std::string& bundle);

 private:
  // A write the cache may not show yet.
  struct Inflight {
    std::string before_rv;  // "" for a create
    std::string after_rv;
    std::string identity;  // WriteIdentity of what was written
    std::map<std::string, std::string> data;         // as the cache will show it
    std::map<std::string, std::string> annotations;  // DesiredAnnotations written
    std::chrono::steady_clock::time_point when;
  };
  // Lays this bundle's in-flight writes over `existing`, and drops those the
  // cache has caught up with or that are too old. True if any is still trusted.
  bool TrustInflight(const DesiredTarget& desired, std::vector<ConfigMapFacts>& existing);
  // What one Write call's writes share (targets.cpp).
  struct Batch;
  // One create, update or delete; a create or update that succeeded is remembered as in flight.
  Status WriteOne(const Batch& batch, const TargetAction& a);
  // Applies the desired object over a target, then drops the keys of removed formats.
  Result<nlohmann::json> Update(const Batch& batch, const TargetAction& a);

  kube::Client& client_;
  const common::Clock& clock_;
  Options options_;

  std::mutex mu_;
  std::map<std::string, std::map<std::string, Inflight>> inflight_;  // bundle -> ns/name -> write
};

// The ConfigMaps (Secrets when `secret`) the plan skips as foreign, each with
// why. The managers of the first few are read from the API server (the cache
// leaves managedFields out).
std::vector<TargetProblem> NameForeign(const TargetPlan& plan, const BundleRef& bundle,
                                       kube::Client& client, bool secret = false);

// One reconcile's writes to its ConfigMap targets and to its Secret targets, as one.
TargetWrites MergeWrites(TargetWrites configmaps, TargetWrites secrets);

}  // namespace certguard::trust
