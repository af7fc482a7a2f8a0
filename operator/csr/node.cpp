#include "csr/node.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/json_fields.h"

namespace certguard::csr {

namespace {

using common::Field;
using common::Str;

}  // namespace

Result<NodeFacts> NodeFromObject(const nlohmann::json& object) {
  if (!object.is_object()) return InvalidArgument("node is not an object");
  if (const auto& kind = Field(object, "kind"); !kind.is_null() && kind != "Node") {
    return InvalidArgument("expected kind Node, got " + kind.dump());
  }
  NodeFacts n;
  const auto& meta = Field(object, "metadata");
  if (!meta.is_object()) return InvalidArgument("node has no metadata");
  n.name = Str(meta, "name");
  if (n.name.empty()) return InvalidArgument("node has no metadata.name");
  n.labels = common::StrMap(Field(meta, "labels"));
  const auto& status = Field(object, "status");
  if (!status.is_object()) return n;
  if (const auto& addrs = Field(status, "addresses"); addrs.is_array()) {
    for (const auto& a : addrs) {
      NodeAddress na{Str(a, "type"), Str(a, "address")};
      if (!na.type.empty() && !na.address.empty()) n.addresses.push_back(std::move(na));
    }
  }
  if (const auto& conds = Field(status, "conditions"); conds.is_array()) {
    for (const auto& c : conds) {
      if (Str(c, "type") != "Ready") continue;
      n.ready_status = Str(c, "status");
      if (auto t = common::ParseRfc3339(Str(c, "lastTransitionTime")); t.ok()) n.ready_since = *t;
    }
  }
  return n;
}

std::string IpKey(const x509::IpAddress& ip) {
  const auto& b = ip.bytes();
  return "ip:" + std::string(b.begin(), b.end());
}

std::string NodeOfKubeletCn(std::string_view subject_cn) {
  constexpr std::string_view kPrefix = "system:node:";
  if (subject_cn.substr(0, kPrefix.size()) != kPrefix || subject_cn.size() == kPrefix.size()) {
    return {};
  }
  return std::string(subject_cn.substr(kPrefix.size()));
}

std::string DnsKey(std::string_view name) {
  std::string out = "dns:";
  for (char c : name) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::vector<std::string> AddressKeys(const NodeFacts& node) {
  std::vector<std::string> keys;
  for (const auto& a : node.addresses) {
    if (a.type == "InternalIP" || a.type == "ExternalIP") {
      if (auto ip = x509::IpAddress::Parse(a.address); ip.ok()) keys.push_back(IpKey(*ip));
    } else if (a.type == "Hostname" || a.type == "InternalDNS" || a.type == "ExternalDNS") {
      keys.push_back(DnsKey(a.address));
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

void NodeAddressIndex::Update(const std::string& node, const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto old = by_node_.find(node); old != by_node_.end()) {
    for (const auto& k : old->second) {
      auto o = owners_.find(k);
      if (o == owners_.end()) continue;
      o->second.erase(node);
      if (o->second.empty()) owners_.erase(o);
    }
  }
  for (const auto& k : keys) owners_[k].insert(node);
  by_node_[node] = keys;
}

void NodeAddressIndex::Remove(const std::string& node) {
  Update(node, {});
  std::lock_guard<std::mutex> lock(mu_);
  by_node_.erase(node);
}

std::vector<std::string> NodeAddressIndex::Owners(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto o = owners_.find(key);
  if (o == owners_.end()) return {};
  return {o->second.begin(), o->second.end()};
}

}  // namespace certguard::csr
