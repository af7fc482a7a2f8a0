// The facts about a Node that CSR decisions need. Pure.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string_view>
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

// An issued certificate's validity, as its CSR shows it.
struct CertValidity {
  x509::Time not_before{};
  x509::Time not_after{};
  std::string csr;  // the CSR that issued it; empty when unknown
  bool operator==(const CertValidity&) const = default;
};

struct NodeFacts {
  std::string name;
  common::Labels labels;
  std::vector<NodeAddress> addresses;
  // The Ready condition: "True", "False", "Unknown", or empty when absent.
  std::string ready_status;
  std::optional<x509::Time> ready_since;  // its lastTransitionTime
  // The node's last issued kubelet client certificate, known from CSRs (not from
  // the Node object): a re-bootstrap is allowed only while it is dead.
  std::optional<CertValidity> last_client_cert;
};

// A Node object (v1) as JSON. InvalidArgument when it is not a Node or has no
// name. Malformed addresses and conditions are skipped, never trusted. Never throws.
Result<NodeFacts> NodeFromObject(const nlohmann::json& object);

// "worker-1" for a kubelet's CN or username "system:node:worker-1"; empty otherwise.
std::string NodeOfKubeletCn(std::string_view subject_cn);

using NodeMap = std::map<std::string, NodeFacts>;

// Keys that identify an address whatever its spelling: an IP by its bytes (an
// IPv4 address and its IPv4-mapped IPv6 form are one), a DNS name lower-cased.
std::string IpKey(const x509::IpAddress& ip);
std::string DnsKey(std::string_view name);
// The keys of a Node's addresses (InternalIP/ExternalIP as IPs, Hostname and
// the DNS types as names); unparseable ones are skipped.
std::vector<std::string> AddressKeys(const NodeFacts& node);

// Which Nodes list each address, kept up to date from Node changes, so that a
// decision can tell an address still to come from one that is another node's
// without scanning every Node. Thread-safe.
class NodeAddressIndex {
 public:
  void Update(const std::string& node, const std::vector<std::string>& keys);
  void Remove(const std::string& node);
  // The Nodes that list `key`, in name order.
  std::vector<std::string> Owners(const std::string& key) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<std::string>> by_node_;
  std::map<std::string, std::set<std::string>> owners_;
};

}  // namespace certguard::csr
