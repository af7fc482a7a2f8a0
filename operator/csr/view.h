// What the reconcile of one CSR reads: the informers' caches in production,
// plain maps in tests. The objects are as cached (trimmed: csr/cache.h).
#pragma once

#include <string>
#include <vector>

#include "kube/informer.h"

namespace certguard::csr {

// Thread-safe. Every lookup returns nullptr when the object is absent.
class CsrView {
 public:
  virtual ~CsrView() = default;
  virtual kube::ObjectPtr Csr(const std::string& name) const = 0;
  virtual kube::ObjectPtr Node(const std::string& name) const = 0;
  virtual kube::ObjectPtr Policy(const std::string& name) const = 0;  // a CSRApprovalPolicy
  virtual std::vector<kube::ObjectPtr> Policies() const = 0;
};

}  // namespace certguard::csr
