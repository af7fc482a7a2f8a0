#include "trust/report.h"

#include <algorithm>
#include <set>

#include "common/json_fields.h"
#include "common/json_parse.h"
#include "common/time.h"
#include "kube/resource.h"

namespace certguard::trust {
namespace {

using common::Field;
using common::Str;
using nlohmann::json;

}  // namespace

StatusFacts CollectFacts(int64_t generation, const BuildResult& build, const Publish& publish,
                         const BuildResult& bundle, const TargetWrites& writes,
                         std::vector<TargetProblem> foreign, const ConsumerReport& consumers) {
  const TargetPlan& plan = writes.plan;
  const size_t attempted = plan.Count(TargetActionKind::kCreate) +
                           plan.Count(TargetActionKind::kUpdate);
  StatusFacts facts;
  facts.generation = generation;
  facts.issues = build.issues;
  facts.empty_bundle = build.issues.empty() && build.pem.empty();
  facts.pem = publish.pem;
  facts.last_good = publish.last_good;
  if (!publish.pem.empty()) {
    facts.certificates = bundle.certificates.size();
    facts.fingerprint = bundle.fingerprint;
    facts.earliest_not_after = bundle.earliest_not_after;
  }
  facts.synced = plan.in_sync + writes.written;
  facts.failed = plan.foreign + writes.write_failures;
  facts.outdated = plan.outdated - std::min(plan.outdated, attempted);
  facts.foreign = std::move(foreign);
  facts.write_errors = writes.write_errors;
  facts.gaps = consumers.gaps;
  facts.verified = consumers.verified;
  return facts;
}

Reporter::Reporter(kube::Client& client, kube::EventRecorder& events, TrustMetrics& metrics,
                   const json& bundle, x509::Time now)
    : client_(client), events_(events), metrics_(metrics), now_(now) {
  const json& meta = Field(bundle, "metadata");
  ref_ = {Str(meta, "name"), Str(meta, "uid")};
  generation_ = common::IntIn(Field(meta, "generation"), 0, INT64_MAX).value_or(0);
  oref_ = {kApiVersion, kKind, "", ref_.name, ref_.uid, Str(meta, "resourceVersion")};
  const json& status = Field(bundle, "status");
  old_status_ = status.is_object() ? status : json::object();
}

json Reporter::UpdateStatus(const StatusFacts& facts, Status& written) {
  json status = ComputeStatus(facts, old_status_, now_);
  if (auto t = common::ParseRfc3339(Str(status, "lastChange")); t.ok()) {
    metrics_.SetLastChange(ref_.name, static_cast<double>(t->time_since_epoch().count()));
  }
  written = Status::Ok();
  if (status == old_status_) return status;
  json patch_status = status;
  for (auto it = old_status_.begin(); it != old_status_.end(); ++it) {
    if (!status.contains(it.key())) patch_status[it.key()] = nullptr;
  }
  json body = {{"status", patch_status}};
  written = client_
                .Patch(kube::resources::kTrustBundles, "", ref_.name, kube::PatchType::kMerge,
                       body.dump(), {}, "status")
                .status();
  return status;
}

Status Reporter::Refuse(const char* reason, const std::string& error,
                        std::string StatusFacts::* field) {
  events_.Record(oref_, kube::EventSeverity::kWarning, reason, error);
  StatusFacts facts;
  facts.generation = generation_;
  facts.*field = error;
  Status written;
  UpdateStatus(facts, written);
  return written;
}

Status Reporter::InvalidSpec(const std::string& error) {
  return Refuse("InvalidSpec", error, &StatusFacts::spec_error);
}

Status Reporter::PasswordUnavailable(const std::string& error) {
  return Refuse("PasswordUnavailable", error, &StatusFacts::password_error);
}

Status Reporter::Report(const StatusFacts& facts, const ConsumerReport& consumers,
                        size_t written) {
  metrics_.SetCertificates(ref_.name, static_cast<double>(facts.certificates));
  metrics_.SetTargets(ref_.name, static_cast<double>(facts.synced),
                      static_cast<double>(facts.outdated), static_cast<double>(facts.failed));
  std::set<std::string> reasons;
  for (const SourceIssue& i : facts.issues) reasons.insert(SourceErrorReasonName(i.reason));
  if (facts.empty_bundle) reasons.insert("EmptyBundle");
  for (const std::string& r : reasons) metrics_.AddSourceError(ref_.name, r);
  metrics_.SetGaps(ref_.name, consumers.gap_metric);

  Status status_write;
  const json status = UpdateStatus(facts, status_write);
  auto message_of = [&](const char* type) {
    const json* c = FindCondition(status, type);
    return c ? Str(*c, "message") : std::string();
  };
  if (!reasons.empty()) {
    events_.Record(oref_, kube::EventSeverity::kWarning,
                   facts.empty_bundle ? "EmptyBundle" : "SourceError", message_of("SourceError"));
  }
  if (!facts.pem.empty() && !facts.last_good &&
      facts.fingerprint != Str(old_status_, "fingerprint")) {
    events_.Record(oref_, kube::EventSeverity::kNormal, "BundleUpdated",
                   "bundle " + facts.fingerprint + " with " + std::to_string(facts.certificates) +
                       " certificates, written to " + std::to_string(written) + " targets");
  }
  if (!facts.foreign.empty()) {
    events_.Record(oref_, kube::EventSeverity::kWarning, "TargetConflict", message_of("Synced"));
  }
  if (!facts.gaps.empty()) {
    events_.Record(oref_, kube::EventSeverity::kWarning, "TrustGap", message_of("TrustGap"));
  }
  return status_write;
}

}  // namespace certguard::trust
