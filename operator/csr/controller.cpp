#include "csr/controller.h"

#include <chrono>

#include "common/json_fields.h"
#include "common/memory.h"
#include "common/log.h"
#include "csr/approval.h"
#include "csr/cache.h"
#include "csr/handlers.h"
#include "csr/node.h"
#include "csr/protobuf.h"
#include "csr/request.h"
#include "csr/status_reconciler.h"
#include "csr/write.h"
#include "kube/resource.h"

namespace certguard::csr {

namespace {

using kube::ReconcileResult;
const kube::Resource& kCsrs = kube::resources::kCertificateSigningRequests;
const kube::Resource& kPolicies = kube::resources::kCsrApprovalPolicies;

using common::Str;

kube::QueueOptions QueueOn(const common::Clock& clock) {
  kube::QueueOptions o;
  o.clock = &clock;
  return o;
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

// Thousands of decided CSRs and of Nodes: listed as protobuf, whose first
// bytes come while a JSON list of them would still be encoded whole
// (kube/protobuf.h).
kube::InformerOptions CsrCacheOptions() {
  kube::InformerOptions o = CacheOptions(CsrForCache, {}, IsDecided);
  o.list_protobuf = DecodeCsrProtobuf;
  return o;
}

kube::InformerOptions NodeCacheOptions() {
  kube::InformerOptions o =
      CacheOptions(NodeForCache, kNodeFieldsUnread, [](const nlohmann::json&) { return true; });
  o.list_protobuf = DecodeNodeProtobuf;
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

// Where the informers' handlers send their work: the queues, the holds, the record.
class CsrController::Sink : public ChangeSink {
 public:
  explicit Sink(CsrController& c) : c_(c) {}
  void EnqueueCsr(const std::string& name) override { c_.queue_.Add(name); }
  void EnqueuePolicyStatus(const std::string& policy) override { c_.status_queue_.Add(policy); }
  void RecheckHeld() override { c_.RecheckHeld(); }
  void ForgetCsr(const std::string& name, const std::string& uid) override {
    c_.record_.Forget(uid);
    std::lock_guard<std::mutex> lock(c_.mu_);
    c_.held_.erase(name);
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
      csrs_(client, kCsrs, CsrCacheOptions()),
      nodes_(client, kube::resources::kNodes, NodeCacheOptions()),
      policies_(client, kPolicies, CacheOptions(nullptr)),
      cache_view_(std::make_unique<CacheView>(*this)),
      view_(options_.view ? *options_.view : *cache_view_),
      pending_(options_.plan.superseded != SupersededAction::kOff),
      record_(events, options_.approval_events, metrics, options_.clock,
              [this](const std::string& policy) { return view_.Policy(policy) != nullptr; }),
      queue_(QueueOn(clock_)),
      status_queue_(QueueOn(clock_)) {
  csr_reconciler_ = std::make_unique<CsrReconciler>(*this);
  status_reconciler_ = std::make_unique<PolicyStatusReconciler>(client_, record_, clock_);
  sink_ = std::make_unique<Sink>(*this);
  handlers_ = std::make_unique<CsrChangeHandlers>(
      ChangeIndexes{pending_, *renewals_, addresses_}, *sink_);
  csrs_.AddHandler([this](const kube::Change& ch) { handlers_->OnCsr(ch); });
  nodes_.AddHandler([this](const kube::Change& ch) { handlers_->OnNode(ch); });
  policies_.AddHandler([this](const kube::Change& ch) { handlers_->OnPolicy(ch); });
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
  return status_reconciler_->Reconcile(name);
}

}  // namespace certguard::csr
