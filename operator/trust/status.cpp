#include "trust/status.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>

namespace certguard::trust {
namespace {

using nlohmann::json;

constexpr size_t kMaxListed = 5;    // problems named in a condition message
constexpr size_t kMaxGapItems = 50;  // entries of status.trustGaps

std::string List(const std::vector<TargetProblem>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kMaxListed; ++i) {
    if (i) out += "; ";
    out += items[i].ns + "/" + items[i].name + ": " + items[i].message;
  }
  if (items.size() > kMaxListed) out += "; and " + std::to_string(items.size() - kMaxListed) + " more";
  return out;
}

json Condition(const std::string& type, bool status, const std::string& reason,
               const std::string& message, int64_t generation, const json& previous,
               const std::string& now) {
  const std::string value = status ? "True" : "False";
  std::string since = now;
  if (const json* old = FindCondition(previous, type)) {
    if (old->value("status", "") == value && old->contains("lastTransitionTime") &&
        (*old)["lastTransitionTime"].is_string()) {
      since = (*old)["lastTransitionTime"].get<std::string>();
    }
  }
  return {{"type", type},
          {"status", value},
          {"reason", reason},
          {"message", message},
          {"lastTransitionTime", since},
          {"observedGeneration", generation}};
}

// Nothing is done while the spec is invalid or a truststore password is unusable:
// the figures and the other conditions stay as they were.
bool Held(const StatusFacts& f) { return !f.spec_error.empty() || !f.password_error.empty(); }

// The counts and the bundle's identity; kept from before while held.
void PutFigures(const StatusFacts& f, const json& prev, const std::string& now, json& s) {
  if (Held(f)) {
    for (const char* k : {"certificates", "fingerprint", "earliestNotAfter", "lastChange",
                          "targets", "trustGaps"}) {
      if (prev.contains(k)) s[k] = prev[k];
    }
    return;
  }
  s["certificates"] = f.certificates;
  s["fingerprint"] = f.fingerprint;
  if (f.earliest_not_after) s["earliestNotAfter"] = common::FormatRfc3339(*f.earliest_not_after);
  std::string last_change = prev.value("lastChange", "");
  if (prev.value("fingerprint", "") != f.fingerprint || last_change.empty()) {
    last_change = f.fingerprint.empty() ? "" : now;
  }
  if (!last_change.empty()) s["lastChange"] = last_change;
  s["targets"] = {{"synced", f.synced}, {"outdated", f.outdated}, {"failed", f.failed}};
  json gaps = json::array();
  for (size_t i = 0; i < f.gaps.size() && i < kMaxGapItems; ++i) {
    gaps.push_back(
        {{"namespace", f.gaps[i].ns}, {"name", f.gaps[i].name}, {"message", f.gaps[i].message}});
  }
  s["trustGaps"] = gaps;
}

// Synced: every selected namespace holds the bundle; else the first thing in the way.
json SyncedCondition(const StatusFacts& f, const json& prev, const std::string& now) {
  const int64_t g = f.generation;
  if (!f.spec_error.empty()) {
    return Condition("Synced", false, "InvalidSpec", f.spec_error, g, prev, now);
  }
  if (!f.password_error.empty()) {
    return Condition("Synced", false, "PasswordUnavailable",
                     f.password_error + "; nothing written, targets keep what they hold", g, prev,
                     now);
  }
  if (f.pem.empty()) {
    return Condition("Synced", false, "NoBundle", "no good bundle yet: nothing was written", g,
                     prev, now);
  }
  if (f.secret_targets_disabled) {
    return Condition("Synced", false, "SecretTargetsDisabled",
                     "spec.target.secret is not written: Secret targets are disabled "
                     "(certguard run --trust-secret-targets; chart value "
                     "trust.secretTargets.enabled)",
                     g, prev, now);
  }
  if (!f.foreign.empty()) {
    return Condition("Synced", false, "TargetConflict",
                     "not written, owned by another: " + List(f.foreign), g, prev, now);
  }
  if (!f.write_errors.empty()) {
    return Condition("Synced", false, "WriteFailed", List(f.write_errors), g, prev, now);
  }
  if (f.outdated > 0) {
    return Condition("Synced", false, "Pending",
                     std::to_string(f.outdated) + " targets not yet written", g, prev, now);
  }
  return Condition("Synced", true, "Synced",
                   std::to_string(f.synced) + " targets hold the bundle" +
                       (f.last_good ? " (the last good one)" : ""),
                   g, prev, now);
}

// SourceError: a source could not be read or gave nothing usable. Not set (the old
// one kept, if any) while held.
std::optional<json> SourceErrorCondition(const StatusFacts& f, const json& prev,
                                         const std::string& now) {
  const int64_t g = f.generation;
  if (Held(f)) {
    if (const json* old = FindCondition(prev, "SourceError")) return *old;
    return std::nullopt;
  }
  if (f.issues.empty() && !f.empty_bundle) {
    return Condition("SourceError", false, "SourcesReadable", "every source gave certificates", g,
                     prev, now);
  }
  std::string reason = f.issues.empty() ? "EmptyBundle" : SourceErrorReasonName(f.issues[0].reason);
  std::string message;
  for (size_t i = 0; i < f.issues.size() && i < kMaxListed; ++i) {
    if (i) message += "; ";
    message += f.issues[i].source + ": " + f.issues[i].message;
  }
  if (f.issues.empty()) message = "no certificate left after filtering";
  message += f.last_good ? "; keeping the last good bundle " + f.fingerprint : "; nothing written";
  return Condition("SourceError", true, reason, message, g, prev, now);
}

// TrustGap: a verified consumer lacks a CA of the bundle. Not set (the old one
// kept, if any) while held.
std::optional<json> TrustGapCondition(const StatusFacts& f, const json& prev,
                                      const std::string& now) {
  const int64_t g = f.generation;
  if (Held(f)) {
    if (const json* old = FindCondition(prev, "TrustGap")) return *old;
    return std::nullopt;
  }
  if (!f.gaps.empty()) {
    return Condition("TrustGap", true, "ConsumerLacksCA",
                     std::to_string(f.gaps.size()) + " consumers lack a CA: " + List(f.gaps), g,
                     prev, now);
  }
  return Condition("TrustGap", false, f.verified ? "ConsumersTrustBundle" : "NoConsumers",
                   std::to_string(f.verified) + " consumers verified", g, prev, now);
}

}  // namespace

const json* FindCondition(const json& status, const std::string& type) {
  if (!status.is_object()) return nullptr;
  auto it = status.find("conditions");
  if (it == status.end() || !it->is_array()) return nullptr;
  for (const json& c : *it) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

json ComputeStatus(const StatusFacts& f, const json& previous, x509::Time now_time) {
  const std::string now = common::FormatRfc3339(now_time);
  const json prev = previous.is_object() ? previous : json::object();
  json s = json::object();
  s["observedGeneration"] = f.generation;
  PutFigures(f, prev, now, s);
  json conds = json::array();
  conds.push_back(SyncedCondition(f, prev, now));
  if (auto c = SourceErrorCondition(f, prev, now)) conds.push_back(std::move(*c));
  if (auto c = TrustGapCondition(f, prev, now)) conds.push_back(std::move(*c));
  s["conditions"] = conds;
  return s;
}

}  // namespace certguard::trust
