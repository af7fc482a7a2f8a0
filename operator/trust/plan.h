// Planning the writes that make the target ConfigMaps match a bundle. Pure:
// the selected namespaces and the ConfigMaps that exist are passed in; the
// controller carries the actions out. Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "trust/spec.h"

namespace certguard::trust {

inline constexpr const char* kApiVersion = "certguard.io/v1alpha1";
inline constexpr const char* kKind = "TrustBundle";
// The field manager certguard writes with; a manager of that name is certguard itself.
inline constexpr const char* kFieldManager = "certguard";

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

// The facts about an existing ConfigMap, or Secret target, that planning needs.
struct ConfigMapFacts {
  bool secret = false;  // a Secret (data decoded from base64), not a ConfigMap
  std::string type;     // a Secret's type when known (a metadata-only object has none)
  std::string ns;
  std::string name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> data;
  std::vector<OwnerReference> owners;
  std::vector<std::string> managers;  // metadata.managedFields[].manager
  // Whether `managers` was read (the object carried managedFields): only then does
  // "certguard is not among them" mean that certguard did not create it.
  bool managers_known = false;
  bool deleting = false;              // metadata.deletionTimestamp is set
  std::string resource_version;
};

struct BundleRef {
  std::string name;
  std::string uid;
};

// Managers known to rewrite a ConfigMap they own whatever anyone else writes.
// kube-controller-manager keeps kube-root-ca.crt in every namespace.
bool IsRevertingManager(const std::string& manager);

// ConfigMaps another controller keeps. certguard never creates, writes or deletes
// them, whatever labels or owner references they carry:
//   kube-root-ca.crt                      every namespace: kube-controller-manager (root-ca-cert-publisher)
//   openshift-service-ca.crt              every namespace: OpenShift's service-ca operator
//   kube-system/extension-apiserver-authentication: kube-apiserver
//   kube-public/cluster-info              the bootstrap signer
//   label config.openshift.io/inject-trusted-cabundle=true: OpenShift's cluster network operator
//   annotation service.beta.openshift.io/inject-cabundle=true: OpenShift's service-ca operator
// The first two are refused as a TrustBundle's target name (every namespace has one;
// the CRD lists the same names).
// Why no TrustBundle may target this name, or "".
std::string ReservedTargetReason(const std::string& name);
// Why this ConfigMap belongs to another controller by the list above, or "".
// For a Secret: a type other than Opaque (service-account tokens, TLS and
// docker-config Secrets are their issuers'; and a Secret's type never changes).
std::string KnownOwnerReason(const ConfigMapFacts& cm);

// Whether `cm` is a target this bundle created: it carries kBundleLabel with the
// bundle's name and an owner reference to a TrustBundle of that name.
bool IsOwnTarget(const ConfigMapFacts& cm, const BundleRef& bundle);

// Why certguard must not write `cm` for this bundle, or "" when it may: a
// ConfigMap another controller keeps (KnownOwnerReason), one a reverting manager
// has written, one whose managers (when known) do not include certguard, one
// controlled by another owner, or one without certguard's label and owner
// reference. Labels and owner references alone never make a ConfigMap certguard's:
// they survive another controller's update.
std::string ForeignReason(const ConfigMapFacts& cm, const BundleRef& bundle);

// A truststore written beside the PEM (target.additionalFormats): in a
// ConfigMap's binaryData, in a Secret's data.
struct ExtraKey {
  std::string key;
  std::string bytes;  // the file
  // Empty for a repeatable encoding (JKS): the target is in sync when it holds
  // `bytes` (or their digest marker). Otherwise (PKCS#12, random salts) the
  // fingerprint of what went into the file; the target is in sync when its
  // kPkcs12Annotation is "<input>,<fingerprint of the value it holds>".
  std::string input;
};

// The ConfigMap (or Secret) certguard wants in one namespace.
struct DesiredTarget {
  BundleRef bundle;
  TargetSpec target;
  std::string pem;  // empty: there is no bundle to write, existing targets are kept
  // DigestMarker(pem) when set: a target whose data holds it (the cache keeps digests) is in sync.
  std::string pem_digest;
  bool secret = false;  // a Secret of type Opaque, its data the PEM in base64
  std::vector<ExtraKey> extra = {};  // ignored while pem is empty
};

// The fingerprint of a data value as the cache may hold it: a digest marker's
// own, or BundleFingerprint of the value.
std::string ValueFingerprint(const std::string& value);
// What identifies the content a write of `d` puts in a target: the PEM's
// digest and each extra key with its bytes' (or input's) fingerprint.
std::string WriteIdentity(const DesiredTarget& d);

// The labels, annotations and data a target gets (kBundleLabel added).
std::map<std::string, std::string> DesiredLabels(const DesiredTarget& d);
// The owner reference a target gets: the TrustBundle, not a controller reference,
// so that another controller's claim is never taken over.
OwnerReference DesiredOwner(const BundleRef& bundle);
// The annotations a write gets: the target's, and kPkcs12Annotation for a
// non-repeatable extra key ("<input>,<fingerprint of its bytes>").
std::map<std::string, std::string> DesiredAnnotations(const DesiredTarget& d);

// Whether an own target already holds what is desired: data[key] == pem (or
// its digest marker), each extra key in sync as ExtraKey says, the
// desired labels and annotations present with their values, the owner reference
// uid. Keys, labels and annotations others add are left alone: certguard writes
// with server-side apply, which never removes fields another manager owns.
bool InSync(const ConfigMapFacts& cm, const DesiredTarget& d);

// What an update of `cm` must remove and server-side apply may not: the keys
// of formats `cm` carries (kFormatKeysAnnotation) that `d` no longer writes,
// and certguard's annotations `d` no longer writes. Apply drops only fields
// its manager applied, and a target is created with a plain create.
struct StaleFields {
  std::vector<std::string> keys;
  std::vector<std::string> annotations;
  bool empty() const { return keys.empty() && annotations.empty(); }
};
StaleFields StaleFieldsOf(const ConfigMapFacts& cm, const DesiredTarget& d);

enum class TargetActionKind {
  kCreate,       // no ConfigMap of that name in a selected namespace
  kUpdate,       // an own target that differs (edited, outdated, stale owner)
  kDelete,       // an own target in a namespace no longer selected, or under an old name
  kKeep,         // an own target in sync, or nothing to write
  kSkipForeign,  // a ConfigMap certguard did not create or must not fight over
};
const char* TargetActionName(TargetActionKind k);

struct TargetAction {
  TargetActionKind kind = TargetActionKind::kKeep;
  std::string ns;
  std::string name;
  std::string reason;  // for kSkipForeign and kUpdate: why
};

struct TargetPlan {
  std::vector<TargetAction> actions;  // sorted by namespace, then name
  size_t in_sync = 0;   // selected namespaces whose target holds the bundle
  size_t outdated = 0;  // selected namespaces whose target is missing or differs
  size_t foreign = 0;   // selected namespaces where certguard must not write

  size_t Count(TargetActionKind k) const;
};

// `selected`: the namespaces the bundle selects (terminating ones already left out).
// `existing`: every ConfigMap that carries kBundleLabel with this bundle's name,
// and every ConfigMap named like the target in a selected namespace (duplicates
// by namespace/name are ignored).
TargetPlan PlanTargets(const DesiredTarget& desired, const std::vector<std::string>& selected,
                       const std::vector<ConfigMapFacts>& existing);

}  // namespace certguard::trust
