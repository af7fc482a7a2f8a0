#include "trust/sources.h"

#include <algorithm>
#include <set>

#include "common/json_fields.h"
#include "kube/resource.h"
#include "trust/gap.h"
#include "x509/pem.h"

namespace certguard::trust {
namespace {

using namespace common;  // the JSON field readers
using nlohmann::json;

bool Terminating(const json& ns) {
  return !Field(Field(ns, "metadata"), "deletionTimestamp").is_null() ||
         Str(Field(ns, "status"), "phase") == "Terminating";
}

}  // namespace

json CompactNamespace(const json& ns) {
  const json& meta = Field(ns, "metadata");
  json m = json::object();
  for (const char* k : {"name", "uid", "resourceVersion", "labels", "deletionTimestamp"}) {
    const json& v = Field(meta, k);
    if (!v.is_null()) m[k] = v;
  }
  json out = {{"metadata", std::move(m)}};
  const json& phase = Field(Field(ns, "status"), "phase");
  if (!phase.is_null()) out["status"] = {{"phase", phase}};
  return out;
}

namespace {

void ReadConfigMap(const SourceSpec& s, const TrustView& view, SourceContent& c) {
  Result<ObjectPtr> read = view.ConfigMapData(s.ns, s.name);
  if (!read.ok()) {
    c.read_status = read.status();
    return;
  }
  if (!*read) {
    c.read_status = NotFound("configmap " + s.ns + "/" + s.name + " not found");
    return;
  }
  auto data = StrMap(Field(**read, "data"));
  if (s.key.empty()) {
    c.entries.assign(data.begin(), data.end());
  } else if (data.count(s.key)) {
    c.entries.push_back({s.key, data[s.key]});
  } else {
    c.read_status = NotFound("configmap " + s.ns + "/" + s.name + " has no key " + s.key);
  }
}

void ReadSecret(const SourceSpec& s, kube::Client& client, SourceContent& c) {
  auto secret = client.Get(kube::resources::kSecrets, s.ns, s.name);
  if (!secret.ok()) {
    c.read_status = secret.status();
    return;
  }
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

}  // namespace

std::vector<std::string> SelectNamespaces(const TrustBundleSpec& spec,
                                          const std::optional<common::LabelSelector>& selector,
                                          const TrustView& view) {
  std::vector<std::string> selected;
  std::set<std::string> by_name(spec.namespaces.begin(), spec.namespaces.end());
  view.ForEachNamespace([&](const json& ns) {
    const json& meta = Field(ns, "metadata");
    std::string name = Str(meta, "name");
    if (name.empty() || Terminating(ns)) return;
    if (by_name.count(name) || (selector && selector->Matches(StrMap(Field(meta, "labels"))))) {
      selected.push_back(std::move(name));
    }
  });
  std::sort(selected.begin(), selected.end());
  return selected;
}

GatheredSources GatherSources(const TrustBundleSpec& spec, const TrustView& view,
                              kube::Client& client) {
  GatheredSources out;
  for (size_t i = 0; i < spec.sources.size(); ++i) {
    const SourceSpec& s = spec.sources[i];
    SourceContent c;
    c.id = s.Describe(i);
    if (s.kind == SourceKind::kInline) {
      c.entries.push_back({"", s.pem});
    } else if (s.kind == SourceKind::kConfigMap) {
      ReadConfigMap(s, view, c);
    } else {
      out.has_secret = true;
      ReadSecret(s, client, c);
    }
    out.contents.push_back(std::move(c));
  }
  return out;
}

ConsumerReport CheckConsumers(const TrustBundleSpec& spec,
                              const std::vector<std::string>& selected,
                              const std::vector<x509::CertificateInfo>& certificates,
                              const TrustView& view, x509::Time now) {
  ConsumerReport out;
  for (const ConsumerRef& c : ExpandVerify(spec.verify, selected)) {
    std::optional<std::string> text;
    Result<ObjectPtr> cm = view.ConfigMapData(c.ns, c.name);
    if (cm.ok() && *cm) {
      const json& v = Field(Field(**cm, "data"), c.key.c_str());
      if (v.is_string()) text = v.get<std::string>();
    }
    GapCheck check = CheckConsumer(certificates, text, now);
    out.gap_metric[{c.ns, c.name}] = out.gap_metric[{c.ns, c.name}] || check.gap();
    if (check.gap()) out.gaps.push_back({c.ns, c.name, check.Describe()});
    ++out.verified;
  }
  return out;
}

}  // namespace certguard::trust
