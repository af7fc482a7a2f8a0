#include "expiry/filter.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/json_fields.h"

namespace certguard::expiry {

namespace {

// A namespace name (DNS label) in which "*" may stand for any run of characters.
bool IsNamespacePattern(std::string_view p) {
  if (p.empty() || p.size() > 63) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '*';
  });
}

// "*" matches any run of characters, every other character itself.
bool GlobMatch(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool AnyMatch(const std::vector<std::string>& patterns, std::string_view ns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return GlobMatch(p, ns); });
}

}  // namespace

Result<CsrSigners> ParseCsrSigners(std::string_view text, std::string_view flag_prefix) {
  if (text == "kubelet") return CsrSigners::kKubelet;
  if (text == "all") return CsrSigners::kAll;
  return InvalidArgument(std::string(flag_prefix) + "csr-signers: \"" + std::string(text) +
                         "\" is neither kubelet nor all");
}

std::string SecretLabelName(std::string_view key) {
  std::string out = "secret_label_";
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

bool NamespaceFiltered(SourceKind kind) {
  return kind == SourceKind::kSecret || kind == SourceKind::kConfigMap;
}

Result<ExpiryFilter> ExpiryFilter::Make(const ExpiryFilterOptions& o,
                                        std::string_view flag_prefix) {
  const std::string prefix(flag_prefix);
  ExpiryFilter f;
  for (const auto& [flag, list, out] :
       {std::tuple{"include-namespaces", &o.include_namespaces, &f.include_},
        std::tuple{"exclude-namespaces", &o.exclude_namespaces, &f.exclude_}}) {
    for (const std::string& p : *list) {
      if (!IsNamespacePattern(p)) {
        return InvalidArgument(prefix + flag + ": \"" + p +
                               "\" is not a namespace name (a-z, 0-9, -, and * for any run)");
      }
      out->push_back(p);
    }
  }
  for (const auto& [flag, text, out] :
       {std::tuple{"include-namespace-selector", &o.include_namespace_selector,
                   &f.include_selector_},
        std::tuple{"exclude-namespace-selector", &o.exclude_namespace_selector,
                   &f.exclude_selector_}}) {
    auto s = common::LabelSelector::Parse(*text);
    if (!s.ok()) return InvalidArgument(prefix + flag + ": " + s.status().message());
    *out = std::move(*s);
  }
  if (o.secret_label_keys.size() > kMaxSecretLabelKeys) {
    return InvalidArgument(
        prefix + "secret-label-keys: " + std::to_string(o.secret_label_keys.size()) +
        " keys, at most " + std::to_string(kMaxSecretLabelKeys) +
        " (each is a label on every certificate series)");
  }
  std::set<std::string> names;
  for (const std::string& key : o.secret_label_keys) {
    if (!common::IsLabelKey(key)) {
      return InvalidArgument(prefix + "secret-label-keys: \"" + key + "\" is not a label key");
    }
    std::string name = SecretLabelName(key);
    if (!names.insert(name).second) {
      return InvalidArgument(prefix + "secret-label-keys: \"" + key + "\" gives label " + name +
                             ", as an earlier key does");
    }
    f.label_keys_.push_back(key);
    f.label_names_.push_back(std::move(name));
  }
  f.leaf_only_ = o.leaf_only;
  f.csr_signers_ = o.csr_signers;
  return f;
}

bool ExpiryFilter::FiltersNamespaces() const {
  return !include_.empty() || !exclude_.empty() || UsesNamespaceLabels();
}

bool ExpiryFilter::IncludesNamespace(std::string_view ns, const common::Labels* ns_labels) const {
  if (AnyMatch(exclude_, ns)) return false;
  if (!include_.empty() && !AnyMatch(include_, ns)) return false;
  if (!UsesNamespaceLabels()) return true;
  if (ns_labels == nullptr) return false;  // decided again once the labels are known
  if (!exclude_selector_.empty() && exclude_selector_.Matches(*ns_labels)) return false;
  return include_selector_.empty() || include_selector_.Matches(*ns_labels);
}

Keys ExpiryFilter::Trim(SourceKind kind, const nlohmann::json& object, Keys keys) const {
  if (kind != SourceKind::kSecret) return keys;
  std::vector<std::string> values;
  if (!label_keys_.empty()) {
    const nlohmann::json& labels = common::Field(common::Field(object, "metadata"), "labels");
    for (const std::string& key : label_keys_) values.push_back(common::Str(labels, key.c_str()));
  }
  for (auto& [key, source] : keys) {
    if (leaf_only_ && source.certs.size() > 1) source.certs.resize(1);
    source.labels = values;
  }
  return keys;
}

std::optional<Keys> ExpiryFilter::Decide(SourceKind kind, const nlohmann::json& object,
                                         const common::Labels* ns_labels, Keys keys) const {
  if (NamespaceFiltered(kind)) {
    const std::string ns = common::Str(common::Field(object, "metadata"), "namespace");
    if (!ns.empty() && !IncludesNamespace(ns, ns_labels)) return std::nullopt;
  }
  return Trim(kind, object, std::move(keys));
}

}  // namespace certguard::expiry
