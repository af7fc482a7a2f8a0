// Stable reason codes of CSR decisions. They appear in the CSR's approval
// condition, in `certguard csr evaluate` and in metrics labels: never rename one.
// docs/reference/reason-codes.md has a table of them all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace certguard::csr {

struct Reason {
  std::string code;     // CamelCase, stable
  std::string message;  // for a person: "IP 10.0.0.12 is not an address of node worker-1"
  bool operator==(const Reason&) const = default;
};

using Reasons = std::vector<Reason>;

namespace reason {
// Which requests certguard looks at, and which policy applies.
inline constexpr char kSignerNotHandled[] = "SignerNotHandled";
inline constexpr char kNoApplicablePolicy[] = "NoApplicablePolicy";
inline constexpr char kPolicyInvalid[] = "PolicyInvalid";
inline constexpr char kSignerNotInPolicy[] = "SignerNotInPolicy";
inline constexpr char kNodeNameNotMatched[] = "NodeNameNotMatched";
inline constexpr char kNodeSelectorNotMatched[] = "NodeSelectorNotMatched";
// The request itself.
inline constexpr char kCsrUnparseable[] = "CSRUnparseable";
// The strict PKCS#10 reading (x509/csr_strict.h): what Go's crypto/x509 might read
// differently from certguard is refused before any rule looks at it.
inline constexpr char kCsrNotDer[] = "CSRNotDER";
inline constexpr char kCsrVersionNotZero[] = "CSRVersionNotZero";
inline constexpr char kCsrAttributeNotAllowed[] = "CSRAttributeNotAllowed";
inline constexpr char kCsrExtensionRequestAmbiguous[] = "CSRExtensionRequestAmbiguous";
inline constexpr char kCsrDuplicateExtension[] = "CSRDuplicateExtension";
inline constexpr char kCsrExtensionMalformed[] = "CSRExtensionMalformed";
inline constexpr char kSubjectStringTypeNotAllowed[] = "SubjectStringTypeNotAllowed";
inline constexpr char kSubjectMalformed[] = "SubjectMalformed";
inline constexpr char kSignatureAlgorithmNotAllowed[] = "SignatureAlgorithmNotAllowed";
inline constexpr char kKeyMalformed[] = "KeyMalformed";
inline constexpr char kSignatureInvalid[] = "SignatureInvalid";
inline constexpr char kKeyTooWeak[] = "KeyTooWeak";
inline constexpr char kKeyAlgorithmNotAllowed[] = "KeyAlgorithmNotAllowed";
inline constexpr char kSubjectNotNode[] = "SubjectNotNode";
inline constexpr char kSubjectExtraAttributes[] = "SubjectExtraAttributes";
inline constexpr char kExtensionNotAllowed[] = "ExtensionNotAllowed";
inline constexpr char kUsagesNotAllowed[] = "UsagesNotAllowed";
inline constexpr char kExpirationTooLong[] = "ExpirationTooLong";
inline constexpr char kExpirationInvalid[] = "ExpirationInvalid";
// Who asks.
inline constexpr char kRequesterUnknown[] = "RequesterUnknown";
inline constexpr char kRequesterNotNode[] = "RequesterNotNode";
inline constexpr char kRequesterNotSubject[] = "RequesterNotSubject";
inline constexpr char kRequesterNotInNodesGroup[] = "RequesterNotInNodesGroup";
inline constexpr char kRequesterNotBootstrapper[] = "RequesterNotBootstrapper";
inline constexpr char kBootstrapNotAllowed[] = "BootstrapNotAllowed";
inline constexpr char kBootstrapForExistingNode[] = "BootstrapForExistingNode";
inline constexpr char kNodeNotFound[] = "NodeNotFound";
// A re-bootstrap of an existing node (existingNodes WhenNotReady) needs its
// credentials dead or a recovery window open; a refusal names both conditions.
inline constexpr char kBootstrapNodeCertValid[] = "BootstrapNodeCertValid";
inline constexpr char kBootstrapNodeCertUnknown[] = "BootstrapNodeCertUnknown";
inline constexpr char kRecoveryWindowNotOpen[] = "RecoveryWindowNotOpen";
inline constexpr char kRecoveryWindowClosed[] = "RecoveryWindowClosed";
// Subject alternative names.
inline constexpr char kSANsOnClientCert[] = "SANsOnClientCert";
inline constexpr char kNoSANs[] = "NoSANs";
inline constexpr char kSANTypeNotAllowed[] = "SANTypeNotAllowed";
inline constexpr char kSANInvalidDNSName[] = "SANInvalidDNSName";
inline constexpr char kSANAddressNotRoutable[] = "SANAddressNotRoutable";
inline constexpr char kSANNotNodeAddress[] = "SANNotNodeAddress";
// An IP or DNS SAN the requesting Node lists, but another Node lists too: a
// node writes its own addresses, so a compromised one can claim another's;
// while two claim one, neither gets a serving certificate for it.
inline constexpr char kSANAddressShared[] = "SANAddressShared";
inline constexpr char kSANNotAllowedRange[] = "SANNotAllowedRange";
inline constexpr char kSANNotAllowedPattern[] = "SANNotAllowedPattern";
inline constexpr char kSANControlPlaneName[] = "SANControlPlaneName";
inline constexpr char kSANServiceAddress[] = "SANServiceAddress";
inline constexpr char kSANDeniedRange[] = "SANDeniedRange";
inline constexpr char kSANDeniedPattern[] = "SANDeniedPattern";
// Approvals: which kind of request was approved.
inline constexpr char kApprovedRenewal[] = "ApprovedRenewal";
inline constexpr char kApprovedBootstrap[] = "ApprovedBootstrap";
inline constexpr char kApprovedServing[] = "ApprovedServing";
// Abandoned retries: a newer CSR of the same requester, subject and signer is pending
// or decided (csr/supersede.h).
inline constexpr char kSuperseded[] = "Superseded";

// Every code above: the only values a metric's reason label takes besides kOther.
inline constexpr const char* kAll[] = {kSignerNotHandled,
                                       kNoApplicablePolicy,
                                       kPolicyInvalid,
                                       kSignerNotInPolicy,
                                       kNodeNameNotMatched,
                                       kNodeSelectorNotMatched,
                                       kCsrUnparseable,
                                       kCsrNotDer,
                                       kCsrVersionNotZero,
                                       kCsrAttributeNotAllowed,
                                       kCsrExtensionRequestAmbiguous,
                                       kCsrDuplicateExtension,
                                       kCsrExtensionMalformed,
                                       kSubjectStringTypeNotAllowed,
                                       kSubjectMalformed,
                                       kSignatureAlgorithmNotAllowed,
                                       kKeyMalformed,
                                       kSignatureInvalid,
                                       kKeyTooWeak,
                                       kKeyAlgorithmNotAllowed,
                                       kSubjectNotNode,
                                       kSubjectExtraAttributes,
                                       kExtensionNotAllowed,
                                       kUsagesNotAllowed,
                                       kExpirationTooLong,
                                       kExpirationInvalid,
                                       kRequesterUnknown,
                                       kRequesterNotNode,
                                       kRequesterNotSubject,
                                       kRequesterNotInNodesGroup,
                                       kRequesterNotBootstrapper,
                                       kBootstrapNotAllowed,
                                       kBootstrapForExistingNode,
                                       kNodeNotFound,
                                       kBootstrapNodeCertValid,
                                       kBootstrapNodeCertUnknown,
                                       kRecoveryWindowNotOpen,
                                       kRecoveryWindowClosed,
                                       kSANsOnClientCert,
                                       kNoSANs,
                                       kSANTypeNotAllowed,
                                       kSANInvalidDNSName,
                                       kSANAddressNotRoutable,
                                       kSANNotNodeAddress,
                                       kSANAddressShared,
                                       kSANNotAllowedRange,
                                       kSANNotAllowedPattern,
                                       kSANControlPlaneName,
                                       kSANServiceAddress,
                                       kSANDeniedRange,
                                       kSANDeniedPattern,
                                       kApprovedRenewal,
                                       kApprovedBootstrap,
                                       kApprovedServing,
                                       kSuperseded};

// The label value for a code that is not in kAll (a metric never grows a series for it).
inline constexpr char kOther[] = "Other";
}  // namespace reason

// `code` when it is one of reason::kAll, "" when empty, else reason::kOther: a
// metric label from a bounded set whatever a future code path passes.
std::string ReasonLabel(std::string_view code);

}  // namespace certguard::csr
