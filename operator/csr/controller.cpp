#include "csr/controller.h"

#include <chrono>

#include "common/json_fields.h"
#include "common/json_parse.h"
#include "common/memory.h"
#include "common/log.h"
#include "csr/approval.h"
#include "csr/cache.h"
#include "csr/node.h"
#include "csr/request.h"
#include "csr/write.h"
#include "kube/resource.h"

namespace certguard::csr {

namespace {

using kube::ReconcileResult;
const kube::Resource& kCsrs = kube::resources::kCertificateSigningRequests;
const kube::Resource& kPolicies = kube::resources::kCsrApprovalPolicies;

using common::Str;

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

kube::InformerOptions CacheOptions(nlohmann::json (*trim)(const nlohmann::json&),
                                   std::vector<std::string> drop = {},
                                   kube::KeepAsText as_text = nullptr) {
  kube::InformerOptions o;
  o.cache_transform = trim;
  o.cache_as_text = std::move(as_text);
  o.list_from_watch_cache = true;  // start-up in a big cluster: one response, not 30 pages
  o.drop_fields = std::move(drop);
  return o;
}

}  // namespace

class CsrController::CsrReconciler : public kube::Reconciler {
 public:
  explicit CsrReconciler(CsrController& c) : c_(c) {}
  ReconcileResult Reconcile(const std::string& key) override { return c_.ReconcileCsr(key); }

 private:
  CsrController& c_;
};

class CsrController::CacheView : public CsrView {
 public:
  explicit CacheView(const CsrController& c) : c_(c) {}
  kube::ObjectPtr Csr(const std::string& name) const override {
    return c_.csrs_.store().Get(name);
  }
  kube::ObjectPtr Node(const std::string& name) const override {
    return c_.nodes_.store().Get(name);
  }
  kube::ObjectPtr Policy(const std::string& name) const override {
    return c_.policies_.store().Get(name);
  }
  std::vector<kube::ObjectPtr> Policies() const override { return c_.policies_.store().List(); }

 private:
  const CsrController& c_;
};

class CsrController::StatusReconciler : public kube::Reconciler {
 public:
  explicit StatusReconciler(CsrController& c) : c_(c) {}
  ReconcileResult Reconcile(const std::string& key) override {
    return c_.ReconcilePolicyStatus(key);
  }

 private:
  CsrController& c_;
};

CsrController::CsrController(kube::Client& client, kube::EventRecorder& events, CsrMetrics* metrics,
                             CsrControllerOptions options)
    : client_(client),
      events_(events),
      metrics_(metrics),
      options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : common::SystemClock()),
      // Thousands of decided CSRs and Nodes, each read one at a time: kept as
      // text. A pending CSR stays a tree (every reconcile of it reads it).
      csrs_(client, kCsrs, CacheOptions(CsrForCache, {}, IsDecided)),
      nodes_(client, kube::resources::kNodes,
             CacheOptions(NodeForCache, kNodeFieldsUnread,
                          [](const nlohmann::json&) { return true; })),
      policies_(client, kPolicies, CacheOptions(nullptr)),
      cache_view_(std::make_unique<CacheView>(*this)),
      view_(options_.view ? *options_.view : *cache_view_),
      pending_(options_.plan.superseded != SupersededAction::kOff),
      record_(events, options_.approval_events, metrics, options_.clock,
              [this](const std::string& policy) { return view_.Policy(policy) != nullptr; }) {
  csr_reconciler_ = std::make_unique<CsrReconciler>(*this);
  status_reconciler_ = std::make_unique<StatusReconciler>(*this);

  csrs_.AddHandler([this](const kube::Change& ch) {
    if (ch.kind == kube::Change::Kind::kDelete) {
      pending_.Remove(ch.key);
      renewals_->Remove(ch.key);
      record_.Forget(Str(*ch.object, "metadata", "uid"));
      {
        std::lock_guard<std::mutex> lock(mu_);
        held_.erase(ch.key);
      }
      // A smaller backlog may end a flood: look at the held ones again now.
      if (!IsDecided(*ch.object)) EnqueuePending();
      return;
    }
    // A resync hands back the cached copy, which holds no certificate.
    if (ch.object != ch.old_object) renewals_->Update(ch.key, *ch.object);
    // A new retry supersedes the older ones: decide them (as Superseded) now.
    for (const auto& older : pending_.Update(ch.key, *ch.object)) queue_.Add(older);
    if (!IsKubeletSigner(Str(*ch.object, "spec", "signerName"))) return;
    if (!IsDecided(*ch.object)) {
      queue_.Add(ch.key);
    } else if (ch.kind == kube::Change::Kind::kUpdate && ch.old_object &&
               !IsDecided(*ch.old_object)) {
      // Decided (by us or anyone): the backlog shrank.
      RecheckHeld();
    }
  });
  nodes_.AddHandler([this](const kube::Change& ch) {
    if (ch.kind == kube::Change::Kind::kUpdate && ch.old_object &&
        NodeDecisionFacts(*ch.old_object) == NodeDecisionFacts(*ch.object)) {
      return;  // a heartbeat: nothing a decision depends on changed
    }
    const std::string node = Str(*ch.object, "metadata", "name");
    if (ch.kind == kube::Change::Kind::kDelete) {
      addresses_.Remove(node);
      renewals_->ForgetNode(node);
    } else if (auto facts = NodeFromObject(*ch.object); facts.ok()) {
      addresses_.Update(node, AddressKeys(*facts));
    } else {
      addresses_.Remove(node);
    }
    EnqueuePending();
  });
  policies_.AddHandler([this](const kube::Change& ch) {
    std::string name = Str(*ch.object, "metadata", "name");
    if (ch.kind == kube::Change::Kind::kUpdate && ch.old_object &&
        Generation(*ch.old_object) == Generation(*ch.object)) {
      return;  // only its status changed (often our own write)
    }
    EnqueuePending();
    if (ch.kind != kube::Change::Kind::kDelete) status_queue_.Add(name);
  });
}

CsrController::~CsrController() { Stop(); }

x509::Time CsrController::Now() const { return clock_.Now(); }

void CsrController::Start() {
  csrs_.Start();
  nodes_.Start();
  policies_.Start();
  starter_ = std::thread([this] { StartWhenSynced(); });
}

void CsrController::StartWhenSynced() {
  if (!kube::WaitForCacheSync({&csrs_, &nodes_, &policies_}, [this] { return stopping_.load(); },
                              "csr controller")) {
    return;
  }
  // The first lists were parsed whole, a page at a time, and trimmed into the
  // caches: what they freed goes back to the system instead of staying resident.
  common::ReleaseFreeMemory();
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (stopping_.load()) return;
  csr_controller_ = std::make_unique<kube::Controller>("csr", *csr_reconciler_, queue_,
                                                       std::max(1, options_.workers));
  status_controller_ =
      std::make_unique<kube::Controller>("csr-policy-status", *status_reconciler_, status_queue_, 1);
  csr_controller_->Start();
  status_controller_->Start();
  backlog_ = std::thread([this] { BacklogLoop(); });
  running_.store(true);
  log::Info("csr controller started",
            {{"csrs", std::to_string(csrs_.store().Size())},
             {"nodes", std::to_string(nodes_.store().Size())},
             {"policies", std::to_string(policies_.store().Size())}});
}

std::string CsrController::WaitingFor() const {
  if (running_.load()) return "";
  std::string cache = kube::WaitingFor({&csrs_, &nodes_, &policies_});
  return cache.empty() ? "workers starting" : cache;
}

void CsrController::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopping_.exchange(true)) return;
  }
  stop_cv_.notify_all();
  if (starter_.joinable()) starter_.join();
  if (csr_controller_) csr_controller_->Stop();
  if (status_controller_) status_controller_->Stop();
  if (backlog_.joinable()) backlog_.join();
  // Counts gathered since the last status write: one last try, best effort.
  std::vector<std::string> names = record_.TalliedPolicies();
  if (running_.load()) {
    for (const auto& name : names) (void)ReconcilePolicyStatus(name);
  }
  running_.store(false);
  policies_.Stop();
  nodes_.Stop();
  csrs_.Stop();
}

void CsrController::BacklogLoop() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stopping_.load()) {
    lock.unlock();
    (void)CurrentSummary(Now());
    lock.lock();
    stop_cv_.wait_for(lock, options_.backlog_refresh, [this] { return stopping_.load(); });
  }
}

std::vector<Policy> CsrController::CurrentPolicies() {
  auto objects = view_.Policies();
  std::vector<Policy> out;
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::pair<std::string, Policy>> next;
  for (const auto& obj : objects) {
    std::string name = Str(*obj, "metadata", "name");
    std::string rv = Str(*obj, "metadata", "resourceVersion");
    auto it = policy_cache_.find(name);
    if (it != policy_cache_.end() && it->second.first == rv) {
      next.emplace(name, it->second);
      continue;
    }
    auto parsed = PolicyFromObject(*obj);
    if (!parsed.ok()) {
      log::Warn("csr controller: skipping an unreadable CSRApprovalPolicy",
                {{"policy", name}, {"error", parsed.status().message()}});
      continue;
    }
    next.emplace(name, std::make_pair(rv, std::move(*parsed)));
  }
  policy_cache_ = std::move(next);
  for (const auto& [name, entry] : policy_cache_) out.push_back(entry.second);
  return out;
}

PendingSummary CsrController::CurrentSummary(x509::Time now) {
  PendingSummary s = pending_.Summary(now);
  if (metrics_) metrics_->SetBacklog(s, options_.plan.flood);
  return s;
}

void CsrController::RecheckHeld() {
  std::map<std::string, std::string> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (held_.empty()) return;
    held = held_;
  }
  for (const auto& name : ReleasedFromHold(CurrentSummary(Now()), held, options_.plan.flood)) {
    queue_.Add(name);
  }
}

void CsrController::EnqueuePending() {
  for (const auto& key : pending_.Keys()) queue_.Add(key);
}

ReconcileResult CsrController::ReconcileCsr(const std::string& name) {
  kube::ObjectPtr cached = view_.Csr(name);
  if (!cached) {  // deleted
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(name);
    return ReconcileResult::Done();
  }
  nlohmann::json current = *cached;

  // Nodes are parsed on demand, once per reconcile.
  std::map<std::string, std::optional<NodeFacts>> parsed_nodes;
  NodeLookup nodes = [this, &parsed_nodes](const std::string& node) -> const NodeFacts* {
    auto it = parsed_nodes.find(node);
    if (it == parsed_nodes.end()) {
      std::optional<NodeFacts> facts;
      if (auto obj = view_.Node(node)) {
        if (auto f = NodeFromObject(*obj); f.ok()) facts = std::move(*f);
        if (facts) facts->last_client_cert = renewals_->Current(node, CertKind::kClient);
      }
      it = parsed_nodes.emplace(node, std::move(facts)).first;
    }
    return it->second ? &*it->second : nullptr;
  };
  std::vector<Policy> policies = CurrentPolicies();

  auto replan = [&](const nlohmann::json& obj) {
    x509::Time now = Now();
    PlanContext context;
    context.superseded_by = pending_.SupersededBy(name);
    context.address_owners = [this](const std::string& key) { return addresses_.Owners(key); };
    return MakePlan(obj, nodes, policies, CurrentSummary(now), now, options_.plan, context);
  };
  Plan plan = replan(current);
  WriteResult w = WriteDecision(client_, std::move(current), std::move(plan), replan,
                                [this] { return Now(); });
  if (!w.status.ok()) return ReconcileResult::Retry(w.status);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (w.plan.action == Plan::Action::kHoldForFlood) {
      held_[name] = w.plan.flood_key;
    } else {
      held_.erase(name);
    }
  }
  x509::Time now = Now();
  switch (w.plan.action) {
    case Plan::Action::kSkip:
      return ReconcileResult::Done();
    case Plan::Action::kApprove:
    case Plan::Action::kDeny:
    case Plan::Action::kIgnore:
    case Plan::Action::kDryRun:
      Record(w.csr, w.plan, w.written, now);
      return ReconcileResult::Done();
    case Plan::Action::kWaitForNode:
    case Plan::Action::kHoldForFlood:
      Record(w.csr, w.plan, false, now);
      return ReconcileResult::RequeueAfter(w.plan.requeue_after);
  }
  return ReconcileResult::Done();
}

void CsrController::Record(const nlohmann::json& csr, const Plan& plan, bool written,
                           x509::Time now) {
  std::string policy = record_.Record(csr, plan, written, now);
  if (!policy.empty()) status_queue_.AddAfter(policy, options_.policy_status_delay);
}

ReconcileResult CsrController::ReconcilePolicyStatus(const std::string& name) {
  DecisionTally tally = record_.TakeTally(name);
  auto put_back = [this, &name, &tally] { record_.PutBack(name, tally); };
  auto obj = client_.Get(kPolicies, "", name);
  if (!obj.ok()) {
    if (obj.status().code() == Code::kNotFound) return ReconcileResult::Done();
    put_back();
    return ReconcileResult::Retry(obj.status().Annotate("reading policy " + name));
  }
  std::vector<std::string> errors;
  if (auto parsed = PolicyFromObject(*obj); parsed.ok()) {
    errors = parsed->errors;
  } else {
    errors.push_back(parsed.status().message());
  }
  nlohmann::json status = NextPolicyStatus(*obj, tally, errors, Now());
  if (obj->contains("status") && (*obj)["status"] == status) return ReconcileResult::Done();
  nlohmann::json body = std::move(*obj);
  body["status"] = status;
  auto written = client_.Update(kPolicies, "", body, "status");
  if (!written.ok()) {
    put_back();
    return ReconcileResult::Retry(written.status().Annotate("writing the status of policy " + name));
  }
  return ReconcileResult::Done();
}

}  // namespace certguard::csr
