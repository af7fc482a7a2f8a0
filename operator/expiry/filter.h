// What the in-cluster inventory exports of an object, for clusters too big to
// export everything: namespaces included or excluded by name and by their
// labels, only the leaf (first) certificate of each Secret field, chosen
// Secret labels copied into the series, and the CSR signers followed.
// Pure: an object, its namespace's labels and the options in, a decision out.
// Thread-safe (immutable once made).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/label_selector.h"
#include "common/status.h"
#include "expiry/inventory.h"
#include "expiry/objects.h"

namespace certguard::expiry {

// Which issued CSRs the inventory follows: the two kubelet signers
// (kubernetes.io/kube-apiserver-client-kubelet, kubernetes.io/kubelet-serving)
// or every signer.
enum class CsrSigners { kKubelet, kAll };

// The prefix of the filter flags' names in refusals: `run` names them
// --expiry-include-namespaces etc., check-expiration --include-namespaces.
inline constexpr std::string_view kRunFlagPrefix = "--expiry-";

// "kubelet" or "all"; InvalidArgument naming <flag_prefix>csr-signers otherwise.
Result<CsrSigners> ParseCsrSigners(std::string_view text,
                                   std::string_view flag_prefix = kRunFlagPrefix);

// At most this many --expiry-secret-label-keys: each is a label on every series.
inline constexpr size_t kMaxSecretLabelKeys = 10;

// The options as given on the command line (--expiry-*).
struct ExpiryFilterOptions {
  // Namespace names; "*" matches any run of characters ("team-*"). An empty
  // include list includes every namespace; exclude wins over include.
  std::vector<std::string> include_namespaces;
  std::vector<std::string> exclude_namespaces;
  // Label selectors on the namespace's labels (kubectl -l syntax); empty: none.
  std::string include_namespace_selector;
  std::string exclude_namespace_selector;
  bool leaf_only = false;                      // --expiry-leaf-only
  std::vector<std::string> secret_label_keys;  // --expiry-secret-label-keys
  CsrSigners csr_signers = CsrSigners::kKubelet;
};

// "app.kubernetes.io/name" -> "secret_label_app_kubernetes_io_name": every
// character outside [A-Za-z0-9_] becomes "_" (x509-certificate-exporter's naming).
std::string SecretLabelName(std::string_view key);

class ExpiryFilter {
 public:
  // Everything included, nothing trimmed, no extra labels, kubelet signers.
  ExpiryFilter() = default;

  // InvalidArgument, naming the flag (<flag_prefix>include-namespaces ...), for a namespace pattern that is not a
  // namespace name (with "*"), a selector that does not parse, a label key that
  // is not a Kubernetes label key, a key given twice or two keys with the same
  // series label, or more than kMaxSecretLabelKeys keys.
  static Result<ExpiryFilter> Make(const ExpiryFilterOptions& options,
                                   std::string_view flag_prefix = kRunFlagPrefix);

  // Whether an object of namespace `ns` is exported. `ns_labels` is null while
  // the namespace's labels are not known: with a selector set, not included.
  bool IncludesNamespace(std::string_view ns, const common::Labels* ns_labels) const;
  // A namespace selector is set: the namespaces' labels must be watched.
  bool UsesNamespaceLabels() const {
    return !include_selector_.empty() || !exclude_selector_.empty();
  }
  // Any namespace rule at all.
  bool FiltersNamespaces() const;

  // The certificates an object of `kind` exports: `keys` itself, but with
  // leaf-only each Secret field keeps its first certificate only, and each
  // Secret source carries the values of the label keys (from
  // metadata.labels of `object`, "" when absent), in label_names() order.
  Keys Trim(SourceKind kind, const nlohmann::json& object, Keys keys) const;

  // The decision in one: empty when the object's namespace is not included
  // (namespaced objects of kind secret and configmap only), else Trim.
  std::optional<Keys> Decide(SourceKind kind, const nlohmann::json& object,
                             const common::Labels* ns_labels, Keys keys) const;

  // The extra series labels, "secret_label_<key>", in the order given.
  const std::vector<std::string>& label_names() const { return label_names_; }
  CsrSigners csr_signers() const { return csr_signers_; }
  bool leaf_only() const { return leaf_only_; }

 private:
  std::vector<std::string> include_, exclude_;
  common::LabelSelector include_selector_, exclude_selector_;
  bool leaf_only_ = false;
  std::vector<std::string> label_keys_;
  std::vector<std::string> label_names_;
  CsrSigners csr_signers_ = CsrSigners::kKubelet;
};

// Whether `kind` is filtered by namespace: Secrets and ConfigMaps.
bool NamespaceFiltered(SourceKind kind);

}  // namespace certguard::expiry
