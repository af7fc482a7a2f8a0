// Abandoned retries: a kubelet that gets no answer in time makes a new CSR and
// forgets the old one, so a node may have several pending CSRs of one signer.
// Only the newest is decided; the older ones are superseded. Pure, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "csr/request.h"
#include "x509/types.h"

namespace certguard::csr {

// The duplicates of a CSR are the CSRs of the same signer, the same
// authenticated requester (spec.username, set by the API server) and the same
// subject CN: a node's own retries (system:node:NAME) or one bootstrap
// identity's retries for one node. CSRs of different requesters never
// supersede one another, so nobody can retire a node's request but the node
// (or the bootstrap identity) that made it. Empty (no group) when the signer is
// not a kubelet signer, the requester is unknown or the request has no single CN.
std::string DuplicateGroup(const CsrRequest& request);

struct DuplicateMember {
  std::string name;
  std::optional<x509::Time> created;  // metadata.creationTimestamp
};

// Whether `a` is newer than `b`: a later creationTimestamp, then (same second)
// the greater name. A member without a creationTimestamp is older than any
// with one.
bool IsNewer(const DuplicateMember& a, const DuplicateMember& b);

// The index of the newest of `members` (IsNewer); nullopt when it is empty.
std::optional<size_t> NewestOf(const std::vector<DuplicateMember>& members);

// What becomes of a superseded CSR (`--csr-superseded`): denied, left pending,
// or nothing is superseded (every CSR is decided on its own and counts against
// the flood guard, as if it were the only one).
enum class SupersededAction { kDeny, kLeave, kOff };
// "deny", "leave" or "off"; InvalidArgument otherwise.
Result<SupersededAction> ParseSupersededAction(std::string_view text);

}  // namespace certguard::csr
