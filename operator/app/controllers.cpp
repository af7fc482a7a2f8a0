// The controllers `certguard run` can start. A new controller adds a factory
// here; a name without a factory is a controller this build does not have.
#include "app/manager.h"
#include "csr/controller.h"
#include "csr/metrics.h"
#include "csr/renewal_metrics.h"
#include "expiry/collector.h"
#include "expiry/controller.h"
#include "trust/controller.h"

namespace certguard::app {

namespace {

class CsrRunnable : public Runnable {
 public:
  explicit CsrRunnable(ManagerContext& ctx)
      : metrics_(ctx.registry),
        controller_(ctx.client, ctx.events, &metrics_, Options(ctx.options, ctx.routine_events)) {
    ctx.endpoints.AddCollectable(std::make_shared<csr::RenewalCollector>(
        controller_.renewals(),
        std::chrono::duration_cast<std::chrono::seconds>(ctx.options.csr_renewal_stuck_window)));
  }

  void Start() override { controller_.Start(); }
  void Stop() override { controller_.Stop(); }
  bool Synced() const override { return controller_.Synced(); }
  std::string WaitingFor() const override { return controller_.WaitingFor(); }

 private:
  static csr::CsrControllerOptions Options(const RunOptions& o, kube::EventRecorder& routine) {
    csr::CsrControllerOptions c;
    c.approval_events = &routine;
    c.plan.node_wait_timeout = o.csr_node_wait_timeout;
    // Validate() has checked these.
    if (auto n = csr::MakeClusterNetwork(o.cluster_domain, o.service_cidrs); n.ok()) {
      c.plan.network = std::move(*n);
    }
    c.plan.flood.max_pending_per_node = o.csr_max_pending_per_node;
    c.plan.flood.max_pending = o.csr_max_pending;
    if (auto a = csr::ParseSupersededAction(o.csr_superseded); a.ok()) c.plan.superseded = *a;
    c.workers = o.workers;
    return c;
  }

  csr::CsrMetrics metrics_;
  csr::CsrController controller_;
};

class TrustRunnable : public Runnable {
 public:
  explicit TrustRunnable(ManagerContext& ctx)
      : controller_(ctx.client, ctx.events, ctx.registry, Options(ctx.options)) {}

  static trust::TrustControllerOptions Options(const RunOptions& o) {
    trust::TrustControllerOptions t;
    t.reconciler.secret_targets = o.trust_secret_targets;
    return t;
  }

  void Start() override { controller_.Start(); }
  void Stop() override { controller_.Stop(); }
  bool Synced() const override { return controller_.Synced(); }
  std::string WaitingFor() const override { return controller_.WaitingFor(); }

 private:
  trust::TrustController controller_;
};

// The in-cluster certificate inventory and its metrics. The collector is
// registered at once: a standby replica exports no certificate series.
class ExpiryRunnable : public Runnable {
 public:
  explicit ExpiryRunnable(ManagerContext& ctx)
      : inventory_(std::make_shared<expiry::Inventory>(
            expiry::InventoryLimits{ctx.options.expiry_max_series_per_object,
                                    ctx.options.expiry_max_series})),
        controller_(ctx.client, inventory_, Sources(ctx.options)) {
    ctx.endpoints.AddCollectable(std::make_shared<expiry::ExpiryCollector>(
        inventory_, LabelNames(ctx.options)));
  }

  static std::vector<std::string> LabelNames(const RunOptions& o) {
    std::vector<std::string> names;
    for (const auto& key : o.expiry_secret_label_keys) names.push_back(expiry::SecretLabelName(key));
    return names;
  }

  static expiry::ExpirySources Sources(const RunOptions& o) {
    // Validate(RunOptions) has refused bad values before this runs.
    auto s = ExpirySourcesOf(o);
    return s.ok() ? std::move(*s) : expiry::ExpirySources{};
  }

  void Start() override { controller_.Start(); }
  void Stop() override { controller_.Stop(); }
  bool Synced() const override { return controller_.Synced(); }
  std::string WaitingFor() const override { return controller_.WaitingFor(); }

 private:
  std::shared_ptr<expiry::Inventory> inventory_;
  expiry::ExpiryController controller_;
};

}  // namespace

std::vector<ControllerEntry> BuiltinControllers() {
  return {
      {"csr",
       [](ManagerContext& ctx) -> Result<std::unique_ptr<Runnable>> {
         return std::unique_ptr<Runnable>(std::make_unique<CsrRunnable>(ctx));
       }},
      {"trust",
       [](ManagerContext& ctx) -> Result<std::unique_ptr<Runnable>> {
         return std::unique_ptr<Runnable>(std::make_unique<TrustRunnable>(ctx));
       }},
      {"expiry",
       [](ManagerContext& ctx) -> Result<std::unique_ptr<Runnable>> {
         if (auto st = expiry::Validate(ExpiryRunnable::Sources(ctx.options)); !st.ok()) return st;
         return std::unique_ptr<Runnable>(std::make_unique<ExpiryRunnable>(ctx));
       }},
  };
}

}  // namespace certguard::app
