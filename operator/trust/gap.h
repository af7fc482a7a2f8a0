// Trust-gap detection: does a consumer's CA bundle hold every CA of ours?
// Pure: the consumer's text and the clock are passed in. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trust/spec.h"
#include "x509/types.h"

namespace certguard::trust {

struct GapCheck {
  bool present = false;  // the ConfigMap and its key exist
  // The bundle's certificates the consumer lacks (by SHA-256 fingerprint).
  std::vector<std::string> missing_fingerprints;
  std::vector<std::string> missing_subjects;

  // 1 in certguard_trust_gap: the consumer is absent or lacks a CA.
  bool gap() const { return !present || !missing_fingerprints.empty(); }
  // "lacks CN=api-int-ca (AB:CD:...)" or "missing"; "" when there is no gap.
  std::string Describe() const;
};

// Checks one consumer. `required`: the published bundle's certificates; the
// ones already expired at `now` are not required. `consumer_pem`: the
// ConfigMap key's text, nullopt when the ConfigMap or the key is absent.
// Blocks of the consumer that do not parse are ignored: only presence counts.
GapCheck CheckConsumer(const std::vector<x509::CertificateInfo>& required,
                       const std::optional<std::string>& consumer_pem, x509::Time now);

// The consumers `verify` names for the selected namespaces: (namespace, name, key),
// sorted, without duplicates. An entry with a namespace stands for itself; one
// without stands for that name in every selected namespace.
struct ConsumerRef {
  std::string ns;
  std::string name;
  std::string key;
  bool operator<(const ConsumerRef& o) const;
  bool operator==(const ConsumerRef& o) const = default;
};
std::vector<ConsumerRef> ExpandVerify(const std::vector<VerifySpec>& verify,
                                      const std::vector<std::string>& selected);

}  // namespace certguard::trust
