#include "trust/reconciler.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "common/json_fields.h"
#include "common/json_parse.h"
#include "common/label_selector.h"
#include "common/log.h"
#include "kube/resource.h"
#include "trust/build.h"
#include "trust/gap.h"
#include "trust/status.h"
#include "x509/pem.h"

namespace certguard::trust {
namespace {

using nlohmann::json;
namespace resources = kube::resources;

using common::Field;
using common::Str;
using common::StrMap;

bool IsSet(const json& obj, const char* name) { return !Field(obj, name).is_null(); }

bool Terminating(const json& ns) {
  return IsSet(Field(ns, "metadata"), "deletionTimestamp") ||
         Str(Field(ns, "status"), "phase") == "Terminating";
}

// The same for every namespace (the request path names it), so it is built once.
json TargetObject(const DesiredTarget& d) {
  OwnerReference o = DesiredOwner(d.bundle);
  json meta = {{"name", d.target.name},
               {"labels", DesiredLabels(d)},
               {"ownerReferences",
                json::array({{{"apiVersion", o.api_version},
                              {"kind", o.kind},
                              {"name", o.name},
                              {"uid", o.uid}}})}};
  if (!d.target.annotations.empty()) meta["annotations"] = d.target.annotations;
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", meta},
          {"data", {{d.target.key, d.pem}}}};
}

std::string KeyOf(const std::string& ns, const std::string& name) { return ns + "/" + name; }

}  // namespace

ConfigMapFacts FactsOf(const json& cm) {
  ConfigMapFacts f;
  const json& meta = Field(cm, "metadata");
  f.ns = Str(meta, "namespace");
  f.name = Str(meta, "name");
  f.labels = StrMap(Field(meta, "labels"));
  f.annotations = StrMap(Field(meta, "annotations"));
  f.data = StrMap(Field(cm, "data"));
  f.deleting = IsSet(meta, "deletionTimestamp");
  f.resource_version = Str(meta, "resourceVersion");
  const json& owners = Field(meta, "ownerReferences");
  if (owners.is_array()) {
    for (const json& o : owners) {
      const json& controller = Field(o, "controller");
      f.owners.push_back({Str(o, "apiVersion"), Str(o, "kind"), Str(o, "name"), Str(o, "uid"),
                          controller.is_boolean() && controller.get<bool>()});
    }
  }
  const json& managed = Field(meta, "managedFields");
  if (managed.is_array() && !managed.empty()) {
    f.managers_known = true;
    for (const json& m : managed) {
      std::string manager = Str(m, "manager");
      if (!manager.empty() &&
          std::find(f.managers.begin(), f.managers.end(), manager) == f.managers.end()) {
        f.managers.push_back(manager);
      }
    }
  }
  return f;
}

std::string BundleNameProblem(const std::string& name) {
  if (name.size() <= 63) return "";
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

json CompactTarget(const json& cm) {
  json out = cm;
  json& meta = out["metadata"];
  if (meta.is_object() && meta.contains("managedFields")) meta["managedFields"] = CompactManagers(meta);
  for (const char* field : {"data", "binaryData"}) {
    auto data = out.find(field);
    if (data == out.end() || !data->is_object()) continue;
    for (auto& [k, v] : data->items()) {
      if (v.is_string()) v = DigestMarker(v.get_ref<const std::string&>());
    }
  }
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
    : client_(client), view_(view), events_(events), metrics_(metrics), options_(options) {}

x509::Time TrustBundleReconciler::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

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
  return "";
}

std::vector<std::string> TrustBundleReconciler::InterestedBundles(const json& configmap) const {
  const json& meta = Field(configmap, "metadata");
  const std::string ns = Str(meta, "namespace");
  const std::string name = Str(meta, "name");
  std::set<std::string> out;
  std::string label = Str(Field(meta, "labels"), kBundleLabel);
  if (!label.empty()) out.insert(label);
  std::lock_guard lock(mu_);
  for (const auto& [bundle, in] : interest_) {
    if (in.sources.count({ns, name}) || in.names.count(name) || in.consumers.count({ns, name})) {
      out.insert(bundle);
    }
  }
  return {out.begin(), out.end()};
}

void TrustBundleReconciler::Observe(const json& configmap, bool deleted) {
  const json& meta = Field(configmap, "metadata");
  const std::string key = KeyOf(Str(meta, "namespace"), Str(meta, "name"));
  const std::string rv = Str(meta, "resourceVersion");
  std::lock_guard lock(mu_);
  for (auto& [bundle, writes] : inflight_) {
    auto it = writes.find(key);
    if (it != writes.end() && (deleted || it->second.after_rv == rv)) writes.erase(it);
  }
}

kube::ReconcileResult TrustBundleReconciler::Reconcile(const std::string& key) {
  const x509::Time now = Now();
  ObjectPtr obj = view_.Bundle(key);
  if (!obj) {
    // Deleted: the garbage collector removes the targets through their owner reference.
    metrics_.Forget(key);
    std::lock_guard lock(mu_);
    interest_.erase(key);
    last_good_.erase(key);
    inflight_.erase(key);
    return kube::ReconcileResult::Done();
  }
  const json& bundle = *obj;
  const json& meta = Field(bundle, "metadata");
  if (IsSet(meta, "deletionTimestamp")) return kube::ReconcileResult::Done();
  const BundleRef ref{Str(meta, "name"), Str(meta, "uid")};
  const json& gen = Field(meta, "generation");
  const int64_t generation = common::IntIn(gen, 0, INT64_MAX).value_or(0);
  const kube::ObjectReference oref{kApiVersion, kKind, "", ref.name, ref.uid,
                                   Str(meta, "resourceVersion")};
  const json old_status = Field(bundle, "status").is_object() ? Field(bundle, "status")
                                                               : json::object();

  auto write_status = [&](const StatusFacts& facts) -> Status {
    json status = ComputeStatus(facts, old_status, now);
    if (auto t = common::ParseRfc3339(Str(status, "lastChange")); t.ok()) {
      metrics_.SetLastChange(ref.name, static_cast<double>(t->time_since_epoch().count()));
    }
    if (status == old_status) return Status::Ok();
    json patch_status = status;
    for (auto it = old_status.begin(); it != old_status.end(); ++it) {
      if (!status.contains(it.key())) patch_status[it.key()] = nullptr;
    }
    json body = {{"status", patch_status}};
    auto r = client_.Patch(resources::kTrustBundles, "", ref.name, kube::PatchType::kMerge,
                           body.dump(), {}, "status");
    return r.status();
  };

  // The spec, and its selector.
  auto parsed = ParseSpec(Field(bundle, "spec"));
  std::optional<common::LabelSelector> selector;
  std::string spec_error = parsed.ok() ? "" : parsed.status().message();
  if (std::string problem = BundleNameProblem(ref.name); !problem.empty()) {
    spec_error = spec_error.empty() ? problem : problem + "; " + spec_error;
  }
  if (parsed.ok() && parsed->namespace_selector) {
    auto sel = common::LabelSelector::FromJson(*parsed->namespace_selector);
    if (sel.ok()) {
      selector = *sel;
    } else {
      spec_error = "spec.namespaceSelector: " + sel.status().message();
    }
  }
  if (!spec_error.empty()) {
    events_.Record(oref, kube::EventSeverity::kWarning, "InvalidSpec", spec_error);
    StatusFacts facts;
    facts.generation = generation;
    facts.spec_error = spec_error;
    Status s = write_status(facts);
    if (!s.ok()) return kube::ReconcileResult::Retry(s.Annotate("writing status"));
    return kube::ReconcileResult::Done();
  }
  const TrustBundleSpec& spec = *parsed;

  {
    Interest in;
    for (const SourceSpec& s : spec.sources) {
      if (s.kind == SourceKind::kConfigMap) in.sources.insert({s.ns, s.name});
    }
    in.names.insert(spec.target.name);
    for (const VerifySpec& v : spec.verify) {
      if (v.ns.empty()) {
        in.names.insert(v.name);
      } else {
        in.consumers.insert({v.ns, v.name});
      }
    }
    std::lock_guard lock(mu_);
    interest_[ref.name] = std::move(in);
  }

  // The namespaces selected (by name or by label), terminating ones left out.
  std::vector<std::string> selected;
  {
    std::set<std::string> by_name(spec.namespaces.begin(), spec.namespaces.end());
    for (const ObjectPtr& ns : view_.Namespaces()) {
      const json& nmeta = Field(*ns, "metadata");
      std::string name = Str(nmeta, "name");
      if (name.empty() || Terminating(*ns)) continue;
      if (by_name.count(name) || (selector && selector->Matches(StrMap(Field(nmeta, "labels"))))) {
        selected.push_back(name);
      }
    }
    std::sort(selected.begin(), selected.end());
  }

  // Read the sources.
  std::vector<SourceContent> contents;
  bool has_secret = false;
  for (size_t i = 0; i < spec.sources.size(); ++i) {
    const SourceSpec& s = spec.sources[i];
    SourceContent c;
    c.id = s.Describe(i);
    if (s.kind == SourceKind::kInline) {
      c.entries.push_back({"", s.pem});
    } else if (s.kind == SourceKind::kConfigMap) {
      Result<ObjectPtr> read = view_.ConfigMapData(s.ns, s.name);
      ObjectPtr cm = read.ok() ? *read : nullptr;
      if (!read.ok()) {
        c.read_status = read.status();
      } else if (!cm) {
        c.read_status = NotFound("configmap " + s.ns + "/" + s.name + " not found");
      } else {
        auto data = StrMap(Field(*cm, "data"));
        if (s.key.empty()) {
          c.entries.assign(data.begin(), data.end());
        } else if (data.count(s.key)) {
          c.entries.push_back({s.key, data[s.key]});
        } else {
          c.read_status = NotFound("configmap " + s.ns + "/" + s.name + " has no key " + s.key);
        }
      }
    } else {
      has_secret = true;
      auto secret = client_.Get(resources::kSecrets, s.ns, s.name);
      if (!secret.ok()) {
        c.read_status = secret.status();
      } else {
        std::string b64 = Str(Field(*secret, "data"), s.key.c_str());
        auto decoded = x509::pem::DecodeBody(b64);
        if (b64.empty()) {
          c.read_status = NotFound("secret " + s.ns + "/" + s.name + " has no key " + s.key);
        } else if (!decoded.ok()) {
          c.read_status = decoded.status();
        } else {
          c.entries.push_back({s.key, *decoded});
        }
      }
    }
    contents.push_back(std::move(c));
  }

  const BuildResult build = Build(contents, {spec.drop_expired, spec.ca_only}, now);
  const Publish publish = DecidePublish(build, LastGood(ref.name, old_status, spec.target.key));
  BuildResult info = build;
  if (publish.last_good) {
    SourceContent last;
    last.id = "last good bundle";
    last.entries.push_back({"", publish.pem});
    info = Build({last}, {}, now);
  }

  // The ConfigMaps that are or may be targets.
  DesiredTarget desired{ref, spec.target, publish.pem,
                        publish.pem.empty() ? "" : DigestMarker(publish.pem)};
  std::vector<ConfigMapFacts> existing;
  for (const ObjectPtr& t : view_.TargetsOf(ref.name)) existing.push_back(FactsOf(*t));
  for (const std::string& ns : selected) {
    if (ObjectPtr cm = view_.ConfigMap(ns, spec.target.name)) existing.push_back(FactsOf(*cm));
  }

  // Writes of ours the cache has not caught up with count as done.
  bool trusting_writes = false;
  {
    std::lock_guard lock(mu_);
    auto& mine = inflight_[ref.name];
    const auto steady_now = std::chrono::steady_clock::now();
    for (auto it = mine.begin(); it != mine.end();) {
      const Inflight& w = it->second;
      auto facts = std::find_if(existing.begin(), existing.end(), [&](const ConfigMapFacts& f) {
        return KeyOf(f.ns, f.name) == it->first;
      });
      bool keep = steady_now - w.when < options_.inflight_ttl && w.digest == desired.pem_digest;
      if (keep && facts != existing.end()) {
        if (facts->resource_version == w.before_rv) {
          facts->data[spec.target.key] = w.digest;  // the cache is behind: trust the write
          for (const auto& [k, v] : DesiredLabels(desired)) facts->labels[k] = v;
          for (const auto& [k, v] : spec.target.annotations) facts->annotations[k] = v;
          facts->owners = {DesiredOwner(ref)};
        } else {
          keep = false;  // the cache shows our write, or a later change
        }
      } else if (keep && w.before_rv.empty()) {
        ConfigMapFacts f;  // created, not yet in the cache
        f.ns = it->first.substr(0, it->first.find('/'));
        f.name = spec.target.name;
        f.labels = DesiredLabels(desired);
        f.annotations = spec.target.annotations;
        f.data = {{spec.target.key, w.digest}};
        f.owners = {DesiredOwner(ref)};
        f.managers = {kFieldManager};
        f.managers_known = true;
        existing.push_back(std::move(f));
      } else {
        keep = false;
      }
      trusting_writes = trusting_writes || keep;
      it = keep ? std::next(it) : mine.erase(it);
    }
  }

  const TargetPlan plan = PlanTargets(desired, selected, existing);

  // Carry out the writes, a few at a time.
  std::map<std::string, std::string> rv_of;
  for (const ConfigMapFacts& f : existing) rv_of.emplace(KeyOf(f.ns, f.name), f.resource_version);
  auto rv = [&rv_of](const std::string& k) {
    auto it = rv_of.find(k);
    return it == rv_of.end() ? std::string() : it->second;
  };
  std::vector<const TargetAction*> writes;
  for (const TargetAction& a : plan.actions) {
    if (a.kind == TargetActionKind::kCreate || a.kind == TargetActionKind::kUpdate ||
        a.kind == TargetActionKind::kDelete) {
      writes.push_back(&a);
    }
  }
  struct Outcome {
    Status status;
    std::string after_rv;
  };
  std::vector<Outcome> outcomes(writes.size());
  const json target_object = writes.empty() ? json() : TargetObject(desired);
  {
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next++) < writes.size();) {
        const TargetAction& a = *writes[i];
        Outcome& out = outcomes[i];
        if (a.kind == TargetActionKind::kDelete) {
          kube::DeleteOptions opts;
          opts.precondition_resource_version = rv(KeyOf(a.ns, a.name));
          Status s = client_.Delete(resources::kConfigMaps, a.ns, a.name, opts);
          out.status = s.code() == Code::kNotFound ? Status::Ok() : s;
          continue;
        }
        Result<json> r = Internal("unreachable");
        if (a.kind == TargetActionKind::kCreate) {
          // A create never replaces: AlreadyExists when someone else was first.
          r = client_.Create(resources::kConfigMaps, a.ns, target_object);
        } else {
          // Only the version whose managers were checked: Conflict when another
          // writer came in between, and the next reconcile looks again.
          json object = target_object;
          if (std::string before = rv(KeyOf(a.ns, a.name)); !before.empty()) {
            object["metadata"]["resourceVersion"] = before;
          }
          r = kube::Apply(client_, resources::kConfigMaps, a.ns, object, kFieldManager,
                          /*force=*/true);
        }
        out.status = r.status();
        if (r.ok()) {
          out.after_rv = Str(Field(*r, "metadata"), "resourceVersion");
          const std::string k = KeyOf(a.ns, a.name);
          std::lock_guard lock(mu_);
          inflight_[ref.name][k] = {a.kind == TargetActionKind::kCreate ? "" : rv(k),
                                    out.after_rv, desired.pem_digest,
                                    std::chrono::steady_clock::now()};
        }
      }
    };
    const size_t n = std::min<size_t>(std::max(1, options_.write_concurrency), writes.size());
    std::vector<std::thread> threads;
    for (size_t t = 1; t < n; ++t) threads.emplace_back(work);
    work();
    for (std::thread& t : threads) t.join();
  }

  size_t written = 0;
  std::vector<TargetProblem> write_errors;
  Status first_error;
  {
    for (size_t i = 0; i < writes.size(); ++i) {
      const TargetAction& a = *writes[i];
      const Outcome& out = outcomes[i];
      if (!out.status.ok()) {
        write_errors.push_back({a.ns, a.name, std::string(TargetActionName(a.kind)) + ": " +
                                                  out.status.ToString()});
        if (first_error.ok()) first_error = out.status;
        continue;
      }
      if (a.kind != TargetActionKind::kDelete) ++written;
    }
  }
  if (!write_errors.empty()) {
    log::Warn("trust: target writes failed",
              {{"bundle", ref.name},
               {"failed", std::to_string(write_errors.size())},
               {"first", write_errors[0].ns + "/" + write_errors[0].name + ": " +
                             write_errors[0].message}});
  }

  // Foreign ConfigMaps: name their managers (the cache leaves managedFields out).
  std::vector<TargetProblem> foreign;
  for (const TargetAction& a : plan.actions) {
    if (a.kind != TargetActionKind::kSkipForeign) continue;
    std::string reason = a.reason;
    if (foreign.size() < 5) {
      auto live = client_.Get(resources::kConfigMaps, a.ns, a.name);
      if (live.ok()) {
        std::string r = ForeignReason(FactsOf(*live), ref);
        if (!r.empty()) reason = r;
      }
    }
    foreign.push_back({a.ns, a.name, reason});
  }

  // Consumers.
  std::map<std::pair<std::string, std::string>, bool> gap_metric;
  std::vector<TargetProblem> gaps;
  size_t verified = 0;
  if (!publish.pem.empty()) {
    for (const ConsumerRef& c : ExpandVerify(spec.verify, selected)) {
      std::optional<std::string> text;
      Result<ObjectPtr> cm = view_.ConfigMapData(c.ns, c.name);
      if (cm.ok() && *cm) {
        const json& v = Field(Field(**cm, "data"), c.key.c_str());
        if (v.is_string()) text = v.get<std::string>();
      }
      GapCheck check = CheckConsumer(info.certificates, text, now);
      gap_metric[{c.ns, c.name}] = gap_metric[{c.ns, c.name}] || check.gap();
      if (check.gap()) gaps.push_back({c.ns, c.name, check.Describe()});
      ++verified;
    }
  }

  // Counts, metrics, status, events.
  const size_t attempted = plan.Count(TargetActionKind::kCreate) +
                           plan.Count(TargetActionKind::kUpdate);
  size_t write_failures = 0;
  for (size_t i = 0; i < writes.size(); ++i) {
    if (!outcomes[i].status.ok() && writes[i]->kind != TargetActionKind::kDelete) ++write_failures;
  }
  StatusFacts facts;
  facts.generation = generation;
  facts.issues = build.issues;
  facts.empty_bundle = build.issues.empty() && build.pem.empty();
  facts.pem = publish.pem;
  facts.last_good = publish.last_good;
  if (!publish.pem.empty()) {
    facts.certificates = info.certificates.size();
    facts.fingerprint = info.fingerprint;
    facts.earliest_not_after = info.earliest_not_after;
  }
  facts.synced = plan.in_sync + written;
  facts.failed = plan.foreign + write_failures;
  facts.outdated = plan.outdated - std::min(plan.outdated, attempted);
  facts.foreign = foreign;
  facts.write_errors = write_errors;
  facts.gaps = gaps;
  facts.verified = verified;

  metrics_.SetCertificates(ref.name, static_cast<double>(facts.certificates));
  metrics_.SetTargets(ref.name, static_cast<double>(facts.synced),
                      static_cast<double>(facts.outdated), static_cast<double>(facts.failed));
  std::set<std::string> reasons;
  for (const SourceIssue& i : build.issues) reasons.insert(SourceErrorReasonName(i.reason));
  if (facts.empty_bundle) reasons.insert("EmptyBundle");
  for (const std::string& r : reasons) metrics_.AddSourceError(ref.name, r);
  metrics_.SetGaps(ref.name, gap_metric);

  const std::string old_fingerprint = Str(old_status, "fingerprint");
  Status status_write = write_status(facts);

  json status_now = ComputeStatus(facts, old_status, now);
  auto message_of = [&](const char* type) {
    const json* c = FindCondition(status_now, type);
    return c ? Str(*c, "message") : std::string();
  };
  if (!reasons.empty()) {
    events_.Record(oref, kube::EventSeverity::kWarning,
                   facts.empty_bundle ? "EmptyBundle" : "SourceError", message_of("SourceError"));
  }
  if (!publish.pem.empty() && !publish.last_good && facts.fingerprint != old_fingerprint) {
    events_.Record(oref, kube::EventSeverity::kNormal, "BundleUpdated",
                   "bundle " + facts.fingerprint + " with " + std::to_string(facts.certificates) +
                       " certificates, written to " + std::to_string(written) + " targets");
  }
  if (!foreign.empty()) {
    events_.Record(oref, kube::EventSeverity::kWarning, "TargetConflict", message_of("Synced"));
  }
  if (!gaps.empty()) {
    events_.Record(oref, kube::EventSeverity::kWarning, "TrustGap", message_of("TrustGap"));
  }

  if (!publish.pem.empty()) {
    std::lock_guard lock(mu_);
    last_good_[ref.name] = publish.pem;
  }

  if (!first_error.ok()) return kube::ReconcileResult::Retry(first_error.Annotate("writing targets"));
  if (!status_write.ok()) return kube::ReconcileResult::Retry(status_write.Annotate("writing status"));
  std::optional<kube::Duration> again;
  if (has_secret) again = options_.secret_poll;
  // Writes taken on trust are checked again once the cache must show them.
  if (trusting_writes && (!again || options_.inflight_ttl < *again)) again = options_.inflight_ttl;
  if (spec.drop_expired && info.earliest_not_after) {
    auto until = std::chrono::duration_cast<kube::Duration>(*info.earliest_not_after - now) +
                 std::chrono::seconds(1);
    if (until > kube::Duration::zero() && (!again || until < *again)) again = until;
  }
  if (again) return kube::ReconcileResult::RequeueAfter(*again);
  return kube::ReconcileResult::Done();
}

}  // namespace certguard::trust
