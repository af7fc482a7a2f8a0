#include "trust/plan.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "trust/build.h"

using namespace certguard::trust;

namespace {

const BundleRef kBundle{"cluster-ca", "uid-1"};

DesiredTarget Desired(const std::string& pem = "PEM-A\n") {
  DesiredTarget d;
  d.bundle = kBundle;
  d.target.name = "trusted-ca";
  d.target.key = "ca.crt";
  d.target.labels = {{"team", "infra"}};
  d.target.annotations = {{"note", "x"}};
  d.pem = pem;
  return d;
}

// A target as certguard would have written it.
ConfigMapFacts Own(const std::string& ns, const std::string& pem = "PEM-A\n",
                   const std::string& name = "trusted-ca") {
  ConfigMapFacts cm;
  cm.ns = ns;
  cm.name = name;
  cm.labels = {{kBundleLabel, kBundle.name}, {"team", "infra"}};
  cm.annotations = {{"note", "x"}};
  cm.data = {{"ca.crt", pem}};
  cm.owners = {DesiredOwner(kBundle)};
  cm.managers = {"certguard"};
  return cm;
}

const TargetAction* Find(const TargetPlan& p, const std::string& ns, const std::string& name) {
  for (const auto& a : p.actions) {
    if (a.ns == ns && a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("Missing targets are created, in-sync ones kept, differing ones updated", "[trust]") {
  std::vector<ConfigMapFacts> existing = {Own("a"), Own("b", "PEM-OLD\n")};
  TargetPlan p = PlanTargets(Desired(), {"c", "a", "b"}, existing);
  REQUIRE(p.actions.size() == 3);
  CHECK(p.actions[0].ns == "a");  // sorted by namespace
  CHECK(p.actions[0].kind == TargetActionKind::kKeep);
  CHECK(p.actions[1].kind == TargetActionKind::kUpdate);
  CHECK(p.actions[2].kind == TargetActionKind::kCreate);
  CHECK(p.in_sync == 1);
  CHECK(p.outdated == 2);
  CHECK(p.foreign == 0);
  CHECK(p.Count(TargetActionKind::kCreate) == 1);
}

TEST_CASE("A no-op reconcile plans no write", "[trust]") {
  std::vector<ConfigMapFacts> existing;
  std::vector<std::string> ns;
  for (int i = 0; i < 50; ++i) {
    ns.push_back("ns-" + std::to_string(i));
    existing.push_back(Own(ns.back()));
    existing.back().labels["added-by-someone"] = "fine";  // extra labels are tolerated
  }
  TargetPlan p = PlanTargets(Desired(), ns, existing);
  CHECK(p.Count(TargetActionKind::kKeep) == 50);
  CHECK(p.in_sync == 50);
  CHECK(p.outdated == 0);
}

TEST_CASE("Edits to a target are repaired", "[trust]") {
  auto desired = Desired();
  // One edit of a target certguard wrote each, and what the plan does about it.
  struct Edit {
    const char* name;
    std::function<void(ConfigMapFacts&)> apply;
    TargetActionKind want;
  };
  const std::vector<Edit> edits = {
      {"data edited", [](ConfigMapFacts& cm) { cm.data["ca.crt"] = "tampered"; },
       TargetActionKind::kUpdate},
      {"a key added by someone else is left alone",
       [](ConfigMapFacts& cm) { cm.data["extra"] = "x"; }, TargetActionKind::kKeep},
      {"key removed", [](ConfigMapFacts& cm) { cm.data.clear(); }, TargetActionKind::kUpdate},
      {"a desired label changed", [](ConfigMapFacts& cm) { cm.labels["team"] = "other"; },
       TargetActionKind::kUpdate},
      {"an annotation removed", [](ConfigMapFacts& cm) { cm.annotations.clear(); },
       TargetActionKind::kUpdate},
      {"owner from a recreated bundle of the same name",
       [](ConfigMapFacts& cm) { cm.owners[0].uid = "uid-old"; }, TargetActionKind::kUpdate},
  };
  for (const auto& edit : edits) {
    DYNAMIC_SECTION(edit.name) {
      auto cm = Own("a");
      edit.apply(cm);
      CHECK(PlanTargets(desired, {"a"}, {cm}).actions[0].kind == edit.want);
    }
  }
  SECTION("edited by kubectl: still ours, still repaired") {
    auto cm = Own("a", "tampered");
    cm.managers.push_back("kubectl-edit");
    auto p = PlanTargets(desired, {"a"}, {cm});
    CHECK(p.actions[0].kind == TargetActionKind::kUpdate);
    CHECK(p.foreign == 0);
  }
}

TEST_CASE("Targets leave namespaces no longer selected, and old names", "[trust]") {
  std::vector<ConfigMapFacts> existing = {Own("a"), Own("gone"), Own("a", "PEM-A\n", "old-name")};
  TargetPlan p = PlanTargets(Desired(), {"a"}, existing);
  REQUIRE(p.actions.size() == 3);
  const auto* gone = Find(p, "gone", "trusted-ca");
  REQUIRE(gone);
  CHECK(gone->kind == TargetActionKind::kDelete);
  CHECK(gone->reason == "namespace not selected");
  const auto* old = Find(p, "a", "old-name");
  REQUIRE(old);
  CHECK(old->kind == TargetActionKind::kDelete);
  CHECK(Find(p, "a", "trusted-ca")->kind == TargetActionKind::kKeep);
}

TEST_CASE("A ConfigMap certguard did not create is never written nor deleted", "[trust]") {
  ConfigMapFacts mine;  // a user's ConfigMap that happens to have the target's name
  mine.ns = "a";
  mine.name = "trusted-ca";
  mine.data = {{"ca.crt", "user data"}};
  mine.managers = {"kubectl-create"};

  ConfigMapFacts labelled_only = mine;  // the label copied, but no owner reference
  labelled_only.ns = "b";
  labelled_only.labels = {{kBundleLabel, kBundle.name}};

  ConfigMapFacts other_bundle = Own("c");  // another TrustBundle's target
  other_bundle.labels[kBundleLabel] = "other";
  other_bundle.owners[0].name = "other";

  TargetPlan p = PlanTargets(Desired(), {"a", "c"}, {mine, labelled_only, other_bundle});
  CHECK(p.Count(TargetActionKind::kDelete) == 0);  // b is not selected, yet not ours: untouched
  CHECK(p.Count(TargetActionKind::kSkipForeign) == 2);
  CHECK(p.foreign == 2);
  CHECK_THAT(Find(p, "a", "trusted-ca")->reason,
             Catch::Contains("not created by certguard (managers: kubectl-create)"));
  CHECK(Find(p, "b", "trusted-ca") == nullptr);
}

TEST_CASE("kube-root-ca.crt, written by kube-controller-manager, is never fought over", "[trust]") {
  ConfigMapFacts root;
  root.ns = "a";
  root.name = "kube-root-ca.crt";
  root.data = {{"ca.crt", "cluster CA"}};
  root.managers = {"kube-controller-manager"};
  auto d = Desired();
  d.target.name = "kube-root-ca.crt";

  auto p = PlanTargets(d, {"a"}, {root});
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == TargetActionKind::kSkipForeign);
  CHECK_THAT(p.actions[0].reason, Catch::Contains("kube-controller-manager"));

  // Even with certguard's own marks on it, a reverting manager makes it foreign.
  ConfigMapFacts marked = Own("a", "PEM-OLD\n", "kube-root-ca.crt");
  marked.managers.push_back("kube-controller-manager");
  p = PlanTargets(d, {"a"}, {marked});
  CHECK(p.actions[0].kind == TargetActionKind::kSkipForeign);
  CHECK(p.Count(TargetActionKind::kUpdate) == 0);
}

TEST_CASE("A ConfigMap controlled by another owner is foreign", "[trust]") {
  ConfigMapFacts cm = Own("a", "PEM-OLD\n");
  cm.owners.push_back({"apps/v1", "Deployment", "web", "u2", true});
  auto p = PlanTargets(Desired(), {"a"}, {cm});
  CHECK(p.actions[0].kind == TargetActionKind::kSkipForeign);
  CHECK(p.actions[0].reason == "controlled by Deployment web");
  CHECK(ForeignReason(Own("a"), kBundle).empty());
}

TEST_CASE("Without a bundle nothing is written, yet stale targets still leave", "[trust]") {
  std::vector<ConfigMapFacts> existing = {Own("a", "PEM-OLD\n"), Own("gone")};
  TargetPlan p = PlanTargets(Desired(""), {"a", "b"}, existing);
  CHECK(p.Count(TargetActionKind::kCreate) == 0);
  CHECK(p.Count(TargetActionKind::kUpdate) == 0);
  CHECK(p.Count(TargetActionKind::kDelete) == 1);
  CHECK(p.outdated == 2);
  CHECK(p.in_sync == 0);
}

TEST_CASE("A target being deleted is neither updated nor deleted again", "[trust]") {
  ConfigMapFacts going = Own("a", "PEM-OLD\n");
  going.deleting = true;
  ConfigMapFacts going_elsewhere = Own("x");
  going_elsewhere.deleting = true;
  auto p = PlanTargets(Desired(), {"a"}, {going, going_elsewhere});
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == TargetActionKind::kKeep);
  CHECK(p.actions[0].reason == "being deleted");
  CHECK(p.outdated == 1);
}

TEST_CASE("Desired labels and owner", "[trust]") {
  auto d = Desired();
  auto labels = DesiredLabels(d);
  CHECK(labels.at(kBundleLabel) == "cluster-ca");
  CHECK(labels.at("team") == "infra");
  auto owner = DesiredOwner(kBundle);
  CHECK(owner.api_version == "certguard.io/v1alpha1");
  CHECK(owner.kind == "TrustBundle");
  CHECK(owner.uid == "uid-1");
  CHECK_FALSE(owner.controller);
  CHECK(IsOwnTarget(Own("a"), kBundle));
  CHECK_FALSE(IsOwnTarget(Own("a"), BundleRef{"other", "uid-1"}));
}

TEST_CASE("A reserved target name is never created, written or deleted", "[trust]") {
  for (const char* name : {"kube-root-ca.crt", "openshift-service-ca.crt"}) {
    INFO(name);
    CHECK_FALSE(ReservedTargetReason(name).empty());
    DesiredTarget d = Desired();
    d.target.name = name;
    // Missing in "a", and in "b" one that still carries certguard's label and owner
    // reference (they survive kube-controller-manager's update).
    ConfigMapFacts kept = Own("b", "CLUSTER-CA\n", name);
    TargetPlan p = PlanTargets(d, {"a", "b"}, {kept});
    REQUIRE(p.actions.size() == 2);
    for (const TargetAction& a : p.actions) {
      CHECK(a.kind == TargetActionKind::kSkipForeign);
      CHECK(a.reason.find("in every namespace") != std::string::npos);
    }
    CHECK(p.foreign == 2);
    // Renamed away from it: the old one is left to its owner, not deleted.
    TargetPlan renamed = PlanTargets(Desired(), {"b"}, {kept});
    CHECK(renamed.Count(TargetActionKind::kDelete) == 0);
  }
  CHECK(ReservedTargetReason("trusted-ca").empty());
}

TEST_CASE("ConfigMaps another controller keeps are foreign whatever they carry", "[trust]") {
  struct Case {
    std::string ns, name, label, annotation;
  };
  for (const Case& c : std::vector<Case>{
           {"kube-system", "extension-apiserver-authentication", "", ""},
           {"kube-public", "cluster-info", "", ""},
           {"a", "trusted-ca", "config.openshift.io/inject-trusted-cabundle", ""},
           {"a", "trusted-ca", "", "service.beta.openshift.io/inject-cabundle"}}) {
    INFO(c.ns << "/" << c.name);
    ConfigMapFacts cm = Own(c.ns, "PEM-A\n", c.name);
    if (!c.label.empty()) cm.labels[c.label] = "true";
    if (!c.annotation.empty()) cm.annotations[c.annotation] = "true";
    CHECK_FALSE(KnownOwnerReason(cm).empty());
    CHECK_FALSE(ForeignReason(cm, kBundle).empty());
  }
  CHECK(KnownOwnerReason(Own("a")).empty());
}

TEST_CASE("Live managers decide ownership, not certguard's label", "[trust]") {
  // Recreated by another manager that kept certguard's label and owner reference.
  ConfigMapFacts taken = Own("a", "OTHER\n");
  taken.managers = {"some-operator"};
  taken.managers_known = true;
  CHECK(ForeignReason(taken, kBundle).find("not created by certguard") != std::string::npos);
  TargetPlan p = PlanTargets(Desired(), {"a"}, {taken});
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == TargetActionKind::kSkipForeign);

  // Written by certguard, then edited by a person: still certguard's to restore.
  ConfigMapFacts edited = Own("a", "EDITED\n");
  edited.managers = {"certguard", "kubectl-edit"};
  edited.managers_known = true;
  CHECK(ForeignReason(edited, kBundle).empty());
  CHECK(PlanTargets(Desired(), {"a"}, {edited}).actions[0].kind == TargetActionKind::kUpdate);

  // Written by certguard, then by a manager that reverts others.
  for (const char* m : {"kube-controller-manager", "service-ca-operator"}) {
    ConfigMapFacts fought = edited;
    fought.managers = {"certguard", m};
    CHECK(ForeignReason(fought, kBundle).find("reverts") != std::string::npos);
  }
}

TEST_CASE("Secret targets: any name may be a Secret, a non-Opaque type is foreign",
          "[trust][secret-target]") {
  DesiredTarget d = Desired();
  d.secret = true;
  // A ConfigMap name kube-controller-manager keeps, not a Secret's.
  d.target.name = "kube-root-ca.crt";
  TargetPlan p = PlanTargets(d, {"a"}, {});
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == TargetActionKind::kCreate);

  ConfigMapFacts own = Own("a");
  own.secret = true;
  own.type = "Opaque";
  CHECK(ForeignReason(own, kBundle).empty());
  CHECK(KnownOwnerReason(own).empty());
  own.type = "";  // a metadata-only object: its type unknown, decided by the rest
  CHECK(ForeignReason(own, kBundle).empty());
  own.type = "kubernetes.io/service-account-token";
  CHECK(ForeignReason(own, kBundle) ==
        "a Secret of type kubernetes.io/service-account-token, not Opaque");

  ConfigMapFacts unlabelled = Own("b");
  unlabelled.secret = true;
  unlabelled.labels.clear();
  d.target.name = "trusted-ca";
  TargetPlan q = PlanTargets(d, {"b"}, {unlabelled});
  REQUIRE(q.actions.size() == 1);
  CHECK(q.actions[0].kind == TargetActionKind::kSkipForeign);
  CHECK(q.foreign == 1);
}

namespace {

// A JKS-like repeatable key and a PKCS#12-like one with its input fingerprint.
DesiredTarget WithFormats(const std::string& p12_bytes = "P12-1") {
  DesiredTarget d = Desired();
  d.extra = {{"bundle.jks", "JKS-BYTES", ""}, {"bundle.p12", p12_bytes, "sha256:input-a"}};
  return d;
}

// An own target holding what WithFormats would write, as the cache keeps it.
ConfigMapFacts OwnWithFormats(const std::string& ns, const std::string& p12_bytes = "P12-1") {
  ConfigMapFacts cm = Own(ns);
  cm.data["bundle.jks"] = DigestMarker("JKS-BYTES");
  cm.data["bundle.p12"] = DigestMarker(p12_bytes);
  cm.annotations[kPkcs12Annotation] = "sha256:input-a," + BundleFingerprint(p12_bytes);
  cm.annotations[kFormatKeysAnnotation] = "bundle.jks,bundle.p12";
  return cm;
}

}  // namespace

TEST_CASE("Extra keys: a target holding them is in sync though PKCS#12 bytes differ",
          "[trust][formats]") {
  // A new encoding of the same bundle (other salts) does not rewrite the target.
  TargetPlan p = PlanTargets(WithFormats("P12-2"), {"a"}, {OwnWithFormats("a", "P12-1")});
  REQUIRE(p.actions.size() == 1);
  CHECK(p.actions[0].kind == TargetActionKind::kKeep);
  // The raw bytes (not a digest marker) are recognized too.
  ConfigMapFacts raw = OwnWithFormats("a");
  raw.data["bundle.jks"] = "JKS-BYTES";
  raw.data["bundle.p12"] = "P12-1";
  CHECK(InSync(raw, WithFormats("P12-9")));
  // The annotation a write gets names the bytes written.
  CHECK(DesiredAnnotations(WithFormats("P12-2")).at(kPkcs12Annotation) ==
        "sha256:input-a," + BundleFingerprint("P12-2"));
  CHECK(DesiredAnnotations(WithFormats()).at("note") == "x");
  CHECK(DesiredAnnotations(Desired()).count(kPkcs12Annotation) == 0);
  CHECK(DesiredAnnotations(Desired()).count(kFormatKeysAnnotation) == 0);
  CHECK(DesiredAnnotations(WithFormats()).at(kFormatKeysAnnotation) == "bundle.jks,bundle.p12");
}

TEST_CASE("Extra keys: missing, tampered or outdated ones are repaired", "[trust][formats]") {
  const DesiredTarget d = WithFormats();
  auto kind = [&](const ConfigMapFacts& cm, const DesiredTarget& desired) {
    return PlanTargets(desired, {"a"}, {cm}).actions.at(0).kind;
  };
  CHECK(kind(OwnWithFormats("a"), d) == TargetActionKind::kKeep);
  SECTION("a PEM-only target when formats are asked for") {
    CHECK(kind(Own("a"), d) == TargetActionKind::kUpdate);
  }
  SECTION("JKS key tampered") {
    auto cm = OwnWithFormats("a");
    cm.data["bundle.jks"] = DigestMarker("other");
    CHECK(kind(cm, d) == TargetActionKind::kUpdate);
  }
  SECTION("PKCS#12 key tampered: its fingerprint no longer matches the annotation") {
    auto cm = OwnWithFormats("a");
    cm.data["bundle.p12"] = DigestMarker("P12-forged");
    CHECK(kind(cm, d) == TargetActionKind::kUpdate);
  }
  SECTION("PKCS#12 annotation removed or edited") {
    auto cm = OwnWithFormats("a");
    cm.annotations.erase(kPkcs12Annotation);
    CHECK(kind(cm, d) == TargetActionKind::kUpdate);
    cm = OwnWithFormats("a");
    cm.annotations[kPkcs12Annotation] = "sha256:input-a,sha256:0";
    CHECK(kind(cm, d) == TargetActionKind::kUpdate);
  }
  SECTION("PKCS#12 input changed (new bundle or password)") {
    DesiredTarget other = d;
    other.extra[1].input = "sha256:input-b";
    CHECK(kind(OwnWithFormats("a"), other) == TargetActionKind::kUpdate);
  }
  SECTION("a format removed: the target is rewritten so that its key goes") {
    DesiredTarget jks_only = d;
    jks_only.extra.pop_back();
    CHECK(kind(OwnWithFormats("a"), jks_only) == TargetActionKind::kUpdate);
    CHECK(kind(OwnWithFormats("a"), Desired()) == TargetActionKind::kUpdate);
    // Once rewritten (annotations as the write leaves them), it is in sync.
    auto cm = OwnWithFormats("a");
    cm.annotations.erase(kPkcs12Annotation);
    cm.annotations[kFormatKeysAnnotation] = "bundle.jks";
    CHECK(kind(cm, jks_only) == TargetActionKind::kKeep);
    CHECK(DesiredAnnotations(jks_only).at(kFormatKeysAnnotation) == "bundle.jks");
    CHECK(DesiredAnnotations(jks_only).count(kPkcs12Annotation) == 0);
  }
  SECTION("a format key renamed") {
    DesiredTarget other = d;
    other.extra[0].key = "truststore.jks";
    CHECK(kind(OwnWithFormats("a"), other) == TargetActionKind::kUpdate);
  }
}

TEST_CASE("WriteIdentity changes with the PEM, a JKS file or a PKCS#12 input only",
          "[trust][formats]") {
  DesiredTarget a = WithFormats("P12-1");
  DesiredTarget same = WithFormats("P12-2");  // another encoding of the same input
  CHECK(WriteIdentity(a) == WriteIdentity(same));
  DesiredTarget jks = a;
  jks.extra[0].bytes = "JKS-OTHER";
  CHECK(WriteIdentity(jks) != WriteIdentity(a));
  DesiredTarget input = a;
  input.extra[1].input = "sha256:input-b";
  CHECK(WriteIdentity(input) != WriteIdentity(a));
  CHECK(WriteIdentity(Desired()) != WriteIdentity(a));
  CHECK(WriteIdentity(Desired("PEM-B\n")) != WriteIdentity(Desired()));
  CHECK(ValueFingerprint(DigestMarker("x")) == BundleFingerprint("x"));
  CHECK(ValueFingerprint("x") == BundleFingerprint("x"));
}

TEST_CASE("StaleFieldsOf names a removed format's key and annotations, nothing else",
          "[trust][formats]") {
  const ConfigMapFacts cm = OwnWithFormats("a");
  CHECK(StaleFieldsOf(cm, WithFormats()).empty());
  DesiredTarget jks_only = WithFormats();
  jks_only.extra.pop_back();
  StaleFields s = StaleFieldsOf(cm, jks_only);
  CHECK(s.keys == std::vector<std::string>{"bundle.p12"});
  CHECK(s.annotations == std::vector<std::string>{kPkcs12Annotation});
  StaleFields none = StaleFieldsOf(cm, Desired());
  CHECK(none.keys == std::vector<std::string>{"bundle.jks", "bundle.p12"});
  CHECK(none.annotations.size() == 2);
  // Without the annotation nothing was written by a format: keys others add stay.
  ConfigMapFacts theirs = Own("a");
  theirs.data["bundle.p12"] = "someone's";
  CHECK(StaleFieldsOf(theirs, Desired()).empty());
  // A listed key already gone is not patched again; the PEM key never is.
  ConfigMapFacts gone = OwnWithFormats("a");
  gone.data.erase("bundle.p12");
  gone.annotations[kFormatKeysAnnotation] = "bundle.jks,bundle.p12,ca.crt";
  CHECK(StaleFieldsOf(gone, jks_only).keys.empty());
}
