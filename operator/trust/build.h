// Building a CA bundle from its sources, and the last-good rule. Pure: the
// sources' contents and the clock are passed in; no I/O. Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "x509/types.h"

namespace certguard::trust {

// What the I/O shell read for one source.
struct SourceContent {
  std::string id;      // SourceSpec::Describe(): "configMap ns/name[key]"
  Status read_status;  // not OK: the source could not be read (NotFound, Forbidden, missing key)
  // (key, PEM text) pairs in key order; one pair for an inline source.
  std::vector<std::pair<std::string, std::string>> entries;
};

struct BuildOptions {
  bool drop_expired = false;  // drop certificates whose notAfter has passed
  bool ca_only = false;       // drop certificates without basicConstraints CA:TRUE
};

// Why a source is in error. The names are the `reason` of the SourceError
// condition, of events and of certguard_trustbundle_source_errors_total.
enum class SourceErrorReason {
  kUnreadable,    // the object or key could not be read
  kEmpty,         // readable, but no certificate block in it
  kInvalidBlock,  // a block that is not a readable certificate
};
const char* SourceErrorReasonName(SourceErrorReason r);

struct SourceIssue {
  std::string source;  // SourceContent::id
  SourceErrorReason reason = SourceErrorReason::kUnreadable;
  std::string message;
};

struct BuildResult {
  // The certificates kept, deduplicated and sorted (subject, notBefore, fingerprint).
  std::vector<x509::CertificateInfo> certificates;
  std::string pem;          // their PEM, concatenated in that order; empty when none
  std::string fingerprint;  // BundleFingerprint(pem); empty when pem is
  std::optional<x509::Time> earliest_not_after;
  size_t dropped_expired = 0;
  size_t dropped_non_ca = 0;
  size_t duplicates = 0;
  std::vector<SourceIssue> issues;  // in source order

  // Safe to write: every source read cleanly and at least one certificate is kept.
  bool publishable() const { return issues.empty() && !pem.empty(); }
};

// Every certificate of every source, parsed; expired and non-CA ones dropped
// when asked; duplicates (same SHA-256 fingerprint) removed; sorted, so the
// same set of certificates always gives the same bytes whatever the source order.
// A bad block is reported in `issues` and the good certificates are still kept.
BuildResult Build(const std::vector<SourceContent>& sources, const BuildOptions& options,
                  x509::Time now);

// "sha256:" followed by the lower-case hex SHA-256 of `pem`.
std::string BundleFingerprint(std::string_view pem);

// What the target cache keeps instead of a data value: "\x01" + its fingerprint,
// so that a bundle written to many namespaces is held once, not once per target.
std::string DigestMarker(std::string_view value);
bool IsDigestMarker(std::string_view value);

// The bundle to write, if any.
struct Publish {
  std::string pem;         // empty: write nothing, leave every target as it is
  bool last_good = false;  // true when `pem` is the last good bundle, kept because of issues
};

// The last-good rule: a publishable build is written; otherwise the last good
// bundle (when known and not empty) is kept and written where a target is
// missing or altered; otherwise nothing is written. An empty or partial bundle
// is never written over a good one, so a broken source loses no CA.
Publish DecidePublish(const BuildResult& build, std::string_view last_good_pem);

}  // namespace certguard::trust
