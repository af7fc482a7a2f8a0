#include "trust/spec.h"

#include <cctype>
#include <set>
#include <string_view>
#include <utility>

#include "common/names.h"

namespace certguard::trust {
namespace {

using common::IsDnsLabel;
using common::IsDnsSubdomain;
using nlohmann::json;

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// Collects problems with their JSON path so every one is reported at once.
class Checker {
 public:
  void Add(const std::string& path, const std::string& problem) {
    errors_.push_back(path + ": " + problem);
  }
  const std::vector<std::string>& errors() const { return errors_; }

  // A string field: absent gives `fallback`; a non-string is an error.
  std::string String(const json& obj, const char* field, const std::string& path,
                     bool required, const std::string& fallback = "") {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) {
      if (required) Add(path + "." + field, "required");
      return fallback;
    }
    if (!it->is_string()) {
      Add(path + "." + field, "must be a string");
      return fallback;
    }
    return it->get<std::string>();
  }

  bool Bool(const json& obj, const char* field, const std::string& path) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return false;
    if (!it->is_boolean()) {
      Add(path + "." + field, "must be a boolean");
      return false;
    }
    return it->get<bool>();
  }

  std::map<std::string, std::string> StringMap(const json& obj, const char* field,
                                               const std::string& path) {
    std::map<std::string, std::string> out;
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return out;
    if (!it->is_object()) {
      Add(path + "." + field, "must be a map of strings");
      return out;
    }
    for (auto kv = it->begin(); kv != it->end(); ++kv) {
      if (!kv.value().is_string()) {
        Add(path + "." + field + "." + kv.key(), "must be a string");
        continue;
      }
      out[kv.key()] = kv.value().get<std::string>();
    }
    return out;
  }

 private:
  std::vector<std::string> errors_;
};

void CheckKey(Checker& c, const std::string& path, const std::string& key) {
  if (!IsConfigMapKey(key)) c.Add(path, "\"" + key + "\" is not a valid ConfigMap key");
}

SourceSpec ParseSource(Checker& c, const json& item, const std::string& path) {
  SourceSpec s;
  if (!item.is_object()) {
    c.Add(path, "must be an object");
    return s;
  }
  int kinds = 0;
  for (const char* k : {"configMap", "secret", "inline"}) {
    auto it = item.find(k);
    if (it != item.end() && !it->is_null()) ++kinds;
  }
  if (kinds != 1) {
    c.Add(path, "exactly one of configMap, secret, inline");
    return s;
  }
  if (item.contains("inline") && !item["inline"].is_null()) {
    s.kind = SourceKind::kInline;
    s.pem = c.String(item, "inline", path, true);
    if (item["inline"].is_string() && s.pem.empty()) c.Add(path + ".inline", "must not be empty");
    return s;
  }
  const bool is_cm = item.contains("configMap") && !item["configMap"].is_null();
  s.kind = is_cm ? SourceKind::kConfigMap : SourceKind::kSecret;
  const std::string field = is_cm ? "configMap" : "secret";
  const json& ref = item[field];
  const std::string p = path + "." + field;
  if (!ref.is_object()) {
    c.Add(p, "must be an object");
    return s;
  }
  s.ns = c.String(ref, "namespace", p, true);
  s.name = c.String(ref, "name", p, true);
  // A secret holds private keys beside certificates: its key must be named.
  s.key = c.String(ref, "key", p, /*required=*/!is_cm);
  if (!s.ns.empty() && !IsDnsLabel(s.ns)) c.Add(p + ".namespace", "not a valid namespace name");
  if (!s.name.empty() && !IsDnsSubdomain(s.name)) c.Add(p + ".name", "not a valid object name");
  if (!s.key.empty()) CheckKey(c, p + ".key", s.key);
  return s;
}

// A target.configMap or target.secret: {name, key, labels, annotations}.
TargetSpec ParseTarget(Checker& c, const json& obj, const std::string& p, const char* kind) {
  TargetSpec t;
  if (!obj.is_object()) {
    c.Add(p, "must be an object");
    return t;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (k != "name" && k != "key" && k != "labels" && k != "annotations") {
      c.Add(p + "." + k, "unknown field (name, key, labels, annotations)");
    }
  }
  t.name = c.String(obj, "name", p, true);
  t.key = c.String(obj, "key", p, false, kDefaultKey);
  t.labels = c.StringMap(obj, "labels", p);
  t.annotations = c.StringMap(obj, "annotations", p);
  if (!t.name.empty() && !IsDnsSubdomain(t.name)) {
    c.Add(p + ".name", std::string("not a valid ") + kind + " name");
  }
  CheckKey(c, p + ".key", t.key);
  if (t.labels.count(kBundleLabel)) {
    c.Add(p + ".labels", std::string(kBundleLabel) + " is set by certguard");
  }
  for (const char* own : {kPkcs12Annotation, kFormatKeysAnnotation}) {
    if (t.annotations.count(own)) {
      c.Add(p + ".annotations", std::string(own) + " is set by certguard");
    }
  }
  return t;
}

// passwordSecretRef: {namespace, name, key}, all required.
SecretKeyRef ParseSecretKeyRef(Checker& c, const json& obj, const std::string& p) {
  SecretKeyRef r;
  if (!obj.is_object()) {
    c.Add(p, "must be an object");
    return r;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() != "namespace" && it.key() != "name" && it.key() != "key") {
      c.Add(p + "." + it.key(), "unknown field (namespace, name, key)");
    }
  }
  r.ns = c.String(obj, "namespace", p, true);
  r.name = c.String(obj, "name", p, true);
  r.key = c.String(obj, "key", p, true);
  if (!r.ns.empty() && !IsDnsLabel(r.ns)) c.Add(p + ".namespace", "not a valid namespace name");
  if (!r.name.empty() && !IsDnsSubdomain(r.name)) c.Add(p + ".name", "not a valid Secret name");
  if (!r.key.empty() && !IsConfigMapKey(r.key)) {
    c.Add(p + ".key", "\"" + r.key + "\" is not a valid Secret key");
  }
  return r;
}

// target.additionalFormats.jks or .pkcs12: {key, password | passwordSecretRef}.
FormatSpec ParseFormat(Checker& c, const json& obj, const std::string& p, bool pkcs12) {
  FormatSpec f;
  if (!obj.is_object()) {
    c.Add(p, "must be an object");
    return f;
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() != "key" && it.key() != "password" && it.key() != "passwordSecretRef") {
      c.Add(p + "." + it.key(), "unknown field (key, password, passwordSecretRef)");
    }
  }
  f.key = c.String(obj, "key", p, true);
  if (!f.key.empty()) CheckKey(c, p + ".key", f.key);
  auto ref = obj.find("passwordSecretRef");
  const bool has_ref = ref != obj.end() && !ref->is_null();
  auto inline_password = obj.find("password");
  if (has_ref && inline_password != obj.end() && !inline_password->is_null()) {
    // Which one would be meant is a guess: refuse rather than pick.
    c.Add(p, "password and passwordSecretRef are mutually exclusive");
    return f;
  }
  if (has_ref) {
    f.password_ref = ParseSecretKeyRef(c, *ref, p + ".passwordSecretRef");
    return f;
  }
  f.password = c.String(obj, "password", p, false, pkcs12 ? "" : kDefaultJksPassword);
  if (std::string problem = PasswordProblem(f.password, pkcs12); !problem.empty()) {
    c.Add(p + ".password", problem);
  }
  return f;
}

}  // namespace

std::string SourceSpec::Describe(size_t index) const {
  switch (kind) {
    case SourceKind::kConfigMap:
      return "configMap " + ns + "/" + name + (key.empty() ? "" : "[" + key + "]");
    case SourceKind::kSecret:
      return "secret " + ns + "/" + name + "[" + key + "]";
    case SourceKind::kInline:
      return "inline[" + std::to_string(index) + "]";
  }
  return "source[" + std::to_string(index) + "]";
}

std::string PasswordProblem(std::string_view password, bool pkcs12) {
  if (pkcs12) {
    // Java's PKCS#12 reader refuses any other; tools encode the rest differently.
    for (char ch : password) {
      if (ch < 0x20 || ch > 0x7e) return "must be printable ASCII";
    }
  } else if (password.find('\0') != std::string_view::npos) {
    return "must not contain NUL";
  }
  return "";
}

bool IsConfigMapKey(const std::string& s) {
  if (s.empty() || s.size() > 253 || s == "." || s == "..") return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

namespace {

// target.additionalFormats: jks and pkcs12, each under a key of its own.
void ParseFormats(Checker& c, const json& formats, bool has_cm, bool has_secret,
                  TrustBundleSpec& out) {
  const std::string fp = "spec.target.additionalFormats";
  if (!formats.is_object()) {
    c.Add(fp, "must be an object");
    return;
  }
  for (auto it = formats.begin(); it != formats.end(); ++it) {
    if (it.key() != "jks" && it.key() != "pkcs12") {
      c.Add(fp + "." + it.key(), "unknown field (jks, pkcs12)");
    }
  }
  if (formats.contains("jks") && !formats["jks"].is_null()) {
    out.jks = ParseFormat(c, formats["jks"], fp + ".jks", false);
  }
  if (formats.contains("pkcs12") && !formats["pkcs12"].is_null()) {
    out.pkcs12 = ParseFormat(c, formats["pkcs12"], fp + ".pkcs12", true);
  }
  // One key, one value: a format may not overwrite the PEM or the other format.
  for (const auto& [f, name] : {std::pair{&out.jks, "jks"}, std::pair{&out.pkcs12, "pkcs12"}}) {
    if (f->key.empty()) continue;
    if ((has_cm && f->key == out.target.key) || (has_secret && f->key == out.secret_target.key)) {
      c.Add(fp + "." + name + ".key", "must differ from the target's PEM key");
    }
  }
  if (!out.jks.key.empty() && out.jks.key == out.pkcs12.key) {
    c.Add(fp + ".pkcs12.key", "must differ from jks.key");
  }
}

// Targets: a ConfigMap, a Secret, or both, spelled alike; and their formats.
void ParseTargets(Checker& c, const json& spec, TrustBundleSpec& out) {
  auto target = spec.find("target");
  if (target == spec.end() || target->is_null()) {
    c.Add("spec.target", "configMap or secret is required");
    return;
  }
  if (!target->is_object()) {
    c.Add("spec.target", "must be an object");
    return;
  }
  for (auto it = target->begin(); it != target->end(); ++it) {
    if (it.key() != "configMap" && it.key() != "secret" && it.key() != "additionalFormats") {
      c.Add("spec.target." + it.key(), "unknown field (configMap, secret, additionalFormats)");
    }
  }
  const bool has_cm = target->contains("configMap") && !(*target)["configMap"].is_null();
  const bool has_secret = target->contains("secret") && !(*target)["secret"].is_null();
  if (!has_cm && !has_secret) c.Add("spec.target", "configMap or secret is required");
  if (has_cm) {
    out.target = ParseTarget(c, (*target)["configMap"], "spec.target.configMap", "ConfigMap");
  }
  if (has_secret) {
    out.secret_target = ParseTarget(c, (*target)["secret"], "spec.target.secret", "Secret");
  }
  auto formats = target->find("additionalFormats");
  if (formats != target->end() && !formats->is_null()) {
    ParseFormats(c, *formats, has_cm, has_secret, out);
  }
}

// Namespaces: a selector, a list of names, or both (union).
void ParseNamespaces(Checker& c, const json& spec, TrustBundleSpec& out) {
  auto sel = spec.find("namespaceSelector");
  if (sel != spec.end() && !sel->is_null()) {
    if (!sel->is_object()) {
      c.Add("spec.namespaceSelector", "must be a label selector object");
    } else {
      out.namespace_selector = *sel;
    }
  }
  auto names = spec.find("namespaces");
  if (names != spec.end() && !names->is_null()) {
    if (!names->is_array()) {
      c.Add("spec.namespaces", "must be a list of names");
    } else {
      std::set<std::string> seen;
      for (size_t i = 0; i < names->size(); ++i) {
        const json& n = (*names)[i];
        const std::string p = "spec.namespaces[" + std::to_string(i) + "]";
        if (!n.is_string() || !IsDnsLabel(n.get<std::string>())) {
          c.Add(p, "not a valid namespace name");
        } else if (seen.insert(n.get<std::string>()).second) {
          out.namespaces.push_back(n.get<std::string>());
        }
      }
    }
  }
  if (!out.namespace_selector && out.namespaces.empty()) {
    c.Add("spec", "namespaceSelector or namespaces is required");
  }
}

// Consumers to verify.
void ParseVerify(Checker& c, const json& spec, TrustBundleSpec& out) {
  auto verify = spec.find("verify");
  if (verify == spec.end() || verify->is_null()) return;
  if (!verify->is_array()) {
    c.Add("spec.verify", "must be a list");
    return;
  }
  for (size_t i = 0; i < verify->size(); ++i) {
    const json& v = (*verify)[i];
    const std::string p = "spec.verify[" + std::to_string(i) + "]";
    if (!v.is_object()) {
      c.Add(p, "must be an object");
      continue;
    }
    VerifySpec vs;
    vs.ns = c.String(v, "namespace", p, false);
    vs.name = c.String(v, "name", p, true);
    vs.key = c.String(v, "key", p, false, kDefaultKey);
    if (!vs.ns.empty() && !IsDnsLabel(vs.ns)) c.Add(p + ".namespace", "not a valid namespace name");
    if (!vs.name.empty() && !IsDnsSubdomain(vs.name)) c.Add(p + ".name", "not a valid name");
    CheckKey(c, p + ".key", vs.key);
    out.verify.push_back(std::move(vs));
  }
}

}  // namespace

Result<TrustBundleSpec> ParseSpec(const json& spec) {
  Checker c;
  TrustBundleSpec out;
  if (!spec.is_object()) return InvalidArgument("spec: must be an object");
  auto sources = spec.find("sources");
  if (sources == spec.end() || !sources->is_array() || sources->empty()) {
    c.Add("spec.sources", "at least one source is required");
  } else {
    for (size_t i = 0; i < sources->size(); ++i) {
      out.sources.push_back(ParseSource(c, (*sources)[i], "spec.sources[" + std::to_string(i) + "]"));
    }
  }
  ParseTargets(c, spec, out);
  ParseNamespaces(c, spec, out);
  out.drop_expired = c.Bool(spec, "dropExpired", "spec");
  out.ca_only = c.Bool(spec, "caOnly", "spec");
  ParseVerify(c, spec, out);
  if (!c.errors().empty()) return InvalidArgument(Join(c.errors(), "; "));
  return out;
}

}  // namespace certguard::trust
