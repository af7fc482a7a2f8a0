// ParseCsr on arbitrary bytes: never crashes, leaks or reads out of bounds;
// an error always says why; parsed addresses print and re-parse to themselves.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "x509/parse.h"

using namespace certguard::x509;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto csr = ParseCsr(input);
  if (!csr.ok()) {
    FUZZ_CHECK(!csr.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(csr->subject.ToString().size() >= csr->subject.attributes.size());
  for (const IpAddress& ip : csr->sans.ips) {
    auto again = IpAddress::Parse(ip.ToString());
    FUZZ_CHECK(again.ok() && *again == ip);
  }
  FUZZ_CHECK(!csr->key.Describe().empty());
  return 0;
}
