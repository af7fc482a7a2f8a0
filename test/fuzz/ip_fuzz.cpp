// IpAddress::Parse and IpRange::Parse on arbitrary text: what parses prints
// canonically, re-parses to the same value, and a range contains its own base.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "x509/types.h"

using namespace certguard::x509;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto ip = IpAddress::Parse(input);
  if (ip.ok()) {
    std::string text = ip->ToString();
    auto again = IpAddress::Parse(text);
    FUZZ_CHECK(again.ok() && *again == *ip && again->ToString() == text);
  }
  auto range = IpRange::Parse(input);
  if (range.ok()) {
    std::string text = range->ToString();
    auto again = IpRange::Parse(text);
    FUZZ_CHECK(again.ok() && again->ToString() == text);
    auto base = IpAddress::Parse(text.substr(0, text.find('/')));
    FUZZ_CHECK(base.ok() && range->Contains(*base));
  }
  return 0;
}
