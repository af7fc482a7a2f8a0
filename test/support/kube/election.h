// The leader election the tests run: Lease ns/certguard, timings of the test's choosing.
#pragma once

#include <string>

#include "kube/leader.h"

namespace certguard::kube::testing {

// `identity`'s election on Lease ns/certguard; lease_duration > renew_deadline > retry_period.
inline LeaderElectionConfig Election(const std::string& identity, Duration lease_duration,
                                     Duration renew_deadline, Duration retry_period) {
  LeaderElectionConfig c;
  c.identity = identity;
  c.lease_name = "certguard";
  c.lease_namespace = "ns";
  c.lease_duration = lease_duration;
  c.renew_deadline = renew_deadline;
  c.retry_period = retry_period;
  return c;
}

}  // namespace certguard::kube::testing
