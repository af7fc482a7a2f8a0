// trust::Build on arbitrary sources: never crashes; the bundle does not depend on
// the order of the sources; its bytes, fingerprint and certificate list agree;
// and the last-good rule never gives up a good bundle for a broken build.
// Input: an options byte, then source entries separated by 0xFF bytes.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "trust/build.h"

using namespace certguard;
using namespace certguard::trust;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  BuildOptions options;
  options.drop_expired = data[0] & 1;
  options.ca_only = data[0] & 2;
  const bool unreadable_last = data[0] & 4;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<SourceContent> sources;
  while (true) {
    size_t sep = rest.find('\xff');
    SourceContent s;
    s.id = "inline " + std::to_string(sources.size());
    s.entries.push_back({"ca.crt", std::string(rest.substr(0, sep))});
    sources.push_back(std::move(s));
    if (sep == std::string_view::npos) break;
    rest.remove_prefix(sep + 1);
  }
  if (unreadable_last) {
    SourceContent s;
    s.id = "configMap ns/missing[ca.crt]";
    s.read_status = NotFound("configmaps \"missing\" not found");
    sources.push_back(std::move(s));
  }
  const x509::Time now = x509::Time{} + std::chrono::hours(24 * 365 * 56);  // 2026

  BuildResult built = Build(sources, options, now);
  std::vector<SourceContent> reversed(sources.rbegin(), sources.rend());
  BuildResult again = Build(reversed, options, now);
  FUZZ_CHECK(built.pem == again.pem);
  FUZZ_CHECK(built.fingerprint == again.fingerprint);
  FUZZ_CHECK(built.issues.size() == again.issues.size());

  FUZZ_CHECK(built.pem.empty() == built.certificates.empty());
  FUZZ_CHECK(built.fingerprint.empty() == built.pem.empty());
  if (!built.pem.empty()) FUZZ_CHECK(built.fingerprint == BundleFingerprint(built.pem));
  std::set<std::string> seen;
  for (const auto& c : built.certificates) {
    FUZZ_CHECK(seen.insert(c.sha256_fingerprint).second);
    if (options.ca_only) FUZZ_CHECK(c.is_ca);
    if (options.drop_expired) FUZZ_CHECK(c.not_after > now);
  }
  if (unreadable_last) FUZZ_CHECK(!built.publishable());
  for (const auto& issue : built.issues) FUZZ_CHECK(!issue.message.empty());

  const std::string last_good = "-----BEGIN CERTIFICATE-----\nlast good\n-----END CERTIFICATE-----\n";
  Publish publish = DecidePublish(built, last_good);
  if (built.publishable()) {
    FUZZ_CHECK(publish.pem == built.pem && !publish.last_good);
  } else {
    FUZZ_CHECK(publish.pem == last_good && publish.last_good);
  }
  FUZZ_CHECK(DecidePublish(built, "").pem == (built.publishable() ? built.pem : ""));
  return 0;
}
