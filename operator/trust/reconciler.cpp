#include "trust/reconciler.h"

#include <algorithm>
#include <utility>

#include "common/json_fields.h"
#include "common/json_parse.h"
#include "common/label_selector.h"
#include "common/log.h"
#include "common/names.h"
#include "kube/resource.h"
#include "trust/build.h"
#include "trust/passwords.h"
#include "trust/report.h"
#include "trust/sources.h"
#include "x509/pem.h"

namespace certguard::trust {
namespace {

using nlohmann::json;
namespace resources = kube::resources;

using common::Field;
using common::Str;
using common::StrMap;

bool IsSet(const json& obj, const char* name) { return !Field(obj, name).is_null(); }

// A spec, its namespace selector, or why the bundle cannot work.
struct CheckedSpec {
  TrustBundleSpec spec;
  std::optional<common::LabelSelector> selector;
  std::string error;  // not empty: invalid
};

CheckedSpec CheckSpec(const json& bundle, const std::string& name) {
  CheckedSpec out;
  auto parsed = ParseSpec(Field(bundle, "spec"));
  out.error = parsed.ok() ? "" : parsed.status().message();
  if (std::string problem = BundleNameProblem(name); !problem.empty()) {
    out.error = out.error.empty() ? problem : problem + "; " + out.error;
  }
  if (!parsed.ok()) return out;
  out.spec = *parsed;
  if (out.spec.namespace_selector) {
    auto sel = common::LabelSelector::FromJson(*out.spec.namespace_selector);
    if (sel.ok()) {
      out.selector = *sel;
    } else {
      out.error = "spec.namespaceSelector: " + sel.status().message();
    }
  }
  return out;
}

// The last good bundle's certificates, for the status and the consumers.
BuildResult BuildLastGood(const std::string& pem, x509::Time now) {
  SourceContent last;
  last.id = "last good bundle";
  last.entries.push_back({"", pem});
  return Build({last}, {}, now);
}

// When to look again with no event: Secrets are polled; writes taken on trust
// are checked once the cache must show them; an expiring certificate is dropped
// when it expires.
kube::ReconcileResult NextLook(const ReconcilerOptions& options, const TrustBundleSpec& spec,
                               bool has_secret, bool trusting_writes, const BuildResult& bundle,
                               x509::Time now) {
  std::optional<kube::Duration> again;
  if (has_secret) again = options.secret_poll;
  if (trusting_writes && (!again || options.inflight_ttl < *again)) again = options.inflight_ttl;
  if (spec.drop_expired && bundle.earliest_not_after) {
    auto until = std::chrono::duration_cast<kube::Duration>(*bundle.earliest_not_after - now) +
                 std::chrono::seconds(1);
    if (until > kube::Duration::zero() && (!again || until < *again)) again = until;
  }
  if (again) return kube::ReconcileResult::RequeueAfter(*again);
  return kube::ReconcileResult::Done();
}

}  // namespace

std::string BundleNameProblem(const std::string& name) {
  if (name.size() <= common::kMaxLabelValue) return "";
  return "metadata.name: " + std::to_string(name.size()) +
         " characters, but a TrustBundle's name is its targets' label value, which holds at "
         "most 63";
}

namespace {

json CompactManagers(const json& meta) {
  json out = json::array();
  const json& managed = Field(meta, "managedFields");
  if (!managed.is_array()) return out;
  for (const json& m : managed) {
    std::string manager = Str(m, "manager");
    if (!manager.empty()) out.push_back({{"manager", manager}});
  }
  return out;
}

}  // namespace

namespace {

// Each base64 value of `field` (a Secret's data, a ConfigMap's binaryData) as
// the digest of its decoded bytes, so it compares with the bytes encoded;
// an undecodable one as a marker no bundle's digest equals.
void DigestDecoded(json& object, const char* field) {
  auto values = object.find(field);
  if (values == object.end() || !values->is_object()) return;
  for (auto& [k, v] : values->items()) {
    if (!v.is_string()) continue;
    auto decoded = x509::pem::DecodeBody(v.get_ref<const std::string&>());
    v = decoded.ok() ? DigestMarker(*decoded) : DigestMarker("\x01undecodable");
  }
}

json WithCompactManagers(const json& object) {
  json out = object;
  json& meta = out["metadata"];
  if (meta.is_object() && meta.contains("managedFields")) meta["managedFields"] = CompactManagers(meta);
  return out;
}

}  // namespace

json CompactTarget(const json& cm) {
  json out = WithCompactManagers(cm);
  auto data = out.find("data");
  if (data != out.end() && data->is_object()) {
    for (auto& [k, v] : data->items()) {
      if (v.is_string()) v = DigestMarker(v.get_ref<const std::string&>());
    }
  }
  DigestDecoded(out, "binaryData");
  return out;
}

json CompactSecretTarget(const json& secret) {
  json out = WithCompactManagers(secret);
  out.erase("stringData");
  DigestDecoded(out, "data");
  return out;
}

json CompactMetadata(const json& cm) {
  const json& meta = Field(cm, "metadata");
  json m = json::object();
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "labels", "ownerReferences",
                        "deletionTimestamp"}) {
    const json& v = Field(meta, k);
    if (!v.is_null()) m[k] = v;
  }
  const json& annotations = Field(meta, "annotations");
  const std::string inject = "service.beta.openshift.io/inject-cabundle";
  if (annotations.is_object() && annotations.contains(inject)) {
    m["annotations"] = {{inject, annotations[inject]}};
  }
  json managers = CompactManagers(meta);
  if (!managers.empty()) m["managedFields"] = managers;
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", m}};
}

TrustBundleReconciler::TrustBundleReconciler(kube::Client& client, const TrustView& view,
                                             kube::EventRecorder& events, TrustMetrics& metrics,
                                             ReconcilerOptions options)
    : client_(client),
      view_(view),
      events_(events),
      metrics_(metrics),
      options_(options),
      clock_(options.clock ? *options.clock : common::SystemClock()),
      targets_(client, clock_, {options.write_concurrency, options.inflight_ttl}),
      secret_targets_(client, clock_, {options.write_concurrency, options.inflight_ttl}) {}

std::string TrustBundleReconciler::LastGood(const std::string& bundle, const json& status,
                                            const std::string& key) const {
  {
    std::lock_guard lock(mu_);
    auto it = last_good_.find(bundle);
    if (it != last_good_.end()) return it->second;
  }
  // After a restart: the bundle whose fingerprint the status holds, read back
  // from any target certguard wrote.
  const std::string fingerprint = Str(status, "fingerprint");
  if (fingerprint.empty()) return "";
  const std::string marker = "\x01" + fingerprint;
  auto pick = [&](const std::map<std::string, std::string>& data) -> std::string {
    auto it = data.find(key);
    if (it != data.end() && BundleFingerprint(it->second) == fingerprint) return it->second;
    for (const auto& [k, v] : data) {
      if (BundleFingerprint(v) == fingerprint) return v;
    }
    return "";
  };
  for (const ObjectPtr& t : view_.TargetsOf(bundle)) {
    auto data = StrMap(Field(*t, "data"));
    bool holds_marker = std::any_of(data.begin(), data.end(),
                                    [&](const auto& kv) { return kv.second == marker; });
    if (!holds_marker) {
      if (std::string pem = pick(data); !pem.empty()) return pem;
      continue;
    }
    // The cache keeps digests: read this target whole.
    const json& meta = Field(*t, "metadata");
    auto live = client_.Get(resources::kConfigMaps, Str(meta, "namespace"), Str(meta, "name"));
    if (!live.ok()) continue;
    if (std::string pem = pick(StrMap(Field(*live, "data"))); !pem.empty()) return pem;
  }
  // Or from a Secret target (its cached data are always markers): read whole, decoded.
  for (const ObjectPtr& t : view_.SecretTargetsOf(bundle)) {
    const json& meta = Field(*t, "metadata");
    auto live = client_.Get(resources::kSecrets, Str(meta, "namespace"), Str(meta, "name"));
    if (!live.ok()) continue;
    std::map<std::string, std::string> data;
    for (const auto& [k, v] : StrMap(Field(*live, "data"))) {
      if (auto decoded = x509::pem::DecodeBody(v); decoded.ok()) data[k] = *decoded;
    }
    if (std::string pem = pick(data); !pem.empty()) return pem;
  }
  return "";
}

std::vector<std::string> TrustBundleReconciler::BundlesInterestedIn(
    const json& object,
    const std::function<bool(const Interest&, const std::pair<std::string, std::string>&)>&
        matches) const {
  const json& meta = Field(object, "metadata");
  const std::pair<std::string, std::string> key{Str(meta, "namespace"), Str(meta, "name")};
  std::set<std::string> out;
  std::string label = Str(Field(meta, "labels"), kBundleLabel);
  if (!label.empty()) out.insert(label);
  std::lock_guard lock(mu_);
  for (const auto& [bundle, in] : interest_) {
    if (matches(in, key)) out.insert(bundle);
  }
  return {out.begin(), out.end()};
}

std::vector<std::string> TrustBundleReconciler::InterestedBundles(const json& configmap) const {
  return BundlesInterestedIn(configmap, [](const Interest& in, const auto& key) {
    return in.sources.count(key) || in.names.count(key.second) || in.consumers.count(key);
  });
}

std::vector<std::string> TrustBundleReconciler::InterestedBundlesOfSecret(
    const json& secret) const {
  return BundlesInterestedIn(secret, [](const Interest& in, const auto& key) {
    return in.secret_sources.count(key) || (!key.second.empty() && in.secret_target == key.second);
  });
}

void TrustBundleReconciler::ObserveSecret(const json& secret, bool deleted) {
  const json& meta = Field(secret, "metadata");
  secret_targets_.Observe(Str(meta, "namespace"), Str(meta, "name"), Str(meta, "resourceVersion"),
                          deleted);
}

void TrustBundleReconciler::Observe(const json& configmap, bool deleted) {
  const json& meta = Field(configmap, "metadata");
  targets_.Observe(Str(meta, "namespace"), Str(meta, "name"), Str(meta, "resourceVersion"),
                   deleted);
}

void TrustBundleReconciler::RememberInterest(const std::string& bundle,
                                             const TrustBundleSpec& spec) {
  Interest in;
  for (const SourceSpec& s : spec.sources) {
    if (s.kind == SourceKind::kConfigMap) in.sources.insert({s.ns, s.name});
    if (s.kind == SourceKind::kSecret) in.secret_sources.insert({s.ns, s.name});
  }
  // A password Secret's change re-encodes the truststores, as a source's change does.
  for (const FormatSpec* f : {&spec.jks, &spec.pkcs12}) {
    if (!f->key.empty() && f->password_ref) {
      in.secret_sources.insert({f->password_ref->ns, f->password_ref->name});
    }
  }
  if (!spec.target.name.empty()) in.names.insert(spec.target.name);
  in.secret_target = spec.secret_target.name;
  for (const VerifySpec& v : spec.verify) {
    if (v.ns.empty()) {
      in.names.insert(v.name);
    } else {
      in.consumers.insert({v.ns, v.name});
    }
  }
  std::lock_guard lock(mu_);
  interest_[bundle] = std::move(in);
}

void TrustBundleReconciler::Forget(const std::string& bundle) {
  metrics_.Forget(bundle);
  targets_.Forget(bundle);
  secret_targets_.Forget(bundle);
  std::lock_guard lock(mu_);
  interest_.erase(bundle);
  last_good_.erase(bundle);
}

Result<TargetWrites> TrustBundleReconciler::WriteTargets(
    const BundleRef& ref, const TrustBundleSpec& spec, const std::vector<std::string>& selected,
    const std::string& pem, const BuildResult& bundle, std::vector<TargetProblem>& foreign) {
  const std::string digest = pem.empty() ? "" : DigestMarker(pem);
  std::vector<ExtraKey> extra;
  if (!pem.empty()) {
    auto formats = FormatKeys(spec, bundle.certificates, pem);
    // Not expected (the certificates were parsed): writing the PEM alone would
    // drop the truststores consumers read, so nothing is written.
    if (!formats.ok()) return formats.status();
    extra = std::move(*formats);
  }
  TargetWrites writes;
  if (!spec.target.name.empty()) {
    const DesiredTarget desired{ref, spec.target, pem, digest, false, extra};
    writes = targets_.Write(desired, selected, ExistingTargets(desired, selected, view_));
    foreign = NameForeign(writes.plan, ref, client_);
  }
  if (!spec.secret_target.name.empty() && options_.secret_targets) {
    const DesiredTarget desired{ref, spec.secret_target, pem, digest, true, extra};
    TargetWrites secret_writes =
        secret_targets_.Write(desired, selected, ExistingTargets(desired, selected, view_));
    for (TargetProblem& p : NameForeign(secret_writes.plan, ref, client_, /*secret=*/true)) {
      foreign.push_back(std::move(p));
    }
    writes = MergeWrites(std::move(writes), std::move(secret_writes));
  }
  return writes;
}

kube::ReconcileResult TrustBundleReconciler::Reconcile(const std::string& key) {
  const x509::Time now = clock_.Now();
  ObjectPtr obj = view_.Bundle(key);
  if (!obj) {
    // Deleted: the garbage collector removes the targets through their owner reference.
    Forget(key);
    return kube::ReconcileResult::Done();
  }
  if (IsSet(Field(*obj, "metadata"), "deletionTimestamp")) return kube::ReconcileResult::Done();
  Reporter report(client_, events_, metrics_, *obj, now);
  const BundleRef& ref = report.ref();
  const CheckedSpec checked = CheckSpec(*obj, ref.name);
  if (!checked.error.empty()) {
    Status s = report.InvalidSpec(checked.error);
    if (!s.ok()) return kube::ReconcileResult::Retry(s.Annotate("writing status"));
    return kube::ReconcileResult::Done();
  }
  TrustBundleSpec spec = checked.spec;
  RememberInterest(ref.name, spec);
  const std::vector<std::string> selected = SelectNamespaces(spec, checked.selector, view_);

  // Passwords from Secrets: without them nothing is written (a truststore
  // under a wrong password is worse than a stale one), and targets keep what they hold.
  bool password_secrets = false;
  if (Status passwords = ReadPasswords(spec, client_, password_secrets); !passwords.ok()) {
    const bool refused = passwords.code() == Code::kNotFound ||
                         passwords.code() == Code::kInvalidArgument;
    Status s = report.PasswordUnavailable(passwords.message());
    if (!refused) return kube::ReconcileResult::Retry(passwords.Annotate("reading passwords"));
    if (!s.ok()) return kube::ReconcileResult::Retry(s.Annotate("writing status"));
    return kube::ReconcileResult::RequeueAfter(options_.secret_poll);
  }

  // Gather: build from the sources; keep the last good bundle when they fail.
  const GatheredSources sources = GatherSources(spec, view_, client_);
  const BuildResult build = Build(sources.contents, {spec.drop_expired, spec.ca_only}, now);
  const bool has_configmap = !spec.target.name.empty();
  const bool has_secret = !spec.secret_target.name.empty();
  const Publish publish =
      DecidePublish(build, LastGood(ref.name, report.old_status(),
                                    has_configmap ? spec.target.key : spec.secret_target.key));
  const BuildResult bundle = publish.last_good ? BuildLastGood(publish.pem, now) : build;

  // Write the targets that differ: the ConfigMaps, then the Secrets.
  std::vector<TargetProblem> foreign;
  Result<TargetWrites> written = WriteTargets(ref, spec, selected, publish.pem, bundle, foreign);
  if (!written.ok()) return kube::ReconcileResult::Retry(written.status());
  TargetWrites writes = std::move(*written);

  // Report: consumers checked, then status, metrics and events.
  const ConsumerReport consumers =
      publish.pem.empty() ? ConsumerReport{}
                          : CheckConsumers(spec, selected, bundle.certificates, view_, now);
  StatusFacts facts = CollectFacts(report.generation(), build, publish, bundle, writes,
                                   std::move(foreign), consumers);
  facts.secret_targets_disabled = has_secret && !options_.secret_targets;
  const Status status_write = report.Report(facts, consumers, writes.written);
  if (!publish.pem.empty()) {
    std::lock_guard lock(mu_);
    last_good_[ref.name] = publish.pem;
  }

  if (!writes.first_error.ok()) {
    return kube::ReconcileResult::Retry(writes.first_error.Annotate("writing targets"));
  }
  if (!status_write.ok()) return kube::ReconcileResult::Retry(status_write.Annotate("writing status"));
  return NextLook(options_, spec, sources.has_secret || password_secrets, writes.trusting_writes,
                  bundle, now);
}

}  // namespace certguard::trust
