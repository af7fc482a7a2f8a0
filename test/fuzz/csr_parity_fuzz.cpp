// Parser parity: mutated kubelet CSRs (DER). Wherever certguard's strict
// reading accepts the bytes, Go's crypto/x509 (the csr-oracle child process,
// path in $CERTGUARD_CSR_ORACLE) must read the same subject, SANs, extensions,
// key and signature verdict; any difference aborts with both readings.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string_view>

#include "fuzz_check.h"
#include "support/csr_oracle.h"
#include "x509/parse.h"

using namespace certguard;

namespace {
testing::CsrOracle* oracle = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* path = std::getenv("CERTGUARD_CSR_ORACLE");
  if (path == nullptr || *path == '\0') {
    std::fprintf(stderr, "csr_parity_fuzz: set CERTGUARD_CSR_ORACLE to the csr-oracle binary\n");
    std::abort();
  }
  oracle = new testing::CsrOracle(path);  // lives as long as the process
  FUZZ_CHECK(oracle->running());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view der(reinterpret_cast<const char*>(data), size);
  auto ours = x509::ParseCsr(der);
  if (!ours.ok()) return 0;
  nlohmann::json go;
  try {
    go = oracle->Parse(der);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "csr_parity_fuzz: %s\n", e.what());
    std::abort();
  }
  const std::string diff = testing::CompareWithOracle(*ours, go);
  if (!diff.empty()) {
    std::fprintf(stderr, "certguard and Go read this CSR differently: %s\nGo: %s\n", diff.c_str(),
                 go.dump().c_str());
    std::abort();
  }
  return 0;
}
