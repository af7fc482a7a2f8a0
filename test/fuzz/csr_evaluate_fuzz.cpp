// CSR parsing plus policy evaluation on arbitrary bytes. The first byte picks
// the signer, requester and policy set; the rest is spec.request (PEM or DER).
// Never crashes; a decision always has reasons; and an approval is only ever
// given to a request that meets every rule no policy can relax.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "csr/evaluate.h"
#include "fuzz_check.h"
#include "x509/parse.h"

using namespace certguard;

namespace {

const csr::NodeMap& Nodes() {
  static const csr::NodeMap nodes = [] {
    csr::NodeMap m;
    csr::NodeFacts n;
    n.name = "worker-1";
    n.addresses = {{"InternalIP", "10.0.0.11"},
                   {"InternalIP", "fd00::11"},
                   {"InternalIP", "127.0.0.1"},  // listed, still never approved
                   {"InternalIP", "10.96.0.1"},  // a Service address: the same
                   {"Hostname", "kubernetes.default.svc"},
                   {"Hostname", "worker-1"},
                   {"InternalDNS", "worker-1.internal.example"}};
    n.ready_status = "False";
    n.ready_since = x509::Time{} + std::chrono::hours(24 * 365 * 50);
    m[n.name] = n;
    return m;
  }();
  return nodes;
}

const std::vector<csr::Policy>& Policies(int which) {
  static const std::vector<std::vector<csr::Policy>> sets = [] {
    csr::Policy wide = csr::DefaultPolicy();
    wide.name = "relaxed";
    wide.require_node_address_match = false;
    wide.allowed_ip_ranges = std::vector<x509::IpRange>{x509::IpRange::Parse("0.0.0.0/0").value(),
                                                        x509::IpRange::Parse("::/0").value()};
    wide.allowed_dns_patterns = std::vector<csr::Pattern>{csr::CompilePattern(".*").value()};
    wide.max_expiration_seconds = 1LL << 40;
    wide.bootstrap.existing_nodes = csr::ExistingNodes::kWhenNotReady;
    wide.bootstrap.usernames = {"system:bootstrap:abcdef"};
    csr::Policy narrow = csr::DefaultPolicy();
    narrow.name = "narrow";
    narrow.node_name_pattern = csr::CompilePattern("worker-[0-9]+").value();
    narrow.allowed_ip_ranges =
        std::vector<x509::IpRange>{x509::IpRange::Parse("10.0.0.0/8").value()};
    narrow.on_refusal = csr::OnRefusal::kIgnore;
    return std::vector<std::vector<csr::Policy>>{{}, {wide}, {narrow, wide}};
  }();
  return sets[which % sets.size()];
}

bool NodeSubject(const x509::Name& subject) {
  auto orgs = subject.Values("O");
  auto cns = subject.Values("CN");
  return orgs.size() == 1 && orgs[0] == "system:nodes" && cns.size() == 1 &&
         cns[0].starts_with("system:node:") && subject.attributes.size() == 2;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t sel = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  csr::CsrRequest req;
  req.signer_name = (sel & 1) ? csr::kServingSigner : csr::kClientSigner;
  req.usages = {"digital signature", (sel & 1) ? "server auth" : "client auth"};
  if (sel & 2) req.usages.push_back("key encipherment");
  req.username = (sel & 4) ? "system:bootstrap:abcdef" : "system:node:worker-1";
  req.groups = (sel & 4) ? std::vector<std::string>{"system:bootstrappers"}
                         : std::vector<std::string>{"system:nodes"};
  if (sel & 8) req.expiration_seconds = 86400;
  auto parsed = x509::ParseCsr(input);
  if (parsed.ok()) {
    req.csr = *parsed;
  } else {
    req.parse_error = parsed.status().message();
  }

  const auto& policies = Policies(sel >> 4);
  static const csr::ClusterNetwork network{"cluster.local",
                                           {x509::IpRange::Parse("10.96.0.0/12").value()}};
  auto d = csr::Evaluate(req, Nodes(), policies, x509::Time{} + std::chrono::hours(24 * 365 * 56),
                         network);
  FUZZ_CHECK(!d.reasons.empty());
  for (const auto& r : d.reasons) FUZZ_CHECK(!r.code.empty() && !r.message.empty());
  FUZZ_CHECK(!csr::DecisionToJson(d).empty());
  if (d.verdict == csr::Verdict::kApprove) {
    FUZZ_CHECK(req.csr.has_value());
    const auto& c = *req.csr;
    FUZZ_CHECK(c.signature_valid);
    FUZZ_CHECK(NodeSubject(c.subject));
    FUZZ_CHECK(c.other_extensions.empty());
    FUZZ_CHECK(c.sans.emails.empty() && c.sans.uris.empty() && c.sans.others.empty());
    FUZZ_CHECK(c.key.algorithm != x509::KeyAlgorithm::kRsa || c.key.bits >= 2048);
    FUZZ_CHECK(c.key.algorithm == x509::KeyAlgorithm::kRsa ||
               c.key.algorithm == x509::KeyAlgorithm::kEcdsa ||
               c.key.algorithm == x509::KeyAlgorithm::kEd25519);
    for (const auto& ip : c.sans.ips) {
      FUZZ_CHECK(!ip.IsLoopback() && !ip.IsUnspecified() && !ip.IsLinkLocal() &&
                 !ip.IsMulticast());
      FUZZ_CHECK(!network.service_cidrs[0].Contains(ip));
    }
    for (const auto& dns : c.sans.dns) {
      std::string lower;
      for (char ch : dns) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      FUZZ_CHECK(csr::ControlPlaneNameWhy(lower, network).empty());
    }
    if (req.signer_name == std::string(csr::kClientSigner)) FUZZ_CHECK(c.sans.empty());
    if (req.signer_name == std::string(csr::kServingSigner)) {
      FUZZ_CHECK(!c.sans.empty());
      FUZZ_CHECK(c.subject.Values("CN")[0] == "system:node:worker-1");
    }
    if (policies.empty()) {
      // The default policy: addresses are the Node's own.
      for (const auto& ip : c.sans.ips) {
        auto s = ip.ToString();
        FUZZ_CHECK(s == "10.0.0.11" || s == "fd00::11");
      }
    }
  }
  return 0;
}
