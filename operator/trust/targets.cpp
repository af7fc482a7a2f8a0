#include "trust/targets.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <utility>

#include "common/json_fields.h"
#include "common/log.h"
#include "kube/resource.h"
#include "trust/build.h"
#include "trust/formats.h"
#include "x509/pem.h"

namespace certguard::trust {
namespace {

using namespace common;  // the JSON field readers
using nlohmann::json;
namespace resources = kube::resources;

std::string KeyOf(const std::string& ns, const std::string& name) { return ns + "/" + name; }

const kube::Resource& ResourceOf(bool secret) {
  return secret ? resources::kSecrets : resources::kConfigMaps;
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
  const auto annotations = DesiredAnnotations(d);
  if (!annotations.empty()) meta["annotations"] = annotations;
  if (d.secret) {
    json data = {{d.target.key, x509::pem::Base64(d.pem)}};
    for (const ExtraKey& e : d.extra) data[e.key] = x509::pem::Base64(e.bytes);
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", meta},
            {"type", "Opaque"},
            {"data", data}};
  }
  json out = {{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", meta},
              {"data", {{d.target.key, d.pem}}}};
  for (const ExtraKey& e : d.extra) out["binaryData"][e.key] = x509::pem::Base64(e.bytes);
  return out;
}

// What a write of `d` puts in a target's data, as the cache shows it.
std::map<std::string, std::string> WrittenData(const DesiredTarget& d) {
  std::map<std::string, std::string> data = {
      {d.target.key, d.pem_digest.empty() ? DigestMarker(d.pem) : d.pem_digest}};
  for (const ExtraKey& e : d.extra) data[e.key] = DigestMarker(e.bytes);
  return data;
}

bool IsWrite(TargetActionKind k) {
  return k == TargetActionKind::kCreate || k == TargetActionKind::kUpdate ||
         k == TargetActionKind::kDelete;
}

}  // namespace

Result<std::vector<ExtraKey>> FormatKeys(const TrustBundleSpec& spec,
                                         const std::vector<x509::CertificateInfo>& certs,
                                         const std::string& pem) {
  std::vector<ExtraKey> extra;
  if (!spec.jks.key.empty()) {
    // Each entry created at its certificate's notBefore: the same bundle, the same bytes.
    auto jks = EncodeJks(certs, spec.jks.password);
    if (!jks.ok()) return jks.status().Annotate("encoding JKS");
    extra.push_back({spec.jks.key, std::move(*jks), ""});
  }
  if (!spec.pkcs12.key.empty()) {
    auto p12 = EncodePkcs12Truststore(certs, spec.pkcs12.password);
    if (!p12.ok()) return p12.status().Annotate("encoding PKCS#12");
    // The file's MAC already lets its readers test passwords offline: a
    // fingerprint over the public bundle and the password reveals no more.
    std::string input = pem;
    input += '\0';
    input += spec.pkcs12.password;
    extra.push_back({spec.pkcs12.key, std::move(*p12), BundleFingerprint(input)});
  }
  return extra;
}

ConfigMapFacts FactsOf(const json& cm, bool secret) {
  ConfigMapFacts f;
  f.secret = secret;
  if (secret) f.type = Str(cm, "type");
  const json& meta = Field(cm, "metadata");
  f.ns = Str(meta, "namespace");
  f.name = Str(meta, "name");
  f.labels = StrMap(Field(meta, "labels"));
  f.annotations = StrMap(Field(meta, "annotations"));
  f.data = StrMap(Field(cm, "data"));
  // A ConfigMap's binaryData keys are distinct from its data keys (the API
  // server refuses a key in both). The cache holds digest markers; a live
  // object holds base64.
  for (auto& [k, v] : StrMap(Field(cm, "binaryData"))) {
    if (IsDigestMarker(v)) {
      f.data[k] = v;
    } else {
      auto decoded = x509::pem::DecodeBody(v);
      f.data[k] = decoded.ok() ? *decoded : DigestMarker("\x01undecodable");
    }
  }
  f.deleting = !Field(meta, "deletionTimestamp").is_null();
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

std::vector<ConfigMapFacts> ExistingTargets(const DesiredTarget& desired,
                                            const std::vector<std::string>& selected,
                                            const TrustView& view) {
  std::vector<ConfigMapFacts> existing;
  if (desired.secret) {
    view.ForEachSecretTargetOf(desired.bundle.name, [&](const nlohmann::json& t) {
      existing.push_back(FactsOf(t, true));
    });
    for (const std::string& ns : selected) {
      if (ObjectPtr s = view.Secret(ns, desired.target.name)) existing.push_back(FactsOf(*s, true));
    }
    return existing;
  }
  view.ForEachTargetOf(desired.bundle.name,
                       [&](const nlohmann::json& t) { existing.push_back(FactsOf(t)); });
  for (const std::string& ns : selected) {
    if (ObjectPtr cm = view.ConfigMap(ns, desired.target.name)) existing.push_back(FactsOf(*cm));
  }
  return existing;
}

TargetWriter::TargetWriter(kube::Client& client, const common::Clock& clock, Options options)
    : client_(client), clock_(clock), options_(options) {}

bool TargetWriter::TrustInflight(const DesiredTarget& desired,
                                 std::vector<ConfigMapFacts>& existing) {
  const TargetSpec& target = desired.target;
  const auto steady_now = clock_.Steady();
  const std::string identity = WriteIdentity(desired);
  bool trusting = false;
  std::lock_guard lock(mu_);
  auto& mine = inflight_[desired.bundle.name];
  for (auto it = mine.begin(); it != mine.end();) {
    const Inflight& w = it->second;
    auto facts = std::find_if(existing.begin(), existing.end(), [&](const ConfigMapFacts& f) {
      return KeyOf(f.ns, f.name) == it->first;
    });
    bool keep = steady_now - w.when < options_.inflight_ttl && w.identity == identity;
    if (keep && facts != existing.end()) {
      if (facts->resource_version == w.before_rv) {
        // The cache is behind: trust the write.
        for (const auto& [k, v] : w.data) facts->data[k] = v;
        for (const auto& [k, v] : DesiredLabels(desired)) facts->labels[k] = v;
        for (const auto& [k, v] : w.annotations) facts->annotations[k] = v;
        facts->owners = {DesiredOwner(desired.bundle)};
      } else {
        keep = false;  // the cache shows our write, or a later change
      }
    } else if (keep && w.before_rv.empty()) {
      ConfigMapFacts f;  // created, not yet in the cache
      f.secret = desired.secret;
      if (desired.secret) f.type = "Opaque";
      f.ns = it->first.substr(0, it->first.find('/'));
      f.name = target.name;
      f.labels = DesiredLabels(desired);
      f.annotations = w.annotations;
      f.data = w.data;
      f.owners = {DesiredOwner(desired.bundle)};
      f.managers = {kFieldManager};
      f.managers_known = true;
      existing.push_back(std::move(f));
    } else {
      keep = false;
    }
    trusting = trusting || keep;
    it = keep ? std::next(it) : mine.erase(it);
  }
  return trusting;
}

namespace {

// Runs `each(i)` for every i below `count`, on up to `concurrency` threads (this one included).
void ForEachConcurrently(size_t count, int concurrency, const std::function<void(size_t)>& each) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < count;) each(i);
  };
  const size_t n = std::min<size_t>(std::max(1, concurrency), count);
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
}

// Counts the writes' outcomes into `out`, and logs the failures once.
void TallyOutcomes(const std::string& bundle, const std::vector<const TargetAction*>& writes,
                   const std::vector<Status>& outcomes, TargetWrites& out) {
  for (size_t i = 0; i < writes.size(); ++i) {
    const TargetAction& a = *writes[i];
    const bool is_delete = a.kind == TargetActionKind::kDelete;
    if (outcomes[i].ok()) {
      if (!is_delete) ++out.written;
      continue;
    }
    out.write_errors.push_back(
        {a.ns, a.name, std::string(TargetActionName(a.kind)) + ": " + outcomes[i].ToString()});
    if (out.first_error.ok()) out.first_error = outcomes[i];
    if (!is_delete) ++out.write_failures;
  }
  if (!out.write_errors.empty()) {
    const TargetProblem& first = out.write_errors[0];
    log::Warn("trust: target writes failed",
              {{"bundle", bundle},
               {"failed", std::to_string(out.write_errors.size())},
               {"first", first.ns + "/" + first.name + ": " + first.message}});
  }
}

}  // namespace

struct TargetWriter::Batch {
  const DesiredTarget& desired;
  json object;  // TargetObject(desired), when there is anything to create or update
  std::map<std::string, std::string> rv_of;     // ns/name -> resource version seen
  std::map<std::string, StaleFields> stale_of;  // ns/name -> keys of removed formats
  std::string identity;
  std::map<std::string, std::string> data;
  std::map<std::string, std::string> annotations;

  std::string Rv(const std::string& key) const {
    auto it = rv_of.find(key);
    return it == rv_of.end() ? std::string() : it->second;
  }
};

Result<json> TargetWriter::Update(const Batch& batch, const TargetAction& a) {
  const DesiredTarget& desired = batch.desired;
  const std::string k = KeyOf(a.ns, a.name);
  // Only the version whose managers were checked: Conflict when another
  // writer came in between, and the next reconcile looks again.
  json object = batch.object;
  if (std::string before = batch.Rv(k); !before.empty()) {
    object["metadata"]["resourceVersion"] = before;
  }
  Result<json> r = kube::Apply(client_, ResourceOf(desired.secret), a.ns, object, kFieldManager,
                               /*force=*/true);
  auto stale = batch.stale_of.find(k);
  if (!r.ok() || stale == batch.stale_of.end()) return r;
  // A removed format: its key and annotations go with a merge patch, on
  // the version just applied.
  json patch = {{"metadata", {{"resourceVersion", Str(Field(*r, "metadata"), "resourceVersion")}}}};
  for (const std::string& key : stale->second.keys) {
    patch[desired.secret ? "data" : "binaryData"][key] = nullptr;
  }
  for (const std::string& name : stale->second.annotations) {
    patch["metadata"]["annotations"][name] = nullptr;
  }
  return client_.Patch(ResourceOf(desired.secret), a.ns, a.name, kube::PatchType::kMerge,
                       patch.dump());
}

Status TargetWriter::WriteOne(const Batch& batch, const TargetAction& a) {
  const DesiredTarget& desired = batch.desired;
  const std::string k = KeyOf(a.ns, a.name);
  if (a.kind == TargetActionKind::kDelete) {
    kube::DeleteOptions opts;
    opts.precondition_resource_version = batch.Rv(k);
    Status s = client_.Delete(ResourceOf(desired.secret), a.ns, a.name, opts);
    return s.code() == Code::kNotFound ? Status::Ok() : s;
  }
  // A create never replaces: AlreadyExists when someone else was first.
  Result<json> r = a.kind == TargetActionKind::kCreate
                       ? client_.Create(ResourceOf(desired.secret), a.ns, batch.object)
                       : Update(batch, a);
  if (r.ok()) {
    std::lock_guard lock(mu_);
    inflight_[desired.bundle.name][k] = {a.kind == TargetActionKind::kCreate ? "" : batch.Rv(k),
                                         Str(Field(*r, "metadata"), "resourceVersion"),
                                         batch.identity,
                                         batch.data,
                                         batch.annotations,
                                         clock_.Steady()};
  }
  return r.status();
}

TargetWrites TargetWriter::Write(const DesiredTarget& desired,
                                 const std::vector<std::string>& selected,
                                 std::vector<ConfigMapFacts> existing) {
  TargetWrites out;
  out.trusting_writes = TrustInflight(desired, existing);
  out.plan = PlanTargets(desired, selected, existing);

  std::vector<const TargetAction*> writes;
  for (const TargetAction& a : out.plan.actions) {
    if (IsWrite(a.kind)) writes.push_back(&a);
  }
  Batch batch{desired,
              writes.empty() ? json() : TargetObject(desired),
              {},
              {},
              WriteIdentity(desired),
              WrittenData(desired),
              DesiredAnnotations(desired)};
  for (const ConfigMapFacts& f : existing) {
    batch.rv_of.emplace(KeyOf(f.ns, f.name), f.resource_version);
    if (StaleFields stale = StaleFieldsOf(f, desired); !stale.empty()) {
      batch.stale_of.emplace(KeyOf(f.ns, f.name), std::move(stale));
    }
  }
  // A few at a time (the client's QPS still rules).
  std::vector<Status> outcomes(writes.size());
  ForEachConcurrently(writes.size(), options_.write_concurrency,
                      [&](size_t i) { outcomes[i] = WriteOne(batch, *writes[i]); });
  TallyOutcomes(desired.bundle.name, writes, outcomes, out);
  return out;
}

void TargetWriter::Observe(const std::string& ns, const std::string& name, const std::string& rv,
                           bool deleted) {
  const std::string key = KeyOf(ns, name);
  std::lock_guard lock(mu_);
  for (auto& [bundle, writes] : inflight_) {
    auto it = writes.find(key);
    if (it != writes.end() && (deleted || it->second.after_rv == rv)) writes.erase(it);
  }
}

void TargetWriter::Forget(const std::string& bundle) {
  std::lock_guard lock(mu_);
  inflight_.erase(bundle);
}

std::vector<TargetProblem> NameForeign(const TargetPlan& plan, const BundleRef& bundle,
                                       kube::Client& client, bool secret) {
  std::vector<TargetProblem> foreign;
  for (const TargetAction& a : plan.actions) {
    if (a.kind != TargetActionKind::kSkipForeign) continue;
    std::string reason = a.reason;
    if (foreign.size() < 5) {
      auto live = client.Get(ResourceOf(secret), a.ns, a.name);
      if (live.ok()) {
        std::string r = ForeignReason(FactsOf(*live, secret), bundle);
        if (!r.empty()) reason = r;
      }
    }
    foreign.push_back({a.ns, secret ? "Secret " + a.name : a.name, reason});
  }
  return foreign;
}

TargetWrites MergeWrites(TargetWrites configmaps, TargetWrites secrets) {
  TargetWrites out = std::move(configmaps);
  for (TargetAction& a : secrets.plan.actions) out.plan.actions.push_back(std::move(a));
  out.plan.in_sync += secrets.plan.in_sync;
  out.plan.outdated += secrets.plan.outdated;
  out.plan.foreign += secrets.plan.foreign;
  out.written += secrets.written;
  out.write_failures += secrets.write_failures;
  for (TargetProblem& p : secrets.write_errors) {
    p.name = "Secret " + p.name;
    out.write_errors.push_back(std::move(p));
  }
  if (out.first_error.ok()) out.first_error = secrets.first_error;
  out.trusting_writes = out.trusting_writes || secrets.trusting_writes;
  return out;
}

}  // namespace certguard::trust
