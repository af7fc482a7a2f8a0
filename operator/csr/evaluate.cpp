#include "csr/evaluate.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "common/names.h"

namespace certguard::csr {

namespace {

constexpr std::string_view kNodeUserPrefix = "system:node:";
constexpr char kNodesGroup[] = "system:nodes";

// What every rule needs, worked out once per request.
struct Facts {
  const CsrRequest& req;
  const ClusterNetwork& network;
  const x509::CsrInfo* csr = nullptr;     // null when unparseable
  std::optional<std::string> node_name;   // NAME of a well-formed CN=system:node:NAME
  const NodeFacts* node = nullptr;        // the Node named node_name, if it exists
  bool client = false;                    // kube-apiserver-client-kubelet
  bool serving = false;                   // kubelet-serving
  // The Node's addresses, parsed once (sorted, for lookups in log time): its
  // InternalIP/ExternalIP as bytes, its Hostname/InternalDNS/ExternalDNS lower-cased.
  std::vector<std::array<uint8_t, 16>> node_ips;
  std::vector<std::string> node_dns;
};

// A rule's outcome: every refusal, or on approval what was approved.
struct Outcome {
  Reasons refusals;
  Reason approval;
};

void Add(Reasons& out, const char* code, std::string message) {
  out.push_back(Reason{code, std::move(message)});
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A host name a serving certificate may carry: letters, digits, '-', '.';
// no wildcard, no empty label. Case is not significant.
bool IsDnsName(const std::string& s) { return common::IsDnsSubdomain(Lower(s)); }

std::optional<std::string> NodeNameFromCn(const x509::Name& subject) {
  auto cns = subject.Values("CN");
  if (cns.size() != 1 || !cns[0].starts_with(kNodeUserPrefix)) return std::nullopt;
  std::string name = cns[0].substr(kNodeUserPrefix.size());
  if (!common::IsDnsSubdomain(name)) return std::nullopt;
  return name;
}

// ---- Rules about the request itself; no policy can relax them. ----

Reasons CheckParsed(const Facts& f) {
  Reasons r;
  if (!f.csr) {
    // The strict reading's own code when it refused; CSRUnparseable otherwise.
    const std::string& code = f.req.parse_code;
    Add(r, code.empty() ? reason::kCsrUnparseable : code.c_str(),
        "spec.request is not a valid PKCS#10 request: " + f.req.parse_error);
  }
  return r;
}

Reasons CheckSignature(const x509::CsrInfo& csr) {
  Reasons r;
  if (!csr.signature_valid) {
    Add(r, reason::kSignatureInvalid, "the request's self-signature does not verify");
  }
  return r;
}

Reasons CheckKey(const x509::PublicKeyInfo& key) {
  Reasons r;
  switch (key.algorithm) {
    case x509::KeyAlgorithm::kRsa:
      if (key.bits < 2048) {
        Add(r, reason::kKeyTooWeak,
            "RSA key of " + std::to_string(key.bits) + " bits; at least 2048 are required");
      }
      break;
    case x509::KeyAlgorithm::kEcdsa:
      if (key.curve != "P-256" && key.curve != "P-384" && key.curve != "P-521") {
        Add(r, reason::kKeyAlgorithmNotAllowed,
            "ECDSA curve " + (key.curve.empty() ? std::string("(unknown)") : key.curve) +
                " is not P-256, P-384 or P-521");
      }
      break;
    case x509::KeyAlgorithm::kEd25519:
      break;
    default:
      Add(r, reason::kKeyAlgorithmNotAllowed,
          std::string("key algorithm ") + x509::KeyAlgorithmName(key.algorithm) +
              " is not allowed; use RSA (2048+), ECDSA P-256/P-384/P-521 or Ed25519");
  }
  return r;
}

Reasons CheckSubject(const Facts& f) {
  Reasons r;
  const auto& subject = f.csr->subject;
  auto orgs = subject.Values("O");
  if (orgs.size() != 1 || orgs[0] != kNodesGroup) {
    Add(r, reason::kSubjectNotNode,
        "subject must have exactly one O=system:nodes, has O=[" + Join(orgs) + "]");
  }
  auto cns = subject.Values("CN");
  if (cns.size() != 1) {
    Add(r, reason::kSubjectNotNode,
        "subject must have exactly one CN=system:node:NAME, has " + std::to_string(cns.size()));
  } else if (!f.node_name) {
    Add(r, reason::kSubjectNotNode,
        "CN " + cns[0].substr(0, 300) + " is not system:node:NAME with NAME a valid node name");
  }
  std::vector<std::string> extra;
  for (const auto& [type, value] : subject.attributes) {
    if (type != "CN" && type != "O") extra.push_back(type + "=" + value.substr(0, 100));
  }
  if (!extra.empty()) {
    Add(r, reason::kSubjectExtraAttributes,
        "subject may hold only CN and O, also has " + Join(extra));
  }
  return r;
}

Reasons CheckExtensions(const x509::CsrInfo& csr) {
  Reasons r;
  if (!csr.other_extensions.empty()) {
    Add(r, reason::kExtensionNotAllowed,
        "the request asks for extensions other than subjectAltName: " +
            Join(csr.other_extensions));
  }
  return r;
}

Reasons CheckUsages(const Facts& f) {
  Reasons r;
  const std::string purpose = f.client ? "client auth" : "server auth";
  std::set<std::string> got(f.req.usages.begin(), f.req.usages.end());
  std::set<std::string> base{"digital signature", purpose};
  std::set<std::string> with_ke{"digital signature", purpose, "key encipherment"};
  if (got != base && got != with_ke) {
    Add(r, reason::kUsagesNotAllowed,
        "usages [" + Join(f.req.usages) + "] are not {digital signature, " + purpose +
            "} (optionally with key encipherment)");
  }
  return r;
}

Reasons CheckExpiration(const Facts& f, const Policy& p) {
  Reasons r;
  if (!f.req.expiration_error.empty()) Add(r, reason::kExpirationInvalid, f.req.expiration_error);
  if (f.req.expiration_seconds && *f.req.expiration_seconds > p.max_expiration_seconds) {
    Add(r, reason::kExpirationTooLong,
        "expirationSeconds " + std::to_string(*f.req.expiration_seconds) + " exceeds " +
            std::to_string(p.max_expiration_seconds));
  }
  return r;
}

// ---- Who asks. ----

Reasons CheckRequesterKnown(const Facts& f) {
  Reasons r;
  if (f.req.username.empty() || f.req.groups.empty()) {
    Add(r, reason::kRequesterUnknown, "the request has no username or no groups");
  }
  return r;
}

// The node itself: system:node:NAME in system:nodes with NAME the CN's.
Reasons CheckNodeRequester(const Facts& f) {
  Reasons r;
  std::string requested = f.node_name ? *f.node_name : std::string("(none)");
  std::string name = f.req.username.substr(kNodeUserPrefix.size());
  if (!f.node_name || name != *f.node_name) {
    Add(r, reason::kRequesterNotSubject,
        "requester " + f.req.username + " asks for a certificate of node " + requested);
  }
  if (!Contains(f.req.groups, kNodesGroup)) {
    Add(r, reason::kRequesterNotInNodesGroup,
        "requester " + f.req.username + " is not in group system:nodes");
  }
  return r;
}

bool IsNodeUser(const std::string& username) { return username.starts_with(kNodeUserPrefix); }

bool IsBootstrapper(const CsrRequest& req, const BootstrapPolicy& b) {
  if (Contains(b.usernames, req.username)) return true;
  return std::any_of(req.groups.begin(), req.groups.end(),
                     [&](const std::string& g) { return Contains(b.groups, g); });
}

// since + wait <= now, without overflow: a wait past the end of time is never over.
bool NotReadyLongEnough(x509::Time since, int64_t wait_seconds, x509::Time now) {
  if (wait_seconds < 0) return false;
  const int64_t s = since.time_since_epoch().count();
  const int64_t n = now.time_since_epoch().count();
  if (n < s) return false;
  int64_t elapsed = 0;  // an overflow fails closed: not long enough
  if (__builtin_sub_overflow(n, s, &elapsed)) return false;
  return elapsed >= wait_seconds;
}

Outcome CheckClientRequester(const Facts& f, const Policy& p, x509::Time now) {
  Outcome o;
  const std::string name = f.node_name.value_or("(none)");
  if (IsNodeUser(f.req.username)) {
    o.refusals = CheckNodeRequester(f);
    o.approval = {reason::kApprovedRenewal, "node " + name + " renews its client certificate"};
    return o;
  }
  if (!IsBootstrapper(f.req, p.bootstrap)) {
    Add(o.refusals, reason::kRequesterNotBootstrapper,
        "requester " + f.req.username + " (groups " + Join(f.req.groups) + ") is neither node " +
            name + " nor a bootstrap identity");
    return o;
  }
  if (!p.bootstrap.allow) {
    Add(o.refusals, reason::kBootstrapNotAllowed,
        "policy " + p.name + " does not allow bootstrap requests (requester " + f.req.username +
            ")");
    return o;
  }
  o.approval = {reason::kApprovedBootstrap,
                "bootstrap identity " + f.req.username + " requests the first client certificate"
                " of node " + name};
  if (!f.node) return o;
  const auto& n = *f.node;
  if (p.bootstrap.existing_nodes == ExistingNodes::kWhenNotReady) {
    bool not_ready = n.ready_status != "True" && n.ready_since.has_value();
    if (not_ready && NotReadyLongEnough(*n.ready_since, p.bootstrap.not_ready_for_seconds, now)) {
      RebootstrapCheck dead = CheckRebootstrap(name, n.last_client_cert,
                                               p.bootstrap.recovery_window_until, p.name, now);
      if (!dead.allowed) {
        o.refusals = std::move(dead.refusals);
        return o;
      }
      o.approval = {reason::kApprovedBootstrap,
                    "bootstrap identity " + f.req.username + " re-bootstraps node " + name +
                        ", NotReady since " + common::FormatRfc3339(*n.ready_since) + ": " + dead.because};
      return o;
    }
    std::string state = n.ready_status == "True" ? std::string("is Ready")
                        : n.ready_since ? "is NotReady only since " + common::FormatRfc3339(*n.ready_since)
                                        : std::string("has no Ready condition");
    Add(o.refusals, reason::kBootstrapForExistingNode,
        "node " + name + " exists and " + state + "; a re-bootstrap needs it NotReady for " +
            std::to_string(p.bootstrap.not_ready_for_seconds) + "s");
    return o;
  }
  Add(o.refusals, reason::kBootstrapForExistingNode,
      "node " + name + " already exists: a bootstrap credential may not mint its certificate");
  return o;
}

Outcome CheckServingRequester(const Facts& f) {
  Outcome o;
  if (!IsNodeUser(f.req.username)) {
    Add(o.refusals, reason::kRequesterNotNode,
        "requester " + f.req.username + " is not a node; only node " +
            f.node_name.value_or("(none)") + " may ask for its serving certificate");
  } else {
    o.refusals = CheckNodeRequester(f);
  }
  if (f.node_name && !f.node) {
    Add(o.refusals, reason::kNodeNotFound, "node " + *f.node_name + " does not exist");
  }
  return o;
}

// ---- Subject alternative names. ----

Reasons CheckClientSans(const x509::CsrInfo& csr) {
  Reasons r;
  if (!csr.sans.empty()) {
    Add(r, reason::kSANsOnClientCert, "a kubelet client certificate carries no SANs");
  }
  return r;
}

// Bytes identify an address: an IPv4 address and its IPv4-mapped IPv6 form have the same.
bool NodeHasIp(const Facts& f, const x509::IpAddress& ip) {
  return std::binary_search(f.node_ips.begin(), f.node_ips.end(), ip.bytes());
}

bool NodeHasDns(const Facts& f, const std::string& lower_name) {
  return std::binary_search(f.node_dns.begin(), f.node_dns.end(), lower_name);
}

void IndexNodeAddresses(Facts& f) {
  for (const auto& a : f.node->addresses) {
    if (a.type == "InternalIP" || a.type == "ExternalIP") {
      if (auto parsed = x509::IpAddress::Parse(a.address); parsed.ok()) {
        f.node_ips.push_back(parsed->bytes());
      }
    } else if (a.type == "Hostname" || a.type == "InternalDNS" || a.type == "ExternalDNS") {
      f.node_dns.push_back(Lower(a.address));
    }
  }
  std::sort(f.node_ips.begin(), f.node_ips.end());
  std::sort(f.node_dns.begin(), f.node_dns.end());
}

// The built-in deny list and the policy's own: names and addresses no node
// certificate may carry, whatever its Node claims.
void CheckDeniedDns(const Facts& f, const Policy& p, const std::string& dns,
                    const std::string& lower, Reasons& r) {
  if (std::string why = ControlPlaneNameWhy(lower, f.network); !why.empty()) {
    Add(r, reason::kSANControlPlaneName, "DNS name " + dns + " " + why);
  }
  for (const auto& pat : p.denied_dns_patterns) {
    if (pat.Matches(lower)) {
      Add(r, reason::kSANDeniedPattern,
          "DNS name " + dns + " matches policy " + p.name + "'s deniedDNSPatterns entry " +
              pat.source);
      break;
    }
  }
}

void CheckDeniedIp(const Facts& f, const Policy& p, const x509::IpAddress& ip,
                   const std::string& text, Reasons& r) {
  for (const auto& range : f.network.service_cidrs) {
    if (range.Contains(ip)) {
      Add(r, reason::kSANServiceAddress,
          "IP " + text + " lies in the service range " + range.ToString());
      break;
    }
  }
  for (const auto& range : p.denied_ip_ranges) {
    if (range.Contains(ip)) {
      Add(r, reason::kSANDeniedRange,
          "IP " + text + " lies in policy " + p.name + "'s deniedIPRanges entry " +
              range.ToString());
      break;
    }
  }
}

Reasons CheckServingSans(const Facts& f, const Policy& p) {
  Reasons r;
  const auto& sans = f.csr->sans;
  const std::string node = f.node_name.value_or("(none)");
  if (sans.empty()) Add(r, reason::kNoSANs, "a serving certificate needs a DNS or IP SAN");
  for (const auto& e : sans.emails) {
    Add(r, reason::kSANTypeNotAllowed, "email SAN " + e.substr(0, 300) + " is not allowed");
  }
  for (const auto& u : sans.uris) {
    Add(r, reason::kSANTypeNotAllowed, "URI SAN " + u.substr(0, 300) + " is not allowed");
  }
  for (const auto& o : sans.others) {
    Add(r, reason::kSANTypeNotAllowed, "SAN " + o.substr(0, 300) + " is not allowed");
  }
  const bool match_node = p.require_node_address_match && f.node;
  for (const auto& dns : sans.dns) {
    if (!IsDnsName(dns)) {
      Add(r, reason::kSANInvalidDNSName,
          "DNS SAN " + dns.substr(0, 300) + " is not a host name (wildcards are refused)");
      continue;
    }
    const std::string lower = Lower(dns);
    CheckDeniedDns(f, p, dns, lower, r);
    if (match_node && !NodeHasDns(f, lower)) {
      Add(r, reason::kSANNotNodeAddress, "DNS name " + dns + " is not an address of node " + node);
    }
    if (p.allowed_dns_patterns &&
        std::none_of(p.allowed_dns_patterns->begin(), p.allowed_dns_patterns->end(),
                     [&](const Pattern& pat) { return pat.Matches(lower); })) {
      Add(r, reason::kSANNotAllowedPattern,
          "DNS name " + dns + " matches none of policy " + p.name + "'s allowedDNSPatterns");
    }
  }
  for (const auto& ip : sans.ips) {
    const std::string text = ip.ToString();
    if (ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocal() || ip.IsMulticast()) {
      Add(r, reason::kSANAddressNotRoutable,
          "IP " + text + " is loopback, unspecified, link-local or multicast");
      continue;
    }
    CheckDeniedIp(f, p, ip, text, r);
    if (match_node && !NodeHasIp(f, ip)) {
      Add(r, reason::kSANNotNodeAddress, "IP " + text + " is not an address of node " + node);
    }
    if (p.allowed_ip_ranges &&
        std::none_of(p.allowed_ip_ranges->begin(), p.allowed_ip_ranges->end(),
                     [&](const x509::IpRange& range) { return range.Contains(ip); })) {
      Add(r, reason::kSANNotAllowedRange,
          "IP " + text + " lies in none of policy " + p.name + "'s allowedIPRanges");
    }
  }
  return r;
}

void Append(Reasons& out, Reasons more) {
  for (auto& m : more) out.push_back(std::move(m));
}

Outcome CheckAll(const Facts& f, const Policy& p, x509::Time now) {
  Outcome o;
  Append(o.refusals, CheckRequesterKnown(f));
  Append(o.refusals, CheckUsages(f));
  Append(o.refusals, CheckExpiration(f, p));
  Append(o.refusals, CheckParsed(f));
  if (!f.csr) return o;  // nothing more can be known about an unreadable request
  Append(o.refusals, CheckSignature(*f.csr));
  Append(o.refusals, CheckKey(f.csr->key));
  Append(o.refusals, CheckSubject(f));
  Append(o.refusals, CheckExtensions(*f.csr));
  Outcome who;
  if (!f.req.username.empty()) {
    who = f.client ? CheckClientRequester(f, p, now) : CheckServingRequester(f);
    Append(o.refusals, std::move(who.refusals));
  }
  if (f.client) {
    Append(o.refusals, CheckClientSans(*f.csr));
  } else {
    Append(o.refusals, CheckServingSans(f, p));
    who.approval = {reason::kApprovedServing,
                    "node " + f.node_name.value_or("") + " gets a serving certificate"};
  }
  o.approval = std::move(who.approval);
  return o;
}

Facts MakeFacts(const CsrRequest& req, const NodeLookup& nodes, const ClusterNetwork& network) {
  Facts f{req, network, nullptr, std::nullopt, nullptr, false, false, {}, {}};
  f.client = req.signer_name == kClientSigner;
  f.serving = req.signer_name == kServingSigner;
  if (req.csr) {
    f.csr = &*req.csr;
    f.node_name = NodeNameFromCn(req.csr->subject);
    if (f.node_name && nodes) f.node = nodes(*f.node_name);
    if (f.node && f.serving) IndexNodeAddresses(f);
  }
  return f;
}

// Why a policy does not apply to the request; empty when it does.
Reasons NotApplicable(const Facts& f, const Policy& p) {
  Reasons r;
  if (!p.valid()) {
    Add(r, reason::kPolicyInvalid, "policy " + p.name + " is invalid: " + Join(p.errors, "; "));
  } else if (!Contains(p.signer_names, f.req.signer_name)) {
    Add(r, reason::kSignerNotInPolicy,
        "policy " + p.name + " does not list signer " + f.req.signer_name);
  } else if (p.node_name_pattern &&
             !(f.node_name && p.node_name_pattern->Matches(*f.node_name))) {
    Add(r, reason::kNodeNameNotMatched,
        "node name " + f.node_name.value_or("(none)") + " does not match policy " + p.name +
            "'s nodeNamePattern " + p.node_name_pattern->source);
  } else if (f.node && !p.node_selector.Matches(f.node->labels)) {
    Add(r, reason::kNodeSelectorNotMatched,
        "node " + f.node->name + " does not match policy " + p.name + "'s nodeSelector " +
            p.node_selector.ToString());
  }
  return r;
}

}  // namespace

RebootstrapCheck CheckRebootstrap(const std::string& node, const std::optional<CertValidity>& cert,
                                  const std::optional<x509::Time>& window_until,
                                  const std::string& policy, x509::Time now) {
  RebootstrapCheck c;
  const std::string from = cert && !cert->csr.empty() ? " (CSR " + cert->csr + ")" : "";
  if (cert && now >= cert->not_after) {
    c.allowed = true;
    c.because = "its last client certificate" + from + " expired at " + common::FormatRfc3339(cert->not_after);
    return c;
  }
  if (cert && now < cert->not_before) {
    c.allowed = true;
    c.because = "its last client certificate" + from + " is not valid before " +
                common::FormatRfc3339(cert->not_before) + " (a restore or a skewed clock)";
    return c;
  }
  if (window_until && now < *window_until) {
    c.allowed = true;
    c.because =
        "policy " + policy + "'s recovery window is open until " + common::FormatRfc3339(*window_until);
    return c;
  }
  if (cert) {
    Add(c.refusals, reason::kBootstrapNodeCertValid,
        "node " + node + "'s last client certificate" + from + " is valid until " +
            common::FormatRfc3339(cert->not_after) +
            ": its credentials are not dead, so a bootstrap credential may not replace them");
  } else {
    Add(c.refusals, reason::kBootstrapNodeCertUnknown,
        "no issued client certificate of node " + node +
            " is known (its CSRs are gone): its credentials cannot be shown dead");
  }
  if (window_until) {
    Add(c.refusals, reason::kRecoveryWindowClosed,
        "policy " + policy + "'s recovery window closed at " + common::FormatRfc3339(*window_until));
  } else {
    Add(c.refusals, reason::kRecoveryWindowNotOpen,
        "policy " + policy +
            " has no recovery window open (spec.bootstrap.recoveryWindowUntil, "
            "or certguard approve-pending --recovery 30m)");
  }
  return c;
}

std::string ControlPlaneNameWhy(const std::string& lower, const ClusterNetwork& network) {
  if (lower == "kubernetes" || lower == "kubernetes.default") {
    return "is a name of the API server's Service";
  }
  if (lower == "svc" || lower.ends_with(".svc")) return "is a Service name (under .svc)";
  const std::string& domain = network.cluster_domain;
  if (!domain.empty() && (lower == domain || lower.ends_with("." + domain))) {
    return "is in the cluster domain " + domain + " (Service and Pod names)";
  }
  return "";
}

Result<std::string> ParseClusterDomain(const std::string& text) {
  std::string d = Lower(text);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (!common::IsDnsSubdomain(d)) return InvalidArgument("cluster domain \"" + text + "\" is not a DNS name");
  return d;
}

Result<ClusterNetwork> MakeClusterNetwork(const std::string& cluster_domain,
                                          const std::vector<std::string>& service_cidrs) {
  ClusterNetwork n;
  auto domain = ParseClusterDomain(cluster_domain);
  if (!domain.ok()) return domain.status().Annotate("--cluster-domain");
  n.cluster_domain = *domain;
  for (const auto& cidr : service_cidrs) {
    auto r = x509::IpRange::Parse(cidr);
    if (!r.ok()) return r.status().Annotate("--service-cidr");
    n.service_cidrs.push_back(*r);
  }
  return n;
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kApprove: return "Approve";
    case Verdict::kDeny: return "Deny";
    case Verdict::kIgnore: return "Ignore";
  }
  return "Ignore";
}

Reasons Check(const CsrRequest& request, const NodeLookup& nodes, const Policy& policy,
              x509::Time now, const ClusterNetwork& network) {
  Facts f = MakeFacts(request, nodes, network);
  if (!f.client && !f.serving) {
    return {Reason{reason::kSignerNotHandled,
                   "signer " + request.signer_name + " is not a kubelet signer"}};
  }
  return CheckAll(f, policy, now).refusals;
}

Decision Evaluate(const CsrRequest& request, const NodeLookup& nodes,
                  const std::vector<Policy>& policies, x509::Time now,
                  const ClusterNetwork& network) {
  Decision d;
  Facts f = MakeFacts(request, nodes, network);
  if (!f.client && !f.serving) {
    d.verdict = Verdict::kIgnore;
    d.policy = kDefaultPolicyName;
    Add(d.reasons, reason::kSignerNotHandled,
        "signer " + request.signer_name.substr(0, 300) + " is not a kubelet signer: not handled");
    return d;
  }

  static const std::vector<Policy> kDefault{DefaultPolicy()};
  std::vector<const Policy*> order;
  for (const auto& p : policies.empty() ? kDefault : policies) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(),
                   [](const Policy* a, const Policy* b) { return a->name < b->name; });

  Reasons not_applicable;
  const Policy* denier = nullptr;
  const Policy* ignorer = nullptr;
  Reasons deny_reasons, ignore_reasons;
  for (const Policy* p : order) {
    Reasons why_not = NotApplicable(f, *p);
    if (!why_not.empty()) {
      Append(not_applicable, std::move(why_not));
      continue;
    }
    Outcome o = CheckAll(f, *p, now);
    if (o.refusals.empty()) {
      d.verdict = Verdict::kApprove;
      d.policy = p->name;
      d.dry_run = p->dry_run;
      d.reasons.push_back(std::move(o.approval));
      return d;
    }
    if (p->on_refusal == OnRefusal::kDeny && !denier) {
      denier = p;
      deny_reasons = std::move(o.refusals);
    } else if (p->on_refusal == OnRefusal::kIgnore && !ignorer) {
      ignorer = p;
      ignore_reasons = std::move(o.refusals);
    }
  }
  if (denier) {
    d.verdict = Verdict::kDeny;
    d.policy = denier->name;
    d.dry_run = denier->dry_run;
    d.reasons = std::move(deny_reasons);
  } else if (ignorer) {
    d.verdict = Verdict::kIgnore;
    d.policy = ignorer->name;
    d.dry_run = ignorer->dry_run;
    d.reasons = std::move(ignore_reasons);
  } else {
    d.verdict = Verdict::kIgnore;
    Add(d.reasons, reason::kNoApplicablePolicy,
        "no CSRApprovalPolicy applies to this request; it is left for a person");
    Append(d.reasons, std::move(not_applicable));
  }
  return d;
}

Decision Evaluate(const CsrRequest& request, const NodeMap& nodes,
                  const std::vector<Policy>& policies, x509::Time now,
                  const ClusterNetwork& network) {
  NodeLookup lookup = [&nodes](const std::string& name) -> const NodeFacts* {
    auto it = nodes.find(name);
    return it == nodes.end() ? nullptr : &it->second;
  };
  return Evaluate(request, lookup, policies, now, network);
}

std::string DecisionToJson(const Decision& d) {
  nlohmann::json j;
  j["decision"] = VerdictName(d.verdict);
  j["policy"] = d.policy;
  j["reasons"] = nlohmann::json::array();
  for (const auto& r : d.reasons) {
    j["reasons"].push_back({{"code", r.code}, {"message", r.message}});
  }
  j["dryRun"] = d.dry_run;
  // Messages quote request fields verbatim: replace invalid UTF-8 rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace certguard::csr
