// A CertificateSigningRequest object as the API server returns it, for the
// tests of what reads one. Only what a test sets is in it, besides apiVersion,
// kind, metadata.name and spec.signerName:
//   CsrObject("csr-1").Username("system:node:worker-1").Request(pem).Approved().Json()
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/pki.h"

namespace certguard::testing {

class CsrObject {
 public:
  explicit CsrObject(const std::string& name,
                     const std::string& signer = "kubernetes.io/kubelet-serving") {
    j_ = {{"apiVersion", "certificates.k8s.io/v1"},
          {"kind", "CertificateSigningRequest"},
          {"metadata", {{"name", name}}},
          {"spec", {{"signerName", signer}}}};
  }
  CsrObject& Uid(const std::string& uid) { return Meta("uid", uid); }
  CsrObject& ResourceVersion(const std::string& rv) { return Meta("resourceVersion", rv); }
  CsrObject& Created(const std::string& rfc3339) { return Meta("creationTimestamp", rfc3339); }
  CsrObject& Username(const std::string& user) { return Spec("username", user); }
  CsrObject& Groups(const std::vector<std::string>& groups) { return Spec("groups", groups); }
  // The usual groups of a node's credentials.
  CsrObject& NodeGroups() { return Groups({"system:nodes", "system:authenticated"}); }
  CsrObject& Usages(const std::vector<std::string>& usages) { return Spec("usages", usages); }
  CsrObject& Request(const std::string& pem) { return Spec("request", Base64(pem)); }
  CsrObject& RequestField(const std::string& text) { return Spec("request", text); }  // as it is
  CsrObject& NoStatus() { return Status(nlohmann::json::object()); }  // "status": {}
  CsrObject& Approved() {
    j_["status"]["conditions"] =
        nlohmann::json::array({{{"type", "Approved"}, {"status", "True"}}});
    return *this;
  }
  nlohmann::json Json() const { return j_; }

 private:
  CsrObject& Meta(const char* key, nlohmann::json value) {
    j_["metadata"][key] = std::move(value);
    return *this;
  }
  CsrObject& Spec(const char* key, nlohmann::json value) {
    j_["spec"][key] = std::move(value);
    return *this;
  }
  CsrObject& Status(nlohmann::json value) {
    j_["status"] = std::move(value);
    return *this;
  }
  nlohmann::json j_;
};

// Node `node`'s kubelet asking, with its own credentials, for a serving certificate
// for its name and `ip` (a real, OpenSSL-minted request), not yet decided (`"status": {}`).
// The caller adds what its test reads besides: .Created(...), .ResourceVersion(...).
inline CsrObject KubeletServingCsr(const std::string& node, const std::string& ip) {
  std::string pem = CsrBuilder()
                        .Subject({{"O", "system:nodes"}, {"CN", "system:node:" + node}})
                        .Dns(node)
                        .Ip(ip)
                        .Pem();
  CsrObject c("csr-" + node, "kubernetes.io/kubelet-serving");
  c.Uid("uid-" + node)
      .Request(pem)
      .Username("system:node:" + node)
      .NodeGroups()
      .Usages({"digital signature", "server auth"})
      .NoStatus();
  return c;
}

// `csr` (any CSR object) with the Approved condition as its only one.
inline nlohmann::json WithApproved(nlohmann::json csr) {
  csr["status"]["conditions"] = nlohmann::json::array({{{"type", "Approved"}, {"status", "True"}}});
  return csr;
}

}  // namespace certguard::testing
