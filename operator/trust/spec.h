// The TrustBundle custom resource (certguard.io/v1alpha1, cluster-scoped) as
// plain structs, parsed from its JSON. Pure: no I/O, never throws. Thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace certguard::trust {

// Every target certguard writes carries this label, valued with the bundle's name.
inline constexpr const char* kBundleLabel = "certguard.io/trustbundle";
// The key a target or a verified ConfigMap uses when the spec names none.
inline constexpr const char* kDefaultKey = "ca.crt";

enum class SourceKind { kConfigMap, kSecret, kInline };

struct SourceSpec {
  SourceKind kind = SourceKind::kInline;
  std::string ns;    // configMap, secret
  std::string name;  // configMap, secret
  std::string key;   // empty for a configMap: every key, in key order
  std::string pem;   // inline

  // "configMap ns/name[key]", "secret ns/name[key]", "inline[2]": for messages and events.
  std::string Describe(size_t index) const;
};

// The annotation a target with a PKCS#12 key carries: "<input>,<bytes>", the
// fingerprints of what went into the file (bundle and password) and of the
// file itself. PKCS#12 encodings are not repeatable (random salts), so this is
// how a target is known to hold the bundle and to be unaltered.
inline constexpr const char* kPkcs12Annotation = "certguard.io/pkcs12-digest";
// The annotation a target with additional formats carries: their keys, joined
// by ",". A target whose keys differ from those wanted (a format removed or
// renamed) is rewritten, and server-side apply drops the keys no longer written.
inline constexpr const char* kFormatKeysAnnotation = "certguard.io/truststore-keys";
// trust-manager's default JKS password (Java's own default); PKCS#12's is empty.
inline constexpr const char* kDefaultJksPassword = "changeit";

// A key of a Secret: passwordSecretRef {namespace, name, key}.
struct SecretKeyRef {
  std::string ns;
  std::string name;
  std::string key;

  std::string Describe() const { return "secret " + ns + "/" + name + "[" + key + "]"; }
};

// target.additionalFormats.jks or .pkcs12: the key the truststore is written
// under (binaryData in a ConfigMap, data in a Secret) and its password, given
// inline or read from a Secret (password_ref; then `password` is filled in at
// reconcile time). An empty key means the format is not asked for.
struct FormatSpec {
  std::string key;
  std::string password;
  std::optional<SecretKeyRef> password_ref = std::nullopt;
};

struct TargetSpec {
  std::string name;
  std::string key = kDefaultKey;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// A ConfigMap that consumers read and that must hold every CA of the bundle.
// An empty namespace means: this name in every selected namespace.
struct VerifySpec {
  std::string ns;
  std::string name;
  std::string key = kDefaultKey;
};

struct TrustBundleSpec {
  std::vector<SourceSpec> sources;
  // target.configMap and target.secret: at least one is set; an empty name means absent.
  TargetSpec target;
  TargetSpec secret_target;
  // target.additionalFormats: written beside the PEM on every target.
  FormatSpec jks;
  FormatSpec pkcs12;
  // A metav1.LabelSelector as given ({} selects every namespace); absent: select by name only.
  std::optional<nlohmann::json> namespace_selector;
  std::vector<std::string> namespaces;
  bool drop_expired = false;
  bool ca_only = false;
  std::vector<VerifySpec> verify;
};

// Parses and validates `spec`. InvalidArgument lists every problem found, joined
// by "; " (for example "spec.sources[1]: exactly one of configMap, secret, inline";
// "spec.target: configMap or secret is required"). A format key must be a
// ConfigMap key distinct from the targets' PEM keys and from the other format's;
// a JKS password must hold no NUL, a PKCS#12 one must be printable ASCII;
// password and passwordSecretRef are mutually exclusive.
Result<TrustBundleSpec> ParseSpec(const nlohmann::json& spec);

// Why `password` cannot protect that format's truststore ("must be printable
// ASCII", "must not contain NUL"), or "".
std::string PasswordProblem(std::string_view password, bool pkcs12);

// A ConfigMap data key: 1-253 of [-._a-zA-Z0-9], not "." or "..".
bool IsConfigMapKey(const std::string& s);

}  // namespace certguard::trust
