// The facts about a Node that CSR decisions need. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/label_selector.h"
#include "common/status.h"
#include "x509/types.h"

namespace certguard::csr {

struct NodeAddress {
  std::string type;     // InternalIP, ExternalIP, Hostname, InternalDNS, ExternalDNS
  std::string address;  // as the Node lists it
};

struct NodeFacts {
  std::string name;
  common::Labels labels;
  std::vector<NodeAddress> addresses;
  // The Ready condition: "True", "False", "Unknown", or empty when absent.
  std::string ready_status;
  std::optional<x509::Time> ready_since;  // its lastTransitionTime
};

// A Node object (v1) as JSON. InvalidArgument when it is not a Node or has no
// name. Malformed addresses and conditions are skipped, never trusted. Never throws.
Result<NodeFacts> NodeFromObject(const nlohmann::json& object);

// "2026-11-24T05:18:33Z" (RFC 3339, with fraction or offset) as seconds.
Result<x509::Time> ParseRfc3339(const std::string& text);

using NodeMap = std::map<std::string, NodeFacts>;

}  // namespace certguard::csr
