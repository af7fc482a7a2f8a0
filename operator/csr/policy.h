// A CSRApprovalPolicy (certguard.io/v1alpha1) as the engine uses it, and the
// built-in default policy. Pure, thread-safe once built (immutable).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/label_selector.h"
#include "common/status.h"
#include "x509/types.h"

namespace re2 {
class RE2;
}

namespace certguard::csr {

inline constexpr char kClientSigner[] = "kubernetes.io/kube-apiserver-client-kubelet";
inline constexpr char kServingSigner[] = "kubernetes.io/kubelet-serving";
inline constexpr int64_t kDefaultMaxExpirationSeconds = 31708800;  // 367 days
inline constexpr int64_t kMaxNotReadyForSeconds = 31536000;  // 365 days
inline constexpr char kDefaultPolicyName[] = "default";
inline constexpr char kPolicyKind[] = "CSRApprovalPolicy";
inline constexpr char kPolicyApiVersion[] = "certguard.io/v1alpha1";

enum class OnRefusal { kDeny, kIgnore };
enum class ExistingNodes { kRefuse, kWhenNotReady };

// An anchored pattern: the source text and its compiled form. RE2 matches in
// time linear in the input whatever the pattern (no backtracking), so a
// requester who picks the name cannot make a match slow.
struct Pattern {
  std::string source;                    // as the user wrote it
  std::shared_ptr<const re2::RE2> regex;  // of source; shared so copies are cheap
  // The whole of `s` matches (as ^(?:source)$ would).
  bool Matches(const std::string& s) const;
};

struct BootstrapPolicy {
  bool allow = true;
  std::vector<std::string> groups{"system:bootstrappers"};
  std::vector<std::string> usernames;
  ExistingNodes existing_nodes = ExistingNodes::kRefuse;
  int64_t not_ready_for_seconds = 600;
  // spec.bootstrap.recoveryWindowUntil: until then a NotReady node may be
  // re-bootstrapped even while its last client certificate is valid (a restore).
  std::optional<x509::Time> recovery_window_until;
};

struct Policy {
  std::string name = kDefaultPolicyName;
  std::vector<std::string> signer_names{kClientSigner, kServingSigner};
  std::optional<Pattern> node_name_pattern;  // none: any name
  common::LabelSelector node_selector;       // empty: any Node
  // nullopt: no restriction; an empty list: no IP SAN (or DNS SAN) is allowed at all.
  std::optional<std::vector<x509::IpRange>> allowed_ip_ranges;
  std::optional<std::vector<Pattern>> allowed_dns_patterns;
  // Never approved, whatever else allows them (on top of the built-in deny list).
  std::vector<x509::IpRange> denied_ip_ranges;
  std::vector<Pattern> denied_dns_patterns;
  bool require_node_address_match = true;
  int64_t max_expiration_seconds = kDefaultMaxExpirationSeconds;
  BootstrapPolicy bootstrap;
  OnRefusal on_refusal = OnRefusal::kDeny;
  bool dry_run = false;
  // Why the policy is invalid; an invalid policy applies to no request.
  std::vector<std::string> errors;

  bool valid() const { return errors.empty(); }
};

// The policy used when no CSRApprovalPolicy exists.
Policy DefaultPolicy();

// Builds a Policy from a CSRApprovalPolicy object (JSON as the API server sends
// it). Fields the schema would default get the same defaults here. A bad field
// (a regex that does not compile, a bad CIDR, an unknown enum value, a wrong type)
// never fails open: it is recorded in Policy::errors and the policy applies to
// nothing. InvalidArgument only when the object is not a CSRApprovalPolicy or has
// no metadata.name. Never throws.
Result<Policy> PolicyFromObject(const nlohmann::json& object);

// Compiles `source` with RE2 syntax (Perl-like: no backreferences, no lookaround);
// InvalidArgument, with RE2's reason, if it does not compile.
Result<Pattern> CompilePattern(const std::string& source);

// The policies a recovery window (`approve-pending --recovery`) opens on: valid
// ones that list the client signer and allow re-bootstraps (existingNodes
// WhenNotReady). A window elsewhere would change nothing. Names, in order.
std::vector<std::string> RecoveryWindowTargets(const std::vector<Policy>& policies);

// The merge patch that sets spec.bootstrap.recoveryWindowUntil to `until`.
std::string RecoveryWindowPatch(x509::Time until);

const char* OnRefusalName(OnRefusal o);          // "Deny", "Ignore"
const char* ExistingNodesName(ExistingNodes e);  // "Refuse", "WhenNotReady"

}  // namespace certguard::csr
