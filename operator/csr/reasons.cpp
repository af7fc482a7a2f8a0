#include "csr/reasons.h"

namespace certguard::csr {

std::string ReasonLabel(std::string_view code) {
  if (code.empty()) return {};
  for (const char* known : reason::kAll) {
    if (code == known) return known;
  }
  return reason::kOther;
}

}  // namespace certguard::csr
