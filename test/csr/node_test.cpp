#include "csr/node.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace certguard;
using namespace certguard::csr;
using namespace std::chrono;

TEST_CASE("NodeFromObject keeps name, labels, addresses and readiness", "[csr][node]") {
  auto j = nlohmann::json::parse(R"({
    "apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "worker-1", "labels": {"zone": "a", "n": 1}},
    "status": {
      "addresses": [{"type": "InternalIP", "address": "10.0.0.11"},
                    {"type": "Hostname", "address": "worker-1"},
                    {"type": "ExternalDNS"},
                    "garbage"],
      "conditions": [{"type": "MemoryPressure", "status": "False"},
                     {"type": "Ready", "status": "False",
                      "lastTransitionTime": "2026-11-24T05:00:00Z"}]}})");
  auto n = NodeFromObject(j);
  REQUIRE(n.ok());
  CHECK(n->name == "worker-1");
  CHECK(n->labels == common::Labels{{"zone", "a"}});  // non-string values are dropped
  REQUIRE(n->addresses.size() == 2);
  CHECK(n->addresses[0].type == "InternalIP");
  CHECK(n->addresses[1].address == "worker-1");
  CHECK(n->ready_status == "False");
  REQUIRE(n->ready_since.has_value());
  CHECK(*n->ready_since == sys_days{year{2026} / 11 / 24} + 5h);
}

TEST_CASE("NodeFromObject refuses what is not a Node", "[csr][node]") {
  CHECK_FALSE(
      NodeFromObject(nlohmann::json::parse(R"({"kind":"Pod","metadata":{"name":"a"}})")).ok());
  CHECK_FALSE(NodeFromObject(nlohmann::json::parse(R"({"kind":"Node","metadata":{}})")).ok());
  CHECK_FALSE(NodeFromObject(nlohmann::json::parse(R"({"kind":"Node"})")).ok());
  CHECK_FALSE(NodeFromObject(nlohmann::json::parse("3")).ok());
  auto bare = NodeFromObject(nlohmann::json::parse(R"({"kind":"Node","metadata":{"name":"a"}})"));
  REQUIRE(bare.ok());
  CHECK(bare->addresses.empty());
  CHECK(bare->ready_status.empty());
}

TEST_CASE("AddressKeys identify an address whatever its spelling", "[csr][node]") {
  NodeFacts n;
  n.name = "worker-1";
  n.addresses = {{"InternalIP", "10.0.0.11"},  {"ExternalIP", "fd00:0:0:0:0:0:0:11"},
                 {"Hostname", "Worker-1"},     {"InternalDNS", "worker-1.example.com"},
                 {"InternalIP", "not an ip"},  {"Other", "10.0.0.99"},
                 {"ExternalIP", "10.0.0.11"}};
  auto keys = AddressKeys(n);
  CHECK(keys.size() == 4);  // the bad IP and the unknown type skipped, the repeat once
  auto has = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); };
  CHECK(has(IpKey(x509::IpAddress::Parse("fd00::11").value())));
  CHECK(has(IpKey(x509::IpAddress::Parse("::ffff:10.0.0.11").value())));  // the same address
  CHECK(has(DnsKey("WORKER-1")));
  CHECK(has(DnsKey("worker-1.example.com")));
  CHECK_FALSE(has(IpKey(x509::IpAddress::Parse("10.0.0.99").value())));
  CHECK(IpKey(x509::IpAddress::Parse("10.0.0.1").value()) != DnsKey("10.0.0.1"));
}

TEST_CASE("NodeAddressIndex follows Node changes", "[csr][node]") {
  NodeAddressIndex index;
  const std::string ip = IpKey(x509::IpAddress::Parse("10.0.0.11").value());
  CHECK(index.Owners(ip).empty());
  index.Update("worker-1", {ip, DnsKey("worker-1")});
  index.Update("worker-2", {ip});
  CHECK(index.Owners(ip) == std::vector<std::string>{"worker-1", "worker-2"});
  // An address a Node no longer lists is no longer its own.
  index.Update("worker-1", {DnsKey("worker-1")});
  CHECK(index.Owners(ip) == std::vector<std::string>{"worker-2"});
  index.Remove("worker-2");
  CHECK(index.Owners(ip).empty());
  CHECK(index.Owners(DnsKey("worker-1")) == std::vector<std::string>{"worker-1"});
  index.Remove("worker-1");
  index.Remove("never-there");
  CHECK(index.Owners(DnsKey("worker-1")).empty());
}

TEST_CASE("NodeOfKubeletCn takes the node from system:node:NAME", "[csr][node]") {
  CHECK(NodeOfKubeletCn("system:node:worker-1") == "worker-1");
  CHECK(NodeOfKubeletCn("system:node:") == "");
  CHECK(NodeOfKubeletCn("system:nodes") == "");
  CHECK(NodeOfKubeletCn("kube-apiserver") == "");
  CHECK(NodeOfKubeletCn("") == "");
}
