#include "metrics/operator_metrics.h"

namespace certguard::metrics {

namespace {

prometheus::Gauge& AddBuildInfo(prometheus::Registry& registry, const std::string& version,
                                const std::string& git_commit) {
  return prometheus::BuildGauge()
      .Name("certguard_build_info")
      .Help("certguard's version and git commit; always 1")
      .Register(registry)
      .Add({{"version", version}, {"git_commit", git_commit}});
}

}  // namespace

OperatorMetrics::OperatorMetrics(prometheus::Registry& registry, const std::string& version,
                                 const std::string& git_commit)
    : leader_(prometheus::BuildGauge()
                  .Name("certguard_leader")
                  .Help("1 while this replica holds the leader lease, else 0")
                  .Register(registry)
                  .Add({})) {
  AddBuildInfo(registry, version, git_commit).Set(1);
}

}  // namespace certguard::metrics
