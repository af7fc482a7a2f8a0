// The operator's own gauges: certguard_build_info{version,git_commit} (always 1)
// and certguard_leader (1 while this replica holds the leader lease).
// Thread-safe.
#pragma once

#include <string>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace certguard::metrics {

class OperatorMetrics {
 public:
  // Registers both gauges on `registry`, which must outlive this object.
  OperatorMetrics(prometheus::Registry& registry, const std::string& version,
                  const std::string& git_commit);

  void SetLeader(bool leader) { leader_.Set(leader ? 1 : 0); }

 private:
  prometheus::Gauge& leader_;
};

}  // namespace certguard::metrics
