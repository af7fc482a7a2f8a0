// Reporting, the last of a reconcile's three parts (after sources.h and
// targets.h): the status (computed once, written only when it changed), the
// metrics and the events. Thread-safe as its client, recorder and metrics are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/events.h"
#include "trust/build.h"
#include "trust/metrics.h"
#include "trust/plan.h"
#include "trust/sources.h"
#include "trust/status.h"
#include "trust/targets.h"

namespace certguard::trust {

// What a reconcile found, as StatusFacts. Pure. `build` is what the sources
// gave, `bundle` what was published (the last good one's certificates when
// `publish.last_good`).
StatusFacts CollectFacts(int64_t generation, const BuildResult& build, const Publish& publish,
                         const BuildResult& bundle, const TargetWrites& writes,
                         std::vector<TargetProblem> foreign, const ConsumerReport& consumers);

// Reports on one TrustBundle as one reconcile saw it.
class Reporter {
 public:
  // `bundle` is the TrustBundle object read from the cache; every reference
  // must outlive the reporter.
  Reporter(kube::Client& client, kube::EventRecorder& events, TrustMetrics& metrics,
           const nlohmann::json& bundle, x509::Time now);

  const BundleRef& ref() const { return ref_; }
  int64_t generation() const { return generation_; }
  const nlohmann::json& old_status() const { return old_status_; }

  // The spec cannot work: an InvalidSpec event, and a status that says why.
  // Returns the status write's error.
  Status InvalidSpec(const std::string& error);
  // A password Secret cannot be used: a PasswordUnavailable event, and a
  // status that says why and keeps the rest. Returns the status write's error.
  Status PasswordUnavailable(const std::string& error);
  // Metrics, status and events of a completed reconcile. `written`: targets
  // created or updated. Returns the status write's error.
  Status Report(const StatusFacts& facts, const ConsumerReport& consumers, size_t written);

 private:
  // Computes the status once, keeps the lastChange metric, and patches it when it differs.
  nlohmann::json UpdateStatus(const StatusFacts& facts, Status& written);
  // A Warning event `reason` with `error`, and a status with `error` in `field` of
  // its facts. Returns the status write's error.
  Status Refuse(const char* reason, const std::string& error, std::string StatusFacts::* field);

  kube::Client& client_;
  kube::EventRecorder& events_;
  TrustMetrics& metrics_;
  x509::Time now_;
  BundleRef ref_;
  int64_t generation_ = 0;
  kube::ObjectReference oref_;
  nlohmann::json old_status_;
};

}  // namespace certguard::trust
