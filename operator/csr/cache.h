// What the CSR controller's caches keep of each object (the informers'
// cache_transform): only what decisions, the backlog and the metrics read, so
// that a cluster of thousands of Nodes and decided CSRs costs little memory.
// Pure, thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace certguard::csr {

// The parts of a Node that neither NodeForCache keeps nor the controller's Node
// handler reads: lists and watches drop them as they parse (kube::ListOptions::
// drop_fields),
// the bulk of a real Node (images, managedFields) is then never built.
extern const std::vector<std::string> kNodeFieldsUnread;

// A Node: metadata.name, resourceVersion and labels
// (policies' nodeSelectors), status.addresses, and the Ready condition (type,
// status, lastTransitionTime). NodeFromObject reads the same facts from it as
// from the whole Node.
nlohmann::json NodeForCache(const nlohmann::json& node);

// A CSR still pending is kept whole (it is decided and written from the cache).
// A decided one (IsDecided) keeps metadata.name, uid and resourceVersion,
// spec.signerName and spec.username
// (its node), and the type and status of its Approved, Denied and Failed
// conditions: StateOf tells it decided as before (an issued one reads as
// Approved, its certificate is not kept), and Summarize leaves it out.
nlohmann::json CsrForCache(const nlohmann::json& csr);

}  // namespace certguard::csr
