// Truststore passwords read from Secrets (additionalFormats.*.passwordSecretRef).
// PasswordFromSecret is pure; ReadPasswords is the thin shell that GETs the
// Secrets (they are not cached whole). Thread-safe as the client is.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "kube/client.h"
#include "trust/spec.h"

namespace certguard::trust {

// The password `ref` names in `secret` (the Secret as read; nullptr when it
// does not exist), checked as ParseSpec checks an inline one. The value is
// taken byte for byte (a trailing newline is part of it). Refused:
//   NotFound         the Secret does not exist, or has no such key in data
//   InvalidArgument  the value is not base64, or cannot protect the format
//                    (PasswordProblem: PKCS#12 wants printable ASCII, JKS no NUL)
// The message names the Secret and key, never the value.
Result<std::string> PasswordFromSecret(const SecretKeyRef& ref, const nlohmann::json* secret,
                                       bool pkcs12);

// Fills in spec.jks.password and spec.pkcs12.password from their
// passwordSecretRef, when set. On the first failure returns its status,
// prefixed with the field's path ("spec.target.additionalFormats.pkcs12.passwordSecretRef:
// secret ns/name has no key k"); a failed GET other than NotFound keeps its code.
// Sets `reads` when a Secret was named (the caller polls: it is not always watched).
Status ReadPasswords(TrustBundleSpec& spec, kube::Client& client, bool& reads);

}  // namespace certguard::trust
