#include "kube/resource.h"

namespace certguard::kube {

std::string Resource::GroupVersionPath() const {
  if (group.empty()) return "/api/" + version;
  return "/apis/" + group + "/" + version;
}

std::string Resource::ApiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string Resource::CollectionPath(std::string_view ns) const {
  std::string p = GroupVersionPath();
  if (namespaced && !ns.empty()) {
    p += "/namespaces/";
    p += ns;
  }
  p += "/";
  p += resource;
  return p;
}

std::string Resource::ObjectPath(std::string_view ns, std::string_view name,
                                 std::string_view subresource) const {
  std::string p = CollectionPath(ns);
  p += "/";
  p += name;
  if (!subresource.empty()) {
    p += "/";
    p += subresource;
  }
  return p;
}

namespace resources {
const Resource kCertificateSigningRequests{"certificates.k8s.io", "v1",
                                           "certificatesigningrequests",
                                           "CertificateSigningRequest", false};
const Resource kNodes{"", "v1", "nodes", "Node", false};
const Resource kNamespaces{"", "v1", "namespaces", "Namespace", false};
const Resource kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
const Resource kSecrets{"", "v1", "secrets", "Secret", true};
const Resource kEvents{"", "v1", "events", "Event", true};
const Resource kEventsV1{"events.k8s.io", "v1", "events", "Event", true};
const Resource kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
const Resource kCsrApprovalPolicies{"certguard.io", "v1alpha1", "csrapprovalpolicies",
                                    "CSRApprovalPolicy", false};
const Resource kTrustBundles{"certguard.io", "v1alpha1", "trustbundles", "TrustBundle", false};
const Resource kValidatingWebhookConfigurations{"admissionregistration.k8s.io", "v1",
                                                "validatingwebhookconfigurations",
                                                "ValidatingWebhookConfiguration", false};
const Resource kMutatingWebhookConfigurations{"admissionregistration.k8s.io", "v1",
                                              "mutatingwebhookconfigurations",
                                              "MutatingWebhookConfiguration", false};
const Resource kApiServices{"apiregistration.k8s.io", "v1", "apiservices", "APIService", false};
}  // namespace resources

std::string MakeKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string k(ns);
  k += "/";
  k += name;
  return k;
}

void SplitKey(std::string_view key, std::string* ns, std::string* name) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) {
    ns->clear();
    *name = std::string(key);
    return;
  }
  *ns = std::string(key.substr(0, slash));
  *name = std::string(key.substr(slash + 1));
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace certguard::kube
