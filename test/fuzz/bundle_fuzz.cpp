// ParseBundle on arbitrary bytes: never crashes; every certificate it returns
// survives ToPem -> ParseCertificate unchanged; every error has a message and
// an index within the input's blocks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "x509/parse.h"

using namespace certguard::x509;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Bundle bundle = ParseBundle(input);
  FUZZ_CHECK(!bundle.certificates.empty() || !bundle.errors.empty());
  for (const BlockError& e : bundle.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.index <= bundle.certificates.size() + bundle.errors.size());
  }
  for (const CertificateInfo& c : bundle.certificates) {
    auto again = ParseCertificate(ToPem(c));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->der == c.der);
    FUZZ_CHECK(again->sha256_fingerprint == c.sha256_fingerprint);
    FUZZ_CHECK(again->serial == c.serial);
    FUZZ_CHECK(c.sha256_fingerprint.size() == 95);
  }
  return 0;
}
