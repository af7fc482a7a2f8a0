#include "csr/handlers.h"

#include "common/json_fields.h"
#include "common/json_parse.h"
#include "csr/approval.h"
#include "csr/policy.h"

namespace certguard::csr {

namespace {

using common::Str;
using Kind = kube::Change::Kind;

int64_t Generation(const nlohmann::json& obj) {
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) return 0;
  const auto& m = obj["metadata"];
  return m.contains("generation") ? common::IntIn(m["generation"], 0, INT64_MAX).value_or(0) : 0;
}

bool IsKubeletSigner(const std::string& s) { return s == kClientSigner || s == kServingSigner; }

// What a Node change must match for pending decisions to be worth redoing.
nlohmann::json NodeDecisionFacts(const nlohmann::json& node) {
  nlohmann::json f = nlohmann::json::object();
  if (!node.is_object()) return f;
  if (node.contains("metadata") && node["metadata"].is_object()) {
    f["labels"] = node["metadata"].value("labels", nlohmann::json::object());
  }
  if (node.contains("status") && node["status"].is_object()) {
    const auto& st = node["status"];
    f["addresses"] = st.contains("addresses") ? st["addresses"] : nlohmann::json();
    if (st.contains("conditions") && st["conditions"].is_array()) {
      for (const auto& c : st["conditions"]) {
        if (c.is_object() && c.contains("type") && c["type"] == "Ready") {
          f["ready"] = c.contains("status") ? c["status"] : nlohmann::json();
        }
      }
    }
  }
  return f;
}

}  // namespace

void CsrChangeHandlers::EnqueuePending() {
  for (const auto& key : indexes_.pending.Keys()) sink_.EnqueueCsr(key);
}

void CsrChangeHandlers::OnCsr(const kube::Change& ch) {
  if (ch.kind == Kind::kDelete) {
    indexes_.pending.Remove(ch.key);
    indexes_.renewals.Remove(ch.key);
    sink_.ForgetCsr(ch.key, Str(*ch.object, "metadata", "uid"));
    // A smaller backlog may end a flood: look at the held ones again now.
    if (!IsDecided(*ch.object)) EnqueuePending();
    return;
  }
  // A resync hands back the cached copy, which holds no certificate.
  if (ch.object != ch.old_object) indexes_.renewals.Update(ch.key, *ch.object);
  // A new retry supersedes the older ones: decide them (as Superseded) now.
  for (const auto& older : indexes_.pending.Update(ch.key, *ch.object)) sink_.EnqueueCsr(older);
  if (!IsKubeletSigner(Str(*ch.object, "spec", "signerName"))) return;
  if (!IsDecided(*ch.object)) {
    sink_.EnqueueCsr(ch.key);
  } else if (ch.kind == Kind::kUpdate && ch.old_object && !IsDecided(*ch.old_object)) {
    // Decided (by us or anyone): the backlog shrank.
    sink_.RecheckHeld();
  }
}

void CsrChangeHandlers::OnNode(const kube::Change& ch) {
  if (ch.kind == Kind::kUpdate && ch.old_object &&
      NodeDecisionFacts(*ch.old_object) == NodeDecisionFacts(*ch.object)) {
    return;  // a heartbeat: nothing a decision depends on changed
  }
  const std::string node = Str(*ch.object, "metadata", "name");
  if (ch.kind == Kind::kDelete) {
    indexes_.addresses.Remove(node);
    indexes_.renewals.ForgetNode(node);
  } else if (auto facts = NodeFromObject(*ch.object); facts.ok()) {
    indexes_.addresses.Update(node, AddressKeys(*facts));
  } else {
    indexes_.addresses.Remove(node);
  }
  EnqueuePending();
}

void CsrChangeHandlers::OnPolicy(const kube::Change& ch) {
  std::string name = Str(*ch.object, "metadata", "name");
  if (ch.kind == Kind::kUpdate && ch.old_object &&
      Generation(*ch.old_object) == Generation(*ch.object)) {
    return;  // only its status changed (often our own write)
  }
  EnqueuePending();
  if (ch.kind != Kind::kDelete) sink_.EnqueuePolicyStatus(name);
}

}  // namespace certguard::csr
