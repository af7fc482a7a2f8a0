#include "trust/plan.h"

#include "trust/build.h"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace certguard::trust {

bool IsRevertingManager(const std::string& manager) {
  return manager == "kube-controller-manager" || manager == "service-ca-operator" ||
         manager == "cluster-network-operator";
}

std::string ReservedTargetReason(const std::string& name) {
  if (name == "kube-root-ca.crt") {
    return "target kube-root-ca.crt is kept by kube-controller-manager in every namespace";
  }
  if (name == "openshift-service-ca.crt") {
    return "target openshift-service-ca.crt is kept by the service-ca operator in every namespace";
  }
  return "";
}

std::string KnownOwnerReason(const ConfigMapFacts& cm) {
  if (cm.secret) {
    if (!cm.type.empty() && cm.type != "Opaque") {
      return "a Secret of type " + cm.type + ", not Opaque";
    }
    return "";  // the names below are ConfigMaps'
  }
  if (!ReservedTargetReason(cm.name).empty()) {
    return cm.name == "kube-root-ca.crt" ? "kept by kube-controller-manager"
                                         : "kept by the service-ca operator";
  }
  if (cm.ns == "kube-system" && cm.name == "extension-apiserver-authentication") {
    return "kept by kube-apiserver";
  }
  if (cm.ns == "kube-public" && cm.name == "cluster-info") return "kept by the bootstrap signer";
  auto label = cm.labels.find("config.openshift.io/inject-trusted-cabundle");
  if (label != cm.labels.end() && label->second == "true") {
    return "injected by the cluster network operator (config.openshift.io/inject-trusted-cabundle)";
  }
  auto annotation = cm.annotations.find("service.beta.openshift.io/inject-cabundle");
  if (annotation != cm.annotations.end() && annotation->second == "true") {
    return "injected by the service-ca operator (service.beta.openshift.io/inject-cabundle)";
  }
  return "";
}

namespace {

bool IsTrustBundleRef(const OwnerReference& o, const std::string& name) {
  return o.kind == kKind && o.name == name && o.api_version.rfind("certguard.io/", 0) == 0;
}

}  // namespace

bool IsOwnTarget(const ConfigMapFacts& cm, const BundleRef& bundle) {
  auto it = cm.labels.find(kBundleLabel);
  if (it == cm.labels.end() || it->second != bundle.name) return false;
  return std::any_of(cm.owners.begin(), cm.owners.end(),
                     [&](const OwnerReference& o) { return IsTrustBundleRef(o, bundle.name); });
}

std::string ForeignReason(const ConfigMapFacts& cm, const BundleRef& bundle) {
  if (std::string known = KnownOwnerReason(cm); !known.empty()) return known;
  for (const std::string& m : cm.managers) {
    if (IsRevertingManager(m)) return "managed by " + m + ", which reverts other writers";
  }
  for (const OwnerReference& o : cm.owners) {
    if (o.controller && !IsTrustBundleRef(o, bundle.name)) {
      return "controlled by " + o.kind + " " + o.name;
    }
  }
  const bool written_by_certguard =
      std::find(cm.managers.begin(), cm.managers.end(), kFieldManager) != cm.managers.end();
  if (IsOwnTarget(cm, bundle) && (!cm.managers_known || written_by_certguard)) return "";
  std::string who;
  for (const std::string& m : cm.managers) {
    if (m == kFieldManager) continue;
    if (who.find(m) != std::string::npos) continue;
    who += (who.empty() ? "" : ", ") + m;
  }
  return "not created by certguard" + (who.empty() ? std::string() : " (managers: " + who + ")");
}

std::map<std::string, std::string> DesiredLabels(const DesiredTarget& d) {
  std::map<std::string, std::string> labels = d.target.labels;
  labels[kBundleLabel] = d.bundle.name;
  return labels;
}

OwnerReference DesiredOwner(const BundleRef& bundle) {
  return {kApiVersion, kKind, bundle.name, bundle.uid, false};
}

std::string ValueFingerprint(const std::string& value) {
  return IsDigestMarker(value) ? value.substr(1) : BundleFingerprint(value);
}

std::string WriteIdentity(const DesiredTarget& d) {
  std::string id = d.pem_digest.empty() ? DigestMarker(d.pem) : d.pem_digest;
  for (const ExtraKey& e : d.extra) {
    id += "|" + e.key + "=" + (e.input.empty() ? BundleFingerprint(e.bytes) : "in:" + e.input);
  }
  return id;
}

namespace {

std::string JoinedKeys(const DesiredTarget& d) {
  std::string keys;
  for (const ExtraKey& e : d.extra) keys += (keys.empty() ? "" : ",") + e.key;
  return keys;
}

// The value `cm` holds for annotation `key`, or nullopt.
std::optional<std::string> AnnotationOf(const ConfigMapFacts& cm, const char* key) {
  auto it = cm.annotations.find(key);
  if (it == cm.annotations.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::map<std::string, std::string> DesiredAnnotations(const DesiredTarget& d) {
  std::map<std::string, std::string> annotations = d.target.annotations;
  if (!d.extra.empty()) annotations[kFormatKeysAnnotation] = JoinedKeys(d);
  for (const ExtraKey& e : d.extra) {
    if (!e.input.empty()) {
      annotations[kPkcs12Annotation] = e.input + "," + BundleFingerprint(e.bytes);
    }
  }
  return annotations;
}

bool InSync(const ConfigMapFacts& cm, const DesiredTarget& d) {
  auto data = cm.data.find(d.target.key);
  if (data == cm.data.end()) return false;
  if (data->second != d.pem && (d.pem_digest.empty() || data->second != d.pem_digest)) {
    return false;
  }
  // The formats written are those wanted: none left over from an older spec.
  const auto keys = AnnotationOf(cm, kFormatKeysAnnotation);
  if (d.extra.empty() ? keys.has_value() : keys != JoinedKeys(d)) return false;
  const bool wants_stamp = std::any_of(d.extra.begin(), d.extra.end(),
                                       [](const ExtraKey& e) { return !e.input.empty(); });
  if (!wants_stamp && AnnotationOf(cm, kPkcs12Annotation)) return false;
  for (const ExtraKey& e : d.extra) {
    auto held = cm.data.find(e.key);
    if (held == cm.data.end()) return false;
    if (e.input.empty()) {
      if (held->second != e.bytes && held->second != DigestMarker(e.bytes)) return false;
      continue;
    }
    // Not repeatable: the annotation says what went in and what came out.
    auto stamp = cm.annotations.find(kPkcs12Annotation);
    if (stamp == cm.annotations.end() ||
        stamp->second != e.input + "," + ValueFingerprint(held->second)) {
      return false;
    }
  }
  for (const auto& [k, v] : DesiredLabels(d)) {
    auto it = cm.labels.find(k);
    if (it == cm.labels.end() || it->second != v) return false;
  }
  for (const auto& [k, v] : d.target.annotations) {
    auto it = cm.annotations.find(k);
    if (it == cm.annotations.end() || it->second != v) return false;
  }
  return std::any_of(cm.owners.begin(), cm.owners.end(), [&](const OwnerReference& o) {
    return IsTrustBundleRef(o, d.bundle.name) && o.uid == d.bundle.uid;
  });
}

StaleFields StaleFieldsOf(const ConfigMapFacts& cm, const DesiredTarget& d) {
  StaleFields stale;
  const auto written = AnnotationOf(cm, kFormatKeysAnnotation);
  if (!written) return stale;  // no format was ever written
  std::set<std::string> wanted = {d.target.key};
  for (const ExtraKey& e : d.extra) wanted.insert(e.key);
  size_t start = 0;
  while (start <= written->size()) {
    size_t end = written->find(',', start);
    if (end == std::string::npos) end = written->size();
    std::string key = written->substr(start, end - start);
    if (!key.empty() && !wanted.count(key) && cm.data.count(key)) stale.keys.push_back(key);
    start = end + 1;
  }
  const auto desired = DesiredAnnotations(d);
  for (const char* own : {kFormatKeysAnnotation, kPkcs12Annotation}) {
    if (!desired.count(own) && AnnotationOf(cm, own)) stale.annotations.push_back(own);
  }
  return stale;
}

const char* TargetActionName(TargetActionKind k) {
  switch (k) {
    case TargetActionKind::kCreate:
      return "create";
    case TargetActionKind::kUpdate:
      return "update";
    case TargetActionKind::kDelete:
      return "delete";
    case TargetActionKind::kKeep:
      return "keep";
    case TargetActionKind::kSkipForeign:
      return "skip-foreign";
  }
  return "unknown";
}

size_t TargetPlan::Count(TargetActionKind k) const {
  return static_cast<size_t>(std::count_if(actions.begin(), actions.end(),
                                            [k](const TargetAction& a) { return a.kind == k; }));
}

TargetPlan PlanTargets(const DesiredTarget& desired, const std::vector<std::string>& selected,
                       const std::vector<ConfigMapFacts>& existing) {
  TargetPlan plan;
  const std::set<std::string> wanted(selected.begin(), selected.end());
  std::map<std::pair<std::string, std::string>, const ConfigMapFacts*> by_key;
  for (const ConfigMapFacts& cm : existing) by_key.emplace(std::make_pair(cm.ns, cm.name), &cm);

  // Own targets that are no longer wanted: another namespace or an old name.
  for (const auto& [key, cm] : by_key) {
    if (!IsOwnTarget(*cm, desired.bundle)) continue;
    if (!ForeignReason(*cm, desired.bundle).empty()) continue;  // never delete another's
    if (wanted.count(cm->ns) && cm->name == desired.target.name) continue;
    if (cm->deleting) continue;
    plan.actions.push_back({TargetActionKind::kDelete, cm->ns, cm->name,
                            wanted.count(cm->ns) ? "target renamed" : "namespace not selected"});
  }

  const std::string reserved = desired.secret ? "" : ReservedTargetReason(desired.target.name);
  for (const std::string& ns : wanted) {
    if (!reserved.empty()) {
      // Not even created when missing: its owner would fight over it.
      plan.actions.push_back({TargetActionKind::kSkipForeign, ns, desired.target.name, reserved});
      ++plan.foreign;
      continue;
    }
    auto it = by_key.find({ns, desired.target.name});
    if (it == by_key.end()) {
      if (desired.pem.empty()) {
        plan.actions.push_back({TargetActionKind::kKeep, ns, desired.target.name, "no bundle"});
      } else {
        plan.actions.push_back({TargetActionKind::kCreate, ns, desired.target.name, "missing"});
      }
      ++plan.outdated;
      continue;
    }
    const ConfigMapFacts& cm = *it->second;
    std::string foreign = ForeignReason(cm, desired.bundle);
    if (!foreign.empty()) {
      plan.actions.push_back({TargetActionKind::kSkipForeign, ns, cm.name, foreign});
      ++plan.foreign;
    } else if (!desired.pem.empty() && InSync(cm, desired)) {
      plan.actions.push_back({TargetActionKind::kKeep, ns, cm.name, "in sync"});
      ++plan.in_sync;
    } else if (desired.pem.empty() || cm.deleting) {
      // Nothing to write yet, or it is going away: its deletion brings it back here.
      plan.actions.push_back({TargetActionKind::kKeep, ns, cm.name,
                              cm.deleting ? "being deleted" : "no bundle"});
      ++plan.outdated;
    } else {
      plan.actions.push_back({TargetActionKind::kUpdate, ns, cm.name, "differs"});
      ++plan.outdated;
    }
  }

  std::sort(plan.actions.begin(), plan.actions.end(),
            [](const TargetAction& a, const TargetAction& b) {
              return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
            });
  return plan;
}

}  // namespace certguard::trust
