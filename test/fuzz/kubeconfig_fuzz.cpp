// ResolveKubeconfig on arbitrary text (one or two files, split at the first NUL):
// never crashes or throws, and a configuration it accepts is usable: a server
// URL, and TLS verification skipped only when allowed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "kube/config.h"

using namespace certguard::kube;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<KubeconfigFile> files;
  // Relative file references resolve under a directory that does not exist.
  const std::string dir = "/nonexistent-certguard-fuzz";
  size_t nul = input.find('\0');
  files.push_back({dir + "/a", std::string(input.substr(0, nul))});
  if (nul != std::string_view::npos) files.push_back({dir + "/b", std::string(input.substr(nul + 1))});

  for (bool allow_insecure : {false, true}) {
    auto config = ResolveKubeconfig(files, "", allow_insecure);
    if (!config.ok()) {
      FUZZ_CHECK(!config.status().message().empty());
      continue;
    }
    FUZZ_CHECK(!config->server.empty());
    FUZZ_CHECK(config->server.back() != '/');
    if (!allow_insecure) FUZZ_CHECK(!config->insecure_skip_tls_verify);
  }
  return 0;
}
