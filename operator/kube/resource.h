// Addressing Kubernetes resources: group/version/resource plus scope, and the
// URL paths built from them. Pure; thread-safe (no state).
#pragma once

#include <string>
#include <string_view>

namespace certguard::kube {

struct Resource {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string resource; // plural, lower case: "configmaps"
  std::string kind;     // "ConfigMap" (used in apply bodies and events)
  bool namespaced = true;

  // "/api/v1" or "/apis/GROUP/VERSION".
  std::string GroupVersionPath() const;
  // "v1" or "GROUP/VERSION", as in an object's apiVersion.
  std::string ApiVersion() const;
  // Collection path: ".../namespaces/NS/RESOURCE" (NS empty: all namespaces) or
  // ".../RESOURCE" for cluster-scoped resources (namespace ignored).
  std::string CollectionPath(std::string_view ns) const;
  // Object path, plus "/SUBRESOURCE" when subresource is not empty.
  std::string ObjectPath(std::string_view ns, std::string_view name,
                         std::string_view subresource = {}) const;
};

namespace resources {
extern const Resource kCertificateSigningRequests;  // certificates.k8s.io/v1, cluster
extern const Resource kNodes;                        // v1, cluster
extern const Resource kNamespaces;                   // v1, cluster
extern const Resource kConfigMaps;                   // v1, namespaced
extern const Resource kSecrets;                      // v1, namespaced
extern const Resource kEvents;                       // v1 (core), namespaced
extern const Resource kEventsV1;                     // events.k8s.io/v1, namespaced
extern const Resource kLeases;                       // coordination.k8s.io/v1, namespaced
extern const Resource kCsrApprovalPolicies;          // certguard.io/v1alpha1, cluster
extern const Resource kTrustBundles;                 // certguard.io/v1alpha1, cluster
extern const Resource kValidatingWebhookConfigurations;  // admissionregistration.k8s.io/v1, cluster
extern const Resource kMutatingWebhookConfigurations;    // admissionregistration.k8s.io/v1, cluster
extern const Resource kApiServices;                      // apiregistration.k8s.io/v1, cluster
}  // namespace resources

// Cache and work-queue key: "NAMESPACE/NAME", or "NAME" for cluster-scoped objects.
std::string MakeKey(std::string_view ns, std::string_view name);
// Splits a key made by MakeKey; a key without '/' has an empty namespace.
void SplitKey(std::string_view key, std::string* ns, std::string* name);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string UrlEncode(std::string_view s);

}  // namespace certguard::kube
