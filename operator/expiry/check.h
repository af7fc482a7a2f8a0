// The pure core of `certguard certs check-expiration`: what a file holds, the
// kubeadm-like table, the JSON array, the --fail-within window. No I/O, the
// clock is passed in. Thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "expiry/inventory.h"
#include "x509/types.h"

namespace certguard::expiry {

// One line of the report: a certificate, or an input that could not be read.
struct Finding {
  std::string source;             // "/etc/kubernetes/pki/ca.crt", "admin.conf (user admin)"
  std::optional<CertFacts> cert;  // set for a certificate
  std::string error;              // set for an unreadable input
  std::string kubeconfig = {};    // the kubeconfig it came from (as named in sources), if any
  // Set on every finding of a kubeconfig when a reference bundle was given
  // (trust_gap.h): the subjects of the bundle's CAs the kubeconfig lacks, and
  // servers whose chain its CA does not verify ("server URL: reason").
  std::optional<std::vector<std::string>> trust_gap = {};
  std::vector<std::string> trust_gap_reasons = {};  // why, when it could not even be read
};

// "30d", "12h", "90m", "45s", "1d12h", "1.5h", "0": days plus what
// common::ParseDuration takes. InvalidArgument otherwise.
Result<std::chrono::seconds> ParseWindow(std::string_view text);

// kubeadm's residual time: "45s", "59m", "23h", "364d", "9y"; "<expired>" once expired.
std::string ResidualTime(std::chrono::seconds left);

// "Nov 24, 2027 05:18 UTC"
std::string FormatExpires(x509::Time t);

// Two tables like `kubeadm certs check-expiration`: certificates, then
// certificate authorities apart, each in input order. Errors are not in it.
// With a TRUST GAP column when any finding has a trust_gap: "-" for none, the
// lacking subjects otherwise; empty for findings outside kubeconfigs.
std::string RenderTable(const std::vector<Finding>& findings, x509::Time now);

// One JSON array, an element per finding in input order:
// {"source","subject","issuer","serial","notBefore","notAfter","daysLeft","isCA"} or
// {"source","error"}; a finding with a trust_gap adds "trust_gap" (a list) and,
// when there are any, "trust_gap_reasons". Ends with a newline.
std::string RenderJson(const std::vector<Finding>& findings, x509::Time now);

// True when a certificate's notAfter is before now + window (expired ones included).
bool AnyExpiresWithin(const std::vector<Finding>& findings, x509::Time now,
                      std::chrono::seconds window);

// True when a finding has a non-empty trust gap.
bool AnyTrustGap(const std::vector<Finding>& findings);

}  // namespace certguard::expiry
