#include "csr/policy.h"

#include <re2/re2.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/json_parse.h"
#include "csr/approval.h"
#include "csr/node.h"
#include "csr/request.h"

namespace certguard::csr {

namespace {

// Longest pattern accepted, and the memory RE2 may use for one (its default is 8 MiB).
constexpr size_t kMaxPatternLength = 1024;
constexpr int64_t kMaxPatternMemory = 8 << 20;

// Reads one optional field, recording a type error in `errors` (never throwing).
class FieldReader {
 public:
  FieldReader(const nlohmann::json& obj, std::string prefix, std::vector<std::string>& errors)
      : obj_(obj), prefix_(std::move(prefix)), errors_(errors) {}

  const nlohmann::json* Get(const char* key) const {
    if (!obj_.is_object()) return nullptr;
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  void Bool(const char* key, bool& out) {
    if (auto* v = Get(key)) {
      if (v->is_boolean()) {
        out = v->get<bool>();
      } else {
        Error(key, "must be a boolean");
      }
    }
  }

  void Int(const char* key, int64_t& out, int64_t min, int64_t max) {
    if (auto* v = Get(key)) {
      if (auto i = common::IntIn(*v, min, max)) {
        out = *i;
      } else {
        Error(key, "must be an integer from " + std::to_string(min) + " to " +
                       std::to_string(max));
      }
    }
  }

  // Absent: leaves `out` (the default) alone.
  bool Strings(const char* key, std::vector<std::string>& out) {
    auto* v = Get(key);
    if (!v) return false;
    if (!v->is_array()) {
      Error(key, "must be a list of strings");
      return false;
    }
    std::vector<std::string> list;
    for (const auto& s : *v) {
      if (!s.is_string()) {
        Error(key, "must be a list of strings");
        return false;
      }
      list.push_back(s.get<std::string>());
    }
    out = std::move(list);
    return true;
  }

  void Error(const std::string& key, const std::string& what) {
    errors_.push_back(prefix_ + key + " " + what);
  }

 private:
  const nlohmann::json& obj_;
  std::string prefix_;
  std::vector<std::string>& errors_;
};

}  // namespace

bool Pattern::Matches(const std::string& s) const {
  // FullMatch anchors the whole pattern, alternatives included ("a|b" is ^(?:a|b)$).
  return regex && RE2::FullMatch(s, *regex);
}

Result<Pattern> CompilePattern(const std::string& source) {
  if (source.size() > kMaxPatternLength) {
    return InvalidArgument("pattern longer than " + std::to_string(kMaxPatternLength) +
                           " characters");
  }
  RE2::Options options;
  options.set_log_errors(false);  // the error is returned, not printed
  options.set_max_mem(kMaxPatternMemory);
  auto re = std::make_shared<const RE2>(source, options);
  if (!re->ok()) {
    return InvalidArgument("pattern " + source + " does not compile: " + re->error() +
                           " (RE2 syntax: no backreferences or lookaround)");
  }
  return Pattern{source, std::move(re)};
}

Policy DefaultPolicy() { return Policy{}; }

const char* OnRefusalName(OnRefusal o) { return o == OnRefusal::kDeny ? "Deny" : "Ignore"; }

const char* ExistingNodesName(ExistingNodes e) {
  return e == ExistingNodes::kRefuse ? "Refuse" : "WhenNotReady";
}

std::vector<std::string> RecoveryWindowTargets(const std::vector<Policy>& policies) {
  std::vector<std::string> out;
  for (const auto& p : policies) {
    if (!p.valid() || p.bootstrap.existing_nodes != ExistingNodes::kWhenNotReady ||
        !p.bootstrap.allow) {
      continue;
    }
    for (const auto& s : p.signer_names) {
      if (s == kClientSigner) {
        out.push_back(p.name);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string RecoveryWindowPatch(x509::Time until) {
  nlohmann::json patch = {
      {"spec", {{"bootstrap", {{"recoveryWindowUntil", common::FormatRfc3339(until)}}}}}};
  return patch.dump();
}

namespace {

// A list of CIDRs; nullopt when the field is absent.
std::optional<std::vector<x509::IpRange>> ReadRanges(FieldReader& f, const char* field) {
  std::vector<std::string> list;
  if (!f.Strings(field, list)) return std::nullopt;
  std::vector<x509::IpRange> ranges;
  for (const auto& cidr : list) {
    if (auto r = x509::IpRange::Parse(cidr); r.ok()) {
      ranges.push_back(*r);
    } else {
      f.Error(field, "has a bad CIDR " + cidr + ": " + r.status().message());
    }
  }
  return ranges;
}

// A list of RE2 patterns; nullopt when the field is absent.
std::optional<std::vector<Pattern>> ReadPatterns(FieldReader& f, const char* field) {
  std::vector<std::string> list;
  if (!f.Strings(field, list)) return std::nullopt;
  std::vector<Pattern> patterns;
  for (const auto& src : list) {
    if (auto pat = CompilePattern(src); pat.ok()) {
      patterns.push_back(std::move(*pat));
    } else {
      f.Error(field, pat.status().message());
    }
  }
  return patterns;
}

// Which requests the policy is about: signers, node names, node labels.
void ReadScope(FieldReader& f, Policy& p) {
  if (f.Strings("signerNames", p.signer_names)) {
    if (p.signer_names.empty()) f.Error("signerNames", "must not be empty");
    for (const auto& s : p.signer_names) {
      if (s != kClientSigner && s != kServingSigner) {
        f.Error("signerNames", "lists " + s + ": only the two kubelet signers are handled");
      }
    }
  }
  if (auto* v = f.Get("nodeNamePattern")) {
    if (!v->is_string()) {
      f.Error("nodeNamePattern", "must be a string");
    } else if (auto pat = CompilePattern(v->get<std::string>()); pat.ok()) {
      p.node_name_pattern = std::move(*pat);
    } else {
      f.Error("nodeNamePattern", pat.status().message());
    }
  }
  if (auto* v = f.Get("nodeSelector")) {
    if (auto sel = common::LabelSelector::FromJson(*v); sel.ok()) {
      p.node_selector = std::move(*sel);
    } else {
      p.errors.push_back("spec." + sel.status().message());
    }
  }
}

// What a serving certificate may name, and for how long.
void ReadSubjectAltNameRules(FieldReader& f, Policy& p) {
  p.allowed_ip_ranges = ReadRanges(f, "allowedIPRanges");
  p.allowed_dns_patterns = ReadPatterns(f, "allowedDNSPatterns");
  p.denied_ip_ranges = ReadRanges(f, "deniedIPRanges").value_or(std::vector<x509::IpRange>{});
  p.denied_dns_patterns = ReadPatterns(f, "deniedDNSPatterns").value_or(std::vector<Pattern>{});
  f.Bool("requireNodeAddressMatch", p.require_node_address_match);
  if (!p.require_node_address_match &&
      (!p.allowed_ip_ranges.has_value() || !p.allowed_dns_patterns.has_value())) {
    // Dropping the address match with nothing in its place would allow any SAN.
    f.Error("requireNodeAddressMatch",
            "false needs both allowedIPRanges and allowedDNSPatterns (an empty list allows none)");
  }
  f.Int("maxExpirationSeconds", p.max_expiration_seconds, kMinExpirationSeconds,
        kMaxExpirationSeconds);
}

void ReadBootstrap(const nlohmann::json& b, std::vector<std::string>& errors,
                   BootstrapPolicy& out) {
  FieldReader bf(b, "spec.bootstrap.", errors);
  bf.Bool("allow", out.allow);
  bf.Strings("groups", out.groups);
  bf.Strings("usernames", out.usernames);
  for (const auto& g : out.groups) {
    // These groups hold every node or every user: never bootstrap identities.
    if (g == "system:nodes" || g == "system:authenticated" || g == "system:masters") {
      bf.Error("groups", "must not contain " + g);
    }
  }
  if (auto* e = bf.Get("existingNodes")) {
    if (e->is_string() && e->get<std::string>() == "Refuse") {
      out.existing_nodes = ExistingNodes::kRefuse;
    } else if (e->is_string() && e->get<std::string>() == "WhenNotReady") {
      out.existing_nodes = ExistingNodes::kWhenNotReady;
    } else {
      bf.Error("existingNodes", "must be Refuse or WhenNotReady");
    }
  }
  bf.Int("notReadyForSeconds", out.not_ready_for_seconds, 0, kMaxNotReadyForSeconds);
  if (auto* w = bf.Get("recoveryWindowUntil")) {
    auto until = w->is_string() ? common::ParseRfc3339(w->get<std::string>())
                                : Result<x509::Time>(InvalidArgument("not a string"));
    if (until.ok()) {
      out.recovery_window_until = *until;
    } else {
      bf.Error("recoveryWindowUntil", "must be an RFC 3339 time (2026-12-06T10:30:00Z)");
    }
  }
}

}  // namespace

Result<Policy> PolicyFromObject(const nlohmann::json& object) {
  if (!object.is_object()) return InvalidArgument("policy is not an object");
  auto kind = object.find("kind");
  if (kind != object.end() && !(kind->is_string() && kind->get<std::string>() == kPolicyKind)) {
    return InvalidArgument("expected kind " + std::string(kPolicyKind) + ", got " +
                           (kind->is_string() ? kind->get<std::string>() : kind->dump()));
  }
  Policy p;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object() || !meta->contains("name") ||
      !(*meta)["name"].is_string() || (*meta)["name"].get<std::string>().empty()) {
    return InvalidArgument("policy has no metadata.name");
  }
  p.name = (*meta)["name"].get<std::string>();

  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json* spec = &kEmpty;
  if (auto it = object.find("spec"); it != object.end() && !it->is_null()) {
    if (it->is_object()) {
      spec = &*it;
    } else {
      p.errors.push_back("spec must be an object");
    }
  }
  FieldReader f(*spec, "spec.", p.errors);
  ReadScope(f, p);
  ReadSubjectAltNameRules(f, p);
  if (auto* b = f.Get("bootstrap")) {
    if (b->is_object()) {
      ReadBootstrap(*b, p.errors, p.bootstrap);
    } else {
      f.Error("bootstrap", "must be an object");
    }
  }
  if (auto* v = f.Get("onRefusal")) {
    if (v->is_string() && v->get<std::string>() == "Deny") {
      p.on_refusal = OnRefusal::kDeny;
    } else if (v->is_string() && v->get<std::string>() == "Ignore") {
      p.on_refusal = OnRefusal::kIgnore;
    } else {
      f.Error("onRefusal", "must be Deny or Ignore");
    }
  }
  f.Bool("dryRun", p.dry_run);
  return p;
}

}  // namespace certguard::csr
