// The Go oracle (hack/tools/csr-oracle): a child process that parses CSRs with
// Go's crypto/x509, as kube-apiserver and kube-controller-manager do, and a
// comparison of its reading with certguard's. No Catch2 here: the fuzz target
// links this file too.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "x509/types.h"

namespace certguard::testing {

// The oracle binary: $CERTGUARD_CSR_ORACLE, else $CERTGUARD_TOOLS/csr-oracle, else
// what hack/tools/csr-oracle/build.sh prints (a build of seconds). Empty when
// none can be found or built; callers fail then, they never skip.
std::string FindCsrOracle();

// One oracle process in stream mode. Not thread-safe.
class CsrOracle {
 public:
  explicit CsrOracle(const std::string& path);
  ~CsrOracle();
  CsrOracle(const CsrOracle&) = delete;
  CsrOracle& operator=(const CsrOracle&) = delete;

  bool running() const { return pid_ > 0; }
  // Go's reading of `csr` (DER or PEM); throws std::runtime_error if the
  // process is gone or answers garbage.
  nlohmann::json Parse(std::string_view csr);

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buffer_;
};

// Empty when certguard's reading (`ours`, from ParseCsr) and Go's (`go`, from the
// oracle) agree on subject (types, values, CN, O), every SAN, the extension OIDs,
// the key and the signature verdict; otherwise what differs. URI SANs, which
// certguard's policy always refuses, are compared by number only (Go re-escapes
// them through net/url), and a URI Go's url.Parse refuses is tolerated.
std::string CompareWithOracle(const x509::CsrInfo& ours, const nlohmann::json& go);

}  // namespace certguard::testing
