#include "csr/supersede.h"

#include "csr/policy.h"

namespace certguard::csr {

std::string DuplicateGroup(const CsrRequest& request) {
  if (request.signer_name != kClientSigner && request.signer_name != kServingSigner) return {};
  if (request.username.empty() || !request.csr) return {};
  auto cn = request.csr->subject.CommonName();
  if (!cn || cn->empty()) return {};
  // Unit separators: none of the three can hold one (a username or CN that did
  // would only make a group of its own).
  return request.signer_name + '\x1f' + request.username + '\x1f' + *cn;
}

bool IsNewer(const DuplicateMember& a, const DuplicateMember& b) {
  if (a.created != b.created) {
    if (!a.created) return false;
    if (!b.created) return true;
    return *a.created > *b.created;
  }
  return a.name > b.name;
}

std::optional<size_t> NewestOf(const std::vector<DuplicateMember>& members) {
  if (members.empty()) return std::nullopt;
  size_t best = 0;
  for (size_t i = 1; i < members.size(); ++i) {
    if (IsNewer(members[i], members[best])) best = i;
  }
  return best;
}

Result<SupersededAction> ParseSupersededAction(std::string_view text) {
  if (text == "deny") return SupersededAction::kDeny;
  if (text == "leave") return SupersededAction::kLeave;
  if (text == "off") return SupersededAction::kOff;
  return InvalidArgument("must be deny, leave or off, not \"" + std::string(text.substr(0, 64)) +
                         "\"");
}

}  // namespace certguard::csr
